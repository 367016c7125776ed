"""``dlf-report`` / ``python -m dlf_report``: write the HTML run report of a warehouse.

dlf-report --duckdb output/warehouse.duckdb [--out output/report.html]
dlf-report --postgres ["host=... dbname=..." | postgresql://...]   # empty: PG* variables
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from dlf_report import ReportError, write_report
from dlf_report.warehouse import open_postgres, progress_line


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake told in one line and exit code 1 like every other error
    (argparse's own: the usage block and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"dlf-report: {message} (see dlf-report --help)\n")


def seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also NaN
        raise ValueError(text)
    return value


seconds.__name__ = "number of seconds"  # argparse names the type in its message


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(
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
        type=seconds,
        default=2.0,
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
