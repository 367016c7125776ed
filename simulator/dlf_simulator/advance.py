"""Time passing in the simulated project: what an incremental sync must not miss."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from dataclasses import replace
from typing import Any

from dlf_simulator import patch_data
from dlf_simulator.dataset import (
    FINAL_STATUSES,
    STATUSES,
    Dataset,
    Instance,
    InstanceTable,
)

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_LIVE_CODES = frozenset(i for i, name in enumerate(STATUSES) if name not in FINAL_STATUSES)
_FAIL_CODE = STATUSES.index("fail")


def advance(dataset: Dataset, now_ms: int, rng: random.Random) -> dict[str, Any]:
    """Finish live instances, flip one recent failure to forced success, add late PatchData (5)
    and manual (2) runs planned in the past day, and a run planned a minute ago for some jobs.

    Returns exactly what changed: ``{"now", "updated": {job: [ids]}, "added": {job: [ids]},
    "updated_ids", "added_ids", "jobs": [{"workspace", "job_name", "updated", "added"}]}``.
    """
    changes: dict[tuple[str, str], dict[str, list[int]]] = {}
    with dataset.lock:
        for (workspace, name), table in list(dataset.tables.items()):
            updated, added = _advance_table(dataset, table, now_ms, rng)
            # Each late PatchData (type 5) re-run belongs to a PatchData run submitted with it.
            patch_data.register_instances(dataset, [(workspace, table.row(table.find(i))) for i in added])
            if updated or added:
                # An instance can be finished and then flipped: report it once.
                changes[(workspace, name)] = {"updated": list(dict.fromkeys(updated)), "added": added}
    return {
        "now": now_ms,
        # Per job name (names repeat across workspaces only in hand-made datasets: see "jobs").
        "updated": {name: c["updated"] for (_, name), c in changes.items() if c["updated"]},
        "added": {name: c["added"] for (_, name), c in changes.items() if c["added"]},
        "updated_ids": sorted(i for c in changes.values() for i in c["updated"]),
        "added_ids": sorted(i for c in changes.values() for i in c["added"]),
        "jobs": [
            {"workspace": ws, "job_name": name, **change} for (ws, name), change in sorted(changes.items())
        ],
    }


def _advance_table(
    dataset: Dataset, table: InstanceTable, now_ms: int, rng: random.Random
) -> tuple[list[int], list[int]]:
    updated: list[int] = []
    for i in [i for i, code in enumerate(table.status) if code in _LIVE_CODES]:
        table.set_row(i, _finish(table.row(i), now_ms, rng))
        updated.append(table.iid[i])
    recent_fail = next(
        (
            i
            for i in range(len(table) - 1, -1, -1)
            if table.status[i] == _FAIL_CODE and table.plan[i] > now_ms - DAY
        ),
        -1,
    )
    if recent_fail >= 0 and rng.random() < 0.5:
        row = table.row(recent_fail)
        table.set_row(recent_fail, replace(row, status="success", force_success=True))
        updated.append(row.instance_id)
    added: list[int] = []
    if not len(table):
        return updated, added
    template = table.row(len(table) - 1)
    recent = range(bisect_right(table.plan, now_ms - DAY), bisect_left(table.plan, now_ms - HOUR))
    if recent and rng.random() < 0.5:
        plan = table.plan[rng.choice(recent)]
        start = now_ms - 5 * MINUTE
        added.append(
            _add(
                dataset,
                table=table,
                template=template,
                plan=plan,
                instance_type=5,
                start=start,
                now_ms=now_ms,
            )
        )
    if rng.random() < 0.3:
        plan = now_ms - rng.randint(HOUR, 23 * HOUR)
        added.append(
            _add(
                dataset,
                table=table,
                template=template,
                plan=plan,
                instance_type=2,
                # Run when it was submitted (10 minutes ago), whatever its plan time: a run
                # cannot start before it exists, nor end before the sync that could not see it.
                start=now_ms - 8 * MINUTE,
                now_ms=now_ms,
            )
        )
    if rng.random() < 0.5:
        plan = (now_ms - MINUTE) // 1000 * 1000
        kind = template.instance_type
        added.append(
            _add(
                dataset,
                table=table,
                template=template,
                plan=plan,
                instance_type=kind,
                start=plan,
                now_ms=now_ms,
            )
        )
    return updated, added


def _finish(inst: Instance, now_ms: int, rng: random.Random) -> Instance:
    r = rng.random()
    status = "success" if r < 0.85 else "fail" if r < 0.95 else "manual-stop"
    start = inst.start_time if inst.status != "waiting" else min(inst.plan_time + 2000, now_ms)
    end = max(start, min(now_ms, start + rng.randint(MINUTE, 20 * MINUTE)))
    return replace(inst, status=status, start_time=start, end_time=end, execute_time=float(end - start))


def _add(
    dataset: Dataset,
    *,
    table: InstanceTable,
    template: Instance,
    plan: int,
    instance_type: int,
    start: int,
    now_ms: int,
) -> int:
    running = start >= now_ms - 2 * MINUTE  # the run planned a minute ago is still going
    end = None if running else min(now_ms, start + 3 * MINUTE)
    inst = replace(
        template,
        instance_id=dataset.new_instance_id(),
        plan_time=plan,
        start_time=start,
        submit_time=now_ms - 10 * MINUTE if instance_type in (2, 5) else template.submit_time,
        status="running" if running else "success",
        instance_type=instance_type,
        end_time=end,
        execute_time=None if end is None else float(end - start),
        force_success=None if template.force_success is None else False,
        ignore_success=None if template.ignore_success is None else False,
    )
    table.insert(inst)
    return inst.instance_id
