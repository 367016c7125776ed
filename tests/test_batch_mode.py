"""Batch mode is not offered: the SDK's batch files would come after the STATE messages that
cover their records (the instances stream writes a STATE per window)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dlf_simulator import SimulatedDLF


def _config(sim: SimulatedDLF, **extra: Any) -> dict[str, Any]:
    return {
        **sim.tap_config(auth="aksk"),
        "start_date": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "job_names": ["hourly_orders_etl"],
        "max_requests_per_second": 500,
        **extra,
    }


def test_about_does_not_declare_batch(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    run = tap(_config(sim), args=("--about", "--format", "json"))
    assert run.returncode == 0, run.stderr[-3000:]
    about = json.loads(run.stdout)
    assert "batch" not in about["capabilities"]
    assert "state" in about["capabilities"]
    assert "batch_config" not in about["settings"]["properties"]


def test_a_configured_batch_config_is_a_clear_config_error(make_sim, tap, tmp_path):
    sim = make_sim(rate_limit_per_user=None)
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
    }

    run = tap(_config(sim, batch_config=batch_config))

    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "batch_config" in line]
    assert errors, run.stderr[-3000:]
    assert "Setting `batch_config` is not supported" in errors[-1]
    assert run.stdout.strip() == ""
    assert sim.stats()["requests_per_route"] == {} or sum(sim.stats()["requests_per_route"].values()) == 0
    assert list(tmp_path.glob("batch-*")) == []
