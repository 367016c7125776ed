"""TLS: certificates are always verified, against ``ca_bundle`` or the CA the environment names
(``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``), for API calls and the IAM login alike; a certificate
that is not trusted stops the run at once with one line."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import TapRun
from dlf_simulator import SimulatedDLF, demo_dataset

from tap_dlf_instances.api.transport import resolve_verify

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def no_ca_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_sim(ca: trustme.CA) -> Iterator[SimulatedDLF]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with SimulatedDLF(demo_dataset(), ssl_context=context) as sim:
        yield sim


def config_for(sim: SimulatedDLF, auth: str = "aksk", **extra: Any) -> dict[str, Any]:
    job = next(iter(sim.dataset.jobs.values())).name
    return {
        **sim.tap_config(auth=auth),
        "job_names": [job],
        "start_date": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        **extra,
    }


def assert_synced(run: TapRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.instances


@pytest.mark.parametrize("auth", ["aksk", "iam"])
def test_a_private_ca_in_ca_bundle_is_trusted_for_the_api_and_iam(tls_sim, tap, ca_file, auth):
    assert tls_sim.url.startswith("https://")
    assert_synced(tap(config_for(tls_sim, auth, ca_bundle=ca_file)))


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_the_ca_named_by_the_environment_is_trusted_for_api_calls(
    tls_sim, tap, ca_file, monkeypatch, variable
):
    monkeypatch.setenv(variable, ca_file)
    assert_synced(tap(config_for(tls_sim)))


@pytest.mark.timeout(60)
def test_an_untrusted_certificate_stops_the_run_at_once(tls_sim, tap):
    started = time.monotonic()
    run = tap(config_for(tls_sim))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "certificate" in lines[0]
    assert "`ca_bundle`" in lines[0]
    assert "Retrying" not in run.stderr
    assert time.monotonic() - started < 20
    assert tls_sim.stats()["requests_total"] == 0


@pytest.mark.timeout(60)
def test_an_untrusted_iam_certificate_stops_the_login_at_once(tls_sim, tap, ca_file):
    # The API is trusted through ca_bundle-less plain http; IAM is the TLS server.
    plain = SimulatedDLF(tls_sim.dataset).start()
    try:
        run = tap({**config_for(tls_sim, "iam"), "api_url": plain.url})
    finally:
        plain.stop()
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "IAM" in lines[0]
    assert "certificate" in lines[0]
    assert "`ca_bundle`" in lines[0]
    assert tls_sim.stats()["requests_per_route"] == {}


@pytest.mark.timeout(60)
def test_https_to_a_plain_http_port_stops_the_run_at_once(sim, tap):
    started = time.monotonic()
    run = tap({**config_for(sim), "api_url": sim.url.replace("http://", "https://")})
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "TLS handshake failed" in lines[0]
    assert "Retrying" not in run.stderr
    assert time.monotonic() - started < 20


def test_a_ca_bundle_that_does_not_exist_is_a_config_error(tap, tmp_path):
    missing = str(tmp_path / "nope.pem")
    run = tap(
        {
            "project_id": "0123456789abcdef0123456789abcdef",
            "api_url": "https://127.0.0.1:9",
            "auth_token": "a-token",
            "job_names": ["daily"],
            "ca_bundle": missing,
        }
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "`ca_bundle`" in run.stderr
    assert missing in run.stderr


def test_a_ca_variable_naming_no_file_is_one_clear_line(tap, tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    run = tap(
        {
            "project_id": "0123456789abcdef0123456789abcdef",
            "api_url": "https://127.0.0.1:9",
            "auth_token": "a-token",
            "job_names": ["daily"],
        }
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "REQUESTS_CA_BUNDLE" in lines[0]


def test_ca_bundle_is_a_documented_setting(tap):
    run = tap({}, args=("--about", "--format", "json"))
    assert run.returncode == 0, run.stderr
    assert "ca_bundle" in run.stdout


def test_the_ca_setting_comes_first_then_the_environment_in_requests_order(tmp_path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("x")
    second.write_text("x")
    assert resolve_verify(None, {}) is True
    assert resolve_verify(None, {"SSL_CERT_FILE": str(second)}) == str(second)
    both = {"REQUESTS_CA_BUNDLE": str(first), "SSL_CERT_FILE": str(second)}
    assert resolve_verify(None, both) == str(first)
    assert resolve_verify("/etc/private-ca.pem", both) == "/etc/private-ca.pem"
