"""Broken config and state files, and unknown settings: one line naming the file, no traceback.

A file that is not a config (not JSON, empty, not an object) or not a Singer state (not JSON,
not an object, ``bookmarks`` / a stream's state not an object, ``partitions`` not a list) stops
the run with exit code 1 and one line naming the file. A single job's bookmark that the bookmark
rule cannot use is dropped with a warning naming the job, which is then read from start_date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TapRun


def run_raw(tmp_path: Path, config_text: str | bytes | None, state_text: str | None = None) -> TapRun:
    """Run the tap with files holding exactly these texts (``None``: a path that does not exist)."""
    config_file = tmp_path / "config.json"
    if isinstance(config_text, bytes):
        config_file.write_bytes(config_text)
    elif config_text is not None:
        config_file.write_text(config_text)
    command = [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_file)]
    if state_text is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(state_text)
        command += ["--state", str(state_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DLF_INSTANCES_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    return TapRun(done.returncode, done.stdout, done.stderr)


def assert_one_error_line(run: TapRun, *named: str) -> str:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line or line.startswith("Error:")]
    assert len(errors) == 1, run.stderr
    for name in named:
        assert name in errors[0], errors[0]
    assert not run.stdout.strip()
    return errors[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "not valid JSON"),
        ('{"project_id": "p",', "not valid JSON"),
        ("", "empty"),
        ("  \n", "empty"),
        ("[1, 2]", "not a list"),
        ('"a string"', "not a string"),
        ("42", "not a number"),
        ("null", "not null"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_config_file_that_is_not_a_json_object_is_one_line_naming_it(tmp_path, text, expected):
    run = run_raw(tmp_path, text)
    line = assert_one_error_line(run, "config.json", expected)
    assert line.startswith("Error: Config file")


def test_a_missing_config_file_is_one_line_naming_it(tmp_path):
    run = run_raw(tmp_path, None)
    assert_one_error_line(run, "config.json", "does not exist")


def good_config(sim: Any, **extra: Any) -> dict[str, Any]:
    jobs = sorted(job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME")[:2]
    return {
        **sim.tap_config(auth="aksk"),
        "job_names": jobs,
        "start_date": (datetime.now(UTC) - timedelta(days=5)).isoformat(),
        "lookback_window_hours": 0,
        "max_requests_per_second": 200,
        **extra,
    }


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("not json", "not valid JSON"),
        ("", "empty"),
        ("[]", "not a list"),
        ('"state"', "not a string"),
        ('{"bookmarks": []}', "`bookmarks` must be an object"),
        ('{"bookmarks": "x"}', "`bookmarks` must be an object"),
        ('{"bookmarks": {"instances": 5}}', "`bookmarks.instances` must be an object"),
        ('{"bookmarks": {"instances": {"partitions": {"context": {}}}}}', "must be a list"),
        ('{"bookmarks": {"instances": {"partitions": "x"}}}', "must be a list"),
    ],
)
def test_a_state_file_that_is_not_a_singer_state_is_one_line_naming_it(make_sim, tmp_path, state, expected):
    sim = make_sim(rate_limit_per_user=None)
    run = run_raw(tmp_path, json.dumps(good_config(sim)), state)
    line = assert_one_error_line(run, "state.json", expected)
    assert line.startswith("Error: State file")


def _partitions(run: TapRun) -> list[dict[str, Any]]:
    return run.last_state["bookmarks"]["instances"]["partitions"]


@pytest.mark.parametrize(
    ("spoil", "warned"),
    [
        (lambda p: {**p, "replication_key_value": str(p["replication_key_value"])}, "replication_key_value"),
        (lambda p: {**p, "replication_key_value": 1.5}, "replication_key_value"),
        (lambda p: {**p, "replication_key_value": True}, "replication_key_value"),
        (lambda p: {**p, "open_since": "yesterday"}, "open_since"),
        (lambda p: {**p, "context": {"job_name": 7}}, "context.job_name"),
        (lambda p: {k: v for k, v in p.items() if k != "context"}, "context.job_name"),
        (lambda p: {**p, "context": "daily"}, "context.job_name"),
        (lambda p: [p], "a list, not a bookmark"),
        (lambda p: None, "null, not a bookmark"),
    ],
)
def test_a_bookmark_the_rule_cannot_use_is_dropped_with_a_warning_and_its_job_read_from_start(
    make_sim, tap, tmp_path, spoil, warned
):
    sim = make_sim(rate_limit_per_user=None)
    config = good_config(sim)
    first = tap(config)
    assert first.returncode == 0, first.stderr[-2000:]
    spoilt_job, kept_job = config["job_names"]
    full = [r for r in first.instances if r["job_name"] == spoilt_job]
    assert full
    partitions = _partitions(first)
    state = json.loads(json.dumps(first.last_state))
    state["bookmarks"]["instances"]["partitions"] = [
        spoil(p) if p["context"]["job_name"] == spoilt_job else p for p in partitions
    ]
    second = tap(config, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Traceback" not in second.stderr
    warnings = [line for line in second.stderr.splitlines() if "WARNING" in line and "State file" in line]
    assert len(warnings) == 1, second.stderr
    assert warned in warnings[0]
    if "bookmark of job" in warnings[0]:
        assert repr(spoilt_job) in warnings[0]
    # The spoilt job is read again from start_date; the other one goes on from its bookmark.
    again = [r for r in second.instances if r["job_name"] == spoilt_job]
    assert {r["instance_id"] for r in again} == {r["instance_id"] for r in full}
    kept_before = [r for r in first.instances if r["job_name"] == kept_job]
    kept_again = [r for r in second.instances if r["job_name"] == kept_job]
    assert len(kept_again) < len(kept_before)  # only what is open or new since
    assert {p["context"]["job_name"] for p in _partitions(second)} == {spoilt_job, kept_job}


def test_duplicate_bookmarks_and_bad_progress_markers_are_tolerated(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = good_config(sim)
    first = tap(config)
    assert first.returncode == 0, first.stderr[-2000:]
    job = config["job_names"][0]
    partition = next(p for p in _partitions(first) if p["context"]["job_name"] == job)
    earlier = {**partition, "replication_key_value": partition["replication_key_value"] - 86_400_000}
    state = json.loads(json.dumps(first.last_state))
    state["bookmarks"]["instances"]["partitions"] += [earlier, {**partition, "progress_markers": []}]
    state["bookmarks"]["instances"]["progress_markers"] = "x"
    second = tap(config, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Traceback" not in second.stderr
    assert "repeats the bookmark" in second.stderr
    assert "progress_markers" in second.stderr
    # The earlier watermark wins: the last day of that job is read again.
    assert [r for r in second.instances if r["job_name"] == job]


def test_an_unknown_setting_is_warned_with_the_closest_known_one(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = good_config(sim, jobnames=["x"], pagesize=10, zzz_unrelated=1)
    # Settings the SDK adds for Meltano (stream maps, flattening, batch) are known, not warned.
    config |= {"stream_maps": {}, "stream_map_config": {}, "flattening_enabled": False, "faker_config": {}}
    config |= {"flattening_max_depth": 1, "batch_config": None}
    run = tap(config)
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "Unknown setting" in line]
    assert len(warnings) == 3, warnings
    assert any("'jobnames'" in w and "`job_names`" in w for w in warnings)
    assert any("'pagesize'" in w and "`page_size`" in w for w in warnings)
    assert any("'zzz_unrelated'" in w and "--about" in w for w in warnings)


@pytest.mark.parametrize(
    ("option", "content", "expected"),
    [
        ("--state", None, "does not exist"),
        ("--state", b"\xff\xfe{}", "not UTF-8"),
        ("--catalog", None, "does not exist"),
        ("--catalog", b"{not json", "not valid JSON"),
        ("--catalog", b"[]", "must be a Singer catalog"),
    ],
)
def test_a_missing_or_unreadable_state_or_catalog_is_one_line_naming_it(
    make_sim, tmp_path, option, content, expected
):
    sim = make_sim(rate_limit_per_user=None)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(good_config(sim)))
    other = tmp_path / "other.json"
    if content is not None:
        other.write_bytes(content)
    command = [sys.executable, "-m", "tap_dlf_instances", "--config", str(config_file), option, str(other)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    run = TapRun(done.returncode, done.stdout, done.stderr)
    assert_one_error_line(run, "other.json", expected)


@pytest.mark.parametrize(
    ("stream_maps", "expected"),
    [
        (5, "Setting `stream_maps` must map"),
        ({"__else__": 3}, "Setting `stream_maps` must map"),
        ({"instances": {"x": "1 +"}}, "Setting `stream_maps` is invalid: Failed to parse expression"),
    ],
)
def test_a_broken_stream_map_is_one_line_naming_the_setting(tmp_path, stream_maps, expected):
    config = {**OFFLINE_CONFIG, "stream_maps": stream_maps}
    run = run_raw(tmp_path, json.dumps(config))
    assert_one_error_line(run, expected)


def test_null_settings_are_not_set_even_the_sdk_s_own(tmp_path):
    # Meltano writes null for a setting without a value; stream_maps null crashed the SDK.
    config = {**OFFLINE_CONFIG, "stream_maps": None, "faker_config": None, "page_size": None, "end_date": "x"}
    run = run_raw(tmp_path, json.dumps(config))
    assert_one_error_line(run, "`end_date`")


OFFLINE_CONFIG = {
    "project_id": "0123456789abcdef0123456789abcdef",
    "api_url": "http://127.0.0.1:9",
    "access_key_id": "AKDEMO",
    "secret_access_key": "offline-secret-value",
    "job_names": ["daily"],
    "max_retries": 0,
}
