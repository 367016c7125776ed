"""The tap's settings as the JSON schema that ``--about``, ``--discover`` and Meltano show.

What each setting means once read (defaults, bounds, checks across settings) is ``config/settings.py``;
this is the schema that the SDK validates a config against and that documents the settings.
"""

from __future__ import annotations

from typing import Any, cast

from singer_sdk import typing as th

from tap_dlf_instances.config.readers import (
    INSTANCE_NODES_DAYS,
    NUMBER_SETTINGS,
    TEXT_DEFAULTS,
    WHOLE_NUMBER_SETTINGS,
)
from tap_dlf_instances.config.settings import INSTANCE_STATUSES


def _bounded(name: str, description: str) -> th.Property[Any]:
    """A number setting with the default and range that config/settings.py applies, so that ``--about``
    shows them (the SDK's validator also fills the default into the config: the same value)."""
    if name in WHOLE_NUMBER_SETTINGS:
        whole = WHOLE_NUMBER_SETTINGS[name]
        integer = th.IntegerType(minimum=whole.low, maximum=whole.high)
        return th.Property(name, integer, default=whole.default, description=description)
    number = NUMBER_SETTINGS[name]
    # The SDK annotates the bounds as int; JSON Schema takes any number (0.01 days).
    decimal = th.NumberType(minimum=cast(int, number.low), maximum=cast(int, number.high))
    return th.Property(name, decimal, default=number.default, description=description)


CONFIG_SCHEMA = th.PropertiesList(
    th.Property("project_id", th.StringType, required=True, description="Huawei Cloud project ID."),
    th.Property(
        "region",
        th.StringType,
        description="Region such as cn-north-4; gives the default endpoints "
        "`https://dayu.<region>.myhuaweicloud.com` and `https://iam.<region>.myhuaweicloud.com`.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        description="Base URL of the DataArts Factory V2 API; overrides `region`.",
    ),
    th.Property("iam_url", th.StringType, description="Base URL of IAM (token login); overrides `region`."),
    th.Property(
        "v1_api_url",
        th.StringType,
        description="Base URL of the DLF V1 API (a job's nodes, an instance's node runs: the "
        "`instance_nodes` stream and real-time jobs' nodes). Default: `api_url` when `api_url` is set "
        "(one endpoint, such as the simulator, serves both), else `https://dayu-dlf.<region>.myhuaweicloud.com` "
        "for the regions where Huawei's SDK lists one.",
    ),
    th.Property(
        "instance_nodes_days",
        th.NumberType(
            minimum=cast(int, INSTANCE_NODES_DAYS.low), maximum=cast(int, INSTANCE_NODES_DAYS.high)
        ),
        description="The `instance_nodes` stream fetches the node runs only of instances planned in "
        "the last N days before the sync (one request per instance: this bounds a backfill's cost). "
        "Default: every final instance read.",
    ),
    th.Property(
        "ca_bundle",
        th.StringType,
        description="Path of a PEM file of CA certificates to verify the API and IAM with (a private "
        "CA); default: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE or SSL_CERT_DIR when set, "
        "else the bundled public CAs. Certificates are always verified.",
    ),
    th.Property(
        "workspace",
        th.StringType,
        description="Workspace ID, sent as the `workspace` header; default workspace when absent.",
    ),
    th.Property(
        "job_names",
        th.ArrayType(th.StringType),
        description="Jobs whose instances are read; when absent, every batch job of the workspace (jobs list API).",
    ),
    th.Property(
        "realtime_job_nodes",
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        description="Real-time job name -> list of node names whose sub-jobs (`<job>_<node>`) are read; "
        "without it a real-time job's nodes are found with DLF V1 ShowJob (this setting wins for the jobs it lists).",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Earliest plan time read (inclusive).",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        description="Plan times before this moment are read (exclusive); the bookmark never passes the sync's start.",
    ),
    th.Property("access_key_id", th.StringType, description="AK of an access key pair (AK/SK signing)."),
    th.Property("secret_access_key", th.StringType, secret=True, description="SK of the access key pair."),
    th.Property(
        "security_token",
        th.StringType,
        secret=True,
        description="Security token of temporary AK/SK credentials.",
    ),
    th.Property(
        "auth_token",
        th.StringType,
        secret=True,
        description="A ready IAM token, sent as X-Auth-Token.",
    ),
    th.Property("iam_username", th.StringType, description="IAM user name (password login)."),
    th.Property("iam_password", th.StringType, secret=True, description="IAM user password."),
    th.Property("iam_domain_name", th.StringType, description="Account (domain) name of the IAM user."),
    _bounded(
        "lookback_window_hours",
        description="Hours before the bookmark each incremental sync re-reads, for late PatchData and manual runs (default 24).",
    ),
    _bounded("page_size", description="Instances per request, 1 to 1000 (default 1000)."),
    _bounded(
        "window_days",
        description="Width of a request window in days, at most 30 (default 30).",
    ),
    th.Property(
        "offset_mode",
        th.StringType,
        allowed_values=["auto", "page", "row"],
        default=TEXT_DEFAULTS["offset_mode"],
        description="How the API reads `offset`: page index, row offset, or auto-detect (default).",
    ),
    th.Property(
        "instance_listing",
        th.StringType,
        allowed_values=["auto", "workspace", "per_job"],
        default=TEXT_DEFAULTS["instance_listing"],
        description="How instances are read: `workspace`, one DLF V1 listing of every job's instances "
        "(requests follow the rows read, not the number of jobs; needs `v1_api_url`); `per_job`, one "
        "V2 listing per job and window; `auto` (default), the workspace listing when it answers and "
        "costs fewer requests, else per job.",
    ),
    th.Property(
        "emit_unchanged",
        th.BooleanType,
        description="Emit again every instance read in the lookback. Default false: an instance that "
        "was final before the previous sync began, and has not changed since, is not emitted again "
        "(docs/sync-and-state.md, What is emitted again).",
    ),
    th.Property(
        "status",
        th.StringType,
        allowed_values=list(INSTANCE_STATUSES),
        description="Only instances of this status (API filter): " + ", ".join(INSTANCE_STATUSES) + ".",
    ),
    th.Property(
        "instance_type",
        th.IntegerType,
        description="Only instances of this scheduling mode (API filter): 0 general (scheduled), 2 manual, "
        "5 PatchData, 6 sub-job, 7 one-off scheduling.",
    ),
    th.Property(
        "force_success",
        th.BooleanType,
        description="With status success: only instances forced to success (API filter).",
    ),
    th.Property(
        "ignore_success",
        th.BooleanType,
        description="With status success: only instances whose failure was ignored (API filter).",
    ),
    _bounded(
        "max_requests_per_second",
        description="Client-side pace of requests; the API allows 10 per user (default 10).",
    ),
    _bounded(
        "max_workers",
        description="Requests in flight at once across jobs and windows (default 4).",
    ),
    _bounded(
        "request_timeout",
        description="Seconds for a whole response, headers and body, not for each read (default 60).",
    ),
    _bounded(
        "max_retries",
        description="Retries of a failed request before the run stops (default 8).",
    ),
    _bounded(
        "shard_index",
        description="This run's shard, 0 to shard_count - 1 (default 0).",
    ),
    _bounded(
        "shard_count",
        description="Number of shards the jobs are split into by a stable hash of their name (default 1).",
    ),
).to_dict()

#: What a setting without a fixed default means when it is not set, for ``--about --format=markdown``
#: (its Default column). Not a JSON schema ``default``: the SDK would write that into the config.
DEFAULTS_WHEN_UNSET = {
    "api_url": "from `region`",
    "iam_url": "from `region`",
    "v1_api_url": "`api_url`, else from `region`",
    "instance_nodes_days": "every final instance",
    "ca_bundle": "the CA variables, else public CAs",
    "workspace": "the default workspace",
    "job_names": "every batch job",
    "realtime_job_nodes": "found with ShowJob",
    "start_date": "00:00 UTC, 30 days before the sync",
    "end_date": "the sync's start",
    "emit_unchanged": "false",
    "status": "no filter",
    "instance_type": "no filter",
    "force_success": "no filter",
    "ignore_success": "no filter",
}


def with_unset_defaults(about_markdown: str) -> str:
    """The SDK's ``--about`` markdown, its Default column saying what an unset setting means."""
    for name, meaning in DEFAULTS_WHEN_UNSET.items():
        about_markdown = about_markdown.replace(
            f"| {name} | False | None |", f"| {name} | False | {meaning} |"
        )
    return about_markdown
