"""The rendered JavaScript, run in Node against a fake page (tests/js/harness.js).

Each test sends one batch to one node process. Skipped cleanly when node is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ksegcli.core.snippets import (
    DATA_HOSTS,
    USER_ID_MODES,
    persona_values_url,
    render_snippet,
)

NODE = shutil.which("node")
HARNESS = Path(__file__).parent / "js" / "harness.js"
SITECODE = "a1b2c3d4e5"
VC = "visitorcode01"
UNDEFINED: dict[str, Any] = {"undefined": True}

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="needs node on PATH"),
]


def harness(batch: dict[str, Any]) -> Any:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(HARNESS)],
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def acquisition(kind: str, mode: str = "visitor-code", trait: str | None = None) -> dict[str, str]:
    return {"code": render_snippet(kind, user_id=mode, trait=trait).code, "wrap": "function"}


def value(result: dict[str, Any]) -> Any:
    assert "value" in result, f"expected a value, got {result}"
    return result["value"]


def custom_data(result: dict[str, Any]) -> Any:
    returned = value(result)
    assert returned["overwrite"] is True and set(returned) == {"value", "overwrite"}
    return returned["value"]


def scenario(snippets: dict[str, dict[str, str]], steps: list[dict[str, Any]], **page: Any) -> Any:
    return {"page": page, "snippets": snippets, "steps": steps}


def run_scenarios(*scenarios: Any) -> list[list[dict[str, Any]]]:
    results: list[list[dict[str, Any]]] = harness({"mode": "scenarios", "scenarios": scenarios})
    return results


# -- syntax ----------------------------------------------------------------------------------


def all_javascript() -> list[dict[str, str]]:
    items = []
    for mode in USER_ID_MODES:
        items.append(
            {
                "name": f"identifier/{mode}",
                "code": render_snippet("identifier", user_id=mode).code,
                "wrap": "script",
            }
        )
        for kind, trait in (("personas", None), ("trait", "plan"), ("group", None)):
            items.append({"name": f"{kind}/{mode}", **acquisition(kind, mode, trait)})
    for host in DATA_HOSTS:
        code = render_snippet("persona-values", sitecode=SITECODE, data_host=host).code
        items.append({"name": f"persona-values/{host}", "code": code, "wrap": "function"})
    for kind, trait in (("personas", None), ("trait", "plan"), ("group", None)):
        code = render_snippet(kind, trait=trait, sdk="js").code
        items.append({"name": f"sdk-js/{kind}", "code": code, "wrap": "async"})
    return items


def test_every_snippet_compiles_in_node() -> None:
    results = harness({"mode": "check", "items": all_javascript()})
    assert [r for r in results if not r["ok"]] == []
    assert len(results) == 2 * 4 + len(DATA_HOSTS) + 3


def test_node_check_accepts_all_snippets(tmp_path: Path) -> None:
    # The literal `node --check`, once, over every snippet wrapped as Kameleoon embeds it.
    wrap = {
        "function": "(function () {{\n{}\n}});\n",
        "async": "(async function () {{\n{}\n}});\n",
        "script": "{}\n",
    }
    source = "".join(wrap[item["wrap"]].format(item["code"]) for item in all_javascript())
    path = tmp_path / "all_snippets.js"
    path.write_text(source, encoding="utf-8")
    assert NODE is not None
    proc = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# -- acquisition code ------------------------------------------------------------------------

IDENTIFY = {"traits": {"plan": "pro", "first-name": "Ada", "age": 42}, "groupId": "acme"}
COHORTS = {"Buyers": True, "Churned": False, "Fans": True}


@pytest.mark.parametrize("mode", USER_ID_MODES)
def test_each_snippet_waits_for_its_data_then_returns_it(mode: str) -> None:
    uid = VC if mode == "visitor-code" else "segment-user-1"
    page = {
        "visitorCode": VC,
        "analytics": {"userId": "segment-user-1", "anonymousId": "anon-1"},
        "remote": {f"COHORTS_{uid}": COHORTS, f"IDENTIFY_{uid}": IDENTIFY},
    }
    cases = [
        ("personas", None, ["Buyers", "Fans"]),
        ("trait", "plan", "pro"),
        ("group", None, "acme"),
    ]
    scenarios = [
        scenario(
            {"s": acquisition(kind, mode, trait)},
            [{"run": "s"}, {"run": "s"}, {"tick": 1}, {"run": "s"}, {"run": "s"}, {"state": 1}],
            **page,
        )
        for kind, trait, _ in cases
    ]
    for (kind, _, expected), results in zip(cases, run_scenarios(*scenarios), strict=True):
        before, again, _, after, later, state = results
        assert before == UNDEFINED and again == UNDEFINED, kind
        assert custom_data(after) == expected and custom_data(later) == expected
        key = ("COHORTS_" if kind == "personas" else "IDENTIFY_") + uid
        assert state["fetches"] == {key: 1}, kind


@pytest.mark.parametrize("mode", USER_ID_MODES)
def test_all_custom_data_on_one_page_share_one_fetch_per_key(mode: str) -> None:
    uid = VC if mode == "visitor-code" else "anon-1"
    snippets = {
        "personas": acquisition("personas", mode),
        "plan": acquisition("trait", mode, "plan"),
        "first": acquisition("trait", mode, "first-name"),
        "group": acquisition("group", mode),
    }
    run_all = [{"run": name} for name in snippets]
    [results] = run_scenarios(
        scenario(
            snippets,
            [*run_all, *run_all, {"state": 1}, {"tick": 1}, *run_all, {"state": 1}],
            visitorCode=VC,
            analytics={"anonymousId": "anon-1"},  # not identified: anonymous id is the user id
            remote={f"COHORTS_{uid}": COHORTS, f"IDENTIFY_{uid}": IDENTIFY},
        )
    )
    assert results[:8] == [UNDEFINED] * 8
    assert results[8]["fetches"] == {f"COHORTS_{uid}": 1, f"IDENTIFY_{uid}": 1}
    personas, plan, first, group = (custom_data(r) for r in results[10:14])
    assert (personas, plan, first, group) == (["Buyers", "Fans"], "pro", "Ada", "acme")
    assert results[14]["fetches"] == {f"COHORTS_{uid}": 1, f"IDENTIFY_{uid}": 1}
    assert results[14]["pendingTasks"] == 0


def test_a_new_visitor_code_fetches_anew() -> None:
    [results] = run_scenarios(
        scenario(
            {"plan": acquisition("trait", "visitor-code", "plan")},
            [
                {"run": "plan"},
                {"tick": 1},
                {"run": "plan"},
                {"set": {"visitorCode": "visitorcode02"}},
                {"run": "plan"},
                {"tick": 1},
                {"run": "plan"},
                {"state": 1},
            ],
            visitorCode=VC,
            remote={
                f"IDENTIFY_{VC}": {"traits": {"plan": "free"}},
                "IDENTIFY_visitorcode02": {"traits": {"plan": "pro"}},
            },
        )
    )
    assert custom_data(results[2]) == "free"
    assert results[4] == UNDEFINED
    assert custom_data(results[6]) == "pro"
    assert results[7]["fetches"] == {f"IDENTIFY_{VC}": 1, "IDENTIFY_visitorcode02": 1}


def test_segment_mode_waits_for_analytics_and_follows_identify() -> None:
    [results] = run_scenarios(
        scenario(
            {"group": acquisition("group", "segment")},
            [
                {"run": "group"},  # analytics.js not on the page
                {"set": {"analytics": "stub"}},
                {"run": "group"},  # only Segment's stub: no user() yet
                {"state": 1},
                {"set": {"analytics": {"anonymousId": "anon-1"}}},
                {"run": "group"},
                {"tick": 1},
                {"run": "group"},
                {"set": {"userId": "user-9"}},  # analytics.identify() happened
                {"run": "group"},
                {"tick": 1},
                {"run": "group"},
                {"state": 1},
            ],
            remote={"IDENTIFY_anon-1": {"groupId": "g-anon"}, "IDENTIFY_user-9": {"groupId": 77}},
        )
    )
    assert results[0] == UNDEFINED and results[2] == UNDEFINED
    assert results[3]["fetches"] == {}
    assert results[5] == UNDEFINED
    assert custom_data(results[7]) == "g-anon"
    assert results[9] == UNDEFINED
    assert custom_data(results[11]) == "77"  # custom data of type string
    assert results[12]["fetches"] == {"IDENTIFY_anon-1": 1, "IDENTIFY_user-9": 1}


def test_remote_answers_of_every_shape() -> None:
    def one(kind: str, trait: str | None, answer: Any) -> Any:
        return scenario(
            {"s": acquisition(kind, "visitor-code", trait)},
            [{"run": "s"}, {"tick": 1}, {"run": "s"}],
            remote={} if answer is None else {f"COHORTS_{VC}": answer, f"IDENTIFY_{VC}": answer},
        )

    cases: list[tuple[tuple[str, str | None, Any], dict[str, Any]]] = [
        (("personas", None, None), {"value": {"value": [], "overwrite": True}}),  # nothing stored
        (("personas", None, "{}"), {"value": {"value": [], "overwrite": True}}),  # JSON text
        (("personas", None, '{"A": true}'), {"value": {"value": ["A"], "overwrite": True}}),
        (("personas", None, "not json"), {"value": {"value": [], "overwrite": True}}),
        (("personas", None, {"A": "true", "B": 1}), {"value": {"value": ["A"], "overwrite": True}}),
        (("trait", "plan", None), UNDEFINED),
        (("trait", "plan", {"traits": {}}), UNDEFINED),
        (("trait", "plan", {"traits": {"plan": None}}), UNDEFINED),
        (
            ("trait", "plan", {"traits": {"plan": False}}),
            {"value": {"value": "false", "overwrite": True}},
        ),
        (("trait", "plan", {"traits": {"plan": 0}}), {"value": {"value": "0", "overwrite": True}}),
        (
            ("trait", "plan", {"traits": {"plan": ["a"]}}),
            {"value": {"value": '["a"]', "overwrite": True}},
        ),
        (("trait", "plan", {"traits": "oops"}), UNDEFINED),
        (("group", None, {"traits": {}}), UNDEFINED),
        (("group", None, {"groupId": ""}), UNDEFINED),
    ]
    results = run_scenarios(*(one(*args) for args, _ in cases))
    for (args, expected), result in zip(cases, results, strict=True):
        assert result[0] == UNDEFINED, args
        assert result[2] == expected, args


HOSTILE = [
    'x"]);alert(1)//',
    "</script><script>alert(1)</script>",
    "first-name",
    "prénom 名前 😀",
    "line\u2028sep\u2029para",
    "back\\slash 'single' \"double\" `tick` ${alert(1)}",
    "a\nb\r\tc\x00d",
    "constructor",
    "__proto__",
    "toString",
]


def test_hostile_trait_names_are_just_data() -> None:
    scenarios = []
    for index, name in enumerate(HOSTILE):
        traits = {name: f"value-{index}", "x": "decoy", "plan": "decoy"}
        scenarios.append(
            scenario(
                {"t": acquisition("trait", "visitor-code", name)},
                [{"run": "t"}, {"tick": 1}, {"run": "t"}, {"state": 1}],
                remote={f"IDENTIFY_{VC}": {"traits": traits}},
            )
        )
    for name, (index, results) in zip(HOSTILE, enumerate(run_scenarios(*scenarios)), strict=True):
        assert custom_data(results[2]) == f"value-{index}", name
        assert results[3]["alerts"] == [], name


def test_inherited_names_are_not_traits() -> None:
    # "constructor" or "toString" must not come back as Object.prototype's functions
    scenarios = [
        scenario(
            {"t": acquisition("trait", "visitor-code", name)},
            [{"run": "t"}, {"tick": 1}, {"run": "t"}],
            remote={f"IDENTIFY_{VC}": {"traits": {"plan": "pro"}}},
        )
        for name in ("constructor", "toString", "__proto__", "hasOwnProperty")
    ]
    for results in run_scenarios(*scenarios):
        assert results[2] == UNDEFINED


# -- identifier ------------------------------------------------------------------------------


def identifier() -> dict[str, str]:
    return {"code": render_snippet("identifier").code, "wrap": "script"}


def test_identifier_tracks_once_per_anonymous_id() -> None:
    [results] = run_scenarios(
        scenario(
            {"id": identifier()},
            [
                {"script": "id"},  # analytics.js not loaded yet: keeps polling
                {"tick": 3},
                {"state": 1},
                {"set": {"analytics": {"anonymousId": "anon-1"}}},
                {"tick": 1},
                {"state": 1},
                {"script": "id"},  # next page view, same browser
                {"script": "id"},
                {"state": 1},
                {"set": {"anonymousId": "anon-2"}},  # e.g. analytics.reset()
                {"script": "id"},
                {"script": "id"},
                {"state": 1},
                {"set": {"visitorCode": "visitorcode02"}},  # Kameleoon cookie renewed
                {"script": "id"},
                {"state": 1},
            ],
            visitorCode=VC,
        )
    )
    assert results[2]["tracks"] == [] and results[2]["pendingTasks"] == 1
    track = {"event": "Kameleoon identifier", "properties": {"k_visitorCode": VC}}
    assert results[5]["tracks"] == [track]
    assert results[5]["pendingTasks"] == 0
    assert results[8]["tracks"] == [track]
    assert results[12]["tracks"] == [track, track]
    assert results[12]["localStorage"] == {"ksegcli_identifier": f"anon-2\n{VC}"}
    renewed = {"event": "Kameleoon identifier", "properties": {"k_visitorCode": "visitorcode02"}}
    assert results[15]["tracks"] == [track, track, renewed]


def test_identifier_waits_for_the_real_library_not_the_stub() -> None:
    [results] = run_scenarios(
        scenario(
            {"id": identifier()},
            [{"script": "id"}, {"tick": 2}, {"state": 1}],
            analytics="stub",
        )
    )
    assert results[2]["tracks"] == [] and results[2]["pendingTasks"] == 1


def test_identifier_without_storage_tracks_once_per_page() -> None:
    [results] = run_scenarios(
        scenario(
            {"id": identifier()},
            [{"script": "id"}, {"script": "id"}, {"state": 1}],
            analytics={"anonymousId": "anon-1"},
            localStorage="blocked",
        )
    )
    assert len(results[2]["tracks"]) == 1


# -- persona-values --------------------------------------------------------------------------


@pytest.mark.parametrize("status_ok", [True, False])
def test_persona_values_reads_the_list_for_every_host(status_ok: bool) -> None:
    body = json.dumps({"cohorts": ["Buyers", "Fans", "Buyers", 7, "</script>"]})
    scenarios = []
    for host in DATA_HOSTS:
        url = persona_values_url(SITECODE, host)
        code = render_snippet("persona-values", sitecode=SITECODE, data_host=host).code
        scenarios.append(
            scenario(
                {"pv": {"code": code, "wrap": "function"}},
                [{"run": "pv"}, {"state": 1}],
                xhr={url: {"status": 200 if status_ok else 500, "body": body}},
            )
        )
    expected = [
        {"value": "Buyers", "label": "Buyers"},
        {"value": "Fans", "label": "Fans"},
        {"value": "</script>", "label": "</script>"},
    ]
    for host, results in zip(DATA_HOSTS, run_scenarios(*scenarios), strict=True):
        assert value(results[0]) == (expected if status_ok else []), host
        request = {"method": "GET", "url": persona_values_url(SITECODE, host), "async": False}
        assert results[1]["xhr"] == [request], host


def test_persona_values_survives_a_bad_answer() -> None:
    code = render_snippet("persona-values", sitecode=SITECODE).code
    url = persona_values_url(SITECODE)
    bodies = ["not json", "null", '{"cohorts": "Buyers"}', "{}", "[]"]
    scenarios = [
        scenario(
            {"pv": {"code": code, "wrap": "function"}},
            [{"run": "pv"}],
            xhr={url: {"status": 200, "body": body}},
        )
        for body in bodies
    ]
    assert [value(r[0]) for r in run_scenarios(*scenarios)] == [[]] * len(bodies)


# -- Node SDK snippets -----------------------------------------------------------------------


def test_js_sdk_snippets_read_the_same_values() -> None:
    remote = {
        "COHORTS_u1": {"Buyers": True, "Churned": False},
        "IDENTIFY_u1": {"traits": {"first-name": "Ada"}, "groupId": "g7"},
    }

    def item(kind: str, result: str, user_id: str, trait: str | None = None) -> dict[str, Any]:
        code = render_snippet(kind, trait=trait, sdk="js", user_var="userId").code
        return {
            "name": f"{kind}/{user_id}",
            "code": code,
            "userVar": "userId",
            "userId": user_id,
            "remote": remote,
            "result": result,
        }

    items = [
        item("personas", "personas", "u1"),
        item("trait", "trait", "u1", "first-name"),
        item("trait", "trait", "u1", "constructor"),
        item("group", "groupId", "u1"),
        item("personas", "personas", "nobody"),
        item("trait", "trait", "nobody", "first-name"),
    ]
    results = harness({"mode": "sdk", "items": items})
    assert [r.get("error") for r in results] == [None] * len(items)
    assert value(results[0]) == ["Buyers"] and results[0]["calls"] == ["COHORTS_u1"]
    assert value(results[1]) == "Ada" and results[1]["calls"] == ["IDENTIFY_u1"]
    assert results[2] == {"name": "trait/u1", "calls": ["IDENTIFY_u1"], "undefined": True}
    assert value(results[3]) == "g7"
    assert value(results[4]) == []
    assert results[5]["undefined"] is True


def test_identifier_block_in_a_global_custom_script_compiles_and_tracks() -> None:
    # What `integration identifier install` writes: the user's code, then ksegcli's block.
    from ksegcli.core.kameleoon.identifier import with_block

    full = with_block("var shopOwnCode = 1") + "// the user's code may follow\n"
    [checked] = harness(
        {"mode": "check", "items": [{"name": "global", "code": full, "wrap": "script"}]}
    )
    assert checked["ok"], checked
    [results] = run_scenarios(
        scenario(
            {"global": {"code": full, "wrap": "script"}},
            [{"script": "global"}, {"state": 1}],
            visitorCode=VC,
            analytics={"anonymousId": "anon-1"},
        )
    )
    assert results[1]["tracks"] == [
        {"event": "Kameleoon identifier", "properties": {"k_visitorCode": VC}}
    ]
