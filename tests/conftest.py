"""Shared fixtures: the simulated DataArts Factory API on loopback, and the tap run for real.

The tap runs as its own process (``python -m tap_dlf_instances``), exactly as Meltano runs it,
and its Singer output is parsed back into records and states.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dlf_simulator import SimConfig, SimulatedDLF, demo_dataset

#: Source that shows a test runs a program of its own (the tap's CLI, Meltano, dbt, a browser).
_SUBPROCESS = re.compile(r"subprocess\.|run_tap\(|\bmeltano\b|chromium|run_cli\(")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run the tap (or another program) as its own process are marked ``e2e``; the
    rest run in this process and make the fast tier: ``pytest -m "not slow and not e2e"``."""
    for item in items:
        function = getattr(item, "function", None)
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            source = ""
        if "tap" in getattr(item, "fixturenames", ()) or _SUBPROCESS.search(source):
            item.add_marker(pytest.mark.e2e)


@dataclass
class TapRun:
    """What one run of the tap printed, parsed."""

    returncode: int
    stdout: str
    stderr: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def instances(self) -> list[dict[str, Any]]:
        return self.records.get("instances", [])

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def bookmarks(self) -> dict[str, dict[str, Any]]:
        """Job name -> partition state of the instances stream, from the last STATE."""
        partitions = self.last_state.get("bookmarks", {}).get("instances", {}).get("partitions", [])
        return {p["context"]["job_name"]: p for p in partitions}


def parse_singer(stdout: str) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], dict[str, Any]]:
    records: dict[str, list[dict[str, Any]]] = {}
    states: list[dict[str, Any]] = []
    schemas: dict[str, Any] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            states.append(message["value"])
        elif message["type"] == "SCHEMA":
            schemas[message["stream"]] = message
    return records, states, schemas


def run_tap(
    config: dict[str, Any],
    tmp_path: Path,
    *,
    state: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 300,
) -> TapRun:
    """Run the tap's CLI in a subprocess with ``config`` (and ``state``) written to files."""
    run_dir = Path(tmp_path)
    run_dir.mkdir(parents=True, exist_ok=True)
    listing = os.environ.get("DLF_TEST_INSTANCE_LISTING")
    if listing and "instance_listing" not in config:
        # The suite's second mode (scripts/test.sh): the simulator serves the workspace listing,
        # so `auto` reads with it; this runs the same tests per job.
        config = {**config, "instance_listing": listing}
    index = len(list(run_dir.glob("config-*.json")))
    config_file = run_dir / f"config-{index}.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_file), *args]
    if state is not None:
        state_file = run_dir / f"state-{index}.json"
        state_file.write_text(json.dumps(state))
        command += ["--state", str(state_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DLF_INSTANCES_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    run = TapRun(done.returncode, done.stdout, done.stderr)
    if not {"--about", "--discover"} & set(args):
        run.records, run.states, run.schemas = parse_singer(done.stdout)
    return run


@pytest.fixture
def tap(tmp_path: Path) -> Callable[..., TapRun]:
    """``tap(config, state=None, args=())`` runs the tap and returns a ``TapRun``."""

    def _run(config: dict[str, Any], **kwargs: Any) -> TapRun:
        return run_tap(config, tmp_path, **kwargs)

    return _run


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimulatedDLF]]:
    """``make_sim(dataset=None, **SimConfig fields)`` starts a simulator; all stop afterwards."""
    started: list[SimulatedDLF] = []

    def _make(dataset: Any = None, **config: Any) -> SimulatedDLF:
        sim = SimulatedDLF(dataset if dataset is not None else demo_dataset(), SimConfig(**config))
        sim.start()
        started.append(sim)
        return sim

    yield _make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    """A simulator with the demo dataset and the documented rate limit."""
    return make_sim()
