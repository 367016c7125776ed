"""The report as Meltano's utility ``dlf-report`` (meltano.yml): installed by Meltano from
``report/`` into its own environment, with the DuckDB that target-duckdb uses, and run with
``meltano invoke`` on a warehouse with the marts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import report_marts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UTILITY_PYTHON = ROOT / ".meltano" / "utilities" / "dlf-report" / "venv" / "bin" / "python"


def meltano(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "PG"))}
    env.update(MELTANO_ENVIRONMENT="sim", MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")
    return subprocess.run(
        [str(Path(sys.executable).with_name("meltano")), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def installed() -> None:
    done = meltano("install", "utility", "dlf-report")
    assert done.returncode == 0, done.stderr[-3000:]


def test_meltano_installs_the_report_with_target_duckdbs_engine(installed: None) -> None:
    done = subprocess.run(
        [str(UTILITY_PYTHON), "-c", "import duckdb, plotly, psycopg; print(duckdb.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2.0.1"  # the pin of target-duckdb in meltano.yml


def test_meltano_invoke_writes_the_report(installed: None, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    report_marts.make_duckdb(warehouse, report_marts.realistic())
    out = tmp_path / "report.html"
    done = meltano("invoke", "dlf-report", "--duckdb", str(warehouse), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"wrote {out} (" in done.stderr
    assert "5 charts, 780 runs, 3 open" in done.stderr
    assert out.stat().st_size > 1_000_000


def test_meltano_invoke_without_marts_fails_with_the_fix(installed: None, tmp_path: Path) -> None:
    warehouse = tmp_path / "loaded-only.duckdb"
    report_marts.make_duckdb(warehouse, {})
    done = meltano("invoke", "dlf-report", "--duckdb", str(warehouse))
    assert done.returncode == 1
    assert "run `meltano run dbt-duckdb:build`" in done.stderr
    assert "Traceback" not in done.stderr
