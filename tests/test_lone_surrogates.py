"""A lone UTF-16 surrogate in the API's JSON (``"\\ud800"``) becomes U+FFFD, with one warning
per field and a count in the run summary, instead of stopping the tap and every target after it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_hostile_bodies import INSTANCES_OF, JOB, config_for

from tap_dlf_instances.surrogates import may_hold_lone_surrogates, replace_lone_surrogates

# Text with surrogates (lone, or two that happen to make a pair) among ordinary characters.
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (key, *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@given(json_values)
def test_what_a_server_sends_is_encodable_after_replacement_and_nothing_else_changes(value: Any) -> None:
    raw = json.dumps(value).encode()  # surrogates go out as \udXXX escapes
    parsed = json.loads(raw)
    lone = [s for s in _strings(parsed) if any("\ud800" <= c <= "\udfff" for c in s)]
    if lone:
        assert may_hold_lone_surrogates(raw)  # the cheap check never misses one
    fixed, fields = replace_lone_surrogates(parsed)
    json.dumps(fixed, ensure_ascii=False).encode("utf-8")  # would raise on a lone surrogate
    assert len(fields) == len(lone)
    if not lone:
        assert fixed == parsed


def test_a_surrogate_pair_is_one_character_and_stays() -> None:
    raw = b'{"name": "\\ud83d\\ude00 \\uD800"}'
    assert may_hold_lone_surrogates(raw)
    fixed, fields = replace_lone_surrogates(json.loads(raw))
    assert fixed == {"name": "\U0001f600 \ufffd"}
    assert fields == ["name"]
    assert not may_hold_lone_surrogates('{"name": "数据 \\\\u 😀"}'.encode())


@pytest.mark.timeout(120)
def test_the_tap_emits_u_fffd_warns_once_per_field_and_counts_in_the_run_summary(make_sim, tap):
    sim = make_sim(rate_limit_per_user=None)
    rows = [
        {
            "job_name": JOB,
            "instance_id": 1,
            "plan_time": 1,
            "status": "success",
            "job_instance_name": "a\ud800b",
        },
        {
            "job_name": JOB,
            "instance_id": 2,
            "plan_time": 2,
            "status": "success",
            "job_instance_name": "\udfff",
        },
        {
            "job_name": JOB,
            "instance_id": 3,
            "plan_time": 3,
            "status": "success",
            "job_instance_name": "NUL\x00",
        },
    ]
    sim.set_faults([{"kind": "body", "body": {"total": 3, "instances": rows}, "path_contains": INSTANCES_OF}])

    run = tap(config_for(sim, job_names=[JOB]))

    assert run.returncode == 0, run.stderr[-3000:]
    names = {r["instance_id"]: r["job_instance_name"] for r in run.instances if r["instance_id"] <= 3}
    assert names == {1: "a\ufffdb", 2: "\ufffd", 3: "NUL\x00"}  # NUL is data: it stays
    assert run.stderr.count("A string in `instances.job_instance_name` held a lone UTF-16 surrogate") == 1
    summary = [line for line in run.stderr.splitlines() if "Run summary:" in line]
    assert len(summary) == 1, run.stderr[-3000:]
    assert "WARNING" in summary[0]
    assert "2 strings held a lone UTF-16 surrogate" in summary[0]
    assert "instances.job_instance_name 2" in summary[0]
