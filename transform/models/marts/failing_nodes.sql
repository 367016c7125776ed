-- Nodes of jobs that failed at least once: runs of the node, failed runs, and when it last
-- failed. Empty while node runs (`instance_nodes`) are not loaded.
select
    project_id,
    workspace,
    job_name,
    node_name,
    count(*) as node_runs,
    count(case when status = 'fail' then 1 end) as failures,
    max(case when status = 'fail' then coalesce(ended_at, started_at, planned_at) end) as last_failed_at
from {{ ref('stg_instance_nodes') }}
group by project_id, workspace, job_name, node_name
having count(case when status = 'fail' then 1 end) > 0
