"""The bookmark never passes the moment the sync started.

A future ``end_date`` used to move the bookmark to it, and every later run then read nothing.
The rule itself is tested in test_bookmark_pull_back.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dlf_simulator import SimulatedDLF

from tap_dlf_instances.windows import DAY_MS, HOUR_MS, to_ms

JOB = "hourly_orders_etl"


def _config(sim: SimulatedDLF, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        **sim.tap_config(auth="aksk"),
        "start_date": (now - timedelta(days=5))
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .isoformat(),
        "job_names": [JOB],
        "max_requests_per_second": 500,
        **extra,
    }


def test_a_future_end_date_reads_up_to_it_but_bookmarks_the_sync_start(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    end_date = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    before = sim.now_ms()

    run = tap(_config(sim, end_date=end_date.isoformat()))

    after = sim.now_ms()
    assert run.returncode == 0, run.stderr[-3000:]
    watermarks = [
        p["replication_key_value"]
        for state in run.states
        for p in state.get("bookmarks", {}).get("instances", {}).get("partitions", [])
        if p.get("replication_key_value") is not None
    ]
    assert watermarks
    assert max(watermarks) <= after
    assert run.bookmarks()[JOB]["replication_key_value"] >= before
    # What was read reaches up to the sync start: nothing planned before it is missing.
    start_ms = to_ms(datetime.fromisoformat(_config(sim)["start_date"]))
    expected = {i.instance_id for i in sim.dataset.instances(JOB) if start_ms <= i.plan_time < before}
    assert expected <= {r["instance_id"] for r in run.instances}


def test_a_bookmark_left_in_the_future_is_pulled_back_and_the_job_read_again(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    config = _config(sim)
    future = sim.now_ms() + 30 * DAY_MS
    state = {
        "bookmarks": {
            "instances": {
                "partitions": [
                    {
                        "context": {"job_name": JOB},
                        "replication_key": "plan_time",
                        "replication_key_value": future,
                    }
                ]
            }
        }
    }

    run = tap(config, state=state)

    assert run.returncode == 0, run.stderr[-3000:]
    warning = [line for line in run.stderr.splitlines() if "is past the moment this sync started" in line]
    assert len(warning) == 1, run.stderr[-3000:]
    assert f"job '{JOB}'" in warning[0]
    assert "read again from `start_date`" in warning[0]
    start_ms = to_ms(datetime.fromisoformat(config["start_date"]))
    now = sim.now_ms()
    expected = {i.instance_id for i in sim.dataset.instances(JOB) if start_ms <= i.plan_time < now - HOUR_MS}
    assert expected <= {r["instance_id"] for r in run.instances}
    assert run.bookmarks()[JOB]["replication_key_value"] <= now


def test_a_bookmark_a_few_minutes_ahead_is_pulled_back_to_the_sync_start(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    ahead = sim.now_ms() + 5 * 60_000
    state = {
        "bookmarks": {
            "instances": {
                "partitions": [
                    {
                        "context": {"job_name": JOB},
                        "replication_key": "plan_time",
                        "replication_key_value": ahead,
                    }
                ]
            }
        }
    }

    run = tap(_config(sim, lookback_window_hours=2), state=state)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "pulled back to it (a clock difference)" in run.stderr
    # Read from the sync start less the lookback: the last two hours only.
    assert run.instances
    assert min(r["plan_time"] for r in run.instances) >= ahead - 5 * 60_000 - 2 * HOUR_MS - 60_000
