"""Reading the dbt marts (schema ``dlf_marts``) from DuckDB or PostgreSQL.

Both drivers speak DB-API (``connection.execute(sql).fetchall()``), so the queries are written
once in SQL both engines accept; times come back as epoch seconds so that neither driver's
timestamp conversion (naive vs aware, pytz) matters.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MARTS_SCHEMA = "dlf_marts"
# The marts the report needs; failing_nodes is optional (empty without node runs).
REQUIRED_MARTS = ("runs", "job_daily", "open_instances", "duration_trend")
OPTIONAL_MARTS = ("failing_nodes",)


class ReportError(Exception):
    """A problem the user can fix, told in one line (no traceback)."""


def progress_line(message: str) -> None:
    print(f"dlf-report: {message}", file=sys.stderr, flush=True)


@contextmanager
def progress(label: str, after: float, say: Callable[[str], None] = progress_line) -> Iterator[None]:
    """Say on stderr that ``label`` is still running once it takes longer than ``after`` seconds,
    then every 5 s, and how long it took. A timer thread, since a query blocks the caller and
    neither driver reports progress of one statement; fast queries stay silent."""
    started = time.monotonic()
    done = threading.Event()
    spoke = False

    def tick() -> None:
        nonlocal spoke
        wait = after
        while not done.wait(wait):
            spoke = True
            say(f"reading {label} ... {time.monotonic() - started:.0f} s")
            wait = 5.0

    thread = threading.Thread(target=tick, name="dlf-report-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if spoke:
            say(f"read {label} in {time.monotonic() - started:.1f} s")


@dataclass
class Warehouse:
    """An open connection to a warehouse with the marts, and how to name it to a person."""

    connection: Any
    name: str
    engine: str  # "duckdb" or "postgres"
    owned: bool  # opened here, so closed here
    progress_after: float = 2.0

    def rows(self, label: str, sql: str) -> list[tuple[Any, ...]]:
        with progress(label, self.progress_after):
            try:
                return [tuple(row) for row in self.connection.execute(sql).fetchall()]
            except Exception as error:
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise ReportError(
                    f"query for {label} failed on {self.name}: {type(error).__name__}: {first_line}"
                ) from error

    def tables(self) -> set[str]:
        found = self.rows(
            "the list of marts",
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{MARTS_SCHEMA}'",
        )
        return {str(row[0]) for row in found}

    def check_marts(self) -> set[str]:
        """The optional marts present; a missing required one is a ReportError naming the fix."""
        present = self.tables()
        missing = [name for name in REQUIRED_MARTS if name not in present]
        if missing:
            build = "dbt-duckdb:build" if self.engine == "duckdb" else "dbt-postgres:build"
            names = ", ".join(f"{MARTS_SCHEMA}.{name}" for name in missing)
            raise ReportError(
                f"{self.name} has no {names}: the marts are not built; "
                f"run `meltano run {build}` after loading, then the report again."
            )
        return {name for name in OPTIONAL_MARTS if name in present}

    def close(self) -> None:
        if self.owned:
            self.connection.close()


def open_duckdb(path: Path, progress_after: float = 2.0) -> Warehouse:
    import duckdb  # noqa: PLC0415 - only the engine asked for is imported

    if not path.is_file():
        raise ReportError(
            f"DuckDB file {path} does not exist (run the pipeline first: scripts/demo.sh, "
            "or `meltano run tap-dlf-instances target-duckdb dbt-duckdb:build`)."
        )
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReportError(f"cannot open {path} as a DuckDB database: {message}") from error
    return Warehouse(connection, str(path), "duckdb", owned=True, progress_after=progress_after)


def open_postgres(dsn: str, progress_after: float = 2.0) -> Warehouse:
    """``dsn`` is a libpq connection string or URI; empty takes everything from PG* variables."""
    try:
        import psycopg  # noqa: PLC0415 - an optional dependency (dlf-report[postgres])
    except ImportError as error:
        raise ReportError(
            "--postgres needs psycopg: pip install 'dlf-report[postgres]' (or psycopg[binary])."
        ) from error
    try:
        connection = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as error:
        # psycopg's message names host and port but never the password.
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReportError(f"cannot connect to PostgreSQL: {message}") from error
    info = connection.info
    name = f"PostgreSQL database {info.dbname} on {info.host}:{info.port}"
    return Warehouse(connection, name, "postgres", owned=True, progress_after=progress_after)


def wrap_connection(connection: Any, progress_after: float = 2.0) -> Warehouse:
    """A connection the caller opened (DuckDB or psycopg); the caller closes it."""
    module = type(connection).__module__
    engine = "duckdb" if module.startswith("duckdb") or module == "_duckdb" else "postgres"
    name = "the DuckDB connection" if engine == "duckdb" else "the PostgreSQL connection"
    return Warehouse(connection, name, engine, owned=False, progress_after=progress_after)


def epoch(seconds: Any) -> datetime | None:
    """A time the SQL returned as epoch seconds (float, int or Decimal), as aware UTC."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(float(seconds), UTC)


def number(value: Any) -> float | None:
    """PostgreSQL's numeric comes back as Decimal; the charts want floats."""
    return None if value is None else float(value)
