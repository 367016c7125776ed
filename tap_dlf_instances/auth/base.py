"""What every authenticator of the tap offers, and the headers they set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import requests
from requests.auth import AuthBase

TOKEN_HEADER = "X-Auth-Token"  # noqa: S105 (a header name)
PROJECT_HEADER = "X-Project-Id"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DLFAuth(AuthBase):
    """What every authenticator of the tap offers besides signing a request."""

    def handle_unauthorized(self, request: requests.PreparedRequest) -> bool:
        """Whether sending ``request`` again (after re-authenticating it) is worth it after a
        ``401``. Default: no — a refused signature or fixed token will be refused again."""
        return False
