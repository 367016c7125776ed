"""Huawei's DLF V1 SDK (``huaweicloudsdkdlf`` 3.1.219, test-only) as the oracle of the simulator's
V1 routes and of the ``instance_nodes`` stream: ``ShowJobInstance`` and ``ShowJob`` bodies are
checked key by key against the SDK's models (``model_problems`` of test_sdk_oracle), and the SDK's
own ``DlfClient`` reads the node runs the tap emits.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from dlf_simulator import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    DEMO_TOKEN,
    REAL_TIME_JOB,
    REAL_TIME_NODES,
    SimulatedDLF,
)
from huaweicloudsdkdlf.v1 import DlfClient, ShowJobInstanceRequest, ShowJobRequest
from test_sdk_oracle import MAY_OMIT, model_problems, oracle_client

V1_MODELS = importlib.import_module("huaweicloudsdkdlf.v1.model")

# Keys of the V1 models the docs say may be left out (wire names); the others must be sent.
MAY_OMIT.update(
    {
        # A running instance has no end nor duration yet (docs: endTime, executeTime optional).
        "ShowJobInstanceResponse": {"endTime", "executeTime"},
        # A node not started yet has no start; a running one no end nor duration.
        "NodeInstance": {"startTime", "endTime", "executeTime"},
        # The first node has no predecessor; conditions and triggers are per node type.
        "Node": {"preNodeNames", "condition", "eventTrigger", "cronTrigger"},
        "Schedule": {"cron", "event"},  # by scheType
        "Cron": {"dependJobs"},
    }
)


@pytest.fixture
def oracle_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


def v1_get(sim: SimulatedDLF, path: str) -> requests.Response:
    return requests.get(
        f"{sim.url}/v1/{DEMO_PROJECT_ID}{path}",
        headers={"X-Auth-Token": DEMO_TOKEN, "workspace": DEFAULT_WORKSPACE_ID},
        timeout=10,
    )


def test_show_job_instance_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    seen: set[str] = set()
    statuses: set[str] = set()
    bodies = 0
    for job in oracle_sim.dataset.job_names():
        for instance in oracle_sim.dataset.instances(job)[-60:]:
            response = v1_get(oracle_sim, f"/jobs/{job}/instances/{instance.instance_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            assert model_problems(body, "ShowJobInstanceResponse", V1_MODELS) == [], (job, instance)
            assert body["total"] == len(body["nodes"])
            seen.update(key for node in body["nodes"] for key in node)
            statuses.update(node["status"] for node in body["nodes"])
            bodies += 1
    assert bodies > 200
    # Every key of the model occurs, and the omissions allowed do happen.
    assert seen == set(V1_MODELS.NodeInstance.attribute_map.values())
    assert {"success", "fail", "running", "waiting", "skip"} <= statuses


def test_show_job_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    for job in oracle_sim.dataset.list_jobs():
        response = v1_get(oracle_sim, f"/jobs/{job.name}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert model_problems(body, "ShowJobResponse", V1_MODELS) == [], job.name
        assert body["jobType"] == job.job_type
        assert body["nodes"]
    realtime = v1_get(oracle_sim, f"/jobs/{REAL_TIME_JOB}").json()
    assert [node["name"] for node in realtime["nodes"]] == list(REAL_TIME_NODES)


def test_v1_errors_have_the_error_code_and_msg_shape(oracle_sim: SimulatedDLF) -> None:
    missing_job = v1_get(oracle_sim, "/jobs/no_such_job")
    assert missing_job.status_code == 400
    assert missing_job.json() == {"error_code": "DLF.0100", "error_msg": "The job does not exists."}
    missing_instance = v1_get(oracle_sim, "/jobs/hourly_orders_etl/instances/1")
    assert missing_instance.status_code == 404
    assert set(missing_instance.json()) == {"error_code", "error_msg"}


def test_the_v1_model_check_has_teeth() -> None:
    node = {"nodeName": "n", "status": "success", "planTime": 1, "nodeType": "Shell", "retryTimes": 0}
    node |= {"instanceId": 1, "inputRowCount": 0, "outputRowCount": 0, "logPath": "p"}
    body = {
        "status": "success",
        "planTime": 1,
        "startTime": 1,
        "instancesId": "1",
        "total": 1,
        "nodes": [node],
    }
    assert model_problems(body, "ShowJobInstanceResponse", V1_MODELS) == []
    assert model_problems(body | {"jobName": "j"}, "ShowJobInstanceResponse", V1_MODELS) == [
        ".jobName: not in ShowJobInstanceResponse"
    ]
    del node["logPath"]
    assert model_problems(body, "ShowJobInstanceResponse", V1_MODELS) == [
        ".nodes[0].logPath: in NodeInstance and documented as returned, but left out"
    ]


# --- the SDK's own client against the simulator -------------------------------------------


def dlf_client(sim: SimulatedDLF) -> DlfClient:
    client: DlfClient = oracle_client(DlfClient, sim)
    return client


@pytest.mark.timeout(240)
def test_sdk_client_reads_the_node_runs_the_tap_emits(
    oracle_sim: SimulatedDLF, tap: Callable[..., Any], tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    config = oracle_sim.tap_config() | {"start_date": start.isoformat(), "max_requests_per_second": 200}
    catalog = json.loads(tap(config, args=("--discover",)).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if stream["tap_stream_id"] == "instance_nodes" and entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    run = tap(config, args=("--catalog", str(tmp_path / "catalog.json")))
    assert run.returncode == 0, run.stderr[-2000:]
    ours: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in run.records["instance_nodes"]:
        ours.setdefault((row["job_name"], row["instance_id"]), []).append(row)
    assert len(ours) > 50

    client = dlf_client(oracle_sim)
    for (job, instance_id), rows in ours.items():
        request = ShowJobInstanceRequest(
            workspace=DEFAULT_WORKSPACE_ID, job_name=job, instance_id=str(instance_id)
        )
        theirs = client.show_job_instance(request)
        assert theirs.instances_id == str(instance_id)
        sdk_nodes = [{k: v for k, v in node.to_dict().items() if v is not None} for node in theirs.nodes]
        tap_nodes = [
            {
                k: v
                for k, v in row.items()
                if v is not None and k not in ("project_id", "workspace", "job_name")
            }
            for row in rows
        ]
        assert tap_nodes == sdk_nodes, (job, instance_id)

    # ShowJob, as the SDK reads it, gives the sub-jobs the tap read without configuration.
    detail = client.show_job(ShowJobRequest(workspace=DEFAULT_WORKSPACE_ID, job_name=REAL_TIME_JOB))
    sub_jobs = {f"{REAL_TIME_JOB}_{node.name}" for node in detail.nodes}
    assert sub_jobs == {row["job_name"] for row in run.instances if row["job_name"].startswith(REAL_TIME_JOB)}
