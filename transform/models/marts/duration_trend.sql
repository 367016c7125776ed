-- Whether a job got slower: the median duration of its successful runs planned in the last
-- `trend_recent_days` days (recent_p50_s) against the `trend_earlier_days` days before that
-- (earlier_p50_s). is_rising when both medians rest on at least `trend_min_runs` runs and the
-- recent one is at least `trend_rise_ratio` times the earlier (defaults 7 days vs the 21
-- before, 5 runs, 1.2: a job 20 % slower this week than in the three weeks before). One row per
-- job with a successful run in either period; change_ratio = recent / earlier.
{%- set day_ms = 86400000 %}
{%- set recent_ms = var('trend_recent_days') * day_ms %}
{%- set earlier_ms = (var('trend_recent_days') + var('trend_earlier_days')) * day_ms %}

with ok_runs as (
    select
        project_id,
        workspace,
        job_name,
        duration_s,
        case
            when plan_time >= now_ms - {{ recent_ms }} then 'recent'
            when plan_time >= now_ms - {{ earlier_ms }} then 'earlier'
        end as period
    from {{ ref('stg_instances') }}
    cross join (select {{ now_ms() }} as now_ms) as clock
    where status_group = 'ok' and duration_s is not null
),

per_job as (
    select
        project_id,
        workspace,
        job_name,
        count(case when period = 'earlier' then 1 end) as earlier_runs,
        count(case when period = 'recent' then 1 end) as recent_runs,
        {{ percentile("case when period = 'earlier' then duration_s end", 0.5) }} as earlier_p50_s,
        {{ percentile("case when period = 'recent' then duration_s end", 0.5) }} as recent_p50_s
    from ok_runs
    where period is not null
    group by project_id, workspace, job_name
)

select
    project_id,
    workspace,
    job_name,
    earlier_p50_s,
    recent_p50_s,
    case when earlier_p50_s > 0 then recent_p50_s / earlier_p50_s end as change_ratio,
    coalesce(
        earlier_runs >= {{ var('trend_min_runs') }}
        and recent_runs >= {{ var('trend_min_runs') }}
        and recent_p50_s >= earlier_p50_s * {{ var('trend_rise_ratio') }},
        false
    ) as is_rising,
    earlier_runs,
    recent_runs
from per_job
