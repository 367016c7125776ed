"""What the simulated API saw: counts for tests and benchmarks to assert on."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any


class Stats:
    """Request counters; the peak rate is the most requests one user sent in any 1 s interval
    (throttled ones included: it measures what the client fired, not what it got through)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.per_route: Counter[str] = Counter()
            self.per_status: Counter[str] = Counter()
            self.per_user: Counter[str] = Counter()
            self.peak_rate: dict[str, int] = {}
            self.throttled = 0
            self.faults: Counter[str] = Counter()
            self._recent: dict[str, deque[float]] = {}
            self.in_flight = 0
            self.peak_in_flight = 0  # most API requests being answered at once
            # Every API request (route, decoded path, query), for tests that check what was read.
            self.seen: deque[dict[str, Any]] = deque(maxlen=200_000)

    def request(self, route: str) -> None:
        with self._lock:
            self.total += 1
            self.per_route[route] += 1

    def log_request(self, route: str, segments: list[str], raw_query: str) -> None:
        with self._lock:
            self.seen.append({"route": route, "path": "/".join(segments), "query": raw_query})

    def requests_seen(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.seen)

    def user(self, user: str, now: float) -> None:
        with self._lock:
            self.per_user[user] += 1
            recent = self._recent.setdefault(user, deque())
            recent.append(now)
            while recent[0] <= now - 1.0:
                recent.popleft()
            self.peak_rate[user] = max(self.peak_rate.get(user, 0), len(recent))

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def status(self, status: int | str) -> None:
        with self._lock:
            self.per_status[str(status)] += 1

    def throttle(self) -> None:
        with self._lock:
            self.throttled += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_total": self.total,
                "requests_per_route": dict(self.per_route),
                "requests_per_status": dict(self.per_status),
                "requests_per_user": dict(self.per_user),
                "peak_rate_per_user": dict(self.peak_rate),
                "throttled": self.throttled,
                "faults_applied": dict(self.faults),
                "peak_in_flight": self.peak_in_flight,
            }
