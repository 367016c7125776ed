"""The main job, `bash scripts/demo.sh`, as the README gives it: here with the simulator's usual
port taken by another program, which the demo must work around by itself."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_the_demo_runs_when_its_usual_port_is_taken() -> None:
    with socket.socket() as squatter:
        try:
            squatter.bind(("127.0.0.1", 18765))
        except OSError:
            pytest.fail("port 18765 is already in use on this machine; the test needs to take it")
        squatter.listen()
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("TAP_DLF_", "DLF_SIM_"))
        }
        demo = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=840,
            check=False,
        )
    assert demo.returncode == 0, (demo.stdout + demo.stderr)[-4000:]
    assert "Port 18765 is in use: the simulator takes a free port" in demo.stdout
    assert "Simulated DataArts Factory API at http://127.0.0.1:" in demo.stdout
    assert "127.0.0.1:18765" not in demo.stdout.split("Simulated DataArts Factory API at")[1].splitlines()[0]
    assert (ROOT / "output" / "report.html").stat().st_size > 0


@pytest.mark.timeout(120)
def test_a_chosen_port_in_use_is_named_in_one_line() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = {**os.environ, "DLF_SIM_PORT": str(port)}
        demo = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=100,
            check=False,
        )
    assert demo.returncode == 1
    assert f"demo.sh: port {port} (DLF_SIM_PORT) is in use" in demo.stderr
