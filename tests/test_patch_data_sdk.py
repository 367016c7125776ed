"""Huawei's SDK as the oracle for the PatchData route (``ShowFactorySupplementData``): the
simulator's answers are what its response model has, key by key, and the SDK's own client reads
the same runs as the tap's ``patch_data`` stream (see test_sdk_oracle.py for the method)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dlf_simulator import DEFAULT_WORKSPACE_ID, DEMO_PROJECT_ID, DEMO_TOKEN, SimulatedDLF
from huaweicloudsdkdataartsstudio.v1 import DataArtsStudioClient, ShowFactorySupplementDataRequest
from test_sdk_oracle import DLF_MODELS, api_get, model_problems, sdk_client, sdk_query_names, wire

from tap_dlf_instances.streams.patch_data import PatchDataStream
from tap_dlf_instances.tap import TapDLFInstances

DAY_MS = 86_400_000
RESPONSE = "ShowFactorySupplementDataResponse"


@pytest.fixture
def patch_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    sim = make_sim(rate_limit_per_user=None)
    now = sim.now_ms()
    sim.patch(["hourly_orders_etl", "daily_sales_report"], now - 21 * DAY_MS, now - 20 * DAY_MS)
    sim.patch(["quarter_hour_sync"], now - 5 * DAY_MS, now - 4 * DAY_MS, status="RUNNING")
    sim.advance()  # late PatchData re-runs, each with its run
    return sim


def test_the_patchdata_list_is_what_the_sdk_models(patch_sim: SimulatedDLF) -> None:
    body = api_get(patch_sim, "/supplement-data", size=100)
    assert model_problems(body, RESPONSE, DLF_MODELS) == []
    assert body["total"] == len(body["rows"]) >= 6
    assert {row["status"] for row in body["rows"]} == {"SUCCESS", "RUNNING"}
    # Every key of the models occurs (none may be left out), nested ones included.
    assert {key for row in body["rows"] for key in row} == set(
        DLF_MODELS.SupplementDataRespRows.attribute_map.values()
    )
    paged = [api_get(patch_sim, "/supplement-data", size=4, page=page)["rows"] for page in range(3)]
    assert [row["name"] for page in paged for row in page] == [row["name"] for row in body["rows"]]
    dates = [row["submitted_date"] for row in body["rows"]]
    assert dates == sorted(dates, reverse=True)  # newest first by default


def test_every_patchdata_instance_belongs_to_its_run(patch_sim: SimulatedDLF) -> None:
    runs = api_get(patch_sim, "/supplement-data", size=100)["rows"]
    patched = 0
    for job in patch_sim.dataset.job_names():
        for inst in patch_sim.dataset.instances(job):
            if inst.instance_type == 5:
                patched += 1
                assert any(
                    job in run["job_list"]
                    and run["start_date"] <= inst.plan_time <= run["end_date"]
                    and run["submitted_date"] == inst.submit_time
                    for run in runs
                ), inst
    assert patched > 30


def test_the_model_check_has_teeth_for_patchdata() -> None:
    row = {
        "name": "p",
        "job_list": ["j"],
        "start_date": 1,
        "end_date": 2,
        "status": "SUCCESS",
        "submitted_date": 3,
        "parallel": 1,
        "type": 0,
        "user_name": "u",
        "supplement_data_instance_time": {"days": [], "time_of_day": ""},
        "supplement_data_run_time": {"time_of_day": "", "day_of_week": "", "day_of_month": ""},
    }
    body = {"total": 1, "rows": [row], "success": True, "msg": "success"}
    assert model_problems(body, RESPONSE, DLF_MODELS) == []
    assert model_problems(body | {"rows": [row | {"job_names": []}]}, RESPONSE, DLF_MODELS) == [
        ".rows[0].job_names: not in SupplementDataRespRows"
    ]
    del row["submitted_date"]
    assert model_problems(body, RESPONSE, DLF_MODELS) == [
        ".rows[0].submitted_date: in SupplementDataRespRows and documented as returned, but left out"
    ]
    row["submitted_date"] = "3"
    assert model_problems(body, RESPONSE, DLF_MODELS) == [".rows[0].submitted_date: int expected, got '3'"]


@pytest.mark.timeout(120)
def test_sdk_client_reads_the_same_patchdata_runs_as_the_tap(
    patch_sim: SimulatedDLF, tap: Callable[..., Any]
) -> None:
    client = sdk_client(patch_sim)
    theirs: dict[str, dict[str, Any]] = {}
    page = 0
    while True:
        request = ShowFactorySupplementDataRequest(workspace=DEFAULT_WORKSPACE_ID, page=str(page), size="3")
        response = client.show_factory_supplement_data(request)
        theirs.update({row.name: wire(row) for row in response.rows})
        page += 1
        if page * 3 >= response.total:
            break
    run = tap(
        # Runs submitted since start_date (30 days back): every run here, the oldest ten days old.
        patch_sim.tap_config() | {"job_names": ["hourly_orders_etl"], "lookback_window_hours": 1}
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "not found in catalog schema" not in run.stderr
    ours = {
        row["name"]: {k: v for k, v in row.items() if v is not None and k not in ("project_id", "workspace")}
        for row in run.records["patch_data"]
    }
    assert len(theirs) >= 6
    assert ours == theirs


def test_the_patchdata_stream_uses_the_sdks_query_names() -> None:
    config = {"project_id": DEMO_PROJECT_ID, "auth_token": DEMO_TOKEN, "api_url": "http://127.0.0.1:9"}
    stream = TapDLFInstances(config=config, parse_env_config=False).streams["patch_data"]
    assert isinstance(stream, PatchDataStream)
    params = stream.get_url_params(None, 2)
    assert params == {"sort": "desc", "page": 2, "size": 100}
    assert set(params) <= sdk_query_names(
        DataArtsStudioClient._show_factory_supplement_data_http_info,
        ShowFactorySupplementDataRequest(workspace="w"),
    )
