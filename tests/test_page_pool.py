"""The window fetcher's pool: a slow page holds its window back instead of letting the rest run on.

A real pool with real threads; the fetch function stands in for a request (nothing else can hold
one page back on purpose while counting what the pool starts meanwhile)."""

from __future__ import annotations

import threading
import time

import pytest

from tap_dlf_instances.api.page_pool import PagePool


def test_a_slow_first_page_holds_the_window_to_ahead_pages_and_every_result_arrives():
    pool = PagePool(workers=8)
    release = threading.Event()
    started: set[int] = set()
    lock = threading.Lock()

    def fetch(arg: int) -> int:
        with lock:
            started.add(arg)
        if arg == 0:
            assert release.wait(10)
        return arg * 10

    results: list[int] = []
    consumer = threading.Thread(
        target=lambda: results.extend(pool.imap_unordered(fetch, list(range(100)), ahead=4))
    )
    consumer.start()
    deadline = time.monotonic() + 5
    while len(started) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # time for a pool without the bound to run on well past page 3
    with lock:
        before_release = set(started)
    release.set()
    consumer.join(10)

    assert before_release == {0, 1, 2, 3}
    assert sorted(results) == [arg * 10 for arg in range(100)]


def test_the_first_failure_is_raised_and_the_pages_not_started_are_dropped():
    pool = PagePool(workers=2)
    started: list[int] = []

    def fetch(arg: int) -> int:
        started.append(arg)
        if arg == 1:
            raise RuntimeError("page 1 failed")
        return arg

    with pytest.raises(RuntimeError, match="page 1 failed"):
        list(pool.imap_unordered(fetch, list(range(1000)), ahead=3))
    time.sleep(0.2)
    assert len(started) < 10
