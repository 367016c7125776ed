"""Our SDK-HMAC-SHA256 signer against Huawei's own ``huaweicloudsdkcore`` ``Signer``, the oracle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from tap_dlf_instances.auth import AkSkAuth, AkSkCredentials, signing

AK = "HPUAEXAMPLEAK0000001"
SK = "sk-EXAMPLE/with+odd=chars~0123456789abcdef"
PROJECT = "0123456789abcdef0123456789abcdef"
WORKSPACE = "a1b2c3d4e5f6"
HOST = "dayu.cn-north-4.myhuaweicloud.com"
MOMENT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
DATE = "20240506T070809Z"

JOB_NAMES = [
    "daily_orders",
    "作业_日报",
    "作业 日报 v2",
    "job.with.dots",
    "tilde~job",
    "plus+job",
    "eq=amp&job",
    "100% done",
    "Ünïcödé-jöb",
    "rt_job_node_1",
]

# (requests ``params``, the SDK's ``query_params``): the same query as each side would take it.
QUERIES: list[tuple[Any, list[tuple[str, Any]]]] = [
    ({}, []),
    (
        {"min_plan_time": "1714953600000", "max_plan_time": "1715040000000", "limit": "100"},
        [
            ("min_plan_time", "1714953600000"),
            ("max_plan_time", "1715040000000"),
            ("limit", "100"),
        ],
    ),
    ({"offset": 0, "limit": 10}, [("offset", 0), ("limit", 10)]),
    ({"job_name": "作业_日报"}, [("job_name", "作业_日报")]),
    ({"q": "a b"}, [("q", "a b")]),
    ({"q": "a+b=c&d"}, [("q", "a+b=c&d")]),
    ({"q": "~tilde.dot-dash_under~"}, [("q", "~tilde.dot-dash_under~")]),
    ({"empty": "", "z": "last"}, [("empty", ""), ("z", "last")]),
    ({"flag": "true", "other": "false"}, [("flag", True), ("other", False)]),
    (
        {"b": "2", "B": "1", "a": "3", "a_b": "4", "a.b": "5"},
        [("b", "2"), ("B", "1"), ("a", "3"), ("a_b", "4"), ("a.b", "5")],
    ),
    ([("k", "2"), ("k", "1"), ("k", "10")], [("k", "2"), ("k", "1"), ("k", "10")]),
    ({"key with space": "v", "ключ": "значение"}, [("key with space", "v"), ("ключ", "значение")]),
    (
        {"pct": "100%", "slash": "a/b", "hash": "#x"},
        [("pct", "100%"), ("slash", "a/b"), ("hash", "#x")],
    ),
]


@dataclass
class Signed:
    authorization: str
    wire_query: str


def oracle(
    path: str,
    query_params: list[tuple[str, Any]],
    headers: dict[str, str],
    *,
    host: str = HOST,
    method: str = "GET",
    body: bytes | None = None,
) -> Signed:
    """Sign as Huawei's SDK client does: path params quoted with ``safe=''``, Host from the
    endpoint, query as a list of (key, value) tuples."""
    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=list(query_params),
        header_params={signing.DATE_HEADER: DATE, **headers},
        body=body or "",
    )
    Signer(SimpleNamespace(ak=AK, sk=SK)).sign(request)
    return Signed(request.header_params["Authorization"], urlsplit(request.uri).query)


def instances_path(job_name: str) -> str:
    return f"/v2/{PROJECT}/factory/jobs/{quote(job_name, safe='')}/instances/detail"


def ours(
    url: str,
    params: Any,
    headers: dict[str, str],
    *,
    method: str = "GET",
    json_body: Any = None,
    security_token: str | None = None,
) -> requests.PreparedRequest:
    auth = AkSkAuth(AkSkCredentials(AK, SK, security_token), project_id=PROJECT, clock=lambda: MOMENT)
    prepared = requests.Request(method, url, params=params, headers=headers, json=json_body).prepare()
    return auth(prepared)


def rederived_signature(prepared: requests.PreparedRequest) -> str:
    """The server's view: verify from what is actually on the prepared request."""
    parts = urlsplit(prepared.url)
    authorization = signing.parse_authorization(prepared.headers["Authorization"])
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return signing.expected_signature(
        method=prepared.method or "",
        path=parts.path,
        raw_query=parts.query,
        headers=prepared.headers,
        signed_headers=authorization["SignedHeaders"].split(";"),
        body=body,
        secret_key=SK,
    )


@pytest.mark.parametrize("job_name", JOB_NAMES)
@pytest.mark.parametrize(("params", "sdk_query"), QUERIES)
def test_matches_huawei_signer(job_name: str, params: Any, sdk_query: list[tuple[str, Any]]) -> None:
    path = instances_path(job_name)
    prepared = ours(f"https://{HOST}{path}", params, {"workspace": WORKSPACE})

    expected = oracle(path, sdk_query, {"X-Project-Id": PROJECT, "workspace": WORKSPACE})

    assert prepared.headers["Authorization"] == expected.authorization
    # What goes on the wire is what the SDK would send, and what was signed.
    assert urlsplit(prepared.url).query == expected.wire_query
    parsed = signing.parse_authorization(prepared.headers["Authorization"])
    assert parsed["Signature"] == rederived_signature(prepared)


@pytest.mark.parametrize("job_name", ["作业_日报", "作业 日报 v2", "job.with.dots", "tilde~job"])
def test_unencoded_path_is_encoded_by_requests_and_still_signs(job_name: str) -> None:
    # Whether the tap quotes the job name or leaves it to requests, the signature is the SDK's.
    raw = f"/v2/{PROJECT}/factory/jobs/{job_name}/instances/detail"
    prepared = ours(f"https://{HOST}{raw}", {"limit": 5}, {"workspace": WORKSPACE})
    expected = oracle(
        instances_path(job_name), [("limit", 5)], {"X-Project-Id": PROJECT, "workspace": WORKSPACE}
    )
    assert prepared.headers["Authorization"] == expected.authorization


def test_security_token_is_signed_like_the_sdk() -> None:
    path = instances_path("作业_日报")
    prepared = ours(
        f"https://{HOST}{path}", {"limit": 1}, {"workspace": WORKSPACE}, security_token="STS-TOKEN"
    )
    expected = oracle(
        path,
        [("limit", 1)],
        {"X-Project-Id": PROJECT, "workspace": WORKSPACE, "X-Security-Token": "STS-TOKEN"},
    )
    assert prepared.headers["Authorization"] == expected.authorization
    assert "x-security-token" in signing.parse_authorization(expected.authorization)["SignedHeaders"]


@pytest.mark.parametrize(
    ("url_host", "signed_host"),
    [
        ("127.0.0.1:8443", "127.0.0.1:8443"),
        (f"{HOST}:443", HOST),
        ("[::1]:9000", "[::1]:9000"),
    ],
)
def test_host_with_port(url_host: str, signed_host: str) -> None:
    path = instances_path("daily_orders")
    prepared = ours(f"https://{url_host}{path}", {"limit": 1}, {})
    assert prepared.headers["Host"] == signed_host
    expected = oracle(path, [("limit", 1)], {"X-Project-Id": PROJECT}, host=signed_host)
    assert prepared.headers["Authorization"] == expected.authorization


def test_post_with_json_body_matches_sdk() -> None:
    path = f"/v2/{PROJECT}/factory/jobs/{quote('作业_日报', safe='')}/run-immediate"
    body = {"jobParams": [{"name": "day", "value": "2024-05-06"}]}
    prepared = ours(f"https://{HOST}{path}", {}, {"workspace": WORKSPACE}, method="POST", json_body=body)
    assert isinstance(prepared.body, bytes)
    expected = oracle(
        path,
        [],
        {"X-Project-Id": PROJECT, "workspace": WORKSPACE, "Content-Type": "application/json"},
        method="POST",
        body=prepared.body,
    )
    assert json.loads(prepared.body) == body
    assert prepared.headers["Authorization"] == expected.authorization


def test_only_our_own_headers_are_signed() -> None:
    prepared = ours(
        f"https://{HOST}{instances_path('x')}",
        {},
        {
            "workspace": WORKSPACE,
            "User-Agent": "tap/1",
            "Accept": "application/json",
            "X-Other": "1",
        },
    )
    signed = signing.parse_authorization(prepared.headers["Authorization"])["SignedHeaders"]
    assert signed == "host;workspace;x-project-id;x-sdk-date"


def test_session_prepare_request_with_params_survives_the_rewrite() -> None:
    session = requests.Session()
    session.params = {"limit": 100}
    session.headers["workspace"] = WORKSPACE
    session.auth = AkSkAuth(AkSkCredentials(AK, SK), project_id=PROJECT, clock=lambda: MOMENT)
    params = {"job_name": "作业 日报", "min_plan_time": 1714953600000, "q": "a+b&c=d", "e": ""}
    prepared = session.prepare_request(
        requests.Request("GET", f"https://{HOST}{instances_path('作业_日报')}", params=params)
    )

    on_wire = signing.query_pairs(urlsplit(prepared.url).query)
    assert sorted(on_wire) == sorted([(k, str(v)) for k, v in {**params, "limit": 100}.items()])
    assert on_wire == sorted(on_wire)
    parsed = signing.parse_authorization(prepared.headers["Authorization"])
    assert parsed["Signature"] == rederived_signature(prepared)
    expected = oracle(
        instances_path("作业_日报"),
        [*params.items(), ("limit", 100)],
        {"X-Project-Id": PROJECT, "workspace": WORKSPACE},
    )
    assert prepared.headers["Authorization"] == expected.authorization


def test_signing_twice_is_stable() -> None:
    # The stream signs at prepare time and again before each send (retries): same result.
    auth = AkSkAuth(AkSkCredentials(AK, SK), project_id=PROJECT, clock=lambda: MOMENT)
    prepared = requests.Request(
        "GET", f"https://{HOST}{instances_path('作业_日报')}", params={"q": "a b+c", "x": "~"}
    ).prepare()
    first = auth(prepared).headers["Authorization"]
    first_url = prepared.url
    assert auth(prepared).headers["Authorization"] == first
    assert prepared.url == first_url


def test_a_tampered_query_no_longer_verifies() -> None:
    prepared = ours(f"https://{HOST}{instances_path('j')}", {"limit": 10, "offset": 0}, {})
    good = signing.parse_authorization(prepared.headers["Authorization"])["Signature"]
    prepared.url = (prepared.url or "").replace("offset=0", "offset=1")
    assert rederived_signature(prepared) != good


def test_parse_authorization_round_trip() -> None:
    value = signing.sign(
        method="GET",
        path="/v2/p/factory/jobs/x/instances/detail",
        raw_query="a=1",
        headers={"Host": HOST, "X-Sdk-Date": DATE},
        body=None,
        access_key=AK,
        secret_key=SK,
    )
    parts = signing.parse_authorization(value)
    assert parts["Access"] == AK
    assert parts["SignedHeaders"] == "host;x-sdk-date"
    assert len(parts["Signature"]) == 64
    assert (
        signing.authorization_header(parts["Access"], parts["SignedHeaders"].split(";"), parts["Signature"])
        == value
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=ak, Signature=x",
        "SDK-HMAC-SM3 Access=a, SignedHeaders=h, Signature=s",
    ],
)
def test_parse_authorization_rejects_other_forms(value: str) -> None:
    assert signing.parse_authorization(value) == {}


def test_pure_sign_matches_oracle_directly() -> None:
    path = instances_path("作业_日报")
    headers = {"Host": HOST, "X-Sdk-Date": DATE, "workspace": WORKSPACE}
    raw_query = signing.canonical_query([("job_name", "作业 日报"), ("limit", "5")])
    ours_value = signing.sign(
        method="GET",
        path=path,
        raw_query=raw_query,
        headers=headers,
        body=None,
        access_key=AK,
        secret_key=SK,
    )
    expected = oracle(path, [("limit", "5"), ("job_name", "作业 日报")], {"workspace": WORKSPACE})
    assert ours_value == expected.authorization
