"""Each way to authenticate, end to end: it syncs, it recovers where it may, it fails clearly."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from dlf_simulator import SimConfig, SimulatedDLF, demo_dataset


def config_for(sim: SimulatedDLF, auth: str, **extra: object) -> dict:
    job = next(job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME")
    return {
        **sim.tap_config(auth=auth),
        "job_names": [job],
        "start_date": (datetime.now(UTC) - timedelta(days=40)).isoformat(),
        "max_requests_per_second": 200,
        **extra,
    }


def secrets_of(config: dict) -> list[str]:
    return [
        str(config[name])
        for name in ("secret_access_key", "security_token", "auth_token", "iam_password")
        if config.get(name)
    ]


@pytest.mark.parametrize("auth", ["aksk", "aksk_temporary", "iam", "token"])
def test_every_auth_method_syncs_without_showing_its_secret(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    config = config_for(sim, auth, page_size=50)
    run = tap(config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.instances) > 100
    for secret in secrets_of(config):
        assert secret not in run.stdout + run.stderr
    assert sim.stats()["requests_per_status"].get("401", 0) == 0


def test_iam_token_refused_mid_run_is_renewed_once_and_the_run_goes_on(tap):
    # The server's clock jumps two days ahead mid-run: the token the tap holds is now expired
    # there while the tap still believes it valid, so the API answers 401.
    offset = [0.0]
    dataset = demo_dataset()
    with SimulatedDLF(
        dataset,
        SimConfig(rate_limit_per_user=None, latency_ms=30, max_clock_skew_seconds=10**9),
        clock=lambda: time.time() + offset[0],
    ) as sim:
        config = config_for(sim, "iam", page_size=20, max_workers=1)
        # The jump comes after the tap has logged in and read a few pages, however slow its
        # start-up (a timer raced it on a busy machine: a login after the jump never saw a 401).
        done = threading.Event()

        def jump_after_three_pages() -> None:
            while not done.wait(0.01):
                if sim.stats()["requests_per_route"].get("instances", 0) >= 3:
                    offset[0] = 2 * 86400.0
                    return

        jump = threading.Thread(target=jump_after_three_pages, daemon=True)
        jump.start()
        try:
            run = tap(config)
        finally:
            done.set()
            jump.join()
        stats = sim.stats()
    assert run.returncode == 0, run.stderr[-3000:]
    assert stats["requests_per_status"].get("401", 0) >= 1
    assert stats["requests_per_route"].get("iam_tokens", 0) >= 2, stats["requests_per_route"]
    job = config["job_names"][0]
    start = datetime.fromisoformat(config["start_date"]).timestamp() * 1000
    want = {i.instance_id for i in dataset.instances(job) if i.plan_time >= start}
    got = {r["instance_id"] for r in run.instances}
    assert want - got == set()


def test_a_bad_secret_key_fails_at_once_with_the_settings_named(sim, tap):
    config = {**config_for(sim, "aksk"), "secret_access_key": "not-the-right-secret-key-42"}
    run = tap(config)
    assert run.returncode != 0
    assert "`secret_access_key`" in run.stderr
    assert "APIGW.0301" in run.stderr
    assert "Traceback" not in run.stderr
    assert "not-the-right-secret-key-42" not in run.stdout + run.stderr
    # a bad signature is never retried: keys lock after 5 failures
    assert sim.stats()["requests_per_status"].get("401") == 1


def test_a_wrong_iam_password_names_the_settings_but_not_the_password(sim, tap):
    config = {**config_for(sim, "iam"), "iam_password": "Wrong-Password-123"}
    run = tap(config)
    assert run.returncode != 0
    assert "iam_password" in run.stderr
    assert "Traceback" not in run.stderr
    assert "Wrong-Password-123" not in run.stdout + run.stderr


def test_an_invalid_token_names_the_setting(sim, tap):
    config = {**config_for(sim, "token"), "auth_token": "MIIexpired-token-value"}
    run = tap(config)
    assert run.returncode != 0
    assert "`auth_token`" in run.stderr
    assert "MIIexpired-token-value" not in run.stdout + run.stderr


def test_a_clock_off_by_an_hour_says_check_the_clock(tap):
    with SimulatedDLF(
        demo_dataset(), SimConfig(rate_limit_per_user=None), clock=lambda: time.time() + 3600
    ) as sim:
        run = tap(config_for(sim, "aksk"))
    assert run.returncode != 0
    assert "check the clock" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_missing_workspace_header_names_the_setting(make_sim, tap):
    sim = make_sim(require_workspace=True, rate_limit_per_user=None)
    run = tap(config_for(sim, "aksk"))
    assert run.returncode != 0
    assert "`workspace`" in run.stderr
    assert "Traceback" not in run.stderr
