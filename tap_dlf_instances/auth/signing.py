"""Huawei Cloud's ``SDK-HMAC-SHA256`` request signature (AK/SK), as pure functions.

The same functions sign outgoing requests (``AkSkAuth``) and verify incoming ones in the
simulated API, so a test against Huawei's own ``huaweicloudsdkcore.signer.Signer`` covers both.
Written by hand because ``huaweicloudsdkcore`` drags in pymongo, pyasn1 and more at run time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def sdk_date(moment: datetime | None = None) -> str:
    """The ``X-Sdk-Date`` value for ``moment`` (default: now), in UTC."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime(DATE_FORMAT)


def encode(value: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (``~`` included)."""
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """The path decoded, each segment re-encoded, with a trailing slash."""
    uri = "/".join(encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded (key, value) pairs sorted, each side encoded, joined by ``&``."""
    return "&".join(f"{encode(key)}={encode(value)}" for key, value in sorted(pairs))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string as it travels on the wire."""
    return parse_qsl(raw_query, keep_blank_values=True)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Lower-case names of the headers to sign, sorted; names with ``_`` are skipped as the SDK
    does."""
    return sorted({name.lower() for name in headers if "_" not in name})


def canonical_request(
    *,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes | None,
) -> str:
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    header_lines = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed_headers)
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query_pairs(raw_query)),
            header_lines,
            ";".join(signed_headers),
            body_hash,
        ]
    )


def string_to_sign(canonical: str, date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, signed_headers: list[str], signature_hex: str) -> str:
    return (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, "
        f"Signature={signature_hex}"
    )


def sign(
    *,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    access_key: str,
    secret_key: str,
) -> str:
    """The ``Authorization`` value for a request whose headers already hold ``X-Sdk-Date`` and
    ``Host`` (and every other header that is to be signed)."""
    names = signed_header_names(headers)
    signature_hex = expected_signature(
        method=method,
        path=path,
        raw_query=raw_query,
        headers=headers,
        signed_headers=names,
        body=body,
        secret_key=secret_key,
    )
    return authorization_header(access_key, names, signature_hex)


def parse_authorization(value: str) -> dict[str, str]:
    """Split ``SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`` into its parts.

    Returns an empty dict when the value is not of that form.
    """
    algorithm, _, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        return {}
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            parts[key] = val
    return parts if {"Access", "SignedHeaders", "Signature"} <= parts.keys() else {}


def expected_signature(
    *,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes | None,
    secret_key: str,
) -> str:
    """The signature of a request over ``signed_headers``: what ``sign`` puts in the
    ``Authorization`` header, and what a server recomputes from the request it received."""
    date = next((value for name, value in headers.items() if name.lower() == "x-sdk-date"), "")
    canonical = canonical_request(
        method=method,
        path=path,
        raw_query=raw_query,
        headers=headers,
        signed_headers=signed_headers,
        body=body,
    )
    return signature(secret_key, string_to_sign(canonical, date))
