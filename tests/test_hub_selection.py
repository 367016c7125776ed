"""A Meltano project that adds the plugin as the Hub defines it leaves ``instance_nodes`` off.

Meltano selects ``*.*`` unless the plugin definition says otherwise, which turned the costly
``instance_nodes`` stream (one request per instance) on in every new project. Real Meltano, on a
project made from hub/extractors/tap-dlf-instances.yml, lists what it would select."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: Hub fields that are about the listing, not the plugin a project runs.
LISTING_ONLY = {"variant", "pip_url", "maintenance_status", "quality", "domain_url", "keywords", "label"}


def assert_selects_every_stream_but_instance_nodes(project: Path, env: dict[str, str]) -> None:
    """What real Meltano would select in ``project``: every stream of the tap but instance_nodes."""
    listed = subprocess.run(
        [str(BIN / "meltano"), "select", "tap-dlf-instances", "--list"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    chosen = {
        line.split("]")[1].strip().split(".")[0]
        for line in listed.stdout.splitlines()
        if line.strip().startswith(("[selected", "[automatic"))
    }
    assert chosen == {"jobs", "instances", "patch_data", "alarms"}, listed.stdout[-3000:]


@pytest.mark.slow  # runs Meltano, which only the pipeline environment has (not the 3.12/3.13 venvs)
@pytest.mark.timeout(180)
def test_a_project_adding_the_hub_plugin_selects_every_stream_but_instance_nodes(tmp_path: Path) -> None:
    hub = yaml.safe_load((ROOT / "hub" / "extractors" / "tap-dlf-instances.yml").read_text())
    plugin = {key: value for key, value in hub.items() if key not in LISTING_ONLY}
    plugin["executable"] = str(BIN / "tap-dlf-instances")  # the installed tap, not the index's
    plugin["config"] = {"project_id": "p", "api_url": "http://127.0.0.1:9", "auth_token": "t"}
    project = {"project_id": "hub-selection", "plugins": {"extractors": [plugin]}}
    (tmp_path / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))

    assert_selects_every_stream_but_instance_nodes(tmp_path, dict(os.environ))


def recipe_commands() -> list[str]:
    """The bash lines of docs/meltano.md's recipe for adding the plugin to one's own project."""
    text = (ROOT / "docs" / "meltano.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- recipe:start -->\n```bash\n(.*?)```\n<!-- recipe:end -->", text, re.S)
    assert block, "docs/meltano.md has no recipe block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_docs_recipe_adds_the_plugin_from_a_checkout_without_instance_nodes(
    tmp_path: Path, make_sim
) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("TAP_DLF_INSTANCES_")},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    initialised = subprocess.run(
        [str(BIN / "meltano"), "init", "--no-usage-stats", "project"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert initialised.returncode == 0, initialised.stderr[-3000:]
    project = tmp_path / "project"
    lines = recipe_commands()
    assert lines[0].startswith("CHECKOUT=")
    script = "\n".join(["set -euo pipefail", f"CHECKOUT={ROOT}", *lines[1:]])
    ran = subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]

    assert_selects_every_stream_but_instance_nodes(project, env)
    installed = (
        project / ".meltano" / "extractors" / "tap-dlf-instances" / "venv" / "bin" / "tap-dlf-instances"
    )
    about = subprocess.run(
        [str(installed), "--about", "--format=json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert about.returncode == 0, about.stderr[-2000:]
    assert '"name": "tap-dlf-instances"' in about.stdout

    # The first sync, on the demo data, as Meltano runs it: instance_nodes stays off.
    sim = make_sim()
    settings = {
        f"TAP_DLF_INSTANCES_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in sim.tap_config(auth="aksk").items()
    }
    synced = subprocess.run(
        [str(BIN / "meltano"), "invoke", "tap-dlf-instances"],
        cwd=project,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr[-3000:]
    streams = [
        json.loads(line).get("stream") for line in synced.stdout.splitlines() if '"type":"RECORD"' in line
    ]
    assert streams.count("instances") > 1000
    assert "instance_nodes" not in streams
