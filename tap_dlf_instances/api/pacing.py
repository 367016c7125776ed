"""Client-side pacing of requests, shared by every worker thread.

The instances API allows 10 requests per second per user and counts them in a sliding second;
past that it only answers 429, often without ``Retry-After`` (docs/api-notes.md). Sends are
spaced ``1 / rate`` apart, and besides no more than ``floor(rate)`` are let through in any
``1 + GUARD_SECONDS`` seconds: a request granted its turn can reach the server a little late
(thread scheduling, the GIL, the network) and so arrive closer to the next one than it was
sent; the guard absorbs delays up to its length. Written by hand: the rate-limit packages on
PyPI are either async-only or add a dependency for what is a few lines here.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable

GUARD_SECONDS = 0.1


class RequestPacer:
    """Grants turns to send, evenly spaced and never more than the limit in a guarded second."""

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
        self._interval = 1.0 / rate_per_second
        self._recent: collections.deque[float] = collections.deque(maxlen=max(1, math.floor(rate_per_second)))
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller may send."""
        while True:
            with self._lock:
                now = self._clock()
                slot = self._next_slot
                if len(self._recent) == self._recent.maxlen:
                    slot = max(slot, self._recent[0] + 1.0 + GUARD_SECONDS)
                if slot <= now:
                    self._next_slot = now + self._interval
                    self._recent.append(now)
                    return
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Push every later turn back by ``seconds`` from now (after a 429 said to wait)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)
