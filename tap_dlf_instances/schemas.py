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
        description="Execution duration in ms. A number, not an integer: documented as Long, "
        "the API sends fractions at times (0.3); Huawei's SDK models it as int and casts 0.3 to 0, "
        "losing what the API said.",
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
