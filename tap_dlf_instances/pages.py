"""What a 200 must hold to count as a page of a listing, and what it is otherwise.

A gateway or a struggling backend can answer 200 with an ``error_code`` body, with no rows list,
or with a list of things that are not rows. Read as "no rows", such an answer ends a window early
and the bookmark moves past instances nobody read. So a body is either a page (a list of row
objects and a usable ``total``) or a ``MalformedPageError``, which the stream retries like a 5xx.
An empty page is one the server sent as an explicit empty list, never a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class MalformedPageError(ValueError):
    """A 200 whose body is not a page; the message says what is wrong, in one clause."""


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int | None  # None: the server sent no ``total`` (paging then goes by full pages)


def read_page(body: object, rows_key: str) -> Page:
    """The page in a parsed JSON body, or ``MalformedPageError`` saying why it is none."""
    if not isinstance(body, dict):
        raise MalformedPageError(f"is a JSON {type(body).__name__}, not an object")
    code = body.get("error_code")
    if code not in (None, ""):
        raise MalformedPageError(f"carries error_code {code!r} ({str(body.get('error_msg'))[:200]})")
    if rows_key not in body:
        raise MalformedPageError(f"has no `{rows_key}` list")
    rows = body[rows_key]
    if not isinstance(rows, list):
        raise MalformedPageError(f"has `{rows_key}` of type {_json_type(rows)}, not a list")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MalformedPageError(f"has `{rows_key}[{index}]` of type {_json_type(row)}, not an object")
    return Page(rows=rows, total=_total(body.get("total")))


def _total(value: object) -> int | None:
    """``total`` as a count: absent or null is allowed; a digit string is read (the API sends
    numbers as strings elsewhere); anything else (negative, fractional, boolean) is no count."""
    if value is None:
        return None
    count: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value.strip()):
        count = int(value.strip())
    if count is None or count < 0:
        raise MalformedPageError(f"has `total` {str(value)[:50]!r}, not a count of rows")
    return count


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
