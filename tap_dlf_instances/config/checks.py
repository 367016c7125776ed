"""Checks of a config that the SDK's schema cannot make, and the sentences its errors become.

Every refusal is one line naming the setting and what was expected, with no secret in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from tap_dlf_instances import scrubbing
from tap_dlf_instances.config.readers import NUMBER_SETTINGS, WHOLE_NUMBER_SETTINGS, range_sentence
from tap_dlf_instances.errors import ConfigError


def refuse_batch_config(config: Mapping[str, Any]) -> None:
    """Batch mode is not offered (see ``capabilities``): a configured ``batch_config`` would make
    the SDK write the records to files after STATE messages that already cover them. Refused
    rather than ignored: whoever set it expects files, and a run in records mode would be a
    silent change of format."""
    if config.get("batch_config") is not None:
        msg = (
            "Setting `batch_config` is not supported by this tap (its bookmarks move per window, "
            "ahead of batch files); remove it to receive RECORD messages."
        )
        raise ConfigError(msg)


def one_line(message: str) -> str:
    """The final error line: no secret, and one line even when a server's message has several."""
    return " ".join(scrubbing.scrub(message).split())


def check_stream_maps_shape(config: dict[str, Any]) -> None:
    """Each stream map is an object, a stream name or null: checked before the SDK's schema
    validation, which stops with an ``AttributeError`` on other values."""
    maps = config.get("stream_maps")
    if maps is None:
        return
    if not isinstance(maps, dict) or not all(
        value is None or isinstance(value, (dict, str)) for value in maps.values()
    ):
        message = (
            "Setting `stream_maps` must map stream names to an object of properties, "
            "a stream name or null (see the Meltano SDK's stream maps)."
        )
        raise ConfigValidationError(message, errors=[message])


def schema_error_sentence(error: str, config: Mapping[str, Any] | None = None) -> str:
    """The SDK's ``<value> is not of type 'string' in config['x']`` as a sentence naming the
    setting first (the value is scrubbed when the line is printed)."""
    found = re.fullmatch(r"(?s)(.*) in config\[(.*)\]", error)
    if found is None:
        return f"Invalid config: {error}."
    path = ".".join(part.strip("'\"") for part in found.group(2).split("]["))
    out_of_range = re.fullmatch(
        r"(?s).* is (less|greater) than (or equal to )?the (minimum|maximum) of .*", found.group(1)
    )
    if out_of_range is not None and path in {*WHOLE_NUMBER_SETTINGS, *NUMBER_SETTINGS}:
        # The schema's minimum/maximum are config/settings.py's: the same sentence as its own check.
        return range_sentence(path, (config or {}).get(path))
    wrong_type = re.fullmatch(r"(?s).* is not of type (.*)", found.group(1))
    if wrong_type is not None:  # the value is left out: it may be a secret of the wrong type
        return f"Setting `{path}` must be of type {wrong_type.group(1)}."
    return f"Setting `{path}` is invalid: {found.group(1)}."
