"""Who is calling: AK/SK signatures as API Gateway verifies them, and IAM's password tokens."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tap_dlf_instances.auth import signing

# Demo credentials: fake and public by design, valid only against this simulator.
DEMO_USER_ID = "5c3e9f0a1b2d4c6e8f7a9b0c1d2e3f40"
DEMO_IAM_USER = "demo-user"
DEMO_IAM_PASSWORD = "demo-password-Sim1!"  # noqa: S105
DEMO_IAM_DOMAIN = "demo-account"
DEMO_ACCESS_KEY = "SIMDEMOAK0000000000A"
DEMO_SECRET_KEY = "SimDemoSecretKey0000000000000000000000000"  # noqa: S105
DEMO_TEMP_ACCESS_KEY = "SIMTEMPAK0000000000B"
DEMO_TEMP_SECRET_KEY = "SimTempSecretKey1111111111111111111111111"  # noqa: S105
DEMO_SECURITY_TOKEN = "gQpzaW11bGF0ZWQtc2VjdXJpdHktdG9rZW4tZm9yLXRlbXBvcmFyeS1rZXlz"  # noqa: S105
DEMO_TOKEN = "MIIsimulatedStaticDemoToken0123456789abcdefABCDEF"  # noqa: S105

SIGNATURE_FAIL = "Incorrect IAM authentication information: verify aksk signature fail"


class AuthError(Exception):
    """A refused request: HTTP status plus the gateway's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "error_msg": self.message}


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    user: str
    security_token: str | None = None  # set for temporary keys: the token must be sent and signed


@dataclass(frozen=True)
class IamUser:
    name: str
    password: str
    domain: str
    user_id: str


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``project_id`` is the token's scope (``None``: any project)."""

    user: str
    project_id: str | None = None


@dataclass
class _Token:
    user: str
    project_id: str | None
    expires_ms: float | None


@dataclass
class _KeyState:
    failures: int = 0
    locked_until: float = 0.0


def iam_time(epoch_seconds: float) -> str:
    """IAM's timestamp format: ``2024-11-06T08:00:00.000000Z``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Authenticator:
    """Checks every ``/v2/`` request and issues tokens for ``POST /v3/auth/tokens``."""

    def __init__(
        self,
        project_ids: Callable[[], set[str]],
        clock: Callable[[], float],
        *,
        token_ttl_seconds: float = 86400.0,
        max_clock_skew_seconds: float = 900.0,
        lockout_threshold: int = 5,
        lockout_seconds: float = 300.0,
    ) -> None:
        self._project_ids = project_ids
        self._clock = clock
        self.token_ttl_seconds = token_ttl_seconds
        self.max_clock_skew_seconds = max_clock_skew_seconds
        self.lockout_threshold = lockout_threshold
        self.lockout_seconds = lockout_seconds
        self._lock = threading.Lock()
        self.access_keys: dict[str, AccessKey] = {}
        self.iam_users: dict[tuple[str, str], IamUser] = {}
        self._tokens: dict[str, _Token] = {}
        self._keys: dict[str, _KeyState] = {}

    def add_demo_credentials(self) -> None:
        self.add_access_key(AccessKey(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_IAM_USER))
        self.add_access_key(
            AccessKey(DEMO_TEMP_ACCESS_KEY, DEMO_TEMP_SECRET_KEY, DEMO_IAM_USER, DEMO_SECURITY_TOKEN)
        )
        self.add_iam_user(IamUser(DEMO_IAM_USER, DEMO_IAM_PASSWORD, DEMO_IAM_DOMAIN, DEMO_USER_ID))
        self.add_static_token(DEMO_TOKEN, DEMO_IAM_USER)

    def add_access_key(self, key: AccessKey) -> None:
        with self._lock:
            self.access_keys[key.access_key_id] = key

    def add_iam_user(self, user: IamUser) -> None:
        with self._lock:
            self.iam_users[(user.domain, user.name)] = user

    def add_static_token(self, token: str, user: str, project_id: str | None = None) -> None:
        """A token that never expires (``project_id`` ``None``: valid for every project)."""
        with self._lock:
            self._tokens[token] = _Token(user, project_id, None)

    def tokens(self) -> list[str]:
        """Every token the server knows, static or issued (tests check that none leaks)."""
        with self._lock:
            return list(self._tokens)

    def unlock(self, access_key_id: str) -> None:
        with self._lock:
            self._keys.pop(access_key_id, None)

    # --- verification ---------------------------------------------------------------------

    def verify(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Principal:
        """The caller, or :class:`AuthError` (401) exactly as API Gateway words it."""
        lowered = {name.lower(): value for name, value in headers.items()}
        authorization = lowered.get("authorization")
        if authorization:
            return self._verify_aksk(
                method=method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=headers,
                lowered=lowered,
                body=body,
            )
        token = lowered.get("x-auth-token")
        if token:
            return self._verify_token(token)
        raise AuthError(
            401, "APIGW.0301", "Incorrect IAM authentication information: Authorization not found"
        )

    def _verify_token(self, token: str) -> Principal:
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None:
            raise AuthError(401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail")
        if entry.expires_ms is not None and self._clock() * 1000 >= entry.expires_ms:
            raise AuthError(401, "APIGW.0301", "Incorrect IAM authentication information: token expired")
        return Principal(entry.user, entry.project_id)

    def _verify_aksk(
        self,
        *,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        lowered: Mapping[str, str],
        body: bytes,
    ) -> Principal:
        parts = signing.parse_authorization(lowered["authorization"])
        if not parts:
            raise AuthError(401, "APIGW.0301", f"{SIGNATURE_FAIL}: malformed Authorization")
        with self._lock:
            key = self.access_keys.get(parts["Access"])
            if key is None:
                raise AuthError(401, "APIGW.0301", f"{SIGNATURE_FAIL}: access key not found")
            state = self._keys.setdefault(key.access_key_id, _KeyState())
            now = self._clock()
            if state.locked_until > now:
                raise AuthError(
                    401,
                    "APIGW.0301",
                    f"{SIGNATURE_FAIL}: access key locked after {self.lockout_threshold} "
                    f"consecutive signature failures, retry in {state.locked_until - now:.0f} s",
                )
        date = lowered.get("x-sdk-date", "")
        try:
            signed_at = datetime.strptime(date, signing.DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            self._failed(key.access_key_id)
            raise AuthError(401, "APIGW.0301", f"{SIGNATURE_FAIL}: X-Sdk-Date missing or malformed") from None
        if abs(signed_at.timestamp() - now) > self.max_clock_skew_seconds:
            raise AuthError(
                401,
                "APIGW.0303",
                "Incorrect app authentication information: verify aksk signature fail, "
                f"signed time {date} is more than 15 minutes off the server time",
            )
        signed = parts["SignedHeaders"].split(";")
        required = {"host", "x-sdk-date"} | ({"x-security-token"} if key.security_token else set())
        problem = None
        if not required <= set(signed):
            problem = f"SignedHeaders must include {';'.join(sorted(required))}"
        elif key.security_token and lowered.get("x-security-token") != key.security_token:
            problem = "invalid X-Security-Token"
        else:
            expected = signing.expected_signature(
                method=method,
                path=raw_path,
                raw_query=raw_query,
                headers=headers,
                signed_headers=signed,
                body=body,
                secret_key=key.secret_access_key,
            )
            if not hmac.compare_digest(expected, parts["Signature"]):
                problem = "signature mismatch"
        if problem:
            self._failed(key.access_key_id)
            raise AuthError(401, "APIGW.0301", f"{SIGNATURE_FAIL}: {problem}")
        with self._lock:
            state.failures = 0
        return Principal(key.user)

    def _failed(self, access_key_id: str) -> None:
        with self._lock:
            state = self._keys.setdefault(access_key_id, _KeyState())
            state.failures += 1
            if state.failures >= self.lockout_threshold:
                state.locked_until = self._clock() + self.lockout_seconds
                state.failures = 0

    # --- IAM ------------------------------------------------------------------------------

    def login(self, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        """``POST /v3/auth/tokens`` with a password identity: ``(status, headers, body)``."""
        try:
            auth = json.loads(body)["auth"]
            identity = auth["identity"]
            user = identity["password"]["user"]
            name, password, domain = user["name"], user["password"], user["domain"]["name"]
            scope = auth.get("scope") or {}
            project_id = scope["project"]["id"] if "project" in scope else None
            if "password" not in identity["methods"]:
                raise KeyError("methods")
        except (ValueError, KeyError, TypeError):
            return 400, {}, _iam_error(400, "The request you have made requires a valid body.")
        with self._lock:
            known = self.iam_users.get((domain, name))
        if known is None or not hmac.compare_digest(known.password, password):
            return 401, {}, _iam_error(401, "The username or password is wrong.")
        if project_id is not None and project_id not in self._project_ids():
            return 400, {}, _iam_error(400, f"Invalid project id {project_id}.")
        issued = self._clock()
        expires = issued + self.token_ttl_seconds
        token = "MIIsim" + base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
        with self._lock:
            self._tokens[token] = _Token(known.name, project_id, expires * 1000)
        payload: dict[str, Any] = {
            "token": {
                "expires_at": iam_time(expires),
                "issued_at": iam_time(issued),
                "methods": ["password"],
                "user": {
                    "name": known.name,
                    "id": known.user_id,
                    "domain": {"name": known.domain, "id": known.user_id[::-1]},
                    "password_expires_at": "",
                },
                "catalog": [],
                "roles": [{"name": "op_service", "id": "0"}],
            }
        }
        if project_id is not None:
            payload["token"]["project"] = {
                "id": project_id,
                "name": "sim-region-1",
                "domain": {"name": known.domain, "id": known.user_id[::-1]},
            }
        return 201, {"X-Subject-Token": token}, payload


def _iam_error(code: int, message: str) -> dict[str, Any]:
    title = {400: "Bad Request", 401: "Unauthorized"}.get(code, "Error")
    return {"error": {"code": code, "message": message, "title": title}}
