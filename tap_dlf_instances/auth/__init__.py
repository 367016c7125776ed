"""Authentication against DataArts Factory: AK/SK signing, IAM password tokens, ready tokens."""

from tap_dlf_instances.auth.authenticators import AkSkAuth, StaticTokenAuth, build_authenticator
from tap_dlf_instances.auth.base import DLFAuth
from tap_dlf_instances.auth.credentials import (
    AkSkCredentials,
    Credentials,
    IamPasswordCredentials,
    TokenCredentials,
)
from tap_dlf_instances.auth.iam_token import IamTokenAuth

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
