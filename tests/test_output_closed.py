"""A reader that closes the tap's output (``tap-dlf-instances ... | head``, a target that stopped)
ends the run with one line, not the SDK's "unhandled error" with a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_a_closed_output_stops_the_tap_with_one_line(make_sim, tmp_path: Path) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": (datetime.now(UTC) - timedelta(days=60)).isoformat(),
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()  # as `head -2` does
    _, stderr = process.communicate(timeout=90)

    assert all(line.startswith(b'{"type"') for line in first)
    assert process.returncode == 1
    text = stderr.decode()
    assert "Traceback" not in text
    assert "unhandled error" not in text
    lines = [line for line in text.splitlines() if "broken pipe" in line]
    assert lines == ["Error: the reader of the tap's output closed it (broken pipe); the tap stopped."]
