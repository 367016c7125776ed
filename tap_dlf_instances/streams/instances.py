"""The ``instances`` stream: every run of the jobs read, window by window, with a bookmark per job."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_dlf_instances.api.client import JobNotFoundError, path_segment
from tap_dlf_instances.api.paging import OffsetPaginator
from tap_dlf_instances.api.prefetch import OrderedPrefetcher, UnitsByJob
from tap_dlf_instances.api.responses import page_of
from tap_dlf_instances.api.window_fetch import read_window
from tap_dlf_instances.api.workspace_listing import (
    SPANS_MS,
    InstanceListing,
    listing_page,
)
from tap_dlf_instances.errors import ApiError, ConfigError
from tap_dlf_instances.patch_catch_up import STATE_KEY as PATCH_STATE_KEY
from tap_dlf_instances.patch_catch_up import PatchCatchUp, plan_catch_up, ranges_to_read
from tap_dlf_instances.records import INSTANCE_SCHEMA, InstanceShaper, RecentInstanceIds
from tap_dlf_instances.state.bookmarks import (
    Bookmark,
    ReadClaim,
    after_window,
    flag_bits,
    is_open,
    open_since_for,
)
from tap_dlf_instances.state.unchanged import already_emitted
from tap_dlf_instances.streams.patch_data import PatchDataStream
from tap_dlf_instances.streams.sdk_speedups import PerRecordSpeedups
from tap_dlf_instances.streams.windowed import WindowedStream
from tap_dlf_instances.summary import RunSummary
from tap_dlf_instances.windows import Window, format_ms, plan_windows, to_ms, window_width_ms
from tap_dlf_instances.workspace_plan import before, common_start, listing_is_cheaper, narrower_width

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dlf_instances.run_context import ListingPages

#: Failed runs a job's claim lists at most (state/unchanged.py); a job with more keeps the
#: previous claim instead: its rows are emitted again rather than the STATE growing.
MAX_FAILED_KEPT = 500

#: Answers to the PatchData list that leave the instances to be read without it: refused
#: (403), not there (404), a parameter refused (400). Anything else stops the run as usual.
TOLERATED_PATCH_LIST_STATUSES = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND}
)


@dataclass
class JobProgress:
    """What one sync read of a job so far: its bookmark's inputs (see ``bookmarks``)."""

    open_since: int | None = None
    newest: int | None = None
    run: tuple[int, int] | None = None  # plan times read in full, window after window
    failed: dict[int, int] = field(default_factory=dict)  # failed runs of the run: ID -> flags
    window_failed: dict[int, int] = field(default_factory=dict)  # those of the open window

    def saw(self, record: Mapping[str, Any], window: Window) -> None:
        plan_time = record["plan_time"]
        if record["status"] == "fail":
            self.window_failed[record["instance_id"]] = flag_bits(record)
        elif is_open(record["status"]):
            pinned = open_since_for(window, plan_time)
            self.open_since = pinned if self.open_since is None else min(self.open_since, pinned)
        self.newest = plan_time if self.newest is None else max(self.newest, plan_time)


@dataclass(frozen=True)
class ListingPlan:
    """The workspace listing's part of a sync: the jobs it reads, and its windows."""

    jobs: frozenset[str]
    windows: list[Window]


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

    def prefetch(self, records: list[dict[str, Any]]) -> None: ...

    def job_done(self, job_name: str) -> None: ...

    def log_summary(self) -> None: ...


class InstancesStream(PerRecordSpeedups, WindowedStream):
    """Job instances, read window by window, with a bookmark per job.

    Two ways to read them (``instance_listing``): per job, one V2 listing per job and window;
    or the workspace-wide DLF V1 listing, every job's instances in one listing per window
    (api/workspace_listing.py), with each job's earlier plan times, if any, read per job before
    it (workspace_plan.py). The SDK still goes partition by partition (a job each); in the
    workspace mode the first partition's turn emits the listing's records of every job.

    See ``bookmarks`` for the rule that decides what each sync re-reads, and
    ``state/unchanged`` for the rows read again that are not emitted again.
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
        self._mismatched: set[WindowOfJob | Window] = set()
        self._mismatched_lock = threading.Lock()
        self._start_bookmarks: dict[str, Bookmark] = {}  # each job's bookmark as this sync began
        self._patch_ranges: dict[str, list[tuple[int, int]]] | None = None
        self._patch_state: dict[str, Any] | None = None  # written once every job is done
        self._jobs_done: set[str] = set()
        self._ranges: dict[str, list[tuple[int, int]]] = {}  # each job's plan times to read
        self._progress: dict[str, JobProgress] = {}
        self._listing: ListingPlan | None = None  # None: every job is read per job
        self._mode_chosen = False
        self._listing_read = False
        self._probe: tuple[Window, requests.Response, list[dict[str, Any]]] | None = None

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

    def _window_paginator(self, unit: WindowOfJob | Window) -> OffsetPaginator:
        """A paginator whose messages name the job (or the listing) and window, and whose
        mismatches reach it."""
        if isinstance(unit, Window):
            paginator = OffsetPaginator(
                page_size=self.settings.page_size,
                reading=self._run.services.listing_offset_reading,
                page_of=listing_page,
                id_key="instance_id",
            )
            paginator.where = f"Instances of the workspace listing, window {unit}"
        else:
            paginator = self.get_new_paginator()
            paginator.where = f"Instances of job {unit.job_name!r}, window {unit.window}"
        paginator.on_mismatch = functools.partial(self._window_mismatched, unit)
        return paginator

    def _window_mismatched(self, unit: WindowOfJob | Window) -> None:
        """``total`` and the pages of ``unit`` disagreed (on a fetching thread): counted, and
        the window is read again by the next sync (see ``_close_window``)."""
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

    def _page_fetcher(
        self, unit: WindowOfJob | Window
    ) -> Callable[[int], tuple[requests.Response, list[dict[str, Any]]]]:
        """Fetches one page of ``unit`` (a job's window, or a window of the workspace listing)
        by the SDK's request path: auth, pacing, retries, checks."""
        if isinstance(unit, Window):
            listing = self._listing_reader

            def fetch_page(offset: int) -> tuple[requests.Response, list[dict[str, Any]]]:
                probe = self._probe
                if probe is not None and offset == 0 and probe[0] == unit:
                    self._probe = None  # the page the choice of mode read: not asked again
                    return probe[1], probe[2]
                return listing.page(unit, offset)

            return fetch_page
        context: Context = {"job_name": unit.job_name, "window": unit.window}
        send = self.request_decorator(self._request)

        def fetch_job_page(offset: int) -> tuple[requests.Response, list[dict[str, Any]]]:
            response = send(self.prepared_request(context, offset), context)
            return response, list(self.parse_response(response))

        return fetch_job_page

    @functools.cached_property
    def _listing_reader(self) -> ListingPages:
        return self._run.workspace_listing_reader(on_request=lambda: self._summary.add(requests=1))

    def fetch_window(self, unit: WindowOfJob | Window) -> Iterator[list[dict[str, Any]]]:
        """All rows of one window, a page at a time (api/window_fetch.py); runs on a fetching
        thread."""
        if isinstance(unit, WindowOfJob) and unit.job_name in self._missing_jobs:
            return

        def on_reread() -> None:
            self.log(
                "%s: the listing changed while its pages were read in parallel; reading it again in order.",
                unit,
                level=logging.INFO,
            )

        yield from read_window(
            self._page_fetcher(unit),
            lambda: self._window_paginator(unit),
            pool=self._run.services.page_pool,
            ahead=self.settings.max_workers,
            on_reread=on_reread,
        )

    # Planning

    @property
    def end_ms(self) -> int:
        """Where every job's reading ends: ``end_date``, else the moment the sync started."""
        return to_ms(self.settings.end_date or self._run.sync_started_at)

    def _ranges_of(self, job_name: str) -> list[tuple[int, int]]:
        """The plan times to read for the job (its bookmark, lookback and PatchData ranges)."""
        if job_name not in self._ranges:
            stored = Bookmark.from_state(self.get_context_state({"job_name": job_name}))
            bookmark, start = self.read_start(
                stored, whose=f"The bookmark of job {job_name!r}", read_again="the job is read"
            )
            self._start_bookmarks[job_name] = bookmark
            floor = to_ms(self.settings.start_date) if "start_date" in self.config else None
            self._ranges[job_name] = ranges_to_read(
                (start, self.end_ms), self.patch_ranges().get(job_name, []), floor=floor
            )
        return self._ranges[job_name]

    def _windows_of(self, job_name: str) -> list[Window]:
        """The windows the job reads with its own requests: all of them, or in the workspace
        mode those before the listing's start."""
        ranges = self._ranges_of(job_name)
        listing = self._listing
        if listing is not None and job_name in listing.jobs:
            ranges = before(ranges, listing.windows[0].start) if listing.windows else ranges
        return self.windows_from(ranges)

    # Choosing how to read

    def _choose_listing(self) -> None:
        """Read per job, or with the workspace listing (``instance_listing``), said in one
        INFO line; decided at the first partition, once per run."""
        if self._mode_chosen:
            return
        self._mode_chosen = True
        wanted = self.settings.instance_listing
        if wanted is InstanceListing.PER_JOB:
            self.log("Instances are read per job (`instance_listing`: per_job).")
            return
        jobs = [name for name in self._run.instance_job_names if name not in self._run.sub_job_names]
        why_not = self._listing_unusable(jobs)
        plan: ListingPlan | None = None
        if why_not is None:
            plan, why_not = self._probe_listing(jobs, wanted)
        if plan is None:
            if wanted is InstanceListing.WORKSPACE:
                raise ConfigError(
                    f"Setting `instance_listing` is workspace, but the workspace listing {why_not}. "
                    "Set `instance_listing` to auto or per_job."
                )
            self.log("Instances are read per job: the workspace listing %s.", why_not)
            return
        existing = self._existing(sorted(plan.jobs))
        self._listing = plan = ListingPlan(frozenset(existing), plan.windows)
        sub_jobs = (
            f"; the {len(self._run.sub_job_names)} real-time sub-jobs are read per job"
            if self._run.sub_job_names
            else ""
        )
        if not plan.windows:
            self.log(
                "Instances of %d jobs are read with the workspace listing: nothing new yet%s.",
                len(plan.jobs),
                sub_jobs,
            )
            return
        width = max(w.end - w.start for w in plan.windows)
        self.log(
            "Instances of %d jobs are read with the workspace listing (DLF V1 ListJobInstances), "
            "from %s in %d windows of up to %.3g days%s.",
            len(plan.jobs),
            format_ms(plan.windows[0].start),
            len(plan.windows),
            width / 86_400_000,
            sub_jobs,
        )

    def _existing(self, jobs: list[str]) -> list[str]:
        """The configured jobs the workspace has. Per job, the API names a job it does not know
        (DLF.0100); the listing just has no rows of it, so `job_names` is checked against the
        jobs list once (a request per 100 jobs), and a missing job is said as per job."""
        if self.settings.job_names is None:
            return jobs
        known = {job.get("name") for job in self._run.workspace_jobs()}
        missing = [job for job in jobs if job not in known]
        for job in missing:
            self._summary.add(jobs_missing=1)
            self.log(
                "Job %r was not found (not in the workspace's jobs list); its instances are "
                "skipped, the other jobs go on.",
                job,
                level=logging.WARNING,
            )
        return [job for job in jobs if job in known]

    def _listing_unusable(self, jobs: list[str]) -> str | None:
        settings = self.settings
        if settings.v1_api_url is None:
            return "has no endpoint: none is known for this region (set `v1_api_url`)"
        if settings.filters.force_success is not None or settings.filters.ignore_success is not None:
            return "takes no `force_success` or `ignore_success` filter"
        if not jobs:
            return "is not needed (no batch jobs to read)"
        return None

    def _probe_listing(
        self, jobs: list[str], wanted: InstanceListing
    ) -> tuple[ListingPlan | None, str | None]:
        """The listing's plan, its first page read to learn the span it takes (``SPANS_MS``,
        widest first) and its size; or None and why (``auto``)."""
        starts = {}
        for job in jobs:
            ranges = self._ranges_of(job)
            starts[job] = ranges[-1][0] if ranges and ranges[-1][1] == self.end_ms else self.end_ms
        start = common_start(list(starts.values()))
        if start >= self.end_ms:
            return ListingPlan(frozenset(jobs), []), None
        for index, span in enumerate(SPANS_MS):
            width = min(span, window_width_ms(self.settings.window_days))
            windows = list(plan_windows(start, self.end_ms, width))
            first = windows[0]
            try:
                response, rows = self._page_fetcher(first)(0)
            except ApiError as exc:
                narrower = index + 1 < len(SPANS_MS) and first.end - first.start > SPANS_MS[index + 1]
                if exc.status == HTTPStatus.BAD_REQUEST and narrower:
                    self.log(
                        "The workspace listing refused a span of %.3g days (%s); trying a narrower one.",
                        (first.end - first.start) / 86_400_000,
                        exc.error_code,
                        level=logging.INFO,
                    )
                    continue
                # `auto` never fails a sync that per-job reads would complete, but throttling is
                # the user's quota, which the per-job route shares: that stops the run as anywhere.
                if wanted is InstanceListing.WORKSPACE:
                    raise ApiError(
                        f"{str(exc).rstrip('.')}. (`instance_listing` is workspace; auto would read "
                        "per job where the listing is not served.)",
                        status=exc.status,
                        error_code=exc.error_code,
                    ) from None
                if exc.status == HTTPStatus.TOO_MANY_REQUESTS:
                    raise
                if HTTPStatus.BAD_REQUEST <= exc.status < HTTPStatus.INTERNAL_SERVER_ERROR:
                    code = f" {exc.error_code}" if exc.error_code else ""
                    return None, f"is not served here ({exc.status}{code})"
                return None, f"could not be read ({exc})"
            total = listing_page(response).total
            if wanted is InstanceListing.AUTO and not listing_is_cheaper(
                total=total, page_size=self.settings.page_size, jobs=len(jobs), share=_share(rows, jobs)
            ):
                return None, (
                    f"would cost more: {total} instances of the workspace in its first window, more "
                    f"pages than the {len(jobs)} jobs' own requests"
                )
            narrowed = narrower_width(first.end - first.start, total)
            if narrowed is not None:
                # A window of more rows than the tap keeps IDs of: narrower windows, the same
                # pages; the page read here belongs to the wider one and is not used.
                return ListingPlan(frozenset(jobs), list(plan_windows(start, self.end_ms, narrowed))), None
            self._probe = (first, response, rows)
            return ListingPlan(frozenset(jobs), windows), None
        raise AssertionError("unreachable: the last span is not retried")  # pragma: no cover

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
            names = [p["job_name"] for p in self.partitions]
            if self._listing is not None:  # the listing's jobs first: their turn comes first
                names.sort(key=lambda name: name not in self._listing.jobs)  # type: ignore[union-attr]
            plan = {name: [WindowOfJob(name, w) for w in self._windows_of(name)] for name in names}
            self._units = UnitsByJob(plan, lambda unit: unit.job_name, self._prefetcher)
        return self._units.units_of(job_name, lambda: self._replanned(job_name))

    def _replanned(self, job_name: str) -> list[WindowOfJob]:
        """The units of a job asked for again or out of order: from its bookmark as it is now."""
        self._ranges.pop(job_name, None)
        self._progress.pop(job_name, None)
        return [WindowOfJob(job_name, w) for w in self._windows_of(job_name)]

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
        job_name = context["job_name"]
        self._choose_listing()
        listing = self._listing
        if listing is not None and not self._listing_read:
            self._listing_read = True  # at the first partition, whichever it is: every listed job
            yield from self._emit_listing(listing)
        if listing is None or job_name in self._run.sub_job_names:
            yield from self._emit_job(job_name)
        # else the listing read it, or the workspace lacks it (said once, in `_existing`)
        for child in self._selected_children:
            child.job_done(job_name)
            self.state_manager.is_flushed = False  # the children's state is in the STATE
        self._jobs_done.add(job_name)
        if self._patch_state is not None and self._jobs_done.issuperset(self._run.instance_job_names):
            # Every job is done: the PatchData runs of this sync count as caught up, in the
            # sync's last STATE. A sync that stops before leaves them to the next one.
            self.stream_state[PATCH_STATE_KEY] = self._patch_state

    def _wanted(
        self,
        rows: Iterable[dict[str, Any]],
        *,
        window: Window,
        shaper: InstanceShaper,
        seen: RecentInstanceIds,
        jobs: frozenset[str] | None,
        job_name: str = "",
    ) -> list[dict[str, Any]]:
        """The records of ``rows`` to emit: shaped, first seen, of a job read here (``jobs``;
        None: the one ``job_name``), and not already held by the target (``state/unchanged``);
        every record read counts in its job's progress."""
        check_unchanged = not self.settings.emit_unchanged
        records: list[dict[str, Any]] = []
        unchanged = 0
        shape, first_time = shaper.record, seen.first_time
        # Per job, looked up when the job changes (rows of one job come together, per job
        # always), not for every row: this loop is most of a backfill's time.
        current: str | None = None
        progress = JobProgress()
        previous = Bookmark()
        for row in rows:
            if jobs is not None:
                job_name = row.get("job_name")  # type: ignore[assignment]
                if type(job_name) is not str:
                    shaper.unattributed(row)
                    continue
                if job_name not in jobs:
                    continue  # a job not selected, or of another shard: never emitted
            record = shape(row, job_name)
            if record is None or not first_time(record["instance_id"]):
                continue
            if job_name != current:
                current = job_name
                progress = self._progress.get(job_name) or self._progress.setdefault(job_name, JobProgress())
                previous = self._start_bookmarks[job_name]
            progress.saw(record, window)
            if check_unchanged and previous.read is not None and already_emitted(previous, record):
                unchanged += 1
                continue
            records.append(record)
        if unchanged:
            self._summary.add(unchanged=unchanged)
        for child in self._selected_children:
            child.prefetch(records)
        return records

    def _close_window(self, job_name: str, window: Window, *, mismatched: bool) -> None:
        """Every record of ``window`` for the job has been written: its bookmark may move past
        it. A window whose pages fell short of ``total`` may have lost rows: ``open_since``
        makes the next sync read it again (a rule of the bookmark: re-read, never lose), and
        it breaks this sync's read in full (``run``)."""
        progress = self._progress.setdefault(job_name, JobProgress())
        window_failed, progress.window_failed = progress.window_failed, {}
        if mismatched:
            start = window.start
            progress.open_since = start if progress.open_since is None else min(progress.open_since, start)
            progress.run = None
            progress.failed = {}
        elif progress.run is not None and progress.run[1] == window.start:  # the run goes on
            progress.run = (progress.run[0], window.end)
            progress.failed.update(window_failed)
        else:  # a new run: the failed runs of an earlier one are outside its range
            progress.run = (window.start, window.end)
            progress.failed = window_failed
        synced = self.sync_started_ms
        run = progress.run
        read = None
        if run and run[0] < min(run[1], synced) and len(progress.failed) <= MAX_FAILED_KEPT:
            read = ReadClaim(run[0], min(run[1], synced), synced, dict(progress.failed))
        after_window(
            window,
            progress.open_since,
            sync_started_ms=synced,
            previous=self._start_bookmarks.get(job_name),
            newest=progress.newest,
            read=read,
        ).write_to(self.get_context_state({"job_name": job_name}))

    def _is_mismatched(self, unit: WindowOfJob | Window) -> bool:
        with self._mismatched_lock:
            return unit in self._mismatched

    def _emit_listing(self, listing: ListingPlan) -> Iterator[dict[str, Any]]:
        """The records of every listed job: first each job's own windows before the listing's
        start, then the listing's windows, after each of which every listed job's bookmark
        moves (``_close_window``)."""
        seen = RecentInstanceIds()
        for job_name in [p["job_name"] for p in self.partitions if p["job_name"] in listing.jobs]:
            if self._windows_of(job_name):
                yield from self._emit_job(job_name, tail=seen)
        if not listing.windows:
            return
        self._run.prepare_for_threads()
        prefetcher: OrderedPrefetcher[Window, list[dict[str, Any]]] = OrderedPrefetcher(
            listing.windows, self.fetch_window, workers=self.settings.max_workers
        )
        shaper = InstanceShaper(project_id=self.settings.project_id, workspace=self.settings.workspace)
        jobs_read: set[str] = set()
        for window, batches in prefetcher:
            seen.next_window()
            emitted = 0
            for batch in batches:
                records = self._wanted(batch, window=window, shaper=shaper, seen=seen, jobs=listing.jobs)
                emitted += len(records)
                yield from records
            mismatched = self._is_mismatched(window)
            for job_name in listing.jobs:
                self._close_window(job_name, window, mismatched=mismatched)
            jobs_read.update(listing.jobs)
            self._summary.add(windows=1, instances=emitted, rows_dropped=shaper.dropped)
            shaper.dropped = 0
            self.window_closed()
        self._summary.add(jobs_read=len(jobs_read))

    def _emit_job(self, job_name: str, *, tail: RecentInstanceIds | None = None) -> Iterator[dict[str, Any]]:
        """The records of one job read with its own requests, window by window. ``tail`` hears
        the IDs of the job's last window when it ends where the listing starts: a server that
        reads a bound as inclusive sends those rows in both."""
        seen = RecentInstanceIds()
        unit: WindowOfJob | None = None
        shaper = InstanceShaper(project_id=self.settings.project_id, workspace=self.settings.workspace)
        for unit, batches in self._units_of(job_name):
            seen.next_window()
            emitted = 0
            try:
                for batch in batches:
                    records = self._wanted(
                        batch, window=unit.window, shaper=shaper, seen=seen, jobs=None, job_name=job_name
                    )
                    emitted += len(records)
                    yield from records
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
            self._close_window(job_name, unit.window, mismatched=self._is_mismatched(unit))
            self._summary.add(windows=1, instances=emitted, rows_dropped=shaper.dropped)
            shaper.dropped = 0
            self.window_closed()
        if self._listing is None or job_name not in self._listing.jobs:
            self._summary.add(jobs_read=1)
        elif (
            tail is not None
            and unit is not None
            and self._listing.windows
            and unit.window.end == self._listing.windows[0].start
        ):
            tail.remember(seen.current)


def _share(rows: list[dict[str, Any]], jobs: list[str]) -> float:
    """The share of the listing's rows that are of ``jobs``, from its first page (1 if empty):
    a handful of jobs of a large workspace is a small share, cheaper read per job."""
    if not rows:
        return 1.0
    wanted = set(jobs)
    theirs = [row for row in rows if isinstance(row.get("job_name"), str) and row["job_name"] in wanted]
    return len(theirs) / len(rows)
