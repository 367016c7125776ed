"""What the pipeline loaded: a short summary of the instances table, a snapshot to compare a
later run with, and the rows as JSON (for the end-to-end tests).

    python scripts/warehouse.py summary output/warehouse.duckdb [--before output/run1.duckdb]
    python scripts/warehouse.py snapshot output/warehouse.duckdb output/run1.duckdb
    python scripts/warehouse.py rows --duckdb output/warehouse.duckdb
    python scripts/warehouse.py rows --postgres        # connection from the PG* variables

Runs in the pipeline environment (scripts/pipeline_env.sh), which has duckdb and psycopg.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import wcwidth

PRIMARY_KEY = ("project_id", "workspace", "job_name", "instance_id")
# The API's statuses, in the order a reader expects them.
STATUSES = (
    "success",
    "fail",
    "manual-stop",
    "skip-by-depend",
    "running-exception",
    "running",
    "waiting",
    "freeze",
    "pause",
)


def connect_duckdb(path: Path, *, read_only: bool = True) -> Any:
    if not path.exists():
        sys.exit(f"warehouse.py: {path} does not exist (has the pipeline run?)")
    return duckdb.connect(str(path), read_only=read_only)


def columns(con: Any, schema: str, table: str, catalog: str | None = None) -> list[str]:
    where = "table_schema = ? AND table_name = ?" + (" AND table_catalog = ?" if catalog else "")
    params = [schema, table, *([catalog] if catalog else [])]
    rows = con.execute(
        f"SELECT column_name FROM information_schema.columns WHERE {where} ORDER BY ordinal_position",
        params,
    ).fetchall()
    return [row[0] for row in rows]


def quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{name}"' for name in names)


# --- summary -------------------------------------------------------------------------------


def shown(text: str) -> str:
    """``text`` as one line of a table: control characters (tabs, line breaks, NUL) as their
    escapes, so that a job named with them cannot break a row."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc" else ch for ch in text
    )


def width(text: str) -> int:
    """Columns a terminal gives ``text`` (wcwidth: CJK and emoji take two, combining marks and
    direction marks none); a character it cannot measure counts one."""
    measured = wcwidth.wcswidth(text)
    return measured if measured >= 0 else sum(max(wcwidth.wcwidth(ch), 1) for ch in text)


def pad(text: str, size: int, *, right: bool = False) -> str:
    fill = " " * max(size - width(text), 0)
    return fill + text if right else text + fill


def plan_time_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def status_table(rows: list[tuple[str, str | None, int, int | None]]) -> list[str]:
    """``(job, status, count, last plan_time)`` rows as a job x status table."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    last: dict[str, int] = {}
    for job, status, count, plan in rows:
        counts[job][status or "(none)"] += count
        if plan is not None:
            last[job] = max(last.get(job, plan), int(plan))
    seen = {status for c in counts.values() for status in c}
    statuses = [s for s in STATUSES if s in seen] + sorted(seen - set(STATUSES))
    header = ["job", *(shown(s) for s in statuses), "rows", "last plan time (UTC)"]
    body = [
        [
            shown(job),
            *(str(c[s]) if c[s] else "-" for s in statuses),
            str(sum(c.values())),
            plan_time_text(last.get(job)),
        ]
        for job, c in sorted(counts.items(), key=lambda item: item[0].casefold())
    ]
    total = Counter[str]()
    for c in counts.values():
        total.update(c)
    body.append(
        [
            "all jobs",
            *(str(total[s]) if total[s] else "-" for s in statuses),
            str(sum(total.values())),
            plan_time_text(max(last.values(), default=None)),
        ]
    )
    sizes = [max(width(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [pad(row[0], sizes[0])]
        cells += [pad(cell, size, right=True) for cell, size in zip(row[1:-1], sizes[1:-1], strict=True)]
        cells.append(pad(row[-1], sizes[-1]))
        return "  ".join(cells).rstrip()

    rule = "-" * width(line(header))
    return [line(header), rule, *(line(row) for row in body[:-1]), rule, line(body[-1])]


#: The statuses of a run that ended but not ok, as the dbt models group them (status_group).
NOT_OK = ("fail", "manual-stop", "skip-by-depend")


def outcome_line(rows: list[tuple[str, str | None, int, int | None]]) -> str:
    """The runs by outcome, in the report's words (dlf-report's headline says the same)."""
    counts = Counter[str]()
    for _job, status, count, _plan in rows:
        counts[
            "ended ok" if status == "success" else "ended not ok" if status in NOT_OK else "still open"
        ] += count
    return (
        f"Runs: {sum(counts.values())}; ended ok {counts['ended ok']}, ended not ok "
        f"{counts['ended not ok']} ({', '.join(NOT_OK)}), still open {counts['still open']}."
    )


def changes(con: Any, schema: str, before: Path) -> tuple[int, int, Counter[str]]:
    """Rows added and rows updated since the ``before`` snapshot, and the status moves."""
    con.execute(f"ATTACH '{before}' AS before (READ_ONLY)")
    after_cols = columns(con, schema, "instances")
    before_cols = set(columns(con, "main", "instances", catalog="before"))
    common = [c for c in after_cols if c in before_cols]
    keys = " AND ".join(f'a."{k}" = b."{k}"' for k in PRIMARY_KEY)
    rows = con.execute(
        f"""
        WITH changed AS (
            SELECT {quoted(common)} FROM {schema}.instances
            EXCEPT
            SELECT {quoted(common)} FROM before.main.instances
        )
        SELECT b.instance_id IS NULL AS added, b.status AS old_status, a.status AS new_status
        FROM changed a LEFT JOIN before.main.instances b ON {keys}
        """
    ).fetchall()
    added = sum(1 for row in rows if row[0])
    moves = Counter(f"{old} -> {new}" for is_new, old, new in rows if not is_new and old != new)
    return added, len(rows) - added, moves


def summary(args: argparse.Namespace) -> int:
    con = connect_duckdb(args.warehouse)
    schema = args.schema
    rows = con.execute(
        f"SELECT job_name, status, count(*), max(plan_time) FROM {schema}.instances GROUP BY 1, 2"
    ).fetchall()
    total, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT ({quoted(PRIMARY_KEY)})) FROM {schema}.instances"
    ).fetchone()
    jobs = con.execute(f"SELECT count(*) FROM {schema}.jobs").fetchone()[0]
    print(f"Instances in {args.warehouse} (schema {schema}; {jobs} jobs in {schema}.jobs):")
    print()
    for line in status_table(rows):
        print("  " + line)
    print()
    print(outcome_line(rows))
    if args.before is not None:
        added, updated, moves = changes(con, schema, args.before)
        detail = ", ".join(f"{move} {n}" for move, n in moves.most_common())
        print(
            f"Second run changed {added + updated} rows: {added} new, {updated} updated"
            + (f" ({detail})." if detail else ".")
        )
    duplicates = "no duplicates" if total == distinct else f"{total - distinct} DUPLICATES"
    print(f"Primary key (project_id, workspace, job_name, instance_id): {total} rows, {duplicates}.")
    for line in operations(con, schema):
        print(line)
    return 0 if total == distinct else 1


def has_table(con: Any, schema: str, table: str) -> bool:
    return bool(columns(con, schema, table))


def job_list_text(stored: str | None) -> str:
    """A PatchData run's job_list as the loader stored it (JSON text), as names."""
    try:
        names = json.loads(stored or "[]")
    except ValueError:
        return str(stored)
    return ", ".join(str(name) for name in names) if isinstance(names, list) else str(stored)


def operations(con: Any, schema: str) -> list[str]:
    """The operations data around the runs, for the streams that were loaded: failing nodes,
    PatchData runs, alarms."""
    lines: list[str] = []
    if has_table(con, schema, "instance_nodes"):
        runs, failed = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE status = 'fail') FROM {schema}.instance_nodes"
        ).fetchone()
        worst = con.execute(
            f"""SELECT job_name, node_name, count(*) FROM {schema}.instance_nodes
            WHERE status = 'fail' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 5"""
        ).fetchall()
        lines += ["", f"Node runs: {runs} in {schema}.instance_nodes, {failed} failed."]
        lines += [
            f"  failing node {job} / {node}: {n} failed run{'' if n == 1 else 's'}" for job, node, n in worst
        ]
    if has_table(con, schema, "patch_data"):
        patches = con.execute(
            f"""SELECT name, status, start_date, end_date, CAST(job_list AS VARCHAR)
            FROM {schema}.patch_data ORDER BY submitted_date DESC NULLS LAST, name LIMIT 5"""
        ).fetchall()
        count = con.execute(f"SELECT count(*) FROM {schema}.patch_data").fetchone()[0]
        lines += ["", f"PatchData runs: {count} in {schema}.patch_data" + (", the latest:" if count else ".")]
        lines += [
            f"  {name} ({status}): plan times {plan_time_text(start)} to {plan_time_text(end)}, "
            f"jobs {job_list_text(jobs)}"
            for name, status, start, end, jobs in patches
        ]
    if has_table(con, schema, "alarms"):
        count, jobs = con.execute(
            f"SELECT count(*), count(DISTINCT job_name) FROM {schema}.alarms"
        ).fetchone()
        lines += ["", f"Alarms: {count} notifications about {jobs} jobs in {schema}.alarms."]
    return lines


# --- snapshot and rows ---------------------------------------------------------------------


def snapshot(args: argparse.Namespace) -> int:
    if not args.warehouse.exists():
        sys.exit(f"warehouse.py: {args.warehouse} does not exist (has the pipeline run?)")
    args.snapshot.unlink(missing_ok=True)
    con = duckdb.connect(str(args.snapshot))
    con.execute(f"ATTACH '{args.warehouse}' AS warehouse (READ_ONLY)")
    con.execute(f"CREATE TABLE main.instances AS SELECT * FROM warehouse.{args.schema}.instances")
    con.close()
    return 0


def rows(args: argparse.Namespace) -> int:
    query = f"SELECT * FROM {args.schema}.{args.table}"
    if args.duckdb is not None:
        con = connect_duckdb(args.duckdb)
        cursor = con.execute(query)
    else:
        con = psycopg.connect("")  # host, port, user, password, database from PG* variables
        cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    data = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    json.dump(data, sys.stdout, default=str)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schema", default="dlf")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="rows per job and status, and what the last run changed")
    p.add_argument("warehouse", type=Path)
    p.add_argument("--before", type=Path, help="snapshot taken before the last run")
    p.set_defaults(run=summary)
    p = sub.add_parser("snapshot", help="copy the instances table to another DuckDB file")
    p.add_argument("warehouse", type=Path)
    p.add_argument("snapshot", type=Path)
    p.set_defaults(run=snapshot)
    p = sub.add_parser("rows", help="a table's rows as JSON")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--duckdb", type=Path)
    where.add_argument("--postgres", action="store_true")
    p.add_argument("--table", default="instances")
    p.set_defaults(run=rows)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
