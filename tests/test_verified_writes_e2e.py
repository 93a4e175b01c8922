"""Writes that rest on an inferred API fact are read back: a server that accepts and
ignores them gets `not applied` (exit 5, with the way by hand), never `installed`.
Writes that send back data ksegcli did not author save it to a backup first. End to
end: the CLI as a subprocess against the fake server."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from conftest import ProcRunner, Tenant

from ksegcli.core.kameleoon.integration import MANUAL_ROUTE
from ksegcli.testing import FakeServer

SECRET = "verified-writes-secret-71"
USER = "// the shop's own code\nwindow.shopReady = true;\n"
GA4 = {"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-123"}}
srv, run = Tenant("cid", SECRET).fixtures(no_traceback=True, rate_limit="50/0.1")


def flat(text: str) -> str:
    return " ".join(text.split())


def backups(proc: ProcRunner) -> list[Path]:
    folder = Path(proc.env["KSEG_CACHE_DIR"]) / "backups"
    return sorted(folder.glob("*.json")) if folder.exists() else []


# -- not applied ------------------------------------------------------------------------------


def test_an_ignored_tool_install_is_not_applied_with_the_manual_route(
    srv: FakeServer, run: Any
) -> None:
    site = srv.add_site("cid", code="SHOP000001")
    srv.configure(ignore_writes=["integration-tools"])
    result = run("integration", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "not applied" in result.stdout and "installed" not in result.stdout
    err = flat(result.stderr)
    assert f"accepted PUT /sites/{site['id']}/integration-tools, but reading it back" in err
    assert "no SEGMENT tool" in err
    assert MANUAL_ROUTE in err
    assert "docs/api-facts.md" in err
    doc = run("integration", "install", "--project", "SHOP000001", "--json").json()
    assert doc["items"][0]["state"] == "not_applied" and doc["summary"] == {"not_applied": 1}
    assert doc["items"][0]["error"]["code"] == "not_applied"


def test_an_ignored_tool_uninstall_is_not_applied(srv: FakeServer, run: Any) -> None:
    site = srv.add_site("cid", code="SHOP000001")
    srv.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
    srv.configure(ignore_writes=["integration-tools"])
    result = run("integration", "uninstall", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "the SEGMENT tool still there" in flat(result.stderr)
    assert "Uninstall it by hand in Kameleoon" in flat(result.stderr)


def test_an_ignored_reporting_tool_is_not_applied_and_the_others_are_done(
    srv: FakeServer, run: Any
) -> None:
    site = srv.add_site("cid", code="SHOP000001")["id"]
    exp = srv.add_experiment(site, "Hero")
    perso = srv.add_personalization(site, "Welcome", status="active")  # lowercase status
    srv.configure(ignore_writes=["personalizations"])
    result = run("reporting", "enable", "--all-active", "--project", "SHOP000001", "--json")
    assert result.exit_code == 5
    states = {(c["kind"], c["id"]): c["state"] for c in result.json()["items"]}
    assert states == {
        ("experiment", exp["id"]): "updated",
        ("personalization", perso["id"]): "not_applied",
    }
    (bad,) = [c for c in result.json()["items"] if c["state"] == "not_applied"]
    assert bad["error"]["code"] == "not_applied"
    assert "by hand" in bad["error"]["hint"]
    human = run("reporting", "enable", "--personalization", str(perso["id"]))
    assert human.exit_code == 5
    assert f"accepted PATCH /personalizations/{perso['id']}" in flat(human.stderr)


def test_an_ignored_script_write_is_not_applied(srv: FakeServer, run: Any) -> None:
    srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    srv.configure(ignore_writes=["trackingScript"])
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "not applied" in result.stdout
    err = flat(result.stderr)
    assert "a 'trackingScript' that is not the script sent" in err
    assert "Global custom script" in err


def test_apply_reports_not_applied_and_does_the_rest(
    srv: FakeServer, run: Any, tmp_path: Path
) -> None:
    srv.add_site("cid", code="SHOP000001")
    srv.configure(ignore_writes=["integration-tools"])
    text = "[projects.SHOP000001]\nintegration = true\npersonas = false\n"
    path = tmp_path / "account.toml"
    path.write_text(text)
    result = run("apply", str(path), "--json")
    assert result.exit_code == 5
    doc = result.json()
    statuses = {(r["resource"], r["state"]) for r in doc["items"]}
    assert ("integration", "not_applied") in statuses
    assert ("custom-data", "created") in statuses


# -- backups ----------------------------------------------------------------------------------


def test_other_tools_are_saved_before_the_write_and_kept(
    srv: FakeServer, run: Any, proc: ProcRunner
) -> None:
    site = srv.add_site("cid", code="SHOP000001")
    srv.set_integration_tools(site["id"], [GA4])
    result = run("integration", "install", "--project", "SHOP000001", "--json")
    assert result.exit_code == 0, result.stderr
    (saved,) = backups(proc)
    assert str(saved) in result.json()["items"][0]["message"]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert json.loads(saved.read_text())["data"] == [GA4]
    assert srv.integration_tools(site["id"]) == [GA4, {"name": "SEGMENT", "settings": {}}]


def test_a_tool_listed_without_settings_blocks_the_write(srv: FakeServer, run: Any) -> None:
    site = srv.add_site("cid", code="SHOP000001")
    srv.set_integration_tools(site["id"], [GA4])
    srv.configure(tools_without_settings=True)
    result = run("integration", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "GOOGLE_ANALYTICS_4 without settings" in flat(result.stdout + result.stderr)
    assert not [r for r in srv.requests if r.method == "PUT"]
    assert srv.integration_tools(site["id"]) == [GA4]


def test_the_users_script_is_saved_before_the_write(
    srv: FakeServer, run: Any, proc: ProcRunner
) -> None:
    srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 0, result.stderr
    (saved,) = backups(proc)
    assert json.loads(saved.read_text())["data"] == {"trackingScript": USER}
    assert "backup" in result.stdout


# -- the whole-site route -----------------------------------------------------------------------


def test_a_refused_patch_falls_back_to_get_and_put_of_the_whole_site(
    srv: FakeServer, run: Any, proc: ProcRunner
) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001", tracking_script=USER)
    srv.configure(site_patch_supported=False)
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 0, result.stderr
    assert "PATCH refused: written with GET+PUT" in flat(result.stdout)
    now = next(s for s in srv.sites() if s["id"] == site["id"])
    assert now["trackingScript"].startswith(USER) and "ksegcli identifier" in now["trackingScript"]
    assert now["name"] == "Shop" and now["url"] == site["url"]
    writes = [(r.method, r.path) for r in srv.requests if r.method in ("PATCH", "PUT")]
    assert writes == [("PATCH", f"/sites/{site['id']}"), ("PUT", f"/sites/{site['id']}")]
    kinds = sorted(json.loads(p.read_text())["kind"] for p in backups(proc))
    assert kinds == ["global-custom-script", "site"]


def test_the_whole_site_route_also_verifies(srv: FakeServer, run: Any) -> None:
    srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    srv.configure(site_patch_supported=False, ignore_writes=["trackingScript"])
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "accepted GET+PUT" in flat(result.stderr)


# -- fallbacks --------------------------------------------------------------------------------


def test_custom_data_of_several_projects_are_listed_when_in_is_refused(
    srv: FakeServer, run: Any
) -> None:
    shop = srv.add_site("cid", code="SHOP000001")
    blog = srv.add_site("cid", code="BLOG000001")
    srv.add_custom_data(shop["id"], "Plan")
    srv.add_custom_data(blog["id"], "Tier")
    srv.configure(filter_in_supported=False)
    result = run("customdata", "list", "--project", "SHOP000001", "--project", "BLOG000001")
    assert result.exit_code == 0, result.stderr
    assert "Plan" in result.stdout and "Tier" in result.stdout
    statuses = [r.status for r in srv.requests if r.path == "/custom-datas"]
    assert statuses == [400, 200]


def test_a_403_on_the_integration_endpoint_says_the_client_is_not_allowed(
    srv: FakeServer, run: Any
) -> None:
    srv.add_site("cid", code="SHOP000001")
    srv.inject("GET", r"/integration-tools$", "403", count=5)
    result = run("integration", "install", "--project", "SHOP000001")
    assert result.exit_code == 3
    err = flat(result.stderr)
    assert "Your API client is not allowed to read a project's integration tools" in err
    assert MANUAL_ROUTE in err


def test_a_403_on_a_campaign_write_says_the_client_is_not_allowed(
    srv: FakeServer, run: Any
) -> None:
    site = srv.add_site("cid", code="SHOP000001")["id"]
    exp = srv.add_experiment(site, "Hero")
    srv.inject("PATCH", r"/experiments/", "403", count=5)
    result = run("reporting", "enable", "--experiment", str(exp["id"]), "--json")
    assert result.exit_code == 3
    (campaign,) = result.json()["items"]
    assert campaign["state"] == "failed"
    assert "not allowed to change a campaign's reporting tools" in campaign["error"]["message"]
    assert "by hand" in campaign["error"]["hint"]
