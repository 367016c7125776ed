"""Reading the answer to the ``offset=1`` probe."""

from __future__ import annotations

import pytest

from tap_dlf_instances.api.paging import OffsetMode, OffsetReading, detect_mode


@pytest.mark.parametrize(
    ("first_page", "second", "mode"),
    [
        ([9, 8, 7, 6], [8, 7, 6, 5], OffsetMode.ROW),  # offset counts rows
        ([9, 8, 7, 6], [5, 4, 3, 2], OffsetMode.PAGE),  # offset counts pages
        ([9, 8, 7, 6], [9, 8, 7, 6], OffsetMode.ROW),  # a row inserted on top meanwhile
        ([9, 8, 7, 6], [], OffsetMode.PAGE),  # nothing past the first page
    ],
)
def test_detect_mode(first_page, second, mode):
    assert detect_mode(first_page, second) is mode


def test_a_configured_reading_is_never_overridden():
    reading = OffsetReading(OffsetMode.PAGE)
    reading.learn(OffsetMode.ROW)
    assert reading.mode is OffsetMode.PAGE
    auto = OffsetReading(OffsetMode.AUTO)
    auto.learn(OffsetMode.ROW)
    auto.learn(OffsetMode.PAGE)
    assert auto.mode is OffsetMode.ROW
