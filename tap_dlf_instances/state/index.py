"""The SDK's stream state manager, with each job's bookmark found in constant time.

The SDK finds a partition's state by scanning the list of every partition
(``singer_sdk.helpers._state._find_in_partitions_list``), and a run looks each job up several
times (planning, the start and end of its partition, every window): with thousands of jobs the
scans, not the records, took the time (2,000 jobs: 10,000 lookups of a 2,000-long list). The
dicts the SDK returns are the ones inside the state, updated in place, so remembering them by
their partition context returns exactly what a scan would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_dlf_instances.sdk_private import StreamStateManager, get_state_partitions_list

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class IndexedStateManager(StreamStateManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_context: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        self._indexed = False

    def get_context_state(self, context: Context | None) -> dict[str, Any]:
        partition = self.get_state_partition_context(context)
        if not partition:
            return super().get_context_state(context)
        try:
            key = tuple(sorted(partition.items()))
            known = self._by_context.get(key)
        except TypeError:  # a context value that cannot be hashed: the SDK's own scan
            return super().get_context_state(context)
        # The context check guards against a state replaced under us (the SDK never does).
        if known is not None and known.get("context") == partition:
            return known
        if not self._indexed:  # the state passed in: every job's bookmark in one scan
            self._index_partitions()
            known = self._by_context.get(key)
            if known is not None and known.get("context") == partition:
                return known
        partitions = get_state_partitions_list(self.tap_state, self.stream_name)
        if partitions is not None and key not in self._by_context:
            # A job new to the state: added as the SDK adds it, without scanning for it again.
            found: dict[str, Any] = {"context": dict(partition)}
            partitions.append(found)
        else:
            found = super().get_context_state(context)
        self._by_context[key] = found
        return found

    def _index_partitions(self) -> None:
        self._indexed = True
        for state in get_state_partitions_list(self.tap_state, self.stream_name) or []:
            context = state.get("context")
            if isinstance(context, dict):
                try:
                    self._by_context.setdefault(tuple(sorted(context.items())), state)
                except TypeError:
                    continue
