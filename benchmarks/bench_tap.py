"""Speed and memory of the tap against the simulated DataArts Factory API, from one run.

Six scenarios, each against the simulator running in its own process (so the server does
not share the tap's GIL), the tap run as Meltano runs it (``python -m tap_dlf_instances``):

1. Floor: the tap against a plain ``requests`` loop that fetches the same pages (same windows,
   pages of 1,000) and prints a Singer RECORD line per row; no latency, no rate limit. Extra
   rows show the SDK's writer and type conformance options, set on the classes before the CLI
   starts, so the choice of each can be read from the figures.
2. Rate limit: two dozen jobs, 300 ms a response, the per-user limit enforced with 429s: the
   request rate achieved as a share of the limit, and the 429s.
3. Memory: peak RSS of the tap process for growing backfills; flat means bounded buffers.
4. STATE volume: thousands of jobs x 3 small windows: STATE messages and bytes.
5. One big job (one window of 200 pages) against the plain loop, as in 1.
6. The same job against a slow API at its rate limit, as in 2.

Every child's output is read through a pipe and its RECORD lines counted, so a run that lost
rows shows it. Peak RSS comes from ``os.wait4`` (the child's own ``ru_maxrss``).

    python benchmarks/bench_tap.py            # the full set (a few minutes)
    python benchmarks/bench_tap.py --quick    # smaller sizes, about a minute
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tap_dlf_instances.api.pacing import RequestPacer
from tap_dlf_instances.streams.instances import InstancesStream
from tap_dlf_instances.tap import TapDLFInstances
from tap_dlf_instances.windows import plan_windows, to_ms, window_width_ms

PAGE_SIZE = 1000
#: Counted in every child's output: instances RECORD lines, as compact JSON (every writer here).
RECORD_MARK = b'{"type":"RECORD","stream":"instances",'
STATE_MARK = b'{"type":"STATE"'
PLAIN = "plain requests loop"

#: Writer and conformance options of the SDK compared in scenario 1: label -> (writer class
#: path or None for the tap's own, conformance level name or None for the stream's own).
VARIANTS: dict[str, tuple[str | None, str | None]] = {
    "as shipped": (None, None),
    "SDK defaults (SingerWriter, RECURSIVE)": ("singer_sdk.io_base:SingerWriter", "RECURSIVE"),
    "SingerWriter, conformance NONE": ("singer_sdk.io_base:SingerWriter", "NONE"),
    "MsgSpecWriter, RECURSIVE": ("singer_sdk.contrib.msgspec:MsgSpecWriter", "RECURSIVE"),
    "MsgSpecWriter, conformance NONE": ("singer_sdk.contrib.msgspec:MsgSpecWriter", "NONE"),
    "tap's writer, RECURSIVE": (None, "RECURSIVE"),
}
VARIANTS_DEFAULT = "as shipped"
SCENARIOS = ("floor", "rate", "memory", "state", "onejob", "onejob-rate")
QUICK_VARIANTS = (VARIANTS_DEFAULT, "SDK defaults (SingerWriter, RECURSIVE)")

#: Runs the tap's CLI after setting the writer and conformance level on its classes.
LAUNCHER = """
import importlib, sys
from singer_sdk.helpers.conform import TypeConformanceLevel
from tap_dlf_instances.api.pacing import RequestPacer
from tap_dlf_instances.streams.instances import InstancesStream
from tap_dlf_instances.tap import TapDLFInstances
writer, level = sys.argv[1], sys.argv[2]
if writer != "-":
    module, _, name = writer.partition(":")
    TapDLFInstances.message_writer_class = getattr(importlib.import_module(module), name)
if level != "-":
    InstancesStream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel[level]
sys.argv = ["tap-dlf-instances", *sys.argv[3:]]
TapDLFInstances.cli()
"""


# --- the simulator, in its own process ---------------------------------------------------


class Simulator:
    """``python -m dlf_simulator`` on a free loopback port, driven over HTTP."""

    def __init__(
        self,
        workdir: Path,
        *,
        jobs: int,
        instances_per_job: int,
        latency_ms: float,
        rate_limit: int,
        interval_seconds: int = 300,
    ):
        self.workdir = workdir
        self.jobs = jobs
        self.instances_per_job = instances_per_job
        self.latency_ms = latency_ms
        self.interval_seconds = interval_seconds
        ready = workdir / f"sim-{jobs}x{instances_per_job}-{interval_seconds}-{latency_ms}-{rate_limit}.url"
        command = [
            sys.executable,
            "-m",
            "dlf_simulator",
            "--port",
            "0",
            "--dataset",
            "bulk",
            "--jobs",
            str(jobs),
            "--instances-per-job",
            str(instances_per_job),
            "--interval-seconds",
            str(interval_seconds),
            "--latency-ms",
            str(latency_ms),
            "--rate-limit",
            str(rate_limit),
            "--ready-file",
            str(ready),
        ]
        self._log = (workdir / "simulator.log").open("ab")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 120
        while not (ready.exists() and ready.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start; see {workdir / 'simulator.log'}")
            time.sleep(0.1)
        self.url = ready.read_text().strip()
        self.started_at = datetime.now(UTC)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def stats(self) -> dict[str, Any]:
        return dict(self.get("/_sim/stats"))

    def reset_stats(self) -> None:
        request = urllib.request.Request(self.url + "/_sim/reset-stats", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=30).close()

    def tap_config(self, jobs: int, *, start: datetime, end: datetime, **settings: Any) -> dict[str, Any]:
        return {
            **self.get("/_sim/tap-config?auth=token"),
            "job_names": [f"bulk_job_{j:04d}" for j in range(jobs)],
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "page_size": PAGE_SIZE,
            "offset_mode": "page",  # the simulator's reading; the plain loop cannot detect it
            **settings,
        }

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def api_requests(stats: dict[str, Any]) -> int:
    per_route: dict[str, int] = stats["requests_per_route"]
    return sum(
        count for route, count in per_route.items() if route in ("instances", "v1_instances", "jobs", "job")
    )


def throttled(stats: dict[str, Any]) -> int:
    return int(stats["requests_per_status"].get("429", 0))


# --- running a child and measuring it ---------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    records: int
    stderr_tail: str
    states: int = 0
    state_bytes: int = 0


#: Environment of every child but the simulator (``--tap-pythonpath`` measures another checkout).
CHILD_ENV: dict[str, str] | None = None


def run_child(command: Sequence[str], workdir: Path, name: str, *, count_states: bool = False) -> ChildRun:
    """Run ``command``, count the RECORD lines it prints (and with ``count_states`` its STATE
    lines and their bytes), and take its peak RSS from ``wait4``."""
    stderr_path = workdir / f"{name}.stderr"
    states = state_bytes = 0
    with stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        # Run from the work directory: `python -m` puts the current directory first on the
        # path, which would shadow `--tap-pythonpath` from a checkout's root.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=CHILD_ENV, cwd=workdir)
        assert process.stdout is not None
        records = 0
        tail = b""
        partial = b""
        fd = process.stdout.fileno()
        while chunk := os.read(fd, 1 << 20):
            # A mark cut in two by the chunk boundary is counted once, from the joined tail.
            joined = tail + chunk
            records += joined.count(RECORD_MARK)
            tail = joined[-(len(RECORD_MARK) - 1) :]
            if count_states:
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(STATE_MARK):
                        states += 1
                        state_bytes += len(line) + 1
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
    text = stderr_path.read_text(errors="replace").strip().splitlines()
    return ChildRun(
        seconds,
        usage.ru_maxrss / 1024,
        process.returncode,
        records,
        "\n".join(text[-5:]),
        states,
        state_bytes,
    )


def tap_command(config: dict[str, Any], workdir: Path, name: str, variant: str = "as shipped") -> list[str]:
    config_path = workdir / f"{name}.json"
    config_path.write_text(json.dumps(config))
    writer, level = VARIANTS[variant]
    if writer is None and level is None:
        return [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_path)]
    return [sys.executable, "-c", LAUNCHER, writer or "-", level or "-", "--config", str(config_path)]


@contextmanager
def polling(sim: Simulator, interval: float = 0.1) -> Iterator[list[tuple[float, int]]]:
    """Samples (time, API requests so far) from the simulator while the block runs."""
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def poll() -> None:
        while not done.wait(interval):
            samples.append((time.perf_counter(), api_requests(sim.stats())))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join()


def steady_rate(samples: list[tuple[float, int]]) -> float:
    """Requests per second from the first sample that saw a request to the first that saw
    them all: the tap's start-up and exit do not count against it."""
    started = [s for s in samples if s[1] > 0]
    if len(started) < 2:
        return 0.0
    final = started[-1][1]
    first = started[0]
    last = next(s for s in started if s[1] == final)
    if last[0] <= first[0]:
        return 0.0
    return (last[1] - first[1]) / (last[0] - first[0])


def middle_rate(samples: list[tuple[float, int]], low: float = 0.1, high: float = 0.9) -> float:
    """Requests per second while the count went from ``low`` to ``high`` of the final one: the
    rate away from the ramp-up and the tail (the last windows, paged one request at a time)."""
    if not samples or samples[-1][1] == 0:
        return 0.0
    final = samples[-1][1]
    first = next(s for s in samples if s[1] >= low * final)
    last = next(s for s in samples if s[1] >= high * final)
    return (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0


def pacer_ceiling(rate: float, seconds: float = 60.0) -> float:
    """Turns per second the tap's own pacer grants at ``rate`` when asked without pause (on a
    simulated clock): the most the tap can reach, whatever the API's speed."""
    now = [0.0]

    def sleep(duration: float) -> None:
        now[0] += duration

    pacer = RequestPacer(rate, clock=lambda: now[0], sleep=sleep)
    turns = 0
    while now[0] < seconds:
        pacer.wait()
        turns += 1
    return turns / now[0]


# --- the plain loop: the floor ------------------------------------------------------------


def plain_loop(spec_path: Path) -> None:
    """Fetch the spec's pages one after the other and print a Singer RECORD line per row."""
    spec = json.loads(spec_path.read_text())
    session = requests.Session()
    headers = {"X-Auth-Token": spec["token"], "Accept": "application/json"}
    base = f"{spec['api_url']}/v2/{spec['project_id']}/factory/jobs"
    out = sys.stdout
    for job in spec["jobs"]:
        for min_plan_time, max_plan_time in spec["windows"]:
            page = 0
            while True:
                params = {"min_plan_time": min_plan_time, "max_plan_time": max_plan_time}
                params |= {"limit": PAGE_SIZE, "offset": page}
                response = session.get(f"{base}/{job}/instances/detail", params=params, headers=headers)
                response.raise_for_status()
                body = response.json()
                extracted = datetime.now(UTC).isoformat()
                lines = [
                    json.dumps(
                        {
                            "type": "RECORD",
                            "stream": "instances",
                            "record": {**row, "project_id": spec["project_id"], "workspace": "default"},
                            "time_extracted": extracted,
                        },
                        separators=(",", ":"),
                    )
                    for row in body["instances"]
                ]
                if lines:
                    out.write("\n".join(lines) + "\n")
                page += 1
                if not body["instances"] or page * PAGE_SIZE >= body["total"]:
                    break
    out.flush()


def plain_loop_command(config: dict[str, Any], workdir: Path, jobs: int) -> list[str]:
    start = to_ms(datetime.fromisoformat(config["start_date"]))
    end = to_ms(datetime.fromisoformat(config["end_date"]))
    windows = [(w.min_plan_time, w.max_plan_time) for w in plan_windows(start, end, window_width_ms(30))]
    spec = {
        "api_url": config["api_url"],
        "project_id": config["project_id"],
        "token": config["auth_token"],
        "jobs": [f"bulk_job_{j:04d}" for j in range(jobs)],
        "windows": windows,
    }
    spec_path = workdir / "plain-loop.json"
    spec_path.write_text(json.dumps(spec))
    return [sys.executable, str(Path(__file__).resolve()), "--plain-loop", str(spec_path)]


# --- the scenarios ------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        widths = [max(len(row[i]) for row in [self.header, *self.rows]) for i in range(len(self.header))]

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        parts = [
            f"### {self.title}",
            "",
            line(self.header),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        ]
        parts += [line(row) for row in self.rows]
        if self.notes:
            parts += ["", *self.notes]
        return "\n".join(parts)


def history(sim: Simulator) -> tuple[datetime, datetime]:
    """Bounds that hold every instance of the bulk dataset (planned every interval to now)."""
    span = timedelta(seconds=sim.interval_seconds * sim.instances_per_job + 3600)
    return sim.started_at - span, sim.started_at + timedelta(minutes=1)


def check(run: ChildRun, expected: int, what: str) -> str:
    if run.returncode != 0:
        return f"FAILED ({what}: exit {run.returncode}: {run.stderr_tail[-300:]})"
    if run.records != expected:
        return f"WRONG COUNT ({what}: {run.records} records, expected {expected})"
    return ""


def floor_scenario(
    sim: Simulator,
    workdir: Path,
    jobs: int,
    variants: Sequence[str],
    repeat: int,
    *,
    label: str = "1. Floor",
) -> Table:
    start, end = history(sim)
    expected = jobs * sim.instances_per_job
    windows = len(list(plan_windows(to_ms(start), to_ms(end), window_width_ms(30))))
    table = Table(
        f"{label}: {expected:,} instances ({jobs} job{'s' if jobs > 1 else ''}, {windows} window{'s' if windows > 1 else ''} of 30 "
        f"days a job), no latency, no limit; median of {repeat} interleaved runs each",
        ["run", "seconds", "records", "records/s", "requests", "x plain loop", "peak RSS MB"],
    )
    config = sim.tap_config(jobs, start=start, end=end, max_requests_per_second=1000)
    commands = {PLAIN: plain_loop_command(config, workdir, jobs)}
    commands |= {
        variant: tap_command(config, workdir, f"floor-{i}", variant) for i, variant in enumerate(variants)
    }
    runs: dict[str, list[ChildRun]] = {name: [] for name in commands}
    requests_made: dict[str, int] = {}
    for _ in range(repeat):  # interleaved, so the machine's noise falls on every row alike
        for name, command in commands.items():
            sim.reset_stats()
            run = run_child(command, workdir, "floor")
            requests_made[name] = api_requests(sim.stats())
            runs[name].append(run)
            note = check(run, expected, name)
            if note and note not in table.notes:
                table.notes.append(note)
    floor = statistics.median(run.seconds for run in runs[PLAIN])
    for name, done in runs.items():
        seconds = statistics.median(run.seconds for run in done)
        table.rows.append(
            [
                name if name == PLAIN else f"tap: {name}",
                f"{seconds:.2f}",
                f"{done[-1].records:,}",
                f"{done[-1].records / seconds:,.0f}",
                str(requests_made[name]),
                f"{seconds / floor:.2f}",
                f"{max(run.peak_rss_mb for run in done):.0f}",
            ]
        )
    table.notes.append(
        "Seconds: from spawning the process to its exit (both pay Python's start-up; the tap also "
        "imports singer-sdk). Requests: the tap's include its one jobs-list request; the instances "
        "pages are the same (the tap's windows, pages of 1,000)."
    )
    return table


def rate_scenario(
    sim: Simulator,
    workdir: Path,
    jobs: int,
    limit: int,
    workers: Sequence[int | None],
    *,
    label: str = "2. Rate limit",
) -> Table:
    start, end = history(sim)
    expected = jobs * sim.instances_per_job
    windows = len(list(plan_windows(to_ms(start), to_ms(end), window_width_ms(30))))
    table = Table(
        f"{label}: {jobs} job{'s' if jobs > 1 else ''} ({windows} window{'s' if windows > 1 else ''} of 30 days a job), "
        f"{expected:,} instances, {sim.latency_ms:.0f} ms a response, "
        f"limit {limit}/s per user enforced with 429s; the tap at max_requests_per_second {limit}",
        [
            "max_workers",
            "seconds",
            "records",
            "requests",
            "req/s steady",
            "% of limit steady",
            "req/s 10-90%",
            "% of limit 10-90%",
            "req/s whole run",
            "% of limit whole run",
            "peak in any 1 s",
            "429s",
        ],
    )
    ceiling = pacer_ceiling(limit)
    for count in workers:
        settings: dict[str, Any] = {"max_requests_per_second": limit}
        if count is not None:
            settings["max_workers"] = count
        config = sim.tap_config(jobs, start=start, end=end, **settings)
        sim.reset_stats()
        with polling(sim) as samples:
            run = run_child(tap_command(config, workdir, "rate"), workdir, "rate-tap")
        stats = sim.stats()
        total = api_requests(stats)
        steady = steady_rate(samples)
        middle = middle_rate(samples)
        table.rows.append(
            [
                "default" if count is None else str(count),
                f"{run.seconds:.2f}",
                f"{run.records:,}",
                str(total),
                f"{steady:.2f}",
                f"{100 * steady / limit:.0f}%",
                f"{middle:.2f}",
                f"{100 * middle / limit:.0f}%",
                f"{total / run.seconds:.2f}",
                f"{100 * total / run.seconds / limit:.0f}%",
                str(max(stats["peak_rate_per_user"].values(), default=0)),
                str(throttled(stats)),
            ]
        )
        note = check(run, expected, f"max_workers {count or 'default'}")
        if note:
            table.notes.append(note)
    table.notes.append(
        "Steady: from the first to the last request as the simulator counted them (sampled every "
        "0.1 s); 10-90%: while the count went from 10% to 90% of the total, away from ramp-up and "
        "tail; whole run: from spawning the tap to its exit. Peak: most requests the simulator saw "
        "from the user in any 1 s (429s included). "
        f"The tap's pacer grants at most {ceiling:.2f} turns/s at this setting "
        f"({100 * ceiling / limit:.0f}% of the limit): the ceiling of every column here."
    )
    return table


def memory_scenario(sim: Simulator, workdir: Path, job_counts: Sequence[int]) -> Table:
    start, end = history(sim)
    table = Table(
        "3. Memory: peak RSS of the tap process by backfill size (no latency, no limit)",
        ["instances", "jobs", "seconds", "records/s", "peak RSS MB"],
    )
    for jobs in job_counts:
        expected = jobs * sim.instances_per_job
        config = sim.tap_config(jobs, start=start, end=end, max_requests_per_second=1000)
        run = run_child(tap_command(config, workdir, f"memory-{jobs}"), workdir, f"memory-{jobs}")
        table.rows.append(
            [
                f"{expected:,}",
                str(jobs),
                f"{run.seconds:.2f}",
                f"{run.records / run.seconds:,.0f}",
                f"{run.peak_rss_mb:.1f}",
            ]
        )
        note = check(run, expected, f"{expected:,} instances")
        if note:
            table.notes.append(note)
    return table


#: Scenario 4: windows this wide (the smallest `window_days`), three a job, a few instances each.
STATE_WINDOW_DAYS = 0.01
STATE_INSTANCES_PER_JOB = 9  # every 5 minutes: 3 windows of 14.4 minutes hold them


def state_scenario(sim: Simulator, workdir: Path, job_counts: Sequence[int]) -> Table:
    """STATE output by number of jobs: every STATE carries every job's bookmark."""
    width = window_width_ms(STATE_WINDOW_DAYS)
    end = sim.started_at + timedelta(minutes=1)
    start = end - timedelta(milliseconds=3 * width)
    table = Table(
        "4. STATE volume: N jobs x 3 windows, a few instances a window, no latency, no limit",
        [
            "jobs",
            "windows",
            "seconds",
            "records",
            "STATE messages",
            "STATE MB",
            "STATE KB a message",
            "peak RSS MB",
        ],
    )
    for jobs in job_counts:
        config = sim.tap_config(
            jobs, start=start, end=end, max_requests_per_second=1000, window_days=STATE_WINDOW_DAYS
        )
        run = run_child(
            tap_command(config, workdir, f"state-{jobs}"), workdir, f"state-{jobs}", count_states=True
        )
        table.rows.append(
            [
                f"{jobs:,}",
                f"{3 * jobs:,}",
                f"{run.seconds:.1f}",
                f"{run.records:,}",
                f"{run.states:,}",
                f"{run.state_bytes / 1e6:.1f}",
                f"{run.state_bytes / max(1, run.states) / 1e3:.0f}",
                f"{run.peak_rss_mb:.0f}",
            ]
        )
        if run.returncode != 0:
            table.notes.append(f"FAILED ({jobs} jobs: exit {run.returncode}: {run.stderr_tail[-300:]})")
    table.notes.append(
        "STATE MB: the bytes of every STATE line the tap printed (1 MB = 10^6 bytes); each STATE "
        "holds every job's bookmark, so its size grows with the jobs."
    )
    return table


# --- command line -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench_tap.py",
        description="Benchmark tap-dlf-instances against the simulated API: the floor (a plain "
        "requests loop), the share of the rate limit used against a slow API, and peak memory. "
        "Prints one table per scenario, all from one run.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: about a minute in all")
    parser.add_argument(
        "--instances-per-job",
        type=int,
        help="instances per job in scenarios 1 and 3 (default 10,000; --quick 5,000)",
    )
    parser.add_argument("--floor-jobs", type=int, help="jobs in scenario 1 (default 20)")
    parser.add_argument(
        "--memory-jobs",
        type=lambda text: [int(n) for n in text.split(",")],
        help="comma-separated job counts for scenario 3 (default 10,30,100; --quick 4,20,60)",
    )
    parser.add_argument("--rate-jobs", type=int, default=24, help="jobs in scenario 2 (default 24)")
    parser.add_argument(
        "--rate-instances-per-job",
        type=int,
        help="instances per job in scenario 2 (default 12,000 = 13 pages a job; --quick 6,000)",
    )
    parser.add_argument("--latency-ms", type=float, default=300.0, help="scenario 2 response time (300)")
    parser.add_argument("--rate-limit", type=int, default=10, help="scenario 2 per-user limit (10)")
    parser.add_argument(
        "--max-workers",
        type=lambda text: [int(n) for n in text.split(",")],
        help="scenarios 2 and 6: comma-separated max_workers values, one run each (default: the tap's default)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="scenarios 1 and 5: runs of each row, the median is shown (default 3; --quick 1)",
    )
    parser.add_argument(
        "--variants",
        choices=("all", "quick", "none"),
        help="SDK writer/conformance options compared in scenario 1 (default all; --quick: quick)",
    )
    parser.add_argument(
        "--state-jobs",
        type=lambda text: [int(n) for n in text.split(",")],
        help="comma-separated job counts for scenario 4 (default 500,2000,5000; --quick 500,2000)",
    )
    parser.add_argument(
        "--onejob-instances",
        type=int,
        help="instances of the one job in scenarios 5 and 6 (default 200,000; --quick 50,000)",
    )
    parser.add_argument(
        "--onejob-interval-seconds",
        type=int,
        default=10,
        help="seconds between the one job's plan times (default 10: 200,000 instances in one "
        "30-day window, the case pages in parallel are for; 300 gives 24 windows)",
    )
    parser.add_argument(
        "--only",
        choices=SCENARIOS,
        action="append",
        help="run only these scenarios (repeatable)",
    )
    parser.add_argument(
        "--tap-pythonpath",
        type=Path,
        help="run the tap (and the plain loop) with PYTHONPATH set to this directory, e.g. a checkout "
        "of an older commit, to measure it with this benchmark and simulator",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs, stderr)")
    parser.add_argument("--plain-loop", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.plain_loop:
        plain_loop(args.plain_loop)
        return 0
    quick = args.quick
    per_job = args.instances_per_job or (5_000 if quick else 10_000)
    floor_jobs = args.floor_jobs or 20
    memory_jobs = args.memory_jobs or ([4, 20, 60] if quick else [10, 30, 100])
    rate_per_job = args.rate_instances_per_job or (6_000 if quick else 12_000)
    repeat = args.repeat or (1 if quick else 3)
    variant_set = args.variants or ("quick" if quick else "all")
    variants = {"all": list(VARIANTS), "quick": list(QUICK_VARIANTS), "none": [VARIANTS_DEFAULT]}[variant_set]
    only = set(args.only or SCENARIOS)
    state_jobs = args.state_jobs or ([500, 2000] if quick else [500, 2000, 5000])
    onejob_instances = args.onejob_instances or (50_000 if quick else 200_000)
    if args.tap_pythonpath:
        global CHILD_ENV  # noqa: PLW0603  # set once, before any child runs
        CHILD_ENV = {**os.environ, "PYTHONPATH": str(args.tap_pythonpath.resolve())}

    workdir = Path(tempfile.mkdtemp(prefix="bench-tap-"))
    began = time.perf_counter()
    print(f"# tap-dlf-instances benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the start; PYTHONUNBUFFERED="
        f"{os.environ.get('PYTHONUNBUFFERED', '')!r} (the children inherit it). The simulator runs "
        "in its own process; token auth; output read through a pipe and counted.",
    )
    print(
        f"The tap as shipped: writer {TapDLFInstances.message_writer_class.__name__}, instances "
        f"type conformance {InstancesStream.TYPE_CONFORMANCE_LEVEL.name}.\n",
        flush=True,
    )
    if args.tap_pythonpath:
        print(
            f"The tap measured: PYTHONPATH={args.tap_pythonpath.resolve()} (--tap-pythonpath).\n", flush=True
        )
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        bulk: Simulator | None = None
        if only & {"floor", "memory"}:
            size = max([floor_jobs if "floor" in only else 0, *(memory_jobs if "memory" in only else [0])])
            bulk = Simulator(workdir, jobs=size, instances_per_job=per_job, latency_ms=0, rate_limit=0)
            stack.callback(bulk.stop)
        if bulk is not None and "floor" in only:
            print(floor_scenario(bulk, workdir, floor_jobs, variants, repeat).render() + "\n", flush=True)
        if "rate" in only:
            slow = Simulator(
                workdir,
                jobs=args.rate_jobs,
                instances_per_job=rate_per_job,
                latency_ms=args.latency_ms,
                rate_limit=args.rate_limit,
            )
            stack.callback(slow.stop)
            table = rate_scenario(slow, workdir, args.rate_jobs, args.rate_limit, args.max_workers or [None])
            print(table.render() + "\n", flush=True)
        if bulk is not None and "memory" in only:
            print(memory_scenario(bulk, workdir, memory_jobs).render() + "\n", flush=True)
        if "state" in only:
            few = Simulator(
                workdir,
                jobs=max(state_jobs),
                instances_per_job=STATE_INSTANCES_PER_JOB,
                latency_ms=0,
                rate_limit=0,
            )
            stack.callback(few.stop)
            print(state_scenario(few, workdir, state_jobs).render() + "\n", flush=True)
        if "onejob" in only:
            big = Simulator(
                workdir,
                jobs=1,
                instances_per_job=onejob_instances,
                latency_ms=0,
                rate_limit=0,
                interval_seconds=args.onejob_interval_seconds,
            )
            stack.callback(big.stop)
            table = floor_scenario(big, workdir, 1, [VARIANTS_DEFAULT], repeat, label="5. One big job")
            print(table.render() + "\n", flush=True)
        if "onejob-rate" in only:
            big_slow = Simulator(
                workdir,
                jobs=1,
                instances_per_job=onejob_instances,
                latency_ms=args.latency_ms,
                rate_limit=args.rate_limit,
                interval_seconds=args.onejob_interval_seconds,
            )
            stack.callback(big_slow.stop)
            table = rate_scenario(
                big_slow,
                workdir,
                1,
                args.rate_limit,
                args.max_workers or [None],
                label="6. One big job at the rate limit",
            )
            print(table.render() + "\n", flush=True)
        if args.keep:
            print(f"Work directory kept: {workdir}")
    print(f"Whole benchmark: {time.perf_counter() - began:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
