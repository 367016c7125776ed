"""The SDK's standard tap tests, run against the simulated API."""

from __future__ import annotations

import atexit
from datetime import UTC, datetime, timedelta
from typing import Any

from dlf_simulator import SimConfig, SimulatedDLF, demo_dataset
from singer_sdk.testing import get_tap_test_class

from tap_dlf_instances.tap import TapDLFInstances

# The standard test class is built at import time from a config, so the simulator it points at
# starts here and stops when the test process ends.
_SIM = SimulatedDLF(demo_dataset(), SimConfig(rate_limit_per_user=None)).start()
atexit.register(_SIM.stop)

SAMPLE_CONFIG = {
    **_SIM.tap_config(auth="aksk"),
    "start_date": (datetime.now(UTC) - timedelta(days=14)).isoformat(),
    "max_requests_per_second": 200,
}


def _every_stream_selected() -> dict[str, Any]:
    """The discovered catalog with every stream selected: the standard tests force selection
    while syncing, but build the streams they check from the catalog, where instance_nodes is
    not selected by default (its records would meet a stream map that drops them)."""
    catalog: dict[str, Any] = TapDLFInstances(config=SAMPLE_CONFIG, parse_env_config=False).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    return catalog


TestTapDLFInstances = get_tap_test_class(
    TapDLFInstances, config=SAMPLE_CONFIG, catalog=_every_stream_selected()
)
