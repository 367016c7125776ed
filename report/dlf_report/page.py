"""The HTML page: one file with plotly.js, the styles and every chart inline, so it opens
offline (no script, style or font from any URL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

import plotly.graph_objects as go
import plotly.offline

from dlf_report import charts
from dlf_report.marts import ReportData

# No "edit in Chart Studio" link and no logo: nothing on the page points off the machine.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f4f5f7;
       color: #1f2328; }
header { background: #1f3b57; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .85; font-size: 13px; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 40px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px; }
.kpi { background: #fff; border-radius: 8px; padding: 10px 16px; min-width: 120px;
       box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.kpi b { display: block; font-size: 22px; }
.kpi span { font-size: 12px; color: #57606a; }
section { background: #fff; border-radius: 8px; padding: 12px 18px; margin: 14px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
section h2 { font-size: 16px; margin: 4px 0 2px; }
section .why { font-size: 12px; color: #57606a; margin: 0 0 6px; }
.no-data { color: #57606a; font-style: italic; padding: 18px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { font-size: 12px; color: #57606a; text-align: center; padding: 12px; }
"""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    why: str
    body: str  # HTML
    chart: bool  # True when a chart was drawn (not "no data", not a table)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def no_data(what: str) -> str:
    return f'<p class="no-data">No data: {escape(what)}</p>'


def chart_section(key: str, title: str, why: str, figure: go.Figure | None, empty: str) -> Section:
    if figure is None:
        return Section(key, title, why, no_data(empty), chart=False)
    html = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{key}", config=PLOTLY_CONFIG
    )
    return Section(key, title, why, f'<div class="chart" data-chart="{key}">{html}</div>', chart=True)


def table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if index in numeric else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sections(data: ReportData) -> list[Section]:
    # The day of the last moment the warehouse knows of is still under way: left out of trends.
    partial_day = data.timeline_end.date() if data.timeline_end else None
    shown_jobs = len({row.job for row in data.job_days if row.p50_duration_s is not None})
    result = [
        chart_section(
            "runs-per-day",
            "Runs per day by status",
            "Every instance by the UTC day of its plan time, stacked by the status it has now; "
            "the day still under way is drawn pale.",
            charts.runs_per_day(data.runs_per_day, partial_day),
            "no runs in dlf_marts.runs.",
        ),
        chart_section(
            "duration",
            "Run time over time, per job",
            "Median run time of each job per day, each job on its own scale; ▲ marks jobs whose "
            "recent runs got slower (dlf_marts.duration_trend). The day still under way "
            f"({partial_day.isoformat() if partial_day else '-'}) is left out"
            + (
                f"; the {charts.TREND_JOBS_SHOWN} jobs shown are the rising and busiest of {shown_jobs}."
                if shown_jobs > charts.TREND_JOBS_SHOWN
                else "."
            ),
            charts.duration_per_job(data.job_days, data.rising, partial_day),
            "no finished runs with a run time in dlf_marts.job_daily.",
        ),
        chart_section(
            "timeline",
            "The last day's runs",
            f"Every run planned, started, ended or still open in the 24 h up to "
            f"{when(data.timeline_end)}, the last moment the warehouse knows of: plan → start "
            "(grey: waiting, for scheduled runs; manual and PatchData runs are planned at the "
            "time they re-run, so they have no wait), start → end by outcome; an open run "
            "reaches that moment.",
            charts.timeline(data.timeline, data.timeline_end),
            "no runs in the last day.",
        ),
        chart_section(
            "failing-jobs",
            "Jobs that end not ok most",
            "Runs that ended not ok (fail, manual-stop, skip-by-depend) per job over the whole "
            "period, with the share of its runs.",
            charts.failing_jobs(data.failing_jobs),
            "no run ended not ok.",
        ),
    ]
    if data.open_instances:
        rows = [
            [i.job, i.instance_id, i.status, when(i.planned_at), when(i.started_at), age(i.age_s)]
            for i in data.open_instances
        ]
        body = table(["job", "instance", "status", "planned", "started", "open for"], rows, {5})
        if data.open_count > len(rows):
            body += f'<p class="why">The {len(rows)} oldest of {data.open_count} open instances.</p>'
    else:
        body = no_data("no open instances: every run has ended.")
    result.append(
        Section(
            "open",
            "Open instances",
            "Instances not ended yet (waiting, running, paused...), oldest first.",
            body,
            chart=False,
        )
    )
    if data.rising:
        rows = [
            [
                trend.job,
                f"{trend.earlier_p50_s:.0f}" if trend.earlier_p50_s is not None else "-",
                f"{trend.recent_p50_s:.0f}" if trend.recent_p50_s is not None else "-",
                # change_ratio is recent / earlier (the dbt model's), 1.3 = 30 % slower.
                f"{trend.change_ratio:.2f}" if trend.change_ratio is not None else "-",
            ]
            for trend in data.rising
        ]
        result.append(
            Section(
                "rising",
                "Jobs that got slower",
                "Median run time of the recent runs against the earlier ones (dlf_marts.duration_trend).",
                table(
                    ["job", "earlier median (s)", "recent median (s)", "recent / earlier"], rows, {1, 2, 3}
                ),
                chart=False,
            )
        )
    if data.failing_nodes is not None:
        result.append(
            chart_section(
                "failing-nodes",
                "Nodes that fail most",
                "Failed node runs per job and node (dlf_marts.failing_nodes).",
                charts.failing_nodes(data.failing_nodes),
                "no failed node runs (or no node runs loaded).",
            )
        )
    return result


def render(data: ReportData, source: str) -> tuple[str, list[Section]]:
    parts = sections(data)
    totals = data.totals
    kpis = [
        (f"{totals.runs:,}", "runs"),
        (f"{totals.ok / totals.runs:.1%}" if totals.runs else "-", "ended ok"),
        (f"{totals.failed:,}", "ended not ok"),
        (f"{totals.open:,}", "still open"),
        (f"{totals.jobs:,}", "jobs"),
    ]
    kpi_html = "".join(f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for v, k in kpis)
    period = f"plan times {when(totals.first_planned)} to {when(totals.last_planned)}"
    body = "".join(
        f'<section id="{part.key}"><h2>{escape(part.title)}</h2><p class="why">{escape(part.why)}</p>'
        f"{part.body}</section>"
        for part in parts
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DataArts Factory runs: report</title>
<style>{STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<header><h1>DataArts Factory job runs</h1>
<p>{escape(source)} · {escape(period)} · generated {escape(when(data.generated_at))}</p></header>
<main>
<div class="kpis">{kpi_html}</div>
{body}
</main>
<footer>tap-dlf-instances · dbt marts in schema dlf_marts · charts by plotly</footer>
</body>
</html>
"""
    return page, parts
