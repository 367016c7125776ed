"""No secret in any output: the server echoes every credential back, and the tap must not repeat it.

For each way to authenticate, the simulated API (and IAM) answers with an ``echo`` fault, whose
``error_msg`` holds the request's headers and body verbatim, as a 4xx that stops the run, as a
5xx retried until the tap gives up, and (IAM) at login with backoff lines; and the config gives a
secret of the wrong type for validation to complain about. Nothing the tap prints may hold a
configured secret or the token it obtained.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from dlf_simulator import SimulatedDLF

AUTH_MODES = ["aksk", "aksk_temporary", "iam", "token"]
SECRET_SETTINGS = ("secret_access_key", "security_token", "auth_token", "iam_password")


def config_for(sim: SimulatedDLF, auth: str, **extra: Any) -> dict[str, Any]:
    job = next(job.name for job in sim.dataset.jobs.values() if job.job_type != "REAL_TIME")
    return {
        **sim.tap_config(auth=auth),
        "job_names": [job],
        "start_date": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "max_requests_per_second": 200,
        "max_retries": 1,
        **extra,
    }


def assert_no_secret(run: Any, config: dict[str, Any], sim: SimulatedDLF | None = None) -> None:
    output = run.stdout + run.stderr
    secrets = [str(config[name]) for name in SECRET_SETTINGS if config.get(name)]
    secrets += sim.auth.tokens() if sim is not None else []
    for secret in secrets:
        for form in {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}:
            assert form not in output, f"a secret ({form[:6]}...) is in the output:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


def echoed(status: int, **rule: Any) -> dict[str, Any]:
    return {"kind": "echo", "status": status, "times": None, **rule}


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_an_echoing_4xx_stops_the_run_without_repeating_a_secret(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([echoed(400)])
    config = config_for(sim, auth)
    run = tap(config)
    assert run.returncode == 1
    assert "APIGW.0000" in run.stderr  # the server's message is reported ...
    assert run.stderr.strip().splitlines()[-1].startswith("Error: ")  # ... on one line
    assert_no_secret(run, config, sim)


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_an_echoing_5xx_retried_then_given_up_does_not_repeat_a_secret(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([echoed(500)])
    config = config_for(sim, auth)
    run = tap(config)
    assert run.returncode == 1
    assert "Retrying" in run.stderr
    assert "Gave up" in run.stderr
    assert_no_secret(run, config, sim)


def test_an_echoing_iam_login_retried_with_backoff_does_not_repeat_the_password(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    # Two echoing 5xx at login (backoff logs them), then the API echoes the token it got.
    sim.set_faults([echoed(500, times=2, path_contains="/v3/auth"), echoed(400, path_contains="/v2/")])
    config = config_for(sim, "iam")
    run = tap(config)
    assert run.returncode == 1
    assert "IAM login at" in run.stderr
    assert "retrying in" in run.stderr
    assert sim.stats()["requests_per_route"].get("iam_tokens") == 3
    assert len(sim.auth.tokens()) > 1  # the demo's static token and the one the tap obtained
    assert_no_secret(run, config, sim)


def test_an_iam_login_refused_with_an_echo_does_not_repeat_the_password(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([echoed(400, path_contains="/v3/auth")])
    config = config_for(sim, "iam")
    run = tap(config)
    assert run.returncode == 1
    assert "refused the login" in run.stderr
    assert_no_secret(run, config, sim)


WRONG_TYPES = {
    "aksk": {"secret_access_key": 12345678987},
    "aksk_temporary": {
        "secret_access_key": ["SkPartOne-abcdef", "SkPartTwo-123456"],
        "security_token": 3.14159,
    },
    "iam": {"iam_password": 12345678987},
    "token": {"auth_token": {"MIItokenKey": "MIItokenValue-xyz"}},
}


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_a_secret_of_the_wrong_type_is_named_but_not_shown(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    config = {**config_for(sim, auth), **WRONG_TYPES[auth]}
    run = tap(config)
    assert run.returncode == 1
    output = run.stdout + run.stderr
    for value in WRONG_TYPES[auth].values():
        for part in _parts(value):
            assert part not in output, output
    assert_no_secret(run, {k: v for k, v in config.items() if isinstance(v, str)}, sim)
    wrong = next(iter(WRONG_TYPES[auth]))
    assert f"`{wrong}`" in run.stderr.strip().splitlines()[-1]


def _parts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_parts(key), *_parts(item))]
    if isinstance(value, list):
        return [text for item in value for text in _parts(item)]
    return [str(value)]


@pytest.mark.parametrize("about_format", [None, "json", "markdown"])
def test_about_in_every_format_shows_no_secret(make_sim, tap, about_format):
    sim = make_sim(rate_limit_per_user=None)
    config = {
        **config_for(sim, "aksk_temporary"),
        "auth_token": "MIIaboutToken-0000",
        "iam_password": "pw-about-1",
    }
    args = ("--about",) + (("--format", about_format) if about_format else ())
    run = tap(config, args=args)
    assert run.returncode == 0, run.stderr
    assert "secret_access_key" in run.stdout
    assert_no_secret(run, config)


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_discover_shows_no_secret(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    config = config_for(sim, auth)
    run = tap(config, args=("--discover",))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["streams"]
    assert_no_secret(run, config, sim)


def test_every_secret_setting_is_scrubbed_when_all_are_set(make_sim, tap):
    # Two ways to authenticate at once is a config error; every secret is still kept out of it.
    sim = make_sim(rate_limit_per_user=None)
    config = {
        **config_for(sim, "aksk_temporary"),
        "auth_token": "MIIanotherToken-1111",
        "iam_username": "u",
        "iam_password": "an-iam-password",
        "iam_domain_name": "d",
    }
    sim.set_faults([echoed(400)])
    run = tap(config)
    assert run.returncode == 1
    assert "Exactly one way" in run.stderr
    assert_no_secret(run, config, sim)
