"""The transport cannot be turned against the tap: no redirect is followed (no credential, signed
header or password body reaches another host), job names stay path segments, a response that
trickles in is abandoned at the deadline, ``Retry-After`` is capped, and what retrying cannot
fix stops the run at once."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from conftest import TapRun
from dlf_simulator import DEMO_IAM_PASSWORD, SimulatedDLF

from tap_dlf_instances.api.transport import unretryable_reason

INSTANCES = "/instances/"


def error_lines(run: TapRun) -> list[str]:
    """The run's error sentence(s): Click's ``Error:`` line, or for a config error the SDK's
    log line before its fixed "Config validation failed"."""
    lines = run.stderr.splitlines()
    clicked = [line for line in lines if line.startswith("Error:")]
    if clicked or "Config validation failed" not in run.stderr:
        return clicked
    return [line for line in lines if "| ERROR" in line and "Config validation failed" not in line]


def one_error(run: TapRun) -> str:
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = error_lines(run)
    assert len(lines) == 1, run.stderr[-3000:]
    return lines[0]


class Recorder:
    """A tiny HTTP server on another loopback address that records what reaches it."""

    def __init__(
        self, host: str = "127.0.0.2", answer: Callable[[BaseHTTPRequestHandler], None] | None = None
    ):
        self.received: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.received.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                if answer is not None:
                    answer(self)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.stop()


def small_config(sim: SimulatedDLF, auth: str = "aksk", **extra: Any) -> dict[str, Any]:
    job = next(iter(sim.dataset.jobs.values())).name
    return {
        **sim.tap_config(auth=auth),
        "job_names": [job],
        "start_date": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "max_requests_per_second": 100,
        # The V2 route of one job; the workspace listing's own (redirect) is tested below.
        "instance_listing": "per_job",
        **extra,
    }


# 1. Redirects


@pytest.mark.parametrize(
    ("auth", "status"),
    [("token", 302), ("aksk_temporary", 307), ("iam", 301), ("aksk", 308)],
)
def test_an_api_redirect_to_another_host_is_not_followed(make_sim, tap, recorder, auth, status):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults(
        [
            {
                "kind": "redirect",
                "status": status,
                "location": f"{recorder.url}/steal",
                "path_contains": INSTANCES,
            }
        ]
    )
    run = tap(small_config(sim, auth))
    line = one_error(run)
    assert "`api_url`" in line
    assert str(status) in line
    assert recorder.received == []  # no request at all: no token, no security token, no signature


@pytest.mark.parametrize("listing", ["workspace", "auto"])
def test_a_redirect_of_the_workspace_listing_is_not_followed(make_sim, tap, recorder, listing):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults(
        [
            {
                "kind": "redirect",
                "status": 302,
                "location": f"{recorder.url}/steal",
                "path_contains": "jobs/instances/detail",
                "times": None,
            }
        ]
    )
    run = tap(small_config(sim, "aksk", instance_listing=listing))
    if listing == "workspace":
        line = one_error(run)
        assert "`v1_api_url`" in line
        assert "302" in line
    else:  # read per job instead, the redirect named
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Instances are read per job: the workspace listing could not be read" in run.stderr
        assert run.instances
    assert recorder.received == []  # no request at all: no signature


def test_an_iam_login_redirect_is_not_followed_and_the_password_stays_home(make_sim, tap, recorder):
    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"{recorder.url}/v3/auth/tokens")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    sim = make_sim(rate_limit_per_user=None)
    iam = Recorder("127.0.0.1", answer=redirect)
    try:
        run = tap(small_config(sim, "iam", iam_url=iam.url))
    finally:
        iam.stop()
    line = one_error(run)
    assert "`iam_url`" in line
    assert "307" in line
    assert len(iam.received) == 1
    assert recorder.received == []  # the password body was not re-posted elsewhere
    assert DEMO_IAM_PASSWORD not in run.stdout + run.stderr


def test_a_redirect_mid_run_keeps_the_state_of_the_windows_already_read(make_sim, tap, recorder):
    sim = make_sim(rate_limit_per_user=None)
    fault = {"kind": "redirect", "location": recorder.url, "every": 3, "path_contains": INSTANCES}
    sim.set_faults([fault])
    config = small_config(sim, window_days=1, max_workers=1)
    run = tap(config)
    line = one_error(run)
    assert "`api_url`" in line
    assert recorder.received == []
    job = config["job_names"][0]
    bookmark = run.bookmarks()[job]
    start_ms = int(datetime.fromisoformat(config["start_date"]).timestamp() * 1000)
    assert bookmark["replication_key_value"] >= start_ms + 2 * 86_400_000  # two windows done
    assert run.instances


def test_a_redirect_loop_is_one_clear_line(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "redirect", "status": 302, "times": None}])  # to itself, for ever
    run = tap(small_config(sim))
    line = one_error(run)
    assert "`api_url`" in line
    assert "TooManyRedirects" not in run.stderr
    assert sim.stats()["faults_applied"] == {"redirect": 1}


# 4. Job names are data, not paths

ODD_NAMES = [".", "..", "a/b", "?x", "#y", "%2E%2E"]


@pytest.mark.parametrize("auth", ["aksk", "token"])
def test_job_names_that_look_like_paths_are_each_synced_from_their_own_path(make_sim, tap, auth):
    sim = make_sim(rate_limit_per_user=None)
    now_ms = sim.now_ms()
    expected = {}
    for index, name in enumerate(ODD_NAMES):
        sim.dataset.add_job(name)
        instance = sim.add_instance(name, now_ms - (index + 1) * 3_600_000, status="success")
        expected[name] = instance.instance_id
    paths: list[str] = []
    handle = sim.handle

    def spy(method: str, raw_path: str, *rest: Any) -> Any:
        paths.append(raw_path)
        return handle(method, raw_path, *rest)

    sim.handle = spy  # type: ignore[method-assign]  # records what arrived on the wire
    run = tap({**small_config(sim, auth), "job_names": ODD_NAMES})
    assert run.returncode == 0, run.stderr[-3000:]
    got = {record["job_name"]: record["instance_id"] for record in run.instances}
    assert got == expected
    project = sim.dataset.project_id
    instance_paths = [path for path in paths if path.endswith("/instances/detail")]
    assert sorted(instance_paths) == sorted(
        f"/v2/{project}/factory/jobs/{segment}/instances/detail"
        for segment in ("%2E", "%2E%2E", "a%2Fb", "%3Fx", "%23y", "%252E%252E")
    )


# 10. A deadline for the whole response

TRICKLE = {"kind": "trickle", "bytes": 1, "seconds": 0.5, "path_contains": INSTANCES}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("chunk", [1, 400], ids=["headers-trickle", "body-trickles"])
def test_a_trickling_answer_is_abandoned_at_the_deadline_and_retried(make_sim, tap, chunk):
    # 1 byte every 0.5 s: the deadline passes in the status line; 400 bytes: in the body.
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{**TRICKLE, "bytes": chunk, "times": 1}])
    config = small_config(sim, request_timeout=3)
    started = time.monotonic()
    run = tap(config)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-3000:]
    job = config["job_names"][0]
    start_ms = int(datetime.fromisoformat(config["start_date"]).timestamp() * 1000)
    wanted = {i.instance_id for i in sim.dataset.instances(job) if i.plan_time >= start_ms}
    assert {r["instance_id"] for r in run.instances} >= wanted
    assert "ResponseDeadlineExceeded" in run.stderr  # the retry line names the cause
    assert sim.stats()["faults_applied"] == {"trickle": 1}
    assert elapsed < 20  # 3 s deadline + 1 s backoff + start-up, not 0.5 s per byte of a page


@pytest.mark.timeout(60)
def test_an_answer_that_always_trickles_fails_the_run_within_bounded_time(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{**TRICKLE, "times": None}])
    started = time.monotonic()
    run = tap(small_config(sim, request_timeout=3, max_retries=1))
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert "request_timeout" in line
    assert "2 attempts" in line
    assert 6 <= elapsed < 20  # two 3 s deadlines and a 1 s backoff (and start-up)
    assert sim.stats()["faults_applied"] == {"trickle": 2}


@pytest.mark.timeout(60)
def test_an_iam_login_that_trickles_is_abandoned_at_the_deadline(make_sim, tap):
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):  # the tap hangs up
            for byte in b"HTTP/1.1 201 Created\r\nX-Subject-Token: t\r\n":
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.5)

    sim = make_sim(rate_limit_per_user=None)
    iam = Recorder("127.0.0.1", answer=trickle)
    started = time.monotonic()
    try:
        run = tap(small_config(sim, "iam", iam_url=iam.url, request_timeout=2))
    finally:
        iam.stop()
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert "IAM" in line
    assert "request_timeout" in line
    assert len(iam.received) == 4  # the login's own retries, each cut at 2 s
    assert elapsed < 30
    assert DEMO_IAM_PASSWORD not in run.stdout + run.stderr


# 11. Retry-After is capped


@pytest.mark.parametrize(
    "retry_after",
    ["87248", format_datetime(datetime.now(UTC) + timedelta(days=400), usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_a_huge_retry_after_is_capped_and_said_so(make_sim, tap, retry_after):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "status", "status": 429, "times": None}])
    handle = sim.handle

    def with_retry_after(*args: Any) -> Any:
        outcome = handle(*args)
        if outcome.status == 429:
            outcome.headers["Retry-After"] = retry_after
            outcome.body = b'{"error_code":"APIGW.0308","error_msg":"throttled"}'
        return outcome

    sim.handle = with_retry_after  # type: ignore[method-assign]  # an HTTP-date the fault plan cannot send
    started = time.monotonic()
    run = tap(small_config(sim, max_retries=0))
    line = one_error(run)
    assert "capped to 120 s" in line
    assert time.monotonic() - started < 30


def test_a_retry_after_in_seconds_from_the_throttle_fault_is_capped(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    sim.set_faults([{"kind": "throttle", "retry_after": 87248, "times": None}])
    started = time.monotonic()
    run = tap(small_config(sim, max_retries=0))
    line = one_error(run)
    assert "Retry-After 87248 s capped to 120 s" in line
    assert time.monotonic() - started < 30


# 12. Fail fast on what retrying cannot fix


@pytest.mark.timeout(60)
def test_a_host_that_does_not_resolve_fails_at_once(tap):
    config = {
        "project_id": "0123456789abcdef0123456789abcdef",
        "api_url": "https://dayu.mars-1.invalid",
        "auth_token": "a-token",
        "job_names": ["daily"],
    }
    started = time.monotonic()
    run = tap(config)
    line = one_error(run)
    assert "does not resolve" in line
    assert "`api_url`" in line
    assert "Retrying" not in run.stderr
    assert time.monotonic() - started < 20


@pytest.mark.timeout(60)
def test_a_refused_first_connection_fails_at_once(tap):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "project_id": "0123456789abcdef0123456789abcdef",
        "api_url": f"http://127.0.0.1:{port}",
        "auth_token": "a-token",
        "job_names": ["daily"],
    }
    run = tap(config)
    line = one_error(run)
    assert "refused the connection" in line
    assert "Retrying" not in run.stderr


def test_a_refusal_after_the_host_answered_is_worth_retrying() -> None:
    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    assert unretryable_reason(refused, host_answered=False) is not None
    assert unretryable_reason(refused, host_answered=True) is None  # maybe a restart
    assert unretryable_reason(requests.ConnectionError(ConnectionResetError()), host_answered=False) is None
    # A TLS connection cut mid-answer is a drop, not a handshake that cannot succeed.
    cut = requests.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    assert unretryable_reason(cut, host_answered=False) is None


@pytest.mark.parametrize(
    ("region", "named"),
    [("mars-1", "`region`"), ("cn north 4", "`region`")],
)
def test_an_unknown_region_is_a_config_error(tap, region, named):
    config = {
        "project_id": "0123456789abcdef0123456789abcdef",
        "region": region,
        "auth_token": "a-token",
        "job_names": ["daily"],
    }
    started = time.monotonic()
    run = tap(config)
    line = one_error(run)
    assert named in line
    assert repr(region) in line
    assert "Retrying" not in run.stderr
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("api_url", ["https://dayu.example.com/?x=1", "https://dayu.example.com#frag"])
def test_an_api_url_with_a_query_or_fragment_is_a_config_error(tap, api_url):
    config = {
        "project_id": "0123456789abcdef0123456789abcdef",
        "api_url": api_url,
        "auth_token": "a-token",
        "job_names": ["daily"],
    }
    line = one_error(tap(config))
    assert "`api_url`" in line
    assert "query" in line


def test_plain_http_to_another_host_is_warned_about(tap):
    config = {
        "project_id": "0123456789abcdef0123456789abcdef",
        "api_url": "http://dayu.example.com",
        "auth_token": "a-token",
        "job_names": ["daily"],
    }
    run = tap(config, args=("--discover",))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "`api_url` uses plain http://" in run.stderr


def test_plain_http_on_loopback_is_not_warned_about(sim, tap):
    run = tap(small_config(sim), args=("--discover",))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "plain http://" not in run.stderr
