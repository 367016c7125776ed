"""IAM password login: a token obtained from IAM with a user's password, sent with every
request and renewed before it expires. IAM locks a user after a few wrong passwords, so one
refusal ends every login of the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import backoff
import requests

from tap_dlf_instances import scrubbing
from tap_dlf_instances.api.retry_after import RetryAfter, retry_after, retry_waits
from tap_dlf_instances.api.transport import DLFSession, unretryable_reason
from tap_dlf_instances.auth.base import PROJECT_HEADER, TOKEN_HEADER, Clock, DLFAuth, utc_now
from tap_dlf_instances.auth.credentials import (
    IamPasswordCredentials,
)
from tap_dlf_instances.errors import AuthenticationError

LOGGER = logging.getLogger(__name__)

IAM_SETTINGS = "iam_username, iam_password, iam_domain_name and iam_url"
# A 24 h IAM token is used for almost all of its life; this covers a body without expires_at.
FALLBACK_TOKEN_LIFETIME = timedelta(hours=1)
#: The longest wait between two login tries that no Retry-After asked for.
MAX_LOGIN_WAIT_SECONDS = 60.0


def _no_auth(r: requests.PreparedRequest) -> requests.PreparedRequest:
    return r


class _TransientLoginError(Exception):
    """A login answer worth retrying (5xx, 429); the message carries no secret. ``asked`` is
    the 429's ``Retry-After``, if it had one."""

    def __init__(self, message: str, asked: RetryAfter | None = None) -> None:
        super().__init__(message)
        self.asked = asked


class IamTokenAuth(DLFAuth):
    """Logs in to IAM with a user's password, sends the token, renews it before it expires."""

    def __init__(
        self,
        credentials: IamPasswordCredentials,
        *,
        iam_url: str,
        project_id: str,
        session: requests.Session,
        timeout: float = 60,
        refresh_margin: timedelta = timedelta(minutes=30),
        clock: Clock | None = None,
        login_tries: int = 4,
        retry_wait: float = 1.0,
    ) -> None:
        self.credentials = credentials
        scrubbing.register(credentials.password)
        self.iam_url = iam_url.rstrip("/")
        self.project_id = project_id
        self.session = session
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self.login_tries = login_tries
        self.retry_wait = retry_wait
        self._clock = clock or utc_now
        # Held across the login itself: threads that need a token meanwhile wait and reuse it.
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at: datetime | None = None
        self._token_after_401 = False
        self._next_login_after_401 = False
        # IAM locks a user after a few wrong passwords: one refusal ends all logins of the run.
        self._refused: str | None = None

    def __repr__(self) -> str:
        return (
            f"IamTokenAuth(iam_url={self.iam_url!r}, username={self.credentials.username!r}, "
            f"domain_name={self.credentials.domain_name!r}, project_id={self.project_id!r})"
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[TOKEN_HEADER] = self.token()
        r.headers[PROJECT_HEADER] = self.project_id
        return r

    def token(self) -> str:
        """The current token, logging in first when there is none or it is about to expire."""
        with self._lock:
            if self._token is None or self._refresh_at is None or self._clock() >= self._refresh_at:
                self._login()
            assert self._token is not None
            return self._token

    def handle_unauthorized(self, request: requests.PreparedRequest) -> bool:
        carried = request.headers.get(TOKEN_HEADER)
        if not carried:
            return False
        with self._lock:
            if carried != self._token:
                # Another thread already replaced (or dropped) that token: retry with the new one.
                return True
            if self._token_after_401:
                # The token from a re-login forced by a 401 is refused too: the user cannot read.
                return False
            self._token = None
            self._next_login_after_401 = True
            return True

    def _login(self) -> None:
        if self._refused is not None:
            raise AuthenticationError(self._refused)
        obtained_at = self._clock()
        token, lifetime = self._request_token()
        # Renew refresh_margin before expiry, or at half-life for tokens shorter than twice that,
        # so that a token living seconds (tests, odd IAMs) is still used before it dies.
        self._refresh_at = obtained_at + lifetime - min(self.refresh_margin, lifetime / 2)
        self._token = token
        self._token_after_401 = self._next_login_after_401
        self._next_login_after_401 = False
        LOGGER.info("Logged in to IAM as %s; token valid for %s", self.credentials.username, lifetime)

    def _request_token(self) -> tuple[str, timedelta]:
        post = backoff.on_exception(
            self._login_waits,
            (requests.ConnectionError, requests.Timeout, _TransientLoginError),
            max_tries=self.login_tries,
            # Jitter is in _login_waits: backoff's full jitter would cut a Retry-After short.
            jitter=None,
            giveup=lambda exc: self._unretryable(exc) is not None,
            # backoff's own line names the exception class and may span lines (an echoed body).
            logger=None,
            on_backoff=self._log_retry,
        )(self._post_login)
        try:
            response = post()
        except (requests.ConnectionError, requests.Timeout, _TransientLoginError) as exc:
            reason = self._unretryable(exc)
            if reason is not None:
                raise AuthenticationError(
                    f"Could not log in to IAM at {self.iam_url}: {reason}; check `iam_url` or "
                    "`region` (and `ca_bundle` for a private CA). This is not retried."
                ) from None
            raise AuthenticationError(
                f"Could not log in to IAM at {self.iam_url} after {self.login_tries} tries "
                f"({self._scrub(str(exc))}); check iam_url and the network."
            ) from None
        except requests.RequestException as exc:
            raise AuthenticationError(
                f"Could not log in to IAM at {self.iam_url} ({self._scrub(str(exc))}); check iam_url."
            ) from None
        if 300 <= response.status_code < 400:
            # Never followed (DLFSession): the password body must not go where Location says.
            raise AuthenticationError(
                f"IAM at `iam_url` ({self.iam_url}) answered the login with a redirect "
                f"(HTTP {response.status_code}); IAM never redirects, so the tap does not follow "
                "it: check `iam_url` or `region`."
            )
        if response.status_code not in (200, 201):
            self._refused = (
                f"IAM at {self.iam_url} refused the login of user {self.credentials.username!r} "
                f"in domain {self.credentials.domain_name!r} (HTTP {response.status_code}: "
                f"{self._scrub(iam_message(response))}); check {IAM_SETTINGS}."
            )
            raise AuthenticationError(self._refused)
        token = response.headers.get("X-Subject-Token")
        # Known to the scrubber before anything can log it (an API echoing X-Auth-Token back).
        scrubbing.register(token)
        if not token:
            raise AuthenticationError(
                f"IAM at {self.iam_url} answered the login without an X-Subject-Token header; "
                f"check iam_url (it must be the IAM endpoint, e.g. https://iam.<region>.myhuaweicloud.com)."
            )
        return token, token_lifetime(response, self._clock())

    def _login_waits(self) -> Generator[float, Any, None]:
        """The tap's retry policy (api/retry_after.py): a 429's ``Retry-After`` (capped) as
        asked, else exponential from ``retry_wait`` with full jitter."""

        def asked(failure: BaseException | None) -> float | None:
            retry = failure.asked if isinstance(failure, _TransientLoginError) else None
            return retry.wait if retry is not None else None

        return retry_waits(asked, first=self.retry_wait, cap=MAX_LOGIN_WAIT_SECONDS, full_jitter=True)

    def _log_retry(self, details: Any) -> None:
        exc = details.get("exception")
        if isinstance(exc, _TransientLoginError):
            reason = " ".join(str(exc).split())
        else:
            reason = "timed out" if isinstance(exc, requests.Timeout) else "no connection"
        LOGGER.warning(
            "IAM login at %s failed (%s); retrying in %.1f s (attempt %d of %d).",
            self.iam_url,
            self._scrub(reason),
            details.get("wait") or 0.0,
            details.get("tries"),
            self.login_tries,
        )

    def _post_login(self) -> requests.Response:
        response = self.session.post(
            f"{self.iam_url}/v3/auth/tokens",
            json=self._login_body(),
            timeout=self.timeout,
            # The tap's session may have this very authenticator as its auth: never apply it here.
            auth=_no_auth,
            allow_redirects=False,  # DLFSession never follows; a plain session must not either
        )
        if response.status_code == 429 or response.status_code >= 500:
            # backoff logs this message on every retry: scrubbed here, not only in the log filter.
            asked = retry_after(response) if response.status_code == 429 else None
            why = f" ({asked.describe()})" if asked is not None else ""
            raise _TransientLoginError(
                f"HTTP {response.status_code}{why}: {self._scrub(iam_message(response))}", asked
            )
        return response

    def _unretryable(self, exc: BaseException) -> str | None:
        answered = not isinstance(self.session, DLFSession) or self.session.has_answered(self.iam_url)
        return unretryable_reason(exc, host_answered=answered)

    def _login_body(self) -> dict[str, Any]:
        user = {
            "name": self.credentials.username,
            "password": self.credentials.password,
            "domain": {"name": self.credentials.domain_name},
        }
        return {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": {"id": self.project_id}},
            }
        }

    def _scrub(self, text: str) -> str:
        # An IAM (or proxy) could echo the request back; the password must never reach a log.
        return scrubbing.scrub(text)


def token_lifetime(response: requests.Response, now: datetime) -> timedelta:
    """How long a new token lives, by IAM's own clock (``expires_at - issued_at``), so that a
    skewed local clock neither renews too late nor logs in on every request."""
    try:
        token = response.json()["token"]
        expires_at = parse_time(token["expires_at"])
        issued_at = parse_time(token["issued_at"]) if token.get("issued_at") else None
    except (ValueError, KeyError, TypeError):
        LOGGER.warning("IAM token without a readable expires_at; renewing it within an hour.")
        return FALLBACK_TOKEN_LIFETIME
    # Without issued_at the token was issued just now, as far as we can tell.
    lifetime = expires_at - (issued_at or now)
    if lifetime <= timedelta(0):
        LOGGER.warning("IAM token already expired by the local clock; renewing it within an hour.")
        return FALLBACK_TOKEN_LIFETIME
    return lifetime


def parse_time(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iam_message(response: requests.Response) -> str:
    """The error text of an IAM (``error.message``) or API gateway (``error_msg``) answer."""
    try:
        payload = response.json()
    except ValueError:
        return response.reason or "no message"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if payload.get("error_msg"):
            return str(payload["error_msg"])
    return response.reason or "no message"
