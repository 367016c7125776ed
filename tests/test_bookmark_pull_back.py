"""The bookmark rule's ceiling: a watermark is never written past the sync start, and one read
from the state past it is pulled back (see ``bookmarks.pulled_back`` for why to where)."""

from __future__ import annotations

import pytest

from tap_dlf_instances.state.bookmarks import CLOCK_SKEW_MS, Bookmark, after_window, pulled_back
from tap_dlf_instances.windows import DAY_MS, Window

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("window", "open_since", "expected"),
    [
        (Window(10, 20), None, Bookmark(20, None)),  # a past window: its end
        (Window(10, 20), 15, Bookmark(20, 15)),
        (Window(NOW - 5, NOW + 5), None, Bookmark(NOW, None)),  # holds the sync start
        (Window(NOW + 5, NOW + 10), None, Bookmark(NOW, None)),  # wholly in the future
        (Window(NOW - 5, NOW + 5), NOW + 3, Bookmark(NOW, NOW)),  # an open instance planned ahead
    ],
)
def test_after_window_never_passes_the_sync_start(window, open_since, expected):
    assert after_window(window, open_since, sync_started_ms=NOW) == expected


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (Bookmark(None, None), Bookmark(None, None)),
        (Bookmark(NOW - 1, NOW - 9), Bookmark(NOW - 1, NOW - 9)),  # the usual case: untouched
        (Bookmark(NOW, None), Bookmark(NOW, None)),
        (Bookmark(NOW + 60_000, None), Bookmark(NOW, None)),  # a host clock a minute ahead
        (Bookmark(NOW + CLOCK_SKEW_MS, 5), Bookmark(NOW, 5)),
        (Bookmark(NOW + CLOCK_SKEW_MS + 1, 5), Bookmark(None, 5)),  # a future end_date: re-read
        (Bookmark(NOW + 30 * DAY_MS, NOW + DAY_MS), Bookmark(None, NOW)),
        (Bookmark(NOW - 1, NOW + DAY_MS), Bookmark(NOW - 1, NOW)),  # open_since ahead
    ],
)
def test_a_stored_bookmark_past_the_sync_start_is_pulled_back(stored, expected):
    assert pulled_back(stored, sync_started_ms=NOW) == expected
