"""The README stays a user's first page: short, installation first, the two commands, and a
settings table that is the tap's own ``--about --format=markdown`` table, not a copy that drifts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from tap_dlf_instances.tap import TapDLFInstances

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
MAX_LINES = 300
FIRST_SCREEN = 40


def readme_lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def about_settings_table(about: str) -> list[str]:
    """The rows of the table under "## Settings", header and separator included, as printed."""
    lines = about.splitlines()
    after = lines[lines.index("## Settings") + 1 :]
    first = next(n for n, line in enumerate(after) if line.startswith("|"))
    table = []
    for line in after[first:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def readme_settings_block() -> list[str]:
    lines = readme_lines()
    assert lines.count(START) == 1, f"README.md needs exactly one {START}"
    assert lines.count(END) == 1, f"README.md needs exactly one {END}"
    return [line for line in lines[lines.index(START) + 1 : lines.index(END)] if line.strip()]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_settings", ROOT / "scripts" / "readme_settings.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_block_is_the_about_table(capsys: pytest.CaptureFixture[str]) -> None:
    TapDLFInstances.print_about("markdown")
    table = about_settings_table(capsys.readouterr().out)
    assert len(table) > 2, "the --about text has no settings table"
    assert readme_settings_block() == table, (
        "README.md's settings table differs from `tap-dlf-instances --about --format=markdown`: "
        "run `.venv/bin/python scripts/readme_settings.py`"
    )


def test_the_script_finds_the_readme_up_to_date_and_fixes_a_stale_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    current = README.read_text(encoding="utf-8")
    assert script.main(["--check"]) == 0

    stale = tmp_path / "README.md"
    start, end = current.index(START), current.index(END)
    stale.write_text(current[: start + len(START)] + "\n| old |\n" + current[end:], encoding="utf-8")
    capsys.readouterr()
    assert script.main(["--check", "--readme", str(stale)]) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1, message
    assert "scripts/readme_settings.py" in message
    assert script.main(["--readme", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == current


def test_readme_is_short() -> None:
    assert len(readme_lines()) <= MAX_LINES


def test_install_is_in_the_first_screen() -> None:
    first = readme_lines()[:FIRST_SCREEN]
    assert "## Install" in first
    assert any(line.startswith("pip install") for line in first)


def test_the_two_commands_are_in_a_code_block() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    assert "bash scripts/demo.sh" in commands
    assert "bash scripts/test.sh" in commands


def test_every_link_within_the_readme_names_a_heading() -> None:
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in readme_lines()
        if line.startswith("#")
    }
    anchors = set(re.findall(r"\]\(#([^)]+)\)", README.read_text(encoding="utf-8")))
    assert anchors <= headings, sorted(anchors - headings)
