"""The run report from a real PostgreSQL warehouse (scripts/postgres.sh, Debian's server on
127.0.0.1): the same marts as the DuckDB tests, read with ``dlf-report --postgres`` (libpq's
PG* variables, and a DSN) and with ``write_report`` on an open psycopg connection."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import report_marts
from dlf_report import write_report

ROOT = Path(__file__).resolve().parents[1]
ALL_CHARTS = ("runs-per-day", "duration", "timeline", "failing-jobs", "failing-nodes")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL server with the marts in schema dlf_marts; its PG* variables."""
    # Under /tmp: as root the server runs as `postgres`, which must reach the directory.
    root = Path(tempfile.mkdtemp(prefix="dlf-report-pg-", dir="/tmp"))
    script = str(ROOT / "scripts" / "postgres.sh")
    started = subprocess.run(
        ["bash", script, "start", str(root)], capture_output=True, text=True, timeout=900, check=False
    )
    if started.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"scripts/postgres.sh start failed:\n{started.stderr[-2000:]}", pytrace=False)
    env = dict(
        line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line
    )
    try:
        with psycopg.connect(**connection_args(env), autocommit=True) as connection:
            report_marts.write(connection, report_marts.realistic(), placeholder="%s")
        yield env
    finally:
        subprocess.run(["bash", script, "stop", str(root)], timeout=120, check=False)


def connection_args(env: dict[str, str]) -> dict[str, str]:
    return {
        "host": env["PGHOST"],
        "port": env["PGPORT"],
        "user": env["PGUSER"],
        "password": env["PGPASSWORD"],
        "dbname": env["PGDATABASE"],
    }


def test_report_from_postgres_with_pg_variables(postgres: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "dlf_report", "--postgres", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **postgres},
    )
    assert done.returncode == 0, done.stderr
    assert "5 charts, 780 runs, 3 open" in done.stderr
    assert postgres["PGPASSWORD"] not in done.stderr
    html = out.read_text(encoding="utf-8")
    assert f"PostgreSQL database {postgres['PGDATABASE']} on 127.0.0.1:{postgres['PGPORT']}" in html


def test_report_from_postgres_with_a_dsn_and_a_connection(postgres: dict[str, str], tmp_path: Path) -> None:
    args = connection_args(postgres)
    dsn = " ".join(f"{key}={value}" for key, value in args.items())
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    done = subprocess.run(
        [sys.executable, "-m", "dlf_report", "--postgres", dsn, "--out", str(tmp_path / "dsn.html")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr

    # The same report as from DuckDB, from the caller's own connection.
    with psycopg.connect(**args) as connection:
        from_postgres = write_report(connection, tmp_path / "connection.html")
    duckdb_file = tmp_path / "warehouse.duckdb"
    report_marts.make_duckdb(duckdb_file, report_marts.realistic())
    from_duckdb = write_report(duckdb_file, tmp_path / "duckdb.html")
    assert from_postgres.charts == from_duckdb.charts == ALL_CHARTS
    assert (from_postgres.runs, from_postgres.open_instances) == (
        from_duckdb.runs,
        from_duckdb.open_instances,
    )
    # The charts' data agree: the pages differ only in the warehouse's name and the time made.
    body = [
        path.read_text(encoding="utf-8").split("</header>", 1)[1]
        for path in (from_postgres.out_path, from_duckdb.out_path)
    ]
    assert body[0] == body[1]


def test_marts_not_built_in_postgres_says_dbt_postgres(postgres: dict[str, str], tmp_path: Path) -> None:
    args = connection_args(postgres)
    with psycopg.connect(**args, autocommit=True) as connection:
        connection.execute("ALTER SCHEMA dlf_marts RENAME TO dlf_marts_away")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "dlf_report", "--postgres", "--out", str(tmp_path / "r.html")],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={**os.environ, **postgres},
            )
        finally:
            connection.execute("ALTER SCHEMA dlf_marts_away RENAME TO dlf_marts")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "meltano run dbt-postgres:build" in line
