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
    assert {"jobs", "instances", "alarms", "instance_nodes", "patch_data"} <= set(streams)
    assert streams["instances"]["key_properties"] == ["project_id", "workspace", "job_name", "instance_id"]
    assert streams["instances"]["replication_key"] == "plan_time"
    assert streams["instances"]["replication_method"] == "INCREMENTAL"
    assert streams["jobs"]["replication_method"] == "FULL_TABLE"
    assert streams["patch_data"]["key_properties"] == ["project_id", "workspace", "name"]
    assert streams["patch_data"]["replication_key"] == "submitted_date"
    assert streams["patch_data"]["replication_method"] == "INCREMENTAL"
    alarms = streams["alarms"]
    assert alarms["key_properties"] == [
        "project_id",
        "workspace",
        "job_name",
        "plan_time",
        "alarm_time",
        "remind_type",
    ]
    assert alarms["replication_key"] == "alarm_time"
    assert alarms["replication_method"] == "INCREMENTAL"


def test_instance_nodes_is_a_keyed_stream_not_selected_by_default():
    streams = {s["tap_stream_id"]: s for s in json.loads(CATALOG.read_text())["streams"]}
    nodes = streams["instance_nodes"]
    assert nodes["key_properties"] == ["project_id", "workspace", "job_name", "instance_id", "node_name"]
    top = next(m["metadata"] for m in nodes["metadata"] if m["breadcrumb"] == [])
    assert top["selected-by-default"] is False
