-- Per job and UTC day of the plan time: runs by outcome, the median and 95th percentile of the
-- duration of successful runs (a failed run stops early, a running one has no duration), and
-- the 95th percentile start delay of scheduled runs.
select
    project_id,
    workspace,
    job_name,
    cast(planned_at as date) as day,
    count(*) as runs,
    count(case when status_group = 'ok' then 1 end) as successes,
    count(case when status_group = 'failed' then 1 end) as failures,
    count(case when status_group = 'open' then 1 end) as open_runs,
    {{ percentile("case when status_group = 'ok' then duration_s end", 0.5) }} as p50_duration_s,
    {{ percentile("case when status_group = 'ok' then duration_s end", 0.95) }} as p95_duration_s,
    {{ percentile('start_delay_s', 0.95) }} as p95_start_delay_s
from {{ ref('stg_instances') }}
group by project_id, workspace, job_name, cast(planned_at as date)
