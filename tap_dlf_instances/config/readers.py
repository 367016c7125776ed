"""Reading one setting: each number setting's default and bounds, and the readers of a value
of each kind (text, URL, date-time, number, list of names), each refusing a wrong value with one
sentence that names the setting and what was expected.

The bounds are enforced here and shown by the config schema (config/schema.py builds its
defaults, minimum and maximum from these tables).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar
from urllib.parse import urlsplit

from tap_dlf_instances.api.paging import OffsetMode
from tap_dlf_instances.errors import ConfigError

N = TypeVar("N", int, float)


class Bounds(NamedTuple, Generic[N]):
    """A number setting's default and inclusive range: enforced here, shown by the config schema
    (tap.py builds its defaults, minimum and maximum from these tables)."""

    default: N
    low: N
    high: N


WHOLE_NUMBER_SETTINGS: dict[str, Bounds[int]] = {
    "page_size": Bounds(1000, 1, 1000),
    "max_workers": Bounds(4, 1, 64),
    "max_retries": Bounds(8, 0, 100),
    "shard_index": Bounds(0, 0, 9_999),  # below shard_count, at most 10 000
    "shard_count": Bounds(1, 1, 10_000),
}
NUMBER_SETTINGS: dict[str, Bounds[float]] = {
    "lookback_window_hours": Bounds(24, 0, 24 * 366),
    "window_days": Bounds(30, 0.01, 30),
    "max_requests_per_second": Bounds(10, 0.1, 1000),
    "request_timeout": Bounds(60, 1, 3600),
}
#: The other settings with a default (a string the schema can show).
TEXT_DEFAULTS = {"offset_mode": OffsetMode.AUTO.value, "instance_listing": "auto"}
Choice = TypeVar("Choice", bound=enum.StrEnum)


#: `instance_nodes_days`: optional (no bound by default), so not in NUMBER_SETTINGS.
INSTANCE_NODES_DAYS = Bounds(0.0, 0.01, 3660.0)


def present(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name)
    return value is not None and value != ""


def required_text(config: Mapping[str, Any], name: str) -> str:
    value = optional_text(config, name)
    if value is None:
        raise ConfigError(f"Setting `{name}` is required.")
    return value


def optional_text(config: Mapping[str, Any], name: str) -> str | None:
    value = config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"Setting `{name}` must be a non-empty string.")
    return value.strip()


def url(config: Mapping[str, Any], name: str) -> str | None:
    value = optional_text(config, name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"Setting `{name}` must be an http(s) URL such as https://host, got {value!r}.")
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        # The tap appends paths and its own query; a query or fragment here would be lost or
        # would change what is signed.
        raise ConfigError(
            f"Setting `{name}` must be a base URL without a query (?...) or fragment (#...), got {value!r}."
        )
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        # requests would refuse it later with an InvalidURL traceback, or send it on.
        raise ConfigError(
            f"Setting `{name}` must be a URL without spaces or control characters, got {value!r}."
        )
    return value


def date_time(config: Mapping[str, Any], name: str) -> datetime | None:
    value = config.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"Setting `{name}` must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z, got {value!r}."
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def range_sentence(name: str, value: Any) -> str:
    """The sentence for a number setting out of its range (also used for the schema's own check)."""
    # The SDK reads a config file's decimals as Decimal: show 0.05, not Decimal('0.05').
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    if name in WHOLE_NUMBER_SETTINGS:
        whole = WHOLE_NUMBER_SETTINGS[name]
        return f"Setting `{name}` must be a whole number from {whole.low} to {whole.high}, got {shown}."
    number = NUMBER_SETTINGS[name]
    return f"Setting `{name}` must be a number from {number.low:g} to {number.high:g}, got {shown}."


def number(config: Mapping[str, Any], name: str) -> float:
    bounds = NUMBER_SETTINGS[name]
    value = config.get(name)
    if value is None:
        return bounds.default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not bounds.low <= number <= bounds.high:
        raise ConfigError(range_sentence(name, value))
    return number


def integer(config: Mapping[str, Any], name: str) -> int:
    bounds = WHOLE_NUMBER_SETTINGS[name]
    value = config.get(name)
    if value is None:
        return bounds.default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not bounds.low <= value <= bounds.high:
        raise ConfigError(range_sentence(name, value))
    return value


def choice(config: Mapping[str, Any], name: str, choices: type[Choice]) -> Choice:
    value = config.get(name) or TEXT_DEFAULTS[name]
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise ConfigError(f"Setting `{name}` must be one of {allowed}, got {value!r}.") from None


def flag(config: Mapping[str, Any], name: str) -> bool:
    """A true/false setting, false when unset; "true" and "false" as text too (environment)."""
    value = config.get(name, False)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(f"Setting `{name}` must be true or false, got {value!r:.100}.")
    return value


def text_list(config: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = config.get(name)
    if value is None:
        return None
    if isinstance(value, str):  # from environment variables: a JSON array, or names joined by commas
        value = json_or_csv(value)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"Setting `{name}` must be a list of non-empty names.")
    return tuple(dict.fromkeys(v.strip() for v in value))


def json_or_csv(value: str) -> Any:
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return None  # reported by the caller as not a list of names
    return [part.strip() for part in value.split(",") if part.strip()]
