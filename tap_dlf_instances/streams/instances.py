"""The ``instances`` stream: every run of the jobs read, window by window, with a bookmark per job."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_dlf_instances.api.client import JobNotFoundError, path_segment
from tap_dlf_instances.api.paging import OffsetPaginator
from tap_dlf_instances.api.prefetch import OrderedPrefetcher, UnitsByJob
from tap_dlf_instances.api.responses import page_of
from tap_dlf_instances.api.window_fetch import read_window
from tap_dlf_instances.errors import ApiError
from tap_dlf_instances.patch_catch_up import STATE_KEY as PATCH_STATE_KEY
from tap_dlf_instances.patch_catch_up import PatchCatchUp, plan_catch_up, ranges_to_read
from tap_dlf_instances.records import INSTANCE_SCHEMA, InstanceShaper, RecentInstanceIds
from tap_dlf_instances.state.bookmarks import (
    Bookmark,
    after_window,
    is_open,
    open_since_for,
)
from tap_dlf_instances.streams.patch_data import PatchDataStream
from tap_dlf_instances.streams.sdk_speedups import PerRecordSpeedups
from tap_dlf_instances.streams.windowed import WindowedStream
from tap_dlf_instances.summary import RunSummary
from tap_dlf_instances.windows import Window, to_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: Answers to the PatchData list that leave the instances to be read without it: refused
#: (403), not there (404), a parameter refused (400). Anything else stops the run as usual.
TOLERATED_PATCH_LIST_STATUSES = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND}
)


@dataclass(frozen=True)
class WindowOfJob:
    """One unit of work: the instances of one job planned in one window."""

    job_name: str
    window: Window


@runtime_checkable
class InstanceChild(Protocol):
    """A child stream of the instances (``nodes.InstanceNodesStream``): it picks the instances
    it needs, and hears when a job's instances have all been read."""

    def contexts_for(self, record: Mapping[str, Any]) -> list[Context]: ...

    def prefetch(self, job_name: str, rows: list[dict[str, Any]]) -> None: ...

    def job_done(self, job_name: str) -> None: ...

    def log_summary(self) -> None: ...


class InstancesStream(PerRecordSpeedups, WindowedStream):
    """Job instances, read window by window per job, with a bookmark per job.

    See ``bookmarks`` for the rule that decides what each sync re-reads.
    """

    name = "instances"
    path = "/jobs/{job_name}/instances/detail"
    primary_keys = ("project_id", "workspace", "job_name", "instance_id")
    replication_key = "plan_time"
    is_sorted = False
    schema = INSTANCE_SCHEMA
    rows_key = "instances"
    # Records get their schema types in `InstanceShaper` (see records.py), so the SDK's generic
    # conformance, half of a backfill's time, is not needed.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._units: UnitsByJob[WindowOfJob, list[dict[str, Any]]] | None = None
        self._missing_jobs: set[str] = set()
        self._summary = RunSummary()
        self._mismatched: set[WindowOfJob] = set()
        self._mismatched_lock = threading.Lock()
        self._start_bookmarks: dict[str, Bookmark] = {}  # each job's bookmark as this sync began
        self._patch_ranges: dict[str, list[tuple[int, int]]] | None = None
        self._patch_state: dict[str, Any] | None = None  # written once every job is done
        self._jobs_done: set[str] = set()

    @property
    def partitions(self) -> list[dict[str, Any]]:
        return [{"job_name": name} for name in self._run.instance_job_names]

    # Requests

    def get_url(self, context: Context | None) -> str:
        job_name = (context or {})["job_name"]
        return f"{self.url_base}/jobs/{path_segment(job_name)}/instances/detail"

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        window: Window = (context or {})["window"]
        return {
            "min_plan_time": window.min_plan_time,
            "max_plan_time": window.max_plan_time,
            "limit": self.settings.page_size,
            "offset": next_page_token or 0,
            **self.settings.filters.as_params(),
        }

    def get_new_paginator(self) -> OffsetPaginator:
        return OffsetPaginator(
            page_size=self.settings.page_size,
            reading=self._run.services.offset_reading,
            page_of=lambda response: page_of(response, "instances"),
            id_key="instance_id",
        )

    def _window_paginator(self, unit: WindowOfJob) -> OffsetPaginator:
        """A paginator whose messages name the job and window, and whose mismatches reach it."""
        paginator = self.get_new_paginator()
        paginator.where = f"Instances of job {unit.job_name!r}, window {unit.window}"
        paginator.on_mismatch = functools.partial(self._window_mismatched, unit)
        return paginator

    def _window_mismatched(self, unit: WindowOfJob) -> None:
        """``total`` and the pages of ``unit`` disagreed (on a fetching thread): counted, and
        the window is read again by the next sync (see ``get_records``)."""
        self._summary.add(mismatched_windows=1)
        with self._mismatched_lock:
            self._mismatched.add(unit)

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        self._summary.add(requests=1)
        return super()._request(prepared_request, context)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return page_of(response, "instances").rows

    def fetch_window(self, unit: WindowOfJob) -> Iterator[list[dict[str, Any]]]:
        """All rows of one job's window, a page at a time (api/window_fetch.py); runs on a fetching
        thread."""
        if unit.job_name in self._missing_jobs:
            return
        context: Context = {"job_name": unit.job_name, "window": unit.window}
        send = self.request_decorator(self._request)

        def fetch_page(offset: int) -> tuple[requests.Response, list[dict[str, Any]]]:
            response = send(self.prepared_request(context, offset), context)
            return response, list(self.parse_response(response))

        def on_reread() -> None:
            self.log(
                "%s: the listing changed while its pages were read in parallel; reading it again in order.",
                unit,
                level=logging.INFO,
            )

        yield from read_window(
            fetch_page,
            lambda: self._window_paginator(unit),
            pool=self._run.services.page_pool,
            ahead=self.settings.max_workers,
            on_reread=on_reread,
        )

    # Planning

    def _windows_of(self, job_name: str) -> list[Window]:
        stored = Bookmark.from_state(self.get_context_state({"job_name": job_name}))
        bookmark, start = self.read_start(
            stored, whose=f"The bookmark of job {job_name!r}", read_again="the job is read"
        )
        self._start_bookmarks[job_name] = bookmark
        settings = self.settings
        end = to_ms(settings.end_date or self._run.sync_started_at)
        floor = to_ms(settings.start_date) if "start_date" in self.config else None
        return self.windows_from(
            ranges_to_read((start, end), self.patch_ranges().get(job_name, []), floor=floor)
        )

    def patch_ranges(self) -> dict[str, list[tuple[int, int]]]:
        """Each job's plan-time ranges that PatchData runs re-ran since the last sync (see
        patch_catch_up.py), read once per sync; the record of them to write when the sync ends."""
        if self._patch_ranges is not None:
            return self._patch_ranges
        catch_up, problem = PatchCatchUp.from_state(self.stream_state.get(PATCH_STATE_KEY))
        if problem:
            self.log(
                "The state's `bookmarks.instances.%s` %s; PatchData runs are caught up from now on.",
                PATCH_STATE_KEY,
                problem,
                level=logging.WARNING,
            )
        jobs = set(self._run.instance_job_names)
        try:
            if catch_up.first:
                # Nothing to catch up; runs still going are remembered, so their later
                # instances are read by the next sync.
                rows = self._run.running_patch_runs() if jobs else []
            else:
                rows = self._run.patch_runs(self._listing_since(catch_up))
        except ApiError as exc:
            if exc.status not in TOLERATED_PATCH_LIST_STATUSES:
                raise  # a redirect, throttling past the retries...: stops the run, as elsewhere
            # Credentials that may read instances but not PatchData runs, a region without the
            # route, a parameter this server refuses: the instances are still read; the record
            # of PatchData runs stays as it was, so the next sync that can list them catches up.
            self.log(
                "PatchData runs could not be listed (%s); this sync reads no PatchData range again, "
                "the next one that can list them will.",
                exc,
                level=logging.WARNING,
            )
            self._patch_ranges = {}
            return self._patch_ranges
        plan = plan_catch_up(catch_up, rows, jobs=jobs, sync_started_ms=self.sync_started_ms)
        self._patch_state = plan.next_state
        self._patch_ranges = plan.ranges
        if self._patch_ranges:
            self.log(
                "PatchData runs re-ran %d ranges of %d jobs since the last sync: read again.",
                sum(len(r) for r in self._patch_ranges.values()),
                len(self._patch_ranges),
            )
        return self._patch_ranges

    def _listing_since(self, catch_up: PatchCatchUp) -> int | None:
        """How far back to list PatchData runs: what this stream needs, or further when the
        ``patch_data`` stream will need more, so that one listing serves both."""
        since = catch_up.list_since()
        patch_stream = self._run.streams["patch_data"]
        if since is not None and patch_stream.selected and isinstance(patch_stream, PatchDataStream):
            since = min(since, patch_stream.start_ms(None))
        return since

    def _units_of(self, job_name: str) -> Iterator[tuple[WindowOfJob, Iterator[list[dict[str, Any]]]]]:
        """The units of one job with their rows, from the run-wide prefetcher (api/prefetch.py)."""
        if self._units is None:
            plan = {
                p["job_name"]: [WindowOfJob(p["job_name"], w) for w in self._windows_of(p["job_name"])]
                for p in self.partitions
            }
            self._units = UnitsByJob(plan, lambda unit: unit.job_name, self._prefetcher)
        return self._units.units_of(
            job_name, lambda: [WindowOfJob(job_name, w) for w in self._windows_of(job_name)]
        )

    def _prefetcher(self, units: list[WindowOfJob]) -> OrderedPrefetcher[WindowOfJob, list[dict[str, Any]]]:
        self._run.prepare_for_threads()
        prefetcher: OrderedPrefetcher[WindowOfJob, list[dict[str, Any]]] = OrderedPrefetcher(
            units, self.fetch_window, workers=self.settings.max_workers
        )
        prefetcher.skip(lambda unit: unit.job_name in self._missing_jobs)
        return prefetcher

    # Emitting

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        # `sync` is final in the SDK; this generator is the stream's whole run, so its end is
        # where the summary goes, after a failure too (what was read until then).
        try:
            yield from super()._sync_records(context, write_messages=write_messages)
        finally:
            self._summary.log(self.logger)
            for child in self._selected_children:
                child.log_summary()

    @functools.cached_property
    def _selected_children(self) -> list[InstanceChild]:
        """The selected children (``instance_nodes``): a deselected one costs nothing. Known
        once per run (the catalog does not change), as this is asked for every record."""
        return [
            child
            for child in self.child_streams
            if isinstance(child, InstanceChild) and (child.selected or child.has_selected_descendents)
        ]

    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        """A context only for the instances a child needs (its node runs not yet fetched): the
        SDK's default, one per record, would start a child sync for every instance."""
        for child in self._selected_children:
            yield from child.contexts_for(record)

    def read_windows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        if context is None:
            # The SDK asks once without a context when there are no partitions, i.e. no jobs.
            self.log("No jobs to read instances of (none listed, configured or in this shard).")
            return
        yield from self._emit_job(context)
        for child in self._selected_children:
            child.job_done(context["job_name"])
            self.state_manager.is_flushed = False  # the children's state is in the STATE
        self._jobs_done.add(context["job_name"])
        if self._patch_state is not None and self._jobs_done.issuperset(self._run.instance_job_names):
            # Every job is done: the PatchData runs of this sync count as caught up, in the
            # sync's last STATE. A sync that stops before leaves them to the next one.
            self.stream_state[PATCH_STATE_KEY] = self._patch_state

    def _emit_job(self, context: Context) -> Iterator[dict[str, Any]]:
        job_name = context["job_name"]
        state = self.get_context_state(context)
        seen = RecentInstanceIds()
        shaper = InstanceShaper(project_id=self.settings.project_id, workspace=self.settings.workspace)
        open_since: int | None = None
        newest: int | None = None
        for unit, batches in self._units_of(job_name):
            seen.next_window()
            emitted = 0
            try:
                for batch in batches:
                    for child in self._selected_children:
                        child.prefetch(job_name, batch)
                    for row in batch:
                        record = shaper.record(row, job_name)
                        if record is None or not seen.first_time(record["instance_id"]):
                            continue
                        if is_open(record.get("status")):
                            pinned = open_since_for(unit.window, record["plan_time"])
                            open_since = pinned if open_since is None else min(open_since, pinned)
                        newest = record["plan_time"] if newest is None else max(newest, record["plan_time"])
                        emitted += 1
                        yield record
            except JobNotFoundError as exc:
                self._missing_jobs.add(job_name)
                self._summary.add(jobs_missing=1, instances=emitted, rows_dropped=shaper.dropped)
                self.log(
                    "Job %r was not found (%s); its instances are skipped, the other jobs go on.",
                    job_name,
                    exc,
                    level=logging.WARNING,
                )
                return
            # Every record of this window has been written: the bookmark may move past it. A
            # window whose pages fell short of `total` may have lost rows: `open_since` makes the
            # next sync read it again (a rule of the bookmark: re-read, never lose).
            with self._mismatched_lock:
                if unit in self._mismatched:
                    open_since = (
                        unit.window.start if open_since is None else min(open_since, unit.window.start)
                    )
            after_window(
                unit.window,
                open_since,
                sync_started_ms=self.sync_started_ms,
                previous=self._start_bookmarks.get(job_name),
                newest=newest,
            ).write_to(state)
            self._summary.add(windows=1, instances=emitted, rows_dropped=shaper.dropped)
            shaper.dropped = 0
            self.window_closed()
        self._summary.add(jobs_read=1)
