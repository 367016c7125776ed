"""docs/architecture.md's module map is the package's file list: every module is in it, at its
place, and nothing in it is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tap_dlf_instances"


def mapped_modules() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```\ntap_dlf_instances/\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no module map"
    found: set[str] = set()
    folder = ""
    for line in block.group(1).splitlines():
        entry = re.match(r"( +)(\S+)", line)
        if not entry or entry.group(2).startswith("#"):
            continue
        indent, name = len(entry.group(1)), entry.group(2)
        if indent == 2 and name.endswith("/"):
            folder = name
        elif indent == 2 and name.endswith(".py"):
            found.add(name)
        elif indent == 4 and name.endswith(".py"):
            found.add(folder + name)
    return found


def test_the_module_map_names_every_module_and_only_those() -> None:
    modules = {
        path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"
    }
    mapped = mapped_modules()
    assert sorted(modules - mapped) == [], "modules missing from docs/architecture.md"
    assert sorted(mapped - modules) == [], "modules in docs/architecture.md that do not exist"
