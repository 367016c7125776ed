"""Offset/limit paging that works whether ``offset`` is a page index or a row offset.

The docs call ``offset`` the "start page"; Huawei's own Terraform provider pages with
``offset += len(items)``. Nobody has confirmed either against the live API (docs/api-notes.md), so the
reading is a setting, ``offset_mode``: ``page``, ``row``, or ``auto``. In ``auto`` the second
request of the first multi-page listing tells: it asks for ``offset=1``, which is the second page
under the page reading and starts at the second row under the row reading. If its first row was
already on the first page, ``offset`` counts rows. The answer holds for the rest of the run.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import requests
from singer_sdk.pagination import BaseAPIPaginator

from tap_dlf_instances.api.responses import Page
from tap_dlf_instances.errors import TapDLFError

logger = logging.getLogger(__name__)

#: Pages in a row without a new row ID after which a listing is taken to loop.
MAX_PAGES_WITHOUT_NEW_ROWS = 3


class PagingLoopError(TapDLFError):
    """The API keeps answering with rows already read: paging would never end."""


class OffsetMode(enum.StrEnum):
    AUTO = "auto"
    PAGE = "page"
    ROW = "row"


class OffsetReading:
    """What ``offset`` means on this server: set in config, or learnt once and shared by threads."""

    def __init__(self, mode: OffsetMode) -> None:
        self._mode = mode
        self._lock = threading.Lock()

    @property
    def mode(self) -> OffsetMode:
        return self._mode

    def learn(self, mode: OffsetMode) -> None:
        with self._lock:
            if self._mode is OffsetMode.AUTO:
                self._mode = mode
                logger.info("The API reads `offset` as a %s offset (detected).", mode.value)


def detect_mode(first_page_ids: Sequence[Any], second_request_ids: Sequence[Any]) -> OffsetMode:
    """Interpret the answer to ``offset=1`` given the rows of ``offset=0``.

    Under the row reading the answer starts inside the first page (at its second row, or
    earlier when new instances were inserted at the top meanwhile); under the page reading it
    starts past it.
    """
    if second_request_ids and second_request_ids[0] in set(first_page_ids):
        return OffsetMode.ROW
    return OffsetMode.PAGE


class OffsetPaginator(BaseAPIPaginator[int]):
    """Pages one listing (``total`` + a list of rows) until ``total`` says there is no more.

    The page token is the ``offset`` to ask for next. ``page_of`` returns the response's page
    (read once, when the response was validated). ``where`` names the listing in messages and
    ``on_mismatch`` is told when ``total`` and the pages disagree; the stream sets both when it
    knows the job and window.
    """

    def __init__(
        self,
        *,
        page_size: int,
        reading: OffsetReading,
        page_of: Callable[[requests.Response], Page],
        id_key: str,
    ) -> None:
        super().__init__(0)
        self._rows_per_page = page_size
        self._reading = reading
        self._page_of = page_of
        self._id_key = id_key
        self.where: str | None = None
        self.on_mismatch: Callable[[], None] | None = None
        self._first_page_ids: list[Any] | None = None
        self._rows_seen = 0
        self._distinct_ids: set[Any] = set()
        self._empty_page_seen = False  # among the pages fetched in parallel
        self._total: int | None = None
        self._pages_without_new_rows = 0

    def row_id(self, row: dict[str, Any]) -> Any:
        """What tells rows apart (None: unknown); a listing without one ID field overrides it."""
        return row.get(self._id_key)

    @property
    def mode_for_next_request(self) -> OffsetMode:
        mode = self._reading.mode
        if self._rows_per_page == 1:
            return OffsetMode.ROW  # with one row a page, both readings are the same
        return mode

    def has_more(self, response: requests.Response) -> bool:
        page = self._page_of(response)
        rows = page.rows
        total = self._total = page.total
        ids = [self.row_id(row) for row in rows]
        self._check_progress(ids)
        if not rows:
            self._check_complete(empty_page=True)
            return False
        if self._first_page_ids is None:
            self._first_page_ids = ids
        elif self._is_probe_answer():
            self._reading.learn(detect_mode(self._first_page_ids, ids))
        self._rows_seen = self._next_row(len(rows))
        if total is None:
            # No total to trust: keep going while pages come back full.
            return len(rows) >= self._rows_per_page
        if self._rows_seen < total:
            return True
        self._check_complete(empty_page=False)
        return False

    def continue_if_empty(self, response: requests.Response) -> bool:
        """The SDK stops at an empty page without calling ``has_more``: check it here."""
        self.has_more(response)
        return False

    def _check_progress(self, ids: list[Any]) -> None:
        """Stop a server that answers every offset with rows already seen (with a huge or
        missing ``total`` it would be paged for ever). One such page is normal: the ``offset=1``
        probe under the row reading, rows shifted by instances inserted at the top meanwhile;
        ``MAX_PAGES_WITHOUT_NEW_ROWS`` in a row is not."""
        new = {row_id for row_id in ids if row_id is not None} - self._distinct_ids
        self._distinct_ids.update(ids)
        if new or not ids:
            self._pages_without_new_rows = 0
            return
        self._pages_without_new_rows += 1
        if self._pages_without_new_rows >= MAX_PAGES_WITHOUT_NEW_ROWS:
            raise PagingLoopError(
                f"{self._where()}: the API answered {self._pages_without_new_rows} pages in a row "
                f"(up to offset {self.current_value}) with rows already read, so paging would not "
                f"end; with `offset_mode` {self._reading.mode.value}. Set `offset_mode` to the "
                "other reading if this server reads `offset` differently, or report the API's "
                "behaviour; the windows before this one were completed."
            )

    def _check_complete(self, *, empty_page: bool) -> None:
        """Warn when the pages held fewer distinct rows than ``total`` promised: a server losing
        rows between pages, or ``offset`` read differently than assumed (docs/api-notes.md)."""
        distinct = len(self._distinct_ids - {None})
        if self._total is None or distinct >= self._total:
            return
        logger.warning(
            "%s: the API announced %d rows but its pages held %d distinct ones%s; the rows read "
            "are emitted. If this repeats, set `offset_mode` (now %s) to the other reading.",
            self._where(),
            self._total,
            distinct,
            " (an empty page came before the end)" if empty_page else "",
            self._reading.mode.value,
        )
        if self.on_mismatch is not None:
            self.on_mismatch()

    def _where(self) -> str:
        return self.where or "A listing"

    def _is_probe_answer(self) -> bool:
        return self.current_value == 1 and self._rows_per_page > 1 and self._reading.mode is OffsetMode.AUTO

    def _next_row(self, rows_on_page: int) -> int:
        """The index of the first row not yet asked for."""
        if self.current_value == 0:
            return rows_on_page
        if self.mode_for_next_request is OffsetMode.ROW:
            return self.current_value + rows_on_page
        return (self.current_value + 1) * self._rows_per_page

    # Pages fetched in parallel (api/window_fetch.py): once `total` and the reading are known, the
    # offsets still to ask for are known too.

    @property
    def total(self) -> int | None:
        """The listing's ``total`` as the last page told it."""
        return self._total

    def total_of(self, response: requests.Response) -> int | None:
        """The ``total`` one page told (a page fetched in parallel)."""
        return self._page_of(response).total

    def remaining_offsets(self) -> range | None:
        """The offsets of the pages still needed, or None while ``total`` or the reading of
        ``offset`` is unknown (the paging then goes on one request at a time)."""
        if self.finished:
            return range(0)
        mode = self.mode_for_next_request
        if self._total is None or mode is OffsetMode.AUTO:
            return None
        if mode is OffsetMode.ROW:
            return range(self._rows_seen, self._total, self._rows_per_page)
        first = math.ceil(self._rows_seen / self._rows_per_page)
        # A range, not a list: a lying `total` of billions costs nothing until pages are asked
        # for, and `note_rows` stops the paging when they bring nothing new.
        return range(first, math.ceil(self._total / self._rows_per_page))

    def note_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Count the ids of a page fetched outside this paginator, for ``check_complete``, and
        stop pages that bring nothing new, as ``has_more`` does."""
        self._empty_page_seen = self._empty_page_seen or not rows
        self._check_progress([self.row_id(row) for row in rows])

    def check_complete(self, response: requests.Response) -> None:
        """After pages fetched in parallel: warn as ``has_more`` does at the end of a listing."""
        self._check_complete(empty_page=self._empty_page_seen)

    def get_next(self, response: requests.Response) -> int | None:
        mode = self.mode_for_next_request
        if mode is OffsetMode.ROW:
            return self._rows_seen
        if mode is OffsetMode.PAGE:
            return math.ceil(self._rows_seen / self._rows_per_page)
        # Still unknown: `offset=1` is the probe (see the module docstring).
        return 1
