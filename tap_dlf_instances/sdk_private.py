"""Every private member of singer-sdk that the tap uses: what, where, why, and the version of
the SDK they were checked against.

The SDK promises nothing about these, so an upgrade re-checks each one. The private modules are
imported here and nowhere else; the members the tap overrides or reads on the SDK's classes are
listed in ``PRIVATE_MEMBERS``. tests/test_sdk_private.py fails when a listed member is gone from
the installed SDK, and when the package uses one that is not listed.

Four used to be here and have public replacements since 0.54: ``_prepare_request`` (now
``get_http_request`` with ``PageContext``, api/client.py), a fake paginator for one page (gone with
it), ``helpers._util.utc_now`` (``datetime.now(UTC)``) and ``_finalize_state`` (the PatchData
record is written in ``get_records``, streams/instances.py).
"""

from __future__ import annotations

from singer_sdk.helpers._state import StateWriter, get_state_partitions_list
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.streams._state import StreamStateManager

#: The singer-sdk release these were read in.
CHECKED_WITH = "0.54.9"

#: ``module:Class.member`` -> where the tap uses it, and why no public hook does.
PRIVATE_MEMBERS: dict[str, str] = {
    # Imported
    "singer_sdk.helpers._state:StateWriter": (
        "state/writer.py: subclassed to encode a STATE once and skip repeats (the SDK re-encodes every one)."
    ),
    "singer_sdk.helpers._state:get_state_partitions_list": (
        "state/index.py: the partitions list that the constant-time index is built from."
    ),
    "singer_sdk.streams._state:StreamStateManager": (
        "state/index.py, streams/sdk_speedups.py: subclassed, so that a partition's state is found at once."
    ),
    "singer_sdk.plugin_base:_ConfigInput": "tap.py: the type that cb_config returns (typing only).",
    # The tap
    "singer_sdk.plugin_base:PluginBase._config": (
        "tap.py: the config as read, scrubbed and cleaned of nulls before the SDK validates it."
    ),
    "singer_sdk.plugin_base:PluginBase._validate_config": (
        "tap.py: its errors become one sentence naming the setting (the SDK prints a traceback)."
    ),
    "singer_sdk.tap_base:Tap._handle_termination": (
        "tap.py: a SIGTERM/SIGINT writes the last STATE through the tap's own writer."
    ),
    "singer_sdk.tap_base:Tap._streams": (
        "tap.py: the streams in the tap's order (load_streams, where the SDK sorts, is final)."
    ),
    "singer_sdk.tap_base:Tap._state_writer": "tap.py: replaced by writer.EncodedStateWriter.",
    "singer_sdk.helpers._state:StateWriter._message_writer": "state/writer.py: where the encoded STATE goes.",
    # The streams
    "singer_sdk.streams.rest:_HTTPStream._request": (
        "api/client.py: every request, also those of the SDK's own request_records loop, holds a "
        "request slot, waits for the pacer and passes the credentials gate."
    ),
    "singer_sdk.streams.rest:_HTTPStream._LOG_REQUEST_METRICS": (
        "api/client.py: off; a METRIC line per request would be most of a run's log."
    ),
    "singer_sdk.streams.core:Stream._sync_records": (
        "streams/instances.py: the run summary after the stream, after a failure too (sync is final)."
    ),
    "singer_sdk.streams.core:Stream._increment_stream_state": (
        "streams/windowed.py: bookmarks move per window, not per record."
    ),
    "singer_sdk.streams.core:Stream._write_state_message": (
        "streams/windowed.py, streams/instance_nodes.py: a STATE when a window closes or a run fails."
    ),
    "singer_sdk.streams.core:Stream._write_schema_message": (
        "streams/instance_nodes.py: the SCHEMA once, not once per instance (a child sync each)."
    ),
    "singer_sdk.streams.core:Stream._generate_record_messages": (
        "streams/sdk_speedups.py: RECORD messages without the per-record walk for deselected properties."
    ),
    "singer_sdk.streams.core:Stream._stream_version": "streams/sdk_speedups.py: the version a RECORD carries.",
    "singer_sdk.streams.core:Stream._state_manager": "streams/sdk_speedups.py: the indexed state manager.",
    "singer_sdk.streams.core:Stream._tap_state": "streams/sdk_speedups.py: the state the manager works on.",
}

__all__ = [
    "CHECKED_WITH",
    "PRIVATE_MEMBERS",
    "StateWriter",
    "StreamStateManager",
    "_ConfigInput",
    "get_state_partitions_list",
]
