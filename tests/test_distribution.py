"""What the tap's wheel ships: the tap, and neither the simulator nor its demo credentials."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from dlf_simulator import DEMO_ACCESS_KEY, DEMO_IAM_PASSWORD, DEMO_SECRET_KEY, DEMO_TOKEN

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_the_tap_wheel_holds_no_simulator_and_no_demo_credential(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("tap_dlf_instances-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "tap_dlf_instances/tap.py" in names  # the tap is there
        assert not [name for name in names if "simulator" in name], names
        secrets = [DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_IAM_PASSWORD, DEMO_TOKEN]
        holding = [name for name in names for secret in secrets if secret.encode() in archive.read(name)]
        assert not holding, f"demo credentials in {holding}"
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "tap-dlf-instances" in entry_points
        assert "dlf-simulator" not in entry_points
