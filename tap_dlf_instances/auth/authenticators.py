"""``requests`` authenticators for the three ways to reach DataArts Factory: AK/SK signing and
a ready token here, IAM password login in ``iam_token``; ``build_authenticator`` picks one.

Each one mutates a ``requests.PreparedRequest`` in place and is safe to share between the
worker threads of one session. The stream calls ``handle_unauthorized`` on a ``401`` to learn
whether sending the request again can help.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from tap_dlf_instances import scrubbing
from tap_dlf_instances.auth import signing
from tap_dlf_instances.auth.base import PROJECT_HEADER, TOKEN_HEADER, Clock, DLFAuth, utc_now
from tap_dlf_instances.auth.credentials import (
    AkSkCredentials,
    Credentials,
    IamPasswordCredentials,
    TokenCredentials,
)
from tap_dlf_instances.auth.iam_token import IamTokenAuth

LOGGER = logging.getLogger(__name__)

SECURITY_TOKEN_HEADER = "X-Security-Token"  # noqa: S105 (a header name)
# Only headers we set ourselves are signed: proxies may rewrite User-Agent, Accept, Connection.
SIGNED_HEADERS = frozenset(
    {"host", "x-sdk-date", "x-security-token", "x-project-id", "workspace", "content-type"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}


class AkSkAuth(DLFAuth):
    """Signs requests with an access key pair (``SDK-HMAC-SHA256``)."""

    def __init__(
        self,
        credentials: AkSkCredentials,
        project_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.credentials = credentials
        self.project_id = project_id
        self._clock = clock or utc_now
        scrubbing.register(credentials.secret_access_key)
        scrubbing.register(credentials.security_token)

    def __repr__(self) -> str:
        key = self.credentials.access_key_id
        return f"AkSkAuth(access_key_id={key!r}, project_id={self.project_id!r})"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url or "")
        # The wire must carry exactly the query that is signed, so the query is rewritten to the
        # canonical form before signing rather than canonicalized on the side.
        query = signing.canonical_query(signing.query_pairs(parts.query))
        r.url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

        r.headers["Host"] = host_header(parts.scheme, parts.netloc)
        r.headers[signing.DATE_HEADER] = signing.sdk_date(self._clock())
        if self.credentials.security_token:
            r.headers[SECURITY_TOKEN_HEADER] = self.credentials.security_token
        else:
            r.headers.pop(SECURITY_TOKEN_HEADER, None)
        if self.project_id:
            r.headers[PROJECT_HEADER] = self.project_id

        to_sign = {name: value for name, value in r.headers.items() if name.lower() in SIGNED_HEADERS}
        r.headers["Authorization"] = signing.sign(
            method=r.method or "GET",
            path=parts.path or "/",
            raw_query=query,
            headers=to_sign,
            body=body_bytes(r.body),
            access_key=self.credentials.access_key_id,
            secret_key=self.credentials.secret_access_key,
        )
        return r


class StaticTokenAuth(DLFAuth):
    """Sends a ready IAM token as it is; it cannot be renewed, so a ``401`` is final."""

    def __init__(self, credentials: TokenCredentials, project_id: str | None = None) -> None:
        self.credentials = credentials
        self.project_id = project_id
        scrubbing.register(credentials.token)

    def __repr__(self) -> str:
        return f"StaticTokenAuth(project_id={self.project_id!r})"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[TOKEN_HEADER] = self.credentials.token
        if self.project_id:
            r.headers[PROJECT_HEADER] = self.project_id
        return r


def build_authenticator(
    credentials: Credentials,
    *,
    project_id: str,
    iam_url: str,
    session: requests.Session,
    timeout: float,
) -> DLFAuth:
    """The authenticator for the configured kind of credentials."""
    if isinstance(credentials, AkSkCredentials):
        return AkSkAuth(credentials, project_id=project_id)
    if isinstance(credentials, IamPasswordCredentials):
        return IamTokenAuth(
            credentials, iam_url=iam_url, project_id=project_id, session=session, timeout=timeout
        )
    return StaticTokenAuth(credentials, project_id=project_id)


def host_header(scheme: str, netloc: str) -> str:
    """``Host`` as the SDK signs it: host, plus the port unless it is the scheme's default."""
    hostport = netloc.rpartition("@")[2]
    host, sep, port = hostport.rpartition(":")
    if "]" in port:
        return hostport  # a bare IPv6 literal such as [::1]
    if sep and port.isdigit() and int(port) == DEFAULT_PORTS.get(scheme.lower()):
        return host
    return hostport


def body_bytes(body: bytes | str | Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError("AK/SK signing needs the whole body in memory, not a stream or file")
