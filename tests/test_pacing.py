"""The pacer's arithmetic, on a fake clock: even spacing, a guarded second, holds."""

from __future__ import annotations

import pytest

from tap_dlf_instances.api.pacing import GUARD_SECONDS, RequestPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def grants(rate: float, count: int, *, hold_after: int | None = None, hold: float = 0.0) -> list[float]:
    clock = FakeClock()
    pacer = RequestPacer(rate, clock=clock, sleep=clock.sleep)
    times = []
    for index in range(count):
        pacer.wait()
        times.append(round(clock.now - 100.0, 6))
        if index == hold_after:
            pacer.hold(hold)
    return times


@pytest.mark.parametrize(
    ("rate", "count", "expected"),
    [
        (10, 3, [0.0, 0.1, 0.2]),
        (2, 3, [0.0, 0.5, 1.0 + GUARD_SECONDS]),
        # the 11th turn waits for the guarded second after the 1st
        (10, 11, [round(0.1 * i, 6) for i in range(10)] + [1.0 + GUARD_SECONDS]),
        (0.5, 2, [0.0, 2.0]),
    ],
)
def test_turns(rate, count, expected):
    assert grants(rate, count) == pytest.approx(expected)


@pytest.mark.parametrize("rate", [1, 3, 10, 25])
def test_no_window_of_one_second_plus_guard_holds_more_than_the_rate(rate):
    times = grants(rate, 200)
    for i, start in enumerate(times):
        inside = [t for t in times[i:] if t < start + 1.0 + GUARD_SECONDS - 1e-9]
        assert len(inside) <= rate


def test_hold_pushes_later_turns_back():
    assert grants(10, 3, hold_after=0, hold=3.0) == pytest.approx([0.0, 3.0, 3.1])


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RequestPacer(0)
