"""The DLF V1 routes the tap reads, as Huawei's SDK (``huaweicloudsdkdlf`` 3.1.219) models them:

- ``GET /v1/{project_id}/jobs/{job_name}`` (``ShowJob``): a job and its nodes;
- ``GET /v1/{project_id}/jobs/{job_name}/instances/{instance_id}`` (``ShowJobInstance``): one
  instance with a run per node (``NodeInstance``).

Both are derived from the V2 dataset, so they agree with it: a job's nodes are those of
``ShowJob``; each node run lies inside its instance's plan/start/end times; a failed instance has
a failed node, a running one a running node. Wire names are camelCase, as in the SDK's
``attribute_map``. Errors have the V2 shape, ``{"error_code", "error_msg"}`` (the DataArts
Studio API reference gives one error body for all its APIs): ``DLF.0100`` (400) for an unknown
job, and for an unknown instance a 404 whose code, ``DLF.1006``, is this simulator's guess (the
docs list none for it).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from dlf_simulator.api import Reply
from dlf_simulator.dataset import Dataset, Instance, Job

INSTANCE_GONE = {"error_code": "DLF.1006", "error_msg": "The job instance does not exist."}
JOB_GONE = {"error_code": "DLF.0100", "error_msg": "The job does not exists."}

#: The nodes of a batch job, chosen by its name: (node name, node type).
_BATCH_CHAINS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("extract", "CDMJob"), ("load", "DLISQL")),
    (("extract", "CDMJob"), ("transform", "DLISQL"), ("load", "DWSSQL")),
    (("run_script", "Shell"),),
)
_REAL_TIME_NODE_TYPE = "MRSFlinkJob"


def route(segments: list[str]) -> str | None:
    """Route name of a decoded ``/v1/...`` path, or None."""
    if len(segments) < 5 or segments[:2] != ["", "v1"] or not segments[2] or segments[3] != "jobs":
        return None
    if segments[4:] == ["instances", "detail"]:
        return "v1_instances"  # ListJobInstances (v1_listing.py)
    if len(segments) == 5 and segments[4]:
        return "v1_job"
    if len(segments) == 7 and segments[4] and segments[5] == "instances" and segments[6]:
        return "v1_instance"
    return None


def answer(route_name: str, dataset: Dataset, workspace: str, segments: list[str], *, now_ms: int) -> Reply:
    if route_name == "v1_job":
        return show_job(dataset, workspace, segments[4])
    return show_job_instance(dataset, workspace, segments[4], segments[6], now_ms=now_ms)


def job_nodes(dataset: Dataset, workspace: str, job_name: str) -> tuple[tuple[str, str], ...] | None:
    """``(node name, node type)`` of a job, or of a real-time job's sub-job (its one node);
    None for an unknown name."""
    job = dataset.find_job(workspace, job_name)
    if job is not None:
        return _nodes_of(job)
    with dataset.lock:
        jobs = [
            job for (ws, _), job in dataset.jobs.items() if ws == workspace and job.job_type == "REAL_TIME"
        ]
    for parent in jobs:
        for node in parent.nodes:
            if f"{parent.name}_{node}" == job_name:
                return ((node, _REAL_TIME_NODE_TYPE),)
    return None


def _nodes_of(job: Job) -> tuple[tuple[str, str], ...]:
    if job.job_type == "REAL_TIME" or job.nodes:
        return tuple((node, _REAL_TIME_NODE_TYPE) for node in job.nodes)
    return _BATCH_CHAINS[zlib.crc32(job.name.encode()) % len(_BATCH_CHAINS)]


def show_job(dataset: Dataset, workspace: str, job_name: str) -> Reply:
    job = dataset.find_job(workspace, job_name)
    if job is None:
        return Reply(400, JOB_GONE)
    nodes = _nodes_of(job)
    real_time = job.job_type == "REAL_TIME"
    cron = {
        "startTime": _iso(job.create_time if job.start_time is None else job.start_time),
        "endTime": _iso(job.end_time),
        "expression": "0 0 * * * ?",
        "dependPrePeriod": False,
    }
    node_rows = []
    for index, (name, node_type) in enumerate(nodes):
        row: dict[str, Any] = {
            "name": name,
            "nodeType": node_type,
            "location": {"x": 120 * index, "y": 0},
            "nodeProperties": "[]",
            "pollingInterval": 20,
            "maxExecutionTime": 360,
            "retryTimes": 1,
            "retryInterval": 120,
            "failPolicy": "FAIL",
        }
        if not real_time and index:
            row["preNodeNames"] = nodes[index - 1][0]  # a chain: each node after the one before
        if real_time:
            row["cronTrigger"] = cron  # a real-time job's nodes are scheduled one by one
        node_rows.append(row)
    body: dict[str, Any] = {
        "name": job.name,
        "id": job.job_id,
        "nodes": node_rows,
        "schedule": {"scheType": "EXECUTE_ONCE"} if real_time else {"scheType": "CRON", "cron": cron},
        "params": [],
        "directory": job.path,
        "jobType": job.job_type,
        "lastUpdateUser": job.create_user,
        "basicConfig": {
            "owner": job.owner,
            "priority": job.priority,
            "taskPriority": 0,
            "executeUser": "",
            "instanceTimeout": 0,
            "customFields": {},
        },
    }
    return Reply(200, body)


def show_job_instance(dataset: Dataset, workspace: str, job_name: str, raw_id: str, *, now_ms: int) -> Reply:
    nodes = job_nodes(dataset, workspace, job_name)
    if nodes is None:
        return Reply(400, JOB_GONE)
    instance = _instance(dataset, workspace, job_name, raw_id)
    if instance is None:
        return Reply(404, INSTANCE_GONE)
    body: dict[str, Any] = {
        "status": instance.status,
        "planTime": instance.plan_time,
        "startTime": instance.start_time,
    }
    if instance.end_time is not None:
        body["endTime"] = instance.end_time
    if instance.execute_time is not None:
        body["executeTime"] = int(instance.execute_time)
    body["instancesId"] = str(instance.instance_id)
    body["total"] = len(nodes)
    body["nodes"] = node_runs(dataset.project_id, instance, nodes, now_ms=now_ms)
    return Reply(200, body)


def _instance(dataset: Dataset, workspace: str, job_name: str, raw_id: str) -> Instance | None:
    if not raw_id.isdigit():
        return None
    with dataset.lock:
        table = dataset.table(workspace, job_name)
        if table is None:
            return None
        index = table.find(int(raw_id))
        return None if index < 0 else table.row(index)


#: The node status each instance status gives its current node (the one that failed, runs,
#: or waits); nodes before it succeeded, nodes after it were skipped (final) or wait (open).
_CURRENT_NODE = {
    "fail": "fail",
    "manual-stop": "manual-stop",
    "running": "running",
    "running-exception": "running",
    "pause": "pause",
    "freeze": "pause",
}


def node_runs(
    project_id: str, instance: Instance, nodes: tuple[tuple[str, str], ...], *, now_ms: int
) -> list[dict[str, Any]]:
    """The runs of the instance's nodes, one after the other inside the instance's run."""
    count = len(nodes)
    final = instance.end_time is not None
    start = instance.start_time
    end = instance.end_time if final else max(now_ms, start + count)
    assert end is not None
    if instance.status == "success":
        active = count  # nodes that ran: all
    elif instance.status in ("skip-by-depend", "waiting"):
        active = 0
    else:  # the node that failed, runs, waits or was stopped: one chosen by the instance
        active = instance.instance_id % count + 1
    # The nodes that ran share the instance's run time, one after the other.
    step = max((end - start) // active, 1) if active else 0
    day = datetime.fromtimestamp(instance.plan_time / 1000, UTC).strftime("%Y%m%d")
    runs = []
    for index, (name, node_type) in enumerate(nodes):
        row: dict[str, Any] = {"nodeName": name}
        node_start: int | None
        node_end: int | None
        if instance.status == "skip-by-depend":
            status, node_start, node_end = "skip", start, end
        elif index >= active and not final:
            status, node_start, node_end = "waiting", None, None
        elif index >= active:  # after the node that failed or was stopped
            status, node_start, node_end = "skip", end, end
        elif index < active - 1 or instance.status == "success":
            status = "success"
            node_start = start + index * step
            node_end = end if index == active - 1 else start + (index + 1) * step
        else:
            status = _CURRENT_NODE[instance.status]
            node_start = start + index * step
            node_end = end if final else None
        row["status"] = status
        row["planTime"] = instance.plan_time
        if node_start is not None:  # a node not started yet has no start time
            row["startTime"] = node_start
        if node_end is not None and node_start is not None:
            row["endTime"] = node_end
            row["executeTime"] = node_end - node_start
        seed = zlib.crc32(f"{instance.instance_id}/{name}".encode())
        rows_in = 0 if status in ("waiting", "skip") else 1000 + seed % 99_000
        row["nodeType"] = node_type
        row["retryTimes"] = 1 if status == "fail" and seed % 3 == 0 else 0
        row["instanceId"] = instance.instance_id
        row["inputRowCount"] = rows_in
        row["outputRowCount"] = rows_in - (seed % 7 if rows_in else 0)
        row["logPath"] = (
            f"obs://dlf-log-{project_id}/{instance.job_name}/{day}/{instance.instance_id}/{name}.log"
        )
        runs.append(row)
    return runs


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S+00")
