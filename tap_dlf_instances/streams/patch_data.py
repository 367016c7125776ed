"""PatchData (supplement data) runs: the ``patch_data`` stream, and the plan-time ranges they
re-ran, which the ``instances`` stream reads again (``PatchCatchUp``).

``GET /v2/{project_id}/factory/supplement-data`` (Huawei's SDK: ``ShowFactorySupplementData``)
pages with ``page`` (a page index from 0) and ``size``, newest submission first (``sort=desc``).
Its ``start_date``/``end_date`` filters are not used: the docs do not say which date they
select on. Instead the listing is read newest first and stops at the first page wholly older
than what is needed, once the pages have shown they really are in that order; a server that
ignores ``sort`` is read to the end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import typing as th
from singer_sdk.exceptions import RetriableAPIError

from tap_dlf_instances.client import DLFStream, page_of, parsed_body
from tap_dlf_instances.paging import OffsetMode, OffsetPaginator, OffsetReading
from tap_dlf_instances.records import DEFAULT_WORKSPACE
from tap_dlf_instances.schemas import SOURCE_PROPERTIES
from tap_dlf_instances.windows import to_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: Rows per request. None is documented (default 10); 100 is the jobs list's cap.
PATCH_PAGE_SIZE = 100
#: Statuses a PatchData run cannot leave (``CANCLE`` is the API's spelling). Any other status,
#: ``RUNNING`` or one the tap does not know, may still make instances.
FINAL_PATCH_STATUSES = frozenset({"SUCCESS", "CANCLE", "CANCEL", "FAIL", "FAILED"})
#: The instances stream's own record of PatchData runs, next to its job bookmarks.
STATE_KEY = "patch_data"

PATCH_DATA_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    th.Property("name", th.StringType, required=True, description="Name of the PatchData run."),
    th.Property(
        "job_list",
        th.ArrayType(th.StringType),
        description="Jobs the run re-ran (a run may take the jobs that depend on one along).",
    ),
    th.Property(
        "start_date",
        th.IntegerType,
        description="First plan time the run re-ran, ms since the epoch.",
    ),
    th.Property(
        "end_date",
        th.IntegerType,
        description="Last plan time the run re-ran, ms since the epoch (inclusive).",
    ),
    th.Property(
        "submitted_date",
        th.IntegerType,
        required=True,
        description="When the run was submitted, ms since the epoch (the replication key).",
    ),
    th.Property("status", th.StringType, description="SUCCESS, RUNNING or CANCLE (the API's spelling)."),
    th.Property("parallel", th.IntegerType, description="Periods run in parallel, 1 to 5."),
    th.Property(
        "type",
        th.IntegerType,
        description="0: started from job monitoring, 1: started by a recovery action.",
    ),
    th.Property("user_name", th.StringType, description="Who submitted the run."),
    th.Property(
        "supplement_data_instance_time",
        th.ObjectType(
            th.Property("days", th.ArrayType(th.StringType), description="Discrete days."),
            th.Property("time_of_day", th.StringType, description="Time of day."),
        ),
        description="Which instances the run re-ran (the SDK's SupplementDataRespSupplementDataInstanceTime).",
    ),
    th.Property(
        "supplement_data_run_time",
        th.ObjectType(
            th.Property("time_of_day", th.StringType, description="Hours the run may run, e.g. 10:15-23:30."),
            th.Property("day_of_week", th.StringType, description="Weekdays the run may run."),
            th.Property("day_of_month", th.StringType, description="Days of the month the run may run."),
        ),
        description="When the run may run (the SDK's SupplementDataRespSupplementDataRunTime).",
    ),
).to_dict()


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PatchRun:
    """What the tap needs of a run; built only from a row that has it all (``of``)."""

    name: str
    jobs: tuple[str, ...]
    start: int
    end: int  # inclusive
    submitted: int
    status: str

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_PATCH_STATUSES

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> PatchRun | None:
        """The run in an API row, or None when a field it needs is missing or of the wrong type.
        Job names that are not strings are left out: a job is only matched by its name, never
        turned into a request of its own."""
        name, start, end, submitted = (
            row.get("name"),
            row.get("start_date"),
            row.get("end_date"),
            row.get("submitted_date"),
        )
        jobs = row.get("job_list")
        if not isinstance(name, str) or not isinstance(jobs, list):
            return None
        if None in (_int(start), _int(end), _int(submitted)) or start > end:  # type: ignore[operator]
            return None
        status = row.get("status")
        return cls(
            name=name,
            jobs=tuple(job for job in jobs if isinstance(job, str)),
            start=start,  # type: ignore[arg-type]
            end=end,  # type: ignore[arg-type]
            submitted=submitted,  # type: ignore[arg-type]
            status=status if isinstance(status, str) else "",
        )


class NewestFirstPaginator(OffsetPaginator):
    """``page`` as a page index, ``total`` and loops checked as for the other listings, and a
    stop once the rows are older than ``stop_before``: only when every row so far came in
    newest-first order (the order asked for), since a server that ignores ``sort`` could still
    have newer runs on later pages."""

    def __init__(self, *, stop_before: int | None) -> None:
        super().__init__(
            page_size=PATCH_PAGE_SIZE,
            reading=OffsetReading(OffsetMode.PAGE),
            page_of=lambda response: page_of(response, "rows"),
            id_key="name",
        )
        self.where = "The PatchData list"
        self._stop_before = stop_before
        self._last_seen: int | None = None
        self._in_order = True

    def has_more(self, response: requests.Response) -> bool:
        more = super().has_more(response)
        for row in page_of(response, "rows").rows:
            submitted = _int(row.get("submitted_date"))
            if submitted is None:
                continue
            if self._last_seen is not None and submitted > self._last_seen:
                self._in_order = False
            self._last_seen = submitted
        if more and self._in_order and self._stop_before is not None and self._last_seen is not None:
            return self._last_seen >= self._stop_before
        return more


class PatchDataStream(DLFStream):
    """PatchData runs, incremental on ``submitted_date``. A run still RUNNING is read again by
    the next sync (``open_since`` in the stream's state) so its row ends with its final status."""

    name = "patch_data"
    path = "/supplement-data"
    primary_keys = ("project_id", "workspace", "name")
    replication_key = "submitted_date"
    is_sorted = False
    schema = PATCH_DATA_SCHEMA
    rows_key = "rows"

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        # The SDK's query names (ShowFactorySupplementDataRequest).
        params: dict[str, Any] = {"sort": "desc", "page": next_page_token or 0, "size": PATCH_PAGE_SIZE}
        if self._status is not None:
            params["status"] = self._status
        return params

    def get_new_paginator(self) -> NewestFirstPaginator:
        return NewestFirstPaginator(stop_before=self._stop_before)

    def validate_response(self, response: requests.Response) -> None:
        super().validate_response(response)
        if parsed_body(response).get("success") is False:
            # A 200 that says it failed is no page: read as one it would end the listing early.
            msg = f"GET {response.request.path_url} answered 200 with success=false: {str(parsed_body(response).get('msg'))[:200]}"
            raise RetriableAPIError(msg, response)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return page_of(response, "rows").rows

    _stop_before: int | None = None
    _status: str | None = None

    def list_runs(self, since: int | None, status: str | None = None) -> list[dict[str, Any]]:
        """Rows of the runs submitted at or after ``since`` (every run when None), each once,
        and a few older ones (the rest of the last page read); only those of ``status`` when
        given (the API's filter; the caller checks the status again)."""
        self._stop_before, self._status = since, status
        found: dict[str, dict[str, Any]] = {}
        for row in self.request_records(None):
            name = row.get("name")
            if isinstance(name, str):
                found.setdefault(name, row)
        return list(found.values())

    # The stream's own records

    def start_ms(self, context: Context | None) -> int:
        state = self.get_context_state(context)
        starts = [_int(state.get("replication_key_value")), _int(state.get("open_since"))]
        known = [value for value in starts if value is not None]
        return min(known) if known else to_ms(self.settings.start_date)

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        start = self.start_ms(context)
        skipped = 0
        open_since: int | None = None
        for row in self._run.patch_runs(start):
            run = PatchRun.of(row)
            if run is None:
                skipped += 1
                continue
            if run.submitted < start:
                continue
            if run.is_open:
                open_since = run.submitted if open_since is None else min(open_since, run.submitted)
            record = {key: value for key, value in row.items() if key in self.schema["properties"]}
            record["job_list"] = list(run.jobs)
            yield {
                **record,
                "project_id": self.settings.project_id,
                "workspace": self.settings.workspace or DEFAULT_WORKSPACE,
            }
        if skipped:
            self.log(
                "Skipped %d PatchData rows without a `name`, `job_list` and whole-number dates.",
                skipped,
                level=logging.WARNING,
            )
        state = self.get_context_state(context)
        if open_since is None:
            state.pop("open_since", None)
        else:
            state["open_since"] = open_since


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` ranges as the fewest disjoint ones, oldest first: a plan
    time in two of them is read once."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Pending:
    """A PatchData run still open at the last sync: its range is read again until it ends."""

    name: str
    submitted: int


@dataclass
class PatchCatchUp:
    """The instances stream's record of PatchData runs (``bookmarks.instances.patch_data``):

    ``{"submitted_since": ms, "running": [{"name": ..., "submitted_date": ms}]}``: the runs
    submitted at or after ``submitted_since`` have not been caught up yet, and those in
    ``running`` were still open when last seen. O(open runs), not O(runs).
    """

    submitted_since: int | None
    running: tuple[Pending, ...] = ()

    @classmethod
    def from_state(cls, value: object) -> tuple[PatchCatchUp, str | None]:
        """The record in a state (a first sync when absent), and why it was not usable."""
        if value is None:
            return cls(None), None
        if not isinstance(value, dict) or _int(value.get("submitted_since")) is None:
            return cls(None), 'is not {"submitted_since": <ms>, "running": [...]}'
        running = value.get("running") or []
        pending = tuple(
            Pending(item["name"], item["submitted_date"])
            for item in (running if isinstance(running, list) else [])
            if isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and _int(item.get("submitted_date")) is not None
        )
        return cls(_int(value.get("submitted_since")), pending), None

    @property
    def first(self) -> bool:
        return self.submitted_since is None

    def list_since(self) -> int | None:
        """How far back the listing must go: the oldest run this sync may need."""
        if self.submitted_since is None:
            return None
        return min([self.submitted_since, *(p.submitted for p in self.running)])

    def due(self, rows: Iterable[Mapping[str, Any]]) -> list[PatchRun]:
        """The runs whose ranges this sync reads again: submitted since the last sync, or open
        at it. None on a first sync: there is nothing to catch up."""
        if self.submitted_since is None:
            return []
        waiting = {p.name for p in self.running}
        runs = [run for row in rows if (run := PatchRun.of(row)) is not None]
        return [run for run in runs if run.submitted >= self.submitted_since or run.name in waiting]

    @staticmethod
    def next_state(runs: Iterable[PatchRun], *, sync_started_ms: int, jobs: set[str]) -> dict[str, Any]:
        """The record after this sync: caught up to its start; the runs of this sync's jobs that
        are still open are read again next time."""
        still_open = {run.name: run for run in runs if run.is_open and jobs.intersection(run.jobs)}
        return {
            "submitted_since": sync_started_ms,
            "running": [
                {"name": run.name, "submitted_date": run.submitted}
                for run in sorted(still_open.values(), key=lambda r: (r.submitted, r.name))
            ],
        }


def ranges_by_job(runs: Iterable[PatchRun], jobs: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Each job's plan-time ranges to read again, half-open ``[start_date, end_date + 1)``; job
    names not read by this sync (another shard, not configured, not a job) are ignored."""
    found: dict[str, list[tuple[int, int]]] = {}
    for run in runs:
        for job in set(run.jobs) & jobs:
            found.setdefault(job, []).append((run.start, run.end + 1))
    return found
