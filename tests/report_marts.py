"""The dbt marts of the shared contract (schema ``dlf_marts``), made in the test with realistic
rows: two weeks of five jobs (hourly, every 6 h, daily; one getting slower, one failing often,
one with a Chinese name), runs still open at the end, failing nodes. Written into DuckDB or
PostgreSQL with the contract's column names and types, so the report meets what dbt builds."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

# "Now" of the data set: the moment the last sync saw.
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DAYS = 14
PROJECT = "0b9d4a6e3c7f41d2a8e5f6c1b2d3e4f5"
WORKSPACE = "default"

TABLES = {
    "runs": """project_id VARCHAR, workspace VARCHAR, job_name VARCHAR, instance_id BIGINT,
        status VARCHAR, status_group VARCHAR, instance_type INTEGER, planned_at TIMESTAMP,
        started_at TIMESTAMP, ended_at TIMESTAMP, duration_s DOUBLE PRECISION,
        start_delay_s DOUBLE PRECISION""",
    "job_daily": """project_id VARCHAR, workspace VARCHAR, job_name VARCHAR, day DATE,
        runs BIGINT, successes BIGINT, failures BIGINT, open_runs BIGINT,
        p50_duration_s DOUBLE PRECISION, p95_duration_s DOUBLE PRECISION,
        p95_start_delay_s DOUBLE PRECISION""",
    "open_instances": """project_id VARCHAR, workspace VARCHAR, job_name VARCHAR,
        instance_id BIGINT, status VARCHAR, planned_at TIMESTAMP, started_at TIMESTAMP,
        age_s DOUBLE PRECISION""",
    "duration_trend": """project_id VARCHAR, workspace VARCHAR, job_name VARCHAR,
        earlier_p50_s DOUBLE PRECISION, recent_p50_s DOUBLE PRECISION,
        change_ratio DOUBLE PRECISION, is_rising BOOLEAN""",
    "failing_nodes": """project_id VARCHAR, workspace VARCHAR, job_name VARCHAR,
        node_name VARCHAR, node_runs BIGINT, failures BIGINT, last_failed_at TIMESTAMP""",
}
GROUPS = {
    "success": "ok",
    "fail": "failed",
    "skip-by-depend": "failed",
    "manual-stop": "failed",
    "running": "open",
    "waiting": "open",
    "running-exception": "open",
}


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    first: timedelta  # offset of the first plan time in a day
    seconds: float  # typical run time at the start of the period
    growth: float  # run time factor reached at the end of the period
    fail_rate: float
    nodes: tuple[str, ...]


JOBS = (
    Job("ods_orders_sync", timedelta(hours=1), timedelta(minutes=5), 170, 1.0, 0.03, ("extract", "load")),
    Job("dwd_orders_daily", timedelta(days=1), timedelta(hours=2), 1300, 2.2, 0.05, ("clean", "merge")),
    Job("dws_user_stats", timedelta(hours=6), timedelta(minutes=30), 620, 1.0, 0.25, ("agg", "export")),
    Job("rt_clickstream_flink_agg", timedelta(hours=1), timedelta(0), 55, 1.1, 0.0, ()),
    Job("报表_每日汇总", timedelta(days=1), timedelta(hours=6), 900, 1.0, 0.08, ("sql_汇总",)),
)


def naive(moment: datetime | None) -> datetime | None:
    """The marts' timestamps are UTC without a zone (dbt's cast of epoch ms)."""
    return moment.replace(tzinfo=None) if moment else None


def make_runs(jobs: tuple[Job, ...] = JOBS, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = (NOW - timedelta(days=DAYS)).replace(hour=0, minute=0)
    runs: list[dict[str, Any]] = []
    instance_id = 1_000_000
    for job in jobs:
        plan = start + job.first
        while plan < NOW:
            instance_id += 1
            progress = (plan - start) / (NOW - start)
            wait = rng.uniform(2, 40) + (rng.random() < 0.05) * rng.uniform(300, 1200)
            run = job.seconds * (1 + (job.growth - 1) * progress) * rng.uniform(0.8, 1.25)
            started: datetime | None = plan + timedelta(seconds=wait)
            ended: datetime | None = started + timedelta(seconds=run) if started else None
            roll = rng.random()
            status = "success"
            if roll < job.fail_rate:
                status = "fail"
            elif roll < job.fail_rate + 0.01:
                status = "manual-stop"
            elif roll < job.fail_rate + 0.02:
                status = "skip-by-depend"
            if started and started > NOW:
                status, started, ended = "waiting", None, None
            elif ended and ended > NOW:
                status, ended = "running", None
            if status in ("fail", "manual-stop") and ended and started:
                ended = started + timedelta(seconds=run * rng.uniform(0.1, 0.6))
            runs.append(
                {
                    "project_id": PROJECT,
                    "workspace": WORKSPACE,
                    "job_name": job.name,
                    "instance_id": instance_id,
                    "status": status,
                    "status_group": GROUPS[status],
                    "instance_type": 5 if rng.random() < 0.02 else 0,
                    "planned_at": plan,
                    "started_at": started,
                    "ended_at": ended,
                    "duration_s": (ended - started).total_seconds() if ended and started else None,
                    "start_delay_s": (started - plan).total_seconds() if started else None,
                }
            )
            plan += job.every
    # The last run of some jobs still going when the sync saw them, one of them with an error.
    for name, status in (("ods_orders_sync", "running"), ("dws_user_stats", "running-exception")):
        last = max((r for r in runs if r["job_name"] == name), key=lambda r: r["planned_at"])
        last |= {"status": status, "status_group": "open", "ended_at": None, "duration_s": None}
    # An old run stuck waiting for days: the open instances' oldest.
    runs[3] |= {"status": "waiting", "status_group": "open", "started_at": None, "ended_at": None}
    runs[3] |= {"duration_s": None, "start_delay_s": None}
    return runs


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def marts(runs: list[dict[str, Any]], nodes: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """The marts computed from the runs as the dbt models do."""
    days: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for run in runs:
        days.setdefault((run["job_name"], run["planned_at"].date()), []).append(run)
    job_daily = []
    for (job, day), rows in sorted(days.items()):
        # As the dbt model: run times of the runs that ended ok.
        durations = [
            r["duration_s"] for r in rows if r["status_group"] == "ok" and r["duration_s"] is not None
        ]
        delays = [r["start_delay_s"] for r in rows if r["start_delay_s"] is not None]
        job_daily.append(
            (
                PROJECT,
                WORKSPACE,
                job,
                day,
                len(rows),
                sum(r["status_group"] == "ok" for r in rows),
                sum(r["status_group"] == "failed" for r in rows),
                sum(r["status_group"] == "open" for r in rows),
                percentile(durations, 0.5),
                percentile(durations, 0.95),
                percentile(delays, 0.95),
            )
        )
    open_instances = [
        (
            PROJECT,
            WORKSPACE,
            r["job_name"],
            r["instance_id"],
            r["status"],
            naive(r["planned_at"]),
            naive(r["started_at"]),
            (NOW - r["planned_at"]).total_seconds(),
        )
        for r in runs
        if r["status_group"] == "open"
    ]
    trend = []
    for job in sorted({r["job_name"] for r in runs}):
        finished = sorted(
            (
                r
                for r in runs
                if r["job_name"] == job and r["status_group"] == "ok" and r["duration_s"] is not None
            ),
            key=lambda r: r["planned_at"],
        )
        cut = NOW - timedelta(days=3)
        earlier = statistics.median(r["duration_s"] for r in finished if r["planned_at"] < cut)
        recent = statistics.median(r["duration_s"] for r in finished if r["planned_at"] >= cut)
        ratio = recent / earlier  # the dbt model's change_ratio
        trend.append((PROJECT, WORKSPACE, job, earlier, recent, ratio, ratio >= 1.2))
    failing_nodes = []
    if nodes:
        for job in JOBS:
            failed = [r for r in runs if r["job_name"] == job.name and r["status"] == "fail"]
            total = sum(r["job_name"] == job.name for r in runs)
            for index, node in enumerate(job.nodes):
                mine = failed[index :: len(job.nodes)]
                last = max((r["ended_at"] for r in mine if r["ended_at"]), default=None)
                failing_nodes.append((PROJECT, WORKSPACE, job.name, node, total, len(mine), naive(last)))
    run_rows = [
        tuple(
            naive(r[c]) if isinstance(r[c], datetime) else r[c]
            for c in (
                "project_id",
                "workspace",
                "job_name",
                "instance_id",
                "status",
                "status_group",
                "instance_type",
                "planned_at",
                "started_at",
                "ended_at",
                "duration_s",
                "start_delay_s",
            )
        )
        for r in runs
    ]
    return {
        "runs": run_rows,
        "job_daily": job_daily,
        "open_instances": open_instances,
        "duration_trend": trend,
        "failing_nodes": failing_nodes,
    }


def write(connection: Any, tables: dict[str, list[tuple[Any, ...]]], placeholder: str = "?") -> None:
    """Create schema dlf_marts with the given tables (DuckDB: ``?``; psycopg: ``%s``)."""
    connection.execute("CREATE SCHEMA IF NOT EXISTS dlf_marts")
    for name, rows in tables.items():
        connection.execute(f"CREATE TABLE dlf_marts.{name} ({TABLES[name]})")
        if rows:
            marks = ", ".join([placeholder] * len(rows[0]))
            cursor = connection.cursor()
            cursor.executemany(f"INSERT INTO dlf_marts.{name} VALUES ({marks})", rows)


def realistic(nodes: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    tables = marts(make_runs(), nodes=nodes)
    if not nodes:
        del tables["failing_nodes"]
    return tables


def empty() -> dict[str, list[tuple[Any, ...]]]:
    return {name: [] for name in TABLES}


def make_duckdb(path: Any, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    import duckdb  # noqa: PLC0415

    with duckdb.connect(str(path)) as connection:
        write(connection, tables)
