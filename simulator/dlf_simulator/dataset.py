"""The simulated project's data: workspaces, jobs, and each job's instances in sorted columns.

Instances live in parallel ``array`` columns sorted by ``(plan_time, instance_id)`` so a window is
two bisects and a million rows stay in tens of megabytes rather than hundreds (one object per row
costs ~300 bytes). :class:`Instance` is the row as a value, for seeding, updates and assertions.
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

DEMO_PROJECT_ID = "0b9d4a6e3c7f41d2a8e5f6c1b2d3e4f5"
DEFAULT_WORKSPACE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SECOND_WORKSPACE_ID = "f0e1d2c3b4a5968778695a4b3c2d1e0f"

STATUSES = (
    "waiting",
    "running",
    "success",
    "fail",
    "running-exception",
    "skip-by-depend",
    "freeze",
    "pause",
    "manual-stop",
)
FINAL_STATUSES = frozenset({"success", "fail", "manual-stop", "skip-by-depend"})
INSTANCE_TYPES = (0, 2, 5, 6, 7)
JOB_TYPES = ("BATCH", "REAL_TIME")
# A schedule's validity ends here unless set otherwise (2099-12-31T23:59:59Z, the console's default).
SCHEDULE_END_MS = 4_102_444_799_000

_STATUS_INDEX = {name: index for index, name in enumerate(STATUSES)}
_MISSING = -1
_FORCE = 1
_IGNORE = 2
_NO_FLAGS = 4  # force_success / ignore_success omitted from the row
_NO_JOB_ID = 8


@dataclass(frozen=True, slots=True)
class Instance:
    """One job instance, with the fields of the contract's Table 4 (``None`` = omitted)."""

    instance_id: int
    job_name: str
    plan_time: int
    start_time: int
    submit_time: int
    status: str = "success"
    instance_type: int = 0
    end_time: int | None = None
    execute_time: float | None = None
    force_success: bool | None = False
    ignore_success: bool | None = False
    job_id: int | None = None
    version: int | None = None
    job_instance_name: str | None = None  # None: the job's name, as the API usually sends

    def to_api(self) -> dict[str, Any]:
        """The instance as the API sends it: optional fields left out when unset."""
        row: dict[str, Any] = {"job_name": self.job_name}
        if self.job_id is not None:
            row["job_id"] = self.job_id
        row["job_instance_name"] = self.job_name if self.job_instance_name is None else self.job_instance_name
        row["status"] = self.status
        row["plan_time"] = self.plan_time
        row["start_time"] = self.start_time
        if self.end_time is not None:
            row["end_time"] = self.end_time
        if self.execute_time is not None:
            row["execute_time"] = _number(self.execute_time)
        row["instance_id"] = self.instance_id
        row["submit_time"] = self.submit_time
        row["instance_type"] = self.instance_type
        if self.force_success is not None:
            row["force_success"] = self.force_success
        if self.ignore_success is not None:
            row["ignore_success"] = self.ignore_success
        if self.version is not None:
            row["version"] = self.version
        return row


INSTANCE_FIELDS = frozenset(f.name for f in fields(Instance))


def _number(value: float) -> float | int:
    """Whole durations go out as integers, as the real API does; fractions (0.3) stay."""
    return int(value) if value.is_integer() else value


@dataclass
class Job:
    """A job as the jobs list shows it; a real-time job's nodes are queried as sub-jobs."""

    name: str
    job_type: str = "BATCH"
    workspace: str = DEFAULT_WORKSPACE_ID
    job_id: int | None = None
    nodes: tuple[str, ...] = ()
    status: str = "SCHEDULING"
    owner: str = "demo-user"
    create_user: str = "demo-user"
    create_time: int = 0
    last_update_time: int = 0
    priority: int = 0
    path: str = "/"
    # The schedule: valid from start_time (None: create_time) to end_time, planned every
    # period_ms (None: not scheduled, e.g. a real-time job), which gives next_plan_time.
    start_time: int | None = None
    end_time: int = SCHEDULE_END_MS
    period_ms: int | None = None
    # (alarmType, topicUrn) pairs, as JobAlarm models them; listed only with need_alarms=true.
    alarms: tuple[tuple[str, str], ...] = ()
    empty_running_job: str = "0"

    def sub_job_names(self) -> list[str]:
        return [f"{self.name}_{node}" for node in self.nodes]


class InstanceTable:
    """One queryable job's instances as columns sorted by ``(plan_time, instance_id)``."""

    def __init__(self, job_name: str, job_id: int | None) -> None:
        self.job_name = job_name
        self.job_id = job_id
        self.plan = array("q")
        self.start = array("q")
        self.submit = array("q")
        self.end = array("q")
        self.exec = array("d")
        self.iid = array("q")
        self.status = array("b")
        self.itype = array("b")
        self.flags = array("B")
        self.version = array("i")
        # instance_id -> job_instance_name, for the few instances whose name is not the job's
        self.instance_names: dict[int, str] = {}
        # start_time - plan_time bounds, so a start_time window still narrows by bisect on plan.
        self.min_lag = 0
        self.max_lag = 0
        self.changes = 0  # counts every change, so that a cached answer knows it is stale

    def __len__(self) -> int:
        return len(self.plan)

    def row(self, i: int) -> Instance:
        flags = self.flags[i]
        end = self.end[i]
        execute = self.exec[i]
        version = self.version[i]
        return Instance(
            instance_id=self.iid[i],
            job_name=self.job_name,
            plan_time=self.plan[i],
            start_time=self.start[i],
            submit_time=self.submit[i],
            status=STATUSES[self.status[i]],
            instance_type=self.itype[i],
            end_time=None if end == _MISSING else end,
            execute_time=None if math.isnan(execute) else execute,
            force_success=None if flags & _NO_FLAGS else bool(flags & _FORCE),
            ignore_success=None if flags & _NO_FLAGS else bool(flags & _IGNORE),
            job_id=None if flags & _NO_JOB_ID else self.job_id,
            version=None if version == _MISSING else version,
            job_instance_name=self.instance_names.get(self.iid[i]),
        )

    def api_row(self, i: int) -> dict[str, Any]:
        return self.row(i).to_api()

    def rows(self) -> Iterator[Instance]:
        return (self.row(i) for i in range(len(self)))

    def find(self, instance_id: int) -> int:
        try:
            return self.iid.index(instance_id)
        except ValueError:
            return -1

    def _slot(self, plan_time: int, instance_id: int) -> int:
        i = bisect_left(self.plan, plan_time)
        hi = bisect_right(self.plan, plan_time, lo=i)
        while i < hi and self.iid[i] < instance_id:
            i += 1
        return i

    def insert(self, inst: Instance) -> None:
        i = self._slot(inst.plan_time, inst.instance_id)
        for column, value in zip(self._columns(), self._values(inst), strict=True):
            column.insert(i, value)  # type: ignore[attr-defined]
        self._track(inst)

    def set_row(self, i: int, inst: Instance) -> None:
        for column, value in zip(self._columns(), self._values(inst), strict=True):
            column[i] = value  # type: ignore[index]
        self._track(inst)

    def load(self, instances: list[Instance]) -> None:
        """Append many instances at once (seeding): sorted here, no per-row bisect."""
        for inst in sorted(instances, key=lambda r: (r.plan_time, r.instance_id)):
            if len(self) and (inst.plan_time, inst.instance_id) < (self.plan[-1], self.iid[-1]):
                self.insert(inst)
                continue
            for column, value in zip(self._columns(), self._values(inst), strict=True):
                column.append(value)  # type: ignore[attr-defined]
            self._track(inst)

    def delete(self, i: int) -> None:
        self.changes += 1
        self.instance_names.pop(self.iid[i], None)
        for column in self._columns():
            del column[i]  # type: ignore[attr-defined]

    def _track(self, inst: Instance) -> None:
        """Keep what is not a column: the instance's own name, and the start - plan lag bounds."""
        self.changes += 1
        if inst.job_instance_name is None:
            self.instance_names.pop(inst.instance_id, None)
        else:
            self.instance_names[inst.instance_id] = inst.job_instance_name
        lag = inst.start_time - inst.plan_time
        self.min_lag = min(self.min_lag, lag)
        self.max_lag = max(self.max_lag, lag)

    def _columns(self) -> tuple[object, ...]:
        return (
            self.plan,
            self.start,
            self.submit,
            self.end,
            self.exec,
            self.iid,
            self.status,
            self.itype,
            self.flags,
            self.version,
        )

    def _values(self, inst: Instance) -> tuple[int | float, ...]:
        flags = 0
        if inst.force_success is None and inst.ignore_success is None:
            flags |= _NO_FLAGS
        flags |= _FORCE if inst.force_success else 0
        flags |= _IGNORE if inst.ignore_success else 0
        flags |= _NO_JOB_ID if inst.job_id is None else 0
        return (
            inst.plan_time,
            inst.start_time,
            inst.submit_time,
            _MISSING if inst.end_time is None else inst.end_time,
            math.nan if inst.execute_time is None else float(inst.execute_time),
            inst.instance_id,
            _STATUS_INDEX[inst.status],
            inst.instance_type,
            flags,
            _MISSING if inst.version is None else inst.version,
        )


@dataclass(frozen=True)
class InstanceQuery:
    """One validated instances request; bounds are exclusive on both sides."""

    min_time: int
    max_time: int
    limit: int
    first_row: int
    field: str = "plan_time"
    status: str | None = None
    instance_type: int | None = None
    force_success: bool = False
    ignore_success: bool = False


class Dataset:
    """The whole simulated project. Every public method is thread-safe."""

    def __init__(
        self,
        project_id: str = DEMO_PROJECT_ID,
        workspaces: Mapping[str, str] | None = None,
        default_workspace: str = DEFAULT_WORKSPACE_ID,
        seed: int = 0,
    ) -> None:
        self.project_id = project_id
        self.workspaces = dict(workspaces or {default_workspace: "default"})
        self.default_workspace = default_workspace
        self.seed = seed
        self.lock = threading.RLock()
        self.jobs: dict[tuple[str, str], Job] = {}
        self.tables: dict[tuple[str, str], InstanceTable] = {}
        self._next_instance_id = 1
        self._next_job_id = 600000
        self.patch_runs: list[Any] = []  # PatchData runs (patch_data.PatchRun), by patch_data.py

    # --- jobs -----------------------------------------------------------------------------

    def add_job(self, name: str, *, workspace: str | None = None, **attrs: Any) -> Job:
        """Register a job (and, for a real-time job, one instance table per node)."""
        ws = workspace or self.default_workspace
        with self.lock:
            if ws not in self.workspaces:
                raise ValueError(f"unknown workspace {ws!r}")
            if (ws, name) in self.jobs:
                raise ValueError(f"job {name!r} already exists in workspace {ws}")
            if attrs.get("job_id") is None:
                attrs["job_id"] = self._next_job_id
                self._next_job_id += 1
            job = Job(name=name, workspace=ws, **attrs)
            self.jobs[(ws, name)] = job
            names = job.sub_job_names() if job.job_type == "REAL_TIME" else [name]
            for table_name in names:
                self.tables[(ws, table_name)] = InstanceTable(table_name, job.job_id)
            return job

    def list_jobs(
        self,
        workspace: str | None = None,
        job_type: str | None = None,
        name_contains: str | None = None,
    ) -> list[Job]:
        """Jobs of a workspace (default: the default one), newest created first; sub-jobs never
        appear here."""
        workspace = workspace or self.default_workspace
        with self.lock:
            jobs = [
                job
                for (ws, _), job in self.jobs.items()
                if ws == workspace
                and (job_type is None or job.job_type == job_type)
                and (not name_contains or name_contains in job.name)
            ]
        return sorted(jobs, key=lambda job: (-job.create_time, job.name))

    def job_summary(self, job: Job, *, need_alarms: bool = False) -> dict[str, Any]:
        """The jobs-list row (every key of the SDK's ``JobResultV2`` that applies to the job):
        the job plus its latest instance's status and end time, and its next plan time."""
        names = job.sub_job_names() if job.job_type == "REAL_TIME" else [job.name]
        latest: Instance | None = None
        next_plan: int | None = None
        with self.lock:
            for table_name in names:
                table = self.tables.get((job.workspace, table_name))
                if table is not None and len(table):
                    candidate = table.row(len(table) - 1)
                    if latest is None or candidate.plan_time > latest.plan_time:
                        latest = candidate
            if job.period_ms and job.status == "SCHEDULING":
                next_plan = self._next_plan_time(job, job.period_ms)
        row: dict[str, Any] = {
            "name": job.name,
            "job_type": job.job_type,
            "status": job.status,
            "create_user": job.create_user,
            "create_time": job.create_time,
            "start_time": job.create_time if job.start_time is None else job.start_time,
            "end_time": job.end_time,
            "owner": job.owner,
            "priority": job.priority,
            "path": job.path,
            "last_update_user": job.create_user,
            "last_update_time": job.last_update_time,
            "single_node_job_flag": False,
            "empty_running_job": job.empty_running_job,
        }
        if latest is not None:
            row["last_instance_status"] = latest.status
            if latest.end_time is not None:
                row["last_instance_end_time"] = latest.end_time
        if next_plan is not None:
            # The SDK models next_plan_time as a string: ms since the epoch, as text.
            row["next_plan_time"] = str(next_plan)
        if need_alarms:
            row["alarms"] = [{"alarmType": kind, "topicUrn": urn} for kind, urn in job.alarms]
        return row

    def _next_plan_time(self, job: Job, period: int) -> int | None:
        """One period after the latest scheduled (type 0) instance, and after every instance
        (a late manual run may be planned later); None when the job has no instance yet."""
        table = self.tables.get((job.workspace, job.name))
        if table is None or not len(table):
            return None
        last_plan = table.row(len(table) - 1).plan_time
        scheduled = next(
            (
                table.row(i).plan_time
                for i in range(len(table) - 1, -1, -1)
                if table.row(i).instance_type == 0
            ),
            last_plan,
        )
        following = scheduled + period
        if following <= last_plan:
            following += (last_plan - following) // period * period + period
        return following

    def find_job(self, workspace: str, name: str) -> Job | None:
        with self.lock:
            return self.jobs.get((workspace, name))

    def table(self, workspace: str, job_name: str) -> InstanceTable | None:
        with self.lock:
            return self.tables.get((workspace, job_name))

    # --- instances ------------------------------------------------------------------------

    def new_instance_id(self) -> int:
        with self.lock:
            value = self._next_instance_id
            self._next_instance_id += 1
            return value

    def reserve_instance_ids(self, first_free: int) -> None:
        """After bulk loading: make sure new ids start above ``first_free``."""
        with self.lock:
            self._next_instance_id = max(self._next_instance_id, first_free)

    def add_instance(
        self, job_name: str, plan_time: int, *, workspace: str | None = None, **attrs: Any
    ) -> Instance:
        """Add one instance; unset fields get plausible values (final ones get an end time)."""
        ws = workspace or self.default_workspace
        with self.lock:
            table = self.tables.get((ws, job_name))
            if table is None:
                raise KeyError(f"no job (or sub-job) {job_name!r} in workspace {ws}")
            unknown = set(attrs) - INSTANCE_FIELDS
            if unknown:
                raise ValueError(f"unknown instance fields: {sorted(unknown)}")
            instance_id = attrs.pop("instance_id", None) or self.new_instance_id()
            if self._locate(instance_id) is not None:
                raise ValueError(f"instance_id {instance_id} already exists")
            self._next_instance_id = max(self._next_instance_id, instance_id + 1)
            start = attrs.pop("start_time", plan_time)
            status = attrs.pop("status", "success")
            final = status in FINAL_STATUSES
            end = attrs.pop("end_time", start + 60_000 if final else None)
            execute = attrs.pop("execute_time", float(end - start) if final and end is not None else None)
            inst = Instance(
                instance_id=instance_id,
                job_name=job_name,
                plan_time=plan_time,
                start_time=start,
                submit_time=attrs.pop("submit_time", plan_time),
                status=status,
                end_time=end,
                execute_time=execute,
                job_id=attrs.pop("job_id", table.job_id),
                version=attrs.pop("version", 1),
                **{k: v for k, v in attrs.items() if k != "job_name"},
            )
            _check(inst)
            table.insert(inst)
            return inst

    def update_instance(self, instance_id: int, **changes: Any) -> Instance:
        """Change fields of an existing instance (``None`` removes an optional field)."""
        with self.lock:
            found = self._locate(instance_id)
            if found is None:
                raise KeyError(f"no instance {instance_id}")
            table, i = found
            unknown = set(changes) - (INSTANCE_FIELDS - {"instance_id", "job_name"})
            if unknown:
                raise ValueError(f"cannot change fields: {sorted(unknown)}")
            inst = replace(table.row(i), **changes)
            _check(inst)
            if inst.plan_time == table.plan[i]:
                table.set_row(i, inst)
            else:
                table.delete(i)
                table.insert(inst)
            return inst

    def get_instance(self, instance_id: int) -> Instance | None:
        with self.lock:
            found = self._locate(instance_id)
            return None if found is None else found[0].row(found[1])

    def _locate(self, instance_id: int) -> tuple[InstanceTable, int] | None:
        for table in self.tables.values():
            i = table.find(instance_id)
            if i >= 0:
                return table, i
        return None

    def instances(self, job_name: str, workspace: str | None = None) -> list[Instance]:
        """All instances of a job or sub-job, oldest plan_time first."""
        with self.lock:
            table = self.tables[(workspace or self.default_workspace, job_name)]
            return list(table.rows())

    def expected(
        self,
        job_name: str,
        min_time: int,
        max_time: int,
        *,
        field: str = "plan_time",
        workspace: str | None = None,
    ) -> list[Instance]:
        """What the API must return for this window (all pages), newest first: for tests."""
        table = self.tables[(workspace or self.default_workspace, job_name)]
        query = InstanceQuery(min_time, max_time, limit=10**9, first_row=0, field=field)
        with self.lock:
            _, indices = select(table, query)
            return [table.row(i) for i in indices]

    def instance_count(self) -> int:
        with self.lock:
            return sum(len(table) for table in self.tables.values())

    def job_names(self, workspace: str | None = None) -> list[str]:
        """Every queryable name (batch jobs and real-time sub-jobs) of a workspace."""
        ws = workspace or self.default_workspace
        with self.lock:
            return [name for (w, name) in self.tables if w == ws]

    def generation(self) -> tuple[int, int]:
        """Differs after any change to any instance table (for answers cached across pages)."""
        with self.lock:
            return len(self.tables), sum(table.changes for table in self.tables.values())

    def query(
        self, workspace: str, job_name: str, query: InstanceQuery
    ) -> tuple[int, list[dict[str, Any]]] | None:
        """``(total, page rows)`` for the instances API, or ``None`` for an unknown job."""
        with self.lock:
            table = self.tables.get((workspace, job_name))
            if table is None:
                return None
            total, indices = select(table, query)
            return total, [table.api_row(i) for i in indices]


def select(table: InstanceTable, query: InstanceQuery) -> tuple[int, list[int]]:
    """``(total matches, row indices of the requested page)``, newest plan_time first."""
    if query.field == "plan_time":
        lo = bisect_right(table.plan, query.min_time)
        hi = bisect_left(table.plan, query.max_time)
        exact = True
    else:  # start_time: narrow by plan_time using the known start - plan lag bounds
        lo = bisect_right(table.plan, query.min_time - table.max_lag)
        hi = bisect_left(table.plan, query.max_time - table.min_lag)
        exact = False
    filtered = query.status is not None or query.instance_type is not None or not exact
    if not filtered:
        total = max(hi - lo, 0)
        top = hi - 1 - query.first_row
        bottom = max(top - query.limit, lo - 1)
        return total, list(range(top, bottom, -1))
    matches = [i for i in range(hi - 1, lo - 1, -1) if _matches(table, i, query)]
    return len(matches), matches[query.first_row : query.first_row + query.limit]


def _matches(table: InstanceTable, i: int, query: InstanceQuery) -> bool:
    if query.field == "start_time" and not query.min_time < table.start[i] < query.max_time:
        return False
    if query.instance_type is not None and table.itype[i] != query.instance_type:
        return False
    if query.status is None:
        return True
    if STATUSES[table.status[i]] != query.status:
        return False
    # The flags only narrow a success query, as the contract says.
    if query.status == "success":
        if query.force_success and not table.flags[i] & _FORCE:
            return False
        if query.ignore_success and not table.flags[i] & _IGNORE:
            return False
    return True


def _check(inst: Instance) -> None:
    if inst.status not in _STATUS_INDEX:
        raise ValueError(f"unknown status {inst.status!r}")
    if inst.instance_type not in INSTANCE_TYPES:
        raise ValueError(f"unknown instance_type {inst.instance_type!r}")


__all__ = [
    "DEFAULT_WORKSPACE_ID",
    "DEMO_PROJECT_ID",
    "FINAL_STATUSES",
    "INSTANCE_TYPES",
    "SECOND_WORKSPACE_ID",
    "STATUSES",
    "Dataset",
    "Instance",
    "InstanceQuery",
    "InstanceTable",
    "Job",
]
