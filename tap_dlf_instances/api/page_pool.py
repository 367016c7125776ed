"""A pool of daemon threads that fetch the pages of a window in parallel (``window_fetch``).

- Requests in flight stay at ``max_workers`` across every thread: the streams take a slot of
  the tap's ``request_slots`` for each request (``client``); pages keep the pacer, the
  credentials gate and the retries, since they go through the same request path.
- Memory and requests stay bounded: a page is asked for only while it lies fewer than ``ahead``
  pages past the first one that has not arrived, so a slow (or retried) page holds the window
  back instead of letting the others run on, and the reader's in-order buffer stays that small.
- The first failure is raised to the window's reader, which fails the window (and so the run),
  as a failed request did before.

Written by hand rather than with ``concurrent.futures`` for the reason ``prefetch`` gives: its
threads are joined at exit, so a stopping run would wait out every request and retry back-off
in flight. These are daemon threads that only fetch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

Arg = TypeVar("Arg")
Result = TypeVar("Result")


@dataclass
class _Outcome(Generic[Result]):
    value: Result | None = None
    error: BaseException | None = None


@dataclass
class _Task:
    run: Callable[[], None]
    cancelled: threading.Event


class PagePool:
    """``workers`` daemon threads shared by every window of the run, started on first use."""

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def imap_unordered(
        self, fetch: Callable[[Arg], Result], args: Sequence[Arg], *, ahead: int
    ) -> Iterator[Result]:
        """``fetch(arg)`` for every arg, on the pool; results as they arrive. An arg is started
        only while it lies fewer than ``ahead`` places past the first one whose result has not
        arrived. The first failure is raised here; leaving early (an error, the consumer gone)
        drops the pages not started yet."""
        self._start()
        results: queue.SimpleQueue[tuple[int, _Outcome[Result]]] = queue.SimpleQueue()
        cancelled = threading.Event()
        width = max(1, ahead)
        arrived: set[int] = set()
        first_missing = 0  # every arg before it has arrived
        submitted = 0
        try:
            while True:
                while submitted < len(args) and submitted < first_missing + width:
                    self._tasks.put(_Task(_runner(fetch, submitted, args[submitted], results), cancelled))
                    submitted += 1
                if first_missing >= len(args):
                    return
                index, outcome = results.get()
                if outcome.error is not None:
                    raise outcome.error
                arrived.add(index)
                while first_missing in arrived:
                    arrived.discard(first_missing)
                    first_missing += 1
                yield cast("Result", outcome.value)  # set whenever there is no error
        finally:
            cancelled.set()

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"dlf-page-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if not task.cancelled.is_set():
                task.run()


def _runner(
    fetch: Callable[[Arg], Result],
    index: int,
    arg: Arg,
    results: queue.SimpleQueue[tuple[int, _Outcome[Result]]],
) -> Callable[[], None]:
    def run() -> None:
        try:
            results.put((index, _Outcome(value=fetch(arg))))
        except BaseException as error:  # handed to the window's thread, which re-raises it
            results.put((index, _Outcome(error=error)))

    return run
