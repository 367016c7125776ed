"""Requests, records and wall time of the two ways to read instances (``instance_listing``),
on workspaces of hourly jobs, at the API's documented 10 requests per second per user.

For each size, and each mode (``per_job``: one V2 listing per job and window; ``workspace``: the
DLF V1 listing of every job):

1. a first sync of 2 days (48 instances a job);
2. an hour passes: every job's running instance ends, and a new one starts;
3. the next sync, from the first one's STATE (24 h lookback).

The tap runs as Meltano runs it (``python -m tap_dlf_instances``), the ``instances`` stream
selected (and ``jobs``, which lists the workspace), against the simulator behind its rate
limit. "new+changed" is what the second sync had to bring: the instances added or finished.

    python benchmarks/listing_modes.py                 # 100 and 1,000 jobs
    python benchmarks/listing_modes.py --jobs 100 1000 5000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dlf_simulator import SimConfig, SimulatedDLF
from dlf_simulator.seeding import bulk_dataset

HOUR_MS = 3_600_000


def run_tap(config: dict[str, Any], state: dict[str, Any] | None, work: Path) -> dict[str, Any]:
    (work / "config.json").write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_dlf_instances", "--config", str(work / "config.json")]
    args += ["--catalog", str(catalog(work))]
    if state is not None:
        (work / "state.json").write_text(json.dumps(state))
        args += ["--state", str(work / "state.json")]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=7200, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"the tap failed ({done.returncode}):\n{done.stderr[-2000:]}")
    records = 0
    last_state: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "instances":
            records += 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return {"seconds": seconds, "records": records, "state": last_state}


def catalog(work: Path) -> Path:
    path = work / "catalog.json"
    if path.exists():
        return path
    discovered = subprocess.run(
        [sys.executable, "-m", "tap_dlf_instances", "--config", str(work / "config.json"), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(discovered.stdout)
    for stream in found["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in ("instances", "jobs")
    path.write_text(json.dumps(found))
    return path


def an_hour_passes(sim: SimulatedDLF) -> int:
    """Every job's running instance ends now, and the next one (an hour later) starts: the
    instances the next sync must bring, counted."""
    dataset = sim.dataset
    now = sim.now_ms()
    changed = 0
    with dataset.lock:
        for table in list(dataset.tables.values()):
            last = len(table) - 1
            row = table.row(last)
            if row.status == "running":
                table.set_row(
                    last,
                    replace(row, status="success", end_time=now, execute_time=float(now - row.start_time)),
                )
                changed += 1
            plan = row.plan_time + HOUR_MS
            if plan < now:
                start = min(plan + 1000, now)
                table.insert(
                    replace(
                        row,
                        instance_id=dataset.new_instance_id(),
                        plan_time=plan,
                        start_time=start,
                        submit_time=start,
                        status="running",
                        end_time=None,
                        execute_time=None,
                    )
                )
                changed += 1
    return changed


def measure(jobs: int, mode: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    # Planned hourly up to 65 minutes ago, so the instance "an hour later" is planned before now.
    dataset = bulk_dataset(jobs, 72, interval_seconds=3600, now=now - timedelta(minutes=65))
    rows = []
    with (
        SimulatedDLF(dataset, SimConfig(rate_limit_per_user=10)) as sim,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = sim.tap_config() | {
            "start_date": (now - timedelta(days=2)).isoformat(),
            "instance_listing": mode,
            "max_requests_per_second": 10,
        }
        first = run_tap(config, None, Path(tmp))
        stats = sim.stats()
        rows.append(row(jobs, mode, "first, 2 days", first, stats, expected=None))
        sim.reset_stats()
        changed = an_hour_passes(sim)
        second = run_tap(config, first["state"], Path(tmp))
        rows.append(row(jobs, mode, "next hourly", second, sim.stats(), expected=changed))
    return rows


def row(
    jobs: int, mode: str, sync: str, outcome: dict[str, Any], stats: dict[str, Any], *, expected: int | None
) -> dict[str, Any]:
    return {
        "jobs": jobs,
        "mode": mode,
        "sync": sync,
        "requests": stats["requests_total"],
        "throttled": stats["throttled"],
        "records": outcome["records"],
        "new_and_changed": expected,
        "seconds": outcome["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--modes", nargs="+", default=["workspace", "per_job"])
    args = parser.parse_args()
    print("| jobs | mode | sync | requests | throttled | records emitted | new+changed | wall |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for jobs in args.jobs:
        for mode in args.modes:
            for r in measure(jobs, mode):
                expected = "" if r["new_and_changed"] is None else f"{r['new_and_changed']:,}"
                print(
                    f"| {r['jobs']:,} | {r['mode']} | {r['sync']} | {r['requests']:,} | {r['throttled']} | "
                    f"{r['records']:,} | {expected} | {r['seconds']:.0f} s |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
