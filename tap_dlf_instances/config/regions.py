"""Huawei Cloud regions where DataArts Studio runs, with their API and IAM endpoints.

Copied from the region tables of Huawei's own SDK (``huaweicloudsdkdataartsstudio`` 3.1.219,
``v1/region/dataartsstudio_region.py``, and ``huaweicloudsdkiam``, ``v3/region/iam_region.py``),
which is not a runtime dependency; ``tests/test_regions.py`` compares this table with the installed
SDK packages. The two services differ: in eu-west-101 DataArts is on ``.com`` but IAM on ``.eu``,
and the IAM table lists no endpoint for some DataArts regions (then set ``iam_url``).

The DLF V1 APIs (a job instance's nodes, a job's nodes) live on another host, ``dayu-dlf``, listed
for fewer regions by ``huaweicloudsdkdlf`` (``v1/region/dlf_region.py``): ``DLF_V1_URLS``.
"""

from __future__ import annotations

from typing import NamedTuple


class RegionEndpoints(NamedTuple):
    api_url: str
    iam_url: str | None


REGIONS: dict[str, RegionEndpoints] = {
    "ae-ad-1": RegionEndpoints(
        "https://dayu.ae-ad-1.myhuaweicloud.com", "https://iam.ae-ad-1.myhuaweicloud.com"
    ),
    "af-south-1": RegionEndpoints(
        "https://dayu.af-south-1.myhuaweicloud.com", "https://iam.af-south-1.myhuaweicloud.com"
    ),
    "ap-southeast-1": RegionEndpoints(
        "https://dayu.ap-southeast-1.myhuaweicloud.com", "https://iam.ap-southeast-1.myhuaweicloud.com"
    ),
    "ap-southeast-2": RegionEndpoints(
        "https://dayu.ap-southeast-2.myhuaweicloud.com", "https://iam.ap-southeast-2.myhuaweicloud.com"
    ),
    "ap-southeast-3": RegionEndpoints(
        "https://dayu.ap-southeast-3.myhuaweicloud.com", "https://iam.ap-southeast-3.myhuaweicloud.com"
    ),
    "ap-southeast-4": RegionEndpoints(
        "https://dayu.ap-southeast-4.myhuaweicloud.com", "https://iam.ap-southeast-4.myhuaweicloud.com"
    ),
    "cn-east-2": RegionEndpoints(
        "https://dayu.cn-east-2.myhuaweicloud.com", "https://iam.cn-east-2.myhuaweicloud.com"
    ),
    "cn-east-3": RegionEndpoints(
        "https://dayu.cn-east-3.myhuaweicloud.com", "https://iam.cn-east-3.myhuaweicloud.com"
    ),
    "cn-east-4": RegionEndpoints(
        "https://dayu.cn-east-4.myhuaweicloud.com", "https://iam.cn-east-4.myhuaweicloud.com"
    ),
    "cn-north-1": RegionEndpoints(
        "https://dayu.cn-north-1.myhuaweicloud.com", "https://iam.cn-north-1.myhuaweicloud.com"
    ),
    "cn-north-11": RegionEndpoints("https://dayu.cn-north-11.myhuaweicloud.com", None),
    "cn-north-2": RegionEndpoints(
        "https://dayu.cn-north-2.myhuaweicloud.com", "https://iam.cn-north-2.myhuaweicloud.com"
    ),
    "cn-north-4": RegionEndpoints(
        "https://dayu.cn-north-4.myhuaweicloud.com", "https://iam.cn-north-4.myhuaweicloud.com"
    ),
    "cn-north-9": RegionEndpoints(
        "https://dayu.cn-north-9.myhuaweicloud.com", "https://iam.cn-north-9.myhuaweicloud.com"
    ),
    "cn-south-1": RegionEndpoints(
        "https://dayu.cn-south-1.myhuaweicloud.com", "https://iam.cn-south-1.myhuaweicloud.com"
    ),
    "cn-southwest-2": RegionEndpoints(
        "https://dayu.cn-southwest-2.myhuaweicloud.com", "https://iam.cn-southwest-2.myhuaweicloud.com"
    ),
    "eu-west-101": RegionEndpoints(
        "https://dayu.eu-west-101.myhuaweicloud.com", "https://iam.eu-west-101.myhuaweicloud.eu"
    ),
    "la-north-2": RegionEndpoints(
        "https://dayu.la-north-2.myhuaweicloud.com", "https://iam.la-north-2.myhuaweicloud.com"
    ),
    "la-south-2": RegionEndpoints(
        "https://dayu.la-south-2.myhuaweicloud.com", "https://iam.la-south-2.myhuaweicloud.com"
    ),
    "me-east-1": RegionEndpoints(
        "https://dayu.me-east-1.myhuaweicloud.com", "https://iam.me-east-1.myhuaweicloud.com"
    ),
    "my-kualalumpur-1": RegionEndpoints(
        "https://dayu.my-kualalumpur-1.myhuaweicloud.com", "https://iam.my-kualalumpur-1.myhuaweicloud.com"
    ),
    "na-mexico-1": RegionEndpoints(
        "https://dayu.na-mexico-1.myhuaweicloud.com", "https://iam.na-mexico-1.myhuaweicloud.com"
    ),
    "ru-moscow-1": RegionEndpoints(
        "https://dayu.ru-moscow-1.myhuaweicloud.com", "https://iam.ru-moscow-1.myhuaweicloud.com"
    ),
    "ru-northwest-2": RegionEndpoints("https://dayu.ru-northwest-2.myhuaweicloud.com", None),
    "sa-brazil-1": RegionEndpoints(
        "https://dayu.sa-brazil-1.myhuaweicloud.com", "https://iam.sa-brazil-1.myhuaweicloud.com"
    ),
    "tr-west-1": RegionEndpoints(
        "https://dayu.tr-west-1.myhuaweicloud.com", "https://iam.tr-west-1.myhuaweicloud.com"
    ),
}


#: The DLF V1 API's endpoint per region (``huaweicloudsdkdlf`` 3.1.219, ``DlfRegion``); regions
#: not listed have none in the SDK: there, set ``v1_api_url``.
DLF_V1_URLS: dict[str, str] = {
    region: f"https://dayu-dlf.{region}.myhuaweicloud.com"
    for region in (
        "ap-southeast-1",
        "ap-southeast-3",
        "cn-east-2",
        "cn-east-3",
        "cn-north-1",
        "cn-north-11",
        "cn-north-4",
        "cn-south-1",
        "ru-northwest-2",
    )
}
