"""Node runs: a node run of the API as a record (``NodeShaper``), and which instances' node runs
are due, across syncs, with small state (``NodeFetchMemory``). Pure: no request is made here.

An instance is due when it is final and its node runs have not been fetched. "Not fetched" is
known without a list of every instance ever fetched: per job the state keeps the moment the last
sync that read the whole job started (``since``) and the ids fetched whose run ended within
``MARGIN_MS`` of it or later (``recent``). An instance that ended before ``since - MARGIN_MS``
was final when that sync read it, so that sync fetched it; one that ended later is due unless it
is among ``recent``. The margin covers the difference between this machine's clock (``since``)
and the API's (``end_time``). The ids of the instances still open at that sync (``open``, a few
per job) are due once final whatever their ``end_time`` says: an end time that lies before the
sync that saw the instance running (a clock far off, a run closed late with its real end) does
not hide them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tap_dlf_instances.records import DEFAULT_WORKSPACE
from tap_dlf_instances.state.bookmarks import is_open

if TYPE_CHECKING:
    pass

#: How far before the previous sync's start an instance may have ended and still be unfetched:
#: the 15 minutes of clock difference the API allows a signature.
MARGIN_MS = 15 * 60 * 1000

#: NodeInstance's wire names (camelCase, Huawei's SDK ``attribute_map``) -> columns, with the
#: JSON type each must have. Its ``instanceId`` is the job instance's id: the key's
#: ``instance_id``, taken from the instance the request named.
NODE_FIELDS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "nodeName": ("node_name", str),
    "status": ("status", str),
    "planTime": ("plan_time", int),
    "startTime": ("start_time", int),
    "endTime": ("end_time", int),
    "executeTime": ("execute_time", (int, float)),
    "nodeType": ("node_type", str),
    "retryTimes": ("retry_times", int),
    "inputRowCount": ("input_row_count", int),
    "outputRowCount": ("output_row_count", int),
    "logPath": ("log_path", str),
}


class NodeShaper:
    """A node run as a record: snake_case columns of the schema's types; a value of another type
    is left out (null) and counted, a node without a name is dropped and counted."""

    def __init__(self, project_id: str, workspace: str | None) -> None:
        self.source = {"project_id": project_id, "workspace": workspace or DEFAULT_WORKSPACE}
        self.dropped = 0
        self.nulled = 0

    def record(self, node: Mapping[str, Any], job_name: str, instance_id: int) -> dict[str, Any] | None:
        name = node.get("nodeName")
        if not isinstance(name, str) or not name:
            self.dropped += 1
            return None
        record: dict[str, Any] = {**self.source, "job_name": job_name, "instance_id": instance_id}
        for wire, (column, kind) in NODE_FIELDS.items():
            value = node.get(wire)
            if value is None:
                record[column] = None
            elif isinstance(value, kind) and not isinstance(value, bool):
                record[column] = value
            else:
                self.nulled += 1
                record[column] = None
        return record


class NodeFetchMemory:
    """Which final instances still need their node runs fetched (see the module's docstring).

    State, per job: ``{"since": <ms>, "recent": [[instance_id, end_ms], ...], "open": [ids]}``.
    """

    def __init__(self, stored: Any, *, sync_started_ms: int, logger: logging.Logger) -> None:
        self.sync_started_ms = sync_started_ms
        self._since: dict[str, int] = {}
        self._fetched: dict[str, dict[int, int]] = {}
        self._was_open: dict[str, set[int]] = {}
        self._open_now: dict[str, set[int]] = {}
        jobs = stored.get("jobs") if isinstance(stored, dict) else None
        for job, entry in (jobs or {}).items() if isinstance(jobs, dict) else ():
            try:
                since = entry["since"]
                recent = {int(iid): int(end) for iid, end in entry.get("recent", [])}
                was_open = {int(iid) for iid in entry.get("open", [])}
                if not isinstance(since, int) or isinstance(since, bool):
                    raise TypeError(since)
            except (KeyError, TypeError, ValueError, AttributeError):
                # Not what this tap writes: the job's final instances are fetched again (rows
                # repeated, which the key de-duplicates; none lost).
                logger.warning("The instance_nodes state of job %r is not usable; dropped.", job)
                continue
            self._since[job] = min(since, sync_started_ms)
            self._fetched[job] = recent
            self._was_open[job] = was_open

    @staticmethod
    def ended(record: Mapping[str, Any]) -> int:
        """When the instance's run ended: ``end_time``, else its start or plan time (a
        ``skip-by-depend`` may have no end)."""
        for key in ("end_time", "start_time", "plan_time"):
            value = record.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return 0

    def due(self, job_name: str, instance_id: int, status: Any, ended: int) -> bool:
        if is_open(status):
            # Fetched once, when final: a running instance's nodes still change.
            self._open_now.setdefault(job_name, set()).add(instance_id)
            return False
        if instance_id in self._fetched.get(job_name, {}):
            return False
        since = self._since.get(job_name)
        return (
            since is None or ended >= since - MARGIN_MS or instance_id in self._was_open.get(job_name, set())
        )

    def fetched(self, job_name: str, instance_id: int, ended: int) -> None:
        self._fetched.setdefault(job_name, {})[instance_id] = ended

    def job_done(self, job_name: str) -> dict[str, Any]:
        """Every instance of ``job_name`` this sync listed is handled: the job's state from now
        on (the ids that ended before the margin are not needed any more)."""
        horizon = self.sync_started_ms - MARGIN_MS
        recent = {iid: end for iid, end in self._fetched.get(job_name, {}).items() if end >= horizon}
        still_open = self._open_now.pop(job_name, set())
        self._since[job_name] = self.sync_started_ms
        self._fetched[job_name] = recent
        self._was_open[job_name] = still_open
        return {
            "since": self.sync_started_ms,
            "recent": [[iid, end] for iid, end in sorted(recent.items())],
            "open": sorted(still_open),
        }
