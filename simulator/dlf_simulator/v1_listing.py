"""DLF V1 ``ListJobInstances``: ``GET /v1/{project_id}/jobs/instances/detail``, the instances of
every job of a workspace in one listing, as Huawei's SDK (``huaweicloudsdkdgc`` 3.1.219) models
it: camelCase query parameters and rows, rows of 15 fields (the 14 of the V2 instance plus
``errorMessage``), ``{"total", "instances"}``.

Read at its harshest, as the V2 route is:
- ``minPlanTime`` / ``maxPlanTime`` are strict bounds, on the plan time or (``filter_field``) the
  start time; one request may span at most ``max_span_days`` (7 by the SDK's docstring; a
  third-party summary says 3, so a test can set that);
- ``offset`` is a page index or a row offset (``offset_mode``), ``limit`` 1 to 1000;
- ``jobName`` alone matches every job whose name *contains* it; ``preciseQuery=true`` makes it
  exact. Query names other than the documented camelCase ones are ignored, as a gateway does;
- rows of all jobs come newest plan time first, ties by instance ID, across jobs;
- ``errorMessage`` is sent for failed runs only (``fail``, ``running-exception``).
"""

from __future__ import annotations

import threading
from typing import Any

from dlf_simulator.api import Reply, _paging, instance_filters, parse_params, plan_bounds
from dlf_simulator.dataset import Dataset, Instance, InstanceQuery, select
from dlf_simulator.v1 import job_nodes

#: V2 wire name -> V1 wire name (``JobInstance.attribute_map`` of huaweicloudsdkdgc).
CAMEL = {
    "job_name": "jobName",
    "job_id": "jobId",
    "job_instance_name": "jobInstanceName",
    "status": "status",
    "plan_time": "planTime",
    "start_time": "startTime",
    "end_time": "endTime",
    "execute_time": "executeTime",
    "instance_id": "instanceId",
    "submit_time": "submitTime",
    "instance_type": "instanceType",
    "force_success": "forceSuccess",
    "ignore_success": "ignoreSuccess",
    "version": "version",
}
FAILED = frozenset({"fail", "running-exception"})

_cache_lock = threading.Lock()
# One listing's matches, kept while its pages are read: (dataset id, generation, query) -> rows.
_cache: dict[tuple[Any, ...], list[tuple[int, int, str, int]]] = {}


def error_message(dataset: Dataset, workspace: str, instance: Instance) -> str | None:
    """The failure message of a failed run, naming the node that failed (the one its node runs
    on the V1 ``ShowJobInstance`` route show failing); None for the others."""
    if instance.status not in FAILED:
        return None
    nodes = job_nodes(dataset, workspace, instance.job_name) or (("run", "Shell"),)
    name, node_type = nodes[instance.instance_id % len(nodes)]
    verb = "failed" if instance.status == "fail" else "hit an exception"
    return (
        f"Node {name} ({node_type}) {verb}: the script exited with code 1 (instance {instance.instance_id})."
    )


def v1_row(dataset: Dataset, workspace: str, instance: Instance) -> dict[str, Any]:
    row = {CAMEL[key]: value for key, value in instance.to_api().items()}
    message = error_message(dataset, workspace, instance)
    if message is not None:
        row["errorMessage"] = message
    return row


def list_job_instances(
    dataset: Dataset,
    workspace: str,
    raw_query: str,
    *,
    now_ms: int,
    offset_mode: str,
    filter_field: str,
    max_span_days: float,
) -> Reply:
    params = parse_params(raw_query)
    min_time, max_time = plan_bounds(
        params,
        ("minPlanTime", "maxPlanTime"),
        now_ms=now_ms,
        max_days=max_span_days,
        most=f"{max_span_days:g} days",
    )
    limit, start_row = _paging(params, 1000, offset_mode)
    status, instance_type = instance_filters(params, "instanceType")
    precise = params.get("preciseQuery", "false").lower() == "true"
    query = InstanceQuery(
        min_time=min_time,
        max_time=max_time,
        limit=10**9,
        first_row=0,
        field=filter_field,
        status=status,
        instance_type=instance_type,
    )
    with dataset.lock:  # the cached matches' row indices hold while nothing changes
        matches = _matches(dataset, workspace, query, params.get("jobName") or None, precise)
        page = matches[start_row : start_row + limit]
        rows = []
        for _, _, job_name, index in page:  # row indices hold: the cache is per generation
            table = dataset.table(workspace, job_name)
            if table is not None and index < len(table):
                rows.append(v1_row(dataset, workspace, table.row(index)))
    return Reply(200, {"total": len(matches), "instances": rows})


def _matches(
    dataset: Dataset, workspace: str, query: InstanceQuery, job_name: str | None, precise: bool
) -> list[tuple[int, int, str, int]]:
    """Every match of the listing, newest first, as (plan time, instance ID, job, row index); cached per generation
    of the dataset, so that reading a listing's pages does not sort it again for each."""
    key = (id(dataset), dataset.generation(), workspace, query, job_name, precise)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    found: list[tuple[int, int, str, int]] = []
    with dataset.lock:
        for (ws, name), table in dataset.tables.items():
            if ws != workspace or not _name_matches(name, job_name, precise):
                continue
            _, indices = select(table, query)
            found.extend((table.plan[i], table.iid[i], name, i) for i in indices)
    found.sort(reverse=True)
    with _cache_lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = found
    return found


def _name_matches(name: str, wanted: str | None, precise: bool) -> bool:
    if wanted is None:
        return True
    return name == wanted if precise else wanted in name
