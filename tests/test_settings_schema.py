"""The config schema shows the defaults and ranges that config/settings.py applies, and showing them
changes nothing: the SDK's validator fills schema defaults into the config (see
``singer_sdk.typing.extend_validator_with_defaults``), so they must be the very values
config/settings.py would use anyway."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_dlf_instances.config.readers import NUMBER_SETTINGS, TEXT_DEFAULTS, WHOLE_NUMBER_SETTINGS
from tap_dlf_instances.config.schema import CONFIG_SCHEMA
from tap_dlf_instances.config.settings import parse_settings
from tap_dlf_instances.errors import ConfigError
from tap_dlf_instances.tap import TapDLFInstances

MINIMAL = {"project_id": "p", "api_url": "http://127.0.0.1:9", "auth_token": "t", "job_names": ["daily"]}
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PROPERTIES: dict[str, Any] = CONFIG_SCHEMA["properties"]
BOUNDED = {**WHOLE_NUMBER_SETTINGS, **NUMBER_SETTINGS}


def test_every_default_settings_py_applies_is_in_the_schema():
    with_defaults = {name: prop["default"] for name, prop in PROPERTIES.items() if "default" in prop}
    assert set(with_defaults) == set(BOUNDED) | set(TEXT_DEFAULTS)
    # The schema's defaults written out give exactly the settings of the minimal config.
    assert parse_settings({**MINIMAL, **with_defaults}, now=NOW) == parse_settings(MINIMAL, now=NOW)


@pytest.mark.parametrize("name", sorted(BOUNDED))
def test_the_schema_range_is_the_range_settings_py_enforces(name):
    bounds = BOUNDED[name]
    prop = PROPERTIES[name]
    assert (prop["minimum"], prop["maximum"], prop["default"]) == (bounds.low, bounds.high, bounds.default)
    expected_type = "integer" if name in WHOLE_NUMBER_SETTINGS else "number"
    assert expected_type in prop["type"]
    other = {"shard_count": 10_000} if name == "shard_index" else {}  # shard_index < shard_count
    for inside in (bounds.low, bounds.high):
        parse_settings({**MINIMAL, **other, name: inside}, now=NOW)
    step = 1 if name in WHOLE_NUMBER_SETTINGS else 0.001
    for outside in (bounds.low - step, bounds.high + step):
        with pytest.raises(ConfigError, match=f"`{name}`"):
            parse_settings({**MINIMAL, **other, name: outside}, now=NOW)


def test_the_sdk_fills_the_defaults_in_and_the_settings_stay_the_same():
    tap = TapDLFInstances(config=dict(MINIMAL))
    assert tap.config["page_size"] == 1000  # filled in by the SDK's validator
    assert tap.config["offset_mode"] == "auto"
    assert "start_date" not in tap.config  # its default depends on the day: config/settings.py's alone
    assert tap.settings == parse_settings(MINIMAL, now=tap.sync_started_at)


def test_about_markdown_shows_the_defaults(tap):
    run = tap(MINIMAL, args=("--about", "--format", "markdown"))
    assert run.returncode == 0, run.stderr
    rows = {
        line.split("|")[1].strip(): line.split("|")[3].strip()
        for line in run.stdout.splitlines()
        if line.startswith("| ")
    }
    assert rows["page_size"] == "1000"
    assert rows["window_days"] == "30"
    assert rows["lookback_window_hours"] == "24"
    assert rows["offset_mode"] == "auto"
    assert rows["max_retries"] == "8"


def test_out_of_range_settings_keep_settings_py_sentence_all_in_one_line(tap):
    """The schema now catches a number out of range before config/settings.py: the sentence is still
    config/settings.py's, naming the setting and its range, and every such setting is named at once."""
    run = tap({**MINIMAL, "page_size": 0, "window_days": 31})
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: Setting `page_size` must be a whole number from 1 to 1000, got 0. "
        "Setting `window_days` must be a number from 0.01 to 30, got 31."
    ], run.stderr
    assert "Traceback" not in run.stderr


def test_a_decimal_out_of_range_is_shown_as_written(tap):
    """The SDK reads the config file's decimals as ``Decimal``: the sentence shows 0.05 as written."""
    run = tap({**MINIMAL, "max_requests_per_second": 0.05})
    assert run.returncode == 1
    assert (
        "Error: Setting `max_requests_per_second` must be a number from 0.1 to 1000, got 0.05." in run.stderr
    )
    assert "Decimal" not in run.stderr


def test_about_markdown_says_what_an_unset_setting_means_and_the_schema_keeps_no_such_default(capsys):
    TapDLFInstances.print_about("markdown")
    rows = {
        line.split("|")[1].strip(): line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ")
    }
    assert "| 00:00 UTC, 30 days before the sync |" in rows["start_date"]
    assert "| the sync's start |" in rows["end_date"]
    assert "| no filter |" in rows["status"]
    for value in ("waiting", "running-exception", "manual-stop"):
        assert value in rows["status"]
    assert "5 PatchData" in rows["instance_type"]
    assert "| 1000 |" in rows["page_size"]  # fixed defaults as the SDK shows them
    # Only the text: a schema default would be written into every config by the SDK.
    assert "default" not in PROPERTIES["start_date"]
    assert "default" not in PROPERTIES["end_date"]


def test_the_documented_bounds_of_decimal_settings_are_accepted_as_a_config_file_writes_them() -> None:
    # The SDK reads a config file's 0.01 as Decimal("0.01"), which lies below the float 0.01 of
    # the schema's minimum: "must be a number from 0.01 to 30, got 0.01".
    config = {
        **MINIMAL,
        "window_days": Decimal("0.01"),
        "max_requests_per_second": Decimal("0.1"),
        "lookback_window_hours": Decimal("0.5"),
        "instance_nodes_days": Decimal("0.01"),
    }
    settings = TapDLFInstances(config=config, parse_env_config=False).settings
    assert settings.window_days == 0.01
    assert settings.max_requests_per_second == 0.1
    with pytest.raises(
        ConfigValidationError, match=r"`window_days` must be a number from 0.01 to 30, got 0.009"
    ):
        TapDLFInstances(config={**MINIMAL, "window_days": Decimal("0.009")}, parse_env_config=False)
