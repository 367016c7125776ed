"""The region table is Huawei's own: every region of the installed SDK packages' region classes,
with the same DataArts Studio and IAM endpoints (the SDK is a test-only dependency)."""

from __future__ import annotations

import pytest
from huaweicloudsdkdataartsstudio.v1.region.dataartsstudio_region import DataArtsStudioRegion
from huaweicloudsdkdlf.v1.region.dlf_region import DlfRegion
from huaweicloudsdkiam.v3.region.iam_region import IamRegion

from tap_dlf_instances.config.regions import DLF_V1_URLS, REGIONS
from tap_dlf_instances.config.settings import parse_settings
from tap_dlf_instances.errors import ConfigError

TOKEN = {"project_id": "0123456789abcdef0123456789abcdef", "auth_token": "t"}
IAM_LOGIN = {
    "project_id": "0123456789abcdef0123456789abcdef",
    "iam_username": "u",
    "iam_password": "p",
    "iam_domain_name": "d",
}


def sdk_endpoint(fields: dict, region: str) -> str | None:
    found = fields.get(region)
    return found.endpoints[0] if found is not None else None


def test_the_table_lists_every_dataarts_region_of_the_sdk_with_its_endpoints() -> None:
    dataarts = DataArtsStudioRegion.static_fields
    assert set(REGIONS) == set(dataarts)
    for region, endpoints in REGIONS.items():
        assert endpoints.api_url == sdk_endpoint(dataarts, region), region
        assert endpoints.iam_url == sdk_endpoint(IamRegion.static_fields, region), region


@pytest.mark.parametrize("region", sorted(DataArtsStudioRegion.static_fields))
def test_a_known_region_gives_the_sdk_endpoints(region: str) -> None:
    settings = parse_settings({**TOKEN, "region": region})
    assert settings.api_url == sdk_endpoint(DataArtsStudioRegion.static_fields, region)
    assert settings.iam_url == (sdk_endpoint(IamRegion.static_fields, region) or "")


def test_eu_west_101_has_dataarts_on_com_and_iam_on_eu() -> None:
    settings = parse_settings({**IAM_LOGIN, "region": "eu-west-101"})
    assert settings.api_url == "https://dayu.eu-west-101.myhuaweicloud.com"
    assert settings.iam_url == "https://iam.eu-west-101.myhuaweicloud.eu"


@pytest.mark.parametrize("region", ["mars-1", "cn north 4", "cn-north-4x"])
def test_an_unknown_region_names_the_setting(region: str) -> None:
    with pytest.raises(ConfigError, match="`region`"):
        parse_settings({**TOKEN, "region": region})


def test_a_region_without_an_iam_endpoint_asks_for_iam_url_for_a_password_login() -> None:
    missing = sorted(set(DataArtsStudioRegion.static_fields) - set(IamRegion.static_fields))
    assert missing  # cn-north-11, ru-northwest-2 in SDK 3.1.219
    with pytest.raises(ConfigError, match="`iam_url`"):
        parse_settings({**IAM_LOGIN, "region": missing[0]})
    assert parse_settings({**IAM_LOGIN, "region": missing[0], "iam_url": "https://iam.example"}).iam_url


def test_an_unused_region_is_not_checked_when_both_urls_are_given() -> None:
    settings = parse_settings(
        {**TOKEN, "region": "private-1", "api_url": "https://dayu.example", "iam_url": "https://iam.example"}
    )
    assert settings.api_url == "https://dayu.example"


def test_the_v1_table_is_the_dlf_sdks() -> None:
    """The DLF V1 host (dayu-dlf) of every region of huaweicloudsdkdlf's table, and no other."""
    assert {
        region: sdk_endpoint(DlfRegion.static_fields, region) for region in DlfRegion.static_fields
    } == DLF_V1_URLS
    for region in DlfRegion.static_fields:
        assert parse_settings({**TOKEN, "region": region}).v1_api_url == sdk_endpoint(
            DlfRegion.static_fields, region
        )


def test_v1_api_url_defaults_to_api_url_and_can_be_set() -> None:
    assert parse_settings({**TOKEN, "api_url": "http://127.0.0.1:9"}).v1_api_url == "http://127.0.0.1:9"
    both = {
        **TOKEN,
        "region": "cn-north-4",
        "api_url": "https://a.example",
        "v1_api_url": "https://v1.example/",
    }
    assert parse_settings(both).v1_api_url == "https://v1.example"
    # A region whose V1 host the SDK does not list: none, until set.
    assert parse_settings({**TOKEN, "region": "eu-west-101"}).v1_api_url is None
    with pytest.raises(ConfigError, match="`v1_api_url`"):
        parse_settings({**TOKEN, "region": "cn-north-4", "v1_api_url": "ftp://x"})
