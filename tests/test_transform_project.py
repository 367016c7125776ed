"""The dbt project in transform/ and its Meltano transformers, checked without running dbt (the
slow pipeline tests run it): the DuckDB engine dbt uses is the one target-duckdb writes with,
every transformer package is pinned, and every model's key is tested as the contract says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TRANSFORM = ROOT / "transform"

# Model -> primary key (the shared contract of issue 9 for the marts).
KEYS = {
    "stg_instances": ["project_id", "workspace", "job_name", "instance_id"],
    "stg_jobs": ["project_id", "workspace", "job_name"],
    "stg_patch_data": ["project_id", "workspace", "patch_name"],
    "stg_instance_nodes": ["project_id", "workspace", "job_name", "instance_id", "node_name"],
    "stg_alarms": ["project_id", "workspace", "job_name", "plan_time", "alarm_time", "remind_type"],
    "runs": ["project_id", "workspace", "job_name", "instance_id"],
    "job_daily": ["project_id", "workspace", "job_name", "day"],
    "open_instances": ["project_id", "workspace", "job_name", "instance_id"],
    "duration_trend": ["project_id", "workspace", "job_name"],
    "failing_nodes": ["project_id", "workspace", "job_name", "node_name"],
}


def plugins(kind: str) -> dict[str, dict[str, Any]]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return {plugin["name"]: plugin for plugin in project["plugins"][kind]}


def pins(pip_url: str) -> dict[str, str]:
    found = dict(re.findall(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", pip_url))
    assert len(found) == len(pip_url.split()), f"not every package of {pip_url!r} is pinned with =="
    return found


def test_dbt_duckdb_reads_with_the_engine_target_duckdb_writes_with() -> None:
    loader = pins(plugins("loaders")["target-duckdb"]["pip_url"])["duckdb"]
    transformer = pins(plugins("transformers")["dbt-duckdb"]["pip_url"])["duckdb"]
    pipeline_env = re.search(r"duckdb==(\S+?)[\s)]", (ROOT / "scripts" / "pipeline_env.sh").read_text())
    assert pipeline_env
    assert loader == transformer == pipeline_env.group(1)


@pytest.mark.parametrize(("name", "adapter"), [("dbt-duckdb", "duckdb"), ("dbt-postgres", "postgres")])
def test_transformers_are_pinned_and_point_at_the_project(name: str, adapter: str) -> None:
    plugin = plugins("transformers")[name]
    packages = pins(plugin["pip_url"])
    assert {"dbt-core", f"dbt-{adapter}", "meltano-dbt-ext"} <= packages.keys()
    assert "build" in plugin["commands"]
    settings = {setting["name"]: setting for setting in plugin["settings"]}
    assert settings["type"]["value"] == adapter
    assert settings["project_dir"]["value"] == "${MELTANO_PROJECT_ROOT}/transform"
    profiles = settings["profiles_dir"]["value"].replace("${MELTANO_PROJECT_ROOT}", str(ROOT))
    assert (
        yaml.safe_load((Path(profiles) / "profiles.yml").read_text())["dlf"]["outputs"]["default"]["type"]
        == adapter
    )


def model_tests() -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in (TRANSFORM / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            models[model["name"]] = model
    return models


@pytest.mark.parametrize("model", sorted(KEYS))
def test_every_key_is_unique_and_not_null(model: str) -> None:
    assert list((TRANSFORM / "models").rglob(f"{model}.sql")), f"no model {model}"
    spec = model_tests()[model]
    combos = [
        test["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
        for test in spec.get("data_tests", [])
        if isinstance(test, dict) and "unique_combination_of_columns" in test
    ]
    assert combos == [KEYS[model]]
    not_null = {
        column["name"] for column in spec.get("columns", []) if "not_null" in column.get("data_tests", [])
    }
    assert set(KEYS[model]) <= not_null


def test_dbt_output_stays_out_of_git() -> None:
    ignored = (TRANSFORM / ".gitignore").read_text().split()
    assert {"target/", "logs/", "dbt_packages/"} <= set(ignored)
    project = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())
    assert {"target", "logs", "dbt_packages"} <= set(project["clean-targets"])
