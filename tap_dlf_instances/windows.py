"""Time windows over ``plan_time`` (milliseconds since the epoch).

The API returns instances strictly *later than* ``min_plan_time`` and strictly *earlier than*
``max_plan_time``, and one request may span at most one month. A window covers the half-open
range ``[start, end)``; it is asked for as ``min_plan_time = start - 1, max_plan_time = end``, so
an instance planned exactly on an edge (midnight is the norm) falls in exactly one window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
#: The widest ``max_plan_time - min_plan_time`` one request may ask for. "Up to one month" is
#: read at its harshest: 30 days, since a 31-day calendar month may be refused.
MAX_SPAN_MS = 30 * DAY_MS


@dataclass(frozen=True, order=True)
class Window:
    """Plan times from ``start`` (inclusive) to ``end`` (exclusive), in ms."""

    start: int
    end: int

    @property
    def min_plan_time(self) -> int:
        return self.start - 1

    @property
    def max_plan_time(self) -> int:
        return self.end

    def __str__(self) -> str:
        return f"[{format_ms(self.start)}, {format_ms(self.end)})"


def window_width_ms(window_days: float) -> int:
    """The width of a window of ``window_days``, shrunk so its query span fits the limit.

    The span asked for is one more than the width (``min_plan_time`` is ``start - 1``).
    """
    return max(1, min(round(window_days * DAY_MS), MAX_SPAN_MS - 1))


def plan_windows(start_ms: int, end_ms: int, width_ms: int) -> Iterator[Window]:
    """Consecutive windows covering ``[start_ms, end_ms)``, oldest first; none if empty."""
    if width_ms <= 0:
        msg = f"window width must be positive, got {width_ms}"
        raise ValueError(msg)
    start = start_ms
    while start < end_ms:
        end = min(start + width_ms, end_ms)
        yield Window(start, end)
        start = end


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def format_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
