"""Fetch many units of work (a job's window) on worker threads, hand them over in order.

The SDK emits a stream's partitions one after the other from one thread. Against an API that
takes 100-300 ms a page and allows 10 requests a second, one request at a time leaves most of
the limit unused, so units further down the list are fetched ahead on ``workers`` threads while
the current one is emitted. ``concurrent.futures`` does not fit: a future hands over its result
only when the whole unit is done, which is neither streaming nor bounded in memory, and its
threads are joined at exit, so a run that stops (a fatal error, SIGTERM) would first wait out
every request and retry back-off in flight. The workers here are daemon threads: they only
fetch, and what they fetched is worthless once the run stops.

Memory: units ahead of the one being emitted share one budget of ``buffered_batches`` batches;
a worker whose unit is ahead waits when the budget is spent. The unit being emitted (the head)
never waits for the budget, since the consumer is draining it: otherwise units ahead could
hold the whole budget while the head, which frees it, could not move. Besides, no unit holds
more than ``unit_batches`` batches not yet taken: a window whose pages arrive in parallel
(api/page_pool.py) can outrun the consumer, head or not.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Unit = TypeVar("Unit", bound=Hashable)
Item = TypeVar("Item")

_POLL_SECONDS = 0.1


@dataclass
class _Done:
    pass


@dataclass
class _Failed:
    error: BaseException


@dataclass
class _Batch(Generic[Item]):
    item: Item
    budgeted: bool  # whether it holds a unit of the shared budget


@dataclass
class _Slot(Generic[Item]):
    """One unit's hand-over: its batches, and whether the consumer gave up on it."""

    batches: queue.SimpleQueue[_Batch[Item] | _Done | _Failed] = field(default_factory=queue.SimpleQueue)
    abandoned: threading.Event = field(default_factory=threading.Event)
    room: threading.Semaphore = field(default_factory=threading.Semaphore)  # set by the prefetcher


class OrderedPrefetcher(Generic[Unit, Item]):
    """Runs ``fetch(unit)`` for each unit on a thread pool; iterating yields ``(unit, batches)``
    in the order given, each unit's batches as they arrive.

    At most ``workers + lookahead`` units are started ahead of the one being consumed.
    ``skip(predicate)`` lets the consumer drop units not yet started.
    """

    def __init__(
        self,
        units: Sequence[Unit],
        fetch: Callable[[Unit], Iterable[Item]],
        *,
        workers: int,
        lookahead: int = 4,
        buffered_batches: int = 32,
        unit_batches: int = 8,
    ) -> None:
        self._units = list(units)
        self._fetch = fetch
        self._workers = max(1, workers)
        self._window = self._workers + max(0, lookahead)
        self._budget = threading.Semaphore(max(1, buffered_batches))
        self._unit_batches = max(1, unit_batches)
        self._slots: dict[int, _Slot[Item]] = {}
        self._head = 0
        self._submitted = 0
        self._stop = threading.Event()
        self._skip: Callable[[Unit], bool] = lambda _unit: False
        self._tasks: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def skip(self, predicate: Callable[[Unit], bool]) -> None:
        """Units for which ``predicate`` is true are not fetched once their turn comes."""
        self._skip = predicate

    def __iter__(self) -> Iterator[tuple[Unit, Iterator[Item]]]:
        try:
            for index, unit in enumerate(self._units):
                self._head = index
                self._top_up(index)
                yield unit, self._drain(index)
                # Whatever the consumer did not take is dropped, and its worker released.
                slot = self._slots.pop(index)
                slot.abandoned.set()
                self._release_all(slot)
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._tasks.put(None)

    def _work(self) -> None:
        while (index := self._tasks.get()) is not None and not self._stop.is_set():
            self._run(index)

    def _top_up(self, current: int) -> None:
        limit = min(len(self._units), current + self._window)
        while self._submitted < limit:
            index = self._submitted
            self._slots[index] = _Slot(room=threading.Semaphore(self._unit_batches))
            self._tasks.put(index)
            self._submitted += 1
        while len(self._threads) < min(self._workers, self._submitted):
            thread = threading.Thread(target=self._work, name=f"dlf-fetch-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, index: int) -> None:
        slot = self._slots[index]
        unit = self._units[index]
        try:
            if not self._skip(unit):
                for item in self._fetch(unit):
                    budgeted = self._wait_for_room(index, slot)
                    if budgeted is None:
                        return
                    slot.batches.put(_Batch(item, budgeted))
            slot.batches.put(_Done())
        except BaseException as error:  # handed to the consumer, which re-raises it
            slot.batches.put(_Failed(error))

    def _wait_for_room(self, index: int, slot: _Slot[Item]) -> bool | None:
        """Once a unit of the unit's own room is taken: True once a unit of the shared budget
        is taken too, False if this unit is the head (no budget needed); None if the consumer
        is gone (the run stopped, the unit was abandoned, or the interpreter is exiting after
        a signal)."""
        has_room = False
        while not (self._stop.is_set() or slot.abandoned.is_set() or not threading.main_thread().is_alive()):
            if not has_room:
                has_room = slot.room.acquire(timeout=_POLL_SECONDS)
            elif index <= self._head:
                return False
            elif self._budget.acquire(timeout=_POLL_SECONDS):
                return True
        return None

    def _drain(self, index: int) -> Iterator[Item]:
        slot = self._slots[index]
        while True:
            message = slot.batches.get()
            if isinstance(message, _Done):
                return
            if isinstance(message, _Failed):
                raise message.error
            slot.room.release()
            if message.budgeted:
                self._budget.release()
            yield message.item

    def _release_all(self, slot: _Slot[Item]) -> None:
        """Give back the budget held by batches the consumer did not take."""
        while True:
            try:
                message = slot.batches.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, _Batch) and message.budgeted:
                self._budget.release()


class UnitsByJob(Generic[Unit, Item]):
    """The units of many jobs from one run-wide ``OrderedPrefetcher``, handed out job by job.

    The SDK asks for the instances of one partition (a job) at a time, in the order of its
    partitions; the prefetcher fetches ahead across jobs in that same order. ``units_of(job)``
    yields the job's units from the shared prefetcher, passing over those of jobs the SDK
    skipped; a job asked for again, or out of that order, is fetched on its own.
    """

    def __init__(
        self,
        plan: dict[str, list[Unit]],
        job_of: Callable[[Unit], str],
        prefetcher: Callable[[list[Unit]], OrderedPrefetcher[Unit, Item]],
    ) -> None:
        self._plan = plan
        self._job_of = job_of
        self._prefetcher = prefetcher
        self._positions = {job: index for index, job in enumerate(plan)}
        self._shared: Iterator[tuple[Unit, Iterator[Item]]] = iter(
            prefetcher([unit for units in plan.values() for unit in units])
        )
        self._pending: tuple[Unit, Iterator[Item]] | None = None
        self._reached: set[str] = set()  # jobs whose turn in the shared prefetcher has come

    def units_of(self, job: str, units: Callable[[], list[Unit]]) -> Iterator[tuple[Unit, Iterator[Item]]]:
        """The job's units with their batches; ``units()`` plans them when the job is fetched
        on its own."""
        if job not in self._plan or job in self._reached:
            yield from self._prefetcher(units())
            return
        self._reached.add(job)
        position = self._positions[job]
        while True:
            if self._pending is None:
                self._pending = next(self._shared, None)
            if self._pending is None or self._positions[self._job_of(self._pending[0])] > position:
                return
            unit_and_batches, self._pending = self._pending, None
            self._reached.add(self._job_of(unit_and_batches[0]))
            if self._job_of(unit_and_batches[0]) == job:
                yield unit_and_batches
            # else: units of a job the SDK skipped, passed over (fetched alone if asked later)
