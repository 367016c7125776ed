"""The DataArts Factory routes themselves: parameters checked at the contract's harshest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dlf_simulator.dataset import (
    INSTANCE_TYPES,
    JOB_TYPES,
    STATUSES,
    Dataset,
    InstanceQuery,
)

DAY_MS = 86_400_000
PARAM_ERROR = "DLF.0802"  # the documented "parameter" error; the real text for each case is unknown


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


class BadRequestError(Exception):
    def __init__(self, message: str, code: str = PARAM_ERROR, status: int = 400) -> None:
        super().__init__(message)
        self.reply = Reply(status, {"error_code": code, "error_msg": message})


def parse_params(raw_query: str) -> dict[str, str]:
    # The first value wins when a parameter repeats.
    return {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise BadRequestError(f"The parameter {name} must be an integer, not {raw!r}.")
    return int(raw)


def _bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise BadRequestError(f"The parameter {name} must be true or false, not {raw!r}.")
    return raw.lower() == "true"


def first_row(offset: int, limit: int, offset_mode: str) -> int:
    """Where a page starts: ``offset`` is a page index ("page") or a row offset ("row")."""
    return offset * limit if offset_mode == "page" else offset


def _paging(params: Mapping[str, str], max_limit: int, offset_mode: str) -> tuple[int, int]:
    limit = _int(params, "limit", 10)
    offset = _int(params, "offset", 0)
    if not 1 <= limit <= max_limit:
        raise BadRequestError(f"The parameter limit must be between 1 and {max_limit}, not {limit}.")
    if offset < 0:
        raise BadRequestError(f"The parameter offset must be 0 or greater, not {offset}.")
    return limit, first_row(offset, limit, offset_mode)


def plan_bounds(
    params: Mapping[str, str], names: tuple[str, str], *, now_ms: int, max_days: float, most: str
) -> tuple[int, int]:
    """The bounds of an instances listing (``names``: its low and high parameters): 00:00 UTC
    today and now when left out; refused when they span more than ``max_days`` (``most``)."""
    midnight = now_ms - now_ms % DAY_MS  # 00:00:00 UTC today
    low, high = _int(params, names[0], midnight), _int(params, names[1], now_ms)
    if high - low > max_days * DAY_MS:
        raise BadRequestError(
            f"The time range between {names[0]} and {names[1]} cannot exceed {most}: "
            f"{_iso(low)} .. {_iso(high)}."
        )
    return low, high


def instance_filters(params: Mapping[str, str], type_name: str) -> tuple[str | None, int | None]:
    """The ``status`` and instance type (parameter ``type_name``) filters, checked."""
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequestError(f"The parameter status is invalid: {status!r}.")
    instance_type = _int(params, type_name, -1) if type_name in params else None
    if instance_type is not None and instance_type not in INSTANCE_TYPES:
        raise BadRequestError(f"The parameter {type_name} is invalid: {instance_type}.")
    return status, instance_type


def instances(
    dataset: Dataset,
    workspace: str,
    job_name: str,
    raw_query: str,
    *,
    now_ms: int,
    offset_mode: str,
    filter_field: str,
    max_window_days: float,
) -> Reply:
    params = parse_params(raw_query)
    min_time, max_time = plan_bounds(
        params,
        ("min_plan_time", "max_plan_time"),
        now_ms=now_ms,
        max_days=max_window_days,
        most=f"one month ({max_window_days:g} days)",
    )
    limit, start_row = _paging(params, 1000, offset_mode)
    status, instance_type = instance_filters(params, "instance_type")
    query = InstanceQuery(
        min_time=min_time,
        max_time=max_time,
        limit=limit,
        first_row=start_row,
        field=filter_field,
        status=status,
        instance_type=instance_type,
        force_success=_bool(params, "force_success"),
        ignore_success=_bool(params, "ignore_success"),
    )
    result = dataset.query(workspace, job_name, query)
    if result is None:
        return Reply(400, {"error_code": "DLF.0100", "error_msg": "The job does not exists."})
    total, rows = result
    return Reply(200, {"total": total, "instances": rows})


def jobs(dataset: Dataset, workspace: str, raw_query: str, *, offset_mode: str) -> Reply:
    params = parse_params(raw_query)
    limit, start_row = _paging(params, 100, offset_mode)
    job_type = params.get("job_type") or None
    if job_type is not None and job_type not in JOB_TYPES:
        raise BadRequestError(f"The parameter job_type must be BATCH or REAL_TIME, not {job_type!r}.")
    need_alarms = _bool(params, "need_alarms")  # the SDK's filter: alarms listed only when asked
    found = dataset.list_jobs(workspace, job_type, params.get("job_name") or None)
    page = found[start_row : start_row + limit]
    rows = [dataset.job_summary(job, need_alarms=need_alarms) for job in page]
    return Reply(200, {"total": len(found), "jobs": rows})


def job_detail(dataset: Dataset, workspace: str, job_name: str) -> Reply:
    """Enough of "query a job" to discover a real-time job's nodes (hence its sub-job names)."""
    job = dataset.find_job(workspace, job_name)
    if job is None:
        return Reply(400, {"error_code": "DLF.0100", "error_msg": "The job does not exists."})
    return Reply(
        200,
        {
            "name": job.name,
            "job_type": job.job_type,
            "directory": job.path,
            "process_type": job.job_type,
            "nodes": [{"name": node} for node in job.nodes],
            "owner": job.owner,
            "priority": job.priority,
        },
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
