"""What the tap asks the API for: no wasted page, filters passed on, shards that split the jobs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from tap_dlf_instances.job_selection import shard_of
from tap_dlf_instances.windows import plan_windows, to_ms, window_width_ms


def _config(sim, **extra):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return {
        **sim.tap_config(auth="aksk"),
        "start_date": (end - timedelta(days=80)).isoformat(),
        "end_date": end.isoformat(),
        "max_requests_per_second": 500,
        **extra,
    }


def test_requests_are_exactly_the_pages_that_total_calls_for(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = _config(sim, offset_mode="page", instance_listing="per_job")
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]

    start = to_ms(datetime.fromisoformat(config["start_date"]))
    end = to_ms(datetime.fromisoformat(config["end_date"]))
    jobs = [job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME"]
    # Real-time jobs' sub-jobs, found with one ShowJob each (DLF V1).
    realtime = [job for job in sim.dataset.jobs.values() if job.job_type == "REAL_TIME"]
    jobs += [name for job in realtime for name in job.sub_job_names()]
    pages = 0
    for job in jobs:
        for window in plan_windows(start, end, window_width_ms(30)):
            total = len(sim.dataset.expected(job, window.min_plan_time, window.max_plan_time))
            pages += max(1, math.ceil(total / 1000))
    assert pages > len(jobs) * 3  # several windows per job, some of several pages
    routes = sim.stats()["requests_per_route"]
    assert routes["instances"] == pages
    assert routes["jobs"] == 1
    assert routes["v1_job"] == len(realtime) >= 1


def test_the_workspace_listing_costs_exactly_its_pages_and_the_sub_jobs_own(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = _config(sim, offset_mode="page", instance_listing="workspace")
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]

    start = to_ms(datetime.fromisoformat(config["start_date"]))
    end = to_ms(datetime.fromisoformat(config["end_date"]))
    everything = sim.dataset.job_names()  # the listing holds every job of the workspace
    listing_pages = 0
    for window in plan_windows(start, end, 7 * 86_400_000 - 1):
        total = sum(
            len(sim.dataset.expected(job, window.min_plan_time, window.max_plan_time)) for job in everything
        )
        listing_pages += max(1, math.ceil(total / 1000))
    realtime = [job for job in sim.dataset.jobs.values() if job.job_type == "REAL_TIME"]
    sub_jobs = [name for job in realtime for name in job.sub_job_names()]
    own_pages = 0  # real-time sub-jobs are read per job
    for job in sub_jobs:
        for window in plan_windows(start, end, window_width_ms(30)):
            total = len(sim.dataset.expected(job, window.min_plan_time, window.max_plan_time))
            own_pages += max(1, math.ceil(total / 1000))
    routes = sim.stats()["requests_per_route"]
    assert routes["v1_instances"] == listing_pages  # the page read to choose the mode is not read again
    assert routes["instances"] == own_pages
    assert routes["jobs"] == 1


def test_a_status_filter_is_passed_to_the_api(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    run = tap(_config(sim, status="fail"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.instances
    assert {r["status"] for r in run.instances} == {"fail"}


def test_shards_split_the_jobs_without_overlap_and_together_cover_them_all(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    nodes = {job.name: list(job.nodes) for job in sim.dataset.jobs.values() if job.job_type == "REAL_TIME"}
    base = _config(sim, realtime_job_nodes=nodes)
    names = [job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME"]
    names += [f"{job}_{node}" for job, ns in nodes.items() for node in ns]
    per_shard = []
    for index in range(3):
        run = tap({**base, "shard_index": index, "shard_count": 3})
        assert run.returncode == 0, run.stderr[-3000:]
        per_shard.append({r["job_name"] for r in run.instances})
        # each shard reads, and keeps state for, exactly its own jobs
        assert set(run.bookmarks()) == {name for name in names if shard_of(name, 3) == index}
        assert per_shard[-1] <= set(run.bookmarks())
    everything = tap(base)
    all_jobs = {r["job_name"] for r in everything.instances}
    assert set().union(*per_shard) == all_jobs
    assert sum(len(s) for s in per_shard) == len(all_jobs)
