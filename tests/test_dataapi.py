"""Unit tests (respx) for the Data API reader."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from ksegcli.core.kameleoon import dataapi
from ksegcli.core.session import Session
from ksegcli.errors import BadInputError

SITECODE = "abcde12345"


def test_regional_hosts_and_override() -> None:
    plain = Session(env={})
    assert dataapi.data_base_url(plain) == "https://data.kameleoon.io"
    assert dataapi.data_base_url(plain, "EU") == "https://eu-data.kameleoon.io"
    assert dataapi.data_base_url(plain, "na-eu") == "https://na-data.kameleoon.eu"
    local = Session(env={"KSEG_DATA_API_URL": "http://127.0.0.1:9"})
    assert dataapi.data_base_url(local, "eu") == "http://127.0.0.1:9"
    with pytest.raises(BadInputError):
        dataapi.data_base_url(local, "mars")


@respx.mock
def test_many_keys_are_split_in_requests_of_100_and_sent_with_our_user_agent() -> None:
    route = respx.get("https://na-data.kameleoon.io/map/maps").mock(
        side_effect=lambda request: httpx.Response(
            200, json={k: {"n": 1} for k in json.loads(request.url.params["keys"])}
        )
    )
    keys = [f"COHORTS_u{i}" for i in range(250)]
    found = dataapi.get_values(Session(env={}), keys, sitecode=SITECODE, region="na")
    assert len(found) == 250
    assert [len(json.loads(c.request.url.params["keys"])) for c in route.calls] == [100, 100, 50]
    request = route.calls[0].request
    assert request.url.params["siteCode"] == SITECODE
    assert request.headers["User-Agent"].startswith("ksegcli/")
    assert "bot" not in request.headers["User-Agent"].lower()


@respx.mock
def test_cohorts_and_traits_shapes() -> None:
    respx.get("https://data.kameleoon.io/map/maps").mock(
        return_value=httpx.Response(
            200,
            json={"COHORTS_u1": {"a": True, "b": False}, "common": {"cohorts": ["a", "b", "c"]}},
        )
    )
    respx.get("https://data.kameleoon.io/map/map").mock(return_value=httpx.Response(200, json={}))
    session = Session(env={})
    cohorts = dataapi.cohorts(session, " u1 ", sitecode=SITECODE)
    assert cohorts.key == "COHORTS_u1"
    assert cohorts.member_of == ["a"] and cohorts.known == ["a", "b", "c"]
    assert not cohorts.empty  # a persona the user left is still something stored
    assert dataapi.Cohorts(user_id="u1", sitecode=SITECODE, key="COHORTS_u1").empty
    traits = dataapi.traits(session, "u1", sitecode=SITECODE)
    assert traits.empty and traits.key == "IDENTIFY_u1"
    with pytest.raises(BadInputError):
        dataapi.traits(session, "  ", sitecode=SITECODE)
