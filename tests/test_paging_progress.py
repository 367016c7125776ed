"""The paginator's stop for pages that add nothing, and the legitimate overlaps it lets through.

A unit test: the stream never builds these overlaps on purpose, and the end-to-end runs
(test_hostile_bodies.py, ``repeat``) only show the looping server.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tap_dlf_instances.api.paging import (
    MAX_PAGES_WITHOUT_NEW_ROWS,
    OffsetMode,
    OffsetPaginator,
    OffsetReading,
    PagingLoopError,
)
from tap_dlf_instances.api.responses import Page


def pages_of(*pages: list[int], total: int | None) -> tuple[OffsetPaginator, list[requests.Response]]:
    answers: dict[int, Page] = {}
    responses = []
    for ids in pages:
        response = requests.Response()
        answers[id(response)] = Page(rows=[{"instance_id": i} for i in ids], total=total)
        responses.append(response)

    def page_of(response: requests.Response) -> Page:
        return answers[id(response)]

    paginator = OffsetPaginator(
        page_size=4, reading=OffsetReading(OffsetMode.ROW), page_of=page_of, id_key="instance_id"
    )
    paginator.where = "Instances of job 'j', window [a, b)"
    return paginator, responses


def advance_all(paginator: OffsetPaginator, responses: list[Any]) -> None:
    for response in responses:
        if paginator.finished:
            break
        paginator.advance(response)


def test_rows_shifted_by_inserts_at_the_top_still_add_rows_and_page_on():
    # Under the row reading, two instances inserted on top between requests push rows down.
    paginator, responses = pages_of([9, 8, 7, 6], [7, 6, 5, 4], [5, 4, 3, 2], [3, 2, 1], total=11)
    advance_all(paginator, responses)
    assert paginator.finished


def test_a_single_page_of_known_rows_is_tolerated():
    paginator, responses = pages_of([9, 8, 7, 6], [9, 8, 7, 6], [5, 4, 3, 2], [1], total=9)
    advance_all(paginator, responses)
    assert paginator.finished


@pytest.mark.parametrize("total", [None, 10**9])
def test_pages_of_known_rows_in_a_row_stop_the_listing_naming_it(total):
    pages = [[9, 8, 7, 6]] * (MAX_PAGES_WITHOUT_NEW_ROWS + 1)
    paginator, responses = pages_of(*pages, total=total)
    with pytest.raises(PagingLoopError, match=r"job 'j', window \[a, b\).*`offset_mode` row"):
        advance_all(paginator, responses)
