"""The tap's own exceptions: each carries one sentence a user can act on."""

from __future__ import annotations


class TapDLFError(Exception):
    """Base class of every error the tap reports to its user."""


class ConfigError(TapDLFError):
    """A setting is missing, malformed or contradicts another one."""


class AuthenticationError(TapDLFError):
    """Credentials were refused, or a token could not be obtained."""


class ApiError(TapDLFError):
    """The DataArts Factory API answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
