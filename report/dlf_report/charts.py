"""The report's charts as plotly figures (plotly.graph_objects: no pandas needed).

Each builder returns None when it has nothing to draw, and the page says "no data" instead.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dlf_report.marts import DayStatus, FailingJob, FailingNode, JobDay, Run, Trend

# The API's statuses, in the order a reader expects them, with colours that say their group.
STATUS_COLOURS = {
    "success": "#2e9d4f",
    "fail": "#d64545",
    "running-exception": "#e8833a",
    "manual-stop": "#9467bd",
    "skip-by-depend": "#8c8c8c",
    "running": "#3b82c4",
    "waiting": "#9ecae1",
    "freeze": "#bcbd22",
    "pause": "#c7c7c7",
}
GROUP_COLOURS = {"ok": "#2e9d4f", "failed": "#d64545", "open": "#3b82c4"}
#: One word for each number, as the terminal summary says it: "failed" is the API's status
#: `fail` there, so the group of fail, manual-stop and skip-by-depend is "not ok" here.
GROUP_NAMES = {"ok": "ended ok", "failed": "ended not ok", "open": "still open"}
WAIT_COLOUR = "#d9d9d9"
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12},
}


def status_order(status: str) -> tuple[int, str]:
    order = list(STATUS_COLOURS)
    return (order.index(status) if status in order else len(order), status)


def runs_per_day(rows: list[DayStatus], partial_day: date | None = None) -> go.Figure | None:
    """Runs per day stacked by status; the day still under way (``partial_day``) is drawn pale
    and named, so that its short bar does not read as a drop."""
    if not rows:
        return None
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    groups: dict[str, str] = {}
    for row in rows:
        counts[row.status][row.day.isoformat()] = row.runs
        groups[row.status] = row.status_group
    partial = partial_day.isoformat() if partial_day else None
    figure = go.Figure()
    for status in sorted(counts, key=status_order):
        days = sorted(counts[status])
        figure.add_bar(
            x=days,
            y=[counts[status][day] for day in days],
            name=status,
            marker_color=STATUS_COLOURS.get(status, GROUP_COLOURS.get(groups[status], "#7f7f7f")),
            marker_opacity=[0.4 if day == partial else 1.0 for day in days],
            hovertemplate="%{x}: %{y} " + status + "<extra></extra>",
        )
    if partial is not None and any(partial in per_day for per_day in counts.values()):
        figure.add_annotation(
            x=partial,
            y=sum(per_day.get(partial, 0) for per_day in counts.values()),
            text="day under way",
            showarrow=False,
            yshift=12,
            font={"size": 11, "color": "#555555"},
        )
    figure.update_layout(LAYOUT, barmode="stack", yaxis_title="runs", xaxis_type="date", height=380)
    return figure


def duration_unit(seconds: list[float]) -> tuple[float, str]:
    """Seconds, minutes or hours, whichever keeps the axis readable."""
    largest = max(seconds, default=0.0)
    if largest >= 3 * 3600:
        return 3600.0, "h"
    if largest >= 180:
        return 60.0, "min"
    return 1.0, "s"


#: Jobs drawn in "Run time over time", one small chart each: rising ones first, then the busiest.
TREND_JOBS_SHOWN = 12


def duration_per_job(
    rows: list[JobDay], rising: list[Trend], partial_day: date | None = None
) -> go.Figure | None:
    """Each job's median run time per day, one small chart per job with its own scale (jobs
    differ a hundredfold: on one axis the short ones are a flat line). The day still under
    way (``partial_day``) is left out: its few runs so far make a dip that is no trend."""
    rows = [row for row in rows if row.p50_duration_s is not None and row.day != partial_day]
    if not rows:
        return None
    rising_jobs = {trend.job for trend in rising}
    per_job: dict[str, list[JobDay]] = defaultdict(list)
    for row in rows:
        per_job[row.job].append(row)
    busiest = sorted(
        per_job, key=lambda job: (job not in rising_jobs, -sum(r.runs for r in per_job[job]), job)
    )
    jobs = busiest[:TREND_JOBS_SHOWN]
    figure = make_subplots(
        rows=len(jobs),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.08, 0.5 / len(jobs)),
        subplot_titles=[f"{job} ▲ rising" if job in rising_jobs else job for job in jobs],
    )
    for index, job in enumerate(jobs, start=1):
        days = sorted(per_job[job], key=lambda row: row.day)
        divisor, unit = duration_unit([row.p50_duration_s or 0.0 for row in days])
        figure.add_scatter(
            x=[row.day.isoformat() for row in days],
            y=[(row.p50_duration_s or 0.0) / divisor for row in days],
            customdata=[row.runs for row in days],
            mode="lines+markers",
            marker_size=4,
            line_width=3 if job in rising_jobs else 1.5,
            line_color=GROUP_COLOURS["failed"] if job in rising_jobs else GROUP_COLOURS["open"],
            name=job,
            showlegend=False,
            hovertemplate=f"{job}<br>%{{x}}: median %{{y:.1f}} {unit} over %{{customdata}} runs<extra></extra>",
            row=index,
            col=1,
        )
        figure.update_yaxes(title_text=unit, rangemode="tozero", row=index, col=1)
    figure.update_layout(LAYOUT, height=150 * len(jobs) + 80, showlegend=False)
    figure.update_xaxes(type="date")
    return figure


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def timeline(runs: list[Run], end: datetime | None) -> go.Figure | None:
    """A Gantt of the day up to ``end``: plan → start (grey, the wait) and start → end (by
    outcome); what lies outside the day is cut off by the axis range.

    Horizontal bars on a date axis with ``base`` = start and length in ms, which is what
    plotly.express.timeline draws, without needing pandas."""
    if not runs or end is None:
        return None
    figure = go.Figure()
    # Manual and PatchData runs are planned at the time they re-run, not when they were due:
    # plan -> start is no wait for them, so only scheduled runs get the grey bar.
    waits = [run for run in runs if run.waited_for_its_plan and (run.started_at or end) > run.planned_at]
    figure.add_bar(
        orientation="h",
        y=[run.job for run in waits],
        base=[iso(run.planned_at) for run in waits],
        x=[((run.started_at or end) - run.planned_at).total_seconds() * 1000 for run in waits],
        name="waiting (plan → start, scheduled runs)",
        marker_color=WAIT_COLOUR,
        customdata=[[run.instance_id, run.status, iso(run.planned_at)] for run in waits],
        hovertemplate="%{y} #%{customdata[0]}<br>planned %{customdata[2]}, %{customdata[1]}"
        "<br>waited %{x:,.0f} ms<extra></extra>",
    )
    for group in ("ok", "failed", "open"):
        started = [run for run in runs if run.status_group == group and run.started_at is not None]
        if not started:
            continue
        figure.add_bar(
            orientation="h",
            y=[run.job for run in started],
            base=[iso(run.started_at) for run in started if run.started_at],
            # An open run reaches the last moment seen; every run is drawn at least 1/400 of
            # the day wide (3.6 min), so a short or just-started one stays visible.
            x=[
                max(((run.ended_at or end) - run.started_at).total_seconds() * 1000, 216_000.0)
                for run in started
                if run.started_at
            ],
            name=GROUP_NAMES[group],
            marker_color=GROUP_COLOURS[group],
            customdata=[
                [run.instance_id, run.status, iso(run.ended_at) if run.ended_at else "not yet"]
                for run in started
            ],
            hovertemplate="%{y} #%{customdata[0]}: %{customdata[1]}<br>started %{base}"
            "<br>ended %{customdata[2]}<extra></extra>",
        )
    jobs = sorted({run.job for run in runs}, reverse=True)
    figure.update_layout(
        LAYOUT,
        barmode="overlay",
        xaxis={"type": "date", "range": [iso(end - timedelta(days=1)), iso(end + timedelta(minutes=20))]},
        yaxis={"categoryorder": "array", "categoryarray": jobs, "automargin": True},
        height=max(320, 30 * len(jobs) + 140),
    )
    return figure


def failing_jobs(rows: list[FailingJob]) -> go.Figure | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda row: row.failures)  # largest at the top of a horizontal bar
    figure = go.Figure(
        go.Bar(
            orientation="h",
            y=[row.job for row in rows],
            x=[row.failures for row in rows],
            marker_color=GROUP_COLOURS["failed"],
            text=[f"{row.failures} of {row.runs} ({row.failures / max(row.runs, 1):.0%})" for row in rows],
            textposition="auto",
            hovertemplate="%{y}: %{text} ended not ok<extra></extra>",
            name="ended not ok",
        )
    )
    figure.update_layout(
        LAYOUT,
        xaxis_title="runs that ended not ok (fail, manual-stop, skip-by-depend)",
        xaxis=count_axis(max(row.failures for row in rows)),
        yaxis_automargin=True,
        showlegend=False,
        height=max(260, 30 * len(rows) + 110),
    )
    return figure


def count_axis(largest: int) -> dict[str, Any]:
    """An axis of counts: whole numbers only (no 0.2 failed runs), from zero."""
    axis: dict[str, Any] = {"rangemode": "tozero", "tickformat": ",d"}
    if largest <= 10:
        axis["dtick"] = 1
    return axis


def failing_nodes(rows: list[FailingNode]) -> go.Figure | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda row: row.failures)
    figure = go.Figure(
        go.Bar(
            orientation="h",
            y=[f"{row.job} / {row.node}" for row in rows],
            x=[row.failures for row in rows],
            marker_color=STATUS_COLOURS["running-exception"],
            text=[f"{row.failures} of {row.node_runs}" for row in rows],
            textposition="auto",
            customdata=[iso(row.last_failed_at) if row.last_failed_at else "-" for row in rows],
            hovertemplate="%{y}: %{text} failed, last %{customdata}<extra></extra>",
            name="failures",
        )
    )
    figure.update_layout(
        LAYOUT,
        xaxis_title="failed node runs",
        xaxis=count_axis(max(row.failures for row in rows)),
        yaxis_automargin=True,
        showlegend=False,
        height=max(260, 30 * len(rows) + 110),
    )
    return figure
