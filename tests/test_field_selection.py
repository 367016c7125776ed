"""A catalog that deselects properties still gets records without them (the tap skips the SDK's
per-record selection walk only when every property is selected), and stream maps still apply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

JOB = "daily_sales_report"


def _config(sim) -> dict:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        **sim.tap_config(auth="token"),
        "job_names": [JOB],
        "start_date": (end - timedelta(days=20)).isoformat(),
        "end_date": end.isoformat(),
    }


def _catalog_without(tap, config: dict, tmp_path: Path, *fields: str) -> Path:
    discovered = json.loads(tap(config, args=("--discover",)).stdout)
    for stream in discovered["streams"]:
        for entry in stream["metadata"]:
            breadcrumb = entry["breadcrumb"]
            if not breadcrumb:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "instances"
            elif breadcrumb[-1] in fields:
                entry["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(discovered))
    return path


def test_deselected_properties_are_left_out_of_every_record(sim, tap, tmp_path):
    config = _config(sim)
    full = tap(config)
    assert full.returncode == 0, full.stderr[-2000:]
    catalog = _catalog_without(tap, config, tmp_path, "submit_time", "version")

    run = tap(config, args=("--catalog", str(catalog)))

    assert run.returncode == 0, run.stderr[-2000:]
    assert len(run.instances) == len(full.instances) > 0
    for record in run.instances:
        assert "submit_time" not in record
        assert "version" not in record
        assert "status" in record
    expected = {
        r["instance_id"]: {k: v for k, v in r.items() if k not in ("submit_time", "version")}
        for r in full.instances
    }
    assert {r["instance_id"]: r for r in run.instances} == expected


def test_stream_maps_still_apply_when_every_property_is_selected(sim, tap):
    config = {**_config(sim), "stream_maps": {"instances": {"job_name_upper": "job_name.upper()"}}}

    run = tap(config)

    assert run.returncode == 0, run.stderr[-2000:]
    assert run.instances
    assert all(r["job_name_upper"] == JOB.upper() for r in run.instances)
