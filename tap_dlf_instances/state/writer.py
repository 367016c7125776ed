"""Singer output: the SDK's msgspec writer, written out at each STATE instead of every record.

Both of the SDK's writers flush stdout after every message, and where ``PYTHONUNBUFFERED`` is
set (it often is under schedulers, and is here) every message is a system call of its own:
a large share of a backfill's time (``benchmarks/``). This writer gathers records and writes
them out, whole lines only, when a message other than a RECORD (SCHEMA, STATE ...) goes out,
when 64 KiB have gathered, and at exit. So a STATE is never seen downstream before the records
it covers, and a process killed at any point loses only records no emitted STATE claims: the
next run reads them again.

STATE messages carry every job's bookmark, so what the SDK does per STATE (``asdict`` deep-copies
the message, ``StateWriter`` deep-copies and compares the whole state) grows with the jobs:
here a STATE is encoded straight from its value, and ``EncodedStateWriter`` remembers the last
one as its encoded bytes.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder, serialize_jsonl
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage, StateMessage

from tap_dlf_instances.sdk_private import StateWriter

if TYPE_CHECKING:
    from singer_sdk.helpers import types

FLUSH_BYTES = 64 * 1024
#: Signals whose handlers write a STATE; held back while a chunk is being written.
_TERMINATING = {signal.SIGTERM, signal.SIGINT}


class StateFlushingWriter(MsgSpecWriter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        #: Whether a RECORD went out after the last STATE (the run then ends with a STATE again).
        self.record_after_state = False
        atexit.register(self.flush_pending)

    def serialize_message(self, message: Message) -> bytearray:
        if isinstance(message, StateMessage):
            # The same line as the SDK's, without `to_dict()`'s deep copy of every bookmark.
            return serialize_jsonl({"type": "STATE", "value": message.value})
        return super().serialize_message(message)

    def write_message(self, message: Message) -> None:
        if isinstance(message, RecordMessage):
            self.record_after_state = True
        elif isinstance(message, StateMessage):
            self.record_after_state = False
        self._pending += self.format_message(message)  # copies: the SDK reuses its buffer
        if not isinstance(message, RecordMessage) or len(self._pending) >= FLUSH_BYTES:
            self.flush_pending()

    def flush_pending(self) -> None:
        chunk, self._pending = self._pending, bytearray()
        try:
            if chunk:
                _write_whole(chunk)
            sys.stdout.flush()
        except BrokenPipeError:
            _output_closed()


def _output_closed() -> None:
    """The reader of stdout is gone (``| head``, a target that stopped): nothing written from
    now on can arrive, so the run stops with one line, not the SDK's "unhandled error" and a
    traceback. stdout goes to /dev/null first, so the interpreter's last flush cannot fail too.
    A SystemExit, which the SDK's per-stream ``except Exception`` lets through."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit("Error: the reader of the tap's output closed it (broken pipe); the tap stopped.")


class EncodedStateWriter(StateWriter):
    """The SDK's ``StateWriter`` (no STATE repeated unchanged), keeping the last state as its
    JSON bytes rather than a deep copy: one C-speed encoding instead of a deep copy and a deep
    comparison of every job's bookmark."""

    def __init__(self, message_writer: Any) -> None:
        super().__init__(message_writer)
        self._last_encoded: bytes | None = None

    def write_state(self, state: types.TapState, *, again: bool = False) -> None:
        """The STATE, unless it is the one written last (``again``: even then)."""
        encoded = encoder.encode(state)
        if again or encoded != self._last_encoded:
            self._message_writer.write_message(StateMessage(value=state))
            self._last_encoded = encoded


def _write_whole(chunk: bytearray) -> None:
    """Write every byte of ``chunk``; a termination signal waits until the chunk is out, so its
    handler's STATE never lands inside a half-written line."""
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINATING)
    try:
        out = sys.stdout.buffer
        view = memoryview(chunk)
        while view:
            written = out.write(view)
            view = view[written if written is not None else 0 :]
        out.flush()
    finally:
        if in_main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _TERMINATING)
