"""The unit that tells a page from an error: any JSON body is rows or a retried error, never a
silent empty page (the end-to-end runs with the ``body`` fault are in test_hostile_bodies.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_dlf_instances.api.responses import MalformedPageError, read_page

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
ROW = st.dictionaries(st.sampled_from(["instance_id", "plan_time", "status", "x"]), JSON_VALUES, max_size=4)
#: Bodies shaped like pages more often than not, with every part sometimes wrong.
PAGE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "total": JSON_VALUES | st.integers(min_value=0),
        "instances": st.lists(ROW | JSON_VALUES, max_size=4) | JSON_VALUES,
        "error_code": st.none() | st.just("") | st.text(max_size=8),
        "error_msg": JSON_VALUES,
    },
)


@settings(max_examples=1500, deadline=None)
@given(body=JSON_VALUES | PAGE_LIKE)
def test_any_json_body_is_either_rows_or_an_error_never_a_silent_empty_page(body):
    # As it arrives: JSON text parsed (so no tuples, no NaN).
    body = json.loads(json.dumps(body))
    try:
        page = read_page(body, "instances")
    except MalformedPageError as exc:
        reason = str(exc)
        page = None
    if page is None:
        assert reason  # an error that says why, retried by the stream like a 5xx
        return
    assert isinstance(body, dict)
    assert not body.get("error_code")
    assert body["instances"] is page.rows  # the server's own list: empty only if sent empty
    assert all(isinstance(row, dict) for row in page.rows)
    assert page.total is None or (isinstance(page.total, int) and page.total >= 0)
    assert (page.total is None) == (body.get("total") is None)


@pytest.mark.parametrize(
    ("body", "total"),
    [
        ({"instances": [], "total": 0}, 0),
        ({"instances": [{"instance_id": 1}], "total": 1.0}, 1),
        ({"instances": [{"instance_id": 1}], "total": "1"}, 1),
        ({"instances": [{"instance_id": 1}]}, None),
        ({"instances": [], "total": None, "error_code": None}, None),
        ({"instances": [], "total": 0, "error_code": ""}, 0),
    ],
)
def test_pages_that_are_read(body, total):
    assert read_page(body, "instances").total == total
