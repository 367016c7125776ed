"""Window arithmetic: edges, widths and the one-month limit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from tap_dlf_instances.windows import (
    DAY_MS,
    MAX_SPAN_MS,
    Window,
    plan_windows,
    to_ms,
    window_width_ms,
)

T0 = to_ms(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "end", "width", "expected"),
    [
        (T0, T0, DAY_MS, []),
        (T0, T0 - 1, DAY_MS, []),
        (T0, T0 + 1, DAY_MS, [(T0, T0 + 1)]),
        (T0, T0 + DAY_MS, DAY_MS, [(T0, T0 + DAY_MS)]),
        (T0, T0 + DAY_MS + 1, DAY_MS, [(T0, T0 + DAY_MS), (T0 + DAY_MS, T0 + DAY_MS + 1)]),
        (
            T0,
            T0 + 3 * DAY_MS,
            DAY_MS,
            [(T0, T0 + DAY_MS), (T0 + DAY_MS, T0 + 2 * DAY_MS), (T0 + 2 * DAY_MS, T0 + 3 * DAY_MS)],
        ),
    ],
)
def test_plan_windows_cover_the_range_without_gaps_or_overlaps(start, end, width, expected):
    windows = list(plan_windows(start, end, width))
    assert [(w.start, w.end) for w in windows] == expected
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end == later.start


@pytest.mark.parametrize(
    ("plan_time", "inside"),
    [(T0 - 1, False), (T0, True), (T0 + DAY_MS - 1, True), (T0 + DAY_MS, False)],
)
def test_strict_query_bounds_hold_exactly_the_half_open_window(plan_time, inside):
    window = Window(T0, T0 + DAY_MS)
    # The API returns min_plan_time < t < max_plan_time.
    assert (window.min_plan_time < plan_time < window.max_plan_time) is inside


@pytest.mark.parametrize(
    ("days", "width"),
    [
        (1, DAY_MS),
        (29, 29 * DAY_MS),
        (30, MAX_SPAN_MS - 1),
        (31, MAX_SPAN_MS - 1),
        (0.5, DAY_MS // 2),
    ],
)
def test_window_width_keeps_the_query_span_within_one_month(days, width):
    assert window_width_ms(days) == width
    window = Window(T0, T0 + width)
    assert window.max_plan_time - window.min_plan_time <= MAX_SPAN_MS


def test_a_year_in_thirty_day_windows_has_every_span_within_the_limit():
    windows = list(plan_windows(T0, T0 + 365 * DAY_MS, window_width_ms(30)))
    assert len(windows) == 13
    assert all(w.max_plan_time - w.min_plan_time <= MAX_SPAN_MS for w in windows)
    assert windows[0].start == T0
    assert windows[-1].end == T0 + 365 * DAY_MS


def test_naive_datetimes_are_utc():
    assert to_ms(datetime(2026, 1, 1)) == T0
