"""Records leave the tap in their schema's exact types (the SDK's conformance is off for them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from tap_dlf_instances.records import INSTANCE_SCHEMA, InstanceShaper

PY_TYPES = {"integer": (int,), "number": (int, float), "boolean": (bool,), "string": (str,)}


def assert_exact_types(record: dict, schema: dict) -> None:
    jsonschema.Draft7Validator(schema).validate(record)
    assert set(record) == set(schema["properties"])
    for name, value in record.items():
        kinds = schema["properties"][name]["type"]
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if value is None:
            assert "null" in kinds, name
            continue
        allowed = tuple(t for kind in kinds if kind != "null" for t in PY_TYPES[kind])
        assert type(value) in allowed, (name, value)


ROW = {
    "job_name": "j",
    "job_id": 7,
    "job_instance_name": "j",
    "status": "success",
    "plan_time": 1_700_000_000_000,
    "start_time": 1_700_000_000_000,
    "end_time": 1_700_000_060_000,
    "execute_time": 0.3,
    "instance_id": 42,
    "submit_time": 1_699_000_000_000,
    "instance_type": 5,
    "force_success": False,
    "ignore_success": False,
    "version": 1,
}


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({}, "execute_time", 0.3),
        ({"plan_time": "1700000000000"}, "plan_time", 1_700_000_000_000),
        ({"end_time": 1_700_000_060_000.0}, "end_time", 1_700_000_060_000),
        ({"execute_time": 60000}, "execute_time", 60000),
        ({"execute_time": "12.5"}, "execute_time", 12.5),
        ({"version": True}, "version", None),
        ({"job_id": "abc"}, "job_id", None),
        ({"force_success": "true"}, "force_success", True),
        ({"ignore_success": 0}, "ignore_success", False),
        ({"status": 3}, "status", "3"),
        ({"end_time": None}, "end_time", None),
    ],
)
def test_shaper_gives_every_field_its_type(changes, field, expected):
    record = InstanceShaper(project_id="p", workspace=None).record({**ROW, **changes}, "j")
    assert record is not None
    assert record[field] == expected
    assert type(record[field]) is type(expected)
    assert_exact_types(record, INSTANCE_SCHEMA)


def test_shaper_fills_what_is_missing_and_drops_what_is_unknown(caplog):
    row = {k: v for k, v in ROW.items() if k not in {"job_name", "end_time", "version"}}
    record = InstanceShaper(project_id="p", workspace="ws").record({**row, "new_field": 1}, "from_context")
    assert record is not None
    assert record["job_name"] == "from_context"
    assert record["end_time"] is None
    assert record["workspace"] == "ws"
    assert "new_field" not in record
    assert "`new_field` is not in the schema" in caplog.text
    assert_exact_types(record, INSTANCE_SCHEMA)


@pytest.mark.parametrize("missing", ["instance_id", "plan_time"])
def test_rows_that_cannot_be_keyed_are_skipped_with_a_warning(missing, caplog):
    row = {**ROW, missing: "not a number"}
    assert InstanceShaper(project_id="p", workspace=None).record(row, "j") is None
    assert "Skipped a row of job 'j'" in caplog.text


def test_every_record_of_a_full_sync_matches_the_schema_exactly(sim, tap):
    nodes = {job.name: list(job.nodes) for job in sim.dataset.jobs.values() if job.job_type == "REAL_TIME"}
    config = {
        **sim.tap_config(auth="aksk"),
        "start_date": (datetime.now(UTC) - timedelta(days=95)).isoformat(),
        "realtime_job_nodes": nodes,
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    schema = run.schemas["instances"]["schema"]
    assert len(run.instances) > 5000
    for record in run.instances:
        assert_exact_types(record, schema)
    jobs_schema = run.schemas["jobs"]["schema"]
    for job in run.records["jobs"]:
        jsonschema.Draft7Validator(jobs_schema).validate(job)
