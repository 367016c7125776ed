"""Bad config ends the run with one sentence naming the setting: no traceback, no secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

SECRET = "s3cr3t-VALUE-never-printed"
GOOD = {
    "project_id": "0123456789abcdef0123456789abcdef",
    "api_url": "http://127.0.0.1:9",
    "access_key_id": "AKDEMO",
    "secret_access_key": SECRET,
    "job_names": ["daily"],
}


def _without(*names: str) -> dict:
    return {k: v for k, v in GOOD.items() if k not in names}


CASES = [
    (_without("project_id"), "project_id"),
    ({**GOOD, "project_id": ""}, "project_id"),
    (_without("access_key_id", "secret_access_key"), "No authentication"),
    ({**GOOD, "auth_token": SECRET}, "Exactly one way to authenticate"),
    ({**GOOD, "iam_username": "u", "iam_password": SECRET, "iam_domain_name": "d"}, "Exactly one way"),
    (_without("secret_access_key"), "secret_access_key"),
    (
        {**_without("access_key_id", "secret_access_key"), "iam_username": "u", "iam_password": SECRET},
        "iam_domain_name",
    ),
    ({**GOOD, "start_date": "yesterday"}, "start_date"),
    ({**GOOD, "end_date": "2026-13-45"}, "end_date"),
    ({**GOOD, "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
    ({**GOOD, "page_size": 0}, "page_size"),
    ({**GOOD, "page_size": 1001}, "page_size"),
    ({**GOOD, "window_days": 31}, "window_days"),
    ({**GOOD, "lookback_window_hours": -1}, "lookback_window_hours"),
    ({**GOOD, "api_url": "dayu.example"}, "api_url"),
    ({**GOOD, "api_url": "http://127.0.0.1:9\u0000x"}, "api_url"),
    ({**GOOD, "iam_url": "https://iam.example\u0007.com"}, "iam_url"),
    (_without("api_url"), "region"),
    ({**GOOD, "job_names": []}, "job_names"),
    ({**GOOD, "offset_mode": "pages"}, "offset_mode"),
    ({**GOOD, "shard_index": 2, "shard_count": 2}, "shard_index"),
    ({**GOOD, "force_success": True}, "force_success"),
    (
        {**GOOD, "security_token": SECRET, "access_key_id": "", "secret_access_key": "", "auth_token": "t"},
        "security_token",
    ),
]


@pytest.mark.parametrize(("config", "named"), CASES, ids=[named for _, named in CASES])
def test_bad_config_is_one_clear_sentence(tap, config, named):
    run = tap(config)
    assert run.returncode != 0
    assert named in run.stderr
    assert "Traceback" not in run.stderr
    assert SECRET not in run.stderr + run.stdout
    assert not run.records


def test_about_shows_settings_but_no_secret(tap):
    run = tap(GOOD, args=("--about", "--format", "json"))
    assert run.returncode == 0, run.stderr
    assert "secret_access_key" in run.stdout
    assert SECRET not in run.stdout + run.stderr


def test_a_start_date_in_the_future_is_warned_about_and_keeps_the_bookmarks(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    job = next(iter(sim.dataset.jobs.values())).name
    config = {
        **sim.tap_config(auth="aksk"),
        "job_names": [job],
        "start_date": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
    }
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.instances
    assert "in the future" not in first.stderr

    future = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    second = tap({**config, "start_date": future.isoformat()}, state=first.last_state)

    assert second.returncode == 0, second.stderr[-3000:]
    warnings = [line for line in second.stderr.splitlines() if "is in the future" in line]
    assert len(warnings) == 1, second.stderr[-3000:]
    assert "`start_date`" in warnings[0]
    assert future.isoformat() in warnings[0]
    assert second.instances == []
    assert second.bookmarks() == first.bookmarks()
