"""A backfill killed mid-run (SIGTERM, SIGKILL) and started again from its last emitted STATE
delivers every instance: duplicates allowed, losses not.

The tap runs as a subprocess; its stdout is read as it streams and the signal sent once enough
has come out. Besides the union of both runs, every STATE is checked against the records printed
before it: a bookmark never claims a plan time whose instances were not all emitted already.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dlf_simulator import SimulatedDLF, bulk_dataset

from tap_dlf_instances.windows import plan_windows, to_ms, window_width_ms

# The tap runs as its own process here (killed by a signal), through run_streaming.
pytestmark = pytest.mark.e2e

JOBS = 6
INSTANCES_PER_JOB = 4000  # every 5 minutes: ~14 days a job
WINDOW_DAYS = 2  # 7 windows a job, 42 in all
PAGE_SIZE = 250  # 3 pages a window


@dataclass
class StreamedRun:
    """One run of the tap read line by line: its messages in order, and how it ended."""

    returncode: int
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    signalled: bool = False

    @property
    def instance_ids(self) -> set[int]:
        return {m["record"]["instance_id"] for m in self.messages if _is_instance(m)}

    @property
    def last_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}


def _is_instance(message: dict[str, Any]) -> bool:
    return message["type"] == "RECORD" and message["stream"] == "instances"


def _watermarks(state: dict[str, Any]) -> dict[str, int]:
    partitions = state.get("bookmarks", {}).get("instances", {}).get("partitions", [])
    return {
        p["context"]["job_name"]: p["replication_key_value"]
        for p in partitions
        if p.get("replication_key_value") is not None
    }


def run_streaming(
    config: dict[str, Any],
    workdir: Path,
    *,
    state: dict[str, Any] | None = None,
    kill: tuple[signal.Signals, Callable[[int, int], bool]] | None = None,
) -> StreamedRun:
    """Run the tap; with ``kill = (signal, when)``, send the signal once ``when(states, records)``
    holds for what has been printed so far, and read on until the process has gone."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_file)]
    if state is not None:
        state_file = workdir / "state.json"
        state_file.write_text(json.dumps(state))
        command += ["--state", str(state_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DLF_INSTANCES_")}
    stderr_file = workdir / "stderr.txt"
    lines: list[bytes] = []
    signalled = False
    with stderr_file.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)
        assert process.stdout is not None
        states = records = 0
        try:
            for line in process.stdout:
                lines.append(line)
                if line.startswith(b'{"type":"STATE"'):
                    states += 1
                elif line.startswith(b'{"type":"RECORD","stream":"instances"'):
                    records += 1
                if kill is not None and not signalled and kill[1](states, records):
                    process.send_signal(kill[0])
                    signalled = True
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    run = StreamedRun(process.returncode, stderr_file.read_text(errors="replace"), signalled=signalled)
    for index, line in enumerate(lines):
        try:
            run.messages.append(json.loads(line))
        except ValueError:
            # Only the very last line may be cut short, and only by SIGKILL.
            assert index == len(lines) - 1, f"unparsable line {index}: {line[:200]!r}"
            assert signalled, f"unparsable last line without a kill: {line[:200]!r}"
    return run


def assert_bookmarks_follow_records(
    run: StreamedRun,
    expected: dict[str, dict[int, int]],
    already: Collection[int] = (),
) -> None:
    """At every STATE, each job's watermark is covered: every expected instance planned before
    it was printed earlier in this run (or in ``already``, the runs before it)."""
    seen = set(already)
    for message in run.messages:
        if _is_instance(message):
            seen.add(message["record"]["instance_id"])
        elif message["type"] == "STATE":
            for job, watermark in _watermarks(message["value"]).items():
                missing = [iid for iid, plan in expected[job].items() if plan < watermark and iid not in seen]
                assert missing == [], f"{job}: bookmark {watermark} claims {len(missing)} unemitted instances"


def assert_last_state_is_latest(
    run: StreamedRun, expected: dict[str, dict[int, int]], start_ms: int, end_ms: int
) -> None:
    """The last STATE leaves out no window whose records all came out, but at most the one the
    signal caught between its last record and its bookmark: STATE messages are spaced out, so
    the one written on SIGTERM must carry what the spaced ones had not yet said."""
    emitted = run.instance_ids
    watermarks = _watermarks(run.last_state)
    # `end_date` is a minute ahead and the watermark never passes the sync start: a window
    # that ends after the sync started is covered by a watermark at the sync start (a few
    # minutes before `end_date` at most).
    sync_started_at_least = end_ms - 3 * 60_000
    left_out = [
        (job, window.end)
        for job, plans in expected.items()
        for window in plan_windows(start_ms, end_ms, window_width_ms(WINDOW_DAYS))
        if watermarks.get(job, start_ms) < min(window.end, sync_started_at_least)
        and all(iid in emitted for iid, plan in plans.items() if window.start <= plan < window.end)
    ]
    assert len(left_out) <= 1, f"the last STATE leaves out completed windows: {left_out}"


@pytest.fixture(params=["per_job", "workspace"])
def backfill(
    make_sim: Callable[..., SimulatedDLF], request: pytest.FixtureRequest
) -> tuple[dict[str, Any], dict[str, dict[int, int]]]:
    """A tap config for a 24,000-instance backfill of a simulator, and job -> {id: plan_time};
    read per job, or with the workspace listing (fewer requests: slower ones keep the run long
    enough to be killed in the middle)."""
    listing = request.param
    sim = make_sim(
        bulk_dataset(jobs=JOBS, instances_per_job=INSTANCES_PER_JOB),
        rate_limit_per_user=None,
        latency_ms=120 if listing == "per_job" else 400,
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=5 * INSTANCES_PER_JOB + 60)
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "window_days": WINDOW_DAYS,
        "page_size": PAGE_SIZE,
        "max_requests_per_second": 1000,
        "max_workers": 4,
        "instance_listing": listing,
    }
    start_ms, end_ms = to_ms(start), to_ms(end)
    expected = {
        job: {
            i.instance_id: i.plan_time for i in sim.dataset.instances(job) if start_ms <= i.plan_time < end_ms
        }
        for job in [f"bulk_job_{j:04d}" for j in range(JOBS)]
    }
    assert sum(map(len, expected.values())) == JOBS * INSTANCES_PER_JOB
    return config, expected


@pytest.mark.parametrize(
    ("sig", "when"),
    [
        # After some windows have been bookmarked (STATE goes out about once a second: the third
        # comes a second or more into the run), and in the middle of a window's records (576 a
        # window), away from any STATE.
        pytest.param(signal.SIGTERM, lambda states, records: states >= 3, id="SIGTERM-after-states"),
        pytest.param(signal.SIGTERM, lambda states, records: records >= 5_300, id="SIGTERM-mid-window"),
        pytest.param(signal.SIGKILL, lambda states, records: records >= 9_100, id="SIGKILL-mid-window"),
    ],
)
def test_a_killed_backfill_resumed_from_its_last_state_loses_nothing(backfill, tmp_path, sig, when):
    config, expected = backfill
    every_id = {iid for ids in expected.values() for iid in ids}

    first = run_streaming(config, tmp_path / "first", kill=(sig, when))
    assert first.signalled, "the tap finished before it could be killed: make the backfill longer"
    if sig is signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL
    else:  # the SDK's handler: the state once more if it changed, then exit 128 + signal
        assert "Gracefully shutting down" in first.stderr
        assert first.returncode == 128 + signal.SIGTERM
        assert "Traceback" not in first.stderr, first.stderr[-3000:]
        start_ms, end_ms = (to_ms(datetime.fromisoformat(config[k])) for k in ("start_date", "end_date"))
        assert_last_state_is_latest(first, expected, start_ms, end_ms)
    lost_by_first = every_id - first.instance_ids
    assert lost_by_first, "the kill came too late to interrupt the backfill"
    assert_bookmarks_follow_records(first, expected)
    state = first.last_state
    assert _watermarks(state), "no STATE was emitted before the kill"

    second = run_streaming(config, tmp_path / "second", state=state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert_bookmarks_follow_records(second, expected, already=first.instance_ids)

    assert every_id - (first.instance_ids | second.instance_ids) == set()
    # The second run starts from the bookmarks (less the lookback), not from the beginning.
    assert len(second.instance_ids) < len(every_id)
    # `end_date` is a minute ahead: the watermark stops at the sync start if that came first.
    end_ms = to_ms(datetime.fromisoformat(config["end_date"]))
    watermarks = _watermarks(second.last_state)
    assert set(watermarks) == set(expected)
    assert all(end_ms - 3 * 60_000 <= watermark <= end_ms for watermark in watermarks.values()), watermarks


def test_the_bookmark_check_catches_a_bookmark_ahead_of_its_records():
    expected = {"j": {1: 100, 2: 200, 3: 300}}

    def record(iid: int) -> dict[str, Any]:
        return {"type": "RECORD", "stream": "instances", "record": {"instance_id": iid}}

    def state(watermark: int) -> dict[str, Any]:
        partition = {"context": {"job_name": "j"}, "replication_key_value": watermark}
        return {"type": "STATE", "value": {"bookmarks": {"instances": {"partitions": [partition]}}}}

    good = StreamedRun(0, "", [record(2), record(1), state(201), record(3), state(301)])
    assert_bookmarks_follow_records(good, expected)
    early = StreamedRun(0, "", [record(2), state(201), record(1), record(3), state(301)])
    with pytest.raises(AssertionError, match="claims 1 unemitted"):
        assert_bookmarks_follow_records(early, expected)
    assert_bookmarks_follow_records(early, expected, already={1})
