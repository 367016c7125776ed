"""The ``instance_nodes`` stream (DLF V1 ShowJobInstance) and real-time jobs found with ShowJob,
run for real against the simulator: selected or not, once per instance across syncs, running
instances only once final, deleted instances, hostile V1 bodies."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TapRun
from dlf_simulator import DEMO_PROJECT_ID, REAL_TIME_JOB, REAL_TIME_NODES, SimulatedDLF

from tap_dlf_instances.api.v1_client import node_rows
from tap_dlf_instances.node_runs import MARGIN_MS, NodeFetchMemory, NodeShaper

FINAL = {"success", "fail", "manual-stop", "skip-by-depend"}
#: The ShowJobInstance requests of one job (not its V2 listing, not ShowJob).
V1_INSTANCES = f"/v1/{DEMO_PROJECT_ID}/jobs/hourly_orders_etl/instances/"
Tap = Callable[..., TapRun]


@pytest.fixture
def fast_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


def config(sim: SimulatedDLF, days: int = 3, **extra: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    return sim.tap_config() | {"start_date": start.isoformat(), "max_requests_per_second": 200} | extra


def selecting_nodes(tap: Tap, sim: SimulatedDLF, tmp_path: Path) -> tuple[str, ...]:
    """``--catalog`` args of a catalog that selects instance_nodes (as --discover writes it)."""
    discovered = tap(config(sim), args=("--discover",))
    catalog = json.loads(discovered.stdout)
    for stream in catalog["streams"]:
        if stream["tap_stream_id"] == "instance_nodes":
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = True
    path = tmp_path / "catalog-nodes.json"
    path.write_text(json.dumps(catalog))
    return ("--catalog", str(path))


def v1_requests(sim: SimulatedDLF) -> int:
    return int(sim.stats()["requests_per_route"].get("v1_instance", 0))


def sync(tap: Tap, sim: SimulatedDLF, conf: dict[str, Any], args: tuple[str, ...], **kwargs: Any) -> TapRun:
    sim.reset_stats()
    run = tap(conf, args=args, **kwargs)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.timeout(120)
def test_not_selected_by_default_sends_no_node_request(fast_sim: SimulatedDLF, tap: Tap) -> None:
    run = sync(tap, fast_sim, config(fast_sim), ())
    assert run.instances
    assert "instance_nodes" not in run.records
    assert "instance_nodes" not in run.schemas
    assert v1_requests(fast_sim) == 0


@pytest.mark.timeout(180)
def test_selected_gives_each_final_instance_its_node_runs(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    run = sync(tap, fast_sim, config(fast_sim), selecting_nodes(tap, fast_sim, tmp_path))
    nodes = run.records["instance_nodes"]
    instances = {(row["job_name"], row["instance_id"]): row for row in run.instances}
    final = {key for key, row in instances.items() if row["status"] in FINAL}
    fetched = {(row["job_name"], row["instance_id"]) for row in nodes}
    assert fetched == final  # every final instance, no open one
    assert v1_requests(fast_sim) == len(final)  # one request each
    keys = [(r["project_id"], r["workspace"], r["job_name"], r["instance_id"], r["node_name"]) for r in nodes]
    assert len(keys) == len(set(keys))
    schema = run.schemas["instance_nodes"]
    assert schema["key_properties"] == ["project_id", "workspace", "job_name", "instance_id", "node_name"]
    for row in nodes:
        instance = instances[(row["job_name"], row["instance_id"])]
        assert row["plan_time"] == instance["plan_time"]
        if row["start_time"] is not None:
            assert (
                instance["start_time"] <= row["start_time"] <= (row["end_time"] or 0) <= instance["end_time"]
            )
    for key in final:
        statuses = {row["status"] for row in nodes if (row["job_name"], row["instance_id"]) == key}
        if instances[key]["status"] == "fail":
            assert "fail" in statuses
        if instances[key]["status"] == "success":
            assert statuses == {"success"}
    # Real-time sub-jobs have their one node; batch jobs the nodes ShowJob lists.
    sub_job = f"{REAL_TIME_JOB}_{REAL_TIME_NODES[0]}"
    assert {row["node_name"] for row in nodes if row["job_name"] == sub_job} == {REAL_TIME_NODES[0]}
    assert "node runs of" in run.stderr


@pytest.mark.timeout(240)
def test_each_instance_is_fetched_once_across_syncs(fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path) -> None:
    """A running instance is not fetched; once final, the next sync fetches it; nothing fetched
    before is asked again, though the lookback re-reads those instances."""
    args = selecting_nodes(tap, fast_sim, tmp_path)
    conf = config(fast_sim)
    first = sync(tap, fast_sim, conf, args)
    fetched_first = {(r["job_name"], r["instance_id"]) for r in first.records["instance_nodes"]}
    running = next(r for r in first.instances if r["status"] == "running")
    assert (running["job_name"], running["instance_id"]) not in fetched_first

    second = sync(tap, fast_sim, conf, args, state=first.last_state)
    assert second.instances  # the lookback read them again...
    assert v1_requests(fast_sim) == 0  # ...but asked nothing again
    assert "instance_nodes" not in second.records

    fast_sim.update_instance(running["instance_id"], status="fail", end_time=fast_sim.now_ms())
    advanced = fast_sim.advance()
    third = sync(tap, fast_sim, conf, args, state=second.last_state)
    fetched_third = {(r["job_name"], r["instance_id"]) for r in third.records["instance_nodes"]}
    assert (running["job_name"], running["instance_id"]) in fetched_third
    assert not fetched_third & fetched_first
    assert v1_requests(fast_sim) == len(fetched_third)
    final_now = {(r["job_name"], r["instance_id"]) for r in third.instances if r["status"] in FINAL}
    assert fetched_third == final_now - fetched_first  # the newly final ones, each once
    assert advanced["added_ids"] or advanced["updated_ids"]


@pytest.mark.timeout(120)
def test_a_deleted_instance_is_a_warning_not_a_stop(fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    fast_sim.set_faults(
        [
            {
                "kind": "status",
                "status": 404,
                "error_code": "DLF.1006",
                "path_contains": V1_INSTANCES,
                "times": 2,
            }
        ]
    )
    run = sync(tap, fast_sim, config(fast_sim, days=1), args)
    assert run.stderr.count("is gone (404 DLF.1006") == 2
    assert "2 instances gone (404)" in run.stderr
    final = {(r["job_name"], r["instance_id"]) for r in run.instances if r["status"] in FINAL}
    assert len({(r["job_name"], r["instance_id"]) for r in run.records["instance_nodes"]}) == len(final) - 2


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"error_code": "DLF.0001", "error_msg": "oops"}, "is an error"),
        ({"status": "success", "total": 1}, "has no `nodes` list"),
        ({"nodes": "none"}, "has no `nodes` list"),
        ({"nodes": [1, 2]}, "has `nodes` that are not objects"),
    ],
)
def test_a_200_that_is_no_instance_detail_is_retried_then_stops(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path, body: dict[str, Any], why: str
) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    fast_sim.set_faults([{"kind": "body", "body": body, "path_contains": V1_INSTANCES, "times": None}])
    # Per job, the jobs before the one whose node runs fail are bookmarked first (the workspace
    # listing's first window holds every job: nothing is complete before the failure there).
    run = tap(config(fast_sim, days=1, max_retries=1, instance_listing="per_job"), args=args)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "Gave up on GET /v1/" in last
    assert why in last
    assert "Traceback" not in run.stderr
    assert run.states  # what was read before is not lost


@pytest.mark.timeout(120)
def test_a_lying_200_once_is_retried(fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    fast_sim.set_faults([{"kind": "error_body", "path_contains": V1_INSTANCES, "times": 1}])
    run = sync(tap, fast_sim, config(fast_sim, days=1), args)
    final = {(r["job_name"], r["instance_id"]) for r in run.instances if r["status"] in FINAL}
    assert {(r["job_name"], r["instance_id"]) for r in run.records["instance_nodes"]} == final


@pytest.mark.timeout(120)
def test_node_values_of_the_wrong_type_are_left_out_and_counted(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    odd = {"nodes": [{"nodeName": "n", "planTime": "soon", "retryTimes": True}, {"status": "success"}]}
    fast_sim.set_faults([{"kind": "body", "body": odd, "path_contains": V1_INSTANCES, "times": 1}])
    run = sync(tap, fast_sim, config(fast_sim, days=1), args)
    odd_rows = [r for r in run.records["instance_nodes"] if r["node_name"] == "n"]
    assert len(odd_rows) == 1
    assert odd_rows[0]["plan_time"] is None
    assert odd_rows[0]["retry_times"] is None
    assert "1 nodes without a name dropped, 2 values of the wrong type left out" in run.stderr


# --- real-time jobs found with ShowJob ------------------------------------------------------


@pytest.mark.timeout(120)
def test_real_time_jobs_sub_jobs_are_found_without_configuration(fast_sim: SimulatedDLF, tap: Tap) -> None:
    run = sync(tap, fast_sim, config(fast_sim, days=2), ())
    jobs = {row["job_name"] for row in run.instances}
    assert {f"{REAL_TIME_JOB}_{node}" for node in REAL_TIME_NODES} <= jobs
    assert REAL_TIME_JOB not in jobs
    assert fast_sim.stats()["requests_per_route"].get("v1_job") == 1  # one ShowJob per real-time job


@pytest.mark.timeout(120)
def test_configured_real_time_nodes_win_over_show_job(fast_sim: SimulatedDLF, tap: Tap) -> None:
    conf = config(fast_sim, days=2, realtime_job_nodes={REAL_TIME_JOB: [REAL_TIME_NODES[0]]})
    run = sync(tap, fast_sim, conf, ())
    sub_jobs = {row["job_name"] for row in run.instances if row["job_name"].startswith(REAL_TIME_JOB)}
    assert sub_jobs == {f"{REAL_TIME_JOB}_{REAL_TIME_NODES[0]}"}
    assert "v1_job" not in fast_sim.stats()["requests_per_route"]


@pytest.mark.timeout(120)
def test_a_real_time_job_gone_from_show_job_is_skipped_with_a_warning(
    fast_sim: SimulatedDLF, tap: Tap
) -> None:
    fast_sim.set_faults(
        [
            {
                "kind": "status",
                "status": 400,
                "error_code": "DLF.0100",
                "path_contains": f"/v1/{fast_sim.dataset.project_id}/jobs/{REAL_TIME_JOB}",
            }
        ]
    )
    run = sync(tap, fast_sim, config(fast_sim, days=1), ())
    assert f"Real-time job '{REAL_TIME_JOB}' was not found by ShowJob" in run.stderr
    assert not any(row["job_name"].startswith(REAL_TIME_JOB) for row in run.instances)


# --- units nothing else reaches cheaply -----------------------------------------------------

LOG = logging.getLogger("test")


def test_memory_fetches_final_instances_that_ended_since_the_last_sync() -> None:
    started = 10 * MARGIN_MS
    stored = {"jobs": {"j": {"since": started - MARGIN_MS, "recent": [[7, started - MARGIN_MS - 1]]}}}
    memory = NodeFetchMemory(stored, sync_started_ms=started, logger=LOG)
    since = started - MARGIN_MS
    assert not memory.due("j", 1, "running", started)  # open: later
    assert not memory.due("j", 2, "success", since - MARGIN_MS - 1)  # ended before: fetched then
    assert memory.due("j", 3, "success", since - MARGIN_MS)  # within the margin: maybe not
    assert not memory.due("j", 7, "fail", started)  # fetched already (recent)
    assert memory.due("other", 1, "success", 0)  # a job never synced: everything final
    memory.fetched("j", 3, since - MARGIN_MS)
    memory.fetched("j", 4, started - 1)
    assert not memory.due("j", 3, "success", since)
    assert not memory.due("j", 5, "running", 0)
    done = memory.job_done("j")
    assert done == {"since": started, "recent": [[4, started - 1]], "open": [1, 5]}
    # Open at the last sync: due once final, even with an end time long before that sync.
    later = NodeFetchMemory({"jobs": {"j": done}}, sync_started_ms=started + 1, logger=LOG)
    assert later.due("j", 5, "success", 0)
    assert not later.due("j", 6, "success", 0)


@pytest.mark.parametrize(
    "stored",
    [
        {"jobs": {"j": {"recent": []}}},
        {"jobs": {"j": {"since": "x"}}},
        {"jobs": {"j": {"since": 1, "recent": 5}}},
    ],
)
def test_memory_of_another_shape_is_dropped_with_a_warning(
    stored: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    memory = NodeFetchMemory(stored, sync_started_ms=1000, logger=LOG)
    assert memory.due("j", 1, "success", 0)  # fetched again rather than lost
    assert "instance_nodes state of job 'j' is not usable" in caplog.text


def test_node_rows_and_shaper() -> None:
    assert node_rows({"nodes": []}) == []
    shaper = NodeShaper("p", None)
    record = shaper.record({"nodeName": "a", "executeTime": 0.5, "inputRowCount": 3}, "j", 9)
    assert record is not None
    assert record["workspace"] == "default"
    assert (record["execute_time"], record["input_row_count"], record["instance_id"]) == (0.5, 3, 9)


@pytest.mark.timeout(120)
def test_a_v1_error_echoing_the_credentials_shows_no_secret(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    fast_sim.set_faults([{"kind": "echo", "status": 500, "path_contains": V1_INSTANCES, "times": None}])
    conf = {k: v for k, v in config(fast_sim, days=1, max_retries=0).items() if "access_key" not in k}
    conf |= fast_sim.tap_config(auth="token")
    run = tap(conf, args=args)
    assert run.returncode == 1
    assert conf["auth_token"] not in run.stderr
    assert "Gave up on GET /v1/" in run.stderr.strip().splitlines()[-1]


@pytest.mark.timeout(120)
def test_a_v1_redirect_is_not_followed_and_names_v1_api_url(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    fast_sim.set_faults(
        [{"kind": "redirect", "location": "http://127.0.0.2:9/x", "path_contains": V1_INSTANCES}]
    )
    run = tap(config(fast_sim, days=1), args=args)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "`v1_api_url`" in last
    # Where it points (host only, as for the V2 API), never the whole Location.
    assert "redirect (302 to http://127.0.0.2:9)" in last
    assert "/x" not in last.split("redirect")[1]


@pytest.mark.timeout(120)
def test_a_pages_node_runs_are_fetched_in_parallel(
    make_sim: Callable[..., SimulatedDLF], tap: Tap, tmp_path: Path
) -> None:
    """One job, one window, one page: every request beyond one in flight is a node request."""
    sim = make_sim(rate_limit_per_user=None, latency_ms=100)
    args = selecting_nodes(tap, sim, tmp_path)
    run = sync(tap, sim, config(sim, days=1, job_names=["quarter_hour_sync"]), args)
    stats = sim.stats()
    routes = stats["requests_per_route"]
    assert routes.get("instances", 0) + routes.get("v1_instances", 0) == 1  # per job or listed
    assert (
        stats["requests_per_route"]["v1_instance"]
        == len({r["instance_id"] for r in run.records["instance_nodes"]})
        > 50
    )
    assert stats["peak_in_flight"] >= 3  # max_workers (4) at once, not one after the other


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"name": REAL_TIME_JOB}, "has no `nodes` list"),
        ({"nodes": [{"nodeType": "x"}]}, "has nodes without a `name`"),
    ],
)
def test_a_show_job_200_without_node_names_is_retried_then_stops(
    fast_sim: SimulatedDLF, tap: Tap, body: dict[str, Any], why: str
) -> None:
    path = f"/v1/{DEMO_PROJECT_ID}/jobs/{REAL_TIME_JOB}"
    fast_sim.set_faults([{"kind": "body", "body": body, "path_contains": path, "times": None}])
    run = tap(config(fast_sim, days=1, max_retries=1))
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert f"Gave up on GET {path}" in last
    assert why in last
    assert "Traceback" not in run.stderr


@pytest.mark.timeout(120)
def test_instance_nodes_alone_reads_the_instances_without_emitting_them(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    catalog = json.loads(Path(selecting_nodes(tap, fast_sim, tmp_path)[1]).read_text())
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if stream["tap_stream_id"] != "instance_nodes" and entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = False
    (tmp_path / "only-nodes.json").write_text(json.dumps(catalog))
    run = sync(tap, fast_sim, config(fast_sim, days=1), ("--catalog", str(tmp_path / "only-nodes.json")))
    assert set(run.records) == {"instance_nodes"}
    assert run.records["instance_nodes"]
    assert run.bookmarks()  # the instances' bookmarks still move, and the nodes' memory with them
    assert run.last_state["bookmarks"]["instance_nodes"]["nodes_fetched"]["jobs"]


@pytest.mark.timeout(180)
def test_instance_nodes_days_bounds_a_backfill_to_recent_instances(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    # Three days of instances, node runs only for those planned in the last day: the cost of a
    # backfill with node runs selected stays bounded.
    conf = config(fast_sim, instance_nodes_days=1)
    catalog = selecting_nodes(tap, fast_sim, tmp_path)
    before_ms = int(time.time() * 1000)
    run = sync(tap, fast_sim, conf, catalog)
    after_ms = int(time.time() * 1000)
    final = {(row["job_name"], row["instance_id"]): row for row in run.instances if row["status"] in FINAL}

    def planned_since(ms: int) -> set[tuple[str, int]]:
        return {key for key, row in final.items() if row["plan_time"] >= ms}

    # The day counts back from the sync's start, somewhere between before_ms and after_ms.
    must, may = planned_since(after_ms - 86_400_000), planned_since(before_ms - 86_400_000)
    assert must
    assert len(may) < len(final)
    fetched = {(row["job_name"], row["instance_id"]) for row in run.records["instance_nodes"]}
    assert must <= fetched <= may
    assert v1_requests(fast_sim) == len(fetched)


def test_instance_nodes_days_must_be_a_positive_number(fast_sim: SimulatedDLF, tap: Tap) -> None:
    run = tap(config(fast_sim, instance_nodes_days=0))
    assert run.returncode == 1
    assert "`instance_nodes_days`" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.timeout(120)
def test_an_unreachable_v1_endpoint_names_v1_api_url(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    run = tap(config(fast_sim, v1_api_url=closed), args=selecting_nodes(tap, fast_sim, tmp_path))
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert closed in last
    assert "`v1_api_url`" in last
    assert "`api_url`" not in last


@pytest.mark.timeout(300)
def test_a_long_node_run_fetch_says_so_and_reports_progress_with_the_time_left(
    fast_sim: SimulatedDLF, tap: Tap, tmp_path: Path
) -> None:
    args = selecting_nodes(tap, fast_sim, tmp_path)
    run = tap(config(fast_sim, days=10, max_requests_per_second=1000, max_workers=8), args=args)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    (summary,) = [line for line in lines if "instance_nodes: node runs of" in line and "node runs);" in line]
    fetched = int(re.search(r"node runs of (\d+) instances fetched", summary).group(1))  # type: ignore[union-attr]
    assert fetched >= 1000, "the dataset must need two progress lines"
    assert sum("instance_nodes is selected: one request per final instance" in line for line in lines) == 1
    progress = [line for line in lines if "instance_nodes: node runs of" in line and "a second" in line]
    assert len(progress) == fetched // 500, progress
    assert "node runs of 500 instances fetched in" in progress[0]
    assert all(
        re.search(r"\d+ of \d+ jobs read, (about .* left at this pace|the first job still being read)", line)
        for line in progress
    ), progress
