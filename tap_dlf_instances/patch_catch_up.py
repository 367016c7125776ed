"""PatchData catch-up: which plan-time ranges the ``instances`` stream reads again, as pure
functions of the stored record, the listed runs and the jobs of this sync.

A PatchData (supplement data) run re-runs a job's instances over a past range of plan times, far
behind any bookmark. So the ``instances`` stream keeps a record of the runs it has caught up
with (``bookmarks.instances.patch_data``, ``PatchCatchUp``) and, at each sync, reads again the
ranges of the runs submitted since, and of those still open at the last sync, merged with the
normal range of each job (``ranges_to_read``) so that no window is read twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Statuses a PatchData run cannot leave (``CANCLE`` is the API's spelling). Any other status,
#: ``RUNNING`` or one the tap does not know, may still make instances.
FINAL_PATCH_STATUSES = frozenset({"SUCCESS", "CANCLE", "CANCEL", "FAIL", "FAILED"})
#: The instances stream's own record of PatchData runs, next to its job bookmarks.
STATE_KEY = "patch_data"

Range = tuple[int, int]


def int_or_none(value: object) -> int | None:
    """``value`` if it is an integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PatchRun:
    """What the tap needs of a run; built only from a row that has it all (``of``)."""

    name: str
    jobs: tuple[str, ...]
    start: int
    end: int  # inclusive
    submitted: int
    status: str

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_PATCH_STATUSES

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> PatchRun | None:
        """The run in an API row, or None when a field it needs is missing or of the wrong type.
        Job names that are not strings are left out: a job is only matched by its name, never
        turned into a request of its own."""
        name, start, end, submitted = (
            row.get("name"),
            row.get("start_date"),
            row.get("end_date"),
            row.get("submitted_date"),
        )
        jobs = row.get("job_list")
        if not isinstance(name, str) or not isinstance(jobs, list):
            return None
        if None in (int_or_none(start), int_or_none(end), int_or_none(submitted)) or start > end:  # type: ignore[operator]
            return None
        status = row.get("status")
        return cls(
            name=name,
            jobs=tuple(job for job in jobs if isinstance(job, str)),
            start=start,  # type: ignore[arg-type]
            end=end,  # type: ignore[arg-type]
            submitted=submitted,  # type: ignore[arg-type]
            status=status if isinstance(status, str) else "",
        )


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` ranges as the fewest disjoint ones, oldest first: a plan
    time in two of them is read once."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Pending:
    """A PatchData run still open at the last sync: its range is read again until it ends."""

    name: str
    submitted: int


@dataclass
class PatchCatchUp:
    """The instances stream's record of PatchData runs (``bookmarks.instances.patch_data``):

    ``{"submitted_since": ms, "running": [{"name": ..., "submitted_date": ms}]}``: the runs
    submitted at or after ``submitted_since`` have not been caught up yet, and those in
    ``running`` were still open when last seen. O(open runs), not O(runs).
    """

    submitted_since: int | None
    running: tuple[Pending, ...] = ()

    @classmethod
    def from_state(cls, value: object) -> tuple[PatchCatchUp, str | None]:
        """The record in a state (a first sync when absent), and why it was not usable."""
        if value is None:
            return cls(None), None
        if not isinstance(value, dict) or int_or_none(value.get("submitted_since")) is None:
            return cls(None), 'is not {"submitted_since": <ms>, "running": [...]}'
        running = value.get("running") or []
        pending = tuple(
            Pending(item["name"], item["submitted_date"])
            for item in (running if isinstance(running, list) else [])
            if isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and int_or_none(item.get("submitted_date")) is not None
        )
        return cls(int_or_none(value.get("submitted_since")), pending), None

    @property
    def first(self) -> bool:
        return self.submitted_since is None

    def list_since(self) -> int | None:
        """How far back the listing must go: the oldest run this sync may need."""
        if self.submitted_since is None:
            return None
        return min([self.submitted_since, *(p.submitted for p in self.running)])

    def due(self, rows: Iterable[Mapping[str, Any]]) -> list[PatchRun]:
        """The runs whose ranges this sync reads again: submitted since the last sync, or open
        at it. None on a first sync: there is nothing to catch up."""
        if self.submitted_since is None:
            return []
        waiting = {p.name for p in self.running}
        runs = [run for row in rows if (run := PatchRun.of(row)) is not None]
        return [run for run in runs if run.submitted >= self.submitted_since or run.name in waiting]

    @staticmethod
    def next_state(runs: Iterable[PatchRun], *, sync_started_ms: int, jobs: set[str]) -> dict[str, Any]:
        """The record after this sync: caught up to its start; the runs of this sync's jobs that
        are still open are read again next time."""
        still_open = {run.name: run for run in runs if run.is_open and jobs.intersection(run.jobs)}
        return {
            "submitted_since": sync_started_ms,
            "running": [
                {"name": run.name, "submitted_date": run.submitted}
                for run in sorted(still_open.values(), key=lambda r: (r.submitted, r.name))
            ],
        }


def ranges_by_job(runs: Iterable[PatchRun], jobs: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Each job's plan-time ranges to read again, half-open ``[start_date, end_date + 1)``; job
    names not read by this sync (another shard, not configured, not a job) are ignored."""
    found: dict[str, list[tuple[int, int]]] = {}
    for run in runs:
        for job in set(run.jobs) & jobs:
            found.setdefault(job, []).append((run.start, run.end + 1))
    return found


@dataclass(frozen=True)
class CatchUpPlan:
    """What one sync does about PatchData runs."""

    #: Each job's plan-time ranges to read again (half-open), for the jobs of this sync only.
    ranges: dict[str, list[Range]]
    #: The record to store once every job of the sync is done (a sync that stops before leaves
    #: the runs to the next one).
    next_state: dict[str, Any]


def plan_catch_up(
    stored: PatchCatchUp, rows: Sequence[Mapping[str, Any]], *, jobs: set[str], sync_started_ms: int
) -> CatchUpPlan:
    """The ranges to read again and the next record, from the stored record and the runs
    listed since ``stored.list_since()`` (on a first sync: the runs still going). A first sync
    reads nothing again, but remembers the open runs, whose later instances the next sync
    reads."""
    due = stored.due(rows)
    seen = due if not stored.first else PatchCatchUp(0).due(rows)
    return CatchUpPlan(
        ranges=ranges_by_job(due, jobs),
        next_state=PatchCatchUp.next_state(seen, sync_started_ms=sync_started_ms, jobs=jobs),
    )


def ranges_to_read(normal: Range, patched: Iterable[Range], *, floor: int | None) -> list[Range]:
    """One job's ranges for this sync: its normal range (bookmark to end) merged with the ranges
    PatchData runs re-ran, however far back but never before ``floor`` (a configured
    ``start_date``, the floor the user chose) or after the normal range's end."""
    end = normal[1]
    ranges = [normal]
    for start, stop in patched:
        ranges.append((start if floor is None else max(start, floor), min(stop, end)))
    return merge_ranges(ranges)
