"""The three authenticators, IAM login against a tiny real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from tap_dlf_instances.api.retry_after import MAX_RETRY_AFTER_SECONDS, retry_after
from tap_dlf_instances.auth import (
    AkSkAuth,
    AkSkCredentials,
    DLFAuth,
    IamPasswordCredentials,
    IamTokenAuth,
    StaticTokenAuth,
    TokenCredentials,
    build_authenticator,
    signing,
)
from tap_dlf_instances.errors import AuthenticationError

PROJECT = "0123456789abcdef0123456789abcdef"
PASSWORD = "Pa55-w0rd!secret"
START = datetime(2024, 5, 6, 0, 0, tzinfo=UTC)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # as IAM writes expires_at


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class FakeIAM:
    """``POST /v3/auth/tokens`` plus ``GET /protected`` that accepts only live tokens, and
    ``GET /signed/...`` that verifies an AK/SK signature from what arrived on the socket."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lifetime = timedelta(hours=24)
        self.login_bodies: list[dict[str, Any]] = []
        self.login_delay = 0.0
        # Each login pops one scripted answer (status, body[, headers]) if any; otherwise 201.
        self.script: list[tuple[Any, ...]] = []
        self.omit_subject_token = False
        self.send_issued_at = True
        self.skew = timedelta(0)  # IAM's clock minus ours
        self.valid_tokens: set[str] = set()
        self.secret_keys: dict[str, str] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def logins(self) -> int:
        return len(self.login_bodies)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        iam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                time.sleep(iam.login_delay)
                with iam.lock:
                    iam.login_bodies.append(body)
                    number = len(iam.login_bodies)
                    scripted = iam.script.pop(0) if iam.script else None
                if self.path != "/v3/auth/tokens":
                    self.reply(404, {"error_code": "APIGW.0101", "error_msg": "no route"})
                elif scripted is not None:
                    self.reply(*scripted)
                else:
                    token = f"token-{number}"
                    iam.valid_tokens.add(token)
                    issued = iam.clock() + iam.skew
                    body = {"expires_at": (issued + iam.lifetime).strftime(TIME_FORMAT)}
                    if iam.send_issued_at:
                        body["issued_at"] = issued.strftime(TIME_FORMAT)
                    headers = {} if iam.omit_subject_token else {"X-Subject-Token": token}
                    self.reply(201, {"token": body}, headers)

            def do_GET(self) -> None:
                if self.path.startswith("/signed/"):
                    self.verify_signature()
                elif self.headers.get("X-Auth-Token") in iam.valid_tokens:
                    self.reply(200, {"ok": True})
                else:
                    self.reply(401, {"error_code": "APIGW.0301", "error_msg": "Incorrect token"})

            def verify_signature(self) -> None:
                parts = urlsplit(self.path)
                auth = signing.parse_authorization(self.headers.get("Authorization", ""))
                expected = signing.expected_signature(
                    method="GET",
                    path=parts.path,
                    raw_query=parts.query,
                    headers=dict(self.headers.items()),
                    signed_headers=auth.get("SignedHeaders", "").split(";"),
                    body=None,
                    secret_key=iam.secret_keys.get(auth.get("Access", ""), ""),
                )
                if auth and auth["Signature"] == expected:
                    self.reply(200, {"query": signing.query_pairs(parts.query)})
                else:
                    self.reply(401, {"error_code": "APIGW.0301", "error_msg": "Incorrect sign"})

        return Handler


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def iam(clock: FakeClock) -> Iterator[FakeIAM]:
    server = FakeIAM(clock)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def make_iam_auth(iam: FakeIAM, session: requests.Session, clock: FakeClock, **kwargs: Any) -> IamTokenAuth:
    return IamTokenAuth(
        IamPasswordCredentials("etl-user", PASSWORD, "my-account"),
        iam_url=iam.url,
        project_id=PROJECT,
        session=session,
        timeout=5,
        clock=clock,
        retry_wait=0.01,
        **kwargs,
    )


def blank_request(
    url: str = "https://dayu.example.com/v2/p/factory/jobs",
) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def signed_with(token: str) -> requests.PreparedRequest:
    request = blank_request()
    request.headers["X-Auth-Token"] = token
    return request


# --- AK/SK -------------------------------------------------------------------------------


def test_aksk_sets_and_signs_its_headers() -> None:
    auth = AkSkAuth(
        AkSkCredentials("AKID", "SECRET-KEY", "SECURITY-TOKEN"),
        project_id=PROJECT,
        clock=lambda: START,
    )
    request = requests.Request(
        "GET",
        "https://dayu.cn-north-4.myhuaweicloud.com/v2/p/factory/jobs/x/instances/detail",
        params={"limit": 10, "job_name": "a b"},
        headers={"workspace": "ws1"},
    ).prepare()
    auth(request)
    assert request.headers["Host"] == "dayu.cn-north-4.myhuaweicloud.com"
    assert request.headers["X-Sdk-Date"] == "20240506T000000Z"
    assert request.headers["X-Security-Token"] == "SECURITY-TOKEN"
    assert request.headers["X-Project-Id"] == PROJECT
    assert urlsplit(request.url).query == "job_name=a%20b&limit=10"
    parts = signing.parse_authorization(request.headers["Authorization"])
    assert parts["Access"] == "AKID"
    assert parts["SignedHeaders"] == "host;workspace;x-project-id;x-sdk-date;x-security-token"
    assert not auth.handle_unauthorized(request)


def test_aksk_permanent_keys_send_no_security_token() -> None:
    auth = AkSkAuth(AkSkCredentials("AKID", "SECRET-KEY"), clock=lambda: START)
    request = auth(blank_request())
    assert "X-Security-Token" not in request.headers
    assert "X-Project-Id" not in request.headers
    assert signing.parse_authorization(request.headers["Authorization"])["SignedHeaders"] == (
        "host;x-sdk-date"
    )


def test_aksk_uses_utc_now_by_default() -> None:
    request = AkSkAuth(AkSkCredentials("AKID", "SECRET-KEY"))(blank_request())
    sent = datetime.strptime(request.headers["X-Sdk-Date"], signing.DATE_FORMAT).replace(tzinfo=UTC)
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)


def test_aksk_secrets_absent_from_repr() -> None:
    auth = AkSkAuth(AkSkCredentials("AKID", "SECRET-KEY", "SECURITY-TOKEN"), project_id=PROJECT)
    text = repr(auth) + str(auth)
    assert "AKID" in text
    assert "SECRET-KEY" not in text
    assert "SECURITY-TOKEN" not in text


@pytest.mark.parametrize("job_name", ["作业_日报", "daily report.v2", "t~x", "a+b=c&d"])
def test_aksk_signature_verifies_over_real_http(
    iam: FakeIAM, session: requests.Session, job_name: str
) -> None:
    # The server verifies what arrived on the socket: proves wire == signed end to end.
    iam.secret_keys["AKID"] = "SECRET-KEY"
    session.auth = AkSkAuth(AkSkCredentials("AKID", "SECRET-KEY", "STS"), project_id=PROJECT)
    params = {"job_name": job_name, "limit": 10, "empty": ""}
    response = session.get(
        f"{iam.url}/signed/{quote(job_name, safe='')}/instances",
        params=params,
        headers={"workspace": "ws1"},
    )
    assert response.status_code == 200, response.text
    assert sorted(map(tuple, response.json()["query"])) == sorted((k, str(v)) for k, v in params.items())


def test_aksk_wrong_secret_is_refused_over_real_http(iam: FakeIAM, session: requests.Session) -> None:
    iam.secret_keys["AKID"] = "SECRET-KEY"
    session.auth = AkSkAuth(AkSkCredentials("AKID", "OTHER-KEY"))
    assert session.get(f"{iam.url}/signed/x", params={"a": "1"}).status_code == 401


# --- static token --------------------------------------------------------------------------


def test_static_token() -> None:
    auth = StaticTokenAuth(TokenCredentials("MIIEXAMPLE-TOKEN"), project_id=PROJECT)
    request = auth(blank_request())
    assert request.headers["X-Auth-Token"] == "MIIEXAMPLE-TOKEN"
    assert request.headers["X-Project-Id"] == PROJECT
    assert not auth.handle_unauthorized(request)
    assert "MIIEXAMPLE-TOKEN" not in repr(auth)


# --- IAM password -> token -----------------------------------------------------------------


def test_login_body_and_token_reuse(iam: FakeIAM, session: requests.Session, clock: FakeClock) -> None:
    auth = make_iam_auth(iam, session, clock)
    assert iam.logins == 0  # lazy

    first = auth(blank_request())
    second = auth(blank_request())

    assert iam.logins == 1
    assert iam.login_bodies[0] == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "etl-user",
                        "password": PASSWORD,
                        "domain": {"name": "my-account"},
                    }
                },
            },
            "scope": {"project": {"id": PROJECT}},
        }
    }
    assert first.headers["X-Auth-Token"] == second.headers["X-Auth-Token"] == "token-1"
    assert first.headers["X-Project-Id"] == PROJECT


def test_refresh_before_expiry(iam: FakeIAM, session: requests.Session, clock: FakeClock) -> None:
    auth = make_iam_auth(iam, session, clock)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    clock.advance(hours=23, minutes=29)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    clock.advance(minutes=2)  # within the 30 min margin
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-2"
    assert iam.logins == 2


@pytest.mark.parametrize("send_issued_at", [True, False])
@pytest.mark.parametrize("skew", [timedelta(0), timedelta(hours=-3), timedelta(days=2)])
def test_refresh_is_immune_to_clock_skew(
    iam: FakeIAM, session: requests.Session, clock: FakeClock, skew: timedelta, send_issued_at: bool
) -> None:
    iam.skew = skew
    iam.send_issued_at = send_issued_at
    auth = make_iam_auth(iam, session, clock)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    assert iam.logins == 1  # never a login per request, whatever the skew
    if send_issued_at:
        # IAM's issued_at and expires_at give the true lifetime by IAM's own clock.
        clock.advance(hours=23)
        assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
        clock.advance(hours=1)
        assert auth(blank_request()).headers["X-Auth-Token"] == "token-2"


@pytest.mark.parametrize("send_issued_at", [True, False])
def test_short_lived_token_refreshes_at_half_life(
    iam: FakeIAM, session: requests.Session, clock: FakeClock, send_issued_at: bool
) -> None:
    iam.lifetime = timedelta(seconds=10)
    iam.send_issued_at = send_issued_at
    auth = make_iam_auth(iam, session, clock)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    clock.advance(seconds=4)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-1"
    clock.advance(seconds=2)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-2"


def test_handle_unauthorized_relogs_in_once(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    auth = make_iam_auth(iam, session, clock)
    refused = auth(blank_request())

    assert auth.handle_unauthorized(refused)
    assert iam.logins == 1  # the re-login is lazy too
    second = auth(blank_request())
    assert second.headers["X-Auth-Token"] == "token-2"

    # The token from that re-login is refused as well: retrying cannot help.
    assert not auth.handle_unauthorized(second)
    assert not auth.handle_unauthorized(second)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-2"
    assert iam.logins == 2

    # A request that still carried the replaced token is worth retrying with the new one.
    assert auth.handle_unauthorized(refused)

    # A scheduled refresh starts a new run: its token gets one re-login again.
    clock.advance(hours=24)
    third = auth(blank_request())
    assert third.headers["X-Auth-Token"] == "token-3"
    assert auth.handle_unauthorized(third)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-4"


def test_handle_unauthorized_without_token_is_final(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    assert not make_iam_auth(iam, session, clock).handle_unauthorized(blank_request())


def test_unauthorized_then_retry_over_real_http(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    # The loop the stream runs: send, on 401 ask, re-authenticate, send again.
    auth = make_iam_auth(iam, session, clock)
    request = auth(blank_request(f"{iam.url}/protected"))
    assert session.send(request).status_code == 200
    iam.valid_tokens.clear()  # revoked server-side
    response = session.send(request)
    assert response.status_code == 401
    assert auth.handle_unauthorized(request)
    response = session.send(auth(request))
    assert response.status_code == 200
    assert request.headers["X-Auth-Token"] == "token-2"


def test_login_ignores_the_session_auth(iam: FakeIAM, session: requests.Session, clock: FakeClock) -> None:
    # singer-sdk sets session.auth to the stream's authenticator: logging in through that
    # session must not call the authenticator again (it would deadlock on its own lock).
    auth = make_iam_auth(iam, session, clock)
    session.auth = auth
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(session.get(f"{iam.url}/protected").status_code), daemon=True
    )
    worker.start()
    worker.join(timeout=10)
    assert done == [200]
    assert iam.logins == 1


@pytest.mark.parametrize("iam_url", ["127.0.0.1:1", "ftp://127.0.0.1:1"])
def test_malformed_iam_url(session: requests.Session, clock: FakeClock, iam_url: str) -> None:
    auth = IamTokenAuth(
        IamPasswordCredentials("etl-user", PASSWORD, "my-account"),
        iam_url=iam_url,
        project_id=PROJECT,
        session=session,
    )
    with pytest.raises(AuthenticationError, match="check iam_url") as info:
        auth(blank_request())
    assert PASSWORD not in str(info.value)


def test_concurrent_threads_trigger_one_login(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    iam.login_delay = 0.2
    auth = make_iam_auth(iam, session, clock)
    tokens: list[str] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        tokens.append(auth(blank_request()).headers["X-Auth-Token"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert iam.logins == 1
    assert tokens == ["token-1"] * 8


def test_concurrent_unauthorized_triggers_one_relogin(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    auth = make_iam_auth(iam, session, clock)
    refused = [auth(blank_request()) for _ in range(6)]
    iam.login_delay = 0.1
    answers: list[bool] = []
    tokens: list[str] = []
    barrier = threading.Barrier(len(refused))

    def work(request: requests.PreparedRequest) -> None:
        barrier.wait()
        answers.append(auth.handle_unauthorized(request))
        tokens.append(auth(request).headers["X-Auth-Token"])

    threads = [threading.Thread(target=work, args=(r,)) for r in refused]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 6
    assert tokens == ["token-2"] * 6
    assert iam.logins == 2


def test_login_refused_names_the_settings_without_password(
    iam: FakeIAM, session: requests.Session, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    iam.script = [(401, {"error": {"code": "1101", "message": "The username or password is wrong."}})]
    auth = make_iam_auth(iam, session, clock)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        auth(blank_request())
    message = str(info.value)
    for setting in ("iam_username", "iam_password", "iam_domain_name", "iam_url"):
        assert setting in message
    assert "The username or password is wrong." in message
    assert "etl-user" in message
    assert PASSWORD not in message
    assert PASSWORD not in caplog.text
    assert info.value.__cause__ is None

    # IAM locks users after a few wrong passwords: later calls do not try again.
    with pytest.raises(AuthenticationError):
        auth(blank_request())
    assert iam.logins == 1


def test_login_error_echoing_the_password_is_scrubbed(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    iam.script = [(400, {"error_code": "X", "error_msg": f"bad body: password={PASSWORD}"})]
    with pytest.raises(AuthenticationError) as info:
        make_iam_auth(iam, session, clock)(blank_request())
    assert PASSWORD not in str(info.value)
    assert "bad body" in str(info.value)


def test_transient_login_errors_are_retried(
    iam: FakeIAM, session: requests.Session, clock: FakeClock
) -> None:
    iam.script = [(503, {"error_msg": "busy"}), (429, {"error_msg": "slow down"})]
    auth = make_iam_auth(iam, session, clock)
    assert auth(blank_request()).headers["X-Auth-Token"] == "token-3"
    assert iam.logins == 3


def test_a_throttled_login_waits_as_long_as_retry_after_asks(
    iam: FakeIAM, session: requests.Session, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # IAM's 429 says how long to wait; the login's own backoff (0.01 s here) must not cut it short.
    iam.script = [(429, {"error_msg": "slow down"}, {"Retry-After": "1.5"})]
    auth = make_iam_auth(iam, session, clock)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert auth(blank_request()).headers["X-Auth-Token"] == "token-2"
    assert time.monotonic() - started >= 1.5
    assert "retrying in 1.5 s" in caplog.text
    assert "Retry-After 1.5 s" in caplog.text


def test_a_login_retry_after_beyond_the_cap_is_capped() -> None:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "86400"
    asked = retry_after(response)
    assert asked is not None
    assert asked.wait == MAX_RETRY_AFTER_SECONDS
    assert "capped" in asked.describe()


def test_unreachable_iam_raises_after_retries(
    session: requests.Session, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = IamTokenAuth(
        IamPasswordCredentials("etl-user", PASSWORD, "my-account"),
        iam_url=f"http://127.0.0.1:{port}",
        project_id=PROJECT,
        session=session,
        timeout=2,
        clock=clock,
        login_tries=3,
        retry_wait=0.01,
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        auth(blank_request())
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "iam_url" in message
    assert "3 tries" in message
    assert PASSWORD not in message
    assert PASSWORD not in caplog.text


def test_login_without_subject_token(iam: FakeIAM, session: requests.Session, clock: FakeClock) -> None:
    iam.omit_subject_token = True
    with pytest.raises(AuthenticationError, match="X-Subject-Token"):
        make_iam_auth(iam, session, clock)(blank_request())


def test_no_secret_in_repr_or_logs(
    iam: FakeIAM, session: requests.Session, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    auth = make_iam_auth(iam, session, clock)
    with caplog.at_level(logging.DEBUG):
        token = auth(blank_request()).headers["X-Auth-Token"]
    text = repr(auth) + str(auth)
    assert "etl-user" in text
    for secret in (PASSWORD, token):
        assert secret not in text
        assert secret not in caplog.text


# --- factory -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "kind"),
    [
        (AkSkCredentials("AK", "SK"), AkSkAuth),
        (IamPasswordCredentials("u", "p", "d"), IamTokenAuth),
        (TokenCredentials("t"), StaticTokenAuth),
    ],
)
def test_build_authenticator(credentials: Any, kind: type[DLFAuth], session: requests.Session) -> None:
    auth = build_authenticator(
        credentials,
        project_id=PROJECT,
        iam_url="https://iam.cn-north-4.myhuaweicloud.com",
        session=session,
        timeout=30,
    )
    assert isinstance(auth, kind)
    assert isinstance(auth, DLFAuth)
    assert isinstance(auth, requests.auth.AuthBase)
