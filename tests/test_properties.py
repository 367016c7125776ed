"""Property-based: any JSON value as config or state is exit 0 or one clear line, never a secret.

In process, for many examples: the functions that read and check the files, and the tap's
construction (where the SDK and the tap validate the config). As subprocesses, for a few dozen:
the tap run for real against the simulator, with a realistic config or state that has one field
mutated to a random JSON value.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import TapRun, run_tap
from dlf_simulator import SimConfig, SimulatedDLF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import ConfigValidationError

from tap_dlf_instances import scrubbing
from tap_dlf_instances.config.checks import one_line
from tap_dlf_instances.config.files import InputFileError, check_config_files, read_state_text
from tap_dlf_instances.config.schema import CONFIG_SCHEMA
from tap_dlf_instances.tap import TapDLFInstances

SECRET_SETTINGS = ("secret_access_key", "security_token", "auth_token", "iam_password")
SETTINGS = sorted(CONFIG_SCHEMA["properties"])
# An exception's class name in the output means a traceback or a raw exception got through.
EXCEPTION_NAME = re.compile(r"\b\w+(?:Error|Exception)\b|Traceback")
LOGGER = logging.getLogger("test_properties")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
secrets = st.text(min_size=4, max_size=40).filter(lambda s: s.strip() == s and s.strip())


def base_config(api_url: str, auth: str, secret: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "project_id": "0b9d4a6e3c7f41d2a8e5f6c1b2d3e4f5",
        "api_url": api_url,
        "iam_url": api_url,
        "job_names": ["hourly_orders_etl"],
        "start_date": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "max_retries": 0,
        "max_requests_per_second": 200,
    }
    if auth == "aksk":
        config |= {"access_key_id": "AKPROP", "secret_access_key": secret}
    elif auth == "aksk_temporary":
        config |= {"access_key_id": "AKPROP", "secret_access_key": secret, "security_token": secret[::-1]}
    elif auth == "iam":
        config |= {"iam_username": "u", "iam_password": secret, "iam_domain_name": "d"}
    else:
        config["auth_token"] = secret
    return config


def texts_of(value: Any) -> list[str]:
    """Every string or number inside a JSON value, as the user wrote it and as Python shows it."""
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in (*texts_of(key), *texts_of(item))]
    if isinstance(value, list):
        return [t for item in value for t in texts_of(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value), json.dumps(value, default=str)]


def leaked(secret: str, output: str) -> bool:
    """Whether ``secret`` shows in ``output``; a short one only counts as a whole token, as the
    scrubber hides it (see tap_dlf_instances.scrubbing)."""
    if not secret.strip():
        return False
    output = output.replace(scrubbing.MASK, " ")  # a secret "*" is not in the mask that hides it
    if len(secret) >= scrubbing.SHORT_SECRET_LENGTH:
        return secret in output
    return re.search(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", output) is not None


def secret_texts(config: Any) -> list[str]:
    if not isinstance(config, dict):
        return []
    return [text for name in SECRET_SETTINGS for text in texts_of(config.get(name))]


mutations = st.tuples(st.sampled_from([*SETTINGS, "jobnames", "bookmarks"]), json_values | st.just(Ellipsis))
auths = st.sampled_from(["aksk", "aksk_temporary", "iam", "token"])


def mutate(config: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    if value is Ellipsis:
        return {k: v for k, v in config.items() if k != key}
    return {**config, key: value}


# In process: many examples.


def outcome(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """What ``call`` returns, or the sentence of the ``InputFileError`` it raises."""
    try:
        return call(), None
    except InputFileError as exc:
        return None, str(exc)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_any_json_value_as_a_config_file_is_accepted_or_one_sentence(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_text(json.dumps(value))
    _, error = outcome(lambda: check_config_files([str(path)]))
    if error is None:
        assert isinstance(value, dict)
    else:
        assert "\n" not in error
        assert "config.json" in error


@settings(max_examples=400, deadline=None)
@given(value=json_values | st.text(max_size=30))
def test_any_json_value_or_text_as_a_state_is_accepted_or_one_sentence(value):
    text = value if isinstance(value, str) else json.dumps(value)
    state, error = outcome(lambda: read_state_text(text, "state.json", LOGGER))
    if error is not None:
        assert "\n" not in error
        assert "state.json" in error
    else:
        assert isinstance(state, dict)
        # What is kept is something the SDK loads.
        TapDLFInstances(config=VALID_OFFLINE, state=json.loads(json.dumps(state, default=str)))


def _valid_state(partition: dict[str, Any]) -> dict[str, Any]:
    return {"bookmarks": {"instances": {"partitions": [partition]}, "jobs": {}}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(["context", "replication_key_value", "open_since", "progress_markers", "x"]),
    value=json_values,
)
def test_a_mutated_partition_is_kept_or_dropped_never_fatal(key, value):
    partition = {
        "context": {"job_name": "daily"},
        "replication_key": "plan_time",
        "replication_key_value": 1795568400000,
    }
    state = read_state_text(json.dumps(_valid_state({**partition, key: value})), "state.json", LOGGER)
    tap = TapDLFInstances(config=VALID_OFFLINE, state=json.loads(json.dumps(state, default=str)))
    assert isinstance(tap.state, dict)


VALID_OFFLINE = base_config("http://127.0.0.1:9", "aksk", "offline-secret-value")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(auth=auths, secret=secrets, mutation=mutations)
def test_a_mutated_config_is_accepted_or_one_sentence_without_secrets(auth, secret, mutation):
    scrubbing.SCRUBBER.clear()  # one example's secrets; thousands would slow every scrub
    config = mutate(base_config("http://127.0.0.1:9", auth, secret), *mutation)
    config = json.loads(json.dumps(config), parse_float=Decimal)  # as the SDK reads the file
    try:
        TapDLFInstances(config=config, validate_config=True)
    except ConfigValidationError as exc:
        message = one_line(" ".join(exc.errors) or str(exc))
        assert message
        for text in secret_texts(config):
            assert not leaked(text, message), (text, message)


# As subprocesses: a few dozen examples, against the simulator.


@pytest.fixture(scope="module")
def shared_sim() -> Any:
    with SimulatedDLF(config=_sim_config()) as sim:
        yield sim


def _sim_config() -> SimConfig:
    return SimConfig(rate_limit_per_user=None)


def check_run(run: TapRun, config: Any) -> None:
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert not EXCEPTION_NAME.search(run.stderr), run.stderr[-2000:]
    if run.returncode == 1:
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, run.stderr[-2000:]
    output = run.stdout + run.stderr
    for text in secret_texts(config):
        assert not leaked(text, output), (text, output[-2000:])


@pytest.mark.timeout(600)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=auths, mutation=mutations)
def test_the_tap_with_a_mutated_config_exits_cleanly(shared_sim, tmp_path_factory, auth, mutation):
    config = {**shared_sim.tap_config(auth=auth), **_run_settings()}
    config = mutate(config, *mutation)
    run = run_tap(config, tmp_path_factory.mktemp("run"), timeout=120)
    check_run(run, config)


@pytest.mark.timeout(600)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=json_values | st.builds(_valid_state, st.fixed_dictionaries({"context": json_values})))
def test_the_tap_with_any_state_exits_cleanly(shared_sim, tmp_path_factory, state):
    config = {**shared_sim.tap_config(auth="token"), **_run_settings()}
    run_dir: Path = tmp_path_factory.mktemp("run")
    run = run_tap(config, run_dir, state=state, timeout=120)
    check_run(run, config)


def _run_settings() -> dict[str, Any]:
    return {
        "job_names": ["hourly_orders_etl"],
        "start_date": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "max_retries": 0,
        "max_requests_per_second": 200,
    }
