"""The identifier block in the global custom script: pure planning, and every request (respx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from conftest import CliRunner, automation_api

from ksegcli.core.kameleoon import identifier
from ksegcli.core.kameleoon.client import Site
from ksegcli.core.kameleoon.identifier import (
    BEGIN_MARKER,
    END_MARKER,
    inspect,
    plan_identifier,
    render_block,
    with_block,
    without_block,
)
from ksegcli.core.snippets import render_snippet
from ksegcli.errors import ApiError

BASE = "https://api.test"
SECRET = "identifier-unit-secret-31"
ENV = {
    "KSEG_API_URL": BASE,
    "KAMELEOON_CLIENT_ID": "cid",
    "KAMELEOON_CLIENT_SECRET": SECRET,
    "KSEG_RATE_LIMIT": "1000/1",
}
USER = "window.dataLayer = window.dataLayer || [];\nconsole.log('mine');\n"
CODE = render_snippet("identifier").code
BLOCK = f"{BEGIN_MARKER}\n{CODE}{END_MARKER}\n"
OLD = "// ksegcli identifier snippet\n// an older version\nKameleoon.API.Core.noop();\n"


def site_json(id_: int, code: str, script: str | None = "", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id_,
        "name": f"Site {id_}",
        "url": "https://x",
        "code": code,
        "type": "SITE",
        **extra,
    }
    if script is not None:
        data["trackingScript"] = script
    return data


SHOP = Site.from_api(site_json(11, "SHOP000011", USER))


def body(route: respx.Route, n: int = -1) -> Any:
    return json.loads(route.calls[n].request.content)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with automation_api(BASE, "tok-id") as mock:
        yield mock


def sites(api: respx.MockRouter, *items: dict[str, Any]) -> respx.Route:
    return api.get("/sites").mock(return_value=httpx.Response(200, json=list(items)))


def echo_patch(api: respx.MockRouter, site_id: int) -> respx.Route:
    """A PATCH /sites/{id} that answers the site with what was sent, as the API would."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": site_id, **json.loads(request.content)})

    return api.patch(f"/sites/{site_id}").mock(side_effect=answer)


def clean(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and "tok-id" not in text


# -- pure: the block and the script -----------------------------------------------------------


def test_the_block_is_the_snippet_between_two_marker_lines() -> None:
    assert render_block() == BLOCK
    assert BLOCK.splitlines()[0] == BEGIN_MARKER and BLOCK.splitlines()[-1] == END_MARKER
    assert CODE.startswith("// ksegcli identifier snippet\n")


@pytest.mark.parametrize(
    "script",
    ["", "x();", "x();\n", "a();\r\nb();\r\n", "\n", "  spaced();  \n\n\n", "// ünïcode ✓\u2028\n"],
)
def test_install_then_uninstall_gives_the_users_script_back_byte_for_byte(script: str) -> None:
    installed = with_block(script)
    assert installed.startswith(script)  # appended: nothing of the user's code moved
    assert inspect(installed).state == "current"
    assert with_block(installed) == installed  # a second install changes nothing
    assert without_block(installed) == script


def test_appending_puts_the_marker_on_its_own_line() -> None:
    assert with_block("x();") == "x();\n" + BLOCK
    assert with_block("x();\n") == "x();\n\n" + BLOCK
    assert with_block("") == BLOCK


def test_update_replaces_the_block_in_place_and_keeps_code_around_it() -> None:
    script = "before();\n\n" + with_block("", OLD) + "after();\n"
    assert inspect(script).state == "outdated"
    updated = with_block(script)
    assert updated == "before();\n\n" + BLOCK + "after();\n"
    assert without_block(updated) == "before();\n" + "after();\n"


def test_crlf_script_keeps_its_line_endings_outside_the_block() -> None:
    user = "a();\r\nb();\r\n"
    stored = user + "\r\n" + BLOCK.replace("\n", "\r\n")  # a server that stores CRLF
    assert inspect(stored).state == "current"
    assert without_block(stored) == user
    older = user + "\r\n" + render_block(OLD).replace("\n", "\r\n") + "c();\r\n"
    updated = with_block(older)
    assert updated.startswith(user + "\r\n" + BEGIN_MARKER + "\r\n")
    assert updated.endswith(END_MARKER + "\r\nc();\r\n")
    assert inspect(updated).state == "current"


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (f"x();\n{BEGIN_MARKER}\n{CODE}", "a begin marker (line 2) without its end marker"),
        (f"x();\n{CODE}{END_MARKER}\n", "without its begin marker"),
        (BLOCK + BLOCK, "2 begin markers (lines 1, 42)"),
        (f"{END_MARKER}\n{BEGIN_MARKER}\n", "the end marker (line 1) before the begin marker"),
        (BLOCK + END_MARKER + "\n", "2 end markers"),
    ],
)
def test_markers_that_do_not_pair_up_block_every_write(script: str, why: str) -> None:
    found = inspect(script)
    assert found.state == "broken" and why in found.detail
    for install in (True, False):
        action = plan_identifier(SHOP, script, install=install)
        assert action.action == "blocked" and action.request is None
        assert why in action.reason and "does not guess" in action.reason
        assert action.error is not None and "Global custom script" in (action.error.hint or "")


# The help article's code (Step 4), as users paste it today.
ARTICLE = """Kameleoon.API.Core.runWhenConditionTrue(
     () => window.analytics && window.analytics.track && window.analytics.user,
     () => {
         window.analytics.track('Kameleoon identifier', {'k_visitorCode': Kameleoon.API.Visitor.code})
     }
 );
"""


@pytest.mark.parametrize(("copy", "line"), [(CODE, 3), (ARTICLE, 6)])
def test_a_copy_pasted_by_hand_blocks_install_and_is_left_alone_by_uninstall(
    copy: str, line: int
) -> None:
    script = USER + copy
    assert inspect(script).state == "manual"
    action = plan_identifier(SHOP, script)
    assert action.action == "blocked" and action.request is None
    assert f"already sends the identifier at line {line}" in action.reason
    assert "pasted by hand" in action.reason and "remove that copy" in action.reason
    assert action.error is not None and action.error.code == "conflict"
    removal = plan_identifier(SHOP, script, install=False)
    assert removal.action == "unchanged" and "left alone" in removal.reason
    # Next to a ksegcli block, a hand copy still blocks install; uninstall takes only the block.
    both = with_block(USER) + copy
    assert plan_identifier(SHOP, both).action == "blocked"
    removal = plan_identifier(SHOP, both, install=False)
    assert removal.request is not None and removal.request.body == {"trackingScript": USER + copy}


def test_planning_each_state() -> None:
    absent = plan_identifier(SHOP, USER)
    assert absent.action == "install" and absent.resource == "identifier"
    assert "(2 line(s), kept as is)" in absent.reason
    assert absent.request is not None
    assert absent.request.to_json() == {
        "method": "PATCH",
        "path": "/sites/11",
        "body": {"trackingScript": USER + "\n" + BLOCK},
    }
    current = plan_identifier(SHOP, USER + "\n" + BLOCK)
    assert current.action == "unchanged" and current.request is None
    assert "current" in current.reason
    edited = USER + "\n" + BLOCK.replace("Kameleoon identifier", "edited")
    update = plan_identifier(SHOP, edited)
    assert update.action == "update" and "older or edited" in update.reason
    assert update.request is not None
    assert update.request.body == {"trackingScript": USER + "\n" + BLOCK}
    removal = plan_identifier(SHOP, USER + "\n" + BLOCK, install=False)
    assert removal.action == "uninstall"
    assert removal.request is not None and removal.request.body == {"trackingScript": USER}
    assert plan_identifier(SHOP, USER, install=False).action == "unchanged"
    error = ApiError("nope", code="api_refused")
    assert plan_identifier(SHOP, error).action == "blocked"


def test_trailing_blanks_and_line_endings_inside_the_block_do_not_count() -> None:
    script = USER + "\n" + "\n".join(line + "  " for line in BLOCK.split("\n"))
    assert inspect(script).state == "current"


# -- the command against respx ---------------------------------------------------------------


def test_install_appends_to_the_existing_script_with_one_patch(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    sites(api, site_json(11, "SHOP000011", USER), site_json(12, "BLOG000012", None))
    one = api.get("/sites/11")
    blog_get = api.get("/sites/12").mock(
        return_value=httpx.Response(
            200, json=site_json(12, "BLOG000012", None, trackingScript=None)
        )
    )
    shop = echo_patch(api, 11)
    blog = echo_patch(api, 12)
    result = cli(
        "integration", "identifier", "install", "--project", "11", "--project", "12", "--json",
        env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert body(shop) == {"trackingScript": USER + "\n" + BLOCK}
    assert shop.calls.last.request.headers["Authorization"] == "Bearer tok-id"
    assert shop.calls.last.request.headers["Content-Type"] == "application/json"
    assert body(blog) == {"trackingScript": BLOCK}  # null script: the block alone
    # The listing carried Shop's script: no GET /sites/11. Blog's did not: one GET.
    assert one.call_count == 0 and blog_get.call_count == 1
    docs = result.json()["items"]
    assert [(d["project"]["id"], d["resource"], d["state"]) for d in docs] == [
        (11, "identifier", "installed"),
        (12, "identifier", "installed"),
    ]
    assert docs[0]["message"].startswith(
        "appended; 2 line(s) of the project's own code kept (verified); backup "
    )
    clean(result.stdout, result.stderr)


def test_current_block_writes_nothing(api: respx.MockRouter, cli: CliRunner) -> None:
    sites(api, site_json(11, "SHOP000011", USER + "\n" + BLOCK))
    patch = api.patch("/sites/11")
    result = cli("integration", "identifier", "install", "--project", "SHOP000011", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert patch.call_count == 0
    assert "unchanged" in result.stdout and "current" in result.stdout
    assert "1 unchanged." in result.stderr


def test_older_block_is_updated_in_place(api: respx.MockRouter, cli: CliRunner) -> None:
    script = USER + "\n" + render_block(OLD) + "after();\n"
    sites(api, site_json(11, "SHOP000011", script))
    patch = echo_patch(api, 11)
    result = cli("integration", "identifier", "install", "--project", "11", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert body(patch) == {"trackingScript": USER + "\n" + BLOCK + "after();\n"}
    assert "updated" in result.stdout and "block replaced" in result.stdout


def test_uninstall_sends_the_users_code_back_byte_for_byte(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    user = "a();\r\n\tb(); // tab, CRLF, no final newline"
    sites(api, site_json(11, "SHOP000011", with_block(user)))
    patch = echo_patch(api, 11)
    result = cli("integration", "identifier", "uninstall", "--project", "11", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert body(patch) == {"trackingScript": user}
    assert "uninstalled" in result.stdout and "block removed" in result.stdout


def test_broken_markers_are_blocked_and_nothing_is_sent(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    sites(api, site_json(11, "SHOP000011", USER + BEGIN_MARKER + "\nx();\n"))
    patch = api.patch("/sites/11")
    result = cli("integration", "identifier", "install", "--project", "11", env=ENV)
    assert result.exit_code == 5
    assert patch.call_count == 0
    assert "failed" in result.stdout
    err = " ".join(result.stderr.split())
    assert "a begin marker (line 3) without its end marker" in err
    assert "Project › Settings › Global custom script" in err


@pytest.mark.parametrize("status", [400, 404, 405])
def test_refused_patch_shows_the_servers_message_and_the_manual_route(
    api: respx.MockRouter, cli: CliRunner, status: int
) -> None:
    sites(api, site_json(11, "SHOP000011", USER), site_json(12, "BLOG000012", ""))
    refusal = httpx.Response(status, json={"message": "Field trackingScript is read-only"})
    api.patch("/sites/11").mock(return_value=refusal)
    # 400/405 to PATCH: the whole-site route is tried, and refused the same way here.
    api.get("/sites/11").mock(return_value=httpx.Response(200, json=site_json(11, "S", USER)))
    api.put("/sites/11").mock(return_value=refusal)
    ok = echo_patch(api, 12)
    result = cli(
        "integration", "identifier", "install", "--project", "11", "--project", "12", env=ENV
    )
    assert result.exit_code == 5
    assert ok.call_count == 1  # the other project is still done
    err = " ".join(result.stderr.split())
    tried = "PATCH" if status == 404 else "PATCH and PUT"
    assert f"refused {tried} /sites/11 (HTTP {status})" in err
    assert "Field trackingScript is read-only" in err
    assert (
        "Hint: Add it by hand in Kameleoon: Project › Settings › Global custom script: paste the "
        "code of `ksegcli snippet render identifier`." in err
    )
    clean(result.stdout, result.stderr)


def test_refused_removal_says_which_lines_to_delete(api: respx.MockRouter, cli: CliRunner) -> None:
    sites(api, site_json(11, "SHOP000011", with_block(USER)))
    api.patch("/sites/11").mock(return_value=httpx.Response(405, text="Method Not Allowed"))
    api.get("/sites/11").mock(
        return_value=httpx.Response(200, json=site_json(11, "S", with_block(USER)))
    )
    api.put("/sites/11").mock(return_value=httpx.Response(405, text="Method Not Allowed"))
    result = cli("integration", "identifier", "uninstall", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 5
    (doc,) = result.json()["items"]
    assert doc["state"] == "failed" and doc["error"]["code"] == "api_refused"
    assert doc["error"]["hint"].startswith("Remove it by hand in Kameleoon")
    assert BEGIN_MARKER in doc["error"]["hint"] and END_MARKER in doc["error"]["hint"]


def test_a_2xx_that_did_not_store_the_script_is_a_failure(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    sites(api, site_json(11, "SHOP000011", USER))
    api.patch("/sites/11").mock(return_value=httpx.Response(200, json=site_json(11, "S", USER)))
    result = cli("integration", "identifier", "install", "--project", "11", env=ENV)
    assert result.exit_code == 5
    err = " ".join(result.stderr.split())
    assert "not applied: the Automation API accepted PATCH /sites/11, but reading it back" in err
    assert "a 'trackingScript' that is not the script sent" in err
    assert "Hint: Add it by hand in Kameleoon" in err


def test_site_without_the_field_is_blocked_with_the_reason(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    sites(api, site_json(11, "SHOP000011", None))
    api.get("/sites/11").mock(return_value=httpx.Response(200, json=site_json(11, "S", None)))
    patch = api.patch("/sites/11")
    result = cli("integration", "identifier", "install", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 5
    assert patch.call_count == 0
    (doc,) = result.json()["items"]
    assert "GET /sites/11 answered without a string 'trackingScript'" in doc["message"]


def test_dry_run_prints_the_exact_patch_and_sends_nothing(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    sites(api, site_json(11, "SHOP000011", USER))
    patch = api.patch("/sites/11")
    result = cli(
        "integration", "identifier", "install", "--project", "11", "--dry-run", "--json", env=ENV
    )
    assert result.exit_code == 0, result.stderr
    assert patch.call_count == 0
    doc = result.json()
    assert doc["requests"] == [
        {
            "method": "PATCH",
            "url": f"{BASE}/sites/11",
            "headers": {"Authorization": "Bearer ****", "Content-Type": "application/json"},
            "body": {"trackingScript": USER + "\n" + BLOCK},
        }
    ]
    assert doc["items"][0]["action"] == "install"
    assert doc["items"][0]["state"] == "planned" and doc["dry_run"] is True
    assert "Dry run: 1 install; 1 write request(s) shown, nothing written." in result.stderr


def test_status_per_project(api: respx.MockRouter, cli: CliRunner) -> None:
    sites(
        api,
        site_json(11, "SHOP000011", with_block(USER)),
        site_json(12, "BLOG000012", USER + CODE),
        site_json(13, "NEWS000013", with_block("", OLD)),
        site_json(14, "DOCS000014", ""),
    )
    result = cli("integration", "identifier", "status", "--all", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert [(d["project"]["id"], d["state"], d["installed"]) for d in result.json()["items"]] == [
        (11, "current", True),
        (12, "manual", False),
        (13, "outdated", True),
        (14, "absent", False),
    ]
    human = cli("integration", "identifier", "status", "--all", env=ENV)
    assert "IDENTIFIER" in human.stdout and "outdated" in human.stdout


def test_read_refusal_on_status_is_reported(api: respx.MockRouter, cli: CliRunner) -> None:
    sites(api, site_json(11, "SHOP000011", None))
    api.get("/sites/11").mock(return_value=httpx.Response(404, json={"message": "No such site"}))
    result = cli("integration", "identifier", "status", "--project", "11", env=ENV)
    assert result.exit_code == 5
    assert "unknown" in result.stdout
    assert "refused GET /sites/11 (HTTP 404): No such site" in " ".join(result.stderr.split())


def test_read_all_scripts_only_asks_for_the_missing_ones() -> None:
    asked: list[str] = []

    class Client:
        def get(self, path: str) -> Any:
            asked.append(path)
            return {"id": int(path.rsplit("/", 1)[1]), "trackingScript": "b();"}

    blog = Site.from_api(site_json(12, "BLOG000012", None))
    news = Site.from_api(site_json(13, "NEWS000013", None))
    read = identifier.read_all_scripts(Client(), [SHOP, blog, news])  # type: ignore[arg-type]
    assert read == {11: USER, 12: "b();", 13: "b();"}
    assert sorted(asked) == ["/sites/12", "/sites/13"]
