"""What the workspace-wide listing reads, and what each job reads on its own before it.

Each job's bookmark gives it its own first plan time (``state/bookmarks.read_start``). The
listing reads every job of the workspace from one common start: the median of the jobs' starts,
taken back at most ``SPREAD_MS`` to take in the jobs that start a little earlier (a daily job's
lookback reaches a day further than an hourly one's). A job that must start earlier still (an
instance open for days, a PatchData range, a job new to the state) reads the plan times before
the common start with its own per-job requests, rather than pulling the whole workspace back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tap_dlf_instances.windows import DAY_MS

SPREAD_MS = DAY_MS
#: The most rows a listing window is planned to hold: a window's instance IDs (and the previous
#: window's) are kept to drop repeats, so a workspace of thousands of jobs reads narrower windows
#: (for the same pages) rather than holding a week of every job in memory.
MAX_WINDOW_ROWS = 200_000
#: The narrowest window it plans for that.
MIN_WINDOW_MS = 3_600_000


def common_start(starts: Sequence[int]) -> int:
    """The plan time the listing starts at, for jobs that start at ``starts`` (not empty)."""
    ordered = sorted(starts)
    median = ordered[(len(ordered) - 1) // 2]
    return max(ordered[0], median - SPREAD_MS)


def before(ranges: Sequence[tuple[int, int]], start: int) -> list[tuple[int, int]]:
    """The parts of ``ranges`` (disjoint, in order) before ``start``."""
    return [(low, min(high, start)) for low, high in ranges if low < start]


def listing_is_cheaper(*, total: int | None, page_size: int, jobs: int, share: float) -> bool:
    """Whether a window of the listing costs no more requests than reading ``jobs`` jobs one by
    one. The listing pages through all ``total`` instances of the workspace; per job, each job
    takes a request at least, and the jobs' ``share`` of the instances takes its pages."""
    pages = max(1, math.ceil((total or 0) / page_size))
    per_job = max(jobs, math.ceil((total or 0) * share / page_size))
    return pages <= per_job


def narrower_width(width: int, total: int | None) -> int | None:
    """The width of windows of at most ``MAX_WINDOW_ROWS`` rows, when a window of ``width``
    holds ``total``; None when it is fine as it is."""
    if total is None or total <= MAX_WINDOW_ROWS:
        return None
    return max(MIN_WINDOW_MS, width * MAX_WINDOW_ROWS // total)
