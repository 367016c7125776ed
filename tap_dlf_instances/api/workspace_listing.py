"""DLF V1 ``ListJobInstances`` (``GET /v1/{project_id}/jobs/instances/detail`` on ``v1_api_url``):
the instances of every job of the workspace in one listing, window by window.

What it is, from the DataArts Studio API reference ("Viewing a Job Instance List") and Huawei's
SDK ``huaweicloudsdkdgc`` 3.1.219 (``ListJobInstancesRequest``, ``JobInstance``); docs/api-notes.md
has the sources:
- query names in camelCase: ``minPlanTime`` / ``maxPlanTime`` (strict bounds, as in V2),
  ``limit`` (1 to 1000), ``offset`` (a page number by the docs, detected as in V2), ``status``,
  ``instanceType``; no ``jobName``: every job of the workspace (the ``workspace`` header);
- one request may span at most 7 days by the SDK's docstring (3 by a third-party summary):
  ``SPANS_MS`` are the widths tried, widest first, until the server takes one;
- rows in camelCase, the 14 fields of the V2 instance plus ``errorMessage`` (why a run failed).
  ``snake_rows`` renames them to the V2 names, so that one shaper reads both; rows already in
  snake_case are left as they are.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import requests

from tap_dlf_instances.api.responses import Page, page_of
from tap_dlf_instances.windows import DAY_MS, Window


class InstanceListing(enum.StrEnum):
    """The ``instance_listing`` setting: how the instances are read."""

    AUTO = "auto"  # the workspace listing when it answers and costs less, else per job
    WORKSPACE = "workspace"  # the workspace listing, or the run stops saying why
    PER_JOB = "per_job"  # the V2 listing of each job (the only way before this setting)


#: The widths of one listing request tried, widest first: 7 days (the SDK's docstring), 3 days
#: (a third-party summary), 1 day. Each is one less than the span asked for (``min`` is start - 1).
SPANS_MS = (7 * DAY_MS - 1, 3 * DAY_MS - 1, DAY_MS - 1)

#: V1 wire name -> the instances schema's (V2) name.
SNAKE_NAMES = {
    "jobName": "job_name",
    "jobId": "job_id",
    "jobInstanceName": "job_instance_name",
    "planTime": "plan_time",
    "startTime": "start_time",
    "endTime": "end_time",
    "executeTime": "execute_time",
    "instanceId": "instance_id",
    "submitTime": "submit_time",
    "instanceType": "instance_type",
    "forceSuccess": "force_success",
    "ignoreSuccess": "ignore_success",
    "errorMessage": "error_message",
}
_SNAKED = "_dlf_snaked"


def snake_rows(rows: Iterable[dict[str, Any]]) -> None:
    """Rename the camelCase fields of listing rows to the schema's names, in place (a snake_case
    field that is also there wins)."""
    names = SNAKE_NAMES
    for row in rows:
        for camel in [key for key in row if key in names]:
            value = row.pop(camel)
            row.setdefault(names[camel], value)


def listing_page(response: requests.Response) -> Page:
    """The page of a listing response (``responses.page_of``), its rows in the schema's names."""
    page = page_of(response, "instances")
    if not getattr(response, _SNAKED, False):
        snake_rows(page.rows)
        setattr(response, _SNAKED, True)
    return page


def listing_params(window: Window, *, limit: int, offset: int, filters: dict[str, Any]) -> dict[str, Any]:
    """The query of one page of the listing. ``filters`` are the V2 ones (``status``,
    ``instance_type``), renamed."""
    params: dict[str, Any] = {
        "minPlanTime": window.min_plan_time,
        "maxPlanTime": window.max_plan_time,
        "limit": limit,
        "offset": offset,
    }
    if "status" in filters:
        params["status"] = filters["status"]
    if "instance_type" in filters:
        params["instanceType"] = filters["instance_type"]
    return params
