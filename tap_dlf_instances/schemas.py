"""JSON schemas of the streams, in the API's own field names (Table 4 of the contract).

Times are kept as the API sends them, milliseconds since the epoch (exact, and what the
bookmarks compare); fields the API may omit are nullable.
"""

from __future__ import annotations

from singer_sdk import typing as th

SOURCE_PROPERTIES = th.PropertiesList(
    th.Property(
        "project_id",
        th.StringType,
        required=True,
        description="Huawei Cloud project the instance was read from (from the config).",
    ),
    th.Property(
        "workspace",
        th.StringType,
        required=True,
        description="DataArts Studio workspace ID from the config, or 'default' when none is set.",
    ),
)

INSTANCE_SCHEMA = th.PropertiesList(
    *SOURCE_PROPERTIES.wrapped.values(),
    th.Property(
        "job_name",
        th.StringType,
        required=True,
        description="Batch job name, or '<real-time job>_<node>' for a real-time job's sub-job.",
    ),
    th.Property("job_id", th.IntegerType, description="Job ID."),
    th.Property(
        "job_instance_name",
        th.StringType,
        description="Name of the job instance as recorded by the log.",
    ),
    th.Property(
        "status",
        th.StringType,
        description="waiting, running, success, fail, running-exception, skip-by-depend, freeze, "
        "pause or manual-stop.",
    ),
    th.Property(
        "plan_time",
        th.IntegerType,
        required=True,
        description="Planned execution time, ms since the epoch (the replication key).",
    ),
    th.Property("start_time", th.IntegerType, description="Actual start, ms since the epoch."),
    th.Property("end_time", th.IntegerType, description="Actual end, ms since the epoch."),
    th.Property(
        "execute_time",
        th.NumberType,
        description="Execution duration in ms (documented as Long, sent fractional at times).",
    ),
    th.Property(
        "instance_id",
        th.IntegerType,
        required=True,
        description="Job instance ID.",
    ),
    th.Property("submit_time", th.IntegerType, description="Submission time, ms since the epoch."),
    th.Property(
        "instance_type",
        th.IntegerType,
        description="0 general, 2 manual, 5 PatchData, 6 sub-job, 7 one-off scheduling.",
    ),
    th.Property("force_success", th.BooleanType, description="Forced to success."),
    th.Property("ignore_success", th.BooleanType, description="Failure ignored."),
    th.Property("version", th.IntegerType, description="Job instance version."),
).to_dict()

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
).to_dict()
