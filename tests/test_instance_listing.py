"""The two ways to read instances (``instance_listing``) against the simulator, which serves the
workspace-wide DLF V1 listing unless switched off: the choice and its one line, what each costs,
the same rows either way, failure messages, other workspaces, refused spans, and the rule that
emits what changed (``state/unchanged.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import REAL_TIME_JOB, SECOND_WORKSPACE_ID, SimulatedDLF, demo_dataset
from hypothesis import given
from hypothesis import strategies as st

from tap_dlf_instances.api.workspace_listing import snake_rows
from tap_dlf_instances.state.bookmarks import Bookmark, ReadClaim, after_window, pulled_back
from tap_dlf_instances.state.unchanged import SKEW_MARGIN_MS, already_emitted
from tap_dlf_instances.windows import Window
from tap_dlf_instances.workspace_plan import MAX_WINDOW_ROWS, before, common_start, narrower_width

DAY_MS = 86_400_000


def config_for(sim: SimulatedDLF, mode: str, days: int = 4, **extra: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    return sim.tap_config() | {
        "start_date": start.isoformat(),
        "instance_listing": mode,
        "max_requests_per_second": 200,
        **extra,
    }


def keyed(records: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["job_name"], r["instance_id"]): r for r in records}


def test_both_modes_emit_the_same_rows_and_the_listing_costs_less(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    listed = tap(config_for(sim, "auto"))
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "read with the workspace listing" in listed.stderr
    listing_requests = sim.stats()["requests_per_route"]
    sim.reset_stats()
    per_job = tap(config_for(sim, "per_job"))
    assert per_job.returncode == 0, per_job.stderr[-3000:]
    assert "read per job (`instance_listing`: per_job)" in per_job.stderr
    ours, theirs = keyed(listed.instances), keyed(per_job.instances)
    assert set(ours) == set(theirs)
    assert len(ours) == len(listed.instances)  # no duplicates
    for key, record in theirs.items():
        assert {k: v for k, v in ours[key].items() if k != "error_message"} == {
            k: v for k, v in record.items() if k != "error_message"
        }
        assert record["error_message"] is None
    assert any(r["error_message"] for r in listed.instances if r["status"] == "fail")
    assert listing_requests.get("v1_instances", 0) < sim.stats()["requests_per_route"]["instances"]
    # the same bookmarks, so that switching modes neither loses history nor reads it all again
    assert set(listed.bookmarks()) == set(per_job.bookmarks())
    for job, mark in per_job.bookmarks().items():  # each at its own run's start
        assert 0 <= mark["replication_key_value"] - listed.bookmarks()[job]["replication_key_value"] < 600_000


def test_auto_reads_per_job_where_the_route_is_not_served(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None, v1_listing=False)
    run = tap(config_for(sim, "auto"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert (
        "Instances are read per job: the workspace listing is not served here (404 APIGW.0101)" in run.stderr
    )
    assert run.instances
    refused = tap(config_for(sim, "workspace"))
    assert refused.returncode != 0
    assert "`instance_listing`" in refused.stderr
    assert "APIGW.0101" in refused.stderr
    assert "`v1_api_url`" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_refused_span_is_narrowed(make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]) -> None:
    sim = make_sim(rate_limit_per_user=None, v1_max_span_days=3)
    run = tap(config_for(sim, "workspace", days=9))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "refused a span of 7 days" in run.stderr
    per_job = tap(config_for(sim, "per_job", days=9))
    assert set(keyed(run.instances)) == set(keyed(per_job.instances))


def test_rows_of_another_workspace_or_of_jobs_not_selected_are_never_emitted(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(demo_dataset(second_workspace=True), rate_limit_per_user=None)
    other = set(sim.dataset.job_names(SECOND_WORKSPACE_ID))
    assert other
    jobs = ["hourly_orders_etl", "quarter_hour_sync"]
    run = tap(config_for(sim, "workspace", job_names=jobs))
    assert run.returncode == 0, run.stderr[-3000:]
    assert {r["job_name"] for r in run.instances} == set(jobs)
    everything = tap(config_for(sim, "workspace"))
    assert not {r["job_name"] for r in everything.instances} & other


def test_the_next_sync_emits_what_changed_and_emit_unchanged_emits_all(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = config_for(sim, "auto")
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    open_before = {
        r["instance_id"]
        for r in first.instances
        if r["status"] not in ("success", "fail", "manual-stop", "skip-by-depend")
    }
    changes = sim.advance()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    ids = {r["instance_id"] for r in second.instances}
    assert open_before <= ids
    assert set(changes["added_ids"]) <= ids
    again = tap(config | {"emit_unchanged": True}, state=first.last_state)
    assert again.returncode == 0
    all_ids = {r["instance_id"] for r in again.instances}
    assert ids < all_ids
    assert len(second.instances) < len(again.instances) / 3
    assert "read again unchanged and not emitted" in second.stderr


# --- the rules, without a server --------------------------------------------------------------


def record(**fields: Any) -> dict[str, Any]:
    base = {
        "instance_id": 1,
        "force_success": False,
        "ignore_success": False,
        "status": "success",
        "plan_time": 1_000,
        "start_time": 2_000,
        "end_time": 3_000,
        "submit_time": 500,
    }
    return base | fields


def test_a_final_row_the_previous_sync_read_final_is_not_emitted_again() -> None:
    at = 10 * DAY_MS
    held = Bookmark(read=ReadClaim(0, 5_000, at))
    assert already_emitted(held, record())
    assert not already_emitted(Bookmark(), record())  # no claim: emitted
    assert not already_emitted(held, record(status="running"))
    assert not already_emitted(held, record(end_time=None))
    assert not already_emitted(held, record(end_time=at - SKEW_MARGIN_MS))  # ended too late
    assert not already_emitted(held, record(plan_time=5_000, start_time=5_001))  # outside the read
    assert not already_emitted(held, record(start_time=6_000))  # started outside it
    assert not already_emitted(Bookmark(open_since=1_000, read=held.read), record())  # seen open
    # a failed run: held only while it stays failed with the same flags
    failed = Bookmark(read=ReadClaim(0, 5_000, at, {7: 0}))
    assert already_emitted(failed, record(instance_id=7, status="fail"))
    assert not already_emitted(failed, record(instance_id=7, status="success", force_success=True))
    assert not already_emitted(failed, record(instance_id=7, status="fail", ignore_success=True))
    assert not already_emitted(held, record(instance_id=7, status="fail"))  # not failed then


@given(
    st.integers(0, 10**6),
    st.integers(1, 10**6),
    st.integers(0, 10**7),
    st.dictionaries(
        st.sampled_from(["plan_time", "start_time", "end_time", "submit_time"]), st.integers(0, 10**7)
    ),
)
def test_a_row_that_changed_after_the_read_began_is_always_emitted(
    start: int, width: int, at: int, times: dict[str, int]
) -> None:
    row = record(**times)
    claim = Bookmark(read=ReadClaim(start, start + width, at))
    latest = max(row["plan_time"], row["start_time"], row["end_time"], row["submit_time"])
    if latest >= at - SKEW_MARGIN_MS or not start <= row["plan_time"] < start + width:
        assert not already_emitted(claim, row)


def test_the_common_start_and_what_each_job_reads_before_it() -> None:
    hour = 3_600_000
    starts = [100 * hour] * 10 + [76 * hour] + [10 * hour]
    start = common_start(starts)
    assert start == 76 * hour  # the daily job's start is within a day: taken in
    assert before([(10 * hour, 200 * hour)], start) == [(10 * hour, start)]
    assert before([(80 * hour, 200 * hour)], start) == []
    assert common_start([5]) == 5


@pytest.mark.parametrize("snake_first", [True, False])
def test_rows_are_read_in_either_case(snake_first: bool) -> None:
    row = {"instanceId": 1, "planTime": 2, "errorMessage": "x", "status": "fail"}
    if snake_first:
        row["instance_id"] = 9
    snake_rows([row])
    assert row == {
        "instance_id": 9 if snake_first else 1,
        "plan_time": 2,
        "error_message": "x",
        "status": "fail",
    }


def test_a_handful_of_jobs_is_read_per_job_when_that_costs_less(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    run = tap(config_for(sim, "auto", job_names=["hourly_orders_etl"], page_size=10))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Instances are read per job: the workspace listing would cost more" in run.stderr
    assert {r["job_name"] for r in run.instances} == {"hourly_orders_etl"}


def test_a_configured_job_the_workspace_lacks_is_named_in_the_workspace_mode_too(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    run = tap(config_for(sim, "workspace", job_names=["hourly_orders_etl", "no_such_job"]))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Job 'no_such_job' was not found" in run.stderr
    assert {r["job_name"] for r in run.instances} == {"hourly_orders_etl"}
    assert "replication_key_value" not in run.bookmarks().get("no_such_job", {})


# --- hostile answers on the listing's route ------------------------------------------------------

LISTING_ROUTE = "jobs/instances/detail"


def hostile_config(sim: SimulatedDLF, **extra: Any) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return sim.tap_config() | {
        "start_date": (end - timedelta(days=10)).isoformat(),
        "end_date": end.isoformat(),
        "instance_listing": "workspace",
        "page_size": 50,
        "max_requests_per_second": 500,
        "max_retries": 1,
        **extra,
    }


def error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    return errors[0]


def test_one_error_body_on_the_listing_costs_a_retry_and_no_row(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = hostile_config(sim)
    clean = tap(config)
    sim.set_faults([{"kind": "error_body", "times": 1, "path_contains": LISTING_ROUTE, "every": 3}])
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert set(keyed(run.instances)) == set(keyed(clean.instances))
    assert run.stderr.count("Retrying instances") == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({"total": 2, "instances": None}, "not a list", id="instances-null"),
        pytest.param({"total": "many", "instances": []}, "`total` 'many'", id="total-string"),
        pytest.param([], "not a JSON object", id="array"),
    ],
)
def test_a_listing_body_that_is_not_a_page_stops_the_run_and_moves_no_bookmark(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any], body: Any, reason: str
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "body", "body": body, "times": None, "path_contains": LISTING_ROUTE}])
    run = tap(hostile_config(sim))
    assert run.returncode == 1
    error = error_line(run.stderr)
    assert reason in error
    assert LISTING_ROUTE in error
    assert all("replication_key_value" not in mark for mark in run.bookmarks().values())


@pytest.mark.timeout(120)
def test_a_listing_repeating_its_first_page_is_stopped_with_one_line(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "repeat", "total": None, "times": None, "path_contains": LISTING_ROUTE}])
    run = tap(hostile_config(sim), timeout=60)
    assert run.returncode == 1
    error = error_line(run.stderr)
    assert "workspace listing" in error
    assert "`offset_mode`" in error
    assert sim.stats()["requests_per_route"]["v1_instances"] < 40


def test_a_short_listing_page_is_counted_and_its_window_read_again_for_every_job(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = hostile_config(sim, offset_mode="page")
    sim.set_faults([{"kind": "short", "every": 2, "times": 1, "path_contains": LISTING_ROUTE}])
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1 windows where total and pages disagreed" in run.stderr
    start = int(datetime.fromisoformat(config["start_date"]).timestamp() * 1000)
    marks = run.bookmarks()
    assert marks
    # whichever window the short page was of, every listed job reads it again next time (or
    # from earlier, where one of its runs was still open); real-time sub-jobs are read per job
    held = [mark.get("open_since") for job, mark in marks.items() if not job.startswith(REAL_TIME_JOB)]
    assert None not in held
    window_starts = {start, start + 7 * DAY_MS - 1}  # 10 days: a window of 7, then the rest
    assert max(held) in window_starts  # type: ignore[type-var]


def test_listing_rows_without_a_job_name_are_dropped_and_counted(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    rows = [
        {"instanceId": 1, "planTime": 1, "status": "success"},
        {"jobName": ["x"], "instanceId": 2, "planTime": 1, "status": "success"},
        {"jobName": "hourly_orders_etl", "instanceId": 3, "planTime": 1, "status": "success"},
    ]
    sim.set_faults(
        [{"kind": "body", "body": {"total": 3, "instances": rows}, "path_contains": LISTING_ROUTE}]
    )
    run = tap(hostile_config(sim, end_date=None, start_date=datetime.now(UTC).isoformat()))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("Skipped a row of the workspace listing without a `job_name`") == 2
    assert [r["instance_id"] for r in run.instances] == [3]
    assert "2 rows dropped" in run.stderr


@pytest.mark.parametrize("offset_mode", ["page", "row"])
def test_the_listing_reads_every_row_whichever_way_it_reads_offset(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any], offset_mode: str
) -> None:
    sim = make_sim(rate_limit_per_user=None, offset_mode=offset_mode)
    listed = tap(config_for(sim, "workspace", page_size=7))
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert f"reads `offset` as a {offset_mode}" in listed.stderr
    per_job = tap(config_for(sim, "per_job"))
    assert set(keyed(listed.instances)) == set(keyed(per_job.instances))
    assert len(listed.instances) == len(keyed(listed.instances))


def test_shards_split_the_listing_without_a_row_in_two_or_one_lost(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    whole = keyed(tap(config_for(sim, "per_job")).instances)
    shards = [tap(config_for(sim, "workspace", shard_count=2, shard_index=i)) for i in (0, 1)]
    assert all(run.returncode == 0 for run in shards)
    first, second = (set(keyed(run.instances)) for run in shards)
    assert first
    assert second
    assert not first & second
    assert first | second == set(whole)


@pytest.mark.timeout(120)
def test_auto_reads_per_job_when_the_listing_keeps_failing_and_stops_when_throttled(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "status", "status": 503, "times": None, "path_contains": LISTING_ROUTE}])
    run = tap(hostile_config(sim, instance_listing="auto"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Instances are read per job: the workspace listing could not be read (Gave up" in run.stderr
    assert run.instances
    # throttling is the user's quota, shared by both routes: no second try per job
    sim.set_faults([{"kind": "throttle", "retry_after": 1, "times": None, "path_contains": LISTING_ROUTE}])
    sim.reset_stats()
    throttled = tap(hostile_config(sim, instance_listing="auto", max_retries=0))
    assert throttled.returncode == 1
    assert "throttled" in error_line(throttled.stderr)
    assert "instances" not in sim.stats()["requests_per_route"]


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        [1, 2],
        [1, 2, 3],  # no list of the runs it found failed: it cannot tell a forced success
        [1, 2, 3, "x"],
        [1, 2, 3, [["7", 1]]],
        [1, 2, 3, [[7]]],
        [5, 5, 9, []],
        [9, 5, 10, []],
        [True, 2, 3, []],
        "1,2,3",
        {"a": 1},
        [1.5, 2, 3, []],
    ],
)
def test_a_read_claim_of_any_other_shape_is_ignored(value: Any) -> None:
    """A state file is input like any other: a claim that is not three integers, in order, says
    nothing, and every row is emitted (again)."""
    mark = Bookmark.from_state({"replication_key_value": 10, "read": value})
    assert mark.read is None
    assert not already_emitted(mark, record())


@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=50),
    st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 10**8)), max_size=5),
)
def test_the_listing_and_the_jobs_own_reads_cover_every_range_and_nothing_twice(
    starts: list[int], spans: list[tuple[int, int]]
) -> None:
    start = common_start(starts)
    assert min(starts) <= start <= max(starts)
    # one job's ranges, disjoint and in order: before the common start, read per job; from it on,
    # the listing's; together exactly the ranges, and the per-job part ends at the start at most
    ranges: list[tuple[int, int]] = []
    edge = 0
    for gap, width in spans:
        low = edge + gap
        ranges.append((low, low + width))
        edge = low + width + 1
    own = before(ranges, start)
    assert all(high <= start for _, high in own)
    covered = {(low, min(high, start)) for low, high in ranges if low < start}
    assert set(own) == covered


def test_a_claim_moves_with_the_windows_and_one_from_the_future_is_dropped() -> None:
    old = ReadClaim(0, 100, 1_000)
    kept = after_window(Window(100, 200), None, sync_started_ms=5_000, previous=Bookmark(read=old))
    assert kept.read == old  # no claim of this sync yet: the previous one stands
    moved = after_window(
        Window(100, 200),
        None,
        sync_started_ms=5_000,
        previous=Bookmark(read=old),
        read=ReadClaim(50, 200, 5_000),
    )
    assert moved.read == ReadClaim(50, 200, 5_000)
    state: dict[str, Any] = {}
    moved.write_to(state)
    assert Bookmark.from_state(state).read == moved.read
    with_failed = Bookmark(read=ReadClaim(0, 10, 20, {5: 2, 3: 0}))
    state = {}
    with_failed.write_to(state)
    assert state["read"] == [0, 10, 20, [[3, 0], [5, 2]]]
    assert Bookmark.from_state(state).read == with_failed.read
    assert pulled_back(Bookmark(read=ReadClaim(0, 10, 6_000)), sync_started_ms=5_000).read is None
    assert pulled_back(Bookmark(read=old), sync_started_ms=5_000).read == old


def test_a_window_of_more_rows_than_the_tap_keeps_ids_of_is_narrowed() -> None:
    assert narrower_width(7 * DAY_MS, 1_000) is None
    assert narrower_width(7 * DAY_MS, None) is None
    narrowed = narrower_width(7 * DAY_MS, 840_000)  # a week of 5,000 hourly jobs
    assert narrowed is not None
    assert narrowed * 840_000 // (7 * DAY_MS) <= MAX_WINDOW_ROWS
    assert narrower_width(7 * DAY_MS, 10**12) == 3_600_000  # never below an hour
