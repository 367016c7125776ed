-- Alarm notifications (stream `alarms`); empty until that stream is loaded.
with source as (
    {{ select_source('alarms', {
        'project_id': 'string',
        'workspace': 'string',
        'job_name': 'string',
        'job_id': 'bigint',
        'plan_time': 'bigint',
        'alarm_time': 'bigint',
        'remind_type': 'bigint',
        'schedule_type': 'bigint',
        'send_msg': 'string',
        'send_status': 'bigint',
    }, required=false) }}
)

select
    project_id,
    workspace,
    job_name,
    job_id,
    -- The key keeps the API's ms, as the loaded table's key.
    plan_time,
    alarm_time,
    remind_type,
    {{ ms_to_timestamp('plan_time') }} as planned_at,
    {{ ms_to_timestamp('alarm_time') }} as alarmed_at,
    schedule_type,
    send_msg,
    -- 0 sent, 1 sending failed.
    send_status
from source
