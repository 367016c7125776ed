-- Instances not final yet (status group `open`), with their age: seconds since the plan time,
-- at the time the model was built.
select
    project_id,
    workspace,
    job_name,
    instance_id,
    status,
    planned_at,
    started_at,
    cast(({{ now_ms() }} - plan_time) / 1000.0 as double precision) as age_s
from {{ ref('stg_instances') }}
where status_group = 'open'
