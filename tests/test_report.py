"""The run report (report/, ``dlf-report``) on DuckDB files made here with the marts of the
shared contract: what it draws, "no data" per chart on empty marts, and one clear line (exit 1)
for what a user can get wrong. The browser side is tests/test_report_browser.py."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import report_marts
from dlf_report import ReportError, charts, marts, write_report
from dlf_report.warehouse import open_duckdb, progress

ROOT = Path(__file__).resolve().parents[1]
ALL_CHARTS = ("runs-per-day", "duration", "timeline", "failing-jobs", "failing-nodes")
DLF_REPORT = Path(sys.executable).with_name("dlf-report")


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlf_report", *args], capture_output=True, text=True, timeout=120, check=False
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("dlf-report: ")
    return lines[0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("marts") / "warehouse.duckdb"
    report_marts.make_duckdb(path, report_marts.realistic())
    return path


def assert_self_contained(html: str) -> None:
    """Opens offline: no script, style sheet, image or font loaded from a URL."""
    assert not re.search(r"<script[^>]*\ssrc=", html)
    assert not re.search(r"<link\b", html)
    assert not re.search(r"<img[^>]*\ssrc=[\"']?https?:", html)
    assert "@import" not in html.split("<script", 1)[0]


def in_page(text: str, html: str) -> bool:
    """In the HTML, or in plotly's JSON, which writes non-ASCII characters as \\uXXXX."""
    return text in html or json.dumps(text)[1:-1] in html


def test_report_of_realistic_marts(warehouse: Path, tmp_path: Path) -> None:
    summary = write_report(warehouse, tmp_path / "report.html")

    assert summary.charts == ALL_CHARTS
    assert summary.no_data == ()
    assert summary.runs == 780
    assert summary.open_instances == 3
    html = summary.out_path.read_text(encoding="utf-8")
    assert summary.size_bytes == len(html.encode())
    assert_self_contained(html)
    assert html.count("Plotly.newPlot(") == len(ALL_CHARTS)
    # Every job by name (the Chinese one too), the rising one marked, the oldest open first.
    for job in report_marts.JOBS:
        assert in_page(job.name, html)
    assert in_page("dwd_orders_daily ▲ rising", html)
    open_table = html.split('id="open"', 1)[1].split("</table>", 1)[0]
    assert open_table.index("14 d ") < open_table.index("25 min")
    assert not list(tmp_path.glob("*.partial"))


def test_command_line_and_console_script(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "report.html"
    done = run_report("--duckdb", str(warehouse), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"dlf-report: wrote {re.escape(str(out))} \(\d+\.\d MB, 5 charts, 780 runs, 3 open\) in \d+\.\d s",
        line,
    )
    assert out.is_file()
    assert done.stdout == ""

    console = subprocess.run(
        [str(DLF_REPORT), "--duckdb", str(warehouse), "--out", str(tmp_path / "again.html")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert console.returncode == 0, console.stderr


def test_empty_marts_say_no_data_per_chart(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    report_marts.make_duckdb(path, report_marts.empty())
    done = run_report("--duckdb", str(path), "--out", str(tmp_path / "report.html"))

    assert done.returncode == 0, done.stderr
    assert "0 charts, 0 runs, 0 open" in done.stderr
    assert "no data: runs-per-day, duration, timeline, failing-jobs, open, failing-nodes" in done.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count('class="no-data"') == 6
    assert "Plotly.newPlot(" not in html


def test_without_the_failing_nodes_mart(tmp_path: Path) -> None:
    path = tmp_path / "no-nodes.duckdb"
    report_marts.make_duckdb(path, report_marts.realistic(nodes=False))
    summary = write_report(path, tmp_path / "report.html")
    assert summary.charts == ALL_CHARTS[:-1]
    assert 'id="failing-nodes"' not in summary.out_path.read_text(encoding="utf-8")


def test_open_connection_is_used_and_left_open(warehouse: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        summary = write_report(connection, tmp_path / "report.html")
        assert summary.charts == ALL_CHARTS
        assert connection.execute("SELECT COUNT(*) FROM dlf_marts.runs").fetchone() == (780,)


def test_several_workspaces_are_told_apart(tmp_path: Path) -> None:
    tables = report_marts.realistic()
    tables["runs"] += [("0b9d4a6e3c7f41d2a8e5f6c1b2d3e4f5", "ws-b", *row[2:]) for row in tables["runs"][:30]]
    tables["job_daily"] += [(row[0], "ws-b", *row[2:]) for row in tables["job_daily"][:3]]
    path = tmp_path / "two.duckdb"
    report_marts.make_duckdb(path, tables)
    html = write_report(path, tmp_path / "report.html").out_path.read_text(encoding="utf-8")
    # In plotly's JSON, "/" is written \u002f.
    assert "ws-b\\u002fdwd_orders_daily" in html
    assert "default\\u002fdwd_orders_daily" in html


def test_markup_in_a_job_name_stays_text(tmp_path: Path) -> None:
    tables = report_marts.realistic()
    hostile = "</script><img src=x onerror=alert(1)>"
    tables["runs"] = [
        (*row[:2], hostile, *row[3:]) if row[2] == "dws_user_stats" else row for row in tables["runs"]
    ]
    tables["open_instances"] = [(*row[:2], hostile, *row[3:]) for row in tables["open_instances"]]
    tables["job_daily"] = [(*row[:2], hostile, *row[3:]) for row in tables["job_daily"]]
    path = tmp_path / "hostile.duckdb"
    report_marts.make_duckdb(path, tables)
    html = write_report(path, tmp_path / "report.html").out_path.read_text(encoding="utf-8")
    assert hostile not in html
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # in the open-instances table


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"
    line = one_error_line(run_report("--duckdb", str(missing)))
    assert str(missing) in line
    assert "does not exist" in line


def test_marts_not_built_says_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "loaded-only.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA dlf; CREATE TABLE dlf.instances (job_name VARCHAR)")
    line = one_error_line(run_report("--duckdb", str(path), "--out", str(tmp_path / "r.html")))
    assert "dlf_marts.runs" in line
    assert "meltano run dbt-duckdb:build" in line
    assert not (tmp_path / "r.html").exists()


def test_not_a_duckdb_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 100)
    line = one_error_line(run_report("--duckdb", str(path)))
    assert f"cannot open {path} as a DuckDB database" in line


def test_unwritable_output_is_one_line(warehouse: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_error_line(run_report("--duckdb", str(warehouse), "--out", str(blocker / "report.html")))
    assert f"cannot write {blocker / 'report.html'}" in line


def test_unreachable_postgres_is_one_line_without_the_password() -> None:
    line = one_error_line(run_report("--postgres", "postgresql://reader:pw-Secret-42@127.0.0.1:1/dlf"))
    assert "cannot connect to PostgreSQL" in line
    assert "pw-Secret-42" not in line


def test_progress_lines_on_long_queries(warehouse: Path, tmp_path: Path) -> None:
    done = run_report("--duckdb", str(warehouse), "--out", str(tmp_path / "r.html"), "--progress-after", "0")
    assert done.returncode == 0, done.stderr
    assert "dlf-report: reading the last day's runs (dlf_marts.runs) ... 0 s" in done.stderr
    assert re.search(r"dlf-report: read the last day's runs \(dlf_marts\.runs\) in \d+\.\d s", done.stderr)


def test_progress_is_silent_for_fast_work_and_speaks_for_slow() -> None:
    said: list[str] = []
    with progress("a fast query", after=5.0, say=said.append):
        pass
    assert said == []
    with progress("a slow query", after=0.05, say=said.append):
        time.sleep(0.3)
    assert said[0] == "reading a slow query ... 0 s"
    assert re.fullmatch(r"read a slow query in 0\.\d s", said[-1])


def test_report_error_is_raised_to_callers(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "none.duckdb", tmp_path / "r.html")


def test_timeline_is_the_day_up_to_the_last_moment_known(tmp_path: Path) -> None:
    """The Gantt's axis is the 24 h up to the latest plan/start/end time; it also shows a
    PatchData run planned in that day that ran days before (as the simulator makes them) and a
    run still waiting since long ago, without the axis stretching to them."""
    tables = report_marts.realistic()
    runs = tables["runs"]
    last_seen = max(t for row in runs for t in row[7:10] if t is not None)
    patch = (*runs[0][:3], 99, "success", "ok", 5, last_seen - timedelta(hours=2))
    patch += (last_seen - timedelta(days=10), last_seen - timedelta(days=10, seconds=-120), 120.0, None)
    tables["runs"] = [*runs, patch]
    path = tmp_path / "patch.duckdb"
    report_marts.make_duckdb(path, tables)

    data = marts.read(open_duckdb(path))
    assert data.timeline_end == last_seen.replace(tzinfo=UTC)
    shown = {run.instance_id for run in data.timeline}
    assert "99" in shown
    assert "1000004" in shown  # waiting for 14 days
    figure = charts.timeline(data.timeline, data.timeline_end)
    assert figure is not None
    start, end = (datetime.fromisoformat(edge) for edge in figure.layout.xaxis.range)
    assert end - start == timedelta(days=1, minutes=20)
    assert start == (last_seen - timedelta(days=1)).replace(microsecond=0)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "one of the arguments --duckdb --postgres is required"),
        (("--duckdb", "x.duckdb", "--postgres"), "argument --postgres: not allowed with argument --duckdb"),
        (("--duckdb", "x.duckdb", "--progress-after", "-1"), "argument --progress-after: invalid"),
        (("--duckdb", "x.duckdb", "--colour"), "unrecognized arguments: --colour"),
    ],
)
def test_usage_mistakes_are_one_line(args: tuple[str, ...], said: str) -> None:
    line = one_error_line(run_report(*args))
    assert said in line
    assert line.endswith("(see dlf-report --help)")


@pytest.mark.parametrize("failures", [1, 3])
def test_counts_of_failures_are_drawn_in_whole_numbers(failures: int) -> None:
    # A node that failed once drew an axis 0, 0.2, 0.4 ... 1 "failed node runs".
    node = marts.FailingNode(job="j", node="n", node_runs=5, failures=failures, last_failed_at=None)
    job = marts.FailingJob(job="j", runs=10, failures=failures)
    for figure in (charts.failing_nodes([node]), charts.failing_jobs([job])):
        assert figure is not None
        axis = figure.layout.xaxis
        assert axis.tickformat == ",d"
        assert axis.dtick == 1
        assert axis.rangemode == "tozero"


# --- what the charts say (issue 16: waiting, partial day, scale, one word per number) ----------


def run_of(
    job: str, instance: str, instance_type: int | None, planned: datetime, started: datetime
) -> marts.Run:
    ended = started + timedelta(minutes=5)
    return marts.Run(job, instance, "success", "ok", planned, started, ended, 300.0, instance_type)


def test_manual_and_patchdata_runs_are_not_drawn_as_waiting() -> None:
    end = datetime(2026, 3, 2, 12, tzinfo=UTC)
    runs = [
        run_of("j", "scheduled", 0, end - timedelta(hours=3), end - timedelta(hours=2)),  # waited 1 h
        run_of("j", "manual", 2, end - timedelta(hours=20), end - timedelta(hours=1)),
        run_of("j", "patch", 5, end - timedelta(hours=23), end - timedelta(minutes=30)),
        run_of("j", "unknown-type", None, end - timedelta(hours=4), end - timedelta(hours=3)),
    ]
    figure = charts.timeline(runs, end)
    assert figure is not None
    wait = figure.data[0]
    assert wait.name == "waiting (plan → start, scheduled runs)"
    assert [row[0] for row in wait.customdata] == ["scheduled", "unknown-type"]
    started = [row[0] for trace in figure.data[1:] for row in trace.customdata]
    assert sorted(started) == ["manual", "patch", "scheduled", "unknown-type"]  # all of them ran


def test_run_time_trends_leave_out_the_day_under_way_and_give_each_job_its_own_scale() -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC).date()
    days = [first + timedelta(days=n) for n in range(5)]
    rows = [marts.JobDay("fast", day, 24, 2.0) for day in days]
    rows += [marts.JobDay("slow", day, 1, 4 * 3600.0) for day in days]
    rows += [marts.JobDay("slow", days[-1] + timedelta(days=1), 1, 60.0)]  # today, one run so far
    today = days[-1] + timedelta(days=1)

    figure = charts.duration_per_job(rows, [], partial_day=today)

    assert figure is not None
    assert len(figure.data) == 2  # a small chart per job
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}
    assert {trace.yaxis for trace in figure.data} == {"y", "y2"}  # each on its own scale
    assert all(today.isoformat() not in trace.x for trace in figure.data)
    units = {figure.layout.yaxis.title.text, figure.layout.yaxis2.title.text}
    assert units == {"s", "h"}


def test_run_time_trends_show_the_rising_and_busiest_jobs_when_there_are_many() -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC).date()
    rows = [marts.JobDay(f"job{n:02}", day, n, 10.0) for n in range(30)]
    rising = [marts.Trend("job00", 5.0, 10.0, 2.0)]
    figure = charts.duration_per_job(rows, rising)
    assert figure is not None
    names = [trace.name for trace in figure.data]
    assert len(names) == charts.TREND_JOBS_SHOWN
    assert names[0] == "job00"  # rising first, though it has the fewest runs
    assert names[1:] == [f"job{n:02}" for n in range(29, 29 - charts.TREND_JOBS_SHOWN + 1, -1)]


def test_the_report_and_the_terminal_summary_use_one_word_for_each_number(
    warehouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    write_report(warehouse, out)
    html = out.read_text(encoding="utf-8")
    data = marts.read(open_duckdb(warehouse))
    kpis = dict((label, value) for value, label in re.findall(r"<b>([^<]*)</b><span>([^<]*)</span>", html))
    assert kpis["ended not ok"] == f"{data.totals.failed:,}"
    assert "failed" not in kpis

    spec = importlib.util.spec_from_file_location("warehouse_script", ROOT / "scripts" / "warehouse.py")
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT job_name, status, count(*), NULL FROM dlf_marts.runs GROUP BY 1, 2"
        ).fetchall()
    line = script.outcome_line(rows)
    assert f"ended not ok {data.totals.failed}" in line
    assert f"ended ok {data.totals.ok}" in line
    assert f"still open {data.totals.open}" in line


def test_the_runs_per_day_mark_the_day_under_way() -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC).date()
    rows = [marts.DayStatus(first + timedelta(days=n), "success", "ok", 50) for n in range(3)]
    rows += [marts.DayStatus(first + timedelta(days=3), "success", "ok", 7)]  # today so far
    figure = charts.runs_per_day(rows, partial_day=first + timedelta(days=3))
    assert figure is not None
    assert list(figure.data[0].marker.opacity) == [1.0, 1.0, 1.0, 0.4]
    assert [note.text for note in figure.layout.annotations] == ["day under way"]
