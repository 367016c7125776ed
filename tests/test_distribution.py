"""What the tap's distributions ship: the wheel holds every module of the tap and neither the
simulator nor its demo credentials; the sdist holds no build output of the demo."""

from __future__ import annotations

import subprocess
import sys
import tarfile
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
        modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tap_dlf_instances").rglob("*.py")}
        assert modules <= set(names), sorted(modules - set(names))  # every module, subpackages too
        assert not [name for name in names if "simulator" in name], names
        secrets = [DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_IAM_PASSWORD, DEMO_TOKEN]
        holding = [name for name in names for secret in secrets if secret.encode() in archive.read(name)]
        assert not holding, f"demo credentials in {holding}"
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "tap-dlf-instances" in entry_points
        assert "dlf-simulator" not in entry_points


@pytest.mark.timeout(600)
def test_the_sdist_leaves_the_demos_build_output_out(tmp_path: Path) -> None:
    # What the demo leaves behind (dbt's target/ and logs/, the report), made here if absent.
    made = [ROOT / "transform" / "target" / "probe-compiled.sql", ROOT / "transform" / "logs" / "probe.log"]
    made += [ROOT / "output" / "probe-report.html"]
    created = [path for path in made if not path.exists()]
    for path in created:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("probe")
    try:
        built = subprocess.run(
            [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        for path in created:
            path.unlink()
    assert built.returncode == 0, built.stderr[-3000:]
    (sdist,) = tmp_path.glob("tap_dlf_instances-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert "tap_dlf_instances/tap.py" in names
    leaked = [name for name in names if name.startswith(("transform/target", "transform/logs", "output/p"))]
    assert not leaked, leaked
