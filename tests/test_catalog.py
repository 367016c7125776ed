"""``catalog/catalog.json`` is what ``--discover`` writes: code and file must not drift apart."""

from __future__ import annotations

import json
from pathlib import Path

CATALOG = Path(__file__).parent.parent / "catalog" / "catalog.json"


def test_committed_catalog_matches_discovery(tap):
    run = tap({}, args=("--discover",))
    assert run.returncode == 0, run.stderr[-2000:]
    discovered = json.loads(run.stdout)
    committed = json.loads(CATALOG.read_text())
    assert discovered == committed, (
        "catalog/catalog.json is stale: regenerate it with "
        "`tap-dlf-instances --discover > catalog/catalog.json`"
    )


def test_catalog_declares_keys_and_bookmarks():
    streams = {s["tap_stream_id"]: s for s in json.loads(CATALOG.read_text())["streams"]}
    assert {"jobs", "instances", "patch_data"} <= set(streams)
    assert streams["instances"]["key_properties"] == ["project_id", "workspace", "job_name", "instance_id"]
    assert streams["instances"]["replication_key"] == "plan_time"
    assert streams["instances"]["replication_method"] == "INCREMENTAL"
    assert streams["jobs"]["replication_method"] == "FULL_TABLE"
    assert streams["patch_data"]["key_properties"] == ["project_id", "workspace", "name"]
    assert streams["patch_data"]["replication_key"] == "submitted_date"
    assert streams["patch_data"]["replication_method"] == "INCREMENTAL"
