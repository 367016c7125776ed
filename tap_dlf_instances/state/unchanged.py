"""Emit what changed: which rows read again a target already holds exactly as they are.

Each sync re-reads the lookback (late PatchData and manual runs, runs that were still going), and
most of what it re-reads is final and unchanged: emitting it again costs the warehouse a MERGE
of rows it has. A row is not emitted again when the previous sync's read of the job (its
bookmark's ``read``: plan times ``[from, to)`` read in full by the sync that started at ``at``)
held it, and it was already final then:

- its plan time and its start time lie in ``[from, to)``, so that sync read it, whichever of
  the two the API's bounds filter on (docs/api-notes.md);
- its plan time is before the bookmark's ``open_since``, the earliest instance that sync found
  still open: a row that sync saw open is emitted once final, whatever its times say (a run
  seen running may report an end before that moment);
- its status is final, and its latest time (end, start, submit, plan) is more than
  ``SKEW_MARGIN_MS`` before ``at``: it ended before that sync began, with room for the clocks of
  the server and of the tap to differ; a row without an end time is emitted;
- a failed run is held only if that sync found it failed too, with the same ``force_success``
  and ``ignore_success`` flags (the claim lists the failed runs it read): forcing a failed run
  to success, or ignoring its failure, moves none of its times.

That sync then emitted it final, or skipped it by the same rule because the one before had:
the target holds it. What this cannot see is any other change that moves none of the row's
times (a flag set on a run that had not failed, should the service allow it):
``emit_unchanged`` emits the whole lookback again for those who need that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tap_dlf_instances.state.bookmarks import CLOCK_SKEW_MS, FINAL_STATUSES, Bookmark, flag_bits

SKEW_MARGIN_MS = CLOCK_SKEW_MS


def already_emitted(previous: Bookmark, record: Mapping[str, Any]) -> bool:
    """Whether the target holds ``record`` as it is, by the job's bookmark as this sync began
    (the rule of the module)."""
    claim = previous.read
    if claim is None or record["status"] not in FINAL_STATUSES:
        return False
    end, start, plan = record["end_time"], record["start_time"], record["plan_time"]
    if type(end) is not int or type(start) is not int:
        return False
    if not (claim.start <= plan < claim.end and claim.start <= start < claim.end):
        return False
    if previous.open_since is not None and plan >= previous.open_since:
        return False
    submit = record["submit_time"]
    latest = max(end, start, plan, submit if type(submit) is int else plan)
    if latest >= claim.at - SKEW_MARGIN_MS:
        return False
    was_failed = claim.failed.get(record["instance_id"])
    if record["status"] == "fail" or was_failed is not None:
        # A failed run may be forced to success, or its failure ignored, without a new time:
        # held only if it was failed then, and still is, with the same flags.
        return record["status"] == "fail" and was_failed == flag_bits(record)
    return True
