"""The ``tap-dlf-instances`` tap: its settings, its streams, and what they share."""

from __future__ import annotations

import contextlib
import difflib
import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar

import click
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError, MapExpressionError, StreamMapConfigError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities

from tap_dlf_instances import scrubbing
from tap_dlf_instances.api.services import RunServices
from tap_dlf_instances.api.v1_client import JobDetailReader, WorkspaceListingReader
from tap_dlf_instances.config.checks import (
    check_stream_maps_shape,
    one_line,
    refuse_batch_config,
    schema_error_sentence,
)
from tap_dlf_instances.config.files import check_config_files, checked_catalog_text, checked_state_text
from tap_dlf_instances.config.readers import NUMBER_SETTINGS
from tap_dlf_instances.config.schema import CONFIG_SCHEMA, with_unset_defaults
from tap_dlf_instances.config.settings import (
    Settings,
    parse_settings,
)
from tap_dlf_instances.errors import ConfigError, TapDLFError
from tap_dlf_instances.job_selection import configured_sub_jobs, in_this_shard
from tap_dlf_instances.state.writer import EncodedStateWriter, StateFlushingWriter
from tap_dlf_instances.streams.alarms import AlarmsStream
from tap_dlf_instances.streams.instance_nodes import InstanceNodesStream
from tap_dlf_instances.streams.instances import InstancesStream
from tap_dlf_instances.streams.jobs import JobsStream
from tap_dlf_instances.streams.patch_data import PatchDataStream
from tap_dlf_instances.surrogates import SurrogateReplacements

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from tap_dlf_instances.sdk_private import _ConfigInput


class TapDLFInstances(Tap):
    """Job instances of Huawei Cloud DataArts Factory (DataArts Studio, formerly DLF)."""

    name = "tap-dlf-instances"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = StateFlushingWriter
    # The SDK's defaults without BATCH: the instances stream writes a STATE after each window
    # (the bookmark rule), while the SDK's batch mode writes the records' files only at the end,
    # so a target would commit bookmarks ahead of rows it has not got; see `refuse_batch_config`.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        capability for capability in Tap.capabilities if capability is not PluginCapabilities.BATCH
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync_started_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._workspace_jobs: list[dict[str, Any]] | None = None
        self._patch_listing: tuple[int | None, list[dict[str, Any]]] | None = None
        self.surrogate_replacements = SurrogateReplacements()
        super().__init__(*args, **kwargs)
        self._state_writer = EncodedStateWriter(self.message_writer)  # state/writer.py says why

    # Settings and what the streams share

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The first moment the whole config (files and environment) is known: from here on no
        # log line may carry one of its secrets.
        scrubbing.install(self._config)
        # null means "not set", as Meltano writes it; the SDK's own settings (stream_maps ...)
        # would otherwise crash on it.
        for key in [key for key, value in self._config.items() if value is None]:
            del self._config[key]
        # The SDK reads a config file's decimals as Decimal, and Decimal("0.01") is below the
        # float 0.01 of the schema's minimum: the documented bounds themselves were refused.
        for key, value in list(self._config.items()):
            if isinstance(value, Decimal) and key in DECIMAL_SETTINGS:
                self._config[key] = float(value)
        self.append_builtin_config(self.config_jsonschema)
        self._warn_unknown_settings()
        check_stream_maps_shape(self._config)
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            sentences = [schema_error_sentence(error, self._config) for error in exc.errors]
            raise ConfigValidationError(" ".join(sentences), errors=sentences) from None
        if errors:
            return errors
        try:
            _ = self.settings  # checked once, here, and kept
        except ConfigValidationError as exc:
            if raise_errors:
                raise
            return list(exc.errors)
        return []

    def setup_mapper(self) -> None:
        """The SDK's stream maps, with a broken map or expression as the tap's one sentence."""
        try:
            super().setup_mapper()
        except (StreamMapConfigError, MapExpressionError) as exc:
            raise ConfigError(f"Setting `stream_maps` is invalid: {exc}") from None

    def _warn_unknown_settings(self) -> None:
        """A misspelt setting would otherwise be ignored without a word. The known names are the
        final schema's (the tap's and the SDK's built-in ones), not a hand-kept list."""
        known = sorted(self.config_jsonschema.get("properties", {}))
        for key in self._config:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else "see --about for the settings."
            self.logger.warning("Unknown setting %r is ignored; %s", key, hint)

    @cached_property
    def settings(self) -> Settings:
        """The config, checked; a mistake is a ``ConfigValidationError`` of one sentence."""
        try:
            refuse_batch_config(self.config)
            settings = parse_settings(self.config, now=self.sync_started_at)
        except ConfigError as exc:
            raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        for name in settings.plain_http_urls():
            self.logger.warning(
                "Setting `%s` uses plain http:// to a host beyond this machine: credentials and "
                "data travel unencrypted; use https://.",
                name,
            )
        if settings.start_date > self.sync_started_at:
            self.logger.warning(
                "Setting `start_date` (%s) is in the future: no instance is planned after it yet, so "
                "this sync reads none (and leaves the bookmarks as they are). Is it the date you meant?",
                settings.start_date.isoformat(),
            )
        return settings

    @cached_property
    def services(self) -> RunServices:
        """What every request of the run shares (api/services.py), made from the settings."""
        return RunServices(self.settings)

    def prepare_for_threads(self) -> None:
        """Make the shared services before the fetching threads start (``cached_property`` does
        not guard creation on every Python version)."""
        _ = self.services

    # Jobs

    def workspace_jobs(self) -> list[dict[str, Any]]:
        """Every job of the workspace, listed once per run."""
        with self._lock:
            if self._workspace_jobs is None:
                jobs_stream = self.streams["jobs"]
                assert isinstance(jobs_stream, JobsStream)
                self._workspace_jobs = jobs_stream.list_jobs()
                self.logger.info("Found %d jobs in the workspace.", len(self._workspace_jobs))
            return self._workspace_jobs

    def configured_job_filter(self) -> set[str] | None:
        names = self.settings.job_names
        return set(names) if names is not None else None

    @cached_property
    def instance_job_names(self) -> list[str]:
        """Names whose instances this run reads: configured or discovered batch jobs, the
        configured real-time sub-jobs, then only this shard's share."""
        return [name for name in self._job_names_and_sub_jobs[0] if in_this_shard(name, self.settings)]

    @property
    def sub_job_names(self) -> frozenset[str]:
        """The real-time sub-jobs among ``instance_job_names`` (configured or found with ShowJob)."""
        return self._job_names_and_sub_jobs[1]

    @cached_property
    def _job_names_and_sub_jobs(self) -> tuple[list[str], frozenset[str]]:
        settings = self.settings
        sub_jobs = configured_sub_jobs(settings)
        if settings.job_names is not None:
            names = list(settings.job_names)
        else:
            jobs = self.workspace_jobs()
            names = [job["name"] for job in jobs if job.get("job_type") != "REAL_TIME"]
            sub_jobs = self._discovered_sub_jobs(jobs) + sub_jobs
        return list(dict.fromkeys(names + sub_jobs)), frozenset(sub_jobs)

    def discover_streams(self) -> list[Stream]:
        return [
            JobsStream(self, run=self),
            InstancesStream(self, run=self),
            InstanceNodesStream(self, run=self),
            PatchDataStream(self, run=self),
            AlarmsStream(self, run=self),
        ]

    @property
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams in its order (by name), but with the streams around the runs
        (``SYNC_LAST``) after the instances and jobs: the main table is read first, and a failing
        add-on route cannot keep it from loading. (``load_streams``, where the SDK sorts, is final.)"""
        streams = super().streams
        order = sorted(streams, key=lambda name: name in SYNC_LAST)  # stable: by name otherwise
        if list(streams) != order:
            self._streams = streams = {name: streams[name] for name in order}
        return streams

    def _discovered_sub_jobs(self, jobs: list[dict[str, Any]]) -> list[str]:
        """Real-time jobs have instances only per node, as sub-jobs ``<job>_<node>``: their nodes
        come from DLF V1 ``ShowJob``, one request per real-time job per sync, except for the jobs
        that `realtime_job_nodes` lists (the configured nodes win)."""
        configured = self.settings.realtime_job_nodes
        unread = [
            job["name"]
            for job in jobs
            if job.get("job_type") == "REAL_TIME" and job["name"] not in configured
        ]
        if not unread:
            return []
        quoted = ", ".join(repr(name) for name in unread)
        if self.settings.v1_api_url is None:
            self.logger.info(
                "Real-time jobs %s have instances only per node, and no DLF V1 endpoint is known to "
                "find their nodes: set `v1_api_url`, or list their nodes in `realtime_job_nodes`.",
                quoted,
            )
            return []
        reader = JobDetailReader(self, run=self)
        names: list[str] = []
        for job in unread:
            nodes = reader.node_names(job)
            if nodes is None:
                self.logger.warning(
                    "Real-time job %r was not found by ShowJob; its sub-jobs are skipped.", job
                )
                continue
            self.logger.info("Real-time job %r has nodes %s (ShowJob): their sub-jobs are read.", job, nodes)
            names += [f"{job}_{node}" for node in nodes]
        return names

    def patch_runs(self, since: int | None) -> list[dict[str, Any]]:
        """The PatchData runs submitted at or after ``since`` (all when None), listed once per
        run for both streams that need them (again only when a later ask goes further back)."""
        with self._lock:
            listed = self._patch_listing
            if listed is None or (listed[0] is not None and (since is None or since < listed[0])):
                stream = self.streams["patch_data"]
                assert isinstance(stream, PatchDataStream)
                listed = self._patch_listing = (since, stream.list_runs(since))
                self.logger.info("Found %d PatchData runs to look at.", len(listed[1]))
            return listed[1]

    def workspace_listing_reader(self, *, on_request: Callable[[], None]) -> WorkspaceListingReader:
        """The reader of the workspace-wide listing (DLF V1 ListJobInstances) for the instances
        stream; ``on_request`` hears of each request it sends."""
        return WorkspaceListingReader(self, run=self, on_request=on_request)

    def running_patch_runs(self) -> list[dict[str, Any]]:
        """The PatchData runs the API lists as RUNNING (a first sync's only look at them)."""
        stream = self.streams["patch_data"]
        assert isinstance(stream, PatchDataStream)
        return stream.list_runs(None, status="RUNNING")

    # Final in the SDK's typing only; it has no hook after the last stream, and the count of
    # replaced strings covers every stream, so it goes here, after a failure too.
    def sync_all(self) -> None:  # type: ignore[misc]
        try:
            super().sync_all()
            # The run ends with a STATE after its last RECORD, even an unchanged one (the SDK
            # skips a repeated STATE): a target may act on the last STATE only, and records after
            # it (patch_data, alarms) would leave it behind.
            writer, states = self.message_writer, self._state_writer
            if isinstance(writer, StateFlushingWriter) and writer.record_after_state:
                assert isinstance(states, EncodedStateWriter)  # set in __init__
                states.write_state(self.state, again=True)
        finally:
            self.surrogate_replacements.log(self.logger)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """The SDK writes the STATE and exits 0; exit 128 + the signal's number instead, so a
        scheduler does not take an interrupted backfill for a finished one."""
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None

    # Errors the user can act on end the run with their sentence, not a traceback.

    @classmethod
    def invoke(  # type: ignore[override]  # paths, not open files: see get_singer_command
        cls,
        *,
        state: str | None = None,
        catalog: str | None = None,
        **kwargs: Any,
    ) -> None:
        scrubbing.install()
        try:
            # The SDK parses these files with no check of their shape: read and check them
            # here, and hand it the checked content.
            state_text = None if state is None else checked_state_text(state, cls.logger)
            catalog_text = None if catalog is None else checked_catalog_text(catalog)
            super().invoke(
                state=None if state_text is None else io.StringIO(state_text),
                catalog=None if catalog_text is None else io.StringIO(catalog_text),
                **kwargs,
            )
        except TapDLFError as exc:
            raise click.ClickException(one_line(str(exc))) from None
        except ConfigValidationError as exc:
            raise click.ClickException(one_line(" ".join(exc.errors) or str(exc))) from None

    @classmethod
    def print_about(cls, output_format: str | None = None) -> None:
        """The SDK's ``--about``; in markdown, the Default column says what an unset setting
        means (``start_date``: 30 days back) instead of None (config/schema.py)."""
        if output_format != "markdown":
            super().print_about(output_format)
            return
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            super().print_about(output_format)
        print(with_unset_defaults(printed.getvalue()), end="")  # noqa: T201  # as the SDK prints it

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """``--state`` and ``--catalog`` as paths: opened by ``invoke``, so that a missing or
        unreadable file is one sentence naming it like a broken one, not click's usage text."""
        command = super().get_singer_command()
        for param in command.params:
            if param.name in ("state", "catalog"):
                param.type = click.STRING
        return command

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> _ConfigInput:
        """Read ``--config`` files: a broken one is one sentence naming it, and the secrets of a
        good one are known to the scrubber before anything else is logged."""
        try:
            check_config_files(value)
        except TapDLFError as exc:
            raise click.ClickException(one_line(str(exc))) from None
        config_input = super().cb_config(ctx, param, value)
        scrubbing.install(config_input.config)
        return config_input


#: The settings whose values may be decimals (settings.py reads them as floats).
DECIMAL_SETTINGS = frozenset({*NUMBER_SETTINGS, "instance_nodes_days"})

#: Streams synced after the others (see ``TapDLFInstances.load_streams``).
SYNC_LAST = frozenset({"alarms", "patch_data"})
