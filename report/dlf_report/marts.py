"""What the report shows, read from the marts: one query and one small record type per section.

The SQL is plain enough for DuckDB and PostgreSQL alike. Days are computed from epoch seconds
(``FLOOR(epoch / 86400)``), i.e. UTC days whatever the session's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dlf_report.warehouse import MARTS_SCHEMA, Warehouse, epoch, number

S = MARTS_SCHEMA
OPEN_INSTANCES_SHOWN = 100
TOP_FAILING_JOBS = 10
TOP_FAILING_NODES = 15
TIMELINE_RUNS = 5000  # a readable Gantt has far fewer; the cap keeps a huge backlog from the page


def seconds_of(column: str) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class Totals:
    runs: int
    ok: int
    failed: int
    open: int
    first_planned: datetime | None
    last_planned: datetime | None
    jobs: int
    workspaces: int  # distinct (project_id, workspace) pairs


@dataclass(frozen=True)
class DayStatus:
    day: date
    status: str
    status_group: str
    runs: int


@dataclass(frozen=True)
class JobDay:
    job: str
    day: date
    runs: int
    p50_duration_s: float | None


@dataclass(frozen=True)
class Run:
    job: str
    instance_id: str
    status: str
    status_group: str
    planned_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    #: The API's scheduling mode: 0 scheduled ... 2 manual, 5 PatchData (None: not known).
    instance_type: int | None = None

    @property
    def waited_for_its_plan(self) -> bool:
        """Whether plan -> start is a wait: not for a manual or PatchData run, which is planned
        at the time it re-runs (days back), not when it was due to start."""
        return self.instance_type not in MANUAL_OR_PATCH


#: instance_type of the runs a user or PatchData started: 2 manual, 5 PatchData.
MANUAL_OR_PATCH = frozenset({2, 5})


@dataclass(frozen=True)
class FailingJob:
    job: str
    runs: int
    failures: int


@dataclass(frozen=True)
class OpenInstance:
    job: str
    instance_id: str
    status: str
    planned_at: datetime | None
    started_at: datetime | None
    age_s: float | None


@dataclass(frozen=True)
class Trend:
    job: str
    earlier_p50_s: float | None
    recent_p50_s: float | None
    change_ratio: float | None


@dataclass(frozen=True)
class FailingNode:
    job: str
    node: str
    node_runs: int
    failures: int
    last_failed_at: datetime | None


@dataclass
class ReportData:
    """Everything the page shows."""

    totals: Totals
    runs_per_day: list[DayStatus]
    job_days: list[JobDay]
    rising: list[Trend]
    timeline: list[Run]
    timeline_end: datetime | None
    failing_jobs: list[FailingJob]
    open_instances: list[OpenInstance]
    open_count: int
    failing_nodes: list[FailingNode] | None  # None: the mart does not exist
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Labels:
    """Job names as shown: prefixed with the workspace (and project) only when the warehouse
    holds more than one, so one workspace's report stays uncluttered."""

    def __init__(self, projects: int, pairs: int) -> None:
        self.projects = projects
        self.pairs = pairs

    def __call__(self, project_id: Any, workspace: Any, job_name: Any) -> str:
        if self.pairs <= 1:
            return str(job_name)
        if self.projects > 1:
            return f"{str(project_id)[:8]}/{workspace}/{job_name}"
        return f"{workspace}/{job_name}"


def day_of(day_number: Any) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_number))


def read(warehouse: Warehouse) -> ReportData:
    optional = warehouse.check_marts()
    (row,) = warehouse.rows(
        "totals (dlf_marts.runs)",
        f"""SELECT COUNT(*),
                   COUNT(CASE WHEN status_group = 'ok' THEN 1 END),
                   COUNT(CASE WHEN status_group = 'failed' THEN 1 END),
                   COUNT(CASE WHEN status_group = 'open' THEN 1 END),
                   MIN({seconds_of("planned_at")}), MAX({seconds_of("planned_at")}),
                   COUNT(DISTINCT project_id || '/' || workspace || '/' || job_name),
                   COUNT(DISTINCT project_id || '/' || workspace),
                   COUNT(DISTINCT project_id)
            FROM {S}.runs""",
    )
    totals = Totals(
        runs=int(row[0]),
        ok=int(row[1]),
        failed=int(row[2]),
        open=int(row[3]),
        first_planned=epoch(row[4]),
        last_planned=epoch(row[5]),
        jobs=int(row[6]),
        workspaces=int(row[7]),
    )
    label = Labels(projects=int(row[8]), pairs=totals.workspaces)

    runs_per_day = [
        DayStatus(day_of(r[0]), str(r[1]), str(r[2]), int(r[3]))
        for r in warehouse.rows(
            "runs per day by status (dlf_marts.runs)",
            f"""SELECT FLOOR({seconds_of("planned_at")} / 86400) AS day_number, status,
                       status_group, COUNT(*)
                FROM {S}.runs WHERE planned_at IS NOT NULL
                GROUP BY 1, 2, 3 ORDER BY 1, 2""",
        )
    ]
    job_days = [
        JobDay(label(r[0], r[1], r[2]), r[3], int(r[4]), number(r[5]))
        for r in warehouse.rows(
            "duration per job and day (dlf_marts.job_daily)",
            f"""SELECT project_id, workspace, job_name, day, runs, p50_duration_s
                FROM {S}.job_daily ORDER BY job_name, day""",
        )
    ]
    rising = [
        Trend(label(r[0], r[1], r[2]), number(r[3]), number(r[4]), number(r[5]))
        for r in warehouse.rows(
            "duration trends (dlf_marts.duration_trend)",
            f"""SELECT project_id, workspace, job_name, earlier_p50_s, recent_p50_s, change_ratio
                FROM {S}.duration_trend WHERE is_rising
                ORDER BY change_ratio DESC, job_name""",
        )
    ]
    # The last day: the 24 h up to the last moment the warehouse knows of (not the clock, so an
    # old warehouse still shows its last day), every run planned, started, ended or still open
    # in it. A PatchData run can be planned days after it ran, so plan time alone is not enough.
    timeline_rows = warehouse.rows(
        "the last day's runs (dlf_marts.runs)",
        f"""WITH bounds AS (
                SELECT GREATEST(MAX(planned_at), MAX(started_at), MAX(ended_at)) AS last_seen
                FROM {S}.runs)
            SELECT project_id, workspace, job_name, instance_id, status, status_group,
                   {seconds_of("planned_at")}, {seconds_of("started_at")},
                   {seconds_of("ended_at")}, duration_s, {seconds_of("last_seen")}, instance_type
            FROM {S}.runs CROSS JOIN bounds
            WHERE planned_at > last_seen - INTERVAL '1 day'
               OR started_at > last_seen - INTERVAL '1 day'
               OR ended_at > last_seen - INTERVAL '1 day'
               OR status_group = 'open'
            ORDER BY job_name, planned_at LIMIT {TIMELINE_RUNS}""",
    )
    timeline = [
        Run(
            job=label(r[0], r[1], r[2]),
            instance_id=str(r[3]),
            status=str(r[4]),
            status_group=str(r[5]),
            planned_at=epoch(r[6]) or datetime.min.replace(tzinfo=UTC),
            started_at=epoch(r[7]),
            ended_at=epoch(r[8]),
            duration_s=number(r[9]),
            instance_type=int(r[11]) if r[11] is not None else None,
        )
        for r in timeline_rows
    ]
    failing_jobs = [
        FailingJob(label(r[0], r[1], r[2]), int(r[3]), int(r[4]))
        for r in warehouse.rows(
            "failures per job (dlf_marts.job_daily)",
            f"""SELECT project_id, workspace, job_name, SUM(runs), SUM(failures)
                FROM {S}.job_daily GROUP BY 1, 2, 3 HAVING SUM(failures) > 0
                ORDER BY 5 DESC, 3 LIMIT {TOP_FAILING_JOBS}""",
        )
    ]
    open_rows = warehouse.rows(
        "open instances (dlf_marts.open_instances)",
        f"""SELECT project_id, workspace, job_name, instance_id, status,
                   {seconds_of("planned_at")}, {seconds_of("started_at")}, age_s,
                   COUNT(*) OVER ()
            FROM {S}.open_instances ORDER BY age_s DESC, job_name LIMIT {OPEN_INSTANCES_SHOWN}""",
    )
    open_instances = [
        OpenInstance(label(r[0], r[1], r[2]), str(r[3]), str(r[4]), epoch(r[5]), epoch(r[6]), number(r[7]))
        for r in open_rows
    ]
    failing_nodes = None
    if "failing_nodes" in optional:
        failing_nodes = [
            FailingNode(label(r[0], r[1], r[2]), str(r[3]), int(r[4]), int(r[5]), epoch(r[6]))
            for r in warehouse.rows(
                "failing nodes (dlf_marts.failing_nodes)",
                f"""SELECT project_id, workspace, job_name, node_name, node_runs, failures,
                           {seconds_of("last_failed_at")}
                    FROM {S}.failing_nodes WHERE failures > 0
                    ORDER BY failures DESC, job_name, node_name LIMIT {TOP_FAILING_NODES}""",
            )
        ]
    return ReportData(
        totals=totals,
        runs_per_day=runs_per_day,
        job_days=job_days,
        rising=rising,
        timeline=timeline,
        timeline_end=epoch(timeline_rows[0][10]) if timeline_rows else None,
        failing_jobs=failing_jobs,
        open_instances=open_instances,
        open_count=int(open_rows[0][8]) if open_rows else 0,
        failing_nodes=failing_nodes,
    )
