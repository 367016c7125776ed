"""Where the SDK's per-record and per-partition costs are cut, for a stream of many records in
many partitions (``instances``). The SDK has no public hook for either, so these override its
private members (listed in sdk_private.py).

- **RECORD messages**: the SDK walks every record for deselected properties, copying it, even
  when none is deselected; that walk was the largest single cost of a one-job backfill
  (benchmarks/). When every property is selected, the messages are made without it.
  Conformance must be off for the stream (``TYPE_CONFORMANCE_LEVEL``): what is left is the
  stream maps, as in the SDK.
- **Partition state**: the SDK finds a partition's state by scanning every partition; the
  state manager of state/index.py finds it at once.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

from singer_sdk.singerlib.encoding.simple import RecordMessage
from singer_sdk.streams import Stream

from tap_dlf_instances.sdk_private import StreamStateManager
from tap_dlf_instances.state.index import IndexedStateManager


class PerRecordSpeedups(Stream):
    """A mixin for a stream whose records already have their schema types."""

    @property
    def state_manager(self) -> StreamStateManager:
        """The SDK's manager, with each partition's state looked up in constant time."""
        if self._state_manager is None:
            self._state_manager = IndexedStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=self.is_sorted,
                check_sorted=self.check_sorted,
            )
        return self._state_manager

    @functools.cached_property
    def _every_property_selected(self) -> bool:
        return all(self.mask.get(("properties", name), True) for name in self.schema["properties"])

    def _generate_record_messages(self, record: dict[str, Any]) -> Generator[RecordMessage, None, None]:
        if not self._every_property_selected:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=datetime.now(UTC),
                )
