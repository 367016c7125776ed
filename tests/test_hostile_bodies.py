"""A server that answers 200 with something other than a page costs no row and no hang.

Each of the simulator's lying-200 faults (``error_body``, ``body``, ``repeat``, ``short``) against
the real tap (``test_page_bodies.py`` tests the unit that tells a page from an error).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF

from tap_dlf_instances.job_selection import shard_of
from tap_dlf_instances.windows import to_ms

JOB = "hourly_orders_etl"
OTHER = "daily_sales_report"
INSTANCES_OF = f"/jobs/{JOB}/instances"


def config_for(sim: SimulatedDLF, **extra: Any) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return {
        **sim.tap_config(auth="aksk"),
        "start_date": (end - timedelta(days=10)).isoformat(),
        "end_date": end.isoformat(),
        "job_names": [OTHER, JOB],
        "window_days": 5,
        "page_size": 50,
        "max_requests_per_second": 500,
        "max_retries": 1,
        # Faults aimed at one job's own route: read per job (tests/test_instance_listing.py has
        # the same hostile bodies on the workspace listing's route).
        "instance_listing": "per_job",
        **extra,
    }


def expected_ids(sim: SimulatedDLF, config: dict[str, Any], job: str) -> set[int]:
    start = to_ms(datetime.fromisoformat(config["start_date"]))
    end = to_ms(datetime.fromisoformat(config["end_date"]))
    return {i.instance_id for i in sim.dataset.instances(job) if start <= i.plan_time < end}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def summary_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "Instances summary:" in line]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def assert_failed_cleanly(run: Any, *fragments: str) -> str:
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = error_lines(run.stderr)
    assert len(errors) == 1, run.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def assert_job_before_is_kept(run: Any, sim: SimulatedDLF, config: dict[str, Any]) -> None:
    """The job read before the failing one keeps its rows and its bookmark; the failing one's
    bookmark does not move."""
    bookmarks = run.bookmarks()
    assert bookmarks[OTHER]["replication_key_value"] == to_ms(datetime.fromisoformat(config["end_date"]))
    assert expected_ids(sim, config, OTHER) <= {r["instance_id"] for r in run.instances}
    assert bookmarks.get(JOB, {}).get("replication_key_value") is None


# --- item 5: a 200 that is not a page ---------------------------------------------------------


@pytest.mark.timeout(120)
def test_an_error_code_body_with_200_is_retried_then_fails_the_run_without_moving_the_bookmark(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults(
        [{"kind": "error_body", "error_code": "DLF.0001", "times": None, "path_contains": INSTANCES_OF}]
    )
    config = config_for(sim)

    run = tap(config)

    assert_failed_cleanly(run, f"/jobs/{JOB}/instances/detail", "after 2 attempts", "DLF.0001")
    assert_job_before_is_kept(run, sim, config)
    assert "Retrying instances" in run.stderr  # each window fetched ahead is retried once


def test_one_error_code_body_costs_one_retry_and_no_row(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "error_body", "times": 1, "path_contains": INSTANCES_OF}])
    config = config_for(sim)

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert {r["instance_id"] for r in run.instances if r["job_name"] == JOB} == expected_ids(sim, config, JOB)
    assert run.stderr.count("Retrying instances") == 1


BAD_PAGES = [
    pytest.param({"total": 5}, "has no `instances` list", id="no-instances"),
    pytest.param({"total": 2, "instances": None}, "not a list", id="instances-null"),
    pytest.param({"total": 2, "instances": {"a": 1}}, "not a list", id="instances-object"),
    pytest.param({"total": 2, "instances": [1, "x"]}, "`instances[0]` of type number", id="rows-not-objects"),
    pytest.param({"total": "many", "instances": []}, "`total` 'many'", id="total-string"),
    pytest.param({"total": -1, "instances": []}, "`total` '-1'", id="total-negative"),
    pytest.param({"total": True, "instances": []}, "`total` 'True'", id="total-boolean"),
    pytest.param([], "not a JSON object", id="array"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("body", "reason"), BAD_PAGES)
def test_a_body_that_is_not_a_page_fails_the_run_naming_what_is_wrong(make_sim, tap, body, reason):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "body", "body": body, "times": None, "path_contains": INSTANCES_OF}])
    config = config_for(sim)

    run = tap(config)

    assert_failed_cleanly(run, f"/jobs/{JOB}/instances/detail", reason)
    assert_job_before_is_kept(run, sim, config)


@pytest.mark.timeout(120)
def test_a_jobs_list_that_is_not_a_page_fails_the_run(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "body", "body": {"total": 3, "data": []}, "times": None}])
    config = config_for(sim)
    del config["job_names"]

    run = tap(config)

    assert_failed_cleanly(run, "/factory/jobs", "has no `jobs` list")
    assert run.instances == []


def test_rows_without_an_integer_instance_id_or_plan_time_are_warned_about_and_counted(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    rows = [
        {"job_name": JOB, "plan_time": 1, "status": "success"},
        {"job_name": JOB, "instance_id": "abc", "plan_time": 1, "status": "success"},
        {"job_name": JOB, "instance_id": 7, "plan_time": 1.5, "status": "success"},
    ]
    sim.set_faults([{"kind": "body", "body": {"total": 3, "instances": rows}, "path_contains": INSTANCES_OF}])
    config = config_for(sim, job_names=[JOB])

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count(f"Skipped a row of job '{JOB}'") == 3
    line = summary_line(run.stderr)
    assert "WARNING" in line
    assert "3 rows dropped" in line


# --- item 9: pages that add nothing ------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("total", [None, 10**9], ids=["no-total", "huge-total"])
@pytest.mark.parametrize("offset_mode", ["page", "row", "auto"])
def test_a_server_repeating_its_first_page_is_stopped_naming_job_window_and_offset_mode(
    make_sim, tap, total, offset_mode
):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "repeat", "total": total, "times": None, "path_contains": INSTANCES_OF}])
    config = config_for(sim, offset_mode=offset_mode)

    run = tap(config, timeout=60)

    error = assert_failed_cleanly(run, f"job '{JOB}'", "window [", "`offset_mode`")
    assert re.search(r"`offset_mode` (page|row)", error), error
    # Bounded: the other job's pages, and for each of this job's windows its first page, the
    # pages that brought nothing and those already in flight (up to max_workers) when the stop
    # came; a paging that never ends would send thousands.
    assert sim.stats()["requests_per_route"]["instances"] < 40
    assert_job_before_is_kept(run, sim, config)


# --- item 7: total and pages disagree; the run summary ------------------------------------------


def test_an_empty_page_before_total_is_warned_about_counted_and_read_again_next_sync(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    # The second request for the job: the second page of its first window.
    sim.set_faults([{"kind": "short", "every": 2, "times": 1, "path_contains": INSTANCES_OF}])
    config = config_for(sim, offset_mode="page")

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    warnings = [line for line in run.stderr.splitlines() if "an empty page came before the end" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert f"Instances of job '{JOB}', window [" in warnings[0]
    line = summary_line(run.stderr)
    assert "WARNING" in line
    assert "1 windows where total and pages disagreed" in line
    # The rows the empty page hid are not lost: the next sync reads that window again.
    first = {r["instance_id"] for r in run.instances if r["job_name"] == JOB}
    wanted = expected_ids(sim, config, JOB)
    assert wanted - first
    sim.set_faults([])
    again = tap({**config, "lookback_window_hours": 0}, state=run.last_state)
    assert again.returncode == 0, again.stderr[-3000:]
    assert wanted <= first | {r["instance_id"] for r in again.instances if r["job_name"] == JOB}


def test_a_clean_run_ends_with_one_info_summary(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = config_for(sim, offset_mode="page")

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    line = summary_line(run.stderr)
    assert "INFO" in line
    requests = sim.stats()["requests_per_route"]["instances"]
    assert (
        f"2 jobs read, {len(run.instances)} instances emitted, 4 windows, {requests} requests, "
        "0 read again unchanged and not emitted; "
        "anomalies: 0 windows where total and pages disagreed, 0 rows dropped, 0 jobs missing." in line
    )


def test_a_missing_job_is_counted_in_the_summary(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    run = tap(config_for(sim, job_names=["no_such_job", OTHER]))
    assert run.returncode == 0, run.stderr[-3000:]
    line = summary_line(run.stderr)
    assert "WARNING" in line
    assert "1 jobs read" in line
    assert "1 jobs missing" in line


# --- item 13: no jobs to read -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["empty-workspace", "empty-shard"])
def test_no_jobs_to_read_is_a_clean_run(make_sim, tap, how):
    sim = make_sim(rate_limit_per_user=None)
    config = config_for(sim)
    if how == "empty-workspace":
        del config["job_names"]
        # The jobs list only: the alarm-info route answers as it does.
        sim.set_faults(
            [
                {
                    "kind": "body",
                    "body": {"total": 0, "jobs": []},
                    "times": None,
                    "path_contains": "/factory/jobs",
                }
            ]
        )
    else:  # one job, and a shard it is not in
        config.update(job_names=[JOB], shard_count=2, shard_index=1 - _shard(JOB))

    run = tap(config)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "No jobs to read instances of" in run.stderr
    assert run.instances == []
    assert "0 jobs read" in summary_line(run.stderr)


def _shard(job: str) -> int:
    return shard_of(job, 2)
