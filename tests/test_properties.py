"""Property-based tests: arbitrary answers, files and text give a result or a clear
error of the tool, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ksegcli.errors import ApiError, KsegError
from ksegcli.output import _json_text, sanitize

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_an_api_error(body: bytes) -> None:
    from ksegcli.core.http.parse import decode

    try:
        decode(body, "GET /sites")
    except ApiError as exc:
        assert "GET /sites" in exc.message


@FAST
@given(json_values)
def test_any_json_converts_to_projects_or_is_an_api_error(data: Any) -> None:
    from ksegcli.core.http.parse import item_list
    from ksegcli.core.kameleoon.client import Site

    try:
        sites = [Site.from_api(item) for item in item_list(data, "GET /sites")]
    except ApiError as exc:
        assert "GET /sites" in exc.message
        return
    assert all(isinstance(site.id, int) for site in sites)


toml_text = st.lists(
    st.sampled_from(
        [
            "[projects.ABCDE12345]",
            '[projects."10001"]',
            "[defaults]",
            "[segment]",
            'traits = ["plan"]',
            'traits = { plan = "Plan" }',
            "integration = true",
            "identifier = 1",
            'user_id = "segment"',
            'source_id = "src_1"',
            'region = "mars"',
            'personas = ""',
            "version = 2",
            "[[projects]]",
            "x = [",
        ]
    )
    | st.text(max_size=20),
    max_size=8,
).map("\n".join)


@FAST
@given(toml_text)
def test_any_apply_file_is_valid_or_a_usage_error(text: str) -> None:
    from ksegcli.core.apply.desired import parse
    from ksegcli.errors import ExitCode

    try:
        parse(text, Path("apply.toml"))
    except KsegError as exc:
        assert exc.exit_code == ExitCode.USAGE


@FAST
@given(st.text())
def test_sanitized_text_holds_no_control_or_bidi_character(text: str) -> None:
    for newlines in (True, False):
        clean = sanitize(text, newlines=newlines)
        for char in clean:
            code = ord(char)
            assert char in "\n\t" or not (code < 0x20 or 0x7F <= code <= 0x9F), repr(clean)
            assert char not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        assert sanitize(clean, newlines=newlines) == clean


@FAST
@given(json_values)
def test_json_output_round_trips_exactly_and_holds_no_raw_control(data: Any) -> None:
    text = _json_text(data)
    assert json.loads(text) == data
    assert sanitize(text) == text
