"""How often a STATE message goes out: at most about once a second, plus at the end.

Every STATE message carries every job's bookmark, so one per completed window made the output
grow with jobs x windows (500 jobs x 4 windows: 2,002 messages, 89 MB), and the SDK's
``StateWriter`` compares and deep-copies the whole state for each. The bookmarks still move in
memory after every window; only the *message* is spaced out. A run killed by SIGKILL repeats at
most about a second of work; SIGTERM and SIGINT write the latest state (the SDK's handler), and
the stream writes it before an error ends the run and at its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds between STATE messages while a stream runs.
STATE_INTERVAL_SECONDS = 1.0


class StateCadence:
    """Says whether a STATE message is due: the first one at once, then one per ``interval``."""

    def __init__(
        self, interval: float = STATE_INTERVAL_SECONDS, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        """True (and the clock restarted) when a message may go out now."""
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return False
        self._last = now
        return True
