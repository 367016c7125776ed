"""The simulated API on loopback: gateway behaviour (routing, auth, throttling, faults, latency)
in front of the DataArts Factory routes, plus IAM's token route and ``/_sim/`` admin routes."""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from dlf_simulator import alarms, api, patch_data, v1, v1_listing
from dlf_simulator.advance import advance
from dlf_simulator.auth import (
    DEMO_ACCESS_KEY,
    DEMO_IAM_DOMAIN,
    DEMO_IAM_PASSWORD,
    DEMO_IAM_USER,
    DEMO_SECRET_KEY,
    DEMO_SECURITY_TOKEN,
    DEMO_TEMP_ACCESS_KEY,
    DEMO_TEMP_SECRET_KEY,
    DEMO_TOKEN,
    Authenticator,
    AuthError,
)
from dlf_simulator.dataset import Dataset, Instance
from dlf_simulator.faults import (
    FaultPlan,
    FaultRule,
    RateLimiter,
    echo_body,
    error_200_body,
    fault_error_body,
    first_page_query,
    html_page,
    repeated_page,
    short_page,
    throttle_body,
)
from dlf_simulator.seeding import demo_dataset
from dlf_simulator.stats import Stats

JSON_TYPE = "application/json;charset=UTF-8"
NO_ROUTE = {
    "error_code": "APIGW.0101",
    "error_msg": "The API does not exist or has not been published in the environment",
}
AUTH_MODES = ("aksk", "aksk_temporary", "iam", "token")


@dataclass(frozen=True)
class SimConfig:
    """How the simulated API behaves; the defaults are the harshest reading of the contract."""

    offset_mode: str = "page"  # "page": offset is a page index; "row": a row offset
    alarm_offset_mode: str = "row"  # the same on the alarm-info route (simulator/alarms.py says why)
    filter_field: str = "plan_time"  # or "start_time": the docs' own words for the bounds
    rate_limit_per_user: int | None = 10  # per any 1 s interval; None disables
    retry_after: float | None = None  # Retry-After on 429s; absent by default, as in the wild
    latency_ms: float = 0.0
    token_ttl_seconds: float = 86400.0
    require_workspace: bool = False  # missing ``workspace`` header -> 400 APIGW.0106
    max_window_days: float = 30.0
    v1_listing: bool = True  # serve DLF V1 ListJobInstances; off: it answers 404 APIGW.0101
    v1_max_span_days: float = 7.0  # the widest minPlanTime..maxPlanTime it accepts
    max_clock_skew_seconds: float = 900.0
    lockout_threshold: int = 5
    lockout_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.offset_mode not in ("page", "row"):
            raise ValueError("offset_mode must be 'page' or 'row'")
        if self.alarm_offset_mode not in ("page", "row"):
            raise ValueError("alarm_offset_mode must be 'page' or 'row'")
        if self.filter_field not in ("plan_time", "start_time"):
            raise ValueError("filter_field must be 'plan_time' or 'start_time'")


@dataclass
class Outcome:
    """A response to write (or, with ``drop``, a connection to close without one)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE
    drop: bool = False
    delay: float = 0.0  # seconds to wait before answering
    trickle: tuple[int, float] | None = None  # (bytes, seconds): send the answer that slowly


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Outcome:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        body = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (hostile data) goes out as a JSON escape
        body = json.dumps(payload, separators=(",", ":")).encode()
    return Outcome(status, body, headers or {})


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the simulator only binds loopback addresses, not {host!r}")


class SimulatedDLF:
    """DataArts Factory + IAM on ``http://127.0.0.1:<port>``; also a context manager."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_loopback(host)
        self.ssl_context = ssl_context  # serve https with it (tests of certificate checks)
        self.dataset = dataset if dataset is not None else demo_dataset()
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.clock = clock
        self.auth = Authenticator(
            lambda: {self.dataset.project_id},
            clock,
            token_ttl_seconds=self.config.token_ttl_seconds,
            max_clock_skew_seconds=self.config.max_clock_skew_seconds,
            lockout_threshold=self.config.lockout_threshold,
            lockout_seconds=self.config.lockout_seconds,
        )
        self.auth.add_demo_credentials()
        self.faults = FaultPlan()
        self.limiter = RateLimiter(self.config.rate_limit_per_user)
        self._stats = Stats()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._advances = 0
        self._advance_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> SimulatedDLF:
        server = _Server((self.host, self.port), _Handler)
        server.sim = self
        if self.ssl_context is not None:
            # The handshake happens in each request's thread (on first read), not in accept().
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatedDLF:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    # --- test and admin operations ------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def set_faults(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replace the fault plan (see :mod:`dlf_simulator.faults`)."""
        self.faults.replace(rules)

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        snapshot = self._stats.snapshot()
        snapshot["now_ms"] = int(now * 1000)
        snapshot["now"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        snapshot["faults"] = self.faults.describe()
        return snapshot

    def reset_stats(self) -> None:
        self._stats.reset()

    def advance(self, now_ms: int | None = None) -> dict[str, Any]:
        """Let time pass (see :func:`advance.advance`); deterministic per dataset seed and call."""
        with self._advance_lock:
            self._advances += 1
            rng = random.Random(self.dataset.seed * 1_000_003 + self._advances)
        return advance(self.dataset, self.now_ms() if now_ms is None else now_ms, rng)

    def add_instance(self, job_name: str, plan_time: int, **fields: Any) -> Instance:
        return self.dataset.add_instance(job_name, plan_time, **fields)

    def update_instance(self, instance_id: int, **changes: Any) -> Instance:
        return self.dataset.update_instance(instance_id, **changes)

    def apply_instances(self, rows: Iterable[Mapping[str, Any]]) -> list[Instance]:
        """Update rows whose ``instance_id`` exists, add the others (``job_name`` and
        ``plan_time`` required, ``workspace`` optional)."""
        done: list[Instance] = []
        for raw in rows:
            row = dict(raw)
            iid = row.get("instance_id")
            if iid is not None and self.dataset.get_instance(iid) is not None:
                row.pop("instance_id")
                row.pop("job_name", None)
                row.pop("workspace", None)
                done.append(self.dataset.update_instance(iid, **row))
            else:
                name, plan = row.pop("job_name"), row.pop("plan_time")
                done.append(self.dataset.add_instance(name, plan, **row))
        return done

    def patch(
        self,
        jobs: list[str],
        start: int,
        end: int,
        *,
        submitted: int | None = None,
        status: str = "SUCCESS",
        name: str | None = None,
        workspace: str | None = None,
    ) -> dict[str, Any]:
        """A PatchData run of ``jobs`` over plan times ``[start, end]`` (ms), submitted now (or at
        ``submitted``), with its type-5 instances; RUNNING makes half of them (see patch_data)."""
        now = self.now_ms()
        run, made = patch_data.create_run(
            self.dataset,
            jobs,
            start,
            end,
            submitted=now if submitted is None else submitted,
            status=status,
            name=name,
            workspace=workspace,
            now_ms=now,
        )
        return {"run": run.to_api(), "added_ids": [inst.instance_id for inst in made]}

    def finish_patch(self, name: str) -> dict[str, Any]:
        """A RUNNING PatchData run ends, its remaining instances made."""
        run, made = patch_data.finish_run(self.dataset, name, now_ms=self.now_ms())
        return {"run": run.to_api(), "added_ids": [inst.instance_id for inst in made]}

    def request_log(self) -> list[dict[str, Any]]:
        """Every API request so far (since the last stats reset): route, path and query."""
        return self._stats.requests_seen()

    def unlock(self, access_key_id: str) -> None:
        self.auth.unlock(access_key_id)

    def tap_config(self, auth: str = "aksk", workspace: str | None = None) -> dict[str, Any]:
        """A ready tap config for this server: ``auth`` is aksk, aksk_temporary, iam or token."""
        config: dict[str, Any] = {
            "project_id": self.dataset.project_id,
            "api_url": self.url,
            "iam_url": self.url,
        }
        if workspace is not None:
            config["workspace"] = workspace
        if auth == "aksk":
            config.update(access_key_id=DEMO_ACCESS_KEY, secret_access_key=DEMO_SECRET_KEY)
        elif auth == "aksk_temporary":
            config.update(
                access_key_id=DEMO_TEMP_ACCESS_KEY,
                secret_access_key=DEMO_TEMP_SECRET_KEY,
                security_token=DEMO_SECURITY_TOKEN,
            )
        elif auth == "iam":
            config.update(
                iam_username=DEMO_IAM_USER,
                iam_password=DEMO_IAM_PASSWORD,
                iam_domain_name=DEMO_IAM_DOMAIN,
            )
        elif auth == "token":
            config["auth_token"] = DEMO_TOKEN
        else:
            raise ValueError(f"auth must be one of {AUTH_MODES}, not {auth!r}")
        return config

    # --- request handling ---------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        """Everything but the socket I/O, so the routing is testable without HTTP."""
        if raw_path.startswith("/_sim/"):
            return self._admin(method, raw_path, raw_query, body)
        if raw_path == "/v3/auth/tokens" and method == "POST":
            self._stats.request("iam_tokens")
            fault = self.faults.pick(raw_path, explicit_only=True)
            faulty = self._fault_answer(
                fault, method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, body=body
            )
            if faulty is not None:
                return faulty
            status, extra, payload = self.auth.login(body)
            return _altered(_json(status, payload, extra), fault)
        segments = [unquote(s) for s in raw_path.split("/")]
        route = _route(segments) if method == "GET" else None
        if route == "v1_instances" and not self.config.v1_listing:
            route = None  # a region or gateway without the V1 listing
        if route is None:
            self._stats.request("unknown")
            return _json(404, NO_ROUTE)
        self._stats.request(route)
        self._stats.log_request(route, segments, raw_query)
        outcome = self._gateway(
            route=route,
            segments=segments,
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
        )
        outcome.delay += self.config.latency_ms / 1000
        return outcome

    def _gateway(
        self,
        *,
        route: str,
        segments: list[str],
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome:
        try:
            principal = self.auth.verify(method, raw_path, raw_query, headers, body)
        except AuthError as failure:
            return _json(failure.status, failure.body())
        now = self.clock()
        self._stats.user(principal.user, now)
        if not self.limiter.admit(principal.user, now):
            self._stats.throttle()
            return self._throttled(self.config.retry_after)
        fault = self.faults.pick("/".join(segments))
        faulty = self._fault_answer(
            fault, method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, body=body
        )
        if faulty is not None:
            return faulty
        if fault is not None and fault.kind == "repeat":
            raw_query = first_page_query(raw_query)
        if fault is not None and fault.kind == "unsorted":
            raw_query = "&".join(
                [p for p in raw_query.split("&") if not p.startswith("sort=")] + ["sort=asc"]
            )
        outcome = self._backend(route, segments, principal.project_id, headers, raw_query)
        if fault is not None and fault.kind == "repeat" and outcome.status == 200:
            outcome.body = _json(200, repeated_page(json.loads(outcome.body), fault)).body
        if fault is not None and fault.kind == "short" and outcome.status == 200:
            outcome.body = _json(200, short_page(json.loads(outcome.body))).body
        return _altered(outcome, fault)

    def _fault_answer(
        self,
        fault: FaultRule | None,
        *,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome | None:
        """The answer a fault gives instead of the real one (API and IAM routes alike), or None
        where the fault only alters the real answer (see ``_altered``) or there is none. Counts
        the fault in the stats either way."""
        if fault is None:
            return None
        self._stats.fault(fault.kind)
        if fault.kind == "status":
            return _json(fault.status or 503, fault_error_body(fault))
        if fault.kind == "throttle":
            self._stats.throttle()
            return self._throttled(fault.retry_after)
        if fault.kind == "html":
            status = fault.status or 502
            return Outcome(status, html_page(status), content_type="text/html")
        if fault.kind == "drop":
            return Outcome(0, drop=True)
        if fault.kind == "error_body":
            return _json(fault.status or 200, error_200_body(fault))
        if fault.kind == "body":
            return _json(fault.status or 200, fault.body)
        if fault.kind == "redirect":  # without a location: to itself, a redirect loop
            here = f"{self.url}{raw_path}" + (f"?{raw_query}" if raw_query else "")
            return Outcome(fault.status or 302, b"", {"Location": fault.location or here})
        if fault.kind == "echo":
            return _json(fault.status or 400, echo_body(fault, method, raw_path, headers, body))
        return None

    def _throttled(self, retry_after: float | None) -> Outcome:
        extra = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
        return _json(429, throttle_body(self.limiter.limit or 10), extra)

    def _backend(
        self,
        route: str,
        segments: list[str],
        token_project: str | None,
        headers: Mapping[str, str],
        raw_query: str,
    ) -> Outcome:
        project_id = segments[2]
        if project_id != self.dataset.project_id or token_project not in (None, project_id):
            return _json(
                403,
                {
                    "error_code": "APIGW.0302",
                    "error_msg": "The IAM user is not authorized to access the API: "
                    f"unknown project {project_id}",
                },
            )
        lowered = {name.lower(): value for name, value in headers.items()}
        workspace = lowered.get("workspace")
        if not workspace:
            if self.config.require_workspace:
                return _json(400, {"error_code": "APIGW.0106", "error_msg": "Orchestration error."})
            workspace = self.dataset.default_workspace
        if workspace not in self.dataset.workspaces:
            return _json(
                403,
                {
                    "error_code": "DLF.6888",
                    "error_msg": f"The account permission is invalid: no workspace {workspace}.",
                },
            )
        try:
            if route == "instances":
                reply = api.instances(
                    self.dataset,
                    workspace,
                    segments[5],
                    raw_query,
                    now_ms=self.now_ms(),
                    offset_mode=self.config.offset_mode,
                    filter_field=self.config.filter_field,
                    max_window_days=self.config.max_window_days,
                )
            elif route == "alarm-info":
                reply = alarms.alarm_info(
                    self.dataset,
                    workspace,
                    raw_query,
                    now_ms=self.now_ms(),
                    offset_mode=self.config.alarm_offset_mode,
                    max_window_days=self.config.max_window_days,
                )
            elif route == "v1_instances":
                reply = v1_listing.list_job_instances(
                    self.dataset,
                    workspace,
                    raw_query,
                    now_ms=self.now_ms(),
                    offset_mode=self.config.offset_mode,
                    filter_field=self.config.filter_field,
                    max_span_days=self.config.v1_max_span_days,
                )
            elif route.startswith("v1_"):
                reply = v1.answer(route, self.dataset, workspace, segments, now_ms=self.now_ms())
            elif route == "jobs":
                reply = api.jobs(self.dataset, workspace, raw_query, offset_mode=self.config.offset_mode)
            elif route == "supplement_data":
                reply = _patch_listing(self.dataset, workspace, raw_query)
            else:
                reply = api.job_detail(self.dataset, workspace, segments[5])
        except api.BadRequestError as bad:
            reply = bad.reply
        return _json(reply.status, reply.body)

    def _admin(self, method: str, raw_path: str, raw_query: str, body: bytes) -> Outcome:
        try:
            payload = json.loads(body) if body.strip() else None
            return self._admin_route(method, raw_path, raw_query, payload)
        except (ValueError, KeyError, TypeError) as error:
            return _json(400, {"error": f"{type(error).__name__}: {error}"})

    def _admin_route(self, method: str, raw_path: str, raw_query: str, payload: Any) -> Outcome:
        params = api.parse_params(raw_query)
        if (method, raw_path) == ("GET", "/_sim/stats"):
            return _json(200, self.stats())
        if (method, raw_path) == ("POST", "/_sim/reset-stats"):
            self.reset_stats()
            return _json(200, self.stats())
        if raw_path == "/_sim/faults" and method in ("GET", "POST"):
            if method == "POST":
                rules = payload.get("faults", []) if isinstance(payload, dict) else payload
                self.set_faults(rules or [])
            return _json(200, {"faults": self.faults.describe()})
        if (method, raw_path) == ("POST", "/_sim/advance"):
            now = payload.get("now") if isinstance(payload, dict) else None
            return _json(200, self.advance(now))
        if (method, raw_path) == ("POST", "/_sim/instances"):
            rows = payload.get("instances", []) if isinstance(payload, dict) else payload
            done = self.apply_instances(rows)
            return _json(200, {"instances": [inst.to_api() for inst in done]})
        if (method, raw_path) == ("GET", "/_sim/instances"):
            found = self.dataset.instances(params["job_name"], params.get("workspace"))
            return _json(200, {"instances": [inst.to_api() for inst in reversed(found)]})
        if (method, raw_path) == ("POST", "/_sim/jobs"):
            job = self.dataset.add_job(
                payload.pop("name"), workspace=payload.pop("workspace", None), **payload
            )
            return _json(200, self.dataset.job_summary(job))
        if (method, raw_path) == ("POST", "/_sim/patch"):
            return _json(200, self.patch(**payload))
        if (method, raw_path) == ("POST", "/_sim/patch/finish"):
            return _json(200, self.finish_patch(payload["name"]))
        if (method, raw_path) == ("GET", "/_sim/requests"):
            return _json(200, {"requests": self.request_log()})
        if (method, raw_path) == ("POST", "/_sim/unlock"):
            self.unlock(payload["access_key"])
            return _json(200, {"unlocked": payload["access_key"]})
        if (method, raw_path) == ("GET", "/_sim/tap-config"):
            return _json(200, self.tap_config(params.get("auth", "aksk"), params.get("workspace")))
        return _json(404, {"error": f"no admin route {method} {raw_path}"})

    def record_status(self, status: int | str) -> None:
        self._stats.status(status)

    def in_flight_gauge(self) -> Stats:
        """Counts the API requests being answered at once (``peak_in_flight`` in the stats)."""
        return self._stats


def _altered(outcome: Outcome, fault: FaultRule | None) -> Outcome:
    """The real answer as a fault that lets it through alters it: late, cut short, trickled."""
    if fault is None:
        return outcome
    if fault.kind == "slow":
        outcome.delay += fault.seconds
    if fault.kind == "truncated":
        outcome.body = outcome.body[: max(len(outcome.body) // 2, 1)]
    if fault.kind == "trickle":
        outcome.trickle = (fault.bytes, fault.seconds)
    return outcome


def _patch_listing(dataset: Dataset, workspace: str, raw_query: str) -> api.Reply:
    try:
        return api.Reply(200, patch_data.listing(dataset, workspace, api.parse_params(raw_query)))
    except patch_data.PatchQueryError as bad:
        raise api.BadRequestError(str(bad)) from None


def _route(segments: list[str]) -> str | None:
    """Route name for a decoded ``/v2/...`` (or DLF V1) path, or None (-> APIGW.0101)."""
    if segments[:2] == ["", "v1"]:
        return v1.route(segments)
    if (
        segments[:2] == ["", "v2"]
        and segments[2:3] != [""]
        and segments[3:] == ["factory", "supplement-data"]
    ):
        return "supplement_data"
    if len(segments) < 5 or segments[:2] != ["", "v2"] or segments[3] != "factory" or not segments[2]:
        return None
    if segments[4:] == ["alarm-info"]:
        return "alarm-info"
    if segments[4] != "jobs":
        return None
    if len(segments) == 5:
        return "jobs"
    if len(segments) == 6 and segments[5]:
        return "job"
    if len(segments) == 8 and segments[5] and segments[6:] == ["instances", "detail"]:
        return "instances"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a "slow" fault in flight must not hold up stop()
    request_queue_size = 128
    sim: SimulatedDLF

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or was killed hangs up mid-answer: expected here, not news.
        # A client that refused the certificate ends the TLS handshake: expected too.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response on loopback.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        raw_path = self.path.partition("?")[0]
        if raw_path.startswith("/_sim/"):
            self._answer(method)
            return
        in_flight = self.server.sim.in_flight_gauge()
        in_flight.enter()
        try:
            self._answer(method)
        finally:
            in_flight.leave()

    def _answer(self, method: str) -> None:
        sim = self.server.sim
        raw_path, _, raw_query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name: value for name, value in self.headers.items()}
        try:
            outcome = sim.handle(method, raw_path, raw_query, headers, body)
        except Exception as error:  # the simulator's own bug: answer, do not hang the client
            outcome = _json(500, {"error_code": "DLF.0001", "error_msg": repr(error)})
        if outcome.delay > 0:
            time.sleep(outcome.delay)
        counted = not raw_path.startswith("/_sim/")
        if outcome.drop:
            if counted:
                sim.record_status("dropped")
            self.close_connection = True
            return
        if counted:
            sim.record_status(outcome.status)
        if outcome.trickle is not None:
            self._trickle(outcome, *outcome.trickle)
            return
        self.send_response(outcome.status)
        self.send_header("Content-Type", outcome.content_type)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(outcome.body)

    def _trickle(self, outcome: Outcome, size: int, seconds: float) -> None:
        """The whole answer, status line and headers included, ``size`` bytes every ``seconds``,
        until done or the client hangs up."""
        head = [f"HTTP/1.1 {outcome.status} X", f"Content-Type: {outcome.content_type}"]
        head += [f"Content-Length: {len(outcome.body)}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in outcome.headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + outcome.body
        self.close_connection = True
        for start in range(0, len(raw), size):
            self.wfile.write(raw[start : start + size])
            self.wfile.flush()
            time.sleep(seconds)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benchmarks read :meth:`SimulatedDLF.stats` instead."""
