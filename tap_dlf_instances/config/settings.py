"""Reading the tap's config into checked, typed settings, with one clear sentence per mistake."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tap_dlf_instances.api.paging import OffsetMode
from tap_dlf_instances.api.workspace_listing import InstanceListing
from tap_dlf_instances.auth.credentials import (
    AkSkCredentials,
    Credentials,
    IamPasswordCredentials,
    TokenCredentials,
)
from tap_dlf_instances.config.readers import (
    INSTANCE_NODES_DAYS,
    choice,
    date_time,
    flag,
    integer,
    number,
    optional_text,
    present,
    required_text,
    text_list,
    url,
)
from tap_dlf_instances.config.regions import DLF_V1_URLS, REGIONS, RegionEndpoints
from tap_dlf_instances.errors import ConfigError

DEFAULT_HISTORY_DAYS = 30
INSTANCE_STATUSES = (
    "waiting",
    "running",
    "success",
    "fail",
    "running-exception",
    "skip-by-depend",
    "freeze",
    "pause",
    "manual-stop",
)
INSTANCE_TYPES = (0, 2, 5, 6, 7)

AUTH_METHODS: dict[str, tuple[str, ...]] = {
    "AK/SK signing": ("access_key_id", "secret_access_key"),
    "a ready IAM token": ("auth_token",),
    "IAM password login": ("iam_username", "iam_password", "iam_domain_name"),
}
#: Settings that belong to an auth method without being enough to choose it.
AUTH_EXTRAS = {"security_token": "AK/SK signing"}


@dataclass(frozen=True)
class InstanceFilters:
    """Optional filters passed to the instances API as they are."""

    status: str | None = None
    instance_type: int | None = None
    force_success: bool | None = None
    ignore_success: bool | None = None

    def as_params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        if self.status is not None:
            params["status"] = self.status
        if self.instance_type is not None:
            params["instance_type"] = self.instance_type
        if self.force_success is not None:
            params["force_success"] = str(self.force_success).lower()
        if self.ignore_success is not None:
            params["ignore_success"] = str(self.ignore_success).lower()
        return params

    @property
    def active(self) -> bool:
        return bool(self.as_params())


@dataclass(frozen=True)
class Settings:
    project_id: str
    api_url: str
    iam_url: str
    workspace: str | None
    job_names: tuple[str, ...] | None
    realtime_job_nodes: Mapping[str, tuple[str, ...]]
    start_date: datetime
    end_date: datetime | None
    credentials: Credentials
    lookback: timedelta
    page_size: int
    window_days: float
    offset_mode: OffsetMode
    filters: InstanceFilters
    max_requests_per_second: float
    max_workers: int
    request_timeout: float
    max_retries: int
    shard_index: int
    shard_count: int
    ca_bundle: str | None = None
    #: Base URL of the DLF V1 API (nodes), or None when neither set nor known for the region.
    v1_api_url: str | None = None
    #: Node runs only of instances planned this long before the sync started; None: of all.
    instance_nodes_age: timedelta | None = None
    #: How the instances are read: the workspace-wide V1 listing, per job, or chosen per run.
    instance_listing: InstanceListing = InstanceListing.AUTO
    #: Emit again every instance read in the lookback, unchanged final ones too.
    emit_unchanged: bool = False

    def plain_http_urls(self) -> list[str]:
        """Settings whose URL sends credentials unencrypted to a host beyond this machine."""
        return [
            name
            for name, url in (
                ("api_url", self.api_url),
                ("iam_url", self.iam_url),
                ("v1_api_url", self.v1_api_url or ""),
            )
            if url and urlsplit(url).scheme == "http" and not _is_loopback(urlsplit(url).hostname or "")
        ]


def parse_settings(config: Mapping[str, Any], *, now: datetime | None = None) -> Settings:
    """Check ``config`` and return the settings; raise ``ConfigError`` naming the bad setting."""
    now = now or datetime.now(UTC)
    project_id = required_text(config, "project_id")
    region = optional_text(config, "region")
    api_url = url(config, "api_url")
    iam_url = url(config, "iam_url")
    endpoints = _region(region) if region is not None and not (api_url and iam_url) else None
    if api_url is None:
        if endpoints is None:
            raise ConfigError(
                "Set `region` (e.g. cn-north-4) or `api_url`: without either the tap does not know "
                "which endpoint to call."
            )
        api_url = endpoints.api_url
    iam_url = iam_url or (endpoints.iam_url if endpoints else None) or ""
    v1_api_url = _v1_api_url(config, region)
    credentials = _credentials(config)
    if isinstance(credentials, IamPasswordCredentials) and not iam_url:
        where = (
            f"IAM has no public endpoint listed for region {region}: set `iam_url`"
            if region
            else "set `region` (e.g. cn-north-4) or `iam_url`"
        )
        raise ConfigError(f"IAM password login needs the IAM endpoint: {where}.")
    start_date = date_time(config, "start_date") or (
        now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DEFAULT_HISTORY_DAYS)
    )
    end_date = date_time(config, "end_date")
    if end_date is not None and end_date <= start_date:
        raise ConfigError(
            f"Setting `end_date` ({end_date.isoformat()}) must be later than `start_date` "
            f"({start_date.isoformat()})."
        )
    shard_count = integer(config, "shard_count")
    shard_index = integer(config, "shard_index")
    if shard_index >= shard_count:
        raise ConfigError(
            f"Setting `shard_index` must be between 0 and `shard_count` - 1 ({shard_count - 1}), "
            f"got {shard_index}."
        )
    return Settings(
        project_id=project_id,
        api_url=api_url.rstrip("/"),
        iam_url=iam_url.rstrip("/"),
        workspace=optional_text(config, "workspace"),
        job_names=_job_names(config),
        realtime_job_nodes=_realtime_job_nodes(config),
        start_date=start_date,
        end_date=end_date,
        credentials=credentials,
        lookback=timedelta(hours=number(config, "lookback_window_hours")),
        page_size=integer(config, "page_size"),
        window_days=number(config, "window_days"),
        offset_mode=choice(config, "offset_mode", OffsetMode),
        filters=_filters(config),
        max_requests_per_second=number(config, "max_requests_per_second"),
        max_workers=integer(config, "max_workers"),
        request_timeout=number(config, "request_timeout"),
        max_retries=integer(config, "max_retries"),
        shard_index=shard_index,
        shard_count=shard_count,
        ca_bundle=_ca_bundle(config),
        v1_api_url=v1_api_url.rstrip("/") if v1_api_url else None,
        instance_nodes_age=_instance_nodes_age(config),
        instance_listing=choice(config, "instance_listing", InstanceListing),
        emit_unchanged=flag(config, "emit_unchanged"),
    )


def _instance_nodes_age(config: Mapping[str, Any]) -> timedelta | None:
    value = config.get("instance_nodes_days")
    if value is None:
        return None
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = float("nan")
    if isinstance(value, bool) or not INSTANCE_NODES_DAYS.low <= days <= INSTANCE_NODES_DAYS.high:
        raise ConfigError(
            f"Setting `instance_nodes_days` must be a number of days from {INSTANCE_NODES_DAYS.low:g} "
            f"to {INSTANCE_NODES_DAYS.high:g} (node runs of the instances planned that many days "
            f"before the sync), got {value!r}; leave it unset for every instance read."
        )
    return timedelta(days=days)


def _v1_api_url(config: Mapping[str, Any], region: str | None) -> str | None:
    """The DLF V1 base URL: set, else `api_url` when that is set (a private endpoint or the
    simulator serves both), else the region's ``dayu-dlf`` endpoint, if the SDK lists one."""
    explicit = url(config, "v1_api_url")
    if explicit is not None:
        return explicit
    api_url = url(config, "api_url")
    if api_url is not None:
        return api_url
    return DLF_V1_URLS.get(region.lower()) if region else None


def _region(region: str) -> RegionEndpoints:
    endpoints = REGIONS.get(region.lower())
    if endpoints is None:
        raise ConfigError(
            f"Setting `region` must be a Huawei Cloud region where DataArts Studio runs, such as "
            f"cn-north-4, got {region!r} (known: {', '.join(sorted(REGIONS))}); for another "
            "endpoint set `api_url` and `iam_url`."
        )
    return endpoints


def _ca_bundle(config: Mapping[str, Any]) -> str | None:
    path = optional_text(config, "ca_bundle")
    if path is not None and not Path(path).is_file():
        raise ConfigError(
            f"Setting `ca_bundle` must be the path of a PEM file of CA certificates; {path!r} is not a file."
        )
    return path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credentials(config: Mapping[str, Any]) -> Credentials:
    chosen = [
        method for method, names in AUTH_METHODS.items() if any(present(config, name) for name in names)
    ]
    if not chosen:
        raise ConfigError(
            "No authentication is configured: set `access_key_id` and `secret_access_key` "
            "(AK/SK signing), or `auth_token`, or `iam_username`, `iam_password` and "
            "`iam_domain_name` (IAM password login)."
        )
    if len(chosen) > 1:
        raise ConfigError(
            f"Exactly one way to authenticate is allowed, but settings for {' and '.join(chosen)} "
            "are both present: remove all but one."
        )
    method = chosen[0]
    missing = [name for name in AUTH_METHODS[method] if not present(config, name)]
    if missing:
        raise ConfigError(
            f"{method} needs {', '.join(f'`{n}`' for n in AUTH_METHODS[method])}; "
            f"missing: {', '.join(f'`{n}`' for n in missing)}."
        )
    for extra, owner in AUTH_EXTRAS.items():
        if present(config, extra) and method != owner:
            raise ConfigError(f"Setting `{extra}` only goes with {owner}; remove it or use {owner}.")
    if method == "AK/SK signing":
        return AkSkCredentials(
            access_key_id=required_text(config, "access_key_id"),
            secret_access_key=required_text(config, "secret_access_key"),
            security_token=optional_text(config, "security_token"),
        )
    if method == "a ready IAM token":
        return TokenCredentials(token=required_text(config, "auth_token"))
    return IamPasswordCredentials(
        username=required_text(config, "iam_username"),
        password=required_text(config, "iam_password"),
        domain_name=required_text(config, "iam_domain_name"),
    )


def _job_names(config: Mapping[str, Any]) -> tuple[str, ...] | None:
    names = text_list(config, "job_names")
    if names is not None and not names:
        raise ConfigError(
            "Setting `job_names` is an empty list: remove it to sync every job of the workspace, "
            "or name at least one job."
        )
    return names


def _realtime_job_nodes(config: Mapping[str, Any]) -> Mapping[str, tuple[str, ...]]:
    value = config.get("realtime_job_nodes")
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(job, str) and isinstance(nodes, list) and all(isinstance(n, str) and n for n in nodes)
        for job, nodes in value.items()
    ):
        raise ConfigError(
            "Setting `realtime_job_nodes` must map each real-time job name to a list of its node "
            'names, e.g. {"rt_orders": ["kafka_in", "dws_out"]}.'
        )
    return {job: tuple(nodes) for job, nodes in value.items()}


def _filters(config: Mapping[str, Any]) -> InstanceFilters:
    status = optional_text(config, "status")
    if status is not None and status not in INSTANCE_STATUSES:
        raise ConfigError(f"Setting `status` must be one of {', '.join(INSTANCE_STATUSES)}, got {status!r}.")
    instance_type = config.get("instance_type")
    if instance_type is not None and (isinstance(instance_type, bool) or instance_type not in INSTANCE_TYPES):
        raise ConfigError(
            f"Setting `instance_type` must be one of {', '.join(map(str, INSTANCE_TYPES))}, "
            f"got {instance_type!r}."
        )
    flags: dict[str, bool | None] = {}
    for name in ("force_success", "ignore_success"):
        flag = config.get(name)
        if flag is not None and not isinstance(flag, bool):
            raise ConfigError(f"Setting `{name}` must be true or false, got {flag!r}.")
        if flag is not None and status != "success":
            raise ConfigError(
                f"Setting `{name}` only works with `status` set to success (the API ignores it otherwise)."
            )
        flags[name] = flag
    return InstanceFilters(status, instance_type, flags["force_success"], flags["ignore_success"])
