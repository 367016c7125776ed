"""End-to-end syncs of the real tap against the simulated API: complete, exact, incremental."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF

from tap_dlf_instances.state.bookmarks import FINAL_STATUSES
from tap_dlf_instances.tap import TapDLFInstances
from tap_dlf_instances.windows import DAY_MS, to_ms

PK = ("project_id", "workspace", "job_name", "instance_id")


def batch_jobs(sim: SimulatedDLF) -> list[str]:
    return [job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME"]


def realtime_nodes(sim: SimulatedDLF) -> dict[str, list[str]]:
    return {job.name: list(job.nodes) for job in sim.dataset.jobs.values() if job.job_type == "REAL_TIME"}


def expected(sim: SimulatedDLF, jobs: list[str], start_ms: int, end_ms: int) -> dict[tuple[str, int], Any]:
    return {
        (job, inst.instance_id): inst
        for job in jobs
        for inst in sim.dataset.instances(job)
        if start_ms <= inst.plan_time < end_ms
    }


def emitted(records: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["job_name"], r["instance_id"]): r for r in records}


def assert_no_duplicates(records: list[dict[str, Any]]) -> None:
    keys = Counter(tuple(r[k] for k in PK) for r in records)
    assert [k for k, n in keys.items() if n > 1] == []


def window_config(sim: SimulatedDLF, days_back: int = 75, **extra: Any) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return {
        **sim.tap_config(auth="aksk"),
        "start_date": (end - timedelta(days=days_back)).replace(hour=0).isoformat(),
        "end_date": end.isoformat(),
        **extra,
    }


def test_full_sync_discovers_jobs_and_emits_every_instance_once(sim, tap):
    nodes = realtime_nodes(sim)
    config = window_config(sim, realtime_job_nodes=nodes)
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]

    jobs = batch_jobs(sim) + [f"{job}_{node}" for job, ns in nodes.items() for node in ns]
    start, end = (
        to_ms(datetime.fromisoformat(config["start_date"])),
        to_ms(datetime.fromisoformat(config["end_date"])),
    )
    want = expected(sim, jobs, start, end)
    got = emitted(run.instances)
    assert len(want) > 1000
    assert set(got) == set(want)
    assert_no_duplicates(run.instances)
    for key, inst in want.items():
        assert got[key]["status"] == inst.status
        assert got[key]["plan_time"] == inst.plan_time
    assert {r["project_id"] for r in run.instances} == {config["project_id"]}
    assert {r["workspace"] for r in run.instances} == {"default"}
    # the jobs dimension: every job of the workspace, real-time ones included
    assert {j["name"] for j in run.records["jobs"]} == {job.name for job in sim.dataset.jobs.values()}
    # one bookmark per job, at the end of the range
    bookmarks = run.bookmarks()
    assert set(bookmarks) == set(jobs)
    assert {b["replication_key_value"] for b in bookmarks.values()} == {end}


@pytest.mark.parametrize(
    ("server_mode", "tap_mode"),
    [("page", "auto"), ("row", "auto"), ("page", "page"), ("row", "row")],
)
def test_paging_is_complete_whichever_way_the_server_reads_offset(make_sim, tap, server_mode, tap_mode):
    sim = make_sim(offset_mode=server_mode, rate_limit_per_user=None)
    jobs = batch_jobs(sim)[:3]
    config = window_config(
        sim,
        days_back=20,
        job_names=jobs,
        page_size=7,
        offset_mode=tap_mode,
        max_workers=2,
        max_requests_per_second=500,
    )
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    start, end = (
        to_ms(datetime.fromisoformat(config["start_date"])),
        to_ms(datetime.fromisoformat(config["end_date"])),
    )
    assert set(emitted(run.instances)) == set(expected(sim, jobs, start, end))
    assert_no_duplicates(run.instances)
    if tap_mode == "auto":
        assert f"as a {server_mode} offset (detected)" in run.stderr


def test_instances_on_window_edges_are_neither_lost_nor_duplicated(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    job = batch_jobs(sim)[0]
    day0 = to_ms(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)) - 10 * DAY_MS
    edge_ids = [
        sim.dataset.add_instance(job, day0 + offset).instance_id
        for offset in (0, DAY_MS - 1, DAY_MS, 2 * DAY_MS, 3 * DAY_MS - 1, 3 * DAY_MS)
    ]
    config = {
        **sim.tap_config(auth="aksk"),
        "job_names": [job],
        "start_date": datetime.fromtimestamp(day0 / 1000, UTC).isoformat(),
        "end_date": datetime.fromtimestamp((day0 + 3 * DAY_MS) / 1000, UTC).isoformat(),
        "window_days": 1,
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    got = {r["instance_id"] for r in run.instances}
    assert set(edge_ids[:5]) <= got  # start_date is inclusive
    assert edge_ids[5] not in got  # end_date is exclusive
    assert got == {key[1] for key in expected(sim, [job], day0, day0 + 3 * DAY_MS)}
    assert_no_duplicates(run.instances)


def test_incremental_sync_picks_up_finished_and_late_instances_and_little_else(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": (datetime.now(UTC) - timedelta(days=60)).isoformat(),
        "realtime_job_nodes": realtime_nodes(sim),
    }
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    open_before = {r["instance_id"] for r in first.instances if r["status"] not in FINAL_STATUSES}
    assert open_before, "the demo data should have running or waiting instances"

    changes = sim.advance()
    second = tap(config, state=first.last_state)
    assert second.returncode == 0, second.stderr[-3000:]
    got = emitted(second.instances)
    by_id = {key[1]: record for key, record in got.items()}

    # every instance still open at the first sync comes back, in its final status
    for instance_id in open_before:
        assert instance_id in by_id
        current = sim.dataset.get_instance(instance_id)
        assert by_id[instance_id]["status"] == current.status
    # late PatchData/manual instances and new ones arrive
    added = changes["added_ids"]
    assert added
    assert set(added) <= set(by_id)
    # and the second run re-reads only the lookback and what was open, not the whole history
    assert len(second.instances) < len(first.instances) / 4
    assert_no_duplicates(second.instances)


def test_a_missing_job_is_named_and_the_others_still_sync(sim, tap):
    jobs = batch_jobs(sim)[:2]
    config = window_config(sim, days_back=10, job_names=[jobs[0], "no_such_job", jobs[1]])
    config["instance_listing"] = "per_job"  # the V2 route names the job it does not know
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "'no_such_job' was not found" in run.stderr
    assert "DLF.0100" in run.stderr
    assert {r["job_name"] for r in run.instances} == set(jobs)
    assert (
        "no_such_job" not in run.bookmarks() or "replication_key_value" not in run.bookmarks()["no_such_job"]
    )


def test_a_forced_offset_reading_that_loses_rows_is_reported(make_sim, tap):
    sim = make_sim(offset_mode="row", rate_limit_per_user=None)
    jobs = batch_jobs(sim)[:1]
    config = window_config(
        sim, days_back=10, job_names=jobs, page_size=7, offset_mode="page", max_requests_per_second=500
    )
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "pages held" in run.stderr
    assert "set `offset_mode` (now page)" in run.stderr


def test_jobs_asked_for_out_of_order_or_again_are_read_from_their_bookmark(make_sim):
    # The SDK asks for partitions in order; anything else must not lose a job's instances.
    sim = make_sim(rate_limit_per_user=None)
    jobs = batch_jobs(sim)[:3]
    config = window_config(sim, days_back=20, job_names=jobs, max_requests_per_second=500)
    config["instance_listing"] = "per_job"  # the SDK's partitions, one job at a time
    config["emit_unchanged"] = True  # what is read, not what changed since the first read
    stream = TapDLFInstances(config=config).streams["instances"]
    start = to_ms(datetime.fromisoformat(config["start_date"]))
    end = to_ms(datetime.fromisoformat(config["end_date"]))
    newest = 0
    for job in [jobs[1], jobs[0], jobs[2]]:  # the first job is skipped over, then asked for
        rows = list(stream.get_records({"job_name": job}))
        got = {r["instance_id"] for r in rows}
        assert got == {key[1] for key in expected(sim, [job], start, end)}, job
        newest = max(r["plan_time"] for r in rows)
    # asked again in the same run: read again from its new bookmark (or its newest plan time,
    # if earlier), less the lookback
    again = list(stream.get_records({"job_name": jobs[2]}))
    assert again
    assert min(r["plan_time"] for r in again) >= min(end, newest) - DAY_MS
