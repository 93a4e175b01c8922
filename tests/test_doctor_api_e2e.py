"""`ksegcli doctor --api` as a subprocess against the fake server: each inferred API fact
agrees with a server that keeps it, differs (exit 9, with what was seen) when the fake is
told to answer otherwise, and could not be checked (exit 0) when the account cannot show
it. The fake records every request: doctor --api writes nothing."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from conftest import FakeFactory, ProcRunner, Result, checked_runner, fake_env, writes

from ksegcli.contract import load_schema
from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.testing import FakeServer

CLIENT_ID = "doctor-api-client"
SECRET = "doctor-api-e2e-secret-88"
SITECODE = "APISHOP001"


@pytest.fixture
def srv(make_fake: FakeFactory) -> FakeServer:
    server = make_fake(account=(CLIENT_ID, SECRET), time_scale=0.01)
    site = server.add_site(CLIENT_ID, name="Shop", code=SITECODE, tracking_script="window.a=1;")
    server.add_site(CLIENT_ID, name="Blog", code="APIBLOG002")
    server.set_integration_tools(
        site["id"], [{"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-1"}}]
    )
    server.add_personalization(site["id"], "Welcome")
    return server


@pytest.fixture
def run(srv: FakeServer, proc: ProcRunner) -> Any:
    env = fake_env(
        srv, client_id=CLIENT_ID, client_secret=SECRET, sitecode=SITECODE, rate_limit="50/0.1"
    )
    secrets = (SECRET, derive_api_key(CLIENT_ID, SECRET))
    return checked_runner(proc, env, secrets=secrets, words=("doctor", "--api"), no_traceback=True)


def facts(result: Result) -> dict[str, dict[str, Any]]:
    doc = result.json()
    jsonschema.Draft202012Validator(load_schema("doctor")).validate(doc)
    assert doc["api"] is True
    return {c["id"]: c for c in doc["checks"]}


def test_a_server_that_keeps_every_fact_agrees_exit_0(srv: FakeServer, run: Any) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("✓ agrees: ") for line in lines)
    assert "doctor --api: 5 agree." in result.stderr
    doc = run("--json")
    assert doc.exit_code == 0
    assert {f["result"] for f in facts(doc).values()} == {"agrees"}
    assert doc.json()["project"]["sitecode"] == SITECODE
    assert writes(srv) == []


DIFFERS = [
    pytest.param(
        {"integration_tools_wrapped": True},
        "api.integration_tools",
        "answered an object, not an array",
        '{"integrationTools": [{"name": "GOOGLE_ANALYTICS_4"',
        id="tools-another-shape",
    ),
    pytest.param(
        {"tools_without_settings": True},
        "api.integration_tools",
        "1 of 1 item(s) are not {name: string, settings: object}",
        '{"name": "GOOGLE_ANALYTICS_4"}',
        id="tools-without-settings",
    ),
    pytest.param(
        {"integration_tools_supported": False},
        "api.integration_tools",
        "was refused: the endpoint is not there",
        "HTTP 405: Request method 'GET' is not supported",
        id="tools-endpoint-refused",
    ),
    pytest.param(
        {"site_tracking_script": False},
        "api.tracking_script",
        "has no 'trackingScript' field",
        "fields: id, name, url, code, type, dateCreated",
        id="sites-without-trackingScript",
    ),
    pytest.param(
        {"filter_in_supported": False},
        "api.filter_in",
        "was refused; EQUAL with the array is accepted",
        "HTTP 400: filter[0]: unknown operator 'IN'; use one of EQUAL, NOT_EQUAL",
        id="IN-refused",
    ),
    pytest.param(
        {"hide_tracking_tools": ["personalizations"]},
        "api.personalization_tracking_tools",
        "has no 'trackingTools'",
        "fields: id, name, siteId, status",
        id="personalizations-without-trackingTools",
    ),
    pytest.param(
        {"getapikey_answer": "<html><body>Maintenance</body></html>"},
        "api.getapikey",
        "This is not a Kameleoon Segment API key (not base64 JSON).",
        "<html><body>Maintenance</body></html>",
        id="getapikey-undecodable",
    ),
]


@pytest.mark.parametrize(("knob", "fact_id", "detail", "seen"), DIFFERS)
def test_a_server_that_answers_otherwise_makes_the_fact_differ_exit_9(
    srv: FakeServer, run: Any, knob: dict[str, Any], fact_id: str, detail: str, seen: str
) -> None:
    srv.configure(**knob)
    doc = run("--json")
    assert doc.exit_code == 9
    found = facts(doc)
    assert found[fact_id]["result"] == "differs" and found[fact_id]["status"] == "fail"
    assert detail in found[fact_id]["detail"]
    assert found[fact_id]["seen"].startswith(seen)
    assert "please report what was seen" in found[fact_id]["fix"]
    others = {f["result"] for i, f in found.items() if i != fact_id}
    assert others == {"agrees"}, found

    human = run()
    assert human.exit_code == 9
    (line,) = [line for line in human.stdout.splitlines() if line.startswith("✗ differs: ")]
    assert found[fact_id]["title"] in line and detail in line
    assert f"    seen: {seen}" in human.stdout
    assert "doctor --api: 4 agree, 1 differs." in human.stderr
    assert writes(srv) == []


def test_a_403_on_an_endpoint_could_not_be_checked_exit_0(srv: FakeServer, run: Any) -> None:
    srv.inject("GET", r"/integration-tools$", "403", count=10)
    srv.inject("GET", r"^/personalizations", "403", count=10)
    doc = run("--json")
    assert doc.exit_code == 0, doc.output
    found = facts(doc)
    for fact_id, what in (
        ("api.integration_tools", "a project's integration tools"),
        ("api.personalization_tracking_tools", "personalizations"),
    ):
        assert found[fact_id]["result"] == "could_not_check"
        assert f"your API client may not read {what} (HTTP 403" in found[fact_id]["detail"]
    human = run()
    assert human.exit_code == 0
    assert "– could not check: GET /sites/{id}/integration-tools answers" in human.stdout
    assert "3 agree, 2 could not check." in human.stderr


def test_a_project_without_personalization_could_not_be_checked(srv: FakeServer, run: Any) -> None:
    doc = run("--json", "--sitecode", "APIBLOG002")
    assert doc.exit_code == 0
    fact = facts(doc)["api.personalization_tracking_tools"]
    assert fact["result"] == "could_not_check"
    assert fact["detail"] == "no personalization on APIBLOG002 to look at"


def test_every_fact_differing_at_once_is_one_line_each(srv: FakeServer, run: Any) -> None:
    srv.configure(
        integration_tools_wrapped=True,
        site_tracking_script=False,
        filter_in_supported=False,
        hide_tracking_tools=["personalizations"],
        getapikey_answer="nope",
    )
    human = run()
    assert human.exit_code == 9
    marks = [line.split(":")[0] for line in human.stdout.splitlines() if line[:1] in "✓✗–"]
    assert marks == ["✗ differs"] * 5
    assert "doctor --api: 5 differ." in human.stderr
