"""The ``alarms`` stream: alarm notifications of the workspace's job instances
(``GET /v2/{project_id}/factory/alarm-info``, the SDK's ``ListFactoryAlarmInfo``).

Read in windows of ``alarm_time`` from ``bookmark - lookback`` (or ``start_date``) to the moment
the sync started, at most one month each: the API defaults to the last hour when a bound is
missing, so both are always sent. A window ``[a, b)`` is asked for as ``start_time = a - 1,
end_time = b`` (the bounds are taken to be strict, as the instances API's are; a server reading
them as inclusive only sends an edge row twice, which is dropped). Inside a window the tap pages
with ``offset``/``limit`` as for instances: the same paginator, pages in parallel once ``total``
is known, pacing, authentication, retries, checks of hostile bodies and of ``total``. ``offset``
is read as the ``offset_mode`` setting says, and in ``auto`` it is learnt for this route on its
own: the routes have different back ends, and the evidence for this one (Huawei's Terraform
provider) is a row offset, for instances a page.

The bookmark (``replication_key_value``, an ``alarm_time`` in ms) moves to the end of each window
once its rows are written, never past the moment the sync started; a window whose pages fell short
of ``total`` stops it there, so the next sync reads that window again.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import typing as th

from tap_dlf_instances.api.paging import OffsetPaginator, OffsetReading
from tap_dlf_instances.api.responses import page_of
from tap_dlf_instances.api.window_fetch import read_window
from tap_dlf_instances.job_selection import configured_job_names, in_this_shard
from tap_dlf_instances.records import RecordShaper
from tap_dlf_instances.source_fields import SOURCE_PROPERTIES
from tap_dlf_instances.state.bookmarks import Bookmark
from tap_dlf_instances.streams.windowed import WindowedStream
from tap_dlf_instances.windows import Window, to_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_dlf_instances.run_context import RunContext


REPLICATION_KEY = "alarm_time"
#: The API fields of the key: an alarm is one notification of one kind for one planned run.
KEY_FIELDS = ("job_name", "plan_time", "alarm_time", "remind_type")

ALARM_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    # The fields of the SDK's AlarmInfoResponseAlarmInfo, in its order.
    th.Property(
        "alarm_time",
        th.IntegerType,
        required=True,
        description="When the notification was sent, ms since the epoch (the replication key).",
    ),
    th.Property("job_name", th.StringType, required=True, description="Job name."),
    th.Property(
        "schedule_type",
        th.IntegerType,
        description="Scheduling mode of the instance: 0 general, 2 manual, 5 PatchData, 6 sub-job, "
        "7 one-off scheduling.",
    ),
    th.Property("send_msg", th.StringType, description="The message sent."),
    th.Property(
        "plan_time",
        th.IntegerType,
        required=True,
        description="Planned time of the instance the alarm is about, ms since the epoch.",
    ),
    th.Property(
        "remind_type",
        th.IntegerType,
        required=True,
        description="0 run succeeded, 1 run failed (or ran with exceptions), 12 not finished, "
        "13 run cancelled.",
    ),
    th.Property("send_status", th.IntegerType, description="0 sent, 1 sending failed."),
    th.Property("job_id", th.IntegerType, description="Job ID."),
).to_dict()


class AlarmShaper(RecordShaper):
    """Records of the alarms schema (records.RecordShaper); rows without their key (the API
    gives alarms no ID) are dropped and counted, with one warning."""

    def __init__(self, *, project_id: str, workspace: str | None) -> None:
        super().__init__(ALARM_SCHEMA, label="Alarms", project_id=project_id, workspace=workspace)

    def record(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        record = self.typed(row)
        self.warn_unknown_fields(row)
        if any(record[name] is None for name in KEY_FIELDS):
            self.dropped += 1
            self.warn_once(
                "<key>",
                f"skipped a row without all of {', '.join(f'`{k}`' for k in KEY_FIELDS)} "
                f"({ {k: row.get(k) for k in KEY_FIELDS} }); further ones are counted",
            )
            return None
        return record


def alarm_key(row: Mapping[str, Any]) -> str | None:
    """A row's key as one hashable value (the API gives alarms no ID); None when it has none."""
    values = [row.get(name) for name in KEY_FIELDS]
    if all(value is None for value in values):
        return None
    return json.dumps(values, default=str)


class AlarmPaginator(OffsetPaginator):
    """Offset/limit paging of one window; rows told apart by their key."""

    def row_id(self, row: dict[str, Any]) -> Any:
        return alarm_key(row)


class AlarmsStream(WindowedStream):
    """Alarm notifications, incremental on ``alarm_time`` (see the module docstring)."""

    name = "alarms"
    path = "/alarm-info"
    primary_keys = ("project_id", "workspace", "job_name", "plan_time", "alarm_time", "remind_type")
    replication_key = REPLICATION_KEY
    is_sorted = False
    schema = ALARM_SCHEMA
    rows_key = "alarm_info"

    def __init__(self, tap: Tap, *, run: RunContext) -> None:
        super().__init__(tap, run=run)
        self._window: Window | None = None  # the window being read (the paginator names it)
        self._window_fell_short = False

    @functools.cached_property
    def _offset_reading(self) -> OffsetReading:
        """This route's own reading of ``offset`` (see the module docstring); made when the
        first window is read, as the settings are not known at discovery."""
        return OffsetReading(self.settings.offset_mode)

    # Requests

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        window: Window = (context or {})["window"]
        # The SDK's query names (ListFactoryAlarmInfoRequest); both bounds always (a missing one
        # is the last hour).
        return {
            "start_time": window.start - 1,
            "end_time": window.end,
            "offset": next_page_token or 0,
            "limit": self.settings.page_size,
        }

    def get_new_paginator(self) -> AlarmPaginator:
        paginator = AlarmPaginator(
            page_size=self.settings.page_size,
            reading=self._offset_reading,
            page_of=lambda response: page_of(response, "alarm_info"),
            id_key="",
        )
        paginator.where = f"Alarms, window {self._window}"
        paginator.on_mismatch = self._window_short
        return paginator

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return page_of(response, "alarm_info").rows

    # Windows and the bookmark

    def _windows(self, state: Mapping[str, Any]) -> list[Window]:
        stored = Bookmark.from_state(state)
        raw = state.get("replication_key_value")
        if raw is not None and stored.watermark is None:
            self.log(
                "The alarms bookmark %s is not an alarm time in milliseconds; alarms are read "
                "again from `start_date`.",
                json.dumps(raw, default=str)[:40],
                level=logging.WARNING,
            )
        _bookmark, start = self.read_start(
            Bookmark(watermark=stored.watermark), whose="The alarms bookmark", read_again="alarms are read"
        )
        # Alarms sent after the sync started may not exist yet: never read (nor bookmark) past it.
        end = min(to_ms(self.settings.end_date or self._run.sync_started_at), self.sync_started_ms)
        return self.windows_from([(start, end)])

    def read_windows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        return self._emit(self.get_context_state(context))

    def _emit(self, state: dict[str, Any]) -> Iterator[dict[str, Any]]:
        shaper = AlarmShaper(project_id=self.settings.project_id, workspace=self.settings.workspace)
        seen: set[str] = set()  # alarms are few (one per failed run): the run's keys fit in memory
        wanted = self._wanted_jobs()
        # The first window's STATE waits its second too: a stream of a few windows then adds
        # one message, the SDK's at its end, to the run's one a second.
        self.state_cadence.due()
        moving = True
        emitted = left_out = 0
        for window in self._windows(state):
            self._window, self._window_fell_short = window, False
            for row in self._rows(window):
                record = shaper.record(row)
                if record is None:
                    continue
                key = alarm_key(record)
                if key is None or key in seen:
                    continue
                seen.add(key)
                if not wanted(record["job_name"]):
                    left_out += 1
                    continue
                emitted += 1
                yield record
            if self._window_fell_short:
                # Its pages held fewer rows than `total`: the bookmark stays before it, so the
                # next sync reads it again (re-read, never lose); later windows are still read.
                moving = False
            if moving:
                state["replication_key"] = REPLICATION_KEY
                state["replication_key_value"] = min(window.end, self.sync_started_ms)
                self.window_closed()
        self.log(
            "Alarms: %d emitted%s%s.",
            emitted,
            f", {left_out} of jobs not configured or of other shards left out" if left_out else "",
            f", {shaper.dropped} rows without their key dropped" if shaper.dropped else "",
        )

    def _rows(self, window: Window) -> Iterator[dict[str, Any]]:
        """The rows of one window: its first pages in order until ``total`` and the reading of
        ``offset`` are known, then the rest in parallel (api/window_fetch.py, as for instances;
        the SDK's ``request_records`` fetches one page after the other)."""
        context: Context = {"window": window}
        send = self.request_decorator(self._request)

        def fetch_page(offset: int) -> tuple[requests.Response, list[dict[str, Any]]]:
            response = send(self.prepared_request(context, offset), context)
            return response, list(self.parse_response(response))

        def on_reread() -> None:
            self.log(
                "Alarms, window %s: the listing changed while its pages were read in parallel; "
                "reading it again in order.",
                window,
            )

        self._run.prepare_for_threads()
        for rows in read_window(
            fetch_page,
            self.get_new_paginator,
            pool=self._run.services.page_pool,
            ahead=self.settings.max_workers,
            on_reread=on_reread,
        ):
            yield from rows

    def _wanted_jobs(self) -> Callable[[str], bool]:
        """Which jobs' alarms this run emits. The API lists the whole workspace's; like the other
        streams, a run keeps to the configured ``job_names`` (with the configured real-time
        sub-jobs) and to its shard, so shards split the alarms without loading one twice."""
        settings = self.settings
        configured = configured_job_names(settings)
        names = set(configured) if configured is not None else None

        def wanted(job_name: str) -> bool:
            if names is not None and job_name not in names:
                return False
            return in_this_shard(job_name, settings)

        return wanted

    def _window_short(self) -> None:
        self._window_fell_short = True
