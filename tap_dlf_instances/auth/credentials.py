"""The three ways to authenticate, as plain values; secrets never show in their ``repr``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AkSkCredentials:
    """A permanent or temporary access key pair (temporary ones carry a security token)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IamPasswordCredentials:
    """An IAM user that logs in for a token (refreshed before it expires)."""

    username: str
    password: str = field(repr=False)
    domain_name: str


@dataclass(frozen=True)
class TokenCredentials:
    """A ready IAM token, sent as it is."""

    token: str = field(repr=False)


Credentials = AkSkCredentials | IamPasswordCredentials | TokenCredentials
