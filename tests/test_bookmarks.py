"""The bookmark rule: where the next sync starts, what each window leaves in the state."""

from __future__ import annotations

import pytest

from tap_dlf_instances.state.bookmarks import (
    Bookmark,
    after_window,
    is_open,
    open_since_for,
    read_start,
)
from tap_dlf_instances.windows import HOUR_MS, Window

START_DATE = 1_000 * HOUR_MS
LOOKBACK = 24 * HOUR_MS


@pytest.mark.parametrize(
    ("bookmark", "expected"),
    [
        # First sync: from start_date.
        (Bookmark(), START_DATE),
        # Watermark minus the lookback.
        (Bookmark(watermark=START_DATE + 100 * HOUR_MS), START_DATE + 76 * HOUR_MS),
        # An instance still open at the last sync pulls the start back to its plan time...
        (
            Bookmark(watermark=START_DATE + 100 * HOUR_MS, open_since=START_DATE + 10 * HOUR_MS),
            START_DATE + 10 * HOUR_MS,
        ),
        # ...but one inside the lookback changes nothing.
        (
            Bookmark(watermark=START_DATE + 100 * HOUR_MS, open_since=START_DATE + 90 * HOUR_MS),
            START_DATE + 76 * HOUR_MS,
        ),
        # Never before start_date.
        (Bookmark(watermark=START_DATE + 2 * HOUR_MS), START_DATE),
        (Bookmark(watermark=START_DATE + 50 * HOUR_MS, open_since=START_DATE - 5), START_DATE),
    ],
)
def test_read_start(bookmark, expected):
    assert read_start(bookmark, start_date_ms=START_DATE, lookback_ms=LOOKBACK) == expected


def test_read_start_without_lookback_is_the_watermark():
    bookmark = Bookmark(watermark=START_DATE + 5 * HOUR_MS)
    assert read_start(bookmark, start_date_ms=START_DATE, lookback_ms=0) == START_DATE + 5 * HOUR_MS


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, Bookmark()),
        ({}, Bookmark()),
        ({"replication_key_value": 5}, Bookmark(watermark=5)),
        ({"replication_key_value": 5, "open_since": 3}, Bookmark(watermark=5, open_since=3)),
        # Values of other taps or versions (ISO strings, booleans) are not trusted.
        ({"replication_key_value": "2026-01-01T00:00:00Z"}, Bookmark()),
        ({"replication_key_value": True, "open_since": "x"}, Bookmark()),
    ],
)
def test_bookmark_from_state(state, expected):
    assert Bookmark.from_state(state) == expected


def test_bookmark_round_trips_through_state_and_drops_a_cleared_open_since():
    state: dict = {"context": {"job_name": "j"}, "open_since": 1}
    after_window(Window(10, 20), None, sync_started_ms=100).write_to(state)
    assert state == {
        "context": {"job_name": "j"},
        "replication_key": "plan_time",
        "replication_key_value": 20,
    }
    after_window(Window(20, 30), 15, sync_started_ms=100).write_to(state)
    assert Bookmark.from_state(state) == Bookmark(watermark=30, open_since=15)


@pytest.mark.parametrize(
    ("status", "open_"),
    [
        ("waiting", True),
        ("running", True),
        ("running-exception", True),
        ("pause", True),
        ("freeze", True),
        ("success", False),
        ("fail", False),
        ("manual-stop", False),
        ("skip-by-depend", False),
        ("something-new", True),
        (None, True),
    ],
)
def test_open_statuses(status, open_):
    assert is_open(status) is open_


@pytest.mark.parametrize(
    ("plan_time", "expected"),
    [(150, 150), (100, 100), (50, 50), (250, 100)],
)
def test_open_since_is_pinned_to_the_window_when_the_plan_time_lies_outside_it(plan_time, expected):
    assert open_since_for(Window(100, 200), plan_time) == expected


DAY = 24 * HOUR_MS


@pytest.mark.parametrize(
    ("days_since_last_instance", "read_from_days_before_watermark"),
    [
        (0, 1),  # a job running as usual: the lookback before the watermark
        (7, 8),  # a weekly job: the lookback before its last instance
        (29, 30),  # stopped four weeks ago: still counted from its last instance
        (100, 1),  # dormant for months: not re-read from its last instance at every sync
    ],
)
def test_the_newest_plan_time_reaches_back_at_most_a_window(
    days_since_last_instance: int, read_from_days_before_watermark: int
) -> None:
    watermark = START_DATE + 400 * DAY
    bookmark = Bookmark(watermark=watermark, newest=watermark - days_since_last_instance * DAY)
    start = read_start(bookmark, start_date_ms=START_DATE, lookback_ms=DAY)
    assert start == watermark - read_from_days_before_watermark * DAY
