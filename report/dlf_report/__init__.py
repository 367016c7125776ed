"""A self-contained HTML report of DataArts Factory job runs, from the dbt marts (schema
``dlf_marts``) that tap-dlf-instances' warehouse gets from ``dbt-duckdb:build``/``dbt-postgres:build``.

    from dlf_report import write_report
    summary = write_report("output/warehouse.duckdb", "output/report.html")
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlf_report import marts, page
from dlf_report.warehouse import ReportError, Warehouse, open_duckdb, wrap_connection

__all__ = ["ReportError", "ReportSummary", "write_report"]


@dataclass(frozen=True)
class ReportSummary:
    """What was written: for the command's last line and for tests."""

    out_path: Path
    size_bytes: int
    charts: tuple[str, ...]  # sections with a chart drawn
    no_data: tuple[str, ...]  # sections that say "no data"
    runs: int
    open_instances: int
    seconds: float


def write_report(
    connection_or_path: Any, out_path: str | Path, *, progress_after: float = 2.0
) -> ReportSummary:
    """Write the report of a warehouse to ``out_path``.

    ``connection_or_path``: the path of a DuckDB file, an open DuckDB connection, an open
    psycopg connection, or a ``Warehouse`` (see ``dlf_report.warehouse.open_postgres``).
    Raises ReportError, with a one-line message, for what the user can fix."""
    started = time.monotonic()
    if isinstance(connection_or_path, Warehouse):
        warehouse = connection_or_path
    elif isinstance(connection_or_path, str | Path):
        warehouse = open_duckdb(Path(connection_or_path), progress_after)
    else:
        warehouse = wrap_connection(connection_or_path, progress_after)
    try:
        data = marts.read(warehouse)
    finally:
        warehouse.close()
    html, sections = page.render(data, warehouse.name)
    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed, so an open browser tab never sees half a page.
        partial = out.with_name(out.name + ".partial")
        partial.write_text(html, encoding="utf-8")
        partial.replace(out)
    except OSError as error:
        raise ReportError(f"cannot write {out}: {error.strerror or error}") from error
    return ReportSummary(
        out_path=out,
        size_bytes=out.stat().st_size,
        charts=tuple(s.key for s in sections if s.chart),
        no_data=tuple(s.key for s in sections if "no-data" in s.body),
        runs=data.totals.runs,
        open_instances=data.open_count,
        seconds=time.monotonic() - started,
    )
