"""Lone UTF-16 surrogates in the API's strings, replaced with U+FFFD before anything is emitted.

JSON may escape a surrogate on its own (``"\\ud800"``: valid JSON that a server can send), and
``json.loads`` turns it into a Python string that no UTF-8 encoder accepts. Passed on, it stops
the Singer writer (``UnicodeEncodeError``), and every target after it. A surrogate pair
(``"\\ud83d\\ude00"``) is decoded into one character, so any surrogate left in a decoded string
is a lone one. Only bodies whose raw bytes hold such an escape are walked, so the common page
costs one scan of its bytes.

NUL characters stay: they are data, and the loaders' settings deal with them (docs/meltano.md).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Any

#: A JSON escape of a UTF-16 surrogate (high or low); bodies without one need no walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def may_hold_lone_surrogates(raw: bytes) -> bool:
    return _SURROGATE_ESCAPE.search(raw) is not None


def replace_lone_surrogates(body: Any) -> tuple[Any, list[str]]:
    """``body`` with every lone surrogate in its strings (keys too) replaced by U+FFFD, and the
    names of the fields where one was found, once per string replaced (the nearest object key;
    ``""`` for a string at the top)."""
    fields: list[str] = []

    def fix(value: Any, field: str) -> Any:
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value) is None:
                return value
            fields.append(field)
            return _LONE_SURROGATE.sub(REPLACEMENT, value)
        if isinstance(value, dict):
            fixed = {}
            for key, item in value.items():
                name = fix(key, key)
                fixed[name] = fix(item, name)
            return fixed
        if isinstance(value, list):
            return [fix(item, field) for item in value]
        return value

    return fix(body, ""), fields


class SurrogateReplacements:
    """What one run replaced, per stream and field: one warning the first time a field has one,
    and a count at the end of the run (``log``). Shared by the fetching threads."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def note(self, stream: str, fields: list[str], logger: logging.Logger) -> None:
        for field in fields:
            name = f"{stream}.{field}" if field else stream
            with self._lock:
                self._counts[name] += 1
                first = self._counts[name] == 1
            if first:
                logger.warning(
                    "A string in `%s` held a lone UTF-16 surrogate, which no target can store; "
                    "it was replaced with U+FFFD (further cases are counted in the run summary).",
                    name,
                )

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def log(self, logger: logging.Logger) -> None:
        with self._lock:
            counts = sorted(self._counts.items())
        if counts:
            listed = ", ".join(f"{name} {count}" for name, count in counts)
            logger.warning(
                "Run summary: %d strings held a lone UTF-16 surrogate, replaced with U+FFFD (%s).",
                sum(count for _, count in counts),
                listed,
            )
