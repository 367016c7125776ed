"""Authentication against DataArts Factory: AK/SK signing, IAM password tokens, ready tokens."""

from tap_dlf_instances.auth.authenticators import (
    AkSkAuth,
    DLFAuth,
    IamTokenAuth,
    StaticTokenAuth,
    build_authenticator,
)
from tap_dlf_instances.auth.credentials import (
    AkSkCredentials,
    Credentials,
    IamPasswordCredentials,
    TokenCredentials,
)

__all__ = [
    "AkSkAuth",
    "AkSkCredentials",
    "Credentials",
    "DLFAuth",
    "IamPasswordCredentials",
    "IamTokenAuth",
    "StaticTokenAuth",
    "TokenCredentials",
    "build_authenticator",
]
