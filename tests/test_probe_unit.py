"""Unit tests (respx) for the verify probe: the region's tracking host, Basic auth with the
write key, and the Data API poll that ends when the nonce is back."""

from __future__ import annotations

import base64
import json

import httpx
import respx

from ksegcli.core import probe as core
from ksegcli.core.redact import redact
from ksegcli.core.session import Session

WRITE_KEY = "wk_unit_never_printed_77"


def _probe(region: str) -> core.Probe:
    return core.Probe(
        source_id="src1",
        region=region,
        user_id="ksegcli-probe-abc",
        nonce="n0nce",
        write_key=WRITE_KEY,
        sitecode="abcde12345",
    )


@respx.mock
def test_the_eu_probe_goes_to_the_eu_tracking_host_with_the_write_key_as_basic_auth() -> None:
    sent = respx.post("https://events.eu1.segmentapis.com/v1/identify").mock(
        return_value=httpx.Response(200, json={"success": True})
    )
    respx.get("https://data.kameleoon.io/map/map").mock(
        return_value=httpx.Response(200, json={"traits": {"ksegcli_probe": "n0nce"}})
    )
    core._redact_key(WRITE_KEY)
    probe = core.send_and_poll(Session(env={}), _probe("eu"), track=False, timeout=5)
    assert probe.ok and probe.failed_hop is None
    request = sent.calls.last.request
    expected = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    body = json.loads(request.content)
    assert body["userId"] == "ksegcli-probe-abc" and body["traits"] == {"ksegcli_probe": "n0nce"}
    assert body["messageId"].startswith("ksegcli-")
    assert WRITE_KEY not in redact(f"key {WRITE_KEY} / {expected}")


@respx.mock
def test_a_nonce_that_never_arrives_fails_the_stored_hop_within_the_timeout() -> None:
    respx.post("https://api.segment.io/v1/identify").mock(return_value=httpx.Response(200))
    respx.post("https://api.segment.io/v1/track").mock(return_value=httpx.Response(200))
    respx.get("https://data.kameleoon.io/map/map").mock(return_value=httpx.Response(200, json={}))
    probe = core.send_and_poll(Session(env={}), _probe("us"), track=True, timeout=1)
    assert not probe.ok
    assert probe.failed_hop is not None and probe.failed_hop.id == "stored"
    assert [h.id for h in probe.hops] == ["sent", "stored"]
