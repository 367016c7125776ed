"""Requests per route for the demo's two syncs: what each stream costs against the API's budget.

The tap runs as Meltano runs it (``python -m tap_dlf_instances``, every stream selected) against
the simulator's demo project behind its rate limit (10 requests per second per user):

1. a backfill of the whole demo history (94 days, as ``scripts/demo.sh``);
2. time passes (``/_sim/advance``) and a PatchData run re-runs a day three weeks back;
3. an incremental sync from the backfill's STATE, with a 24 h lookback.

Each is run twice: node runs of the last day's instances (``instance_nodes_days: 1``, the
``sim`` environment's setting) and of every instance read (the cost the README warns of).

    python benchmarks/request_counts.py            # both
    python benchmarks/request_counts.py --quick    # the last-day node runs only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from dlf_simulator import SimConfig, SimulatedDLF, demo_dataset

DAY_MS = 86_400_000
#: The simulator's route names, by the stream that asks for them.
STREAM_OF_ROUTE = {
    "jobs": "jobs",
    "instances": "instances",
    "supplement_data": "patch_data (and the instances' PatchData look)",
    "alarm-info": "alarms",
    "v1_instance": "instance_nodes",
    "v1_job": "real-time jobs (ShowJob)",
    "iam_tokens": "IAM login",
}


def run_tap(
    config: dict[str, Any], catalog: Path, state: dict[str, Any] | None, work: Path
) -> dict[str, Any]:
    """One sync; the records per stream, the last STATE and the seconds it took."""
    (work / "config.json").write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_dlf_instances", "--config", str(work / "config.json")]
    args += ["--catalog", str(catalog)]
    if state is not None:
        (work / "state.json").write_text(json.dumps(state))
        args += ["--state", str(work / "state.json")]
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"the tap failed ({done.returncode}):\n{done.stderr[-2000:]}")
    records: Counter[str] = Counter()
    last_state: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]] += 1
        elif message["type"] == "STATE":
            last_state = message["value"]
    return {"records": records, "state": last_state, "seconds": seconds}


def every_stream_selected(config: dict[str, Any], work: Path) -> Path:
    (work / "config.json").write_text(json.dumps(config))
    discovered = subprocess.run(
        [sys.executable, "-m", "tap_dlf_instances", "--config", str(work / "config.json"), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    catalog = json.loads(discovered.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    path = work / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def routes(sim: SimulatedDLF) -> Counter[str]:
    return Counter(sim.stats()["requests_per_route"])


def print_sync(title: str, outcome: dict[str, Any], requests: Counter[str]) -> None:
    print(f"  {title}: {outcome['seconds']:.1f} s, {sum(requests.values())} requests")
    for route, count in sorted(requests.items(), key=lambda item: -item[1]):
        print(f"    {count:6d}  {route:16s} {STREAM_OF_ROUTE.get(route, '')}")
    records = ", ".join(f"{stream} {n:,}" for stream, n in sorted(outcome["records"].items()))
    print(f"    records: {records}")


def scenario(nodes_days: float | None) -> None:
    label = (
        f"instance_nodes_days: {nodes_days:g}" if nodes_days is not None else "node runs of every instance"
    )
    print(f"\n== demo backfill and incremental sync, {label}")
    with SimulatedDLF(demo_dataset(), SimConfig()) as sim, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = (datetime.now(UTC) - timedelta(days=94)).strftime("%Y-%m-%dT00:00:00Z")
        config = sim.tap_config() | {"start_date": start, "lookback_window_hours": 24}
        if nodes_days is not None:
            config["instance_nodes_days"] = nodes_days
        catalog = every_stream_selected(config, work)

        sim.reset_stats()
        backfill = run_tap(config, catalog, None, work)
        print_sync("backfill", backfill, routes(sim))

        sim.advance()
        day = (sim.now_ms() // DAY_MS - 21) * DAY_MS
        made = sim.patch(["hourly_orders_etl", "daily_sales_report"], day, day + DAY_MS - 1)
        print(f"  (time passes; a PatchData run re-runs {len(made['added_ids'])} instances 3 weeks back)")
        sim.reset_stats()
        incremental = run_tap(config, catalog, backfill["state"], work)
        requests = routes(sim)
        print_sync("incremental", incremental, requests)
        old = [
            entry
            for entry in sim.request_log()
            if entry["route"] == "instances"
            and int(parse_qs(entry["query"]).get("min_plan_time", ["0"])[0]) < sim.now_ms() - 7 * DAY_MS
        ]
        print(f"    instances requests reaching back more than a week: {len(old)}")
        for entry in old:
            low = int(parse_qs(entry["query"])["min_plan_time"][0]) + 1
            print(
                f"      {unquote(entry['path'].split('/jobs/')[1].split('/')[0])} from {datetime.fromtimestamp(low / 1000, UTC):%Y-%m-%d %H:%M} UTC"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the last-day node runs")
    args = parser.parse_args()
    print(
        f"request counts, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; simulator rate limit 10 requests/s per user"
    )
    scenario(1)
    if not args.quick:
        scenario(None)


if __name__ == "__main__":
    main()
