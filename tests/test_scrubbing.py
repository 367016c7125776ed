"""The scrubber on its own: every form a secret can be echoed in, short secrets, log records."""

from __future__ import annotations

import json
import logging
import sys
from decimal import Decimal
from urllib.parse import quote, quote_plus

import pytest
from dlf_simulator import SimulatedDLF

from tap_dlf_instances import scrubbing
from tap_dlf_instances.scrubbing import MASK, Scrubber, ScrubbingFilter

SECRET = 'pa"ss/wörd +&=\\x'


def scrubbed(value: object, text: str) -> str:
    scrubber = Scrubber()
    scrubber.register(value)
    return scrubber.scrub(text)


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        repr(SECRET)[1:-1],
        quote(SECRET, safe=""),
        quote_plus(SECRET, safe=""),
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # a JSON body quoted inside a JSON message
    ],
)
def test_every_encoded_form_of_a_secret_is_hidden(form):
    assert scrubbed(SECRET, f"before {form} after") == f"before {MASK} after"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12345678987, "12345678987 is not of type 'string'"),
        (Decimal("3.14159"), "Decimal('3.14159') is not of type 'string'"),
        (3.5e-07, "3.5e-07 is not of type 'string'"),
        (["SkPartOne", "SkPartTwo"], "['SkPartOne', 'SkPartTwo'] is not of type 'string'"),
        ({"keyPart": ["valuePart"]}, "{'keyPart': ['valuePart']} is not of type 'string'"),
    ],
)
def test_a_secret_of_another_type_is_hidden_in_every_part(value, shown):
    out = scrubbed(value, shown)
    assert "is not of type 'string'" in out
    for part in ("12345678987", "3.14159", "3.5e-07", "SkPart", "keyPart", "valuePart"):
        assert part not in out


def test_booleans_and_null_are_not_secrets():
    assert scrubbed([True, None, False], "true None False") == "true None False"


def test_a_short_secret_is_hidden_as_a_token_but_not_inside_words():
    text = 'login {"password": "ab"} failed; about 1 tab; ab'
    assert scrubbed("ab", text) == 'login {"password": "***"} failed; about 1 tab; ***'
    assert scrubbed(7, "2026-11-26 10:07:26 attempt 7 of 9") == "2026-11-26 10:07:26 attempt *** of 9"


def test_a_longer_secret_containing_a_shorter_one_is_hidden_whole():
    assert scrubbed(["abcd", "abcdefgh"], "x abcdefgh y abcd") == "x *** y ***"


@pytest.fixture
def global_scrubber():
    yield scrubbing.SCRUBBER
    scrubbing.SCRUBBER.clear()


def test_the_filter_scrubs_message_arguments_and_traceback(global_scrubber):
    scrubbing.register("MIItoken-secret-value")
    try:
        raise ValueError("the server said MIItoken-secret-value")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "got %s", ("MIItoken-secret-value",), sys.exc_info()
        )
    assert ScrubbingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert "MIItoken-secret-value" not in line
    assert "got ***" in line
    assert "ValueError: the server said ***" in line


def test_install_puts_the_filter_on_every_handler_once(global_scrubber):
    handler = logging.StreamHandler()
    logger = logging.getLogger("tap-dlf-instances.test-install")
    logger.addHandler(handler)
    try:
        scrubbing.install({"iam_password": "pw-installed-1", "page_size": 5})
        scrubbing.install()
        assert sum(isinstance(f, ScrubbingFilter) for f in handler.filters) == 1
        assert scrubbing.scrub("pw-installed-1 5") == "*** 5"  # only secret settings count
    finally:
        logger.removeHandler(handler)


def test_the_simulator_echoes_headers_and_body(tmp_path):
    with SimulatedDLF() as sim:
        sim.set_faults([{"kind": "echo", "path_contains": "/v3/auth"}])
        outcome = sim.handle("POST", "/v3/auth/tokens", "", {"X-Probe": "hdr-value"}, b'{"password": "pw"}')
        assert outcome.status == 400
        message = json.loads(outcome.body)["error_msg"]
        assert "X-Probe: hdr-value" in message
        assert '{"password": "pw"}' in message
        # A rule without path_contains leaves the login alone.
        sim.set_faults([{"kind": "echo", "status": 500}])
        outcome = sim.handle("POST", "/v3/auth/tokens", "", {}, b"{}")
        assert outcome.status == 400
        assert "requires a valid body" in outcome.body.decode()
