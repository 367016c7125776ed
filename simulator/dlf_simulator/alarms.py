"""``GET /v2/{project_id}/factory/alarm-info`` (the SDK's ``ListFactoryAlarmInfo``): the alarm
notifications sent for the workspace's job instances.

The alarms are derived from the instances at every request, so they agree with them whatever
happened since (``/_sim/advance``, instances added or updated): one failure alarm (remind_type 1)
for each ``fail`` instance and one cancellation alarm (13) for each ``manual-stop`` one, sent a
little after the instance ended (``alarm_time > end_time``) and only once that moment has come.

The contract at its harshest:

- ``start_time`` / ``end_time`` (ms) select by ``alarm_time``, both strict; a missing bound is
  the SDK's default, the last hour (``start_time`` one hour before now, ``end_time`` now), so a
  client that forgets one silently gets a sliver of the data.
- No span limit is documented; the simulator refuses more than the instances API's one month
  (``max_window_days``), the limit a client should expect of this API family.
- ``offset`` is read as a row offset by default (``alarm_offset_mode``): the docs call it the
  "start page", but Huawei's own Terraform provider pages the alarm records with
  ``offset += len(items)`` (docs/api-notes.md). The instances route reads it as a page index by default,
  so a client that learns the reading once for every route gets one of them wrong.
- ``limit`` 1 to 1000 (default 10); newest alarm first.
"""

from __future__ import annotations

from typing import Any

from dlf_simulator.api import (
    DAY_MS,
    BadRequestError,
    Reply,
    _int,
    _iso,
    _paging,
    parse_params,
)
from dlf_simulator.dataset import STATUSES, Dataset, InstanceTable

HOUR_MS = 3_600_000
#: remind_type of the SDK's AlarmInfoResponseAlarmInfo for the statuses that send an alarm.
REMIND_TYPES = {"fail": 1, "manual-stop": 13}
_STATUS_CODES = {STATUSES.index(status): remind for status, remind in REMIND_TYPES.items()}
_MESSAGES = {1: "failed", 13: "was cancelled"}


def alarm_time_of(instance_id: int, end_time: int) -> int:
    """When the notification went out: 20 to 110 s after the instance ended (deterministic)."""
    return end_time + 20_000 + (instance_id * 7919) % 90_000


def _alarms_of(table: InstanceTable, now_ms: int) -> list[dict[str, Any]]:
    """The alarms of one job's instances sent by ``now_ms``, as the API's rows (the SDK model's
    fields, in its order)."""
    rows = []
    for i, code in enumerate(table.status):
        remind_type = _STATUS_CODES.get(code)
        if remind_type is None or table.end[i] < 0:  # no end time yet: nothing sent
            continue
        iid = table.iid[i]
        alarm_time = alarm_time_of(iid, table.end[i])
        if alarm_time > now_ms:
            continue
        row: dict[str, Any] = {
            "alarm_time": alarm_time,
            "job_name": table.job_name,
            "schedule_type": table.itype[i],
            "send_msg": f"Job {table.job_name} instance planned at {_iso(table.plan[i])} "
            f"{_MESSAGES[remind_type]}.",
            "plan_time": table.plan[i],
            "remind_type": remind_type,
            # One notification in 17 could not be delivered (send_status 1), as SMN has it.
            "send_status": 1 if iid % 17 == 0 else 0,
        }
        if table.job_id is not None:
            row["job_id"] = table.job_id
        rows.append(row)
    return rows


def workspace_alarms(dataset: Dataset, workspace: str, now_ms: int) -> list[dict[str, Any]]:
    """Every alarm of the workspace sent by ``now_ms``, newest first (ties in a fixed order)."""
    with dataset.lock:
        tables = [table for (ws, _), table in dataset.tables.items() if ws == workspace]
        rows = [row for table in tables for row in _alarms_of(table, now_ms)]
    rows.sort(key=lambda r: (r["alarm_time"], r["job_name"], r["plan_time"], r["remind_type"]), reverse=True)
    return rows


def alarm_info(
    dataset: Dataset,
    workspace: str,
    raw_query: str,
    *,
    now_ms: int,
    offset_mode: str,
    max_window_days: float,
) -> Reply:
    params = parse_params(raw_query)
    start_time = _int(params, "start_time", now_ms - HOUR_MS)
    end_time = _int(params, "end_time", now_ms)
    if end_time - start_time > max_window_days * DAY_MS:
        raise BadRequestError(
            "The time range between start_time and end_time cannot exceed one month "
            f"({max_window_days:g} days): {_iso(start_time)} .. {_iso(end_time)}."
        )
    limit, first = _paging(params, 1000, offset_mode)
    found = [
        row
        for row in workspace_alarms(dataset, workspace, now_ms)
        if start_time < row["alarm_time"] < end_time
    ]
    return Reply(200, {"alarm_info": found[first : first + limit], "total": len(found)})
