"""A run ends with a STATE after its last RECORD, even when that STATE repeats the one before:
a target may act only on the last STATE it reads (target-jsonl writes the last one it saw before
the records that follow it)."""

from __future__ import annotations

import itertools
import json

import pytest


@pytest.mark.timeout(180)
def test_an_incremental_run_ends_with_a_state_after_its_last_record(make_sim, tap) -> None:
    sim = make_sim(rate_limit_per_user=None)
    config = sim.tap_config(auth="aksk")  # the demo's 30 days: PatchData runs and alarms come last
    first = tap(config)
    assert first.returncode == 0, first.stderr[-3000:]

    second = tap(config, state=first.last_state)

    assert second.returncode == 0, second.stderr[-3000:]
    messages = [json.loads(line) for line in second.stdout.splitlines() if line.strip()]
    kinds = [message["type"] for message in messages]
    last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
    assert messages[last_record]["stream"] in ("patch_data", "alarms")
    assert "STATE" in kinds[last_record:], kinds[-4:]
    assert messages[-1]["type"] in ("STATE", "SCHEMA"), kinds[-4:]
    # Never two identical STATE messages in a row.
    states = [i for i, kind in enumerate(kinds) if kind == "STATE"]
    assert all(
        messages[a]["value"] != messages[b]["value"] for a, b in itertools.pairwise(states) if b == a + 1
    )
