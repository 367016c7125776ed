"""The instances schema, the API's rows turned into records of its exact types, and repeats
recognised.

The schema is in the API's own field names (Table 4 of the contract). Times are kept as the API
sends them, milliseconds since the epoch (exact, and what the bookmarks compare); fields the API
may omit are nullable.

The SDK's generic type conformance walks the schema for every value of every record and costs
about half of a backfill's time (README, Benchmarks). The instances schema is fixed and flat, so the
stream turns it off (``TYPE_CONFORMANCE_LEVEL = NONE``) and ``InstanceShaper`` gives every field
its schema type here, in one pass; ``tests/test_record_types.py`` proves the output against the
schema. The alarms stream shapes its records with the same ``RecordShaper``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from singer_sdk import typing as th

from tap_dlf_instances.source_fields import SOURCE_PROPERTIES

logger = logging.getLogger(__name__)

INSTANCE_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    th.Property(
        "job_name",
        th.StringType,
        required=True,
        description="Batch job name, or '<real-time job>_<node>' for a real-time job's sub-job.",
    ),
    th.Property("job_id", th.IntegerType, description="Job ID."),
    th.Property(
        "job_instance_name",
        th.StringType,
        description="Name of the job instance as recorded by the log.",
    ),
    th.Property(
        "status",
        th.StringType,
        description="waiting, running, success, fail, running-exception, skip-by-depend, freeze, "
        "pause or manual-stop.",
    ),
    th.Property(
        "plan_time",
        th.IntegerType,
        required=True,
        description="Planned execution time, ms since the epoch (the replication key).",
    ),
    th.Property("start_time", th.IntegerType, description="Actual start, ms since the epoch."),
    th.Property("end_time", th.IntegerType, description="Actual end, ms since the epoch."),
    th.Property(
        "execute_time",
        th.NumberType,
        description="Execution duration in ms. A number, not an integer: documented as Long, "
        "the API sends fractions at times (0.3); Huawei's SDK models it as int and casts 0.3 to 0, "
        "losing what the API said.",
    ),
    th.Property(
        "instance_id",
        th.IntegerType,
        required=True,
        description="Job instance ID.",
    ),
    th.Property("submit_time", th.IntegerType, description="Submission time, ms since the epoch."),
    th.Property(
        "instance_type",
        th.IntegerType,
        description="0 general, 2 manual, 5 PatchData, 6 sub-job, 7 one-off scheduling.",
    ),
    th.Property("force_success", th.BooleanType, description="Forced to success."),
    th.Property("ignore_success", th.BooleanType, description="Failure ignored."),
    th.Property("version", th.IntegerType, description="Job instance version."),
    th.Property(
        "error_message",
        th.StringType,
        description="Why a failed run failed, as the workspace-wide listing (DLF V1) sends it; null "
        "when the instances were read per job (the V2 API sends none) or the run did not fail.",
    ),
).to_dict()

DEFAULT_WORKSPACE = "default"
#: Dropped rows described one by one in the log, per job; the rest are counted.
MAX_DROP_WARNINGS = 5
#: Type combinations remembered as needing no conversion (a hostile server cannot grow it).
MAX_CLEAN_SIGNATURES = 256
_MISSING = object()


def _to_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return _MISSING


def _to_number(value: Any) -> Any:
    if type(value) in (int, float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return _MISSING
    return _MISSING


def _to_bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    if value in ("true", "false"):
        return value == "true"
    if type(value) is int and value in (0, 1):
        return bool(value)
    return _MISSING


def _to_str(value: Any) -> Any:
    if type(value) is str:
        return value
    if type(value) in (int, float):
        return str(value)
    return _MISSING


_CONVERTERS: dict[str, tuple[tuple[type, ...], Callable[[Any], Any]]] = {
    "integer": ((int,), _to_int),
    "number": ((int, float), _to_number),
    "boolean": ((bool,), _to_bool),
    "string": ((str,), _to_str),
}


def _json_type(prop: Mapping[str, Any]) -> str:
    kinds = prop.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return str(next(kind for kind in kinds if kind != "null"))


Converter = tuple[tuple[type, ...], Callable[[Any], Any]]


def typed_fields(schema: Mapping[str, Any]) -> dict[str, Converter]:
    """Field name -> (its schema type's exact Python types, converter), for the fields the API
    sends (all but the source fields, which the tap adds)."""
    return {
        name: _CONVERTERS[_json_type(prop)]
        for name, prop in schema["properties"].items()
        if name not in {"project_id", "workspace"}
    }


class RecordShaper:
    """Records of a flat schema from API rows, every field of its schema type, in one pass.

    Every schema field is present (``None`` where the API left it out); a value that cannot be
    read as its field's type becomes ``None`` with one warning per field; fields the schema does
    not know are dropped with one warning each. Each stream adds its key rule: a row without
    its key is dropped and counted in ``dropped``.
    """

    def __init__(
        self, schema: Mapping[str, Any], *, label: str, project_id: str, workspace: str | None
    ) -> None:
        self.fields = typed_fields(schema)
        self.source = {"project_id": project_id, "workspace": workspace or DEFAULT_WORKSPACE}
        # Every field of a record, in the schema's order (None until the row says otherwise),
        # and each API field's accepted types (None among them) with its converter.
        self._template: dict[str, Any] = {**self.source, **dict.fromkeys(self.fields)}
        self._checks = [
            (name, (*types, type(None)), convert) for name, (types, convert) in self.fields.items()
        ]
        self._clean: set[tuple[type, ...]] = set()
        self._label = label
        self._warned: set[str] = set()
        self.dropped = 0  # rows without their key

    def typed(self, row: Mapping[str, Any]) -> dict[str, Any]:
        # Merged by dict unpacking (in C), then only the types checked: copying field by field
        # in Python was a fifth of a backfill's time. The source fields win over the row's.
        record: dict[str, Any] = {**self._template, **row, **self.source}
        if len(record) != len(self._template):  # fields the schema does not know: dropped
            record = {name: record[name] for name in self._template}
        # The types of a record's values, in order: a few combinations (which optional fields
        # are null) cover nearly every row, so one seen to need no conversion is known at once.
        signature = tuple(map(type, record.values()))
        if signature in self._clean:
            return record
        clean = True
        for name, types, convert in self._checks:
            value = record[name]
            if type(value) not in types:  # the rare case: convert
                value = convert(value)
                if value is _MISSING:
                    self.warn_once(
                        name,
                        f"`{name}` value {str(row.get(name))[:100]!r} is not of its type; emitted as null",
                    )
                    value = None
                record[name] = value
                clean = False
        if clean and len(self._clean) < MAX_CLEAN_SIGNATURES:
            self._clean.add(signature)
        return record

    def warn_unknown_fields(self, row: Mapping[str, Any]) -> None:
        if not row.keys() <= self.fields.keys():
            for name in row:
                if name not in self.fields:
                    self.warn_once(name, f"field `{name}` is not in the schema; dropped")

    def warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning("%s: %s (further cases are not logged).", self._label, message)


class InstanceShaper(RecordShaper):
    """Records of the instances schema. A row without an integer ``instance_id`` or
    ``plan_time`` cannot be keyed or bookmarked: it is dropped with a warning (the first
    ``MAX_DROP_WARNINGS`` of a job) and counted (the run summary reports it)."""

    def __init__(self, *, project_id: str, workspace: str | None) -> None:
        super().__init__(INSTANCE_SCHEMA, label="Instances", project_id=project_id, workspace=workspace)

    def unattributed(self, row: Mapping[str, Any]) -> None:
        """A row of the workspace listing without a job name: no job's bookmark can hold it.
        Dropped and counted as a row without its key."""
        self._drop("of the workspace listing without a `job_name`", row)

    def _drop(self, what: str, row: Mapping[str, Any]) -> None:
        """A row dropped: counted (the run summary reports it), the first few described."""
        self.dropped += 1
        if self.dropped <= MAX_DROP_WARNINGS:
            logger.warning(
                "Skipped a row %s: %s%s",
                what,
                {k: row.get(k) for k in ("instance_id", "plan_time", "status")},
                " (further ones are only counted, in the run summary)"
                if self.dropped == MAX_DROP_WARNINGS
                else "",
            )

    def record(self, row: Mapping[str, Any], job_name: str) -> dict[str, Any] | None:
        record = self.typed(row)
        if record["job_name"] is None:
            record["job_name"] = job_name
        if record["instance_id"] is None or record["plan_time"] is None:
            self._drop(f"of job {job_name!r} without an integer `instance_id` and `plan_time`", row)
            return None
        self.warn_unknown_fields(row)
        return record


class RecentInstanceIds:
    """Instance IDs emitted in a job's current and previous window.

    A row appears twice in one run only where pages overlap (the offset reading, rows inserted
    while paging) or where two adjacent windows meet (a server that reads a bound as inclusive);
    both stay within two consecutive windows, so memory does not grow with the length of a
    backfill.
    """

    def __init__(self) -> None:
        self._previous: set[int] = set()
        self._current: set[int] = set()

    @property
    def current(self) -> set[int]:
        return self._current

    def next_window(self) -> None:
        self._previous, self._current = self._current, set()

    def remember(self, instance_ids: set[int]) -> None:
        """IDs emitted by another reader of the window just before (a job's own requests before
        the workspace listing starts): counted as the current window's."""
        self._current |= instance_ids

    def first_time(self, instance_id: int) -> bool:
        """True the first time an ID is offered in the current or previous window."""
        if instance_id in self._current or instance_id in self._previous:
            return False
        self._current.add(instance_id)
        return True
