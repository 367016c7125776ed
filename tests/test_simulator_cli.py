"""``python -m dlf_simulator``: starts, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from dlf_simulator import DEMO_TOKEN


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "url"
    args = [sys.executable, "-m", "dlf_simulator", "--port", "0", "--months", "1"]
    args += ["--ready-file", str(ready), "--print-config", "token", "--offset-mode", "row"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        jobs = requests.get(f"{url}/_sim/tap-config", params={"auth": "token"}, timeout=5).json()
        assert jobs["auth_token"] == DEMO_TOKEN
        listed = requests.get(
            f"{url}/v2/{jobs['project_id']}/factory/jobs",
            headers={"X-Auth-Token": DEMO_TOKEN},
            timeout=5,
        )
        assert listed.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    printed = json.loads(out)
    assert printed["api_url"] == printed["iam_url"] == url
    assert printed["auth_token"] == DEMO_TOKEN


def test_cli_refuses_non_loopback_hosts() -> None:
    args = [sys.executable, "-m", "dlf_simulator", "--host", "0.0.0.0"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "loopback" in done.stderr
