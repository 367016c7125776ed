"""The README's recipe for re-reading a range of plan times without touching the scheduled job's
saved state (docs/meltano.md, "Re-reading a range"), run for real through Meltano:

- ``--full-refresh --no-state-update`` with ``start_date``/``end_date`` loads exactly the range and
  leaves the saved state byte for byte as it was, and saves no other state;
- ``--state-id-suffix`` keeps the re-read's own state beside the scheduled job's;
- and the trap the recipe warns about: ``--full-refresh`` alone overwrites the scheduled job's
  state with the re-read's bookmarks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dlf_simulator import DEFAULT_WORKSPACE_ID, SimulatedDLF
from test_meltano_pipeline import DAY_MS, Pipeline, pipeline, sim, sim_env, system_db

__all__ = ["pipeline", "sim", "system_db"]  # fixtures, imported to be used here

pytestmark = pytest.mark.slow

STATE_ID = "sim:tap-dlf-instances-to-target-duckdb"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def saved_state(pipeline: Pipeline, env: dict[str, str], state_id: str = STATE_ID) -> Any:
    return json.loads(pipeline.meltano("state", "get", state_id, env=env).stdout)


def state_ids(pipeline: Pipeline, env: dict[str, str]) -> set[str]:
    listed = pipeline.meltano("state", "list", env=env).stdout
    return {line.strip() for line in listed.splitlines() if line.strip().startswith("sim:")}


def planned_in(sim: SimulatedDLF, start_ms: int, end_ms: int) -> set[tuple[str, int]]:
    with sim.dataset.lock:
        return {
            (name, inst.instance_id)
            for (workspace, name), table in sim.dataset.tables.items()
            if workspace == DEFAULT_WORKSPACE_ID
            for inst in table.rows()
            if start_ms <= inst.plan_time < end_ms
        }


def test_rereading_a_range_leaves_the_saved_state_alone(
    pipeline: Pipeline, sim: SimulatedDLF, system_db: dict[str, str], tmp_path: Path
) -> None:
    scheduled = pipeline.env(
        {**system_db, **sim_env(sim), "TARGET_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")}
    )
    pipeline.meltano("run", "tap-dlf-instances", "target-duckdb", env=scheduled)
    before = saved_state(pipeline, scheduled)
    assert before["singer_state"]["bookmarks"]["instances"]["partitions"]

    # A week, three weeks back: far older than the lookback of the scheduled job.
    end_ms = (sim.now_ms() // DAY_MS - 21) * DAY_MS
    start_ms = end_ms - 7 * DAY_MS
    expected = planned_in(sim, start_ms, end_ms)
    assert expected, "the simulator has no instance in the range: nothing to check"
    rerun_warehouse = tmp_path / "rerun.duckdb"
    rerun = {
        **scheduled,
        "TAP_DLF_INSTANCES_START_DATE": iso(start_ms),
        "TAP_DLF_INSTANCES_END_DATE": iso(end_ms),
        "TARGET_DUCKDB_PATH": str(rerun_warehouse),
    }

    # The recipe: no state read, none written.
    pipeline.meltano(
        "run", "--full-refresh", "--no-state-update", "tap-dlf-instances", "target-duckdb", env=rerun
    )
    rows = pipeline.read_rows(["--duckdb", str(rerun_warehouse)], rerun)
    assert {(row["job_name"], int(row["instance_id"])) for row in rows} == expected
    assert saved_state(pipeline, scheduled) == before
    assert state_ids(pipeline, scheduled) == {STATE_ID}

    # A re-read with a state of its own, e.g. to resume a long backfill.
    pipeline.meltano("run", "--state-id-suffix", "rerun", "tap-dlf-instances", "target-duckdb", env=rerun)
    assert saved_state(pipeline, scheduled) == before
    assert state_ids(pipeline, scheduled) == {STATE_ID, f"{STATE_ID}:rerun"}
    own = saved_state(pipeline, scheduled, f"{STATE_ID}:rerun")
    assert own["singer_state"]["bookmarks"]["instances"]["partitions"]

    # The trap: --full-refresh alone replaces the scheduled job's bookmarks with the re-read's.
    pipeline.meltano("run", "--full-refresh", "tap-dlf-instances", "target-duckdb", env=rerun)
    assert saved_state(pipeline, scheduled) != before
