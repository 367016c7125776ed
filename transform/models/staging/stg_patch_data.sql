-- PatchData runs (stream `patch_data`); empty until that stream is loaded.
with source as (
    {{ select_source('patch_data', {
        'project_id': 'string',
        'workspace': 'string',
        'name': 'string',
        'job_list': 'json',
        'start_date': 'bigint',
        'end_date': 'bigint',
        'submitted_date': 'bigint',
        'status': 'string',
        'parallel': 'bigint',
        'type': 'bigint',
        'user_name': 'string',
        'supplement_data_instance_time': 'json',
        'supplement_data_run_time': 'json',
    }, required=false) }}
)

select
    project_id,
    workspace,
    name as patch_name,
    -- The job names, as JSON text: ["job_a", "job_b"].
    job_list,
    -- The plan-time range the run re-plans.
    {{ ms_to_timestamp('start_date') }} as range_start_at,
    {{ ms_to_timestamp('end_date') }} as range_end_at,
    {{ ms_to_timestamp('submitted_date') }} as submitted_at,
    status,
    parallel,
    type,
    user_name,
    supplement_data_instance_time,
    supplement_data_run_time
from source
