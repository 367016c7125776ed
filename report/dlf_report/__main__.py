"""``dlf-report`` / ``python -m dlf_report``: write the HTML run report of a warehouse.

dlf-report --duckdb output/warehouse.duckdb [--out output/report.html]
dlf-report --postgres ["host=... dbname=..." | postgresql://...]   # empty: PG* variables
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dlf_report import ReportError, write_report
from dlf_report.warehouse import open_postgres, progress_line


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dlf-report",
        description="Write a self-contained HTML report of DataArts Factory job runs from the "
        "dbt marts (schema dlf_marts) of a DuckDB or PostgreSQL warehouse.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--duckdb", metavar="PATH", type=Path, help="DuckDB warehouse file")
    source.add_argument(
        "--postgres",
        metavar="DSN",
        nargs="?",
        const="",
        help="PostgreSQL connection string or URI; without one, libpq's PG* variables "
        "(PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("output/report.html"), help="default: output/report.html"
    )
    parser.add_argument(
        "--progress-after",
        type=float,
        default=float(os.environ.get("DLF_REPORT_PROGRESS_AFTER", "2")),
        metavar="SECONDS",
        help="say on stderr which query is running once one takes longer (default 2)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        source = args.duckdb if args.duckdb is not None else open_postgres(args.postgres, args.progress_after)
        summary = write_report(source, args.out, progress_after=args.progress_after)
    except ReportError as error:
        print(f"dlf-report: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dlf-report: interrupted", file=sys.stderr)
        return 130
    empty = f"; no data: {', '.join(summary.no_data)}" if summary.no_data else ""
    progress_line(
        f"wrote {summary.out_path} ({summary.size_bytes / 1e6:.1f} MB, {len(summary.charts)} charts, "
        f"{summary.runs:,} runs, {summary.open_instances:,} open) in {summary.seconds:.1f} s{empty}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
