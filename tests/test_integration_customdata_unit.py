"""The Segment tool and the custom data, against respx: every request body, planning,
lost answers, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from conftest import CliRunner, automation_api

from ksegcli.core.kameleoon import customdata, integration
from ksegcli.core.kameleoon.client import Site
from ksegcli.core.kameleoon.customdata import CustomData, build_spec, plan_custom_data
from ksegcli.core.snippets import render_snippet

BASE = "https://api.test"
SECRET = "unit-secret-value-42"
ENV = {
    "KSEG_API_URL": BASE,
    "KAMELEOON_CLIENT_ID": "cid",
    "KAMELEOON_CLIENT_SECRET": SECRET,
    "KSEG_RATE_LIMIT": "1000/1",
}
SITES = [
    {"id": 11, "name": "Shop", "url": "https://shop", "code": "SHOP000011", "type": "SITE"},
    {"id": 12, "name": "Blog", "url": "https://blog", "code": "BLOG000012", "type": "SITE"},
]
SHOP = Site.from_api(SITES[0])


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with automation_api(BASE, "tok-abc") as mock:
        mock.get("/sites").mock(return_value=httpx.Response(200, json=SITES))
        yield mock


def body(route: respx.Route, n: int = -1) -> Any:
    return json.loads(route.calls[n].request.content)


def cd(id_: int, name: str, code: str | None, *, site: int = 11, **kw: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "siteId": site,
        "type": kw.get("type", "LIST"),
        "format": kw.get("format", "STRING"),
        "method": kw.get("method", "CUSTOM_CODE"),
        "customEvalCode": code,
    }


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert "tok-abc" not in text


# -- integration ------------------------------------------------------------------------


def test_install_puts_whole_array_keeping_other_tools(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    ga4 = {"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-1"}}
    after = [ga4, {"name": "SEGMENT", "settings": {}}]
    api.get("/sites/11/integration-tools").mock(
        side_effect=[httpx.Response(200, json=[ga4]), httpx.Response(200, json=after)]
    )
    put = api.put("/sites/11/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "install", "--project", "SHOP000011", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert body(put) == [ga4, {"name": "SEGMENT", "settings": {}}]
    assert put.calls.last.request.headers["Authorization"] == "Bearer tok-abc"
    doc = result.json()
    assert doc["command"] == "integration install" and doc["dry_run"] is False
    assert doc["summary"] == {"installed": 1} and doc["changes"] is True
    assert [(d["project"]["id"], d["state"]) for d in doc["items"]] == [(11, "installed")]
    no_secret(result.stdout, result.stderr)


def test_install_already_installed_writes_nothing(api: respx.MockRouter, cli: CliRunner) -> None:
    api.get("/sites/11/integration-tools").mock(
        return_value=httpx.Response(200, json=[{"name": "SEGMENT", "settings": {}}])
    )
    put = api.put("/sites/11/integration-tools")
    result = cli("integration", "install", "--project", "11", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert put.call_count == 0
    assert "unchanged" in result.stdout and "already installed" in result.stdout
    assert "1 unchanged" in result.stderr


def test_uninstall_keeps_other_tools(api: respx.MockRouter, cli: CliRunner) -> None:
    tools = [{"name": "AMPLITUDE", "settings": {"k": 1}}, {"name": "SEGMENT", "settings": {}}]
    api.get("/sites/12/integration-tools").mock(
        side_effect=[httpx.Response(200, json=tools), httpx.Response(200, json=tools[:1])]
    )
    put = api.put("/sites/12/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "uninstall", "--project", "12", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert body(put) == [{"name": "AMPLITUDE", "settings": {"k": 1}}]
    assert "uninstalled" in result.stdout


@pytest.mark.parametrize("status", [400, 404, 405])
def test_refused_endpoint_says_so_with_manual_route(
    api: respx.MockRouter, cli: CliRunner, status: int
) -> None:
    api.get("/sites/11/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    api.get("/sites/12/integration-tools").mock(
        side_effect=[
            httpx.Response(200, json=[]),
            httpx.Response(200, json=[{"name": "SEGMENT", "settings": {}}]),
        ]
    )
    api.put("/sites/11/integration-tools").mock(
        return_value=httpx.Response(status, json={"message": "No such operation here"})
    )
    ok = api.put("/sites/12/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "install", "--project", "11", "--project", "12", env=ENV)
    assert result.exit_code == 5
    assert ok.call_count == 1  # the other project is still done
    assert "refused PUT /sites/11/integration-tools" in result.stderr
    assert f"HTTP {status}" in result.stderr
    assert "No such operation here" in result.stderr
    assert integration.MANUAL_ROUTE in result.stderr.replace("\n", " ")
    assert "failed" in result.stdout and "installed" in result.stdout


def test_refused_read_in_json_mode(api: respx.MockRouter, cli: CliRunner) -> None:
    api.get("/sites/11/integration-tools").mock(
        return_value=httpx.Response(405, json={"message": "Request method 'GET' is not supported"})
    )
    result = cli("integration", "status", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 5
    doc = result.json()["items"]
    assert doc[0]["installed"] is None
    assert doc[0]["error"]["code"] == "api_refused"
    assert "Admin › Integrations › Segment" in doc[0]["error"]["hint"]
    assert result.stderr == ""


def test_status_table(api: respx.MockRouter, cli: CliRunner) -> None:
    api.get("/sites/11/integration-tools").mock(
        return_value=httpx.Response(200, json=[{"name": "SEGMENT", "settings": {}}])
    )
    api.get("/sites/12/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "status", "--all", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert [(d["project"]["sitecode"], d["installed"]) for d in result.json()["items"]] == [
        ("SHOP000011", True),
        ("BLOG000012", False),
    ]


def test_unknown_project_before_any_write(api: respx.MockRouter, cli: CliRunner) -> None:
    put = api.put(url__regex=r".*/integration-tools")
    post = api.post("/custom-datas")
    r1 = cli("integration", "install", "--project", "11", "--project", "NOPE000000", env=ENV)
    r2 = cli("customdata", "create", "group", "--project", "999", env=ENV)
    assert (r1.exit_code, r2.exit_code) == (4, 4)
    assert "Unknown project: NOPE000000" in r1.stderr
    assert "Unknown project: 999" in r2.stderr
    assert put.call_count == 0 and post.call_count == 0


# -- custom data: payloads -----------------------------------------------------------------


def empty_list(api: respx.MockRouter, items: list[dict[str, Any]] | None = None) -> respx.Route:
    """GET /custom-datas answering ``items``, paged like the API (page, perPage)."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        per_page = int(request.url.params.get("perPage", "200"))
        return httpx.Response(200, json=(items or [])[(page - 1) * per_page : page * per_page])

    return api.get("/custom-datas").mock(side_effect=answer)


@pytest.mark.parametrize(
    ("args", "name", "type_", "fmt", "snippet"),
    [
        (["personas"], "SegmentIO personas", "LIST", "STRING", ("personas", None)),
        (["group"], "Group ID", "UNIQUE", "STRING", ("group", None)),
        (["trait", "plan"], "plan", "UNIQUE", "STRING", ("trait", "plan")),
        (["trait", "age", "--format", "number"], "age", "UNIQUE", "NUMBER", ("trait", "age")),
        (
            ["trait", "vip", "--format", "boolean", "--name", "VIP?"],
            "VIP?",
            "UNIQUE",
            "BOOLEAN",
            ("trait", "vip"),
        ),
    ],
)
def test_create_body_has_only_documented_fields(
    api: respx.MockRouter,
    cli: CliRunner,
    args: list[str],
    name: str,
    type_: str,
    fmt: str,
    snippet: tuple[str, str | None],
) -> None:
    listing = empty_list(api)
    post = api.post("/custom-datas").mock(return_value=httpx.Response(201, json={"id": 77}))
    result = cli(
        "customdata", "create", *args, "--project", "11", "--user-id", "segment", "--json", env=ENV
    )
    assert result.exit_code == 0, result.stderr
    code = render_snippet(snippet[0], user_id="segment", trait=snippet[1]).code
    assert body(post) == {
        "name": name,
        "siteId": 11,
        "type": type_,
        "format": fmt,
        "method": "CUSTOM_CODE",
        "customEvalCode": code,
    }
    # one list for the project, filtered by siteId; one more after the create, to find
    # a copy that a concurrent run may have made
    assert listing.call_count == 2
    assert json.loads(listing.calls.last.request.url.params["filter"]) == [
        {"field": "siteId", "operator": "EQUAL", "parameters": [11]}
    ]
    doc = result.json()["items"]
    assert doc[0]["state"] == "created" and doc[0]["id"] == 77
    no_secret(result.stdout, result.stderr)


def test_personas_tells_the_manual_step(api: respx.MockRouter, cli: CliRunner) -> None:
    empty_list(api)
    api.post("/custom-datas").mock(return_value=httpx.Response(201, json={"id": 5}))
    result = cli("customdata", "create", "personas", "--project", "SHOP000011", env=ENV)
    assert result.exit_code == 0, result.stderr
    err = " ".join(result.stderr.split())
    assert "Save the values for the targeting condition" in err
    assert "ksegcli snippet render persona-values --sitecode SHOP000011" in err
    assert "created" in result.stdout


def test_many_projects_one_paged_list(api: respx.MockRouter, cli: CliRunner) -> None:
    listing = empty_list(api)
    post = api.post("/custom-datas").mock(return_value=httpx.Response(201, json={"id": 1}))
    result = cli("customdata", "create", "group", "--all", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert listing.call_count == 2  # the plan's list, and the check for concurrent copies
    for call in listing.calls:
        assert json.loads(call.request.url.params["filter"]) == [
            {"field": "siteId", "operator": "IN", "parameters": [11, 12]}
        ]
    assert sorted(body(post, n)["siteId"] for n in range(2)) == [11, 12]


def test_same_code_is_unchanged(api: respx.MockRouter, cli: CliRunner) -> None:
    code = render_snippet("group").code
    empty_list(api, [cd(3, "Group ID", code.replace("\n", "\r\n") + "\n", type="UNIQUE")])
    post = api.post("/custom-datas")
    patch = api.patch(url__regex=r".*/custom-datas/.*")
    result = cli("customdata", "create", "group", "--project", "11", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert post.call_count == 0 and patch.call_count == 0
    assert "unchanged" in result.stdout


def test_different_code_is_drifted_then_update_patches(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    empty_list(api, [cd(3, "Group ID", "return 1;", type="UNIQUE", format="NUMBER")])
    post = api.post("/custom-datas")
    patch = api.patch("/custom-datas/3").mock(return_value=httpx.Response(200, json={"id": 3}))
    drift = cli("customdata", "create", "group", "--project", "11", env=ENV)
    assert drift.exit_code == 0, drift.stderr
    assert patch.call_count == 0 and post.call_count == 0
    assert "drifted" in drift.stdout
    assert "--update" in drift.stderr
    fixed = cli("customdata", "create", "group", "--project", "11", "--update", env=ENV)
    assert fixed.exit_code == 0, fixed.stderr
    assert body(patch) == {"format": "STRING", "customEvalCode": render_snippet("group").code}
    assert post.call_count == 0
    assert "updated" in fixed.stdout


def test_dry_run_prints_requests_and_writes_nothing(api: respx.MockRouter, cli: CliRunner) -> None:
    empty_list(api)
    post = api.post("/custom-datas")
    result = cli("customdata", "create", "trait", "plan", "--project", "11", "--dry-run", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert post.call_count == 0
    assert f"POST {BASE}/custom-datas" in result.stdout
    assert "Authorization: Bearer ****" in result.stdout
    assert '"customEvalCode"' in result.stdout
    assert "nothing written" in result.stderr
    no_secret(result.stdout, result.stderr)
    as_json = cli(
        "customdata", "create", "trait", "plan", "--project", "11", "--dry-run", "--json", env=ENV
    )
    doc = as_json.json()
    assert doc["requests"][0]["body"]["name"] == "plan"
    assert doc["items"][0]["action"] == "create" and doc["items"][0]["state"] == "planned"
    assert doc["dry_run"] is True and doc["changes"] is True and doc["summary"] == {"planned": 1}
    assert post.call_count == 0


def test_limit_of_255_is_checked_before_creating(api: respx.MockRouter, cli: CliRunner) -> None:
    empty_list(api, [cd(i, f"cd{i}", None, method="CLIENT") for i in range(1, 256)])
    post = api.post("/custom-datas")
    result = cli("customdata", "create", "personas", "--project", "11", env=ENV)
    assert result.exit_code == 5
    assert post.call_count == 0
    assert "at most 255 per project" in result.stderr
    assert "failed" in result.stdout


# -- custom data: lost answers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "lost",
    [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")],
)
def test_lost_create_is_looked_up_not_resent(
    api: respx.MockRouter, cli: CliRunner, lost: Any
) -> None:
    code = render_snippet("group").code
    listing = api.get("/custom-datas").mock(
        side_effect=[
            httpx.Response(200, json=[]),  # the plan's list
            httpx.Response(200, json=[cd(9, "Group ID", code, type="UNIQUE")]),  # the look-up
            httpx.Response(200, json=[cd(9, "Group ID", code, type="UNIQUE")]),  # copies?
        ]
    )
    post = api.post("/custom-datas").mock(side_effect=[lost])
    result = cli("customdata", "create", "group", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert post.call_count == 1
    lookup = json.loads(listing.calls[1].request.url.params["filter"])
    assert lookup == [
        {"field": "siteId", "operator": "EQUAL", "parameters": [11]},
        {"field": "name", "operator": "EQUAL", "parameters": ["Group ID"]},
    ]
    assert result.json()["items"][0]["id"] == 9


def test_lost_create_absent_is_sent_again(api: respx.MockRouter, cli: CliRunner) -> None:
    api.get("/custom-datas").mock(return_value=httpx.Response(200, json=[]))
    post = api.post("/custom-datas").mock(
        side_effect=[httpx.RemoteProtocolError("dropped"), httpx.Response(201, json={"id": 4})]
    )
    result = cli("customdata", "create", "group", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert post.call_count == 2
    assert body(post, 0) == body(post, 1)


def test_create_refused_is_reported_not_retried(api: respx.MockRouter, cli: CliRunner) -> None:
    empty_list(api)
    post = api.post("/custom-datas").mock(
        return_value=httpx.Response(400, json={"message": "Unrecognized field 'x'"})
    )
    result = cli("customdata", "create", "group", "--all", env=ENV)
    assert result.exit_code == 5
    assert post.call_count == 2  # once per project, never repeated
    assert "Unrecognized field 'x'" in result.stderr
    assert result.stdout.count("failed") == 2


# -- list and delete ---------------------------------------------------------------------------


def test_list_marks_ours_and_current(api: respx.MockRouter, cli: CliRunner) -> None:
    old = render_snippet("trait", trait="plan").code.replace("traits[traitName]", "traits.x")
    empty_list(
        api,
        [
            cd(1, "SegmentIO personas", render_snippet("personas", user_id="segment").code),
            cd(2, "plan", old, type="UNIQUE"),
            cd(3, "Mine", "return {value: 1};", type="UNIQUE"),
        ],
    )
    result = cli("customdata", "list", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert [(d["id"], d["ours"], d["current"]) for d in result.json()["items"]] == [
        (1, "personas", True),
        (2, "trait", False),
        (3, None, None),
    ]
    human = cli("customdata", "list", "--project", "11", env=ENV)
    assert "personas (current)" in human.stdout and "trait (outdated)" in human.stdout


def test_delete_by_name_needs_yes_without_tty(api: respx.MockRouter, cli: CliRunner) -> None:
    empty_list(api, [cd(5, "Group ID", None, type="UNIQUE")])
    delete = api.delete("/custom-datas/5").mock(return_value=httpx.Response(204))
    refused = cli("customdata", "delete", "Group ID", "--project", "11", env=ENV)
    assert refused.exit_code == 2 and delete.call_count == 0
    assert "--yes" in refused.stderr
    done = cli("customdata", "delete", "Group ID", "--project", "11", "--yes", env=ENV)
    assert done.exit_code == 0, done.stderr
    assert delete.call_count == 1
    assert "Deleted custom data 5" in done.stderr
    by_id = cli("customdata", "delete", "5", "--project", "11", "--yes", "--json", env=ENV)
    (deleted,) = by_id.json()["items"]
    assert deleted["id"] == 5 and deleted["state"] == "deleted"
    assert deleted["project"] == {"id": 11, "sitecode": "SHOP000011", "name": "Shop"}
    missing = cli("customdata", "delete", "nope", "--project", "11", "--yes", env=ENV)
    assert missing.exit_code == 4 and "No custom data 'nope'" in missing.stderr


# -- pure planning ----------------------------------------------------------------------------


def existing(spec: customdata.CustomDataSpec, id_: int, **changes: Any) -> CustomData:
    data = {**spec.body(11), "id": id_, **changes}
    return CustomData.from_api(data)


def test_plan_never_creates_a_second_of_the_same_name() -> None:
    spec = build_spec("trait", trait="plan")
    dupes = [existing(spec, 8, customEvalCode="x"), existing(spec, 3, customEvalCode="y")]
    (action,) = plan_custom_data(SHOP, [spec], dupes, update="always")
    assert action.action == "update"
    assert action.existing_id == 3
    assert "ids 3, 8" in action.reason


def test_plan_update_ours_policy_leaves_users_own_alone() -> None:
    spec = build_spec("group")
    theirs = existing(spec, 1, customEvalCode="return {value: window.g};")
    ours_old = existing(spec, 1, customEvalCode=render_snippet("group", user_id="segment").code)
    (a,) = plan_custom_data(SHOP, [spec], [theirs], update="ours")
    (b,) = plan_custom_data(SHOP, [spec], [ours_old], update="ours")
    assert (a.action, b.action) == ("drifted", "update")
    assert "not ksegcli's snippet" in a.reason


def test_plan_prune_deletes_only_ours() -> None:
    keep = build_spec("group")
    stray = existing(build_spec("trait", trait="old"), 2)
    users = CustomData.from_api(cd(3, "Theirs", "return 1;"))
    actions = plan_custom_data(SHOP, [keep], [stray, users], prune=True)
    assert [(a.action, a.name) for a in actions] == [("create", "Group ID"), ("delete", "old")]
    assert actions[1].request is not None and actions[1].request.method == "DELETE"
    assert [a.action for a in plan_custom_data(SHOP, [keep], [stray, users])] == ["create"]


def test_plan_limit_counts_creates_of_the_same_run() -> None:
    specs = [build_spec("trait", trait=f"t{i}") for i in range(3)]
    have = [CustomData.from_api(cd(i, f"x{i}", None)) for i in range(253)]
    actions = plan_custom_data(SHOP, specs, have)
    assert [a.action for a in actions] == ["create", "create", "blocked"]


def test_build_spec_rejects_bad_input() -> None:
    from ksegcli.errors import BadInputError

    with pytest.raises(BadInputError, match="format"):
        build_spec("trait", trait="a", fmt="date")
    with pytest.raises(BadInputError, match="always of format string"):
        build_spec("group", fmt="number")
    with pytest.raises(BadInputError, match="user-id"):
        build_spec("group", user_id="email")


def test_drift_reasons_say_what_differs() -> None:
    spec = build_spec("trait", trait="plan")
    other_mode = existing(
        spec, 1, customEvalCode=render_snippet("trait", user_id="segment", trait="plan").code
    )
    other_kind = existing(spec, 2, customEvalCode=render_snippet("group").code)
    edited = existing(spec, 3, customEvalCode=spec.code + "\n// tweaked", format="NUMBER")
    reasons = [
        plan_custom_data(SHOP, [spec], [item])[0].reason
        for item in (other_mode, other_kind, edited)
    ]
    assert reasons[0].startswith(
        "its code is the trait snippet for user id segment, not visitor-code"
    )
    assert reasons[1].startswith("its code is ksegcli's group snippet, not the trait one")
    assert reasons[2].startswith("format is NUMBER, not STRING; its code is an older or edited")
    full = [CustomData.from_api(cd(i, f"x{i}", None)) for i in range(255)]
    (blocked,) = plan_custom_data(SHOP, [spec], full)
    assert blocked.reason.startswith("Shop (id 11, sitecode SHOP000011) has 255 custom data: ")
