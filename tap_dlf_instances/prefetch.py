"""Fetch many units of work (a job's window) on worker threads, hand them over in order.

The SDK emits a stream's partitions one after the other from one thread. Against an API that
takes 100-300 ms a page and allows 10 requests a second, one request at a time leaves most of
the limit unused, so units further down the list are fetched ahead on ``workers`` threads while
the current one is emitted. Each unit's rows travel through a small bounded queue, so memory
stays flat however much a unit holds. ``concurrent.futures`` alone does not fit: a future hands
over its result only when the whole unit is done, which is neither streaming nor flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

Unit = TypeVar("Unit", bound=Hashable)
Item = TypeVar("Item")

_POLL_SECONDS = 0.2


@dataclass
class _Done:
    pass


@dataclass
class _Failed:
    error: BaseException


@dataclass
class _Slot(Generic[Item]):
    """One unit's hand-over: its batches, and whether the consumer gave up on it."""

    batches: queue.Queue[Item | _Done | _Failed]
    abandoned: threading.Event


class OrderedPrefetcher(Generic[Unit, Item]):
    """Runs ``fetch(unit)`` for each unit on a thread pool; ``results(unit)`` yields its batches.

    Units must be consumed in the order given. At most ``workers + lookahead`` units are started
    ahead of the one being consumed, and each holds at most ``batches_per_unit`` batches, so the
    memory held is bounded. ``skip(predicate)`` lets the consumer drop units not yet started.
    """

    def __init__(
        self,
        units: Sequence[Unit],
        fetch: Callable[[Unit], Iterable[Item]],
        *,
        workers: int,
        lookahead: int = 2,
        batches_per_unit: int = 4,
    ) -> None:
        self._units = list(units)
        self._fetch = fetch
        self._workers = max(1, workers)
        self._window = self._workers + max(0, lookahead)
        self._batches_per_unit = max(1, batches_per_unit)
        self._slots: dict[int, _Slot[Item]] = {}
        self._submitted = 0
        self._stop = threading.Event()
        self._skip: Callable[[Unit], bool] = lambda _unit: False
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="dlf-fetch")

    def skip(self, predicate: Callable[[Unit], bool]) -> None:
        """Units for which ``predicate`` is true are not fetched once their turn comes."""
        self._skip = predicate

    def __iter__(self) -> Iterator[tuple[Unit, Iterator[Item]]]:
        try:
            for index, unit in enumerate(self._units):
                self._top_up(index)
                yield unit, self._drain(index)
                # Whatever the consumer did not take is dropped, and its worker released.
                self._slots.pop(index).abandoned.set()
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _top_up(self, current: int) -> None:
        limit = min(len(self._units), current + self._window)
        while self._submitted < limit:
            index = self._submitted
            self._slots[index] = _Slot(queue.Queue(maxsize=self._batches_per_unit), threading.Event())
            self._executor.submit(self._run, index)
            self._submitted += 1

    def _run(self, index: int) -> None:
        slot = self._slots[index]
        unit = self._units[index]
        try:
            if not self._skip(unit):
                for item in self._fetch(unit):
                    if not self._put(slot, item):
                        return
            self._put(slot, _Done())
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put(slot, _Failed(error))

    def _put(self, slot: _Slot[Item], item: Item | _Done | _Failed) -> bool:
        # A worker whose consumer is gone (the run stopped, the unit was abandoned, the
        # interpreter is exiting after a signal) must not wait on a full queue for ever.
        while not (self._stop.is_set() or slot.abandoned.is_set() or not threading.main_thread().is_alive()):
            try:
                slot.batches.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def _drain(self, index: int) -> Iterator[Item]:
        box = self._slots[index].batches
        while True:
            item = box.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
