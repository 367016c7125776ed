"""The SDK's standard tap tests, run against the simulated API."""

from __future__ import annotations

import atexit
from datetime import UTC, datetime, timedelta

from singer_sdk.testing import get_tap_test_class

from tap_dlf_instances.simulator import SimConfig, SimulatedDLF, demo_dataset
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

TestTapDLFInstances = get_tap_test_class(TapDLFInstances, config=SAMPLE_CONFIG)
