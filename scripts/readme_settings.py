"""The README's settings table, regenerated from the tap's own ``--about --format=markdown``.

    python scripts/readme_settings.py           # rewrites the block in README.md
    python scripts/readme_settings.py --check   # exits 1 with one line when README.md differs

The block lies between ``<!-- settings:start -->`` and ``<!-- settings:end -->`` and holds the
table under "## Settings" exactly as ``tap-dlf-instances --about --format=markdown`` prints it.
Run it with the project's environment (``.venv/bin/python``), where the tap is installed;
tests/test_readme.py fails when the block is out of date.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"


def about_markdown() -> str:
    """What ``tap-dlf-instances --about --format=markdown`` prints, run in this process."""
    from tap_dlf_instances.tap import TapDLFInstances  # noqa: PLC0415  # only when run

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        TapDLFInstances.print_about("markdown")
    return printed.getvalue()


def settings_table(about: str) -> str:
    """The table under the "## Settings" heading of ``about``: its lines, as printed."""
    lines = about.splitlines()
    try:
        heading = lines.index("## Settings")
    except ValueError:
        raise ValueError("the --about text has no '## Settings' heading") from None
    table: list[str] = []
    for line in lines[heading + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table or line.strip():
            break
    if not table:
        raise ValueError("the --about text has no table under '## Settings'")
    return "\n".join(table)


def readme_block(readme: str) -> str:
    """The lines between the two markers, without the blank lines around them."""
    start, end = _markers(readme)
    return readme[start + len(START) : end].strip("\n")


def with_table(readme: str, table: str) -> str:
    """``readme`` with the block between the markers replaced by ``table``."""
    start, end = _markers(readme)
    return f"{readme[: start + len(START)]}\n\n{table}\n\n{readme[end:]}"


def _markers(readme: str) -> tuple[int, int]:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return start, end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the settings table of README.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    parser.add_argument("--readme", type=Path, default=README, help="default: the project's README.md")
    args = parser.parse_args(argv)
    readme = args.readme.read_text(encoding="utf-8")
    try:
        updated = with_table(readme, settings_table(about_markdown()))
    except ValueError as error:
        print(f"readme_settings: {error}", file=sys.stderr)
        return 2
    if updated == readme:
        return 0
    if args.check:
        print(
            f"{args.readme.name}: the settings table differs from `tap-dlf-instances --about "
            "--format=markdown`; run `python scripts/readme_settings.py`",
            file=sys.stderr,
        )
        return 1
    args.readme.write_text(updated, encoding="utf-8")
    print(f"{args.readme.name}: settings table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
