"""The Meltano Hub definition (hub/extractors/tap-dlf-instances.yml), meltano.yml's extractor and
the tap's own ``--about`` describe the same plugin: the same settings (kind, secrecy, options,
default, description), the same capabilities and the same ways to authenticate."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_tap

from tap_dlf_instances.config.settings import parse_settings
from tap_dlf_instances.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
HUB = yaml.safe_load((ROOT / "hub" / "extractors" / "tap-dlf-instances.yml").read_text())
MELTANO = next(
    plugin
    for plugin in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    if plugin["name"] == "tap-dlf-instances"
)

# From the Hub's schemas (schemas/plugin_definitions/extractors.schema.json and
# schemas/common/*.schema.json): what a definition must have, and the words it may use.
HUB_REQUIRED = {"name", "namespace", "variant", "label", "quality"}
HUB_SETTING_KEYS = {
    "name", "aliases", "label", "value", "placeholder", "kind", "description", "tooltip",
    "documentation", "env", "value_processor", "value_post_processor", "oauth", "options", "docs",
    "hidden", "sensitive",
}  # fmt: skip
HUB_KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options", "object",
    "array", "boolean", "string", "decimal",
}  # fmt: skip
HUB_CAPABILITIES = {
    "properties", "catalog", "discover", "state", "about", "stream-maps", "schema-flattening",
    "activate-version", "batch", "test", "log-based", "structured-logging",
}  # fmt: skip
#: JSON Schema type of a setting -> the Meltano kind that edits it.
KIND_OF_TYPE = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
#: A value for each setting of an auth group, enough for parse_settings.
DUMMY = {
    "region": "cn-north-4",
    "api_url": "https://dayu.example.com",
    "iam_url": "https://iam.example.com",
}


@pytest.fixture(scope="module")
def about(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = run_tap({}, tmp_path_factory.mktemp("about"), args=("--about", "--format", "json"))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_hub_definition_has_what_the_hub_requires():
    assert set(HUB) >= HUB_REQUIRED
    assert HUB["name"] == MELTANO["name"] == "tap-dlf-instances"
    assert HUB["namespace"] == MELTANO["namespace"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert HUB["executable"] == MELTANO["executable"] in scripts
    assert "meltano_sdk" in HUB["keywords"]
    for setting in HUB["settings"]:
        assert set(setting) <= HUB_SETTING_KEYS, setting["name"]
        assert setting["kind"] in HUB_KINDS, setting["name"]
        assert setting.get("label"), setting["name"]
        assert setting.get("description"), setting["name"]


def test_capabilities_are_the_taps(about):
    assert set(HUB["capabilities"]) <= HUB_CAPABILITIES
    assert sorted(HUB["capabilities"]) == sorted(about["capabilities"]) == sorted(MELTANO["capabilities"])
    assert "batch" not in HUB["capabilities"]  # on purpose: see TapDLFInstances.capabilities


def test_meltano_yml_declares_exactly_the_hub_settings():
    assert MELTANO["settings"] == HUB["settings"]
    assert MELTANO["settings_group_validation"] == HUB["settings_group_validation"]


def test_settings_are_the_config_schemas(about):
    properties = about["settings"]["properties"]
    hub = {setting["name"]: setting for setting in HUB["settings"]}
    assert list(hub) == list(properties)  # the same settings, in --about's order
    for name, prop in properties.items():
        setting = hub[name]
        types = [kind for kind in prop["type"] if kind != "null"]
        if prop.get("secret"):
            expected_kind = "password"
        elif "enum" in prop:
            expected_kind = "options"
        elif prop.get("format") == "date-time":
            expected_kind = "date_iso8601"
        else:
            expected_kind = KIND_OF_TYPE[types[0]]
        assert setting["kind"] == expected_kind, name
        assert setting.get("sensitive", False) == bool(prop.get("secret")), name
        assert [option["value"] for option in setting.get("options", [])] == prop.get("enum", []), name
        assert setting.get("value") == prop.get("default"), name
        assert ("value" in setting) == ("default" in prop), name
        assert setting["description"] == prop["description"], name


@pytest.mark.parametrize("group", HUB["settings_group_validation"], ids=lambda group: "+".join(group[1:]))
def test_each_group_is_a_minimal_working_config(group):
    """Each group holds what parse_settings needs for one way to authenticate, and nothing spare."""

    def config(names: list[str]) -> dict[str, str]:
        return {name: DUMMY.get(name, "x") for name in names}

    parse_settings(config(group))
    for left_out in group:
        with pytest.raises(ConfigError):
            parse_settings(config([name for name in group if name != left_out]))


def test_the_groups_cover_the_three_ways_to_authenticate():
    secrets = {
        frozenset(set(group) & {"secret_access_key", "auth_token", "iam_password"})
        for group in HUB["settings_group_validation"]
    }
    assert secrets == {
        frozenset({"secret_access_key"}),
        frozenset({"auth_token"}),
        frozenset({"iam_password"}),
    }
    assert all("project_id" in group for group in HUB["settings_group_validation"])
    assert all({"region", "api_url"} & set(group) for group in HUB["settings_group_validation"])


def test_meltano_yml_selects_every_stream_of_the_catalog():
    """The pipeline loads every stream the tap offers, those not selected by default included
    (one ``<stream>.*`` line each), and nothing the tap does not have."""
    catalog = json.loads((ROOT / "catalog" / "catalog.json").read_text())
    streams = {stream["tap_stream_id"] for stream in catalog["streams"]}
    assert "alarms" in streams
    assert all(pattern.endswith(".*") for pattern in MELTANO["select"])
    assert {pattern.removesuffix(".*") for pattern in MELTANO["select"]} == streams
