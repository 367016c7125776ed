"""The ``jobs`` stream: the workspace's jobs (a dimension table), and the list the run reads
instances of when ``job_names`` is not set."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import typing as th

from tap_dlf_instances.api.client import DLFStream
from tap_dlf_instances.api.paging import OffsetPaginator
from tap_dlf_instances.api.responses import page_of
from tap_dlf_instances.records import DEFAULT_WORKSPACE
from tap_dlf_instances.source_fields import SOURCE_PROPERTIES

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

JOB_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    th.Property("name", th.StringType, required=True, description="Job name."),
    th.Property("job_type", th.StringType, description="BATCH or REAL_TIME."),
    th.Property("status", th.StringType, description="Job status (e.g. NORMAL, STOPPED)."),
    th.Property("create_user", th.StringType),
    th.Property("create_time", th.IntegerType, description="ms since the epoch."),
    th.Property("owner", th.StringType),
    th.Property("priority", th.IntegerType),
    th.Property("path", th.StringType, description="Directory of the job."),
    th.Property("last_instance_status", th.StringType),
    th.Property("last_instance_end_time", th.IntegerType, description="ms since the epoch."),
    th.Property("last_update_time", th.IntegerType, description="ms since the epoch."),
    th.Property("last_update_user", th.StringType),
    th.Property("single_node_job_flag", th.BooleanType, description="Whether the job has a single node."),
    # The rest of the SDK's JobResultV2 (so the stream carries every field of the model).
    th.Property("start_time", th.IntegerType, description="Start of the job's schedule, ms since the epoch."),
    th.Property("end_time", th.IntegerType, description="End of the job's schedule, ms since the epoch."),
    th.Property(
        "next_plan_time",
        th.StringType,
        description="Next planned run. A string, as the API and Huawei's SDK have it (ms since the epoch "
        "as text).",
    ),
    th.Property("flink_job_info", th.StringType, description="Flink job information (Flink jobs only)."),
    th.Property("single_node_job_type", th.StringType, description="Type of a single-node job."),
    th.Property("empty_running_job", th.StringType, description="Dry-run (empty running) job flag."),
    th.Property(
        "alarms",
        th.ArrayType(
            th.ObjectType(
                th.Property("alarmType", th.StringType, description="Alarm type."),
                th.Property("topicUrn", th.StringType, description="SMN topic notified."),
            )
        ),
        description="Alarm notifications of the job (the API's JobAlarm objects, its field names).",
    ),
).to_dict()

#: The jobs list API's largest page.
JOBS_PAGE_SIZE = 100


class JobsStream(DLFStream):
    """Every job of the workspace (``GET /v2/{project_id}/factory/jobs``), full table."""

    name = "jobs"
    path = "/jobs"
    primary_keys = ("project_id", "workspace", "name")
    replication_key = None
    schema = JOB_SCHEMA
    rows_key = "jobs"

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        # The SDK's query names (ListFactoryJobsRequest); alarms are listed only when asked for.
        return {"limit": JOBS_PAGE_SIZE, "offset": next_page_token or 0, "need_alarms": "true"}

    def get_new_paginator(self) -> OffsetPaginator:
        paginator = OffsetPaginator(
            page_size=JOBS_PAGE_SIZE,
            reading=self._run.services.offset_reading,
            page_of=lambda response: page_of(response, "jobs"),
            id_key="name",
        )
        paginator.where = "The jobs list"
        return paginator

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return page_of(response, "jobs").rows

    def list_jobs(self) -> list[dict[str, Any]]:
        """All jobs, each once (pages may overlap when ``offset`` is read the other way)."""
        jobs: dict[str, dict[str, Any]] = {}
        nameless = 0
        for row in self.request_records(None):
            name = row.get("name")
            if isinstance(name, str) and name:
                jobs.setdefault(name, row)
            else:
                nameless += 1
        if nameless:
            self.log("Skipped %d rows of the jobs list without a `name`.", nameless, level=logging.WARNING)
        return list(jobs.values())

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        wanted = self._run.configured_job_filter()
        for job in self._run.workspace_jobs():
            if wanted is None or job["name"] in wanted:
                yield {
                    **job,
                    "project_id": self.settings.project_id,
                    "workspace": self.settings.workspace or DEFAULT_WORKSPACE,
                }
