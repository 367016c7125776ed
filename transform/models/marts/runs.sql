-- One row per job instance: what ran, when, how long, how it ended.
select
    project_id,
    workspace,
    job_name,
    instance_id,
    status,
    status_group,
    instance_type,
    planned_at,
    started_at,
    ended_at,
    duration_s,
    start_delay_s
from {{ ref('stg_instances') }}
