"""Read-back after inferred writes, backups and the whole-site route, against respx: the
exact requests, and what the user is told when the API does not do what it answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CliRunner, automation_api

BASE = "https://api.test"
SECRET = "verify-unit-secret-93"
ENV = {
    "KSEG_API_URL": BASE,
    "KAMELEOON_CLIENT_ID": "cid",
    "KAMELEOON_CLIENT_SECRET": SECRET,
    "KSEG_RATE_LIMIT": "1000/1",
}
USER = "window.mine = 1;\n"
SITE = {"id": 11, "name": "Shop", "url": "https://shop", "code": "SHOP000011", "type": "SITE"}
GA4 = {"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-1"}}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with automation_api(BASE, "tok-v") as mock:
        yield mock


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_write_that_changed_another_tools_settings_fails_naming_it_and_the_backup(
    api: respx.MockRouter, cli: CliRunner, tmp_path: Path
) -> None:
    api.get("/sites").mock(return_value=httpx.Response(200, json=[SITE]))
    changed = {"name": "GOOGLE_ANALYTICS_4", "settings": {}}
    api.get("/sites/11/integration-tools").mock(
        side_effect=[
            httpx.Response(200, json=[GA4]),
            httpx.Response(200, json=[changed, {"name": "SEGMENT", "settings": {}}]),
        ]
    )
    api.put("/sites/11/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "install", "--project", "11", "--json", env=ENV)
    assert result.exit_code == 5
    (doc,) = result.json()["items"]
    assert doc["state"] == "failed" and doc["error"]["code"] == "conflict"
    assert "GOOGLE_ANALYTICS_4 (settings differ)" in doc["message"]
    folder = tmp_path / "cache" / "backups"
    (saved,) = folder.glob("*.json")
    assert str(saved) in doc["message"]
    assert json.loads(saved.read_text())["data"] == [GA4]


def test_a_project_without_other_tools_needs_no_backup(
    api: respx.MockRouter, cli: CliRunner, tmp_path: Path
) -> None:
    api.get("/sites").mock(return_value=httpx.Response(200, json=[SITE]))
    api.get("/sites/11/integration-tools").mock(
        side_effect=[
            httpx.Response(200, json=[]),
            httpx.Response(200, json=[{"name": "SEGMENT", "settings": {}}]),
        ]
    )
    api.put("/sites/11/integration-tools").mock(return_value=httpx.Response(200, json=[]))
    result = cli("integration", "install", "--project", "11", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "cache" / "backups").exists()


def test_a_whole_site_put_that_changed_another_field_fails_naming_it(
    api: respx.MockRouter, cli: CliRunner, tmp_path: Path
) -> None:
    site = {**SITE, "trackingScript": USER, "dateModified": "a"}
    api.get("/sites").mock(return_value=httpx.Response(200, json=[site]))
    api.patch("/sites/11").mock(return_value=httpx.Response(405, json={"message": "no PATCH"}))
    api.get("/sites/11").mock(return_value=httpx.Response(200, json=site))
    put = api.put("/sites/11")

    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        return httpx.Response(200, json={**sent, "url": "https://other", "dateModified": "b"})

    put.mock(side_effect=answer)
    result = cli("integration", "identifier", "install", "--project", "11", env=ENV)
    assert result.exit_code == 5
    assert put.call_count == 1
    sent = json.loads(put.calls.last.request.content)
    assert {k: v for k, v in sent.items() if k != "trackingScript"} == {
        k: v for k, v in site.items() if k != "trackingScript"
    }
    err = flat(result.stderr)
    assert "changed field(s) it should have kept: url." in err  # dateModified is the server's
    kinds = sorted(
        json.loads(p.read_text())["kind"] for p in (tmp_path / "cache" / "backups").glob("*")
    )
    assert kinds == ["global-custom-script", "site"]


def test_a_patch_answer_without_the_site_is_checked_with_a_get(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    api.get("/sites").mock(return_value=httpx.Response(200, json=[{**SITE, "trackingScript": ""}]))
    api.patch("/sites/11").mock(return_value=httpx.Response(204))
    get = api.get("/sites/11").mock(
        return_value=httpx.Response(200, json={**SITE, "trackingScript": ""})
    )
    result = cli("integration", "identifier", "install", "--project", "11", env=ENV)
    assert result.exit_code == 5
    assert get.call_count == 1
    assert "not applied" in result.stdout


def test_a_backup_folder_that_cannot_be_made_stops_the_write(
    api: respx.MockRouter, cli: CliRunner, tmp_path: Path
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    api.get("/sites").mock(return_value=httpx.Response(200, json=[SITE]))
    api.get("/sites/11/integration-tools").mock(return_value=httpx.Response(200, json=[GA4]))
    put = api.put("/sites/11/integration-tools")
    env = {**ENV, "KSEG_CACHE_DIR": str(blocker)}
    result = cli("integration", "install", "--project", "11", env=env)
    assert result.exit_code == 7
    assert put.call_count == 0
    assert "Cannot save a backup before the write" in flat(result.stderr)


CUSTOMERS = "https://customers.kameleoon.com"


@pytest.mark.parametrize("answer", ["<html>maintenance</html>", '{"status": "ok"}'])
def test_an_unreadable_getapikey_answer_points_at_the_offline_key(
    cli: CliRunner, answer: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{CUSTOMERS}/kameleoon/segmentio/getapikey").mock(
            return_value=httpx.Response(200, text=answer)
        )
        result = cli(
            "auth",
            "getapikey",
            env={"KAMELEOON_CLIENT_ID": "cid-1", "KAMELEOON_CLIENT_SECRET": SECRET},
        )
    assert result.exit_code == 5
    assert "auth getapikey --offline" in flat(result.stderr)
    assert SECRET not in result.stdout + result.stderr


def test_a_refused_in_filter_is_sent_again_as_equal_with_the_array(
    api: respx.MockRouter, cli: CliRunner
) -> None:
    blog = {**SITE, "id": 12, "code": "BLOG000012", "name": "Blog"}
    api.get("/sites").mock(return_value=httpx.Response(200, json=[SITE, blog]))
    filters: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        conditions = json.loads(request.url.params["filter"])
        filters.append(conditions)
        if conditions[0]["operator"] == "IN":
            return httpx.Response(400, json={"message": "unknown operator 'IN'"})
        return httpx.Response(200, json=[])

    api.get("/custom-datas").mock(side_effect=answer)
    result = cli("customdata", "list", "--project", "11", "--project", "12", "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert [f[0]["operator"] for f in filters] == ["IN", "EQUAL"]
    assert filters[1][0]["parameters"] == [11, 12]
