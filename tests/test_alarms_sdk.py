"""Huawei's SDK as the oracle of the alarm-info route (``ListFactoryAlarmInfo``): the simulator
answers as ``ListFactoryAlarmInfoResponse`` models it, and the SDK's own client reads the same
alarms as the tap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlf_simulator import DEFAULT_WORKSPACE_ID, DEMO_PROJECT_ID, DEMO_TOKEN, SimulatedDLF
from huaweicloudsdkdataartsstudio.v1 import DataArtsStudioClient, ListFactoryAlarmInfoRequest
from test_sdk_oracle import DLF_MODELS, api_get, model_problems, sdk_client, sdk_query_names, wire

from tap_dlf_instances.streams.alarms import AlarmsStream
from tap_dlf_instances.tap import TapDLFInstances
from tap_dlf_instances.windows import Window

DAY_MS = 86_400_000
KEY = ("job_name", "plan_time", "alarm_time", "remind_type")


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@pytest.fixture
def oracle_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


def test_alarm_info_is_what_the_sdk_models(oracle_sim: SimulatedDLF) -> None:
    now = _now_ms()
    seen: set[str] = set()
    rows = 0
    for days_back in (30, 60, 90):
        body = api_get(
            oracle_sim,
            "/alarm-info",
            start_time=now - days_back * DAY_MS,
            end_time=now - (days_back - 30) * DAY_MS,
            limit=1000,
        )
        assert model_problems(body, "ListFactoryAlarmInfoResponse", DLF_MODELS) == []
        rows += len(body["alarm_info"])
        seen.update(key for row in body["alarm_info"] for key in row)
    assert rows > 100
    # Every key of the model is sent (none is documented as optional).
    assert seen == set(DLF_MODELS.AlarmInfoResponseAlarmInfo.attribute_map.values())


def test_the_alarm_model_check_fails_on_unknown_and_missing_keys() -> None:
    row = {
        "alarm_time": 2,
        "job_name": "j",
        "schedule_type": 0,
        "send_msg": "m",
        "plan_time": 1,
        "remind_type": 1,
        "send_status": 0,
        "job_id": 7,
    }
    assert model_problems({"alarm_info": [row], "total": 1}, "ListFactoryAlarmInfoResponse", DLF_MODELS) == []
    assert model_problems(
        {"alarm_info": [row | {"alarm_id": 1}], "total": 1}, "ListFactoryAlarmInfoResponse", DLF_MODELS
    ) == [".alarm_info[0].alarm_id: not in AlarmInfoResponseAlarmInfo"]
    del row["remind_type"]
    assert model_problems({"alarm_info": [row], "total": 1}, "ListFactoryAlarmInfoResponse", DLF_MODELS) == [
        ".alarm_info[0].remind_type: in AlarmInfoResponseAlarmInfo and documented as returned, but left out"
    ]


def test_without_bounds_the_route_answers_only_the_last_hour(oracle_sim: SimulatedDLF) -> None:
    """The SDK's documented default, simulated: a client that leaves out a bound gets a sliver."""
    now = _now_ms()
    last_hour = api_get(oracle_sim, "/alarm-info", limit=1000)
    assert all(now - 3_600_000 - 5_000 < row["alarm_time"] for row in last_hour["alarm_info"])
    month = api_get(oracle_sim, "/alarm-info", limit=1000, start_time=now - 30 * DAY_MS, end_time=now)
    assert month["total"] > last_hour["total"]


def test_the_alarm_stream_uses_the_sdks_query_names() -> None:
    config = {"project_id": DEMO_PROJECT_ID, "auth_token": DEMO_TOKEN, "api_url": "http://127.0.0.1:9"}
    stream = TapDLFInstances(config=config, parse_env_config=False).streams["alarms"]
    assert isinstance(stream, AlarmsStream)
    params = stream.get_url_params({"window": Window(1000, 2000)}, None)
    assert set(params) == sdk_query_names(
        DataArtsStudioClient._list_factory_alarm_info_http_info, ListFactoryAlarmInfoRequest(workspace="w")
    )
    assert (params["start_time"], params["end_time"]) == (999, 2000)


def sdk_alarms(client: DataArtsStudioClient, start_ms: int, end_ms: int) -> Iterator[dict[str, Any]]:
    """Every alarm sent in ``[start_ms, end_ms)``, paged as Huawei's Terraform provider pages
    this route (``offset`` a row offset: the simulator's reading here)."""
    offset = 0
    while True:
        request = ListFactoryAlarmInfoRequest(
            workspace=DEFAULT_WORKSPACE_ID, start_time=start_ms - 1, end_time=end_ms, offset=offset, limit=50
        )
        response = client.list_factory_alarm_info(request)
        for alarm in response.alarm_info:
            yield wire(alarm)
        offset += len(response.alarm_info)
        if not response.alarm_info or offset >= response.total:
            return


@pytest.mark.timeout(180)
def test_sdk_client_reads_the_same_alarms_as_the_tap(
    oracle_sim: SimulatedDLF, tap: Callable[..., Any]
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=60), today
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    config = oracle_sim.tap_config() | {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "max_requests_per_second": 50,
        "page_size": 20,  # several pages per window
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert "not found in catalog schema" not in run.stderr
    ours = {tuple(row[k] for k in KEY): row for row in run.records["alarms"]}
    client = sdk_client(oracle_sim)
    theirs: dict[tuple[Any, ...], dict[str, Any]] = {}
    for month_start in range(start_ms, end_ms, 30 * DAY_MS - 1):
        for row in sdk_alarms(client, month_start, min(month_start + 30 * DAY_MS - 1, end_ms)):
            theirs[tuple(row[k] for k in KEY)] = row
    assert len(theirs) > 100
    assert ours.keys() == theirs.keys()
    for key, sdk_row in theirs.items():
        tap_row = {
            k: v for k, v in ours[key].items() if v is not None and k not in ("project_id", "workspace")
        }
        assert tap_row == sdk_row, key
    schema_keys = set(run.schemas["alarms"]["schema"]["properties"])
    assert set(DLF_MODELS.AlarmInfoResponseAlarmInfo.attribute_map.values()) <= schema_keys
    print(f"{len(theirs)} alarms identical to the SDK client's")
