-- Node runs of job instances (stream `instance_nodes`); empty until that stream is loaded.
with source as (
    {{ select_source('instance_nodes', {
        'project_id': 'string',
        'workspace': 'string',
        'job_name': 'string',
        'instance_id': 'bigint',
        'node_name': 'string',
        'status': 'string',
        'node_type': 'string',
        'plan_time': 'bigint',
        'start_time': 'bigint',
        'end_time': 'bigint',
        'execute_time': 'double',
        'retry_times': 'bigint',
        'input_row_count': 'bigint',
        'output_row_count': 'bigint',
        'log_path': 'string',
    }, required=false) }}
),

times as (
    select *, nullif(start_time, 0) as start_ms, nullif(end_time, 0) as end_ms
    from source
)

select
    project_id,
    workspace,
    job_name,
    instance_id,
    node_name,
    status,
    node_type,
    {{ ms_to_timestamp('plan_time') }} as planned_at,
    {{ ms_to_timestamp('start_ms') }} as started_at,
    {{ ms_to_timestamp('end_ms') }} as ended_at,
    case
        when end_ms >= start_ms then cast((end_ms - start_ms) / 1000.0 as double precision)
    end as duration_s,
    execute_time,
    retry_times,
    input_row_count,
    output_row_count,
    log_path
from times
