"""The main job for real: ``meltano install``, then ``meltano run tap-dlf-instances <loader>``
twice against the simulated API (time passing in between), into DuckDB and into a PostgreSQL
server started for the test. The warehouse must then hold exactly the simulator's instances.

Meltano and the warehouse drivers live in the pipeline environment (``scripts/pipeline_env.sh``,
``.venv`` unless ``PIPELINE_VENV`` says otherwise); the plugins in ``.meltano/``. Each test keeps
its state in its own Meltano system database, so the demo's state is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tap_dlf_instances.simulator import (
    DEFAULT_WORKSPACE_ID,
    REAL_TIME_JOB,
    SimConfig,
    SimulatedDLF,
    demo_dataset,
)
from tap_dlf_instances.simulator.alarms import workspace_alarms

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
PRIMARY_KEY = ("project_id", "workspace", "job_name", "instance_id")
RUN_TIMEOUT = 600


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Pipeline:
    """The installed Meltano project, and a way to run it with a given environment."""

    venv: Path
    install_seconds: float

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        # Nothing from the caller's shell may redirect the pipeline.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_DLF_INSTANCES_", "TARGET_", "MELTANO_", "PG"))
        }
        env.update(MELTANO_ENVIRONMENT="sim", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", **extra)
        return env

    def meltano(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.venv / "bin" / "meltano"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (
            f"meltano {' '.join(args)} failed ({done.returncode}):\n{_tail(done.stdout)}\n{_tail(done.stderr)}"
        )
        return done

    def read_rows(
        self, where: list[str], env: dict[str, str], table: str = "instances"
    ) -> list[dict[str, Any]]:
        done = subprocess.run(
            [self.python, str(ROOT / "scripts" / "warehouse.py"), "rows", *where, "--table", table],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"reading {table} failed:\n{done.stderr}"
        return list(json.loads(done.stdout))


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The pipeline environment and ``meltano install`` of every plugin, once per module."""
    made = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pipeline_env.sh")],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert made.returncode == 0, f"scripts/pipeline_env.sh failed:\n{_tail(made.stderr)}"
    venv = Path(made.stdout.strip().splitlines()[-1])
    started = time.monotonic()
    probe = Pipeline(venv, 0.0)
    probe.meltano("install", env=probe.env({}))
    return Pipeline(venv, time.monotonic() - started)


@pytest.fixture
def system_db(tmp_path: Path) -> dict[str, str]:
    """A Meltano system database (hence state) of the test's own."""
    return {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}


@pytest.fixture
def sim() -> Iterator[SimulatedDLF]:
    """The demo project (three months, several jobs) behind the documented rate limit."""
    with SimulatedDLF(demo_dataset(), SimConfig()) as server:
        yield server


def sim_env(sim: SimulatedDLF) -> dict[str, str]:
    """Point the `sim` environment at this simulator, and read its whole history."""
    first_plan = min(
        table.plan[0]
        for (workspace, _), table in sim.dataset.tables.items()
        if workspace == DEFAULT_WORKSPACE_ID and len(table)
    )
    start = datetime.fromtimestamp(first_plan // DAY_MS * DAY_MS / 1000, UTC)
    return {
        "TAP_DLF_INSTANCES_API_URL": sim.url,
        "TAP_DLF_INSTANCES_IAM_URL": sim.url,
        "TAP_DLF_INSTANCES_START_DATE": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --- what the warehouse must hold -------------------------------------------------------------


def expected_instances(sim: SimulatedDLF) -> dict[tuple[str, int], dict[str, Any]]:
    """(job_name, instance_id) -> the API row, for every instance the `sim` environment reads:
    the default workspace's batch jobs and the real-time job's sub-jobs."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    with sim.dataset.lock:
        for (workspace, name), table in sim.dataset.tables.items():
            if workspace != DEFAULT_WORKSPACE_ID:
                continue
            for inst in table.rows():
                rows[(name, inst.instance_id)] = inst.to_api()
    return rows


def per_job(keys: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job, _ in keys:
        counts[job] = counts.get(job, 0) + 1
    return counts


def comparable(value: Any) -> Any:
    """Warehouse values as the API sent them (Postgres NUMERIC arrives as text)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def check_warehouse(rows: list[dict[str, Any]], sim: SimulatedDLF) -> dict[tuple[str, int], dict[str, Any]]:
    """Exactly the simulator's instances, once each, with the simulator's current values."""
    keys = [tuple(row[k] for k in PRIMARY_KEY) for row in rows]
    duplicates = len(keys) - len(set(keys))
    assert duplicates == 0, f"{duplicates} duplicate primary keys in the warehouse"
    assert {row["project_id"] for row in rows} == {sim.dataset.project_id}
    assert {row["workspace"] for row in rows} == {"default"}

    loaded = {(row["job_name"], int(row["instance_id"])): row for row in rows}
    expected = expected_instances(sim)
    assert per_job(loaded) == per_job(expected), "row counts per job differ from the simulator's"
    assert loaded.keys() == expected.keys()
    stale = []
    for key, api_row in expected.items():
        row = loaded[key]
        fields = set(api_row) | {"end_time", "execute_time", "force_success", "ignore_success", "version"}
        for name in sorted(fields - {"job_name"}):
            if comparable(row.get(name)) != comparable(api_row.get(name)):
                stale.append(f"{key} {name}: warehouse {row.get(name)!r}, API {api_row.get(name)!r}")
    assert not stale, f"{len(stale)} values differ from the simulator's, e.g.:\n" + "\n".join(stale[:10])
    return loaded


def add_late_instances(sim: SimulatedDLF) -> list[int]:
    """PatchData re-runs of plan times the first run already covered (inside the lookback),
    beyond what ``advance`` adds by chance."""
    now = sim.now_ms()
    late = [
        sim.add_instance(
            "hourly_orders_etl",
            (now - 6 * HOUR_MS) // HOUR_MS * HOUR_MS,
            instance_type=5,
            start_time=now - 60_000,
            submit_time=now - 120_000,
            status="success",
        ),
        sim.add_instance(
            "daily_sales_report",
            now // DAY_MS * DAY_MS,
            instance_type=5,
            start_time=now - 30_000,
            submit_time=now - 60_000,
            status="running",
        ),
    ]
    return [inst.instance_id for inst in late]


#: (keys that must be in a table, keys that may be): a sync sees what exists between its start
#: and its end, so rows made meanwhile may or may not be there.
KeyBounds = tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]


def expected_alarms(sim: SimulatedDLF, started_ms: int, ended_ms: int) -> KeyBounds:
    """The default workspace's alarms sent since the first plan time read, by the sync's start
    (must) and end (may): key columns after project_id and workspace."""
    start_ms = (
        min(
            table.plan[0]
            for (ws, _), table in sim.dataset.tables.items()
            if ws == DEFAULT_WORKSPACE_ID and len(table)
        )
        // DAY_MS
        * DAY_MS
    )

    def keys(until: int) -> set[tuple[Any, ...]]:
        rows = workspace_alarms(sim.dataset, DEFAULT_WORKSPACE_ID, until)
        fields = ("job_name", "plan_time", "alarm_time", "remind_type")
        return {tuple(row[k] for k in fields) for row in rows if start_ms <= row["alarm_time"] < until}

    return keys(started_ms), keys(ended_ms)


#: The tables of the other streams: (primary key, the keys the simulator says the table must and
#: may hold given the sync's start and end in ms, or None to check only that it loaded, once per
#: key). One line per stream.
STREAM_TABLES: dict[str, tuple[tuple[str, ...], Callable[[SimulatedDLF, int, int], KeyBounds] | None]] = {
    "alarms": (
        ("project_id", "workspace", "job_name", "plan_time", "alarm_time", "remind_type"),
        expected_alarms,
    ),
}


def check_stream_tables(
    read: Callable[[str], list[dict[str, Any]]], sim: SimulatedDLF, started_ms: int, ended_ms: int
) -> None:
    """Each table of ``STREAM_TABLES`` loaded: rows, once per key, of this project and
    workspace, and the ones the simulator had when the sync ran."""
    for table, (key, expected) in STREAM_TABLES.items():
        rows = read(table)
        assert rows, f"table {table} is empty"
        keys = [tuple(comparable_key(row[k]) for k in key) for row in rows]
        assert len(keys) == len(set(keys)), f"duplicate primary keys in {table}"
        assert {row["project_id"] for row in rows} == {sim.dataset.project_id}, table
        assert {row["workspace"] for row in rows} == {"default"}, table
        if expected is None:
            continue
        must, may = expected(sim, started_ms, ended_ms)
        loaded = {k[2:] for k in keys}
        assert must <= loaded, f"{table}: {len(must - loaded)} rows missing, e.g. {sorted(must - loaded)[:3]}"
        assert loaded <= may, (
            f"{table}: {len(loaded - may)} rows the API never sent, e.g. {sorted(loaded - may)[:3]}"
        )


def comparable_key(value: Any) -> Any:
    """Key values as the API sent them (Postgres BIGINT and NUMERIC may arrive as text)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_twice(
    pipeline: Pipeline, sim: SimulatedDLF, loader: str, env: dict[str, str], where: list[str]
) -> None:
    """Run, check, let time pass, run again from Meltano's state, check again; ``where`` tells
    ``scripts/warehouse.py rows`` which warehouse to read."""

    def read(table: str = "instances") -> list[dict[str, Any]]:
        return pipeline.read_rows(where, env, table=table)

    started = sim.now_ms()
    pipeline.meltano("run", "tap-dlf-instances", loader, env=env)
    first = check_warehouse(read(), sim)
    check_stream_tables(read, sim, started, sim.now_ms())

    changed = sim.advance()
    ours = [job for job in changed["jobs"] if job["workspace"] == DEFAULT_WORKSPACE_ID]
    updated_ids = {iid for job in ours for iid in job["updated"]}
    added_ids = {iid for job in ours for iid in job["added"]} | set(add_late_instances(sim))
    assert updated_ids, "the simulator changed no instance: nothing to check"

    started = sim.now_ms()
    pipeline.meltano("run", "tap-dlf-instances", loader, env=env)
    second = check_warehouse(read(), sim)
    check_stream_tables(read, sim, started, sim.now_ms())

    before = {iid: row for (_, iid), row in first.items()}
    after = {iid: row for (_, iid), row in second.items()}
    assert added_ids <= after.keys()
    assert not added_ids & before.keys()
    moved = {iid for iid in updated_ids if before[iid]["status"] != after[iid]["status"]}
    assert moved, "no status changed between the runs"
    # Every instance still open after run 1 was finished by `advance` and is final now.
    was_open = {
        iid for iid, row in before.items() if row["status"] in ("running", "waiting", "running-exception")
    }
    assert was_open <= updated_ids
    assert all(after[iid]["status"] in ("success", "fail", "manual-stop") for iid in was_open)
    patch_data = [row for row in after.values() if int(row["instance_type"]) == 5]
    assert {iid for iid in added_ids if int(after[iid]["instance_type"]) == 5} <= {
        int(row["instance_id"]) for row in patch_data
    }
    assert len(patch_data) > len([r for r in before.values() if int(r["instance_type"]) == 5])

    jobs = {row["name"] for row in read("jobs")}
    assert jobs == {job.name for job in sim.dataset.list_jobs(DEFAULT_WORKSPACE_ID)}
    assert REAL_TIME_JOB in jobs


# --- DuckDB ----------------------------------------------------------------------------------


def test_meltano_run_into_duckdb_twice(
    pipeline: Pipeline, sim: SimulatedDLF, system_db: dict[str, str], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    env = pipeline.env({**system_db, **sim_env(sim), "TARGET_DUCKDB_PATH": str(warehouse)})
    run_twice(pipeline, sim, "target-duckdb", env, ["--duckdb", str(warehouse)])

    state = pipeline.meltano("state", "get", "sim:tap-dlf-instances-to-target-duckdb", env=env)
    partitions = json.loads(state.stdout)["singer_state"]["bookmarks"]["instances"]["partitions"]
    assert {p["context"]["job_name"] for p in partitions} == {
        name for (ws, name) in sim.dataset.tables if ws == DEFAULT_WORKSPACE_ID
    }
    summary = subprocess.run(
        [pipeline.python, str(ROOT / "scripts" / "warehouse.py"), "summary", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert summary.returncode == 0, summary.stderr
    assert "no duplicates" in summary.stdout


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL server on 127.0.0.1 (installed from Debian's packages when missing)."""
    # Under /tmp: as root the server runs as `postgres`, which must reach the directory.
    root = Path(tempfile.mkdtemp(prefix="dlf-pg-", dir="/tmp"))
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run(
        ["bash", script, "start", str(root)], capture_output=True, text=True, timeout=900, check=False
    )
    if started.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(
            "Could not install or start PostgreSQL for the end-to-end test (scripts/postgres.sh start):\n"
            + _tail(started.stderr),
            pytrace=False,
        )
    conn: dict[str, str] = {}
    for line in started.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        conn[name] = value
    try:
        yield conn
    finally:
        subprocess.run(["bash", script, "stop", str(root)], timeout=120, check=False)


def test_meltano_run_into_postgres_twice(
    pipeline: Pipeline, sim: SimulatedDLF, system_db: dict[str, str], postgres: dict[str, str]
) -> None:
    target = {
        "TARGET_POSTGRES_HOST": postgres["PGHOST"],
        "TARGET_POSTGRES_PORT": postgres["PGPORT"],
        "TARGET_POSTGRES_USER": postgres["PGUSER"],
        "TARGET_POSTGRES_PASSWORD": postgres["PGPASSWORD"],
        "TARGET_POSTGRES_DATABASE": postgres["PGDATABASE"],
    }
    # PG* for scripts/warehouse.py, which reads the tables back.
    env = pipeline.env({**system_db, **sim_env(sim), **target, **postgres})
    run_twice(pipeline, sim, "target-postgres", env, ["--postgres"])
