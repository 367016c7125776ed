"""The one place that keeps secrets out of the tap's output.

Every secret the tap knows (the configured ``secret_access_key``, ``security_token``,
``auth_token`` and ``iam_password``, and the IAM token obtained at run time) is registered
here, and every line the tap prints passes through :func:`scrub`: log records through
:class:`ScrubbingFilter` (installed on every logging handler), the final error line through
``TapDLFInstances.invoke``. Servers, proxies and validators echo values back in forms of their
own, so each secret is matched as it is and in its JSON-escaped, Python-repr and
percent-encoded forms; a secret given as a number, list or object contributes every value in it.

Short secrets (under :data:`SHORT_SECRET_LENGTH` characters) are replaced only where they stand
as a whole token, between characters that are not letters or digits: a password ``ab`` echoed in
``"password": "ab"`` is hidden, but the ``ab`` inside ``about`` or the ``1`` inside a timestamp
are left alone, so a short secret does not turn every log line into asterisks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

#: The settings whose values are secret (marked ``secret=True`` in the config schema).
SECRET_SETTINGS = ("secret_access_key", "security_token", "auth_token", "iam_password")
MASK = "***"
SHORT_SECRET_LENGTH = 4
# Letters and digits: a short secret must not touch one on either side to be replaced.
_TOKEN_CHAR = r"[^\W_]"  # noqa: S105 (a pattern)


class Scrubber:
    """Known secrets and the pattern that finds any of them in a text; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: Any) -> None:
        """Remember ``value`` (any JSON value, or a number or text) as a secret."""
        forms = {form for text in _texts(value) for form in _encoded_forms(text) if form}
        with self._lock:
            if forms <= self._forms:
                return
            self._forms |= forms
            self._pattern = _compile(self._forms)

    def register_config(self, config: Mapping[str, Any]) -> None:
        for name in SECRET_SETTINGS:
            self.register(config.get(name))

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def clear(self) -> None:
        """Forget every secret (tests running several taps in one process)."""
        with self._lock:
            self._forms.clear()
            self._pattern = None


def _texts(value: Any) -> Iterator[str]:
    """Every text a secret value can show up as: strings and numbers, also inside lists and
    objects (keys too). Booleans and null carry no secret and would match everywhere."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, (int, float, Decimal)):
        yield str(value)
        yield repr(value)
        if isinstance(value, Decimal):  # read from JSON as Decimal; echoed as float or int
            yield from (str(float(value)), json.dumps(float(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, Iterable):
        for item in value:
            yield from _texts(item)
    else:
        yield str(value)


def _encoded_forms(text: str) -> set[str]:
    """``text`` as it is and as JSON, Python repr and URLs escape it."""
    forms = {
        text,
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        repr(text)[1:-1],
        quote(text, safe=""),
        quote(text),
        quote_plus(text, safe=""),
    }
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}  # escaped twice: a body in a body
    return forms


def _compile(forms: set[str]) -> re.Pattern[str]:
    # Longest first, so that a secret containing another is replaced whole.
    alternatives = []
    for form in sorted(forms, key=len, reverse=True):
        escaped = re.escape(form)
        if len(form) < SHORT_SECRET_LENGTH:
            escaped = f"(?<!{_TOKEN_CHAR}){escaped}(?!{_TOKEN_CHAR})"
        alternatives.append(escaped)
    return re.compile("|".join(alternatives))


SCRUBBER = Scrubber()


def register(value: Any) -> None:
    """Remember a secret obtained at run time (the IAM token) or configured."""
    SCRUBBER.register(value)


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    return SCRUBBER.scrub(text)


class ScrubbingFilter(logging.Filter):
    """Rewrites a log record so that neither its message nor its traceback holds a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # The traceback text is rendered here, scrubbed, and kept instead of the exception:
            # formatters (console or structured) would otherwise render the raw exception.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FILTER = ScrubbingFilter()


def install(config: Mapping[str, Any] | None = None) -> None:
    """Register ``config``'s secrets and put the filter on every handler there is now.

    Handlers are where records from all loggers meet (a filter on a logger misses records
    propagated from its children); called again whenever the config or the handlers may have
    changed, which is cheap and idempotent.
    """
    if config is not None:
        SCRUBBER.register_config(config)
    loggers: list[logging.Logger | logging.PlaceHolder] = [logging.getLogger()]
    loggers += list(logging.Logger.manager.loggerDict.values())
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
