"""A backfill through the simulated API's faults: every instance arrives, each fault costs one
retry and no more; a fault that never clears stops the run with one clear sentence and the
state of the windows completed before it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF, bulk_dataset

from tap_dlf_instances.windows import plan_windows, to_ms, window_width_ms

JOBS = 6
INSTANCES_PER_JOB = 8000  # every 5 minutes: ~28 days a job
WINDOW_DAYS = 7  # 4 windows a job
PAGE_SIZE = 1000
INSTANCES = "/instances/"

#: Every kind of fault the gateway shows, spread over a backfill of about 70 pages.
MIXED_FAULTS: list[dict[str, Any]] = [
    {"kind": "status", "status": 503, "times": 3, "path_contains": INSTANCES},  # a burst at the start
    {"kind": "throttle", "retry_after": 1, "every": 9, "times": 3, "path_contains": INSTANCES},
    # Without Retry-After the tap waits Huawei's 2-5 s: one is enough.
    {"kind": "throttle", "every": 31, "times": 1, "path_contains": INSTANCES},
    {"kind": "status", "status": 502, "every": 7, "times": 3, "path_contains": INSTANCES},
    {"kind": "status", "status": 504, "every": 11, "times": 2, "path_contains": INSTANCES},
    {
        "kind": "slow",
        "seconds": 3,
        "every": 13,
        "times": 2,
        "path_contains": INSTANCES,
    },  # past the 2 s timeout
    {"kind": "drop", "every": 8, "times": 3, "path_contains": INSTANCES},
    {"kind": "html", "every": 10, "times": 2, "path_contains": INSTANCES},
    {"kind": "truncated", "every": 12, "times": 2, "path_contains": INSTANCES},
]


@pytest.fixture
def backfill(make_sim: Callable[..., SimulatedDLF]) -> tuple[SimulatedDLF, dict[str, Any]]:
    sim = make_sim(bulk_dataset(jobs=JOBS, instances_per_job=INSTANCES_PER_JOB), rate_limit_per_user=None)
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=5 * INSTANCES_PER_JOB + 60)
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "window_days": WINDOW_DAYS,
        "page_size": PAGE_SIZE,
        "max_requests_per_second": 1000,
        "request_timeout": 2,
    }
    return sim, config


def job_names() -> list[str]:
    return [f"bulk_job_{j:04d}" for j in range(JOBS)]


def expected_ids(sim: SimulatedDLF, config: dict[str, Any], jobs: list[str]) -> dict[str, dict[int, int]]:
    """Job -> {instance_id: plan_time} of what the config's range holds."""
    start_ms, end_ms = bounds(config)
    return {
        job: {
            i.instance_id: i.plan_time for i in sim.dataset.instances(job) if start_ms <= i.plan_time < end_ms
        }
        for job in jobs
    }


def bounds(config: dict[str, Any]) -> tuple[int, int]:
    return to_ms(datetime.fromisoformat(config["start_date"])), to_ms(
        datetime.fromisoformat(config["end_date"])
    )


def reaches_end_date(watermark: int, config: dict[str, Any]) -> bool:
    """``end_date`` is a minute ahead: the watermark stops at the sync start if that came first."""
    _, end_ms = bounds(config)
    return end_ms - 3 * 60_000 <= watermark <= end_ms


def clean_pages(sim: SimulatedDLF, config: dict[str, Any], listing: str) -> int:
    """The instances requests a fault-free backfill makes: its windows' pages, none more. Per
    job, each job's windows; listed, the windows of the whole workspace (7 days less a ms)."""
    start_ms, end_ms = bounds(config)
    if listing == "workspace":
        windows = plan_windows(start_ms, end_ms, 7 * 86_400_000 - 1)
        rows_of = [
            sum(len(sim.dataset.expected(job, w.min_plan_time, w.max_plan_time)) for job in job_names())
            for w in windows
        ]
        return sum(max(1, math.ceil(rows / PAGE_SIZE)) for rows in rows_of)
    pages = 0
    for job in job_names():
        for window in plan_windows(start_ms, end_ms, window_width_ms(WINDOW_DAYS)):
            rows = len(sim.dataset.expected(job, window.min_plan_time, window.max_plan_time))
            pages += max(1, math.ceil(rows / PAGE_SIZE))
    return pages


@pytest.mark.parametrize("listing", ["per_job", "workspace"])
def test_a_backfill_through_mixed_faults_delivers_everything_with_one_retry_per_fault(backfill, tap, listing):
    sim, config = backfill
    config["instance_listing"] = listing
    sim.set_faults(MIXED_FAULTS)

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    expected = expected_ids(sim, config, job_names())
    emitted = Counter(r["instance_id"] for r in run.instances)
    assert set(emitted) == {iid for ids in expected.values() for iid in ids}
    assert max(emitted.values()) == 1
    watermarks = {job: p["replication_key_value"] for job, p in run.bookmarks().items()}
    assert set(watermarks) == set(job_names())
    assert all(reaches_end_date(watermark, config) for watermark in watermarks.values()), watermarks

    stats = sim.stats()
    rules = stats["faults"]
    applied = sum(rule["applied"] for rule in rules)
    # Every kind struck, and the 429s both with and without Retry-After.
    assert set(stats["faults_applied"]) == {"status", "throttle", "slow", "drop", "html", "truncated"}
    assert rules[1]["applied"] > 0
    assert rules[2]["applied"] == 1
    # Bounded: each fault cost exactly one more request, and each page was fetched once.
    route = "instances" if listing == "per_job" else "v1_instances"
    assert stats["requests_per_route"][route] == clean_pages(sim, config, listing) + applied
    assert run.stderr.count("Retrying instances") == applied


def test_a_fault_that_never_clears_stops_the_run_with_the_state_of_what_was_completed(backfill, tap):
    sim, config = backfill
    broken = "bulk_job_0002"
    sim.set_faults([{"kind": "status", "status": 503, "times": None, "path_contains": broken}])

    run = tap({**config, "max_retries": 2, "instance_listing": "per_job"})  # a job's own route

    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    message = [line for line in run.stderr.splitlines() if line.startswith("Error: Gave up on GET")]
    assert message, run.stderr[-3000:]
    assert f"/jobs/{broken}/instances/detail" in message[-1]
    assert "after 3 attempts" in message[-1]
    assert "503" in message[-1]

    # The jobs before the broken one were completed, and their state was emitted.
    watermarks = {
        job: p["replication_key_value"]
        for job, p in run.bookmarks().items()
        if p.get("replication_key_value") is not None
    }
    assert set(watermarks) == {"bulk_job_0000", "bulk_job_0001"}
    assert all(reaches_end_date(watermark, config) for watermark in watermarks.values()), watermarks
    done = expected_ids(sim, config, ["bulk_job_0000", "bulk_job_0001"])
    assert {iid for ids in done.values() for iid in ids} <= {r["instance_id"] for r in run.instances}
    # Bounded: at most every window of the broken job tried 3 times.
    windows = len(list(plan_windows(*bounds(config), window_width_ms(WINDOW_DAYS))))
    assert sim.stats()["faults"][0]["applied"] <= 3 * windows
