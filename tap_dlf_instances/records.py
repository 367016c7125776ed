"""Turning the API's rows into records, and recognising rows already emitted."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tap_dlf_instances.schemas import INTEGER_FIELDS

logger = logging.getLogger(__name__)

DEFAULT_WORKSPACE = "default"


def _as_int(value: Any) -> Any:
    """Integers sent as strings or integral floats become ints; anything else is left alone
    for the SDK's type conformance to judge."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def instance_record(
    row: Mapping[str, Any], *, project_id: str, workspace: str | None
) -> dict[str, Any] | None:
    """The record for one row of the instances API, or None (with a warning) when the row lacks
    what identifies it (``instance_id``, ``plan_time``)."""
    record = dict(row)
    for name in INTEGER_FIELDS.intersection(record):
        record[name] = _as_int(record[name])
    if not isinstance(record.get("instance_id"), int) or not isinstance(record.get("plan_time"), int):
        logger.warning(
            "Skipped a row of job %r without an integer `instance_id` and `plan_time`: %s",
            record.get("job_name"),
            {k: record.get(k) for k in ("instance_id", "plan_time", "status")},
        )
        return None
    record["project_id"] = project_id
    record["workspace"] = workspace or DEFAULT_WORKSPACE
    return record


class RecentInstanceIds:
    """Instance IDs emitted in a job's current and previous window.

    A row appears twice in one run only where pages overlap (the offset reading, rows inserted
    while paging) or where two adjacent windows meet (a server that reads a bound as inclusive);
    both stay within two consecutive windows, so memory does not grow with the length of a
    backfill.
    """

    def __init__(self) -> None:
        self._previous: set[int] = set()
        self._current: set[int] = set()

    def next_window(self) -> None:
        self._previous, self._current = self._current, set()

    def first_time(self, instance_id: int) -> bool:
        """True the first time an ID is offered in the current or previous window."""
        if instance_id in self._current or instance_id in self._previous:
            return False
        self._current.add(instance_id)
        return True
