"""PatchData runs caught exactly: the real tap (a subprocess) against the simulator.

An incremental sync reads again the plan-time ranges of the PatchData runs submitted since the
last sync, however far back, and nothing else older than the lookback; the lookback also counts
back from a job's newest plan time; a run still RUNNING is read again until it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from dlf_simulator import Dataset, SimulatedDLF

from tap_dlf_instances.patch_catch_up import (
    PatchCatchUp,
    PatchRun,
    merge_ranges,
    plan_catch_up,
    ranges_to_read,
)
from tap_dlf_instances.state.bookmarks import Bookmark, after_window
from tap_dlf_instances.windows import Window

HOUR = 3_600_000
DAY = 24 * HOUR
WEEK = 7 * DAY
LOOKBACK_HOURS = 24


def config_of(sim: SimulatedDLF, jobs: list[str], **extra: Any) -> dict[str, Any]:
    return sim.tap_config() | {
        "job_names": jobs,
        "lookback_window_hours": LOOKBACK_HOURS,
        "max_requests_per_second": 200,
        **extra,
    }


def instance_requests(sim: SimulatedDLF) -> list[tuple[str, int, int]]:
    """(job, first plan time asked for, end) of every instances request the simulator saw; the
    job is ``*`` for a request of the workspace listing (every job)."""
    found = []
    for request in sim.request_log():
        query = {k: v[0] for k, v in parse_qs(request["query"]).items()}
        if request["route"] == "v1_instances":
            found.append(("*", int(query["minPlanTime"]) + 1, int(query["maxPlanTime"])))
        elif request["route"] == "instances":
            job = unquote(request["path"]).split("/")[5]
            found.append((job, int(query["min_plan_time"]) + 1, int(query["max_plan_time"])))
    return found


def listed(run: Any) -> bool:
    """Whether the run read with the workspace listing (`instance_listing` auto or workspace)."""
    return "read with the workspace listing" in run.stderr


def read_from(bookmark: dict[str, Any]) -> int:
    """Where the bookmark rule starts the next sync of a job (by hand, not with the tap's code)."""
    anchor = min(
        bookmark["replication_key_value"], bookmark.get("newest_plan_time", bookmark["replication_key_value"])
    )
    start = anchor - LOOKBACK_HOURS * HOUR
    return min(start, bookmark.get("open_since", start))


@pytest.mark.timeout(240)
def test_a_patchdata_run_three_weeks_back_is_read_and_nothing_else_that_old(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    jobs = ["hourly_orders_etl", "daily_sales_report", "quarter_hour_sync"]
    config = config_of(sim, jobs)
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    before = first.bookmarks()

    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl", "daily_sales_report"], now - 22 * DAY, now - 21 * DAY)
    assert len(patch["added_ids"]) == 24 + 1  # the hourly job's re-runs and the daily one's
    sim.reset_stats()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]

    delivered = {row["instance_id"]: row for row in second.instances}
    assert set(patch["added_ids"]) <= set(delivered)
    assert {delivered[i]["instance_type"] for i in patch["added_ids"]} == {5}
    # Nothing else that old: each request starts where the bookmark rule says, or is the
    # PatchData range itself (the run's [start_date, end_date], end inclusive).
    run = patch["run"]
    patch_range = (run["start_date"], run["end_date"] + 1)
    requests = instance_requests(sim)
    earliest = min(read_from(mark) for mark in before.values())
    for job, start, end in requests:
        lowest = earliest if job == "*" else read_from(before[job])  # the listing: every job's
        assert start >= lowest or (start, end) == patch_range, (job, start, end)
    assert sorted(r for r in requests if (r[1], r[2]) == patch_range) == [
        ("daily_sales_report", *patch_range),
        ("hourly_orders_etl", *patch_range),
    ]
    # one normal window per job (or of the listing), one range per patched job, read per job
    assert len(requests) == (1 if listed(second) else len(jobs)) + 2
    # Read once, and the bookmarks never moved backwards.
    assert len(delivered) == len(second.instances)
    after = second.bookmarks()
    for job in jobs:
        assert after[job]["replication_key_value"] >= before[job]["replication_key_value"]
    # The patch_data stream has the run.
    assert run["name"] in {row["name"] for row in second.records["patch_data"]}

    # The next sync does not read the range again.
    sim.reset_stats()
    third = tap(config, state=second.last_state)
    assert third.returncode == 0, third.stderr[-3000:]
    assert all((start, end) != patch_range for _, start, end in instance_requests(sim))


@pytest.mark.timeout(240)
def test_a_first_sync_has_no_patchdata_to_catch_up(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    """The demo's PatchData runs before the first sync are not read as extra ranges; a state
    written before this version (no `patch_data` record) is a first sync too."""
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    state = first.last_state
    assert state["bookmarks"]["instances"]["patch_data"]["running"] == []
    del state["bookmarks"]["instances"]["patch_data"]
    now = sim.now_ms()
    sim.patch(["hourly_orders_etl"], now - 20 * DAY, now - 20 * DAY + 3 * HOUR)
    sim.reset_stats()
    second = tap(config, state=state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(instance_requests(sim)) == 1
    assert second.last_state["bookmarks"]["instances"]["patch_data"]["submitted_since"] > now


@pytest.mark.timeout(240)
def test_a_weekly_job_catches_an_instance_created_late_before_its_last_one(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    """The lookback counts back from the newest plan time read too: a weekly job whose last run
    was three days ago still catches a manual run created late, planned six hours before it."""
    dataset = Dataset()
    dataset.add_job("weekly_report", period_ms=WEEK)
    sim = make_sim(dataset, rate_limit_per_user=None)
    now = sim.now_ms()
    last = now - 3 * DAY
    for k in range(4):
        sim.add_instance("weekly_report", last - k * WEEK)
    config = config_of(sim, ["weekly_report"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.bookmarks()["weekly_report"]["newest_plan_time"] == last

    late = sim.add_instance("weekly_report", last - 6 * HOUR, instance_type=2, submit_time=now)
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert {row["instance_id"] for row in second.instances} == {late.instance_id}  # what changed
    # ... read from one lookback before the newest plan time, not from start_date.
    everything = tap(config | {"emit_unchanged": True}, state=first.last_state)
    assert {row["plan_time"] for row in everything.instances} == {last - 6 * HOUR, last}


@pytest.mark.timeout(300)
def test_a_running_patchdata_run_is_read_again_until_it_ends(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]

    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl"], now - 15 * DAY, now - 14 * DAY, status="RUNNING")
    name = patch["run"]["name"]
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    got = {row["instance_id"]: row for row in second.instances}
    assert set(patch["added_ids"]) <= set(got)
    assert any(got[i]["status"] == "running" for i in patch["added_ids"])
    assert [row["status"] for row in second.records["patch_data"] if row["name"] == name] == ["RUNNING"]
    record = second.last_state["bookmarks"]["instances"]["patch_data"]
    assert [item["name"] for item in record["running"]] == [name]
    # The patch_data stream's bookmark: the newest run read, and the running one to read again;
    # no "assumed to be unsorted, progress is not resumable" warning, which said nothing here.
    stream_state = second.last_state["bookmarks"]["patch_data"]
    assert stream_state["replication_key_value"] == max(
        r["submitted_date"] for r in second.records["patch_data"]
    )
    assert stream_state["open_since"] == patch["run"]["submitted_date"]
    assert "progress_markers" not in stream_state
    assert "assumed to be unsorted" not in second.stderr

    finished = sim.finish_patch(name)
    assert finished["added_ids"]
    third = tap(config, state=second.last_state)
    assert third.returncode == 0, third.stderr[-3000:]
    got = {row["instance_id"]: row for row in third.instances}
    every = set(patch["added_ids"]) | set(finished["added_ids"])
    assert every <= set(got)
    assert {got[i]["status"] for i in every} == {"success"}
    assert [row["status"] for row in third.records["patch_data"] if row["name"] == name] == ["SUCCESS"]
    assert third.last_state["bookmarks"]["instances"]["patch_data"]["running"] == []

    sim.reset_stats()
    fourth = tap(config, state=third.last_state)
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert not set(every) & {row["instance_id"] for row in fourth.instances}
    assert len(instance_requests(sim)) == 1
    # (the patch_data stream repeats at most the run at its bookmark: `submitted_date >=`)
    assert len(fourth.records.get("patch_data", [])) <= 1


@pytest.mark.timeout(240)
def test_patchdata_naming_jobs_not_read_or_hostile_names_reads_only_the_jobs_synced(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    now = sim.now_ms()
    start, end = now - 12 * DAY, now - 12 * DAY + 5 * HOUR

    def row(name: str, job_list: Any, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "job_list": job_list,
            "start_date": start,
            "end_date": end,
            "status": "SUCCESS",
            "submitted_date": now,
            **extra,
        }

    rows = [
        row("other_jobs", ["daily_sales_report", "no_such_job"]),  # not synced here
        row("hostile", ["../../jobs", "hourly_orders_etl/../x", "", None, 5, {"a": 1}, "%2E%2E"]),
        row("ours", ["hourly_orders_etl", "hourly_orders_etl"]),
        row("no dates", ["hourly_orders_etl"], start_date=None),
        row("backwards", ["hourly_orders_etl"], start_date=end, end_date=start),
        row("not a list", "hourly_orders_etl"),
        row("text dates", ["hourly_orders_etl"], start_date=str(start)),
    ]
    body = {"total": len(rows), "rows": rows, "success": True, "msg": "success"}
    sim.set_faults([{"kind": "body", "path_contains": "supplement-data", "body": body, "times": None}])
    sim.reset_stats()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    requests = instance_requests(sim)
    assert {job for job, _, _ in requests} - {"*"} == {"hourly_orders_etl"}
    assert [(s, e) for _, s, e in requests if s < now - DAY * 2] == [(start, end + 1)]  # once
    assert "Skipped 4 PatchData rows" in second.stderr
    names = {r["name"]: r for r in second.records["patch_data"]}
    assert set(names) == {"other_jobs", "hostile", "ours"}
    assert names["hostile"]["job_list"] == ["../../jobs", "hourly_orders_etl/../x", "", "%2E%2E"]


@pytest.mark.timeout(240)
def test_faults_on_the_patchdata_list_are_retried(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    """The new route goes through the same gateway: a 503, a lying 200 and a cut-short body are
    retried, and the catch-up still happens."""
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl"], now - 9 * DAY, now - 9 * DAY + 2 * HOUR)
    sim.set_faults(
        [
            {"kind": "status", "status": 503, "path_contains": "supplement-data"},
            {"kind": "error_body", "path_contains": "supplement-data"},
            {"kind": "truncated", "path_contains": "supplement-data"},
            {
                "kind": "body",
                "path_contains": "supplement-data",
                "body": {"success": False, "msg": "x", "rows": []},
            },
        ]
    )
    second = tap(config | {"max_retries": 6}, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(patch["added_ids"]) <= {row["instance_id"] for row in second.instances}
    assert sim.stats()["faults_applied"] == {"status": 1, "error_body": 1, "truncated": 1, "body": 1}


@pytest.mark.timeout(240)
def test_a_refused_patchdata_list_leaves_the_instances_read_and_the_catch_up_for_later(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    """Credentials that may not list PatchData runs (403): the instances are read and their
    STATE written; the run ends with exit 1 and one line for the patch_data stream; the
    PatchData record is kept, so the next sync that can list the runs catches them up."""
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl"], now - 16 * DAY, now - 16 * DAY + 2 * HOUR)
    refused = {"kind": "status", "status": 403, "error_code": "DLF.6888", "path_contains": "supplement-data"}
    sim.set_faults([refused | {"times": None}])
    second = tap(config, state=first.last_state)
    assert second.returncode == 1
    assert "PatchData runs could not be listed" in second.stderr
    assert second.stderr.strip().splitlines()[-1].count("403") == 1
    assert "Traceback" not in second.stderr
    assert second.instances
    assert not set(patch["added_ids"]) & {row["instance_id"] for row in second.instances}
    kept = second.last_state["bookmarks"]["instances"]
    assert kept["patch_data"] == first.last_state["bookmarks"]["instances"]["patch_data"]
    assert (
        kept["partitions"][0]["replication_key_value"]
        > first.bookmarks()["hourly_orders_etl"]["replication_key_value"]
    )

    sim.set_faults([])
    third = tap(config, state=second.last_state)
    assert third.returncode == 0, third.stderr[-3000:]
    assert set(patch["added_ids"]) <= {row["instance_id"] for row in third.instances}


@pytest.mark.timeout(240)
def test_patchdata_is_caught_up_with_the_patch_data_stream_deselected(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any], tmp_path: Path
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    catalog = json.loads(tap(config, args=("--discover",)).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "instances"
    path = tmp_path / "only-instances.json"
    path.write_text(json.dumps(catalog))
    first = tap(config, args=("--catalog", str(path)))
    assert first.returncode == 0, first.stderr[-3000:]
    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl"], now - 25 * DAY, now - 25 * DAY + 4 * HOUR)
    second = tap(config, state=first.last_state, args=("--catalog", str(path)))
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(second.records) == {"instances"}
    assert set(patch["added_ids"]) <= {row["instance_id"] for row in second.instances}
    assert "patch_data" not in second.last_state["bookmarks"]


def supplement_requests(sim: SimulatedDLF) -> list[str]:
    return [r["query"] for r in sim.request_log() if r["route"] == "supplement_data"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sorted_by_server", [True, False])
def test_the_patchdata_list_is_read_only_as_far_back_as_needed_when_it_is_newest_first(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any], sorted_by_server: bool
) -> None:
    """150 old runs: a server that sorts newest first is read one page deep; one that ignores
    `sort` (oldest first) is read to the end, and the new run on its last page is not missed."""
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    now = sim.now_ms()
    for k in range(150):
        sim.patch([], now - 40 * DAY, now - 40 * DAY, submitted=now - 60 * DAY + k * HOUR)
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    patch = sim.patch(["hourly_orders_etl"], now - 18 * DAY, now - 18 * DAY + 3 * HOUR)
    if not sorted_by_server:
        sim.set_faults([{"kind": "unsorted", "path_contains": "supplement-data", "times": None}])
    sim.reset_stats()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(patch["added_ids"]) <= {row["instance_id"] for row in second.instances}
    listings = supplement_requests(sim)
    assert len(listings) == (1 if sorted_by_server else 2), listings


@pytest.mark.timeout(240)
def test_a_patchdata_range_inside_the_lookback_is_merged_with_it(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = config_of(sim, ["hourly_orders_etl"])
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    now = sim.now_ms()
    patch = sim.patch(["hourly_orders_etl"], now - 30 * HOUR, now - 20 * HOUR)
    sim.reset_stats()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    (request,) = instance_requests(sim)  # one window from the range's start, not two
    assert request[1] == patch["run"]["start_date"]
    ids = [row["instance_id"] for row in second.instances]
    assert len(ids) == len(set(ids))
    assert set(patch["added_ids"]) <= set(ids)


# --- units nothing else reaches alone -------------------------------------------------------


def test_ranges_are_merged_so_nothing_is_read_twice() -> None:
    assert merge_ranges([(10, 20), (0, 5), (15, 30), (30, 31), (40, 40)]) == [(0, 5), (10, 31)]


def test_the_watermark_never_moves_backwards_and_a_pending_open_since_is_kept() -> None:
    stored = Bookmark(watermark=1000, open_since=800, newest=990)
    # A PatchData window far back: the watermark stays, open_since not yet re-read stays.
    assert after_window(Window(100, 200), None, sync_started_ms=2000, previous=stored) == stored
    # Once the window holding open_since was read again, this sync's reading replaces it.
    assert after_window(Window(700, 900), None, sync_started_ms=2000, previous=stored) == Bookmark(
        1000, None, 990
    )
    assert after_window(
        Window(900, 1500), 950, sync_started_ms=2000, previous=stored, newest=1400
    ) == Bookmark(1500, 950, 1400)


def test_a_patch_row_needs_whole_number_dates_and_a_job_list() -> None:
    good = {"name": "p", "job_list": ["a", 1], "start_date": 1, "end_date": 2, "submitted_date": 3}
    assert PatchRun.of(good) == PatchRun("p", ("a",), 1, 2, 3, "")
    assert PatchRun.of(good | {"end_date": True}) is None
    assert PatchRun.of(good | {"job_list": "a"}) is None
    assert PatchRun.of(good | {"start_date": 5}) is None


def test_a_patch_record_that_is_not_one_is_a_first_sync() -> None:
    assert PatchCatchUp.from_state(None) == (PatchCatchUp(None), None)
    for broken in ("x", [], {"submitted_since": "1"}, {"submitted_since": True}):
        record, problem = PatchCatchUp.from_state(broken)
        assert record.first
        assert problem
    record, problem = PatchCatchUp.from_state(
        {"submitted_since": 50, "running": [{"name": "a", "submitted_date": 10}, {"name": 1}, "b"]}
    )
    assert problem is None
    assert record.list_since() == 10
    assert [p.name for p in record.running] == ["a"]


# --- the catch-up rule as a pure function (patch_catch_up.plan_catch_up) ---------------------


def _run(name: str, jobs: list[str], start: int, end: int, submitted: int, status: str) -> dict[str, object]:
    return {
        "name": name,
        "job_list": jobs,
        "start_date": start,
        "end_date": end,
        "submitted_date": submitted,
        "status": status,
    }


def test_a_first_sync_reads_nothing_again_but_remembers_the_runs_still_going() -> None:
    rows = [_run("going", ["a"], 10, 19, 500, "RUNNING"), _run("done", ["a"], 30, 39, 600, "SUCCESS")]

    plan = plan_catch_up(PatchCatchUp(None), rows, jobs={"a"}, sync_started_ms=1000)

    assert plan.ranges == {}
    assert plan.next_state == {"submitted_since": 1000, "running": [{"name": "going", "submitted_date": 500}]}


def test_runs_submitted_since_the_last_sync_or_open_at_it_are_read_again_for_this_syncs_jobs() -> None:
    stored, _ = PatchCatchUp.from_state(
        {"submitted_since": 1000, "running": [{"name": "old", "submitted_date": 200}]}
    )
    rows = [
        _run("old", ["a"], 0, 9, 200, "SUCCESS"),  # open at the last sync, final now: read once more
        _run("new", ["a", "b", "other-shard"], 100, 199, 1500, "RUNNING"),
        _run("caught-up", ["a"], 300, 399, 900, "SUCCESS"),  # before submitted_since, not open
        {"name": "broken", "job_list": ["a"], "start_date": "x"},
    ]

    plan = plan_catch_up(stored, rows, jobs={"a", "b"}, sync_started_ms=2000)

    assert plan.ranges == {"a": [(0, 10), (100, 200)], "b": [(100, 200)]}
    assert plan.next_state == {"submitted_since": 2000, "running": [{"name": "new", "submitted_date": 1500}]}


def test_a_run_still_open_is_not_remembered_for_jobs_this_sync_does_not_read() -> None:
    stored = PatchCatchUp(0)
    plan = plan_catch_up(stored, [_run("r", ["x"], 0, 9, 5, "RUNNING")], jobs={"a"}, sync_started_ms=10)
    assert plan.ranges == {}
    assert plan.next_state["running"] == []


def test_patched_ranges_join_the_normal_range_clipped_to_the_floor_and_the_end() -> None:
    assert ranges_to_read((1000, 2000), [(100, 300), (250, 400), (1900, 5000)], floor=None) == [
        (100, 400),
        (1000, 2000),
    ]
    assert ranges_to_read((1000, 2000), [(100, 300)], floor=200) == [(200, 300), (1000, 2000)]
    assert ranges_to_read((1000, 2000), [(100, 150)], floor=200) == [(1000, 2000)]
