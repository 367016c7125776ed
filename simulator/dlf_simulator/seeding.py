"""Ready-made datasets: a realistic demo project, and a large uniform one for benchmarks."""

from __future__ import annotations

import math
import random
import zlib
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dlf_simulator import patch_data
from dlf_simulator.dataset import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    SECOND_WORKSPACE_ID,
    STATUSES,
    Dataset,
    Instance,
    InstanceTable,
)

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
# 1970-01-01 was a Thursday: Mondays are 4 days after the epoch modulo a week.
MONDAY = 4 * DAY

NON_ASCII_JOB = "Rapport journalier \u2013 ventes.v2 (EU) 数据"
REAL_TIME_JOB = "rt_clickstream"
REAL_TIME_NODES = ("kafka_ingest", "flink_agg")
FIRST_INSTANCE_ID = 34000


@dataclass(frozen=True)
class _Schedule:
    name: str
    period: int
    phase: int
    duration: int
    history_days: int | None = None  # None: the whole requested history
    workspace: str = DEFAULT_WORKSPACE_ID
    instance_type: int = 0
    last_status: str = "running"
    sub_job: bool = False


_DEMO_SCHEDULES = (
    _Schedule("hourly_orders_etl", HOUR, 0, 4 * MINUTE),
    # Planned exactly at 00:00:00: every daily window edge lands on one of these.
    _Schedule("daily_sales_report", DAY, 0, 25 * MINUTE, last_status="waiting"),
    _Schedule("quarter_hour_sync", 15 * MINUTE, 0, 2 * MINUTE, history_days=30),
    _Schedule("weekly_cleanup", WEEK, MONDAY + 3 * HOUR, 40 * MINUTE, last_status="success"),
    _Schedule(NON_ASCII_JOB, DAY, 6 * HOUR + 30 * MINUTE, 10 * MINUTE),
    _Schedule("ws2_daily_export", DAY, 2 * HOUR, 15 * MINUTE, workspace=SECOND_WORKSPACE_ID),
    *(
        _Schedule(f"{REAL_TIME_JOB}_{node}", 6 * HOUR, 0, 50 * MINUTE, instance_type=6, sub_job=True)
        for node in REAL_TIME_NODES
    ),
)


def to_ms(moment: datetime | int | None) -> int:
    if moment is None:
        return int(datetime.now(UTC).timestamp() * 1000)
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1000)
    return int(moment)


def demo_dataset(
    now: datetime | int | None = None,
    months: int = 3,
    seed: int = 20241106,
    *,
    second_workspace: bool = False,
) -> Dataset:
    """A small realistic project (a few thousand instances), deterministic for (now, seed).

    Both workspaces always exist; ``second_workspace`` also puts a job in the non-default one
    (off by default so a tap configured without ``workspace`` sees every demo job).
    """
    schedules = [s for s in _DEMO_SCHEDULES if second_workspace or s.workspace == DEFAULT_WORKSPACE_ID]
    now_ms = to_ms(now) // SECOND * SECOND
    history_start = now_ms - months * 31 * DAY
    dataset = Dataset(
        DEMO_PROJECT_ID,
        workspaces={DEFAULT_WORKSPACE_ID: "default", SECOND_WORKSPACE_ID: "analytics"},
        seed=seed,
    )
    created = history_start - 20 * DAY
    for schedule in schedules:
        if schedule.sub_job:
            continue
        dataset.add_job(
            schedule.name,
            workspace=schedule.workspace,
            create_time=created,
            last_update_time=created + 40 * DAY,
            priority=len(schedule.name) % 3,
            path=f"/demo/{'reports' if schedule.period >= DAY else 'etl'}",
            period_ms=schedule.period,
            alarms=_demo_alarms(schedule.name),
        )
    dataset.add_job(
        REAL_TIME_JOB,
        job_type="REAL_TIME",
        nodes=REAL_TIME_NODES,
        status="NORMAL",
        create_time=created,
        last_update_time=created,
        path="/demo/streaming",
    )
    pending: list[tuple[int, str, dict[str, Any]]] = []  # (created_at, workspace, row)
    for schedule in schedules:
        rng = random.Random(seed ^ zlib.crc32(schedule.name.encode()))
        start = history_start
        if schedule.history_days is not None:
            start = max(start, now_ms - schedule.history_days * DAY)
        table = dataset.table(schedule.workspace, schedule.name)
        assert table is not None
        rows = _scheduled_rows(schedule, table, start, now_ms, rng)
        rows += _late_rows(schedule, table, rows, now_ms, rng)
        pending += [(created_at, schedule.workspace, row) for created_at, row in rows]
    _assign_ids_and_load(dataset, pending, random.Random(seed))
    return dataset


def _demo_alarms(job_name: str) -> tuple[tuple[str, str], ...]:
    """Every other demo job notifies an SMN topic on failure; one also on success."""
    topic = f"urn:smn:cn-north-4:{DEMO_PROJECT_ID}:dlf_job_alarms"
    if len(job_name) % 2:
        return ()
    if job_name.startswith("daily"):
        return (("FAILURE", topic), ("SUCCESS", topic))
    return (("FAILURE", topic),)


def _scheduled_rows(
    schedule: _Schedule, table: InstanceTable, start: int, now_ms: int, rng: random.Random
) -> list[tuple[int, dict[str, Any]]]:
    first = start + (schedule.phase - start) % schedule.period
    plans = list(range(first, now_ms + 1, schedule.period))
    versions = (start, start + (now_ms - start) * 2 // 5, start + (now_ms - start) * 4 // 5)
    rows: list[tuple[int, dict[str, Any]]] = []
    for k, plan in enumerate(plans):
        version = sum(1 for v in versions if v <= plan) or 1
        latest = k == len(plans) - 1
        status = schedule.last_status if latest else _pick_status(rng)
        if not latest and schedule.name == "hourly_orders_etl" and k == len(plans) - 4:
            status = "running-exception"  # still changing, three hours back
        row = _timed_row(plan, status, schedule.duration, now_ms, rng)
        row.update(
            job_name=schedule.name,
            instance_type=schedule.instance_type,
            submit_time=versions[version - 1] - 3 * HOUR,
            version=version,
            job_id=table.job_id,
        )
        if status == "fail" and rng.random() < 0.2:
            row.update(status="success", force_success=True)
        elif status == "success" and rng.random() < 0.01:
            row.update(ignore_success=True)
        if schedule.sub_job:  # sub-job rows come without job_id, version or flags
            row.update(job_id=None, version=None, force_success=None, ignore_success=None)
        elif schedule.name == NON_ASCII_JOB and version == 1:
            row.update(version=None)
        rows.append((plan - MINUTE, row))
    return rows


def _pick_status(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return "fail"
    if r < 0.045:
        return "manual-stop"
    if r < 0.07:
        return "skip-by-depend"
    return "success"


def _timed_row(plan: int, status: str, duration: int, now_ms: int, rng: random.Random) -> dict[str, Any]:
    start = min(plan + rng.randint(0, 90) * SECOND + rng.randint(0, 999), now_ms)
    row: dict[str, Any] = {"plan_time": plan, "start_time": start, "status": status}
    if status == "waiting":
        row["start_time"] = plan
    elif status == "skip-by-depend":
        row.update(end_time=start, execute_time=0.3)  # the contract's own fractional example
    elif status in ("success", "fail", "manual-stop"):
        spent = int(duration * rng.uniform(0.5, 1.6))
        if status != "success":
            spent //= 3
        end = min(start + spent, now_ms)
        row.update(end_time=end, execute_time=float(end - start))
    return row


def _late_rows(
    schedule: _Schedule,
    table: InstanceTable,
    scheduled: list[tuple[int, dict[str, Any]]],
    now_ms: int,
    rng: random.Random,
) -> list[tuple[int, dict[str, Any]]]:
    """PatchData re-runs of old plan_times (started long after them) and manual runs."""
    if schedule.sub_job or len(scheduled) < 60:
        return []
    rows: list[tuple[int, dict[str, Any]]] = []
    backfill_at = now_ms - 10 * DAY + rng.randint(0, 8) * HOUR
    first = len(scheduled) - 50
    for n, (_, old) in enumerate(scheduled[first : first + 6]):
        start = backfill_at + n * 20 * MINUTE
        end = start + schedule.duration
        rows.append(
            (
                backfill_at,
                {
                    "job_name": schedule.name,
                    "plan_time": old["plan_time"],
                    "start_time": start,
                    "end_time": end,
                    "execute_time": float(end - start),
                    "status": "success",
                    "instance_type": 5,
                    "submit_time": backfill_at,
                    "version": old["version"],
                    "job_id": table.job_id,
                },
            )
        )
    for _ in range(3):
        plan = now_ms - rng.randint(2 * DAY, 60 * DAY) + rng.randint(0, 59_999)
        start = plan + rng.randint(200, 3000)
        end = start + schedule.duration // 2
        rows.append(
            (
                plan,
                {
                    "job_name": schedule.name,
                    "plan_time": plan,
                    "start_time": start,
                    "end_time": end,
                    "execute_time": float(end - start),
                    "status": "success",
                    "instance_type": 2,
                    "submit_time": plan,
                    "version": scheduled[-1][1]["version"],
                    "job_id": table.job_id,
                },
            )
        )
    return rows


def _assign_ids_and_load(
    dataset: Dataset, pending: list[tuple[int, str, dict[str, Any]]], rng: random.Random
) -> None:
    """Ids grow with creation time (with gaps: other projects share the id space)."""
    pending.sort(key=lambda item: (item[0], item[2]["job_name"], item[2]["plan_time"]))
    next_id = FIRST_INSTANCE_ID
    grouped: dict[tuple[str, str], list[Instance]] = {}
    for _, workspace, row in pending:
        next_id += rng.randint(1, 3)
        grouped.setdefault((workspace, row["job_name"]), []).append(Instance(instance_id=next_id, **row))
    for (workspace, name), instances in grouped.items():
        table = dataset.table(workspace, name)
        assert table is not None
        table.load(instances)
        # The PatchData runs that made the type-5 re-runs (one per job and submission).
        patch_data.register_instances(dataset, [(workspace, inst) for inst in instances])
    dataset.reserve_instance_ids(next_id + 1)


def bulk_dataset(
    jobs: int = 100,
    instances_per_job: int = 10_000,
    *,
    interval_seconds: int = 300,
    now: datetime | int | None = None,
    seed: int = 0,
) -> Dataset:
    """``jobs`` x ``instances_per_job`` instances written straight into columns (1M in seconds).

    Job ``j`` is planned every ``interval_seconds`` up to now; the latest instance is running,
    about one in 37 failed. Values come from cheap arithmetic rather than a random generator.
    """
    now_ms = to_ms(now)
    step = interval_seconds * SECOND
    last_plan = now_ms // step * step
    first_plan = last_plan - (instances_per_job - 1) * step
    dataset = Dataset(DEMO_PROJECT_ID, seed=seed)
    success, fail, running = (STATUSES.index(s) for s in ("success", "fail", "running"))
    m = instances_per_job
    for j in range(jobs):
        job = dataset.add_job(
            f"bulk_job_{j:04d}",
            create_time=first_plan - DAY,
            last_update_time=first_plan - DAY,
            period_ms=step,
        )
        table = dataset.table(dataset.default_workspace, job.name)
        assert table is not None
        salt = (seed + j) * 104729
        table.plan = array("q", range(first_plan, last_plan + 1, step))
        delays = [((k * 7919 + salt) % 90_000) for k in range(m)]
        table.start = array("q", [p + d for p, d in zip(table.plan, delays, strict=True)])
        durations = [30_000 + ((k * 31 + salt) % 600) * SECOND for k in range(m)]
        table.end = array("q", [s + d for s, d in zip(table.start, durations, strict=True)])
        table.exec = array("d", durations)
        table.submit = array("q", [first_plan - DAY]) * m
        table.iid = array("q", range(FIRST_INSTANCE_ID + j, FIRST_INSTANCE_ID + j + m * jobs, jobs))
        table.status = array("b", [fail if (k + j) % 37 == 0 else success for k in range(m)])
        table.itype = array("b", bytes(m))
        table.flags = array("B", bytes(m))
        table.version = array("i", [1]) * m
        if m:
            table.status[-1] = running
            table.end[-1] = -1
            table.exec[-1] = math.nan
        table.min_lag, table.max_lag = 0, max(delays, default=0)
    dataset.reserve_instance_ids(FIRST_INSTANCE_ID + m * jobs + jobs)
    return dataset
