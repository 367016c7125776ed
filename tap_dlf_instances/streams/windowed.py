"""The base of the streams read in windows of their replication key: ``instances`` (plan time,
a bookmark per job) and ``alarms`` (alarm time, one bookmark).

What they share, and what this class holds:
- **Planning** from a bookmark: a bookmark past the moment the sync started (a clock difference,
  a hand-edited state) is pulled back to it with a warning, and reading starts at
  ``bookmark - lookback`` or ``start_date`` (``bookmarks``); ``windows_from`` plans the windows.
- **Closing a window**: once every record of a window is written, the subclass moves its
  bookmark and calls ``window_closed``; the STATE message that says so goes out at most about
  once a second (``state_cadence``), always after the records it covers. The SDK writes the last
  one when the stream ends, and its own STATE every N records is off: it would only repeat one.
- **Failing safe**: when reading fails, the windows closed before keep their bookmarks: their
  STATE goes out at once rather than at a tick that will not come, and the error goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tap_dlf_instances.api.client import DLFStream
from tap_dlf_instances.state.bookmarks import Bookmark, pulled_back, read_start
from tap_dlf_instances.state.cadence import StateCadence
from tap_dlf_instances.windows import Window, format_ms, plan_windows, to_ms, window_width_ms

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_dlf_instances.run_context import RunContext


class WindowedStream(DLFStream):
    """A stream read window by window, its bookmarks moved per window (see the module)."""

    # Bookmarks move per window and `window_closed` paces the STATE messages; the SDK's extra
    # STATE every N records would only add messages that claim nothing new.
    STATE_MSG_FREQUENCY = 1 << 62

    def __init__(self, tap: Tap, *, run: RunContext) -> None:
        super().__init__(tap, run=run)
        self.state_cadence = StateCadence()

    @property
    def sync_started_ms(self) -> int:
        """When this run started: the default end of every window, and the bookmarks' ceiling."""
        return to_ms(self._run.sync_started_at)

    def read_start(self, stored: Bookmark, *, whose: str, read_again: str) -> tuple[Bookmark, int]:
        """The bookmark this sync goes by (``stored``, pulled back to the sync's start if past
        it) and where reading starts. ``whose`` names the bookmark and ``read_again`` what is
        read again from ``start_date``, in the warning."""
        bookmark = pulled_back(stored, sync_started_ms=self.sync_started_ms)
        if bookmark.watermark != stored.watermark:
            self.log(
                "%s (%s) is past the moment this sync started (%s); %s.",
                whose,
                format_ms(stored.watermark or 0),
                format_ms(self.sync_started_ms),
                "pulled back to it (a clock difference)"
                if bookmark.watermark is not None
                else f"it says nothing about what was read, so {read_again} again from `start_date`",
                level=logging.WARNING,
            )
        settings = self.settings
        start = read_start(
            bookmark,
            start_date_ms=to_ms(settings.start_date),
            lookback_ms=int(settings.lookback.total_seconds() * 1000),
        )
        return bookmark, start

    def windows_from(self, ranges: Iterable[tuple[int, int]]) -> list[Window]:
        """The windows of ``window_days`` at most that cover ``ranges`` (disjoint, in order)."""
        width = window_width_ms(self.settings.window_days)
        return [window for start, end in ranges for window in plan_windows(start, end, width)]

    def window_closed(self) -> None:
        """A window's bookmark has moved: a STATE message, when one is due."""
        self.state_manager.is_flushed = False
        if self.state_cadence.due():
            self._write_state_message()

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            yield from self.read_windows(context)
        except Exception:
            self._write_state_message()
            raise

    def read_windows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """The records of ``context``, window by window, each window closed once written."""
        raise NotImplementedError

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """Bookmarks move per window (``window_closed``), not per record: rows come newest first
        within a window, so the largest value seen says nothing about what is complete."""
