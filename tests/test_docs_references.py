"""The project stands on its own: no file cites a document the repository does not hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Notes kept outside the repository by the people who wrote it: never to be cited.
OUTSIDE = re.compile(r"API-NOTES|PERF-NOTES|STYLE\.md|\.\./shared")
#: Relative Markdown links, and paths of the repository's own documents named in text.
LINK = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)")
DOC_PATH = re.compile(r"\b((?:docs|benchmarks|report|simulator|transform)/[\w./-]+\.md)\b")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    suffixes = {".md", ".py", ".toml", ".yml", ".yaml", ".sh", ".sql", ".cfg"}
    return [ROOT / name for name in listed if Path(name).suffix in suffixes and (ROOT / name).is_file()]


def test_no_file_cites_notes_outside_the_repository() -> None:
    citing = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in tracked_text_files()
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not citing, citing


def test_every_document_named_exists() -> None:
    missing = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8")
        for target in LINK.findall(text) if path.suffix == ".md" else []:
            if not (path.parent / target).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {target}")
        for target in DOC_PATH.findall(text):
            if not (ROOT / target).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not missing, missing
