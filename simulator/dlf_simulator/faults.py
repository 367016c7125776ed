"""Misbehaviour on demand: a fault plan for ``/v2/`` requests, and the per-user rate limit.

A rule is a dict: ``{"kind": "status", "status": 503, "times": 3}``, ``{"kind": "throttle",
"retry_after": 1}``, ``{"kind": "html", "status": 200}``, ``{"kind": "truncated"}``,
``{"kind": "drop"}``, ``{"kind": "slow", "seconds": 5}``, the lying 200s:
``{"kind": "error_body"}`` (an ``error_code``/``error_msg`` body), ``{"kind": "body", "body": {...}}``
(that JSON verbatim), ``{"kind": "repeat", "total": null}`` (every offset answered with the first
page's rows; ``total`` huge by default, ``null`` leaves it out), ``{"kind": "short"}`` (the page's
rows left out, ``total`` kept); and the hostile transport: ``{"kind": "redirect", "status": 302,
"location": "http://127.0.0.2:8080/x"}`` (answers a redirect there; to the same URL without
``location``), ``{"kind": "trickle",
"bytes": 1, "seconds": 0.5}`` (sends the whole answer, headers included, ``bytes`` at a time every
``seconds``); an echoing error: ``{"kind": "echo", "status": 500}``
(a JSON error whose ``error_msg`` holds the request's headers and body verbatim, as a careless
gateway or proxy does; status 400 by default); ``{"kind": "unsorted"}`` (the PatchData list
ignores ``sort`` and answers oldest first, as a server might); any rule may add ``"path_contains"``
(a substring of the percent-decoded path), ``"every"`` (act on every Nth matching request) and
``"times"`` (how often to act; default 1, ``null`` = forever). The first rule that acts wins.
IAM's login route ``/v3/auth/tokens`` obeys only rules whose ``path_contains`` matches it (e.g.
``"path_contains": "/v3/auth"``), so plans written for ``/v2/`` leave the login alone.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "status",
    "throttle",
    "html",
    "truncated",
    "drop",
    "slow",
    "error_body",
    "body",
    "repeat",
    "short",
    "redirect",
    "trickle",
    "echo",
    "unsorted",
)
#: ``total`` of a ``repeat`` answer unless the rule gives one: more rows than any page run reaches.
REPEAT_TOTAL = 1_000_000_000
_DEFAULT_STATUS = {"status": 503, "html": 502, "error_body": 200, "redirect": 302, "echo": 400}
_RULE_KEYS = {
    "kind",
    "times",
    "every",
    "path_contains",
    "status",
    "retry_after",
    "seconds",
    "error_code",
    "error_msg",
    "body",
    "total",
    "location",
    "bytes",
}


@dataclass
class FaultRule:
    kind: str
    times: int | None = 1
    every: int = 1
    path_contains: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 5.0
    error_code: str | None = None
    error_msg: str | None = None
    body: Any = None
    total: int | None = REPEAT_TOTAL
    location: str | None = None
    bytes: int = 1
    seen: int = field(default=0, repr=False)  # matching requests so far
    applied: int = field(default=0, repr=False)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FaultRule:
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        kind = raw.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        times = raw.get("times", 1)
        every = int(raw.get("every", 1))
        if (times is not None and int(times) < 0) or every < 1:
            raise ValueError("times must be >= 0 or null, every >= 1")
        retry_after = raw.get("retry_after")
        return cls(
            kind=kind,
            times=None if times is None else int(times),
            every=every,
            path_contains=raw.get("path_contains"),
            status=int(raw.get("status", _DEFAULT_STATUS.get(kind, 0))) or None,
            retry_after=None if retry_after is None else float(retry_after),
            seconds=float(raw.get("seconds", 5.0)),
            error_code=raw.get("error_code"),
            error_msg=raw.get("error_msg"),
            body=raw.get("body"),
            total=raw.get("total", REPEAT_TOTAL),
            location=raw.get("location"),
            bytes=max(1, int(raw.get("bytes", 1))),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "times": self.times,
            "every": self.every,
            "path_contains": self.path_contains,
            "status": self.status,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "location": self.location,
            "bytes": self.bytes,
            "applied": self.applied,
        }


class FaultPlan:
    """The rules in force; :meth:`pick` counts a request against them, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def replace(self, rules: Iterable[Mapping[str, Any]]) -> None:
        parsed = [FaultRule.parse(rule) for rule in rules]
        with self._lock:
            self._rules = parsed

    def pick(self, path: str, *, explicit_only: bool = False) -> FaultRule | None:
        """The rule that acts on this request, if any (its remaining ``times`` decremented);
        with ``explicit_only``, only rules whose ``path_contains`` names this path count."""
        with self._lock:
            chosen = None
            for rule in self._rules:
                if rule.times == 0 or (rule.path_contains and rule.path_contains not in path):
                    continue
                if explicit_only and not rule.path_contains:
                    continue
                rule.seen += 1
                if chosen is None and rule.seen % rule.every == 0:
                    chosen = rule
                    rule.applied += 1
                    if rule.times is not None:
                        rule.times -= 1
            return chosen

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]


def html_page(status: int) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{status}</title></head><body><center><h1>{status}"
        "</h1></center><hr><center>API Gateway</center></body></html>"
    ).encode()


def fault_error_body(rule: FaultRule) -> dict[str, str]:
    status = rule.status or 503
    code, message = {
        502: ("APIGW.0202", "Backend unavailable"),
        504: ("APIGW.0203", "Backend timeout"),
    }.get(status, ("DLF.0001", "The service is temporarily unavailable."))
    return {"error_code": rule.error_code or code, "error_msg": rule.error_msg or message}


def error_200_body(rule: FaultRule) -> dict[str, str]:
    """What a backend behind a careless gateway sends with a 200: an error, not a page."""
    return {
        "error_code": rule.error_code or "DLF.0001",
        "error_msg": rule.error_msg or "The service is temporarily unavailable.",
    }


def first_page_query(raw_query: str) -> str:
    """The query with ``offset`` set to 0: a ``repeat`` server answers every offset alike."""
    params = [pair for pair in raw_query.split("&") if pair and not pair.startswith(("offset=", "page="))]
    return "&".join([*params, "offset=0", "page=0"])  # page: the PatchData list's page index


def rows_key_of(payload: Mapping[str, Any]) -> str | None:
    """The list a listing's rows are in (``instances``, ``jobs``, ``alarm_info``, ``rows``), if any."""
    return next(
        (key for key in ("instances", "jobs", "alarm_info", "rows") if isinstance(payload.get(key), list)),
        None,
    )


def repeated_page(payload: dict[str, Any], rule: FaultRule) -> dict[str, Any]:
    """The first page again, with the rule's ``total`` (left out when ``null``)."""
    page = {key: value for key, value in payload.items() if key != "total"}
    if rule.total is not None:
        page["total"] = rule.total
    return page


def short_page(payload: dict[str, Any]) -> dict[str, Any]:
    """An empty page that keeps its ``total``: a server losing rows between pages."""
    key = rows_key_of(payload)
    return {**payload, key: []} if key else payload


def echo_body(
    rule: FaultRule, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
) -> dict[str, str]:
    """An error whose message repeats the request (credentials included) word for word."""
    lines = [f"{method} {raw_path}", *(f"{name}: {value}" for name, value in headers.items())]
    lines.append(body.decode("utf-8", errors="replace"))
    return {"error_code": rule.error_code or "APIGW.0000", "error_msg": "\n".join(lines)}


THROTTLE_CODE = "APIGW.0308"


def throttle_body(limit: int) -> dict[str, str]:
    return {
        "error_code": THROTTLE_CODE,
        "error_msg": "The throttling threshold has been reached: policy user over ratelimit,"
        f"limit:{limit},time:1 second",
    }


class RateLimiter:
    """At most ``limit`` admitted requests per user in ANY 1 s interval (a sliding window).

    Harsher than a fixed window, which lets 2 x limit through across a second boundary.
    """

    def __init__(self, limit: int | None, window_seconds: float = 1.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, user: str, now: float) -> bool:
        if self.limit is None:
            return True
        with self._lock:
            times = self._admitted.setdefault(user, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True
