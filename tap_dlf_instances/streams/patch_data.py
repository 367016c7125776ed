"""PatchData (supplement data) runs: the ``patch_data`` stream, and the listing of runs that
the ``instances`` stream reads to catch up with them (the rule: ``patch_catch_up``).

``GET /v2/{project_id}/factory/supplement-data`` (Huawei's SDK: ``ShowFactorySupplementData``)
pages with ``page`` (a page index from 0) and ``size``, newest submission first (``sort=desc``).
Its ``start_date``/``end_date`` filters are not used: the docs do not say which date they
select on. Instead the listing is read newest first and stops at the first page wholly older
than what is needed, once the pages have shown they really are in that order; a server that
ignores ``sort`` is read to the end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import typing as th
from singer_sdk.exceptions import RetriableAPIError

from tap_dlf_instances.api.client import DLFStream
from tap_dlf_instances.api.paging import OffsetMode, OffsetPaginator, OffsetReading
from tap_dlf_instances.api.responses import page_of, parsed_body
from tap_dlf_instances.patch_catch_up import PatchRun, int_or_none
from tap_dlf_instances.records import DEFAULT_WORKSPACE
from tap_dlf_instances.source_fields import SOURCE_PROPERTIES
from tap_dlf_instances.windows import to_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_dlf_instances.run_context import RunContext

#: Rows per request. None is documented (default 10); 100 is the jobs list's cap.
PATCH_PAGE_SIZE = 100
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
            submitted = int_or_none(row.get("submitted_date"))
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

    def __init__(self, tap: Tap, *, run: RunContext) -> None:
        super().__init__(tap, run=run)
        self._newest_seen: int | None = None  # the newest submitted_date emitted by this sync

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
        starts = [int_or_none(state.get("replication_key_value")), int_or_none(state.get("open_since"))]
        known = [value for value in starts if value is not None]
        return min(known) if known else to_ms(self.settings.start_date)

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """The newest ``submitted_date`` is remembered and becomes the bookmark once the listing
        is read whole (``get_records``): the SDK's way for unsorted streams, progress markers,
        logged on every run that progress "is not resumable", which says nothing here."""
        submitted = int_or_none(latest_record.get("submitted_date"))
        if submitted is not None and (self._newest_seen is None or submitted > self._newest_seen):
            self._newest_seen = submitted

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        self._newest_seen = None
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
        # The whole listing is read: the bookmark moves to the newest run seen. Only now, since
        # the rows come newest first: a run that stops halfway leaves it where it was.
        if self._newest_seen is not None:
            stored = int_or_none(state.get("replication_key_value"))
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = max(self._newest_seen, stored or self._newest_seen)
