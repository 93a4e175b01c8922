"""`doctor --api` against respx: the exact reads it sends (never a write), and what each
answer makes of an inferred fact — agrees, differs (with what was seen) or could not
check (with why)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import respx
from conftest import CliRunner, Result

from ksegcli.contract import load_schema
from ksegcli.core.kameleoon.apikey import derive_api_key

BASE = "https://api.test"
KEYS = "https://customers.test"
CID = "cid-unit"
SECRET = "doctor-api-unit-secret-42"
ENV = {
    "KSEG_API_URL": BASE,
    "KSEG_CUSTOMERS_URL": KEYS,
    "KAMELEOON_CLIENT_ID": CID,
    "KAMELEOON_CLIENT_SECRET": SECRET,
    "KSEG_RATE_LIMIT": "1000/1",
}
SITE = {"id": 11, "name": "Shop", "url": "https://shop", "code": "SHOP000011", "type": "SITE"}
OTHER = {"id": 12, "name": "Blog", "url": "https://blog", "code": "BLOG000012", "type": "SITE"}
GA4 = {"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-1"}}
PERSO = {"id": 7, "name": "Welcome", "siteId": 11, "status": "ACTIVE"}
KEY_PATH = "/kameleoon/segmentio/getapikey"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BASE}/oauth/token").mock(
            return_value=httpx.Response(200, json={"access_token": "tok-da", "expires_in": 7200})
        )
        yield mock


def agreeing(api: respx.MockRouter, **overrides: Any) -> None:
    """An account whose server answers every fact as ksegcli expects."""
    answers: dict[str, Any] = {
        "sites": [SITE, OTHER],
        "site": {**SITE, "trackingScript": "window.a = 1;"},
        "tools": [GA4],
        "custom": [{"id": 3, "name": "x", "siteId": 11}],
        "persos": [PERSO],
        "perso": {**PERSO, "trackingTools": [{"name": "GOOGLE_ANALYTICS_4"}]},
        "key": derive_api_key(CID, SECRET),
    }
    answers.update(overrides)

    def respond(value: Any) -> httpx.Response:
        return value if isinstance(value, httpx.Response) else httpx.Response(200, json=value)

    api.get(f"{BASE}/sites").mock(return_value=respond(answers["sites"]))
    api.get(f"{BASE}/sites/11").mock(return_value=respond(answers["site"]))
    api.get(f"{BASE}/sites/11/integration-tools").mock(return_value=respond(answers["tools"]))
    api.get(f"{BASE}/custom-datas").mock(
        side_effect=answers["custom"] if callable(answers["custom"]) else None,
        return_value=None if callable(answers["custom"]) else respond(answers["custom"]),
    )
    api.get(f"{BASE}/personalizations").mock(return_value=respond(answers["persos"]))
    api.get(f"{BASE}/personalizations/7").mock(return_value=respond(answers["perso"]))
    key = answers["key"]
    api.get(f"{KEYS}{KEY_PATH}").mock(
        return_value=key if isinstance(key, httpx.Response) else httpx.Response(200, text=key)
    )


def facts(result: Result) -> dict[str, dict[str, Any]]:
    doc = result.json()
    jsonschema.Draft202012Validator(load_schema("doctor")).validate(doc)
    return {c["id"]: c for c in doc["checks"]}


def run(cli: CliRunner, *args: str) -> Result:
    result = cli("doctor", "--api", *args, env=ENV)
    assert SECRET not in result.output
    assert derive_api_key(CID, SECRET) not in result.output
    return result


def test_every_fact_agrees_with_reads_only_and_exit_0(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api)
    result = run(cli, "--json")
    assert result.exit_code == 0, result.output
    found = facts(result)
    assert {f["result"] for f in found.values()} == {"agrees"}
    assert list(found) == [
        "api.integration_tools",
        "api.tracking_script",
        "api.filter_in",
        "api.personalization_tracking_tools",
        "api.getapikey",
    ]
    assert result.json()["project"] == {"id": 11, "sitecode": "SHOP000011", "name": "Shop"}
    # Nothing but reads (and the token).
    methods = {(c.request.method, c.request.url.path) for c in api.calls}
    assert {m for m, _ in methods} == {"GET", "POST"}
    assert [p for m, p in methods if m == "POST"] == ["/oauth/token"]
    # The IN filter names every project, as customdata's listing does.
    (custom,) = [c.request for c in api.calls if c.request.url.path == "/custom-datas"]
    sent = json.loads(parse_qs(urlsplit(str(custom.url)).query)["filter"][0])
    assert sent == [{"field": "siteId", "operator": "IN", "parameters": [11, 12]}]
    assert "GOOGLE_ANALYTICS_4" in found["api.integration_tools"]["detail"]
    assert "13 characters" in found["api.tracking_script"]["detail"]


def test_human_output_has_one_line_per_fact_and_a_summary(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, tools=[{"name": "GOOGLE_ANALYTICS_4"}])
    result = run(cli)
    assert result.exit_code == 9
    lines = [line for line in result.stdout.splitlines() if not line.startswith("    ")]
    assert len(lines) == 5
    assert lines[0].startswith("✗ differs: GET /sites/{id}/integration-tools answers an array")
    assert all(line.startswith("✓ agrees: ") for line in lines[1:])
    assert '    seen: {"name": "GOOGLE_ANALYTICS_4"}' in result.stdout
    assert "doctor --api: 4 agree, 1 differs." in result.stderr


def test_tools_without_settings_differ(api: respx.MockRouter, cli: CliRunner) -> None:
    agreeing(api, tools=[GA4, {"name": "HEAP"}])
    fact = facts(run(cli, "--json"))["api.integration_tools"]
    assert fact["result"] == "differs" and fact["status"] == "fail"
    assert "1 of 2 item(s) are not {name: string, settings: object}" in fact["detail"]
    assert fact["seen"] == '{"name": "HEAP"}'
    assert "Admin › Integrations › Segment" in fact["fix"]


def test_an_empty_tools_array_agrees_and_says_the_items_were_not_seen(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, tools=[])
    fact = facts(run(cli, "--json"))["api.integration_tools"]
    assert fact["result"] == "agrees"
    assert "empty array" in fact["detail"] and "not shown" in fact["detail"]


def test_a_refused_tools_endpoint_differs_but_a_403_could_not_be_checked(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, tools=httpx.Response(405, json={"message": "Method not supported"}))
    result = run(cli, "--json")
    assert result.exit_code == 9
    fact = facts(result)["api.integration_tools"]
    assert fact["result"] == "differs"
    assert fact["seen"] == "HTTP 405: Method not supported"

    agreeing(api, tools=httpx.Response(403, json={"message": "Access denied"}))
    result = run(cli, "--json")
    assert result.exit_code == 0  # could not check alone is no failure
    fact = facts(result)["api.integration_tools"]
    assert fact["result"] == "could_not_check" and fact["status"] == "skip"
    assert "may not read a project's integration tools (HTTP 403: Access denied)" in fact["detail"]
    assert fact["fix"] is None


def test_a_tracking_script_that_is_not_text_differs(api: respx.MockRouter, cli: CliRunner) -> None:
    agreeing(api, site={**SITE, "trackingScript": {"code": "x"}})
    fact = facts(run(cli, "--json"))["api.tracking_script"]
    assert fact["result"] == "differs"
    assert "'trackingScript' is an object, not a string" in fact["detail"]


def test_a_null_tracking_script_is_an_empty_one(api: respx.MockRouter, cli: CliRunner) -> None:
    agreeing(api, site={**SITE, "trackingScript": None})
    fact = facts(run(cli, "--json"))["api.tracking_script"]
    assert fact["result"] == "agrees" and "(empty)" in fact["detail"]


def test_in_refused_then_equal_refused_differs_naming_both(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, custom=httpx.Response(400, json={"message": "bad filter"}))
    fact = facts(run(cli, "--json"))["api.filter_in"]
    assert fact["result"] == "differs"
    assert fact["seen"] == "HTTP 400: bad filter"
    assert "EQUAL with the same array too (HTTP 400: bad filter)" in fact["detail"]
    operators = [
        json.loads(parse_qs(urlsplit(str(c.request.url)).query)["filter"][0])[0]["operator"]
        for c in api.calls
        if c.request.url.path == "/custom-datas"
    ]
    assert operators == ["IN", "EQUAL"]


def test_in_refused_equal_accepted_differs_and_says_nothing_to_do(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    def custom(request: httpx.Request) -> httpx.Response:
        if '"IN"' in parse_qs(request.url.query.decode())["filter"][0]:
            return httpx.Response(400, json={"message": "unknown operator IN"})
        return httpx.Response(200, json=[])

    agreeing(api, custom=custom)
    result = run(cli, "--json")
    assert result.exit_code == 9
    fact = facts(result)["api.filter_in"]
    assert fact["result"] == "differs"
    assert "EQUAL with the array is accepted" in fact["detail"]
    assert fact["fix"].startswith("Nothing to do: ksegcli falls back to EQUAL")


def test_a_filter_the_server_ignored_differs(api: respx.MockRouter, cli: CliRunner) -> None:
    agreeing(api, custom=[{"id": 3, "siteId": 11}, {"id": 4, "siteId": 99}])
    fact = facts(run(cli, "--json"))["api.filter_in"]
    assert fact["result"] == "differs" and "the filter was ignored" in fact["detail"]
    assert '"siteId": 99' in fact["seen"]


def test_personalizations_without_tracking_tools_differ_and_none_cannot_be_checked(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, perso=PERSO)
    fact = facts(run(cli, "--json"))["api.personalization_tracking_tools"]
    assert fact["result"] == "differs"
    assert fact["seen"] == "fields: id, name, siteId, status"
    assert "not applied" in fact["fix"]

    agreeing(api, persos=[])
    fact = facts(run(cli, "--json"))["api.personalization_tracking_tools"]
    assert fact["result"] == "could_not_check"
    assert fact["detail"] == "no personalization on SHOP000011 to look at"


def test_getapikey_inside_json_agrees_another_clients_key_differs(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, key=json.dumps({"apiKey": derive_api_key(CID, SECRET)}))
    fact = facts(run(cli, "--json"))["api.getapikey"]
    assert fact["result"] == "agrees" and "(inside JSON)" in fact["detail"]

    agreeing(api, key=derive_api_key("someone-else", "x" * 12))
    fact = facts(run(cli, "--json"))["api.getapikey"]
    assert fact["result"] == "differs"
    assert "not this client's id and secret" in fact["detail"]


def test_an_undecodable_key_is_quoted_with_the_secret_masked(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    echo = f"error: no key for secret={SECRET}"
    agreeing(api, key=echo)
    result = run(cli, "--json")
    assert result.exit_code == 9
    fact = facts(result)["api.getapikey"]
    assert fact["result"] == "differs" and "not base64 JSON" in fact["detail"]
    assert fact["seen"].startswith("error: no key for secret=")
    assert "--offline" in fact["fix"]

    human = run(cli)
    assert "✗ differs: The getapikey answer decodes" in human.stdout
    assert "    seen: error: no key for secret=" in human.stdout


def test_getapikey_refusing_the_credentials_could_not_be_checked(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, key=httpx.Response(401, text="Invalid credentials"))
    fact = facts(run(cli, "--json"))["api.getapikey"]
    assert fact["result"] == "could_not_check"
    assert "refused these credentials (HTTP 401: Invalid credentials)" in fact["detail"]


def test_without_a_project_the_project_facts_could_not_be_checked(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api, sites=[])
    result = run(cli, "--json")
    assert result.exit_code == 0
    found = facts(result)
    assert result.json()["project"] is None
    assert found["api.getapikey"]["result"] == "agrees"
    for fact in list(found.values())[:4]:
        assert fact["result"] == "could_not_check"
        assert fact["detail"] == "these credentials reach no project"


def test_sitecode_chooses_the_project_and_an_unknown_one_is_said(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    agreeing(api)
    api.get(f"{BASE}/sites/12/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    api.get(f"{BASE}/sites/12").mock(return_value=httpx.Response(200, json=OTHER))
    found = facts(run(cli, "--json", "--sitecode", "BLOG000012"))
    assert "/sites/12/integration-tools" in found["api.integration_tools"]["detail"]

    found = facts(run(cli, "--json", "--sitecode", "NONE000000"))
    assert found["api.tracking_script"]["detail"] == (
        "no project with sitecode NONE000000 among the 2 these credentials reach"
    )


def test_without_credentials_nothing_is_checked_exit_3(cli: CliRunner) -> None:
    result = cli("doctor", "--api", env={"KSEG_API_URL": BASE})
    assert result.exit_code == 3
    assert "doctor --api needs the Kameleoon client id and secret" in result.stderr


def test_flags_of_the_other_doctors_are_refused_with_api(cli: CliRunner) -> None:
    result = cli("doctor", "--api", "--source", "src", "--user", "u", env=ENV)
    assert result.exit_code == 2
    assert "--source, --user cannot go with --api" in result.stderr
