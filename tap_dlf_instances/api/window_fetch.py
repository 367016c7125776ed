"""The rows of one window, a page at a time: how a listing's pages are read fast and completely.

1. In order, one page after the other, until the window's ``total`` and the reading of
   ``offset`` (page number or row index, ``paging``) are known.
2. Then the other pages in parallel (``page_pool``), their rows handed on as they arrive, while
   the paginator hears of them in offset order, so that its checks ("pages that add nothing",
   ``total`` against the rows) see what a reader one page at a time would see.
3. If ``total`` changed while they were read, the window again, in order: pages answered before
   and after the change, out of order, may have skipped rows that moved across their edge; read
   in order, as one request at a time does, a row cannot be skipped that way. The rows read
   twice are dropped where records are emitted.

The SDK's ``request_records`` loop does step 1 with the same paginator, request path and
retries, but cannot stop once the rest could go in parallel: written out here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import requests

from tap_dlf_instances.api.page_pool import PagePool
from tap_dlf_instances.api.paging import OffsetPaginator

Rows = list[dict[str, Any]]
#: Fetches the page at an offset (through the stream's request path): its response and rows.
FetchPage = Callable[[int], tuple[requests.Response, Rows]]


def read_window(
    fetch_page: FetchPage,
    new_paginator: Callable[[], OffsetPaginator],
    *,
    pool: PagePool,
    ahead: int,
    on_reread: Callable[[], None],
) -> Iterator[Rows]:
    """Every row of one window, a page of rows at a time (steps 1 to 3 above); runs on a
    fetching thread. ``on_reread`` is told when the window is read again in order."""
    paginator = new_paginator()
    last: requests.Response | None = None
    for response, rows in pages_in_order(fetch_page, paginator, until_known=True):
        last = response
        yield rows
    remaining = paginator.remaining_offsets()
    if last is None or not remaining:
        return
    planned = paginator.total
    changed = False
    pages = pool.imap_unordered(lambda offset: (offset, *fetch_page(offset)), remaining, ahead=ahead)
    arrived: dict[int, Rows] = {}
    in_order = iter(remaining)
    next_offset = next(in_order, None)
    for offset, page_response, rows in pages:
        changed = changed or paginator.total_of(page_response) != planned
        if rows:
            yield rows
        arrived[offset] = rows
        while next_offset is not None and next_offset in arrived:
            paginator.note_rows(arrived.pop(next_offset))
            next_offset = next(in_order, None)
    if changed:
        on_reread()
        for _response, rows in pages_in_order(fetch_page, new_paginator(), until_known=False):
            yield rows
        return
    paginator.check_complete(last)


def pages_in_order(
    fetch_page: FetchPage, paginator: OffsetPaginator, *, until_known: bool
) -> Iterator[tuple[requests.Response, Rows]]:
    """Pages one after the other, as the SDK's ``request_records`` reads them; with
    ``until_known``, only until the listing's size and the reading of ``offset`` are known."""
    while not paginator.finished:
        response, rows = fetch_page(paginator.current_value)
        if not rows:  # as the SDK's `request_records` does with an empty page
            if paginator.continue_if_empty(response):
                paginator.advance(response)
                continue
            return
        yield response, rows
        paginator.advance(response)
        if until_known and paginator.remaining_offsets():
            return
