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


def credential_settings(credentials: Credentials) -> str:
    """The settings a user should check when these credentials are refused."""
    if isinstance(credentials, AkSkCredentials):
        names = "`access_key_id`, `secret_access_key`" + (
            " and `security_token` (temporary credentials expire)" if credentials.security_token else ""
        )
        return names
    if isinstance(credentials, TokenCredentials):
        return "`auth_token` (IAM tokens expire after 24 hours)"
    return "`iam_username`, `iam_password`, `iam_domain_name`"
