-- The workspace's jobs, times as UTC timestamps.
with source as (
    {{ select_source('jobs', {
        'project_id': 'string',
        'workspace': 'string',
        'name': 'string',
        'job_type': 'string',
        'status': 'string',
        'owner': 'string',
        'priority': 'bigint',
        'path': 'string',
        'create_user': 'string',
        'create_time': 'bigint',
        'start_time': 'bigint',
        'end_time': 'bigint',
        'last_instance_status': 'string',
        'last_instance_end_time': 'bigint',
        'last_update_user': 'string',
        'last_update_time': 'bigint',
        'single_node_job_flag': 'boolean',
        'single_node_job_type': 'string',
        'next_plan_time': 'string',
        'alarms': 'json',
    }) }}
)

select
    project_id,
    workspace,
    name as job_name,
    job_type,
    status,
    owner,
    priority,
    path,
    create_user,
    {{ ms_to_timestamp('nullif(create_time, 0)') }} as created_at,
    -- The schedule's validity.
    {{ ms_to_timestamp('nullif(start_time, 0)') }} as schedule_start_at,
    {{ ms_to_timestamp('nullif(end_time, 0)') }} as schedule_end_at,
    last_instance_status,
    {{ ms_to_timestamp('nullif(last_instance_end_time, 0)') }} as last_instance_ended_at,
    last_update_user,
    {{ ms_to_timestamp('nullif(last_update_time, 0)') }} as last_updated_at,
    single_node_job_flag,
    single_node_job_type,
    next_plan_time,
    alarms
from source
