-- Every run is counted once: runs = successes + failures + open runs, and the days hold every
-- instance.
select project_id, workspace, job_name, day
from {{ ref('job_daily') }}
where runs <> successes + failures + open_runs
union all
select null, null, null, null
where (select sum(runs) from {{ ref('job_daily') }}) <> (select count(*) from {{ ref('runs') }})
