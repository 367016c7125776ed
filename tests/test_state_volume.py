"""STATE output stays proportionate: about one STATE message a second however many windows
complete, each one after the records it covers, the last one complete; and a job's bookmark is
found without scanning every job's."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF, bulk_dataset
from singer_sdk.streams._state import StreamStateManager
from test_kill_resume import assert_bookmarks_follow_records, run_streaming

from tap_dlf_instances.state.cadence import StateCadence
from tap_dlf_instances.state.index import IndexedStateManager
from tap_dlf_instances.windows import to_ms

JOBS = 80
INSTANCES_PER_JOB = 30  # every 5 minutes: 2.5 hours a job
WINDOW_MINUTES = 30  # 5 windows a job, 400 in all


@pytest.fixture
def many_windows(make_sim: Callable[..., SimulatedDLF]) -> tuple[dict[str, Any], dict[str, dict[int, int]]]:
    """Hundreds of small windows over a few seconds: a slow-ish API, a few records each."""
    sim = make_sim(
        bulk_dataset(jobs=JOBS, instances_per_job=INSTANCES_PER_JOB), rate_limit_per_user=None, latency_ms=15
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=5 * WINDOW_MINUTES)
    config = {
        **sim.tap_config(auth="token"),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "window_days": WINDOW_MINUTES / (24 * 60),
        "max_requests_per_second": 1000,
    }
    start_ms, end_ms = to_ms(start), to_ms(end)
    expected = {
        job: {
            i.instance_id: i.plan_time for i in sim.dataset.instances(job) if start_ms <= i.plan_time < end_ms
        }
        for job in [f"bulk_job_{j:04d}" for j in range(JOBS)]
    }
    return config, expected


@pytest.mark.timeout(120)
def test_state_messages_are_about_one_a_second_and_follow_their_records(many_windows, tmp_path):
    config, expected = many_windows

    began, began_ms = time.monotonic(), to_ms(datetime.now(UTC))
    run = run_streaming(config, tmp_path)
    seconds, ended_ms = time.monotonic() - began, to_ms(datetime.now(UTC))

    assert run.returncode == 0, run.stderr[-3000:]
    states = [m for m in run.messages if m["type"] == "STATE"]
    # 400 windows completed; one STATE each would be 400 messages of 80 bookmarks. Besides one
    # a second: the first, and the final one of each stream (jobs, instances, patch_data ...).
    streams = {m["stream"] for m in run.messages if m["type"] == "SCHEMA"}
    assert len(states) <= seconds + 1 + len(streams), f"{len(states)} STATE messages in {seconds:.1f} s"
    print(f"{len(states)} STATE messages in {seconds:.1f} s")
    assert_bookmarks_follow_records(run, expected)
    assert run.instance_ids == {iid for ids in expected.values() for iid in ids}
    # The last STATE holds every window: nothing is left for the next run to repeat.
    # (`end_date` is ahead: the watermark stops at the moment the sync started.)
    partitions = run.last_state["bookmarks"]["instances"]["partitions"]
    watermarks = {p["context"]["job_name"]: p["replication_key_value"] for p in partitions}
    assert set(watermarks) == set(expected)
    assert all(began_ms <= watermark <= ended_ms for watermark in watermarks.values()), watermarks


def test_the_cadence_lets_one_state_through_a_second():
    now = [100.0]
    cadence = StateCadence(1.0, clock=lambda: now[0])
    granted = []
    for _ in range(50):  # a window completing every 0.1 s for 5 s
        granted.append(cadence.due())
        now[0] += 0.1
    assert sum(granted) == 5
    assert granted[0], "the first STATE is not held back"


def _managers(state: dict[str, Any]) -> tuple[StreamStateManager, StreamStateManager]:
    args = {"tap_name": "t", "stream_name": "instances", "is_sorted": False, "check_sorted": False}
    return (
        StreamStateManager(tap_state=state, state_partitioning_keys=None, **args),
        IndexedStateManager(tap_state=state, state_partitioning_keys=None, **args),
    )


def test_the_indexed_state_manager_finds_and_adds_bookmarks_as_the_sdk_does():
    given = {
        "bookmarks": {
            "instances": {
                "partitions": [
                    {"context": {"job_name": "a"}, "replication_key_value": 1},
                    {"context": {"job_name": "b"}, "replication_key_value": 2},
                ]
            }
        }
    }
    sdk_state: dict[str, Any] = {"bookmarks": {"instances": {"partitions": [dict(p) for p in _parts(given)]}}}
    sdk, _ = _managers(sdk_state)
    _, indexed = _managers(given)
    for job in ("b", "a", "c", "c", "a", "d"):
        mine = indexed.get_context_state({"job_name": job})
        theirs = sdk.get_context_state({"job_name": job})
        assert mine == theirs
        mine["seen"] = theirs["seen"] = theirs.get("seen", 0) + 1  # the very dict in the state
    assert given == sdk_state
    assert [p["context"]["job_name"] for p in _parts(given)] == ["a", "b", "c", "d"]

    fresh: dict[str, Any] = {}
    _, indexed = _managers(fresh)
    indexed.get_context_state({"job_name": "x"})["replication_key_value"] = 5
    assert indexed.get_context_state({"job_name": "x"}) is _parts(fresh)[0]
    assert _parts(fresh) == [{"context": {"job_name": "x"}, "replication_key_value": 5}]


def _parts(state: dict[str, Any]) -> list[dict[str, Any]]:
    partitions: list[dict[str, Any]] = state["bookmarks"]["instances"]["partitions"]
    return partitions
