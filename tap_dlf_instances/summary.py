"""The instances stream's run summary: what was read, and every anomaly counted, in one line.

A lying server rarely fails loudly: a short page, a row without an ID or a job that vanished
cost rows quietly. Each is warned about where it happens; the summary counts them so a run with
any anomaly ends on a WARNING a scheduler's log search finds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field


@dataclass
class RunSummary:
    """Counters updated by the emitting thread and the fetching threads alike."""

    jobs_read: int = 0
    instances: int = 0
    windows: int = 0
    requests: int = 0
    mismatched_windows: int = 0  # ``total`` and the pages disagreed
    rows_dropped: int = 0  # rows without an integer ``instance_id`` or ``plan_time``
    jobs_missing: int = 0  # DLF.0100
    unchanged: int = 0  # final rows read again that the target holds (state/unchanged.py)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    @property
    def anomalies(self) -> int:
        return self.mismatched_windows + self.rows_dropped + self.jobs_missing

    def line(self) -> str:
        return (
            f"Instances summary: {self.jobs_read} jobs read, {self.instances} instances emitted, "
            f"{self.windows} windows, {self.requests} requests, {self.unchanged} read again "
            "unchanged and not emitted; anomalies: "
            f"{self.mismatched_windows} windows where total and pages disagreed, "
            f"{self.rows_dropped} rows dropped, {self.jobs_missing} jobs missing."
        )

    def log(self, logger: logging.Logger) -> None:
        logger.log(logging.WARNING if self.anomalies else logging.INFO, "%s", self.line())
