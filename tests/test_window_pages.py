"""One big job: the pages of a window are fetched in parallel once its ``total`` and the reading
of ``offset`` are known, and the window is still complete and exact, under either reading,
through the gateway's faults, with exactly the requests its pages need."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF, bulk_dataset
from test_kill_resume import assert_bookmarks_follow_records, run_streaming

from tap_dlf_instances.windows import to_ms

JOB = "bulk_job_0000"
INSTANCES = 6000
INTERVAL_SECONDS = 60  # 6,000 instances in 4.2 days: one 30-day window
PAGE_SIZE = 250  # 24 pages
WORKERS = 4


def one_big_job(
    make_sim: Callable[..., SimulatedDLF],
    *,
    offset_mode: str = "page",
    latency_ms: float = 40,
    **settings: Any,
) -> tuple[SimulatedDLF, dict[str, Any], dict[int, int]]:
    sim = make_sim(
        bulk_dataset(jobs=1, instances_per_job=INSTANCES, interval_seconds=INTERVAL_SECONDS),
        rate_limit_per_user=None,
        latency_ms=latency_ms,
        offset_mode=offset_mode,
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(seconds=INTERVAL_SECONDS * INSTANCES + 3600)
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "page_size": PAGE_SIZE,
        "max_requests_per_second": 1000,
        "max_workers": WORKERS,
        **settings,
    }
    start_ms, end_ms = to_ms(start), to_ms(end)
    expected = {
        i.instance_id: i.plan_time for i in sim.dataset.instances(JOB) if start_ms <= i.plan_time < end_ms
    }
    assert len(expected) == INSTANCES
    return sim, config, expected


#: The simulator's route of each way to read instances (`instance_listing`).
ROUTES = {"per_job": "instances", "workspace": "v1_instances"}


@pytest.fixture(params=list(ROUTES))
def listing(request: pytest.FixtureRequest) -> str:
    """Per job, or the workspace listing: a one-job workspace's windows are the same either way."""
    return str(request.param)


def pages_needed(rows: int, *, probed_as_rows: bool) -> int:
    """Requests for one listing: its pages; when `auto` learns the row reading, its probe at
    `offset=1` is one more (it starts a page at the second row)."""
    if probed_as_rows:
        return 1 + math.ceil((rows - 1) / PAGE_SIZE)
    return math.ceil(rows / PAGE_SIZE)


@pytest.mark.parametrize(
    ("server_reads", "tap_setting"),
    [("page", "auto"), ("row", "auto"), ("page", "page"), ("row", "row")],
)
def test_one_big_window_is_fetched_in_parallel_complete_and_exact(
    make_sim, tap, server_reads, tap_setting, listing
):
    sim, config, expected = one_big_job(make_sim, offset_mode=server_reads, instance_listing=listing)
    config["offset_mode"] = tap_setting

    began_ms = to_ms(datetime.now(UTC))
    run = tap(config)
    ended_ms = to_ms(datetime.now(UTC))

    assert run.returncode == 0, run.stderr[-3000:]
    emitted = Counter(r["instance_id"] for r in run.instances)
    assert set(emitted) == set(expected)
    assert max(emitted.values()) == 1
    assert "announced" not in run.stderr  # no warning of a listing read the wrong way
    stats = sim.stats()
    probed_as_rows = server_reads == "row" and tap_setting == "auto"
    assert stats["requests_per_route"][ROUTES[listing]] == pages_needed(
        INSTANCES, probed_as_rows=probed_as_rows
    )
    # One window, yet several pages at once: and never more than max_workers.
    assert 1 < stats["peak_in_flight"] <= WORKERS
    # `end_date` is ahead: the watermark is the moment the sync started.
    assert began_ms <= run.bookmarks()[JOB]["replication_key_value"] <= ended_ms


def test_parallel_pages_through_faults_deliver_everything_with_one_retry_per_fault(make_sim, tap, listing):
    sim, config, expected = one_big_job(make_sim, request_timeout=2, instance_listing=listing)
    instances = "/instances/"
    sim.set_faults(
        [
            {"kind": "status", "status": 503, "every": 5, "times": 2, "path_contains": instances},
            {"kind": "throttle", "retry_after": 1, "every": 7, "times": 1, "path_contains": instances},
            {"kind": "drop", "every": 6, "times": 2, "path_contains": instances},
            {"kind": "html", "every": 8, "times": 1, "path_contains": instances},
            {"kind": "truncated", "every": 9, "times": 1, "path_contains": instances},
            {"kind": "slow", "seconds": 3, "every": 11, "times": 1, "path_contains": instances},
        ]
    )

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    emitted = Counter(r["instance_id"] for r in run.instances)
    assert set(emitted) == set(expected)
    assert max(emitted.values()) == 1
    stats = sim.stats()
    applied = sum(rule["applied"] for rule in stats["faults"])
    assert set(stats["faults_applied"]) == {"status", "throttle", "drop", "html", "truncated", "slow"}
    assert (
        stats["requests_per_route"][ROUTES[listing]]
        == pages_needed(INSTANCES, probed_as_rows=False) + applied
    )
    assert run.stderr.count("Retrying instances") == applied


def test_a_failed_page_fails_the_run_and_no_state_claims_its_window(make_sim, tmp_path):
    # Three windows of two days; the 9th request, a page fetched in parallel, is refused.
    sim, config, expected = one_big_job(make_sim, window_days=2)
    sim.set_faults(
        [{"kind": "status", "status": 403, "every": 9, "times": 1, "path_contains": "/instances/"}]
    )

    run = run_streaming(config, tmp_path)

    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert "403" in errors[0]
    assert_bookmarks_follow_records(run, {JOB: expected})
    end_ms = to_ms(datetime.fromisoformat(config["end_date"]))
    partitions = run.last_state.get("bookmarks", {}).get("instances", {}).get("partitions", [])
    assert all(p.get("replication_key_value", 0) < end_ms for p in partitions)


def test_instances_added_while_pages_are_read_in_parallel_cost_no_row_read_before(make_sim, tap):
    sim, config, expected = one_big_job(make_sim)
    # The 6th request, a page read in parallel, fails once: its retry, a second later, comes
    # after the later pages were answered, and after new instances went to the listing's top.
    sim.set_faults(
        [{"kind": "status", "status": 503, "every": 6, "times": 1, "path_contains": "/instances/"}]
    )
    newest = max(expected.values())
    added = [{"job_name": JOB, "plan_time": newest + 1 + k} for k in range(10)]

    def add_while_the_page_waits() -> None:
        deadline = time.monotonic() + 60
        while not sim.stats()["faults_applied"] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        sim.apply_instances(added)

    adding = threading.Thread(target=add_while_the_page_waits)
    adding.start()
    run = tap(config)
    adding.join()

    assert run.returncode == 0, run.stderr[-3000:]
    emitted = Counter(r["instance_id"] for r in run.instances)
    assert set(expected) - set(emitted) == set()
    assert max(emitted.values()) == 1
    assert "the listing changed while its pages were read in parallel" in run.stderr
