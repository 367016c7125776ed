"""The HTTP session every request of the tap goes through (API pages, jobs list, IAM login).

What it adds to ``requests.Session``, and why each thing is not simply a setting:

- **No redirects, ever.** The API and IAM never redirect; following one would send the signed
  headers, the token or the IAM password body to whatever host the ``Location`` names.
  ``Session.send`` follows by default and ``Session.request`` (the IAM login) too, so ``send``
  forces ``allow_redirects=False``; a 3xx then reaches the caller, which fails naming the setting.
- **One CA setting for every request.** ``Session.send`` (what singer-sdk calls) does not read
  ``REQUESTS_CA_BUNDLE``; ``Session.request`` does, so API calls and the IAM login used to trust
  different CAs. The CA is resolved once (``ca_bundle``, then the environment) and used by both.
  Certificates are always verified.
- **A deadline for the whole response.** requests' and urllib3's ``timeout`` bounds each socket
  read, so a server sending one byte a second keeps a request alive for ever. No library option
  bounds a whole response, so a timer shuts the connection's socket down when ``request_timeout``
  has passed since the request started; the blocked read then fails, and the request fails as a
  ``ResponseDeadlineExceeded`` (a ``requests.Timeout``, retried like any timeout).
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError
from urllib3.poolmanager import PoolManager

from tap_dlf_instances.errors import ConfigError

#: Where a CA bundle may come from besides ``ca_bundle``, in the order requests/curl/OpenSSL use.
CA_ENVIRONMENT = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


class ResponseDeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole response did not arrive within the deadline."""


def resolve_verify(ca_bundle: str | None, environ: Mapping[str, str] | None = None) -> str | bool:
    """What to verify server certificates with: ``ca_bundle``, else the first CA variable of the
    environment that is set, else requests' own bundle (``True``)."""
    if ca_bundle:
        return ca_bundle
    environ = os.environ if environ is None else environ
    for name in CA_ENVIRONMENT:
        value = environ.get(name)
        if value:
            if not Path(value).exists():
                raise ConfigError(
                    f"Environment variable {name} must name a file (or directory) of CA certificates; "
                    f"{value!r} does not exist. Fix or unset it, or set `ca_bundle`."
                )
            return value
    return True


class _Deadline:
    """Shuts the watched socket down once ``seconds`` have passed, unless finished first."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def finish(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


# The deadline of the request the current thread is sending; the connection classes below find
# it here because urllib3 creates and reuses connections out of the session's sight.
_current = threading.local()


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)  # before the TLS handshake, which the deadline covers too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection, reused
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _use_watched_pools(manager: PoolManager) -> None:
    manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections report their socket to the current deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_watched_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # A SOCKS manager has its own pool classes (they carry the proxy): left as they are, so
        # through a SOCKS proxy only requests' per-read timeout applies.
        if isinstance(manager, PoolManager) and not proxy.lower().startswith("socks"):
            _use_watched_pools(manager)
        return manager


class DLFSession(requests.Session):
    """A ``requests.Session`` that never follows redirects, verifies certificates with the
    configured CA, and bounds each whole response by ``deadline_seconds``."""

    def __init__(self, *, deadline_seconds: float, verify: str | bool = True, pool_maxsize: int = 10) -> None:
        super().__init__()
        self.deadline_seconds = deadline_seconds
        self.verify = verify
        adapter = _WatchedAdapter(pool_connections=4, pool_maxsize=pool_maxsize)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self._answered: set[str] = set()
        self._answered_lock = threading.Lock()

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
        settings = super().merge_environment_settings(*args, **kwargs)
        settings["verify"] = self.verify  # the same CA as every other request, resolved once
        return settings

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        deadline = _Deadline(self.deadline_seconds)
        _current.deadline = deadline
        deadline.start()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException:
            if deadline.expired:
                raise self._deadline_error(request) from None
            raise
        finally:
            deadline.finish()
            _current.deadline = None
        if deadline.expired:  # a body without a length, cut short by the shutdown
            raise self._deadline_error(request)
        with self._answered_lock:
            self._answered.add(_host_of(request.url))
        return response

    def has_answered(self, url: str | None) -> bool:
        """Whether the host of ``url`` has answered a request of this session."""
        with self._answered_lock:
            return _host_of(url) in self._answered

    def _deadline_error(self, request: requests.PreparedRequest) -> ResponseDeadlineExceeded:
        return ResponseDeadlineExceeded(
            f"no complete response within {self.deadline_seconds:g} s (`request_timeout`)",
            request=request,
        )


def _host_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}"


def unretryable_reason(exc: BaseException, *, host_answered: bool) -> str | None:
    """Why retrying ``exc`` cannot help, or None: a name that does not resolve, a refused
    connection to a host that never answered (one that did may be restarting), a TLS handshake
    that failed."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, (NameResolutionError, socket.gaierror)):
            return "the host name does not resolve"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted ({cause.verify_message or cause.reason})"
    for cause in causes:
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)
        ):
            return f"the TLS handshake failed ({cause.reason or cause})"
    if not host_answered and any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return "it refused the connection (nothing listens there)"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests and urllib3 nest the socket error in ``args``,
    ``reason`` and ``__cause__``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        todo.extend(item for item in nested if isinstance(item, BaseException))
