"""The prefetcher's memory bound holds for the unit being emitted too: a window whose pages
arrive in parallel can outrun the consumer, so no unit buffers more than ``unit_batches``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tap_dlf_instances.api.prefetch import OrderedPrefetcher


@pytest.mark.timeout(60)
def test_no_unit_buffers_more_than_unit_batches_not_even_the_head():
    produced = {0: 0, 1: 0}

    def fetch(unit: int) -> Iterator[int]:
        for item in range(40):
            produced[unit] += 1
            yield item

    ahead = []
    for unit, batches in OrderedPrefetcher([0, 1], fetch, workers=2, unit_batches=4, buffered_batches=32):
        for item in batches:
            time.sleep(0.005)  # a consumer slower than the fetching
            ahead.append(produced[unit] - item - 1)
    # Fetched but not yet taken: the unit's 4 batches, and one in the worker's hand waiting for room.
    assert max(ahead) <= 4 + 1
    assert produced == {0: 40, 1: 40}
