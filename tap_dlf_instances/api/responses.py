"""Reading a response: its JSON body (parsed once and kept on it), the page of a listing that a
200 must hold, and the API's error fields.

What a 200 must hold to count as a page of a listing, and what it is otherwise:

A gateway or a struggling backend can answer 200 with an ``error_code`` body, with no rows list,
or with a list of things that are not rows. Read as "no rows", such an answer ends a window early
and the bookmark moves past instances nobody read. So a body is either a page (a list of row
objects and a usable ``total``) or a ``MalformedPageError``, which the stream retries like a 5xx.
An empty page is one the server sent as an explicit empty list, never a default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_dlf_instances import scrubbing
from tap_dlf_instances.surrogates import may_hold_lone_surrogates, replace_lone_surrogates


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


_BODY_ATTR = "_dlf_body"
_PAGE_ATTR = "_dlf_page"
_REPLACED_ATTR = "_dlf_surrogates_replaced"


def parsed_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON body, parsed once (in ``validate_response``) and kept on it, with
    lone surrogates replaced (``surrogates``; the fields where they were: ``replaced_fields``)."""
    body = getattr(response, _BODY_ATTR, None)
    if body is None:
        body = _parse_json_object(response)
        if may_hold_lone_surrogates(response.content):
            body, fields = replace_lone_surrogates(body)
            setattr(response, _REPLACED_ATTR, fields)
        setattr(response, _BODY_ATTR, body)
    return body


def replaced_fields(response: requests.Response) -> list[str]:
    """The fields of the body's strings in which ``parsed_body`` replaced a lone surrogate."""
    return list(getattr(response, _REPLACED_ATTR, ()))


def page_of(response: requests.Response, rows_key: str) -> Page:
    """The listing page in the response, read once (in ``validate_response``) and kept on it.

    A 200 that is not a page (an ``error_code`` body, no rows list, rows that are not objects, a
    ``total`` that is no count) is retried like a 5xx: read as "no rows" it would end a window
    early and let the bookmark pass instances nobody read (see the module docstring).
    """
    page = getattr(response, _PAGE_ATTR, None)
    if page is None:
        try:
            page = read_page(parsed_body(response), rows_key)
        except MalformedPageError as exc:
            msg = f"{response.request.method} {path_of(response)} answered {response.status_code} with a body that {exc}"
            raise RetriableAPIError(msg, response) from None
        setattr(response, _PAGE_ATTR, page)
    return page


def _parse_json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = "HTML" if response.content.lstrip()[:1] == b"<" else "not a JSON object"
        msg = (
            f"{response.request.method} {path_of(response)} answered {response.status_code} "
            f"with a body that is {kind} ({len(response.content)} bytes; cut short or from a gateway)"
        )
        raise RetriableAPIError(msg, response)
    return body


def path_of(response: requests.Response) -> str:
    return response.request.path_url if response.request else response.url


def error_fields(response: requests.Response) -> tuple[str | None, str]:
    """The API's ``error_code`` and ``error_msg``, tolerating bodies of other shapes.

    Scrubbed before it is cut short: a secret echoed by the server and cut in two would no
    longer be recognised."""
    scrub = scrubbing.scrub
    try:
        body = json.loads(response.content)
    except ValueError:
        return None, scrub(response.text)[:200].strip() or response.reason
    if not isinstance(body, dict):
        return None, scrub(str(body))[:200]
    code = body.get("error_code")
    message = scrub(str(body.get("error_msg") or body.get("message") or body))[:500]
    return (scrub(code) if isinstance(code, str) else code), message
