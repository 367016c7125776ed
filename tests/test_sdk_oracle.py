"""Huawei's own SDK as the oracle: the simulator must speak the API as the SDK models it, and the
tap must read what the SDK's own client reads.

Test-only: ``huaweicloudsdkdataartsstudio`` / ``huaweicloudsdkiam`` (3.1.219) are dev extras and
are never imported by ``tap_dlf_instances``. The SDK's deserializer silently drops keys its model
does not know and leaves absent ones at ``None``, so the key check below walks the models'
``openapi_types``/``attribute_map`` by hand, strictly.

Routes covered: the instances list (``ListFactoryJobInstancesByName``), the jobs list
(``ListFactoryJobs``) and the IAM password login (``KeystoneCreateUserTokenByPassword``). The
simulator's one-job route (``GET /v2/{project_id}/factory/jobs/{job_name}``, the real-time job's
nodes) has no model in these SDKs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
import requests
from dlf_simulator import (
    DEFAULT_WORKSPACE_ID,
    DEMO_ACCESS_KEY,
    DEMO_PROJECT_ID,
    DEMO_SECRET_KEY,
    DEMO_TOKEN,
    REAL_TIME_JOB,
    REAL_TIME_NODES,
    SECOND_WORKSPACE_ID,
    SimulatedDLF,
    demo_dataset,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.utils import http_utils
from huaweicloudsdkdataartsstudio.v1 import (
    DataArtsStudioClient,
    ListFactoryJobInstancesByNameRequest,
    ListFactoryJobsRequest,
)
from test_simulator import iam_login

from tap_dlf_instances.streams.instances import InstancesStream
from tap_dlf_instances.streams.jobs import JobsStream
from tap_dlf_instances.tap import TapDLFInstances
from tap_dlf_instances.windows import Window

DLF_MODELS = importlib.import_module("huaweicloudsdkdataartsstudio.v1.model")
IAM_MODELS = importlib.import_module("huaweicloudsdkiam.v3.model")
DAY_MS = 86_400_000

# Keys a model has that the docs say may be left out (all others must be sent).
MAY_OMIT: dict[str, set[str]] = {
    # A running instance has no end nor duration yet; job_id, version and the flags are
    # missing from some rows in the wild (the contract's Table 4 notes).
    "JobInstance": {"end_time", "execute_time", "job_id", "version", "force_success", "ignore_success"},
    # No instance yet; Flink and single-node jobs only; no next run when not scheduling;
    # alarms only with need_alarms=true.
    "JobResultV2": {
        "last_instance_status",
        "last_instance_end_time",
        "flink_job_info",
        "single_node_job_type",
        "next_plan_time",
        "alarms",
    },
    # Scoped to a project, not a domain; the catalog may be left out (nocatalog).
    "TokenResult": {"domain", "catalog"},
}
# (model, key) whose wire value differs from the SDK's type on purpose: the API sends 0.3.
LOOSE_TYPES = {("JobInstance", "execute_time")}

PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),
}


def model_problems(data: Any, type_name: str, models: ModuleType, where: str = "") -> list[str]:
    """Every way ``data`` strays from the SDK type ``type_name``: unknown keys, keys missing that
    the docs say are sent, values of another type. Empty when the wire matches the model."""
    if data is None:
        return []
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(data, list):
            return [f"{where}: a list expected, got {type(data).__name__}"]
        return [
            p for i, item in enumerate(data) for p in model_problems(item, match[1], models, f"{where}[{i}]")
        ]
    if type_name in PRIMITIVES:
        ok = isinstance(data, PRIMITIVES[type_name]) and not (type_name == "int" and isinstance(data, bool))
        return [] if ok else [f"{where}: {type_name} expected, got {data!r}"]
    model = getattr(models, type_name)
    if not isinstance(data, dict):
        return [f"{where}: a {type_name} object expected, got {type(data).__name__}"]
    wire_to_attr = {wire: attr for attr, wire in model.attribute_map.items() if "-" not in wire}
    problems = [f"{where}.{key}: not in {type_name}" for key in data if key not in wire_to_attr]
    for wire, attr in wire_to_attr.items():
        if wire not in data:
            if wire not in MAY_OMIT.get(type_name, set()):
                problems.append(f"{where}.{wire}: in {type_name} and documented as returned, but left out")
        elif (type_name, wire) not in LOOSE_TYPES:
            problems += model_problems(data[wire], model.openapi_types[attr], models, f"{where}.{wire}")
    return problems


def api_get(sim: SimulatedDLF, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(
        f"{sim.url}/v2/{DEMO_PROJECT_ID}/factory{path}",
        params=params,
        headers={"X-Auth-Token": DEMO_TOKEN, "workspace": DEFAULT_WORKSPACE_ID},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def oracle_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


def test_instances_list_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    now = _now_ms()
    rows = 0
    seen: set[str] = set()
    for job in oracle_sim.dataset.job_names():
        body = api_get(
            oracle_sim,
            f"/jobs/{job}/instances/detail",
            limit=1000,
            min_plan_time=now - 30 * DAY_MS,
            max_plan_time=now,
        )
        assert model_problems(body, "ListFactoryJobInstancesByNameResponse", DLF_MODELS) == []
        rows += len(body["instances"])
        seen.update(key for row in body["instances"] for key in row)
    assert rows > 100
    # The check has teeth: the omissions it allows do occur, and every model key occurs somewhere.
    assert seen == set(DLF_MODELS.JobInstance.attribute_map.values())


def test_jobs_list_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    with_alarms = api_get(oracle_sim, "/jobs", limit=100, need_alarms="true")
    assert model_problems(with_alarms, "ListFactoryJobsResponse", DLF_MODELS) == []
    assert with_alarms["total"] == len(with_alarms["jobs"]) >= 5
    assert all("alarms" in job for job in with_alarms["jobs"])
    assert any(job["alarms"] for job in with_alarms["jobs"])
    without = api_get(oracle_sim, "/jobs", limit=100)
    assert model_problems(without, "ListFactoryJobsResponse", DLF_MODELS) == []
    assert not any("alarms" in job for job in without["jobs"])


def test_jobs_rows_agree_with_themselves(oracle_sim: SimulatedDLF) -> None:
    """next_plan_time follows the latest instance, also once time passed (late manual runs,
    new runs); the schedule runs from start to end; alarms are JobAlarm objects."""
    for moment in ("now", "after advance"):
        if moment == "after advance":
            oracle_sim.advance()
        jobs = api_get(oracle_sim, "/jobs", limit=100, need_alarms="true")["jobs"]
        batch = [job for job in jobs if job["job_type"] == "BATCH"]
        assert batch
        assert all("next_plan_time" in job for job in batch), moment
        for job in batch:
            latest = max(inst.plan_time for inst in oracle_sim.dataset.instances(job["name"]))
            assert int(job["next_plan_time"]) > latest, (moment, job["name"])
            assert job["create_time"] <= job["start_time"] < job["end_time"]
            assert all(set(alarm) == {"alarmType", "topicUrn"} for alarm in job["alarms"])
        realtime = next(job for job in jobs if job["name"] == REAL_TIME_JOB)
        assert "next_plan_time" not in realtime


def test_iam_login_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    response = iam_login(oracle_sim.url, DEMO_PROJECT_ID)
    assert response.status_code == 201
    assert model_problems(response.json(), "KeystoneCreateUserTokenByPasswordResponse", IAM_MODELS) == []
    assert response.headers["X-Subject-Token"]  # the model's header attribute


def test_the_model_check_has_teeth() -> None:
    row = {"job_name": "j", "status": "success", "plan_time": 1, "start_time": 1, "instance_id": 1}
    row |= {"submit_time": 1, "instance_type": 0, "job_instance_name": "j"}
    assert (
        model_problems({"total": 1, "instances": [row]}, "ListFactoryJobInstancesByNameResponse", DLF_MODELS)
        == []
    )
    assert model_problems(
        {"total": 1, "instances": [row | {"extra": 1}]}, "ListFactoryJobInstancesByNameResponse", DLF_MODELS
    ) == [".instances[0].extra: not in JobInstance"]
    del row["submit_time"]
    assert model_problems(
        {"total": 1, "instances": [row]}, "ListFactoryJobInstancesByNameResponse", DLF_MODELS
    ) == [".instances[0].submit_time: in JobInstance and documented as returned, but left out"]
    alarm = {"alarmType": "FAILURE", "topic_urn": "urn"}
    assert model_problems([alarm], "list[JobAlarm]", DLF_MODELS) == [
        "[0].topic_urn: not in JobAlarm",
        "[0].topicUrn: in JobAlarm and documented as returned, but left out",
    ]


# --- the SDK's own client against the simulator --------------------------------------------


def oracle_client(client_class: Any, sim: SimulatedDLF) -> Any:
    """A client of one of Huawei's SDKs (``DataArtsStudioClient``, ``DlfClient``, ``DgcClient``):
    AK/SK signing as the SDK does it; the endpoint is the simulator's plain http URL."""
    credentials = BasicCredentials(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_PROJECT_ID)
    builder = client_class.new_builder().with_http_config(HttpConfig.get_default_config())
    return builder.with_credentials(credentials).with_endpoint(sim.url).build()


def sdk_client(sim: SimulatedDLF) -> DataArtsStudioClient:
    client: DataArtsStudioClient = oracle_client(DataArtsStudioClient, sim)
    return client


def wire(model: Any) -> dict[str, Any]:
    """A parsed SDK model back in the API's field names, without the keys it left unset."""
    data: dict[str, Any] = http_utils.sanitize_for_serialization(model)
    return {key: value for key, value in data.items() if value is not None}


def sdk_instances(
    client: DataArtsStudioClient, job: str, start_ms: int, end_ms: int
) -> Iterator[dict[str, Any]]:
    """Every instance of ``job`` planned in ``[start_ms, end_ms)``, paged as the SDK documents
    ``offset`` (a page index: the simulator's default reading)."""
    offset = 0
    while True:
        request = ListFactoryJobInstancesByNameRequest(
            workspace=DEFAULT_WORKSPACE_ID,
            job_name=job,
            limit=100,
            offset=offset,
            min_plan_time=start_ms - 1,
            max_plan_time=end_ms,
        )
        response = client.list_factory_job_instances_by_name(request)
        for instance in response.instances:
            yield wire(instance)
        offset += 1
        if offset * 100 >= response.total:
            return


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@pytest.mark.timeout(180)
def test_sdk_client_reads_the_same_instances_as_the_tap(
    oracle_sim: SimulatedDLF, tap: Callable[..., Any]
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=20), today
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    config = oracle_sim.tap_config() | {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "max_requests_per_second": 50,
        "realtime_job_nodes": {REAL_TIME_JOB: list(REAL_TIME_NODES)},
        "instance_listing": "per_job",  # the V2 route, as this SDK reads it (error_message: null)
    }
    run = tap(config, args=())
    assert run.returncode == 0, run.stderr
    ours = {(row["job_name"], row["instance_id"]): row for row in run.instances}

    client = sdk_client(oracle_sim)
    jobs = wire(client.list_factory_jobs(ListFactoryJobsRequest(workspace=DEFAULT_WORKSPACE_ID, limit=100)))
    names = [job["name"] for job in jobs["jobs"] if job["job_type"] == "BATCH"]
    names += [f"{REAL_TIME_JOB}_{node}" for node in REAL_TIME_NODES]  # sub-jobs: <job>_<node>
    theirs = {
        (row["job_name"], row["instance_id"]): row
        for job in names
        for row in sdk_instances(client, job, start_ms, end_ms)
    }

    assert len(theirs) > 1000
    assert ours.keys() == theirs.keys()
    fractional = 0
    for key, sdk_row in theirs.items():
        tap_row = {
            k: v for k, v in ours[key].items() if v is not None and k not in ("project_id", "workspace")
        }
        # The SDK casts execute_time to int (0.3 -> 0); the tap keeps the number the API sent.
        if "execute_time" in tap_row and tap_row["execute_time"] != sdk_row.get("execute_time"):
            assert int(tap_row["execute_time"]) == sdk_row["execute_time"]
            fractional += 1
            tap_row["execute_time"] = sdk_row["execute_time"]
        assert tap_row == sdk_row, key
    print(
        f"{len(theirs)} rows identical to the SDK's, {fractional} differing only by execute_time's fraction"
    )


@pytest.mark.timeout(120)
def test_sdk_client_reads_the_same_jobs_as_the_tap(oracle_sim: SimulatedDLF, tap: Callable[..., Any]) -> None:
    """The jobs stream carries every field of JobResultV2, alarms included, and no warnings."""
    config = oracle_sim.tap_config(workspace=DEFAULT_WORKSPACE_ID) | {"job_names": ["hourly_orders_etl"]}
    run = tap(config, args=())
    assert run.returncode == 0, run.stderr
    assert "not found in catalog schema" not in run.stderr
    ours = {row["name"]: row for row in run.records["jobs"]}
    client = sdk_client(oracle_sim)
    request = ListFactoryJobsRequest(workspace=DEFAULT_WORKSPACE_ID, limit=100, need_alarms=True)
    theirs = {row["name"]: row for row in wire(client.list_factory_jobs(request))["jobs"]}
    assert ours
    assert set(ours) <= set(theirs)
    for name, row in ours.items():
        assert {
            k: v for k, v in row.items() if v is not None and k not in ("project_id", "workspace")
        } == theirs[name]
    schema_keys = set(run.schemas["jobs"]["schema"]["properties"])
    assert set(DLF_MODELS.JobResultV2.attribute_map.values()) <= schema_keys


# --- the tap asks as the SDK asks --------------------------------------------------------


def sdk_query_names(method: Callable[[Any], dict[str, Any]], request: Any) -> set[str]:
    """The query parameter names the SDK's client builds for ``request`` (its ``_http_info``)."""
    return {name for name, _ in method(request)["query_params"]}


def test_the_tap_uses_the_sdks_query_names() -> None:
    config = {
        "project_id": DEMO_PROJECT_ID,
        "auth_token": DEMO_TOKEN,
        "api_url": "http://127.0.0.1:9",
        "status": "success",
        "instance_type": 5,
        "force_success": True,
        "ignore_success": False,
    }
    tap = TapDLFInstances(config=config, parse_env_config=False)
    jobs, instances = tap.streams["jobs"], tap.streams["instances"]
    assert isinstance(jobs, JobsStream)
    assert isinstance(instances, InstancesStream)
    jobs_params = jobs.get_url_params(None, None)
    assert jobs_params["need_alarms"] == "true"
    assert set(jobs_params) <= sdk_query_names(
        DataArtsStudioClient._list_factory_jobs_http_info, ListFactoryJobsRequest(workspace="w")
    )
    instance_params = instances.get_url_params({"window": Window(0, 1), "job_name": "j"}, None)
    assert set(instance_params) == sdk_query_names(
        DataArtsStudioClient._list_factory_job_instances_by_name_http_info,
        ListFactoryJobInstancesByNameRequest(workspace="w", job_name="j"),
    )


@pytest.mark.timeout(120)
def test_the_jobs_list_sends_the_configured_workspace(
    make_sim: Callable[..., SimulatedDLF], tap: Callable[..., Any]
) -> None:
    """The SDK marks ``workspace`` required on the jobs list: a gateway that insists gets it."""
    sim = make_sim(demo_dataset(second_workspace=True), require_workspace=True, rate_limit_per_user=None)
    run = tap(sim.tap_config(workspace=SECOND_WORKSPACE_ID), args=())
    assert run.returncode == 0, run.stderr
    assert {row["name"] for row in run.records["jobs"]} == {"ws2_daily_export"}
    assert {row["job_name"] for row in run.instances} == {"ws2_daily_export"}
