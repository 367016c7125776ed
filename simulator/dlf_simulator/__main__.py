"""``dlf-simulator``: run the simulated DataArts Factory API until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from dlf_simulator.hostile import hostile_dataset
from dlf_simulator.seeding import bulk_dataset, demo_dataset
from dlf_simulator.server import AUTH_MODES, SimConfig, SimulatedDLF


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlf-simulator", description="Simulated DataArts Factory API on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address only")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--dataset",
        choices=("demo", "bulk", "hostile"),
        default="demo",
        help="hostile: strings that break loaders (NUL, lone surrogates, quotes, line breaks ...)",
    )
    parser.add_argument("--months", type=int, default=3, help="demo history length")
    parser.add_argument("--seed", type=int, default=20241106)
    parser.add_argument("--second-workspace", action="store_true", help="demo: also seed a second workspace")
    parser.add_argument("--jobs", type=int, default=100, help="bulk: number of jobs")
    parser.add_argument("--instances-per-job", type=int, default=10_000, help="bulk")
    parser.add_argument("--interval-seconds", type=int, default=300, help="bulk: seconds between plan times")
    parser.add_argument("--offset-mode", choices=("page", "row"), default="page")
    parser.add_argument(
        "--alarm-offset-mode", choices=("page", "row"), default="row", help="alarm-info route"
    )
    parser.add_argument("--filter-field", choices=("plan_time", "start_time"), default="plan_time")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=10, help="per user per second; 0 = off")
    parser.add_argument("--retry-after", type=float, default=None, help="Retry-After on 429s")
    parser.add_argument("--token-ttl", type=float, default=86400.0, help="IAM token lifetime (s)")
    parser.add_argument("--require-workspace", action="store_true")
    parser.add_argument(
        "--no-v1-listing", action="store_true", help="answer DLF V1 ListJobInstances with 404 APIGW.0101"
    )
    parser.add_argument(
        "--v1-max-span-days", type=float, default=7.0, help="widest span of one V1 listing request"
    )
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    parser.add_argument("--print-config", choices=AUTH_MODES, help="print a tap config JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dataset == "demo":
        dataset = demo_dataset(months=args.months, seed=args.seed, second_workspace=args.second_workspace)
    elif args.dataset == "hostile":
        dataset = hostile_dataset()
    else:
        dataset = bulk_dataset(
            args.jobs, args.instances_per_job, interval_seconds=args.interval_seconds, seed=args.seed
        )
    config = SimConfig(
        offset_mode=args.offset_mode,
        alarm_offset_mode=args.alarm_offset_mode,
        filter_field=args.filter_field,
        rate_limit_per_user=args.rate_limit or None,
        retry_after=args.retry_after,
        latency_ms=args.latency_ms,
        token_ttl_seconds=args.token_ttl,
        require_workspace=args.require_workspace,
        v1_listing=not args.no_v1_listing,
        v1_max_span_days=args.v1_max_span_days,
    )
    try:
        sim = SimulatedDLF(dataset, config, host=args.host, port=args.port)
    except ValueError as error:
        sys.stderr.write(f"dlf-simulator: {error}\n")
        return 2
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    if args.print_config:
        sys.stdout.write(json.dumps(sim.tap_config(args.print_config), indent=2) + "\n")
        sys.stdout.flush()
    sys.stderr.write(
        f"dlf-simulator: {sim.url} ({dataset.instance_count()} instances, project {dataset.project_id})\n"
    )
    sys.stderr.flush()
    if args.ready_file:
        args.ready_file.write_text(sim.url + "\n", encoding="utf-8")
    while not stopping.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
