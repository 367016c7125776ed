"""Reading the files the tap is given (config, state, catalog) and checking their shape.

The SDK reads them with a bare ``json.loads`` and trusts the shape, so a broken file ends in a
``JSONDecodeError``, ``TypeError`` or ``AttributeError`` traceback. Here every file is read
first, and a mistake becomes one sentence naming the file (``InputFileError``).

A state file that is not a Singer state at all (not JSON, not an object, ``bookmarks`` or a
stream's state not an object, ``partitions`` not a list) stops the run: going on would quietly
re-read everything from ``start_date``. A single job's bookmark the bookmark rule cannot use (a
partition without a ``context.job_name``, a ``replication_key_value`` or ``open_since`` that is
not a plan time in ms) is dropped with a warning naming the job, which is then read from
``start_date``: more rows than needed, none lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tap_dlf_instances.errors import TapDLFError

#: Values of a partition's state that must be plan times (ms) when present.
PLAN_TIME_KEYS = ("replication_key_value", "open_since", "newest_plan_time")


class InputFileError(TapDLFError):
    """A config, state or catalog file cannot be read, or is not what it must be."""


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON value in the file at ``path``; ``what`` names the file in errors ("Config file")."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{what} {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {str(path)!r} is a directory, not a JSON file.") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{what} {str(path)!r} is not UTF-8 text; expected JSON.") from None
    except OSError as exc:
        raise InputFileError(f"{what} {str(path)!r} cannot be read ({exc.strerror or exc}).") from None
    return parse_json(text, f"{what} {str(path)!r}")


def parse_json(text: str, source: str) -> Any:
    """``text`` parsed as the SDK parses it (decimals as ``Decimal``), or one sentence."""
    if not text.strip():
        raise InputFileError(f"{source} is empty; expected a JSON object.")
    try:
        # Decimal like the SDK's own loader; the error names only a position, never the content.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "expected a JSON object."
        ) from None
    except RecursionError:
        raise InputFileError(f"{source} is nested too deeply to be read; expected a JSON object.") from None


def check_config_files(paths: Iterable[str]) -> None:
    """Each ``--config`` file (``ENV`` aside) must hold a JSON object of settings."""
    for path in paths:
        if path == "ENV":
            continue
        value = read_json_file(path, "Config file")
        if not isinstance(value, dict):
            raise InputFileError(
                f"Config file {path!r} must hold a JSON object of settings such as "
                f'{{"project_id": "..."}}, not {_kind(value)}.'
            )


def check_catalog_value(catalog: Any, name: str) -> dict[str, Any]:
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams", []), list):
        raise InputFileError(
            f"Catalog file {name!r} must be a Singer catalog: a JSON object with a `streams` list."
        )
    return catalog


def read_state_text(text: str, name: str, logger: logging.Logger) -> dict[str, Any]:
    """The state in ``text`` (the file ``name``), with unusable bookmarks dropped (warned)."""
    source = f"State file {name!r}"
    return check_state_value(parse_json(text, source), source, logger)


def check_state_value(state: Any, source: str, logger: logging.Logger) -> dict[str, Any]:
    """``state`` if it is a Singer state, with the bookmarks the tap cannot use dropped."""
    if not isinstance(state, dict):
        raise InputFileError(f"{source} must be a Singer state (a JSON object), not {_kind(state)}.")
    bookmarks = state.get("bookmarks")
    if bookmarks is None:
        return state
    if not isinstance(bookmarks, dict):
        raise InputFileError(
            f"{source} is not a Singer state: `bookmarks` must be an object of streams, "
            f"not {_kind(bookmarks)}."
        )
    checked: dict[str, Any] = {}
    for stream, stream_state in bookmarks.items():
        if not isinstance(stream_state, dict):
            raise InputFileError(
                f"{source} is not a Singer state: `bookmarks.{stream}` must be an object, "
                f"not {_kind(stream_state)}."
            )
        kept_state = _without_bad_progress_markers(stream_state, f"{source}: `bookmarks.{stream}`", logger)
        partitions = kept_state.get("partitions")
        if partitions is None:
            checked[stream] = kept_state
            continue
        if not isinstance(partitions, list):
            raise InputFileError(
                f"{source} is not a Singer state: `bookmarks.{stream}.partitions` must be a "
                f"list, not {_kind(partitions)}."
            )
        kept: dict[str, dict[str, Any]] = {}
        for index, raw in enumerate(partitions):
            where = f"{source}: `bookmarks.{stream}.partitions[{index}]`"
            if not _usable_partition(raw, where, logger):
                continue
            partition = _without_bad_progress_markers(raw, where, logger)
            key = json.dumps(partition["context"], sort_keys=True, default=str)
            if key in kept:
                # The SDK stops on duplicates; the earlier watermark is the one that loses nothing.
                logger.warning("%s repeats the bookmark of %s; the earlier plan time is kept.", where, key)
                if _watermark(partition) >= _watermark(kept[key]):
                    continue
            kept[key] = partition
        checked[stream] = {**kept_state, "partitions": list(kept.values())}
    return {**state, "bookmarks": checked}


def _usable_partition(partition: Any, where: str, logger: logging.Logger) -> bool:
    if not isinstance(partition, dict):
        logger.warning("%s is %s, not a bookmark; ignored.", where, _kind(partition))
        return False
    context = partition.get("context")
    job_name = context.get("job_name") if isinstance(context, dict) else None
    if not isinstance(job_name, str) or not job_name:
        logger.warning(
            '%s has no `context.job_name` naming a job (expected {"job_name": "..."}); ignored.',
            where,
        )
        return False
    for key in PLAN_TIME_KEYS:
        value = partition.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            logger.warning(
                "%s: the bookmark of job %r has `%s` %s where a plan time in milliseconds was "
                "expected; that job is read from start_date.",
                where,
                job_name,
                key,
                _short_repr(value),
            )
            return False
    return True


def _without_bad_progress_markers(
    state: dict[str, Any], where: str, logger: logging.Logger
) -> dict[str, Any]:
    # Progress markers only describe an interrupted sync and the SDK drops them on load; one
    # that is not an object would crash it, so it goes here.
    markers = state.get("progress_markers")
    if markers is None or isinstance(markers, dict):
        return state
    logger.warning("%s has `progress_markers` that are %s, not an object; ignored.", where, _kind(markers))
    return {key: value for key, value in state.items() if key != "progress_markers"}


def _watermark(partition: dict[str, Any]) -> int:
    value = partition.get("replication_key_value")
    return value if isinstance(value, int) else -1


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), "a number")


def _short_repr(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:40] + "..."


def checked_state_text(path: str, logger: logging.Logger) -> str:
    """A ``--state`` file, checked, as the JSON text the SDK reads."""
    state = check_state_value(read_json_file(path, "State file"), f"State file {path!r}", logger)
    return json.dumps(state, default=str)


def checked_catalog_text(path: str) -> str:
    """A ``--catalog`` file, checked, as the JSON text the SDK reads."""
    return json.dumps(check_catalog_value(read_json_file(path, "Catalog file"), path), default=str)
