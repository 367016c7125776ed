"""The tap's one retry policy, and what a 429 asks for.

- ``retry_waits``: the waits between tries, for ``backoff``: what the failure asks for (a 429's
  ``Retry-After``, none after a token refresh), else exponential, capped.
- ``retry_after``: the ``Retry-After`` header, in seconds or as an HTTP date, capped.

Shared by the API streams (api/client.py) and the IAM login (auth/iam_token.py), which must not
import each other.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

#: The longest wait the tap accepts from a ``Retry-After``: a gateway asking for a day would
#: otherwise stall the run (and every thread) for a day.
MAX_RETRY_AFTER_SECONDS = 120.0


class RetryAfter:
    """The wait a 429 asks for, capped at ``MAX_RETRY_AFTER_SECONDS``."""

    def __init__(self, asked: float) -> None:
        self.asked = asked
        self.wait = min(asked, MAX_RETRY_AFTER_SECONDS)

    @property
    def capped(self) -> bool:
        return self.asked > self.wait

    def describe(self) -> str:
        if self.capped:
            return f"Retry-After {self.asked:.0f} s capped to {self.wait:.0f} s"
        return f"Retry-After {self.wait:g} s"


def retry_after(response: requests.Response) -> RetryAfter | None:
    """The response's ``Retry-After`` (seconds or an HTTP date), capped."""
    asked = retry_after_seconds(response)
    return None if asked is None else RetryAfter(asked)


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def retry_waits(
    asked: Callable[[BaseException | None], float | None],
    *,
    first: float,
    cap: float,
    full_jitter: bool,
) -> Generator[float, Any, None]:
    """``backoff``'s wait generator (backoff sends each failure in): the wait ``asked(failure)``
    gives (a 429's ``Retry-After``, 0 after a token refresh), else ``first`` doubled at each try
    up to ``cap``; with ``full_jitter``, a random share of that (the caller's jitter otherwise,
    since backoff's own full jitter would cut a ``Retry-After`` short)."""
    attempt = 0
    failure = yield  # type: ignore[misc]  # primed by backoff with send(None)
    while True:
        attempt += 1
        wait = asked(failure)
        if wait is None:
            wait = min(cap, first * 2.0 ** (attempt - 1))
            if full_jitter:
                wait = random.uniform(0, wait)
        failure = yield wait
