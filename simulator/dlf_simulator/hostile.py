"""A dataset of hostile strings, for the loaders' integrity test (``tests/test_loader_integrity.py``).

Strings that break CSV writers, SQL, terminals and encoders stand in the instances' own names
(``job_instance_name``), in job names, and in the jobs' owners, creators and paths. One large job
holds 50,000 plain instances whose names turn hostile only after 30,000 of them, so a loader that
guesses a CSV dialect from the first rows of a batch meets its first quote, comma or line break
late in the file.
"""

from __future__ import annotations

from datetime import datetime

from dlf_simulator.dataset import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    SECOND_WORKSPACE_ID,
    Dataset,
    Instance,
)
from dlf_simulator.seeding import DAY, FIRST_INSTANCE_ID, HOUR, MINUTE, to_ms

HOSTILE_STRINGS = (
    "NUL \x00 inside",
    "lone high \ud800 surrogate",
    "lone low \udfff surrogate",
    "emoji \U0001f600\U0001f389 and a flag \U0001f1eb\U0001f1f7",
    "right-to-left \u202eabc\u202c and a \u200f mark",
    "CRLF\r\nLF\nCR\ralone",
    "tab\tseparated\tvalue",
    'quotes "double" \'single\' ""',
    'backslash \\ and \\" and \\N and \\\\',
    "commas, inside, a, value,",
    "'; DROP TABLE instances; --",
    "x" * 10_000,
    "",
    "   spaces around   ",
    "NULL",
    "数据 \u2013 ünïcødé",
)
#: Job names: hostile, yet names a DataArts Factory job could have (no NUL, no lone surrogate).
HOSTILE_JOB_NAMES = (
    "quote \"double\" and 'single'",
    "comma, separated, name",
    "emoji \U0001f600 and RTL \u202eeman\u202c \u200f",
    "back\\slash \\N and \\\\",
    "tab\tand CRLF\r\nin a name",
    "Robert'); DROP TABLE instances;--",
)
BULK_JOB = "bulk_backfill"
BULK_INSTANCES = 50_000
#: The bulk job's instances before the first hostile name (in plan-time order, as a backfill
#: emits them): more than a CSV sniffer's sample of 20,480 rows.
PLAIN_PREFIX = 30_000


def hostile_dataset(now: datetime | int | None = None, *, hostile_jobs: bool = True) -> Dataset:
    """The bulk job, and unless ``hostile_jobs`` is false the jobs of hostile names and fields
    (whose rows, few and all hostile, a sync emits among the bulk job's first ones)."""
    now_ms = to_ms(now) // MINUTE * MINUTE
    dataset = Dataset(
        DEMO_PROJECT_ID, workspaces={DEFAULT_WORKSPACE_ID: "default", SECOND_WORKSPACE_ID: "analytics"}
    )
    next_id = FIRST_INSTANCE_ID
    # The bulk job: every 5 minutes, ending three days ago (no node runs fetched for it).
    step = 5 * MINUTE
    last_plan = (now_ms - 3 * DAY) // HOUR * HOUR
    first_plan = last_plan - (BULK_INSTANCES - 1) * step
    dataset.add_job(BULK_JOB, create_time=first_plan - DAY, last_update_time=first_plan - DAY, period_ms=step)
    bulk: list[Instance] = []
    for k in range(BULK_INSTANCES):
        plan = first_plan + k * step
        hostile = k >= PLAIN_PREFIX and k % 997 == 0
        bulk.append(
            Instance(
                instance_id=next_id,
                job_name=BULK_JOB,
                plan_time=plan,
                start_time=plan + 1000,
                submit_time=first_plan - DAY,
                status="fail" if k % 499 == 0 else "success",
                end_time=plan + 61_000,
                execute_time=60_000.0,
                job_id=dataset.jobs[(DEFAULT_WORKSPACE_ID, BULK_JOB)].job_id,
                version=1,
                job_instance_name=HOSTILE_STRINGS[k % len(HOSTILE_STRINGS)] if hostile else None,
            )
        )
        next_id += 1
    _load(dataset, BULK_JOB, bulk)
    # Hostile jobs: hourly over the last three days, every instance named with a hostile string,
    # the latest still running.
    first_hourly = (now_ms - 3 * DAY) // HOUR * HOUR
    for j, name in enumerate(HOSTILE_JOB_NAMES if hostile_jobs else ()):
        job = dataset.add_job(
            name,
            owner=HOSTILE_STRINGS[j % len(HOSTILE_STRINGS)],
            create_user=HOSTILE_STRINGS[(j + 5) % len(HOSTILE_STRINGS)],
            path=HOSTILE_STRINGS[(j + 10) % len(HOSTILE_STRINGS)],
            create_time=first_hourly - DAY,
            last_update_time=first_hourly - DAY,
            period_ms=HOUR,
        )
        rows: list[Instance] = []
        plans = range(first_hourly + j * MINUTE, now_ms - HOUR, HOUR)
        for k, plan in enumerate(plans):
            last = k == len(plans) - 1
            rows.append(
                Instance(
                    instance_id=next_id,
                    job_name=name,
                    plan_time=plan,
                    start_time=plan + 2000,
                    submit_time=plan,
                    status="running" if last else ("fail" if k % 7 == 3 else "success"),
                    end_time=None if last else plan + 30_000,
                    execute_time=None if last else 28_000.0,
                    job_id=job.job_id,
                    version=1,
                    job_instance_name=HOSTILE_STRINGS[(k + j) % len(HOSTILE_STRINGS)],
                )
            )
            next_id += 1
        _load(dataset, name, rows)
    dataset.reserve_instance_ids(next_id + 1)
    return dataset


def _load(dataset: Dataset, job_name: str, instances: list[Instance]) -> None:
    table = dataset.table(DEFAULT_WORKSPACE_ID, job_name)
    assert table is not None
    table.load(instances)
