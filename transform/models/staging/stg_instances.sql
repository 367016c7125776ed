-- One row per job instance, times as UTC timestamps, with its run duration, its start delay
-- and its status group:
--   ok     final and succeeded: success
--   failed final and did not succeed: fail, manual-stop (stopped by hand), skip-by-depend
--          (skipped because a dependency failed)
--   open   can still change: waiting, running, running-exception, pause, freeze, and any
--          status the API may add (the tap too treats an unknown status as not final)
with source as (
    {{ select_source('instances', {
        'project_id': 'string',
        'workspace': 'string',
        'job_name': 'string',
        'instance_id': 'bigint',
        'job_id': 'bigint',
        'job_instance_name': 'string',
        'status': 'string',
        'instance_type': 'bigint',
        'plan_time': 'bigint',
        'submit_time': 'bigint',
        'start_time': 'bigint',
        'end_time': 'bigint',
        'execute_time': 'double',
        'force_success': 'boolean',
        'ignore_success': 'boolean',
        'version': 'bigint',
    }) }}
),

times as (
    select
        *,
        -- 0 is what the API sends for a time that has not happened yet.
        nullif(start_time, 0) as start_ms,
        nullif(end_time, 0) as end_ms
    from source
)

select
    project_id,
    workspace,
    job_name,
    instance_id,
    job_id,
    job_instance_name,
    status,
    case
        when status = 'success' then 'ok'
        when status in ('fail', 'manual-stop', 'skip-by-depend') then 'failed'
        else 'open'
    end as status_group,
    instance_type,
    plan_time,
    start_ms as start_time,
    end_ms as end_time,
    {{ ms_to_timestamp('plan_time') }} as planned_at,
    {{ ms_to_timestamp('nullif(submit_time, 0)') }} as submitted_at,
    {{ ms_to_timestamp('start_ms') }} as started_at,
    {{ ms_to_timestamp('end_ms') }} as ended_at,
    -- Seconds from start to end, once both are known.
    case
        when end_ms >= start_ms then cast((end_ms - start_ms) / 1000.0 as double precision)
    end as duration_s,
    -- Seconds from the plan time to the start: a delay only for scheduled runs (0 general, 6
    -- sub-job scheduling); manual (2), PatchData (5) and one-off (7) runs are planned in the
    -- past or whenever someone clicks, so their start - plan says nothing about the scheduler.
    case
        when instance_type in (0, 6) and start_ms is not null
            then cast((start_ms - plan_time) / 1000.0 as double precision)
    end as start_delay_s,
    execute_time,
    force_success,
    ignore_success,
    version
from times
