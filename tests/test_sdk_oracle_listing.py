"""Huawei's DGC SDK (``huaweicloudsdkdgc`` 3.1.219, test-only; DGC is the old name of DataArts
Studio) as the oracle of the workspace-wide listing, DLF V1 ``ListJobInstances``: the
simulator's rows are what ``JobInstance`` models, key by key, and the SDK's own ``DgcClient``,
pointed at the simulator, reads the very rows the tap emits in the workspace mode.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from dlf_simulator import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    DEMO_TOKEN,
    SimulatedDLF,
)
from huaweicloudsdkdgc.v1 import DgcClient, ListJobInstancesRequest
from test_sdk_oracle import LOOSE_TYPES, MAY_OMIT, model_problems, oracle_client

DGC_MODELS = importlib.import_module("huaweicloudsdkdgc.v1.model")
# The V2 model has the same name: its wire names (snake_case) are added to, not replaced. As
# in V2: an open run has no end nor duration, and some rows in the wild lack the ID, version
# and flags; only failed runs carry a message; ``executeTime`` has fractions at times (0.3).
MAY_OMIT["JobInstance"] = MAY_OMIT.get("JobInstance", set()) | {
    "endTime",
    "executeTime",
    "jobId",
    "version",
    "forceSuccess",
    "ignoreSuccess",
    "errorMessage",
}
LOOSE_TYPES.add(("JobInstance", "executeTime"))
DAY_MS = 86_400_000


@pytest.fixture
def oracle_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


def listing(sim: SimulatedDLF, **params: Any) -> requests.Response:
    return requests.get(
        f"{sim.url}/v1/{DEMO_PROJECT_ID}/jobs/instances/detail",
        params=params,
        headers={"X-Auth-Token": DEMO_TOKEN, "workspace": DEFAULT_WORKSPACE_ID},
        timeout=10,
    )


def test_the_listing_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    now = oracle_sim.now_ms()
    body = listing(oracle_sim, minPlanTime=now - 6 * DAY_MS, maxPlanTime=now, limit=1000).json()
    assert model_problems(body, "ListJobInstancesResponse", DGC_MODELS) == []
    rows = body["instances"]
    assert len(rows) > 100
    assert {row["jobName"] for row in rows} >= set(oracle_sim.dataset.job_names()) - {
        name
        for name in oracle_sim.dataset.job_names()
        if not oracle_sim.dataset.expected(name, now - 6 * DAY_MS, now)
    }
    # every failed run says why; the others do not
    failed = [row for row in rows if row["status"] == "fail"]
    assert failed
    assert all(row["errorMessage"] for row in failed)
    assert all("errorMessage" not in row for row in rows if row["status"] == "success")
    # newest first, across jobs
    assert [row["planTime"] for row in rows] == sorted((row["planTime"] for row in rows), reverse=True)


def test_the_listing_is_as_strict_as_the_contract_allows(make_sim: Callable[..., SimulatedDLF]) -> None:
    sim = make_sim(rate_limit_per_user=None, v1_max_span_days=3)
    now = sim.now_ms()
    refused = listing(sim, minPlanTime=now - 4 * DAY_MS, maxPlanTime=now)
    assert refused.status_code == 400
    assert "3 days" in refused.json()["error_msg"]
    assert listing(sim, minPlanTime=now - 2 * DAY_MS, maxPlanTime=now, limit=1001).status_code == 400
    # the bounds are strict: an instance planned exactly on either is left out
    instance = sim.dataset.instances("hourly_orders_etl")[-30]
    on_edge = listing(sim, minPlanTime=instance.plan_time, maxPlanTime=instance.plan_time + 1, limit=1000)
    assert instance.instance_id not in {row["instanceId"] for row in on_edge.json()["instances"]}
    inside = listing(sim, minPlanTime=instance.plan_time - 1, maxPlanTime=instance.plan_time + 1, limit=1000)
    assert instance.instance_id in {row["instanceId"] for row in inside.json()["instances"]}
    # offset is a page number by default (the docs' word)
    first = listing(sim, minPlanTime=now - 2 * DAY_MS, maxPlanTime=now, limit=5, offset=0).json()
    second = listing(sim, minPlanTime=now - 2 * DAY_MS, maxPlanTime=now, limit=5, offset=1).json()
    ids = [row["instanceId"] for row in first["instances"] + second["instances"]]
    assert len(set(ids)) == 10


def test_the_switch_turns_the_route_off(make_sim: Callable[..., SimulatedDLF]) -> None:
    sim = make_sim(rate_limit_per_user=None, v1_listing=False)
    answer = listing(sim)
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "APIGW.0101"


def dgc_client(sim: SimulatedDLF) -> DgcClient:
    client: DgcClient = oracle_client(DgcClient, sim)
    return client


@pytest.mark.timeout(240)
def test_sdk_client_reads_the_rows_the_tap_emits(oracle_sim: SimulatedDLF, tap: Callable[..., Any]) -> None:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    config = oracle_sim.tap_config() | {
        "start_date": start.isoformat(),
        "instance_listing": "workspace",
        "max_requests_per_second": 200,
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "read with the workspace listing" in run.stderr
    emitted = {r["instance_id"]: r for r in run.instances}

    client = dgc_client(oracle_sim)
    low, high = int(start.timestamp() * 1000) - 1, oracle_sim.now_ms()
    sdk_rows: dict[int, Any] = {}
    page = 0
    while True:
        request = ListJobInstancesRequest(
            workspace=DEFAULT_WORKSPACE_ID, min_plan_time=low, max_plan_time=high, limit=1000, offset=page
        )
        response = client.list_job_instances(request)
        sdk_rows.update({row.instance_id: row for row in response.instances})
        if (page + 1) * 1000 >= response.total:
            break
        page += 1
    batch_jobs = {job.name for job in oracle_sim.dataset.list_jobs() if job.job_type == "BATCH"}
    wanted = {iid: row for iid, row in sdk_rows.items() if row.job_name in batch_jobs}
    assert wanted
    assert {iid for iid, r in emitted.items() if r["job_name"] in batch_jobs} == set(wanted)
    for iid, row in wanted.items():
        record = emitted[iid]
        assert record["job_name"] == row.job_name
        assert record["status"] == row.status
        assert record["plan_time"] == row.plan_time
        assert record["end_time"] == row.end_time
        assert record["error_message"] == row.error_message
    assert any(record["error_message"] for record in emitted.values())
