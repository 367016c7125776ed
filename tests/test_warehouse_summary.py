"""The demo's terminal summary (scripts/warehouse.py) keeps its columns straight whatever the job
names hold: CJK, emoji, combining and direction marks, tabs and line breaks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import wcwidth

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "warehouse.py"
spec = importlib.util.spec_from_file_location("warehouse_script", SCRIPT)
assert spec is not None
assert spec.loader is not None
warehouse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(warehouse)

NAMES = [
    "Rapport journalier \u2013 ventes.v2 (EU) 数据",  # an en dash and CJK
    "hourly_orders_etl",
    "cafe\u0301 du matin",  # a combining accent: no column of its own
    "\u200f\u05de\u05e9\u05d9\u05de\u05d4",  # a right-to-left mark (zero width) and Hebrew
    "emoji 😀 job",
    "tab\there",
    "line\r\nbreak",
]


def test_every_row_of_the_summary_has_the_same_width_and_is_one_line() -> None:
    rows = [(name, "success", 3, 1_700_000_000_000) for name in NAMES]
    rows += [(NAMES[0], "fail", 1, 1_700_000_360_000)]

    table = warehouse.status_table(rows)

    assert len(table) == 2 + len(NAMES) + 2  # header, rule, a line per job, rule, total
    dated = [line for line in table if "2023-" in line]
    widths = {wcwidth.wcswidth(line[: line.rindex("2023-")]) for line in dated}
    assert len(widths) == 1, table  # the last column starts at one screen column on every row
    assert all(wcwidth.wcswidth(line) >= 0 for line in table), table  # nothing unmeasurable left
    assert any("tab\\there" in line for line in table)
    assert any("line\\r\\nbreak" in line for line in table)
