"""Rows arrive in the warehouse exactly, through the real loaders of meltano.yml.

The simulator serves hostile strings (``simulator/hostile.py``: NUL, lone surrogates, emoji, RTL
marks, CRLF, tabs, quotes, backslashes, commas, SQL, 10,000 characters, empty strings) in the
instances' names, in job names and in the jobs' fields; in one job of 50,000 instances they
appear only after 30,000 plain rows (the late-comma backfill). ``meltano run`` loads them with
each loader as meltano.yml configures it; every stream must then hold as many rows as the API
has, each value equal to the API's except for the transformations listed in ``TRANSFORMS``;
an incremental second run leaves no duplicate key.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dlf_simulator import DEFAULT_WORKSPACE_ID, SimConfig, SimulatedDLF
from dlf_simulator.alarms import workspace_alarms
from dlf_simulator.hostile import (
    BULK_INSTANCES,
    HOSTILE_JOB_NAMES,
    HOSTILE_STRINGS,
    hostile_dataset,
)
from test_meltano_pipeline import Pipeline, comparable, pipeline, postgres, sim_env, system_db

from tap_dlf_instances.surrogates import replace_lone_surrogates

__all__ = ["pipeline", "postgres", "system_db"]  # fixtures, imported for pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
INSTANCE_KEY = ("job_name", "instance_id")


def _tap_output(value: Any) -> Any:
    """The tap replaces lone surrogates with U+FFFD (no target could encode them)."""
    return replace_lone_surrogates(value)[0]


def _duckdb(value: Any) -> Any:
    # target-duckdb 0.8.0 writes every falsy value but 0 as NULL (record_to_flattened).
    return None if value == "" else value


def _postgres(value: Any) -> Any:
    # sanitize_null_text_characters: PostgreSQL text cannot hold NUL (meltano.yml).
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


#: What each loader does to a string on its way into the warehouse, besides the tap's U+FFFD.
TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "target-jsonl": lambda value: value,
    "target-duckdb": _duckdb,
    "target-postgres": _postgres,
}


@pytest.fixture
def hostile_sim() -> Iterator[SimulatedDLF]:
    with SimulatedDLF(hostile_dataset(), SimConfig(rate_limit_per_user=None)) as server:
        yield server


def expected_rows(sim: SimulatedDLF, loader: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """Stream -> key -> the API's row as the loader must store it."""
    transform = TRANSFORMS[loader]

    def stored(row: dict[str, Any]) -> dict[str, Any]:
        return {name: transform(_tap_output(value)) for name, value in row.items()}

    data = sim.dataset
    with data.lock:
        instances = {
            (stored(inst.to_api())["job_name"], inst.instance_id): stored(inst.to_api())
            for (workspace, _), table in data.tables.items()
            if workspace == DEFAULT_WORKSPACE_ID
            for inst in table.rows()
        }
        jobs = {job.name: stored(data.job_summary(job)) for job in data.list_jobs(DEFAULT_WORKSPACE_ID)}
    alarms = Counter(
        transform(row["job_name"]) for row in workspace_alarms(data, DEFAULT_WORKSPACE_ID, sim.now_ms())
    )
    return {"instances": instances, "jobs": jobs, "alarms": dict(alarms)}


def check_rows(
    loaded: dict[str, list[dict[str, Any]]], expected: dict[str, dict[Any, Any]], *, alarms: bool = True
) -> None:
    """Rows in = rows out per stream, no key twice, every value as the API sent it. (After time
    passes, an alarm the warehouse holds may no longer be listed: ``alarms=False`` then.)"""
    instances = loaded["instances"]
    keys = Counter((row["job_name"], int(row["instance_id"])) for row in instances)
    assert not [key for key, n in keys.items() if n > 1], "duplicate instance keys"
    assert len(instances) == len(expected["instances"]), (
        f"{len(instances)} instances loaded, the API has {len(expected['instances'])}: "
        f"missing e.g. {sorted(set(expected['instances']) - set(keys), key=str)[:3]}"
    )
    differ = []
    for row in instances:
        want = expected["instances"][(row["job_name"], int(row["instance_id"]))]
        for name, value in want.items():
            if comparable(row.get(name)) != comparable(value):
                differ.append(
                    f"{row['job_name']!r}/{row['instance_id']} {name}: {row.get(name)!r:.80} != {value!r:.80}"
                )
    assert not differ, f"{len(differ)} instance values differ, e.g.:\n" + "\n".join(differ[:10])

    jobs = {row["name"]: row for row in loaded["jobs"]}
    assert len(jobs) == len(loaded["jobs"]) == len(expected["jobs"]), "jobs rows in != rows out"
    for name, want in expected["jobs"].items():
        for field in ("owner", "create_user", "path"):
            assert jobs[name][field] == want[field], f"job {name!r} {field}: {jobs[name][field]!r:.80}"
    if alarms:
        assert Counter(row["job_name"] for row in loaded["alarms"]) == expected["alarms"], "alarms differ"


def _run(pipeline: Pipeline, loader: str, env: dict[str, str]) -> None:
    pipeline.meltano("run", "tap-dlf-instances", loader, env=env)


def _jsonl(folder: Path, since: set[Path]) -> dict[str, list[dict[str, Any]]]:
    """The records target-jsonl wrote in files not in ``since``, by stream."""
    rows: dict[str, list[dict[str, Any]]] = {"instances": [], "jobs": [], "alarms": []}
    for path in sorted(set(folder.glob("*.jsonl")) - since):
        stream = path.name.split("-")[0]
        with path.open(encoding="utf-8") as lines:
            rows.setdefault(stream, []).extend(json.loads(line) for line in lines)
    return rows


@pytest.mark.timeout(900)
@pytest.mark.parametrize("loader", ["target-jsonl", "target-duckdb", "target-postgres"])
def test_hostile_strings_arrive_exactly_through_each_loader(
    loader: str,
    pipeline: Pipeline,
    hostile_sim: SimulatedDLF,
    system_db: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    with tempfile.TemporaryDirectory(prefix="dlf-integrity-") as scratch:
        folder = Path(scratch)
        env_vars = {**system_db, **sim_env(hostile_sim)}
        where: list[str] = []
        if loader == "target-duckdb":
            env_vars["TARGET_DUCKDB_PATH"] = str(folder / "warehouse.duckdb")
            where = ["--duckdb", str(folder / "warehouse.duckdb")]
        elif loader == "target-postgres":
            pg = request.getfixturevalue("postgres")
            # PG* for the SQL that reads the tables back, TARGET_POSTGRES_* for the loader.
            env_vars |= {**pg, **{f"TARGET_POSTGRES_{k.removeprefix('PG')}": v for k, v in pg.items()}}
            where = ["--postgres"]
            pipeline.sql(where, pipeline.env(env_vars), "DROP SCHEMA IF EXISTS dlf CASCADE")
        else:
            env_vars["TARGET_JSONL_DESTINATION_PATH"] = str(folder)
        env = pipeline.env(env_vars)

        def loaded() -> dict[str, list[dict[str, Any]]]:
            return {
                table: pipeline.sql(where, env, f"SELECT * FROM dlf.{table}")
                for table in ("instances", "jobs", "alarms")
            }

        # The backfill.
        _run(pipeline, loader, env)
        first = _jsonl(folder, set()) if loader == "target-jsonl" else loaded()
        expected = expected_rows(hostile_sim, loader)
        assert len(expected["instances"]) > BULK_INSTANCES
        check_rows(first, expected)

        # Time passes (running instances end, new ones come); the incremental run upserts.
        files = set(folder.glob("*.jsonl"))
        hostile_sim.advance()
        _run(pipeline, loader, env)
        if loader == "target-jsonl":  # an append-only log: the second file holds no key twice
            second = _jsonl(folder, files)
            keys = Counter((row["job_name"], row["instance_id"]) for row in second["instances"])
            assert second["instances"]
            assert max(keys.values()) == 1
        else:
            check_rows(loaded(), expected_rows(hostile_sim, loader), alarms=False)


@pytest.mark.timeout(600)
def test_late_comma_backfill_loses_no_row_in_duckdb(
    pipeline: Pipeline, system_db: dict[str, str], tmp_path: Path
) -> None:
    """The trap of target-duckdb with large batches: 50,000 instances whose first comma, quote or
    line break comes after 30,000 plain rows. With meltano.yml's batch size, every row loads."""
    with SimulatedDLF(hostile_dataset(hostile_jobs=False), SimConfig(rate_limit_per_user=None)) as sim:
        warehouse = tmp_path / "warehouse.duckdb"
        env = pipeline.env({**system_db, **sim_env(sim), "TARGET_DUCKDB_PATH": str(warehouse)})
        _run(pipeline, "target-duckdb", env)
        rows = pipeline.sql(["--duckdb", str(warehouse)], env, "SELECT * FROM dlf.instances")
        check_rows(
            {"instances": rows, "jobs": [], "alarms": []},
            {**expected_rows(sim, "target-duckdb"), "jobs": {}},
            alarms=False,
        )


def test_the_hostile_dataset_holds_every_hostile_string_late_in_the_backfill() -> None:
    """The test above proves something only if the data is as hostile as it says."""
    data = hostile_dataset()
    names = [inst.job_instance_name for table in data.tables.values() for inst in table.rows()]
    assert set(HOSTILE_STRINGS) <= set(names)
    bulk = next(table for (_, name), table in data.tables.items() if name not in HOSTILE_JOB_NAMES)
    first_hostile = next(i for i, inst in enumerate(bulk.rows()) if inst.job_instance_name is not None)
    assert first_hostile > 20_480  # past DuckDB's CSV sniffing sample


def test_meltano_yml_keeps_the_loader_settings_that_avoid_the_traps() -> None:
    """docs/meltano.md, "Known loader traps": each setting there is why rows are not lost."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    loaders = {plugin["name"]: plugin.get("config", {}) for plugin in project["plugins"]["loaders"]}
    duckdb = loaders["target-duckdb"]
    assert 0 < duckdb["batch_size_rows"] <= 2_048  # DuckDB picks the CSV escape from 2,048 rows
    assert duckdb["add_metadata_columns"] is False
    assert duckdb["hard_delete"] is False
    assert loaders["target-postgres"]["sanitize_null_text_characters"] is True
