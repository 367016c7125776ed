"""The bookmark rule: where each job's next sync starts reading, and what it records.

A job's bookmark holds two plan times (ms):

- ``replication_key_value`` (the *watermark*): every window before it was read in full.
- ``open_since``: the earliest plan time of an instance that was not yet final when it was read
  (``waiting``, ``running``, ``running-exception``, ``pause``, ``freeze``), or the start of a
  window whose pages fell short of its ``total`` (rows may have been missed), or absent.

- ``newest_plan_time``: the latest plan time of an instance read for the job, in any sync.
- ``read``: ``[from, to, at, failed]``, plan times ``[from, to)`` that the sync started at
  ``at`` read in full, one window after the other, and the runs it found failed; what decides
  which rows need not be emitted again (``state/unchanged.py``).

The next sync reads from ``min(min(watermark, newest_plan_time) - lookback, open_since)`` (never
before ``start_date``; ``newest_plan_time`` counts only within 30 days of the watermark), so instances still running at the last sync are read again with their
final status, and PatchData or manual instances created late with a plan time inside the
lookback before the watermark or before the job's last instance (a weekly job, a job that
stopped) are picked up; nothing older is read again, except the ranges PatchData runs
re-ran (``patch_data``), which the instances stream reads again on top.

The watermark never moves backwards: a sync that re-reads older windows (``open_since``, a
PatchData range) keeps the stored watermark, and the stored ``open_since`` until the window
that holds it has been read again.

Neither value ever passes the moment the sync started, whatever ``end_date`` says: instances
planned later may not exist yet (``after_window``). A stored bookmark past it is pulled back
(``pulled_back``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_dlf_instances.windows import Window

REPLICATION_KEY = "plan_time"
OPEN_SINCE_KEY = "open_since"
NEWEST_KEY = "newest_plan_time"
READ_KEY = "read"
#: How far before the watermark the newest plan time may pull the start: a weekly job, or one that
#: stopped days ago, costs one more window at most; a job dormant for months is not re-read from
#: its last instance at every sync (PatchData runs of it are still caught by their ranges).
NEWEST_REACH_MS = 30 * 24 * 3_600_000

#: Statuses an instance can still leave. The final ones are success, fail, manual-stop and
#: skip-by-depend; an unknown status is treated as open, the safe side.
FINAL_STATUSES = frozenset({"success", "fail", "manual-stop", "skip-by-depend"})


def is_open(status: object) -> bool:
    return status not in FINAL_STATUSES


@dataclass(frozen=True)
class ReadClaim:
    """Every instance planned in ``[start, end)`` was read by the sync that started at ``at``;
    ``failed`` holds the ones that had failed then (instance ID -> ``flag_bits``), the only final
    runs that can change later without a new time (forced to success, failure ignored)."""

    start: int
    end: int
    at: int
    failed: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def from_state(cls, value: object) -> ReadClaim | None:
        """The claim of a state's ``read``: ``[from, to, at, [[id, bits], ...]]``; None for any
        other shape (it then claims nothing: rows are emitted again, never skipped wrongly)."""
        if not (isinstance(value, list) and len(value) == 4 and all(_is_int(v) for v in value[:3])):
            return None
        start, end, at, pairs = value
        if start >= end or not isinstance(pairs, list):
            return None
        failed: dict[int, int] = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and _is_int(pair[0]) and _is_int(pair[1])):
                return None
            failed[pair[0]] = pair[1]
        return cls(start, end, at, failed)

    def to_state(self) -> list[Any]:
        return [self.start, self.end, self.at, [[iid, bits] for iid, bits in sorted(self.failed.items())]]


def flag_bits(record: Mapping[str, Any]) -> int:
    """A run's ``force_success`` and ``ignore_success`` as one number."""
    return (record.get("force_success") is True) + 2 * (record.get("ignore_success") is True)


@dataclass(frozen=True)
class Bookmark:
    watermark: int | None = None
    open_since: int | None = None
    newest: int | None = None  # the latest plan time read for the job
    read: ReadClaim | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> Bookmark:
        """Read a partition's state; values that are not integers are ignored."""
        if not state:
            return cls()
        watermark = state.get("replication_key_value")
        open_since = state.get(OPEN_SINCE_KEY)
        newest = state.get(NEWEST_KEY)
        return cls(
            watermark=watermark if _is_int(watermark) else None,
            open_since=open_since if _is_int(open_since) else None,
            newest=newest if _is_int(newest) else None,
            read=ReadClaim.from_state(state.get(READ_KEY)),
        )

    def write_to(self, state: dict[str, Any]) -> None:
        state["replication_key"] = REPLICATION_KEY
        state["replication_key_value"] = self.watermark
        if self.open_since is None:
            state.pop(OPEN_SINCE_KEY, None)
        else:
            state[OPEN_SINCE_KEY] = self.open_since
        if self.newest is not None:
            state[NEWEST_KEY] = self.newest
        if self.read is not None:
            state[READ_KEY] = self.read.to_state()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_start(bookmark: Bookmark, *, start_date_ms: int, lookback_ms: int) -> int:
    """The first plan time the next sync must read."""
    if bookmark.watermark is None:
        return start_date_ms
    anchor = bookmark.watermark
    if bookmark.newest is not None and bookmark.watermark - bookmark.newest <= NEWEST_REACH_MS:
        anchor = min(bookmark.watermark, bookmark.newest)
    start = anchor - lookback_ms
    if bookmark.open_since is not None:
        start = min(start, bookmark.open_since)
    return max(start, start_date_ms)


def open_since_for(window: Window, plan_time: int) -> int:
    """Where a re-read must begin to see an open instance again.

    Usually its plan time; but the API's bounds may filter on another time (docs/api-notes.md), so an
    instance found in a window that does not hold its plan time is pinned to that window too.
    """
    return window.start if plan_time >= window.end else plan_time


def after_window(
    window: Window,
    open_since: int | None,
    *,
    sync_started_ms: int,
    previous: Bookmark | None = None,
    newest: int | None = None,
    read: ReadClaim | None = None,
) -> Bookmark:
    """The bookmark once ``window`` (and every earlier one of this sync) is fully emitted.

    The watermark never passes the moment the sync started: with an ``end_date`` in the future
    the windows up to it are read, but instances planned after the sync started may not exist
    yet, so they are not "read in full". ``open_since`` is kept at or below the watermark: an
    open instance planned later is inside the next sync's range anyway.

    ``previous`` is the bookmark the sync started from: its watermark is kept when this window
    ends before it (a re-read of older plan times says nothing new about what is complete), and
    so is its ``open_since`` while this sync has not yet read the window that holds it again.
    ``newest`` is the latest plan time this sync read for the job so far; ``read`` what this
    sync read in full so far, which replaces the previous sync's claim (kept when None).
    """
    progress = min(window.end, sync_started_ms)
    before = previous or Bookmark()
    watermark = progress if before.watermark is None else max(before.watermark, progress)
    opens = [open_since] if open_since is not None else []
    if before.open_since is not None and before.open_since >= window.end:
        opens.append(before.open_since)
    newest_known = [value for value in (before.newest, newest) if value is not None]
    return Bookmark(
        watermark=watermark,
        open_since=min(*opens, watermark) if opens else None,
        newest=max(newest_known) if newest_known else None,
        read=read or before.read,
    )


#: How far a watermark may pass the sync start and still be taken for the clock difference of
#: two hosts: the API refuses AK/SK signatures beyond 15 minutes of skew (APIGW.0303) anyway.
CLOCK_SKEW_MS = 15 * 60 * 1000


def pulled_back(bookmark: Bookmark, *, sync_started_ms: int) -> Bookmark:
    """A state's bookmark made one that does not pass the moment this sync started.

    - Up to ``CLOCK_SKEW_MS`` ahead: the previous run's host clock was ahead; the watermark is
      pulled back to the sync start (the lookback then re-reads behind it as always).
    - Further ahead: written for an ``end_date`` in the future (by a version without the rule in
      ``after_window``) or by hand. It says nothing about when its windows were read, so
      nothing after ``start_date`` is known to be complete: the watermark is dropped and the
      job read again from ``start_date``. Duplicates (upserted on the key), never a loss.
    - ``open_since`` in the future is pulled back to the sync start (harmless, but a sane state).
    - ``read`` made after the sync start is dropped.
    """
    watermark, open_since = bookmark.watermark, bookmark.open_since
    if watermark is not None and watermark > sync_started_ms:
        watermark = sync_started_ms if watermark - sync_started_ms <= CLOCK_SKEW_MS else None
    if open_since is not None and open_since > sync_started_ms:
        open_since = sync_started_ms
    # A claim of a read made "after" this sync started was written by a clock ahead, or by hand:
    # it cannot tell what a target holds, so it is dropped (rows are emitted again, never lost).
    read = bookmark.read if bookmark.read is None or bookmark.read.at <= sync_started_ms else None
    return Bookmark(watermark=watermark, open_since=open_since, newest=bookmark.newest, read=read)
