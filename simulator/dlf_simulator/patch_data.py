"""PatchData (supplement data) runs: ``GET /v2/{project_id}/factory/supplement-data``.

Huawei's SDK models the route as ``ShowFactorySupplementData``: query ``sort`` (``desc``, the
default, or ``asc``: by creation time), ``page`` (a page index from 0), ``size`` (default 10),
``name``, ``user_name``, ``status``, ``start_date``, ``end_date`` (13-digit timestamps), all sent
as strings; the answer is ``{"total", "rows": [SupplementDataRespRows], "success", "msg"}``.

Where the docs are vague the simulator is harsh: ``size`` is 1 to 100 (the jobs list's cap; none
is documented), ``page`` is a page index, ``sort`` anything but ``asc``/``desc`` is refused, and
``start_date``/``end_date`` select runs by ``submitted_date`` (the docs say only "the query's
start/end date"; the tap does not rely on them).

The data agrees with itself: every ``instance_type`` 5 instance the simulator makes belongs to a
run here whose ``job_list`` holds its job, whose ``[start_date, end_date]`` holds its plan time
and whose ``submitted_date`` is its ``submit_time``. A RUNNING run has made only part of its
instances; :func:`finish_run` makes the rest and ends it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlf_simulator.dataset import Dataset, Instance

MINUTE = 60_000
PATCH_STATUSES = ("SUCCESS", "RUNNING", "CANCLE")  # sic: the API's spelling
MAX_SIZE = 100
SCHEDULED_TYPES = (0, 6)  # what a PatchData run re-runs: scheduled instances (and sub-jobs')


@dataclass
class PatchRun:
    """One PatchData run, as ``SupplementDataRespRows`` has it (plus what the simulator needs)."""

    name: str
    job_list: tuple[str, ...]
    start_date: int
    end_date: int
    submitted_date: int
    status: str = "SUCCESS"
    workspace: str = ""
    parallel: int = 1
    type: int = 0
    user_name: str = "demo-user"
    # Plan times of each job still to be made while the run is RUNNING.
    pending: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job_list": list(self.job_list),
            "start_date": self.start_date,
            "end_date": self.end_date,
            "status": self.status,
            "submitted_date": self.submitted_date,
            "parallel": self.parallel,
            "type": self.type,
            "user_name": self.user_name,
            "supplement_data_instance_time": {"days": [], "time_of_day": "00:00-23:59"},
            "supplement_data_run_time": {"time_of_day": "00:00-23:59", "day_of_week": "", "day_of_month": ""},
        }


def runs(dataset: Dataset) -> list[PatchRun]:
    """The dataset's PatchData runs (``Dataset.patch_runs``; guarded by ``dataset.lock``)."""
    found: list[PatchRun] = dataset.patch_runs
    return found


def register(dataset: Dataset, run: PatchRun) -> PatchRun:
    """Add a run whose instances exist already (seeding, ``advance``)."""
    with dataset.lock:
        if not run.workspace:
            run.workspace = dataset.default_workspace
        existing = runs(dataset)
        taken = {r.name for r in existing}
        base, n = run.name, 1
        while run.name in taken:
            n += 1
            run.name = f"{base}_{n}"
        existing.append(run)
        return run


def patch_name(job: str, submitted: int) -> str:
    return f"P_{job}_{submitted // 1000}"


def create_run(
    dataset: Dataset,
    jobs: Sequence[str],
    start: int,
    end: int,
    *,
    submitted: int,
    status: str = "SUCCESS",
    name: str | None = None,
    workspace: str | None = None,
    now_ms: int,
) -> tuple[PatchRun, list[Instance]]:
    """A PatchData run of ``jobs`` over plan times ``[start, end]``, with its instances: one
    type-5 re-run of each scheduled (type 0 or 6) plan time of each job in the range. RUNNING: the first half
    of each job's re-runs exist (the last of them running), the rest come with :func:`finish_run`."""
    if status not in PATCH_STATUSES:
        raise ValueError(f"status must be one of {PATCH_STATUSES}, not {status!r}")
    if start > end:
        raise ValueError("start must not be after end")
    ws = workspace or dataset.default_workspace
    made: list[Instance] = []
    with dataset.lock:
        run = PatchRun(
            name=name or patch_name(jobs[0] if jobs else "none", submitted),
            job_list=tuple(jobs),
            start_date=start,
            end_date=end,
            submitted_date=submitted,
            status=status,
            workspace=ws,
        )
        for job in jobs:
            table = dataset.table(ws, job)
            if table is None:
                raise KeyError(f"no job {job!r} in workspace {ws}")
            plans = sorted(
                {
                    inst.plan_time
                    for inst in table.rows()
                    if start <= inst.plan_time <= end and inst.instance_type in SCHEDULED_TYPES
                }
            )
            if status == "RUNNING":
                now_count = (len(plans) + 1) // 2
                run.pending[job] = plans[now_count:]
                plans = plans[:now_count]
            for k, plan in enumerate(plans):
                still_running = status == "RUNNING" and k == len(plans) - 1
                made.append(
                    _rerun(dataset, ws, job, plan, submitted, k, running=still_running, now_ms=now_ms)
                )
        register(dataset, run)
    return run, made


def finish_run(dataset: Dataset, name: str, *, now_ms: int) -> tuple[PatchRun, list[Instance]]:
    """A RUNNING run ends: its running re-runs succeed and the rest of its re-runs are made."""
    made: list[Instance] = []
    with dataset.lock:
        run = next((r for r in runs(dataset) if r.name == name), None)
        if run is None:
            raise KeyError(f"no PatchData run {name!r}")
        for job in run.job_list:
            for inst in dataset.instances(job, run.workspace):
                if (
                    inst.instance_type == 5
                    and inst.submit_time == run.submitted_date
                    and inst.status == "running"
                ):
                    end = max(inst.start_time, now_ms - MINUTE)
                    dataset.update_instance(
                        inst.instance_id,
                        status="success",
                        end_time=end,
                        execute_time=float(end - inst.start_time),
                    )
            for k, plan in enumerate(run.pending.get(job, [])):
                made.append(
                    _rerun(
                        dataset, run.workspace, job, plan, run.submitted_date, k, running=False, now_ms=now_ms
                    )
                )
        run.pending = {}
        run.status = "SUCCESS"
    return run, made


def _rerun(  # noqa: PLR0917  # a private helper; each call names the flags
    dataset: Dataset,
    workspace: str,
    job: str,
    plan: int,
    submitted: int,
    k: int,
    *,
    running: bool,
    now_ms: int,
) -> Instance:
    start = min(submitted + (k + 1) * MINUTE, now_ms)
    if running:
        return dataset.add_instance(
            job,
            plan,
            workspace=workspace,
            instance_type=5,
            status="running",
            start_time=start,
            submit_time=submitted,
        )
    end = min(start + 3 * MINUTE, now_ms)
    return dataset.add_instance(
        job,
        plan,
        workspace=workspace,
        instance_type=5,
        status="success",
        start_time=start,
        end_time=end,
        execute_time=float(end - start),
        submit_time=submitted,
    )


def register_instances(dataset: Dataset, instances: Iterable[tuple[str, Instance]]) -> list[PatchRun]:
    """One SUCCESS run per (workspace, job, submit_time) of existing type-5 instances: what the
    seeding and ``advance`` made, given the run that made them."""
    groups: dict[tuple[str, str, int], list[int]] = {}
    for workspace, inst in instances:
        if inst.instance_type == 5:
            groups.setdefault((workspace, inst.job_name, inst.submit_time), []).append(inst.plan_time)
    made = []
    for (workspace, job, submitted), plans in sorted(groups.items()):
        made.append(
            register(
                dataset,
                PatchRun(
                    name=patch_name(job, submitted),
                    job_list=(job,),
                    start_date=min(plans),
                    end_date=max(plans),
                    submitted_date=submitted,
                    workspace=workspace,
                ),
            )
        )
    return made


# --- the route ------------------------------------------------------------------------------


class PatchQueryError(ValueError):
    """A parameter the API refuses (answered 400 DLF.0802 by the caller)."""


def listing(dataset: Dataset, workspace: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The answer to ``GET .../supplement-data`` with these query parameters."""
    sort = params.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise PatchQueryError(f"The parameter sort must be asc or desc, not {sort!r}.")
    page = _whole(params, "page", 0)
    size = _whole(params, "size", 10)
    if page < 0:
        raise PatchQueryError(f"The parameter page must be 0 or greater, not {page}.")
    if not 1 <= size <= MAX_SIZE:
        raise PatchQueryError(f"The parameter size must be between 1 and {MAX_SIZE}, not {size}.")
    status = params.get("status") or None
    if status is not None and status not in PATCH_STATUSES:
        raise PatchQueryError(f"The parameter status is invalid: {status!r}.")
    since = _whole(params, "start_date", 0) if params.get("start_date") else None
    until = _whole(params, "end_date", 0) if params.get("end_date") else None
    name = params.get("name") or None
    user = params.get("user_name") or None
    with dataset.lock:
        found = [
            run
            for run in runs(dataset)
            if run.workspace == workspace
            and (name is None or name in run.name)
            and (user is None or run.user_name == user)
            and (status is None or run.status == status)
            and (since is None or run.submitted_date >= since)
            and (until is None or run.submitted_date <= until)
        ]
        found.sort(key=lambda r: (r.submitted_date, r.name), reverse=sort == "desc")
        rows = [run.to_api() for run in found[page * size : (page + 1) * size]]
    return {"total": len(found), "rows": rows, "success": True, "msg": "success"}


def _whole(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise PatchQueryError(f"The parameter {name} must be an integer, not {raw!r}.")
    return int(raw)
