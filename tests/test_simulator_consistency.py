"""The simulator's data agrees with itself where the node runs depend on it: a run does not
start before it was submitted, and an instance's node runs lie inside its own run."""

from __future__ import annotations

import pytest
from dlf_simulator import REAL_TIME_JOB, SimulatedDLF, demo_dataset


def test_runs_added_as_time_passes_start_after_they_were_submitted() -> None:
    """A late manual run (instance_type 2) used to start right after its plan time, hours before
    it was submitted: it ended before a sync that could not have seen it."""
    sim = SimulatedDLF(demo_dataset())
    added = 0
    for _ in range(6):
        result = sim.advance()
        for iid in result["added_ids"]:
            instance = sim.dataset.get_instance(iid)
            assert instance is not None
            assert instance.start_time >= instance.submit_time, instance
            added += 1
    assert added > 10


def test_node_runs_lie_inside_their_instance() -> None:
    v1 = pytest.importorskip("dlf_simulator.v1")  # (a module of this change)
    job_nodes, node_runs = v1.job_nodes, v1.node_runs
    dataset = demo_dataset()
    now = max(inst.plan_time for inst in dataset.instances("hourly_orders_etl")) + 60_000
    for job in ["hourly_orders_etl", "daily_sales_report", f"{REAL_TIME_JOB}_kafka_ingest"]:
        nodes = job_nodes(dataset, dataset.default_workspace, job)
        assert nodes
        for instance in dataset.instances(job):
            runs = node_runs(dataset.project_id, instance, nodes, now_ms=now)
            assert [run["nodeName"] for run in runs] == [name for name, _ in nodes]
            statuses = [run["status"] for run in runs]
            for run in runs:
                assert run["planTime"] == instance.plan_time
                if "startTime" in run:
                    assert instance.start_time <= run["startTime"]
                    if instance.end_time is not None:
                        assert run.get("endTime", run["startTime"]) <= instance.end_time
            if instance.status == "fail":
                assert "fail" in statuses
            if instance.status in ("running", "running-exception"):
                assert "running" in statuses
            if instance.status == "success":
                assert set(statuses) == {"success"}
