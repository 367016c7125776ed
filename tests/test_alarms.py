"""The ``alarms`` stream end to end: the tap as a subprocess against the simulated alarm-info route.

Windows of ``alarm_time`` with both bounds always sent, offset/limit paging (the route reads
``offset`` its own way), the bookmark, faults and hostile bodies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import TapRun
from dlf_simulator import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    DEMO_TOKEN,
    SimulatedDLF,
    demo_dataset,
)
from dlf_simulator.alarms import alarm_time_of, workspace_alarms

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
#: The width of one alarm window: 30 days less a millisecond (windows.window_width_ms).
WINDOW_MS = 30 * DAY_MS - 1
KEY = ("job_name", "plan_time", "alarm_time", "remind_type")
JOB = "hourly_orders_etl"


def now_ms() -> int:
    return int(time.time() * 1000)


def midnight_days_ago(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


def config_for(sim: SimulatedDLF, days: int = 70, **extra: Any) -> dict[str, Any]:
    return sim.tap_config() | {
        "start_date": midnight_days_ago(days).isoformat(),
        "max_requests_per_second": 200,
        **extra,
    }


def keys(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in KEY) for row in rows]


def expected(sim: SimulatedDLF, start_ms: int, end_ms: int) -> set[tuple[Any, ...]]:
    rows = workspace_alarms(sim.dataset, sim.dataset.default_workspace, now_ms())
    return {tuple(row[k] for k in KEY) for row in rows if start_ms <= row["alarm_time"] < end_ms}


def alarms_state(run: TapRun) -> dict[str, Any]:
    return dict(run.last_state.get("bookmarks", {}).get("alarms", {}))


def add_alarm_at(sim: SimulatedDLF, alarm_time: int, job: str = JOB) -> tuple[Any, ...]:
    """A failed instance whose alarm goes out exactly at ``alarm_time``; its key."""
    instance_id = sim.dataset.new_instance_id()
    end = alarm_time - (alarm_time_of(instance_id, 0))
    plan = end - 10 * 60_000 - 7  # off the hour: no clash with the scheduled instances
    sim.add_instance(job, plan, instance_id=instance_id, status="fail", start_time=plan, end_time=end)
    return (job, plan, alarm_time, 1)


@pytest.fixture
def fast_sim(make_sim: Callable[..., SimulatedDLF]) -> SimulatedDLF:
    return make_sim(rate_limit_per_user=None)


@pytest.mark.timeout(120)
def test_a_backfill_reads_every_alarm_in_month_windows_with_both_bounds(fast_sim, tap):
    started = now_ms()
    run = tap(config_for(fast_sim, days=70))
    ended = now_ms()
    assert run.returncode == 0, run.stderr[-3000:]
    got = keys(run.records["alarms"])
    assert len(got) == len(set(got))
    start_ms = int(midnight_days_ago(70).timestamp() * 1000)
    want = expected(fast_sim, start_ms, started)
    # Without both bounds the API answers the last hour only: a handful, not this.
    assert len(want) > 100
    assert want <= set(got) <= expected(fast_sim, start_ms, ended)
    # 70 days: three windows of at most 30 days, one page each.
    assert fast_sim.stats()["requests_per_route"]["alarm-info"] == 3
    state = alarms_state(run)
    assert state["replication_key"] == "alarm_time"
    assert started <= state["replication_key_value"] <= ended
    record = run.records["alarms"][0]
    assert record["project_id"] == fast_sim.dataset.project_id
    assert record["workspace"] == "default"
    failed = {(i.job_name, i.plan_time) for i in fast_sim.dataset.instances(JOB) if i.status == "fail"}
    assert {
        (r["job_name"], r["plan_time"])
        for r in run.records["alarms"]
        if r["job_name"] == JOB and r["remind_type"] == 1
    } <= failed


@pytest.mark.timeout(120)
def test_alarms_on_window_edges_and_start_date_are_read_exactly_once(fast_sim, tap):
    start = int(midnight_days_ago(40).timestamp() * 1000)
    edge = start + WINDOW_MS  # where the first window ends and the second begins
    inside = {add_alarm_at(fast_sim, t) for t in (start, start + 1, edge - 1, edge)}
    outside = add_alarm_at(fast_sim, start - 1)
    run = tap(config_for(fast_sim, days=40))
    assert run.returncode == 0, run.stderr[-3000:]
    got = keys(run.records["alarms"])
    assert inside <= set(got)
    assert outside not in got
    assert len(got) == len(set(got))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("alarm_reading", ["row", "page"])
def test_paging_reads_every_alarm_whichever_way_the_route_reads_offset(make_sim, tap, alarm_reading):
    """The instances route reads ``offset`` as a page index here; the alarm route as
    ``alarm_reading``. In ``auto`` each route's reading is learnt on its own."""
    sim = make_sim(rate_limit_per_user=None, offset_mode="page", alarm_offset_mode=alarm_reading)
    started = now_ms()
    run = tap(config_for(sim, days=60, page_size=7))
    assert run.returncode == 0, run.stderr[-3000:]
    got = keys(run.records["alarms"])
    start_ms = int(midnight_days_ago(60).timestamp() * 1000)
    assert set(got) >= expected(sim, start_ms, started)
    assert len(got) == len(set(got))
    assert "announced" not in run.stderr  # no total-vs-pages warning on either route
    planned = {(i.job_name, i.instance_id) for i in sim.dataset.instances(JOB) if i.plan_time >= start_ms}
    assert {(r["job_name"], r["instance_id"]) for r in run.instances} >= {
        key for key in planned if sim.dataset.get_instance(key[1]).plan_time < started
    }


@pytest.mark.timeout(180)
def test_the_next_sync_reads_from_the_bookmark_less_the_lookback_and_nothing_older(fast_sim, tap):
    first = tap(config_for(fast_sim, days=70))
    assert first.returncode == 0, first.stderr[-3000:]
    state = first.last_state
    bookmark = alarms_state(first)["replication_key_value"]
    late = add_alarm_at(fast_sim, bookmark - 3 * HOUR_MS)  # sent late, inside the 24 h lookback
    too_old = add_alarm_at(fast_sim, bookmark - 30 * HOUR_MS)  # beyond it
    fast_sim.reset_stats()
    second_started = now_ms()
    second = tap(config_for(fast_sim, days=70), state=state)
    assert second.returncode == 0, second.stderr[-3000:]
    got = keys(second.records.get("alarms", []))
    assert late in got
    assert too_old not in got
    assert all(row["alarm_time"] >= bookmark - 24 * HOUR_MS for row in second.records.get("alarms", []))
    assert fast_sim.stats()["requests_per_route"]["alarm-info"] == 1
    assert alarms_state(second)["replication_key_value"] >= second_started


@pytest.mark.timeout(180)
def test_a_bookmark_in_the_future_is_not_trusted_and_never_written(fast_sim, tap):
    state = {
        "bookmarks": {
            "alarms": {"replication_key": "alarm_time", "replication_key_value": now_ms() + 10 * DAY_MS}
        }
    }
    run = tap(config_for(fast_sim, days=40), state=state)
    ended = now_ms()
    assert run.returncode == 0, run.stderr[-3000:]
    assert "alarms bookmark" in run.stderr
    assert "`start_date`" in run.stderr
    start_ms = int(midnight_days_ago(40).timestamp() * 1000)
    assert len(run.records["alarms"]) >= len(expected(fast_sim, start_ms, ended - 60_000))
    assert alarms_state(run)["replication_key_value"] <= ended


@pytest.mark.timeout(180)
def test_a_bookmark_that_is_no_alarm_time_is_warned_about_and_read_from_start_date(fast_sim, tap):
    state = {
        "bookmarks": {"alarms": {"replication_key": "alarm_time", "replication_key_value": "2026-11-01"}}
    }
    run = tap(config_for(fast_sim, days=40), state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'The alarms bookmark "2026-11-01" is not an alarm time' in run.stderr
    start_ms = int(midnight_days_ago(40).timestamp() * 1000)
    assert set(keys(run.records["alarms"])) >= expected(fast_sim, start_ms, start_ms + 20 * DAY_MS)
    assert isinstance(alarms_state(run)["replication_key_value"], int)


@pytest.mark.timeout(180)
def test_an_end_date_in_the_future_never_moves_the_bookmark_past_the_sync_start(fast_sim, tap):
    future = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    run = tap(config_for(fast_sim, days=10, end_date=future))
    ended = now_ms()
    assert run.returncode == 0, run.stderr[-3000:]
    assert alarms_state(run)["replication_key_value"] <= ended


# --- faults and hostile bodies ----------------------------------------------------------------


RETRIED = [
    {"kind": "status", "status": 503, "times": 2},
    {"kind": "throttle", "retry_after": 0, "times": 2},
    {"kind": "html", "status": 200},
    {"kind": "truncated"},
    {"kind": "drop"},
    {"kind": "error_body"},
    {"kind": "body", "body": {"total": 3}},  # no rows list
    {"kind": "body", "body": {"alarm_info": "none", "total": 0}},  # rows not a list
    {"kind": "body", "body": {"alarm_info": [1, 2], "total": 2}},  # rows not objects
    {"kind": "body", "body": {"alarm_info": [], "total": -1}},  # total no count
    {"kind": "body", "body": []},  # not an object
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", RETRIED, ids=lambda f: f["kind"] + str(f.get("body", ""))[:30])
def test_faults_and_lying_200s_on_the_alarm_route_are_retried_and_lose_nothing(fast_sim, tap, fault):
    fast_sim.set_faults([{**fault, "path_contains": "alarm-info"}])
    started = now_ms()
    run = tap(config_for(fast_sim, days=40))
    assert run.returncode == 0, run.stderr[-3000:]
    start_ms = int(midnight_days_ago(40).timestamp() * 1000)
    assert set(keys(run.records["alarms"])) >= expected(fast_sim, start_ms, started)
    assert fast_sim.stats()["faults"][0]["applied"] >= 1


@pytest.mark.timeout(120)
def test_a_refusal_in_the_second_window_stops_the_run_after_the_first_windows_state(fast_sim, tap):
    fast_sim.set_faults(
        [
            {
                "kind": "status",
                "status": 400,
                "path_contains": "alarm-info",
                "every": 2,
                "error_code": "DLF.0802",
            }
        ]
    )
    run = tap(config_for(fast_sim, days=70))
    assert run.returncode == 1
    last_line = run.stderr.strip().splitlines()[-1]
    assert "DLF.0802" in last_line
    assert "alarm-info" in last_line
    assert "Traceback" not in run.stderr
    start_ms = int(midnight_days_ago(70).timestamp() * 1000)
    assert alarms_state(run)["replication_key_value"] == start_ms + WINDOW_MS
    first_window = expected(fast_sim, start_ms, start_ms + WINDOW_MS)
    assert first_window
    assert first_window <= set(keys(run.records["alarms"]))


@pytest.mark.timeout(120)
def test_a_page_short_of_total_holds_the_bookmark_before_its_window(fast_sim, tap):
    """A server losing rows between pages: warned, the rows read are emitted, and the bookmark
    stays before the window so the next sync reads it again."""
    fast_sim.set_faults([{"kind": "short", "path_contains": "alarm-info", "every": 2}])
    run = tap(config_for(fast_sim, days=70))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Alarms, window [" in run.stderr
    assert "announced" in run.stderr
    start_ms = int(midnight_days_ago(70).timestamp() * 1000)
    assert alarms_state(run)["replication_key_value"] == start_ms + WINDOW_MS


@pytest.mark.timeout(120)
def test_a_server_repeating_its_first_page_is_stopped_with_one_line(fast_sim, tap):
    fast_sim.set_faults([{"kind": "repeat", "path_contains": "alarm-info", "times": None}])
    run = tap(config_for(fast_sim, days=20, page_size=5))
    assert run.returncode == 1
    last_line = run.stderr.strip().splitlines()[-1]
    assert "Alarms, window [" in last_line
    assert "`offset_mode`" in last_line
    assert "Traceback" not in run.stderr


@pytest.mark.timeout(120)
def test_hostile_rows_are_typed_or_dropped_never_loaded_wrong(fast_sim, tap):
    rows = [
        {
            "alarm_time": "1790000000000",
            "job_name": "a",
            "plan_time": 1789999000000,
            "remind_type": 1,
            "send_status": "x",
            "surprise": 1,
        },
        {
            "alarm_time": 1790000001000,
            "job_name": "b",
            "plan_time": 1789999000000,
            "remind_type": 13,
            "job_id": 5,
        },
        {"job_name": "c", "plan_time": 1789999000000, "remind_type": 1},  # no alarm_time: no key
    ]
    fast_sim.set_faults(
        [
            {
                "kind": "body",
                "body": {"alarm_info": rows, "total": 3},
                "path_contains": "alarm-info",
                "times": None,
            }
        ]
    )
    run = tap(config_for(fast_sim, days=20))
    assert run.returncode == 0, run.stderr[-3000:]
    records = {row["job_name"]: row for row in run.records["alarms"]}
    assert set(records) == {"a", "b"}  # each once, though every window answered them
    assert records["a"]["alarm_time"] == 1790000000000
    assert records["a"]["send_status"] is None
    assert "surprise" not in records["a"]
    assert records["b"]["job_id"] == 5
    assert records["b"]["schedule_type"] is None
    for name in ("`send_status`", "`surprise`", "without all of"):
        assert name in run.stderr


@pytest.mark.timeout(120)
def test_alarms_can_be_deselected_and_then_cost_no_request(fast_sim, tap, tmp_path):
    catalog = json.loads(tap({}, args=("--discover",)).stdout)
    for stream in catalog["streams"]:
        if stream["tap_stream_id"] == "alarms":
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = False
    path = tmp_path / "catalog-alarms-off.json"
    path.write_text(json.dumps(catalog))
    run = tap(config_for(fast_sim, days=10), args=("--catalog", str(path)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "alarms" not in run.records
    assert "alarm-info" not in fast_sim.stats()["requests_per_route"]


def test_the_simulated_alarms_follow_the_instances_after_time_passes(fast_sim):
    before = workspace_alarms(fast_sim.dataset, fast_sim.dataset.default_workspace, now_ms())
    fast_sim.advance()
    after = workspace_alarms(fast_sim.dataset, fast_sim.dataset.default_workspace, now_ms() + 3 * HOUR_MS)
    failed = {
        (name, inst.plan_time)
        for name in fast_sim.dataset.job_names()
        for inst in fast_sim.dataset.instances(name)
        if inst.status == "fail" and inst.end_time is not None
    }
    assert {(row["job_name"], row["plan_time"]) for row in after if row["remind_type"] == 1} == failed
    assert len(after) >= len(before)
    for row in after:
        instance = next(
            i
            for i in fast_sim.dataset.instances(row["job_name"])
            if i.plan_time == row["plan_time"] and i.status in ("fail", "manual-stop")
        )
        assert row["alarm_time"] > (instance.end_time or 0)
        assert row["schedule_type"] == instance.instance_type


def test_demo_dataset_has_alarms_of_several_jobs():
    dataset = demo_dataset()
    rows = workspace_alarms(dataset, dataset.default_workspace, now_ms())
    assert len({row["job_name"] for row in rows}) >= 3
    assert {row["remind_type"] for row in rows} == {1, 13}


@pytest.mark.timeout(180)
def test_configured_jobs_and_shards_keep_to_their_own_alarms(fast_sim, tap):
    """The API lists the workspace's alarms: a run keeps those of its `job_names` (real-time
    sub-jobs included) and of its shard, so two shards load each alarm exactly once."""
    sub_job = "rt_clickstream_kafka_ingest"
    config = config_for(
        fast_sim, days=70, job_names=[JOB], realtime_job_nodes={"rt_clickstream": ["kafka_ingest"]}
    )
    started = now_ms()
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    start_ms = int(midnight_days_ago(70).timestamp() * 1000)
    want = {key for key in expected(fast_sim, start_ms, started) if key[0] in (JOB, sub_job)}
    got = keys(run.records["alarms"])
    assert {key[0] for key in got} == {JOB, sub_job}
    assert want <= set(got)
    assert "left out" in run.stderr

    shards = [tap(config_for(fast_sim, days=70, shard_index=i, shard_count=2)) for i in (0, 1)]
    assert all(shard.returncode == 0 for shard in shards), shards[0].stderr[-2000:]
    split = [keys(shard.records.get("alarms", [])) for shard in shards]
    assert not set(split[0]) & set(split[1])
    assert set(split[0]) | set(split[1]) >= expected(fast_sim, start_ms, started)


# --- the simulated route itself -----------------------------------------------------------------


def get_alarms(sim: SimulatedDLF, **params: Any) -> Any:
    return requests.get(
        f"{sim.url}/v2/{DEMO_PROJECT_ID}/factory/alarm-info",
        params=params,
        headers={"X-Auth-Token": DEMO_TOKEN, "workspace": DEFAULT_WORKSPACE_ID},
        timeout=10,
    )


@pytest.mark.parametrize("alarm_reading", ["row", "page"])
def test_the_route_checks_its_parameters_and_pages_as_configured(make_sim, alarm_reading):
    sim = make_sim(rate_limit_per_user=None, alarm_offset_mode=alarm_reading)
    end = now_ms()
    start = end - 30 * DAY_MS
    too_wide = get_alarms(sim, start_time=start - 1, end_time=end)
    assert too_wide.status_code == 400
    assert "one month" in too_wide.json()["error_msg"]
    assert get_alarms(sim, start_time=start, end_time=end, limit=0).status_code == 400
    assert get_alarms(sim, start_time=start, end_time=end, limit=1001).status_code == 400
    assert get_alarms(sim, start_time="yesterday", end_time=end).status_code == 400
    whole = get_alarms(sim, start_time=start, end_time=end, limit=1000).json()
    assert whole["total"] == len(whole["alarm_info"]) > 10
    times = [row["alarm_time"] for row in whole["alarm_info"]]
    assert times == sorted(times, reverse=True)  # newest first
    second = get_alarms(sim, start_time=start, end_time=end, limit=5, offset=1).json()["alarm_info"]
    first_row = 1 if alarm_reading == "row" else 5
    assert second == whole["alarm_info"][first_row : first_row + 5]


def test_the_pages_of_an_alarm_window_are_fetched_in_parallel(make_sim, tap, tmp_path):
    """Once a window's ``total`` is known its other pages go out together (as for instances):
    one after the other, a backfill of alarms would use a tenth of the rate limit."""
    sim = make_sim(rate_limit_per_user=None, latency_ms=60)
    config = config_for(sim, days=60, page_size=3, job_names=[JOB])
    catalog = alarms_only_catalog(tap, config, tmp_path)
    run = tap(config, args=("--catalog", str(catalog)))
    assert run.returncode == 0, run.stderr[-3000:]
    stats = sim.stats()
    assert stats["requests_per_route"]["alarm-info"] > 6
    assert stats["peak_in_flight"] >= 3
    start_ms = int(midnight_days_ago(60).timestamp() * 1000)
    wanted = {key for key in expected(sim, start_ms, now_ms()) if key[0] == JOB}
    assert set(keys(run.records["alarms"])) >= wanted


def alarms_only_catalog(tap: Callable[..., TapRun], config: dict[str, Any], tmp_path: Any) -> Any:
    discovered = json.loads(tap(config, args=("--discover",)).stdout)
    for stream in discovered["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "alarms"
    path = tmp_path / "alarms-catalog.json"
    path.write_text(json.dumps(discovered))
    return path
