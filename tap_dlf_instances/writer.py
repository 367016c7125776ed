"""Singer output: the SDK's msgspec writer, written out at each STATE instead of every record.

Both of the SDK's writers flush stdout after every message, and where ``PYTHONUNBUFFERED`` is
set (it often is under schedulers, and is here) every message is a system call of its own:
a large share of a backfill's time (``benchmarks/``). This writer gathers records and writes
them out, whole lines only, when a message other than a RECORD (SCHEMA, STATE ...) goes out,
when 64 KiB have gathered, and at exit. So a STATE is never seen downstream before the records
it covers, and a process killed at any point loses only records no emitted STATE claims: the
next run reads them again.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

FLUSH_BYTES = 64 * 1024


class StateFlushingWriter(MsgSpecWriter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        atexit.register(self.flush_pending)

    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)  # copies: the SDK reuses its buffer
        if not isinstance(message, RecordMessage) or len(self._pending) >= FLUSH_BYTES:
            self.flush_pending()

    def flush_pending(self) -> None:
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()
        sys.stdout.flush()
