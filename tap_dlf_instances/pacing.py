"""Client-side pacing of requests, shared by every worker thread.

The instances API allows 10 requests per second per user; past that it only answers 429
(API-NOTES, "Rate limits"). Spacing requests evenly at the configured rate keeps a backfill at the
limit without tripping it. Written by hand: the rate-limit packages on PyPI are either async-only
or add a dependency for what is a dozen lines here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Requests leave 5% further apart than the rate says: the gateway counts arrivals in a sliding
#: second, and network jitter can bunch requests sent exactly ``1 / rate`` apart.
SAFETY_MARGIN = 1.05


class RequestPacer:
    """Hands out send times at least ``SAFETY_MARGIN / rate`` seconds apart, across threads."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            msg = f"rate must be positive, got {rate_per_second}"
            raise ValueError(msg)
        self._interval = SAFETY_MARGIN / rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's turn to send."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Push every later slot back by ``seconds`` from now (after a 429 said to wait)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)
