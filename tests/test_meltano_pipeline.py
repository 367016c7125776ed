"""The main job for real: ``meltano install``, then ``meltano run tap-dlf-instances <loader>``
twice against the simulated API (time passing in between), into DuckDB and into a PostgreSQL
server started for the test. The warehouse must then hold exactly the simulator's instances.
The second run ends with the dbt transformer (``dbt-duckdb:build`` / ``dbt-postgres:build``):
every model and dbt test must pass, and the marts must agree with the raw instances; then dbt
builds again with the operations-data tables absent and present.

Meltano and the warehouse drivers live in the pipeline environment (``scripts/pipeline_env.sh``,
``.venv`` unless ``PIPELINE_VENV`` says otherwise); the plugins in ``.meltano/``. Each test keeps
its state in its own Meltano system database, so the demo's state is left alone.
"""

from __future__ import annotations

import json
import math
import os
import re
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
from dlf_simulator import (
    DEFAULT_WORKSPACE_ID,
    REAL_TIME_JOB,
    SimConfig,
    SimulatedDLF,
    demo_dataset,
)
from dlf_simulator.alarms import workspace_alarms

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
            if not k.startswith(("TAP_DLF_INSTANCES_", "TARGET_", "MELTANO_", "PG", "DBT_"))
        }
        env.update(MELTANO_ENVIRONMENT="sim", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", **extra)
        return env

    def meltano(
        self, *args: str, env: dict[str, str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.venv / "bin" / "meltano"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0 or not check, (
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

    def sql(self, where: list[str], env: dict[str, str], *statements: str) -> list[dict[str, Any]]:
        """Run ``statements`` in the warehouse (``--duckdb PATH`` or ``--postgres``, connection
        from PG*) with the pipeline environment's drivers; the rows of the last, as JSON."""
        done = subprocess.run(
            [self.python, "-c", _SQL_SCRIPT, json.dumps([where, list(statements)])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"SQL failed:\n{done.stderr}"
        return list(json.loads(done.stdout))

    def dbt(self, transformer: str, command: str, env: dict[str, str]) -> str:
        """``meltano invoke <transformer>:<command>``; dbt's log, checked for no error or warning."""
        done = self.meltano("invoke", f"{transformer}:{command}", env=env)
        return check_dbt_log(done.stdout + done.stderr)


# Runs in the pipeline environment, which has duckdb and psycopg (the test's may not).
_SQL_SCRIPT = """
import json, sys
where, statements = json.loads(sys.argv[1])
if where[0] == "--duckdb":
    import duckdb
    con = duckdb.connect(where[1])
else:
    import psycopg
    con = psycopg.connect(autocommit=True)
cur = con.cursor()
for statement in statements:
    cur.execute(statement)
names = [d[0] for d in cur.description] if cur.description else []
rows = [dict(zip(names, row)) for row in (cur.fetchall() if names else [])]
print(json.dumps(rows, default=str))
"""


def check_dbt_log(log: str) -> str:
    """The summary line of ``dbt build``/``test`` says everything passed, with no warning (the
    accepted-values test of ``status`` warns rather than fails)."""
    summaries = re.findall(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", log)
    if summaries:
        passed, warned, errors, skipped = map(int, summaries[-1])
        assert (warned, errors, skipped) == (0, 0, 0), f"dbt: {summaries[-1]}\n{_tail(log)}"
        assert passed > 0, f"dbt: {summaries[-1]}"
    return log


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
    "instance_nodes": (("project_id", "workspace", "job_name", "instance_id", "node_name"), None),
    "patch_data": (("project_id", "workspace", "name"), None),
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
    pipeline: Pipeline,
    sim: SimulatedDLF,
    loader: str,
    env: dict[str, str],
    where: list[str],
    transformer: str,
) -> list[dict[str, Any]]:
    """Run, check, let time pass, run again from Meltano's state with the transformer's
    ``build`` as the last block, check again; ``where`` tells ``scripts/warehouse.py rows``
    which warehouse to read. The instances loaded, as read back."""

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
    done = pipeline.meltano("run", "tap-dlf-instances", loader, f"{transformer}:build", env=env)
    assert "Done. PASS=" in check_dbt_log(done.stdout + done.stderr), "dbt build did not run"
    raw = read()
    second = check_warehouse(raw, sim)
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
    return raw


# --- what the dbt marts must hold ------------------------------------------------------------

FINAL_FAILED = ("fail", "manual-stop", "skip-by-depend")
# The marts' columns the report reads (the shared contract of issue 9), in this order.
MART_COLUMNS = {
    "runs": "project_id workspace job_name instance_id status status_group instance_type planned_at "
    "started_at ended_at duration_s start_delay_s",
    "job_daily": "project_id workspace job_name day runs successes failures open_runs p50_duration_s "
    "p95_duration_s p95_start_delay_s",
    "open_instances": "project_id workspace job_name instance_id status planned_at started_at age_s",
    "duration_trend": "project_id workspace job_name earlier_p50_s recent_p50_s change_ratio is_rising",
    "failing_nodes": "project_id workspace job_name node_name node_runs failures last_failed_at",
}


def status_group(status: str) -> str:
    return "ok" if status == "success" else "failed" if status in FINAL_FAILED else "open"


def as_ms(value: Any) -> int | None:
    """A warehouse time ('YYYY-MM-DD HH:MM:SS[.ffffff]', naive UTC) as epoch ms."""
    if value is None:
        return None
    return round(datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp() * 1000)


def quantile_cont(values: list[float], fraction: float) -> float | None:
    """The continuous percentile (linear interpolation), as percentile_cont / quantile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def close(a: Any, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), b, rel_tol=1e-9, abs_tol=1e-6)


def check_marts(pipeline: Pipeline, env: dict[str, str], where: list[str], raw: list[dict[str, Any]]) -> None:
    """The marts computed again in Python from the raw instances."""

    def mart(name: str) -> list[dict[str, Any]]:
        return pipeline.sql(where, env, f"SELECT * FROM dlf_marts.{name}")

    for name, expected_columns in MART_COLUMNS.items():
        found = pipeline.sql(
            where,
            env,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'dlf_marts' "
            f"AND table_name = '{name}' ORDER BY ordinal_position",
        )
        names = [row["column_name"] for row in found]
        assert names[: len(expected_columns.split())] == expected_columns.split(), (name, names)

    instances = {(row["job_name"], int(row["instance_id"])): row for row in raw}
    ms = {
        key: {f: None if row.get(f) is None else int(row[f]) for f in ("plan_time", "start_time", "end_time")}
        for key, row in instances.items()
    }

    runs = {(row["job_name"], int(row["instance_id"])): row for row in mart("runs")}
    assert runs.keys() == instances.keys()
    for key, row in runs.items():
        times = ms[key]
        assert row["status"] == instances[key]["status"]
        assert row["status_group"] == status_group(row["status"]), key
        assert as_ms(row["planned_at"]) == times["plan_time"], key
        assert as_ms(row["started_at"]) == (times["start_time"] or None), key
        assert as_ms(row["ended_at"]) == (times["end_time"] or None), key
        start, end = times["start_time"], times["end_time"]
        duration = (end - start) / 1000 if start and end and end >= start else None
        assert close(row["duration_s"], duration), (key, row["duration_s"], duration)
        scheduled = int(instances[key]["instance_type"]) in (0, 6)
        plan = int(instances[key]["plan_time"])
        delay = (start - plan) / 1000 if scheduled and start else None
        assert close(row["start_delay_s"], delay), (key, row["start_delay_s"], delay)

    # job_daily: every instance counted once, in the UTC day of its plan time.
    days: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, row in runs.items():
        days.setdefault((key[0], str(row["planned_at"])[:10]), []).append(row)
    daily = {(row["job_name"], str(row["day"])): row for row in mart("job_daily")}
    assert daily.keys() == days.keys()
    assert sum(int(row["runs"]) for row in daily.values()) == len(instances)
    for day, group in days.items():
        row = daily[day]
        groups = [r["status_group"] for r in group]
        assert (int(row["runs"]), int(row["successes"]), int(row["failures"]), int(row["open_runs"])) == (
            len(group),
            groups.count("ok"),
            groups.count("failed"),
            groups.count("open"),
        ), day
        ok = [
            float(r["duration_s"]) for r in group if r["status_group"] == "ok" and r["duration_s"] is not None
        ]
        delays = [float(r["start_delay_s"]) for r in group if r["start_delay_s"] is not None]
        assert close(row["p50_duration_s"], quantile_cont(ok, 0.5)), day
        assert close(row["p95_duration_s"], quantile_cont(ok, 0.95)), day
        assert close(row["p95_start_delay_s"], quantile_cont(delays, 0.95)), day

    # open_instances: exactly the instances whose status is not final.
    open_rows = {(row["job_name"], int(row["instance_id"])): row for row in mart("open_instances")}
    assert open_rows.keys() == {
        key for key, row in instances.items() if status_group(row["status"]) == "open"
    }
    assert open_rows, "no open instance to check"
    now_ms = time.time() * 1000
    for key, row in open_rows.items():
        # The age at build time: a little less than now - plan_time.
        lag_ms = now_ms - int(instances[key]["plan_time"]) - float(row["age_s"]) * 1000
        assert 0 <= lag_ms < RUN_TIMEOUT * 1000, key

    trend = mart("duration_trend")
    assert trend
    assert len({row["job_name"] for row in trend}) == len(trend)
    for row in trend:
        if row["earlier_p50_s"] and row["recent_p50_s"] is not None:
            assert close(row["change_ratio"], float(row["recent_p50_s"]) / float(row["earlier_p50_s"]))
        assert row["is_rising"] in (True, False)


# The operations-data streams' tables as each loader writes them (target-duckdb: HUGEINT, JSON;
# target-postgres: BIGINT, JSONB, arrays as PostgreSQL arrays).
OPERATIONS_TYPES = {
    "duckdb": {"int": "HUGEINT", "text": "VARCHAR", "float": "DOUBLE", "json": "JSON", "list": "JSON"},
    "postgres": {"int": "BIGINT", "text": "TEXT", "float": "NUMERIC", "json": "JSONB", "list": "TEXT[]"},
}
HOUR = 3_600_000


def operations_tables(dialect: str, project_id: str) -> list[str]:
    """CREATE and INSERT statements for patch_data, instance_nodes and alarms."""
    t = OPERATIONS_TYPES[dialect]
    job_list = (
        '\'["hourly_orders_etl", "daily_sales_report"]\''
        if dialect == "duckdb"
        else "ARRAY['hourly_orders_etl', 'daily_sales_report']"
    )
    key = f"'{project_id}', 'default'"
    base = 1_790_000_000_000
    nodes = [  # instance_id, node, status, start, end
        (1, "extract", "success", base, base + 60_000),
        (1, "load", "fail", base + 60_000, base + 90_000),
        (2, "extract", "success", base + HOUR, base + HOUR + 60_000),
        (2, "load", "fail", base + HOUR + 60_000, base + HOUR + 95_000),
        (3, "extract", "success", base + 2 * HOUR, base + 2 * HOUR + 60_000),
        (3, "load", "success", base + 2 * HOUR + 60_000, base + 2 * HOUR + 99_000),
    ]
    node_values = ", ".join(
        f"({key}, 'hourly_orders_etl', {iid}, '{node}', '{status}', 'DLIShell', {base + (iid - 1) * HOUR}, "
        f"{start}, {end}, 0.3, 0, 1000, 990, 'obs://logs/{iid}/{node}')"
        for iid, node, status, start, end in nodes
    )
    return [
        f"""CREATE TABLE dlf.patch_data (project_id {t["text"]}, workspace {t["text"]}, name {t["text"]},
            job_list {t["list"]}, start_date {t["int"]}, end_date {t["int"]}, submitted_date {t["int"]},
            status {t["text"]}, parallel {t["int"]}, type {t["int"]}, user_name {t["text"]},
            supplement_data_instance_time {t["json"]}, supplement_data_run_time {t["json"]})""",
        f"""INSERT INTO dlf.patch_data VALUES ({key}, 'P_hourly_orders_etl_20260901', {job_list},
            {base}, {base + 24 * HOUR}, {base + 30 * 24 * HOUR}, 'SUCCESS', 1, 0, 'demo-user',
            '{{"days": [], "time_of_day": "00:00-23:59"}}', '{{"time_of_day": "00:00-23:59"}}')""",
        f"""CREATE TABLE dlf.instance_nodes (project_id {t["text"]}, workspace {t["text"]},
            job_name {t["text"]}, instance_id {t["int"]}, node_name {t["text"]}, status {t["text"]},
            node_type {t["text"]}, plan_time {t["int"]}, start_time {t["int"]}, end_time {t["int"]},
            execute_time {t["float"]}, retry_times {t["int"]}, input_row_count {t["int"]},
            output_row_count {t["int"]}, log_path {t["text"]})""",
        f"INSERT INTO dlf.instance_nodes VALUES {node_values}",
        f"""CREATE TABLE dlf.alarms (project_id {t["text"]}, workspace {t["text"]}, job_name {t["text"]},
            job_id {t["int"]}, schedule_type {t["int"]}, send_msg {t["text"]}, plan_time {t["int"]},
            alarm_time {t["int"]}, remind_type {t["int"]}, send_status {t["int"]})""",
        f"""INSERT INTO dlf.alarms VALUES
            ({key}, 'hourly_orders_etl', 7, 0, 'Job failed.', {base}, {base + 90_000}, 1, 0),
            ({key}, 'hourly_orders_etl', 7, 0, 'Job failed.', {base + HOUR}, {base + HOUR + 95_000}, 1, 1)""",
    ]


def check_operations_tables(
    pipeline: Pipeline, env: dict[str, str], where: list[str], transformer: str, dialect: str, project_id: str
) -> None:
    """dbt builds with the operations-data tables present (failing_nodes from node runs) and
    absent (typed, empty staging models and failing_nodes)."""
    # PostgreSQL's views (the staging models) depend on their tables: CASCADE drops them too.
    cascade = " CASCADE" if dialect == "postgres" else ""
    drop = [
        f"DROP TABLE IF EXISTS dlf.{table}{cascade}" for table in ("patch_data", "instance_nodes", "alarms")
    ]
    pipeline.sql(where, env, *drop, *operations_tables(dialect, project_id))
    pipeline.dbt(transformer, "build", env)
    failing = pipeline.sql(where, env, "SELECT * FROM dlf_marts.failing_nodes")
    assert [(r["job_name"], r["node_name"], int(r["node_runs"]), int(r["failures"])) for r in failing] == [
        ("hourly_orders_etl", "load", 3, 2)
    ]
    assert as_ms(failing[0]["last_failed_at"]) == 1_790_000_000_000 + HOUR + 95_000
    patch = pipeline.sql(where, env, "SELECT * FROM dlf_staging.stg_patch_data")
    assert [json.loads(r["job_list"]) for r in patch] == [["hourly_orders_etl", "daily_sales_report"]]
    assert as_ms(patch[0]["range_start_at"]) == 1_790_000_000_000
    alarms = pipeline.sql(where, env, "SELECT count(*) AS n FROM dlf_staging.stg_alarms")
    assert int(alarms[0]["n"]) == 2

    pipeline.sql(where, env, *drop)
    pipeline.dbt(transformer, "build", env)
    for model in (
        "dlf_staging.stg_patch_data",
        "dlf_staging.stg_instance_nodes",
        "dlf_staging.stg_alarms",
        "dlf_marts.failing_nodes",
    ):
        assert int(pipeline.sql(where, env, f"SELECT count(*) AS n FROM {model}")[0]["n"]) == 0, model


# --- DuckDB ----------------------------------------------------------------------------------


# Two pipeline runs, four dbt builds and the transformers' first install.
@pytest.mark.timeout(900)
def test_meltano_run_into_duckdb_twice(
    pipeline: Pipeline, sim: SimulatedDLF, system_db: dict[str, str], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    env = pipeline.env(
        {**system_db, **sim_env(sim), "TARGET_DUCKDB_PATH": str(warehouse), "DBT_DUCKDB_PATH": str(warehouse)}
    )
    where = ["--duckdb", str(warehouse)]
    raw = run_twice(pipeline, sim, "target-duckdb", env, where, "dbt-duckdb")
    check_marts(pipeline, env, where, raw)
    assert "PASS freshness of dlf.instances" in pipeline.dbt("dbt-duckdb", "freshness", env)
    check_operations_tables(pipeline, env, where, "dbt-duckdb", "duckdb", sim.dataset.project_id)

    # The freshness check is not vacuous: the same instances four days older fail it.
    older = ", ".join(f"{t} = {t} - {4 * DAY_MS}" for t in ("plan_time", "start_time", "end_time"))
    pipeline.sql(where, env, f"UPDATE dlf.instances SET {older}")
    stale = pipeline.meltano("invoke", "dbt-duckdb:freshness", env=env, check=False)
    assert stale.returncode != 0
    assert "ERROR STALE freshness of dlf.instances" in stale.stdout + stale.stderr

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


# Two pipeline runs, four dbt builds and the transformers' first install.
@pytest.mark.timeout(900)
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
    dbt = {
        "DBT_POSTGRES_HOST": postgres["PGHOST"],
        "DBT_POSTGRES_PORT": postgres["PGPORT"],
        "DBT_POSTGRES_USER": postgres["PGUSER"],
        "DBT_POSTGRES_PASSWORD": postgres["PGPASSWORD"],
        "DBT_POSTGRES_DBNAME": postgres["PGDATABASE"],
    }
    # PG* for scripts/warehouse.py, which reads the tables back.
    env = pipeline.env({**system_db, **sim_env(sim), **target, **dbt, **postgres})
    raw = run_twice(pipeline, sim, "target-postgres", env, ["--postgres"], "dbt-postgres")
    check_marts(pipeline, env, ["--postgres"], raw)
    assert "PASS freshness of dlf.instances" in pipeline.dbt("dbt-postgres", "freshness", env)
    check_operations_tables(pipeline, env, ["--postgres"], "dbt-postgres", "postgres", sim.dataset.project_id)
