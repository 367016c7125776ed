"""The ``instance_nodes`` stream: each final instance's node runs, from the DLF V1 API.

``instance_nodes`` is a child of ``instances`` in the SDK's parent/child sense: the instances
stream hands it each instance that is due (``contexts_for``), and it asks
``GET /v1/{project_id}/jobs/{job_name}/instances/{instance_id}`` once for it, through the same
session, authenticator, pacer, retries and response checks as every other request (``DLFStream``).

Once per instance, across syncs, with small state: ``node_runs.NodeFetchMemory`` says which
instances are due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import metrics
from singer_sdk import typing as th
from singer_sdk.exceptions import RetriableAPIError

from tap_dlf_instances.api.client import JobNotFoundError, path_segment
from tap_dlf_instances.api.responses import error_fields, parsed_body
from tap_dlf_instances.api.v1_client import DLFV1Stream, MalformedNodesError, node_rows
from tap_dlf_instances.errors import ApiError
from tap_dlf_instances.node_runs import NodeFetchMemory, NodeShaper
from tap_dlf_instances.source_fields import SOURCE_PROPERTIES
from tap_dlf_instances.streams.instances import InstancesStream
from tap_dlf_instances.windows import to_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

NODE_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    th.Property("job_name", th.StringType, required=True, description="Job (or sub-job) name."),
    th.Property(
        "instance_id",
        th.IntegerType,
        required=True,
        description="The job instance the node ran in (the instances stream's `instance_id`).",
    ),
    th.Property("node_name", th.StringType, required=True, description="Node name."),
    th.Property(
        "status",
        th.StringType,
        description="waiting, running, success, fail, skip, pause or manual-stop.",
    ),
    th.Property("plan_time", th.IntegerType, description="The instance's planned time, ms since the epoch."),
    th.Property("start_time", th.IntegerType, description="Node start, ms since the epoch."),
    th.Property("end_time", th.IntegerType, description="Node end, ms since the epoch."),
    th.Property(
        "execute_time",
        th.NumberType,
        description="Node run time in ms. A number, as the instances stream's `execute_time` "
        "(Huawei's SDK models it as int).",
    ),
    th.Property("node_type", th.StringType, description="Node type (DLISQL, CDMJob, Shell, ...)."),
    th.Property("retry_times", th.IntegerType, description="Retries after failures."),
    th.Property("input_row_count", th.IntegerType, description="Rows read."),
    th.Property("output_row_count", th.IntegerType, description="Rows written."),
    th.Property("log_path", th.StringType, description="Where the node's log is (OBS path)."),
).to_dict()


#: What a node fetch on a pool thread gives back: (job, instance id), the node rows or the
#: error saying the instance is gone (None: not started), and the failure that stops the run.
_Prefetched = tuple[tuple[str, int], list[dict[str, Any]] | ApiError | None, BaseException | None]


class InstanceGoneError(ApiError):
    """The instance (or its job) no longer exists: deleted since it was listed."""


class _RunCounter(metrics.Counter):
    """One record counter for the whole run: the SDK syncs a child stream once per parent
    record, and its counter would log a METRIC line for every instance."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        return None


class _SilentTimer(metrics.Timer):
    """No METRIC line per instance either (see ``_RunCounter``)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        return None


#: Instances between two progress lines of a sync that fetches node runs.
PROGRESS_EVERY = 500


class InstanceNodesStream(DLFV1Stream):
    """The node runs of each final instance, fetched once (``NodeFetchMemory``)."""

    name = "instance_nodes"
    parent_stream_type = InstancesStream
    path = "/jobs/{job_name}/instances/{instance_id}"
    primary_keys = ("project_id", "workspace", "job_name", "instance_id", "node_name")
    replication_key = None
    schema = NODE_SCHEMA
    selected_by_default = False  # one request per instance: see the README for the cost
    # One state for the stream, not one partition per instance (NodeFetchMemory keeps it small).
    state_partitioning_keys: list[str] = []  # the SDK declares it so

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memory: NodeFetchMemory | None = None
        self._shaper: NodeShaper | None = None  # the settings are not known at --discover
        self._schema_written = False
        self._counter: _RunCounter | None = None
        # Node rows fetched ahead (prefetch), or the error saying the instance is gone.
        self._ready: dict[tuple[str, int], list[dict[str, Any]] | ApiError] = {}
        self.fetched = 0
        self.gone = 0
        self.node_runs = 0
        self._jobs_done = 0
        self._started: float | None = None  # when the first node-run request was asked for

    @property
    def shaper(self) -> NodeShaper:
        if self._shaper is None:
            self._shaper = NodeShaper(self.settings.project_id, self.settings.workspace)
        return self._shaper

    @property
    def memory(self) -> NodeFetchMemory:
        if self._memory is None:
            self._memory = NodeFetchMemory(
                self.stream_state.get("nodes_fetched"),
                sync_started_ms=to_ms(self._run.sync_started_at),
                logger=self.logger,
            )
        return self._memory

    # What the instances stream asks

    def contexts_for(self, record: Mapping[str, Any]) -> list[Context]:
        """The child context of an instance record if its node runs are due, else none."""
        job_name, instance_id = record.get("job_name"), record.get("instance_id")
        if not isinstance(job_name, str) or not isinstance(instance_id, int):
            return []
        age = self.settings.instance_nodes_age
        if age is not None:
            plan_time = record.get("plan_time")
            oldest = to_ms(self._run.sync_started_at - age)
            if not isinstance(plan_time, int) or plan_time < oldest:
                return []  # older than `instance_nodes_days`: never fetched
        ended = NodeFetchMemory.ended(record)
        if not self.memory.due(job_name, instance_id, record.get("status"), ended):
            return []
        return [{"job_name": job_name, "instance_id": instance_id, "ended": ended}]

    def prefetch(self, records: list[dict[str, Any]]) -> None:
        """Fetch the node runs of a page's due instances in parallel, before the SDK syncs this
        child record by record: one request after the other would leave the rate limit mostly
        unused against an API that takes 100 ms or more to answer. The tap's page pool runs
        them (``max_workers`` in flight, paced, the same request path); ``get_records`` takes
        the answers from here in the records' order."""
        contexts: dict[tuple[str, int], Context] = {}
        for record in records:
            for context in self.contexts_for(record):
                key = (context["job_name"], context["instance_id"])
                if key not in self._ready:
                    contexts.setdefault(key, context)
        if len(contexts) < 2:  # nothing to overlap: fetched when its record comes
            return
        # A failure (after its retries) stops the rest from starting, and is raised once the
        # requests in flight have ended: raised at once, their own "giving up" lines would be
        # logged after the run's final error line.
        failed = threading.Event()

        def fetch(context: Context) -> _Prefetched:
            key = (context["job_name"], context["instance_id"])
            if failed.is_set():
                return key, None, None  # not started: fetched when its record comes, if ever
            try:
                return (*self._fetch_outcome(context), None)
            except BaseException as exc:
                failed.set()
                return key, None, exc

        failure: BaseException | None = None
        pool = self._run.services.page_pool
        for key, outcome, error in pool.imap_unordered(
            fetch, list(contexts.values()), ahead=self.settings.max_workers
        ):
            if outcome is not None:
                self._ready[key] = outcome
            failure = failure or error
        if failure is not None:
            raise failure

    def _fetch_outcome(self, context: Context) -> tuple[tuple[str, int], list[dict[str, Any]] | ApiError]:
        """A fetch on a pool thread: the node rows, or the error that says the instance is gone
        (any other error is raised, and stops the run as a failed request does)."""
        key = (context["job_name"], context["instance_id"])
        try:
            return key, node_rows(parsed_body(self.fetch(context)))
        except (InstanceGoneError, JobNotFoundError) as exc:
            return key, exc

    def job_done(self, job_name: str) -> None:
        """The instances stream read every window of ``job_name`` (its records, and so the node
        runs of its due instances, are written): the job's memory moves on."""
        jobs = self.stream_state.setdefault("nodes_fetched", {}).setdefault("jobs", {})
        if not isinstance(jobs, dict):  # a state of another shape: replaced
            jobs = self.stream_state["nodes_fetched"] = {"jobs": {}}
            jobs = jobs["jobs"]
        jobs[job_name] = self.memory.job_done(job_name)
        self._jobs_done += 1

    # Requests

    def get_url(self, context: Context | None) -> str:
        ctx = context or {}
        return f"{self.url_base}/jobs/{path_segment(ctx['job_name'])}/instances/{int(ctx['instance_id'])}"

    def validate_response(self, response: requests.Response) -> None:
        super().validate_response(response)
        try:
            node_rows(parsed_body(response))
        except MalformedNodesError as exc:
            raise RetriableAPIError(
                f"{response.request.method} {response.request.path_url} answered "
                f"{response.status_code} with a body that {exc}",
                response,
            ) from None

    def _raise_client_error(self, response: requests.Response) -> None:
        code, message = error_fields(response)
        gone = code == "DLF.0100" or (response.status_code == HTTPStatus.NOT_FOUND and code != "APIGW.0101")
        if gone:
            raise InstanceGoneError(
                f"{response.status_code} {code or ''}: {message}", status=response.status_code
            )
        super()._raise_client_error(response)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return node_rows(parsed_body(response))

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        ctx = context or {}
        job_name, instance_id, ended = ctx["job_name"], ctx["instance_id"], ctx["ended"]
        self._note_progress()
        rows = self._ready.pop((job_name, instance_id), None)
        if rows is None:  # not fetched ahead (a page with one due instance)
            _key, rows = self._fetch_outcome(ctx)
        if isinstance(rows, ApiError):  # the instance, or its job, is gone
            self.gone += 1
            self.memory.fetched(job_name, instance_id, ended)  # not asked again
            self.log(
                "Instance %s of job %r is gone (%s): no node runs; the other instances go on.",
                instance_id,
                job_name,
                rows,
                level=logging.WARNING,
            )
            return
        self.fetched += 1
        for row in rows:
            record = self.shaper.record(row, job_name, instance_id)
            if record is not None:
                self.node_runs += 1
                yield record
        self.memory.fetched(job_name, instance_id, ended)

    def _note_progress(self) -> None:
        """One request per instance makes a first sync long (minutes for a few thousand runs):
        a line when it starts, then one every ``PROGRESS_EVERY`` instances, with the time left
        at this pace, estimated from the share of jobs read."""
        done = self.fetched + self.gone
        if self._started is None:
            self._started = time.monotonic()
            self.log(
                "instance_nodes is selected: one request per final instance not fetched before "
                "(`instance_nodes_days` bounds how far back); progress every %d instances.",
                PROGRESS_EVERY,
            )
        elif done and done % PROGRESS_EVERY == 0:
            elapsed = time.monotonic() - self._started
            jobs = len(self._run.instance_job_names)
            left = (
                f"about {_duration(elapsed * (jobs - self._jobs_done) / self._jobs_done)} left at this pace"
                if self._jobs_done
                else "the first job still being read"
            )
            self.log(
                "instance_nodes: node runs of %d instances fetched in %s (%.1f a second); %d of %d "
                "jobs read, %s.",
                done,
                _duration(elapsed),
                done / elapsed if elapsed else 0.0,
                self._jobs_done,
                jobs,
                left,
            )

    # The SDK syncs a child once per parent record: what it does per sync is done once per run.

    def _write_schema_message(self) -> None:
        if not self._schema_written:
            self._schema_written = True
            super()._write_schema_message()

    def _write_state_message(self) -> None:
        """The instances stream writes the STATE (its cadence, at most about once a second),
        which holds this stream's state too; one per instance would repeat every bookmark."""

    @property
    def emit_activate_version_messages(self) -> bool:
        # Each sync of this child covers one instance: an ACTIVATE_VERSION would tell the
        # target to drop every other row.
        return False

    def get_record_counter(self, **kwargs: Any) -> metrics.Counter:
        if self._counter is None:
            self._counter = _RunCounter(metrics.Metric.RECORD_COUNT, {metrics.Tag.STREAM: self.name})
        return self._counter

    def get_sync_timer(self) -> metrics.Timer:
        return _SilentTimer(metrics.Metric.SYNC_DURATION, {metrics.Tag.STREAM: self.name})

    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        if message.startswith("Beginning sync of"):
            level = logging.DEBUG  # once per instance (see above)
        super().log(message, *args, level=level, **kwargs)

    def log_summary(self) -> None:
        """One line for the run: instances whose node runs were fetched, node runs, anomalies."""
        anomalies = self.gone + self.shaper.dropped + self.shaper.nulled
        self.log(
            "instance_nodes: node runs of %d instances fetched (%d node runs); %d instances gone "
            "(404), %d nodes without a name dropped, %d values of the wrong type left out.",
            self.fetched,
            self.node_runs,
            self.gone,
            self.shaper.dropped,
            self.shaper.nulled,
            level=logging.WARNING if anomalies else logging.INFO,
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
