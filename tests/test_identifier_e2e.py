"""The identifier in the global custom script, end to end: the CLI as a subprocess
against the fake server (`integration identifier ...` and `apply`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant, writes

from ksegcli.core.kameleoon.identifier import BEGIN_MARKER, END_MARKER, render_block
from ksegcli.testing import FakeServer

SECRET = "identifier-e2e-secret-58"
USER = "// the shop's own code\nwindow.shopReady = true;\n"
BLOCK = render_block()
srv, run = Tenant("cid", SECRET).fixtures(rate_limit="50/0.1")


def reads(srv: FakeServer) -> list[str]:
    return [r.path for r in srv.requests if r.method == "GET"]


def script(srv: FakeServer, site_id: int) -> str:
    value = next(s for s in srv.sites() if s["id"] == site_id)["trackingScript"]
    assert isinstance(value, str)
    return value


def test_install_on_two_projects_rerun_status_and_uninstall(srv: FakeServer, run: Any) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001", tracking_script=USER)
    blog = srv.add_site("cid", name="Blog")
    first = run(
        "integration",
        "identifier",
        "install",
        "--project",
        "SHOP000001",
        "--project",
        str(blog["id"]),
    )
    assert first.exit_code == 0, first.stderr
    assert first.stdout.count(" installed ") == 2
    assert "appended; 2 line(s) of the project's own code kept" in first.stdout
    assert "2 installed." in first.stderr
    assert script(srv, shop["id"]) == USER + "\n" + BLOCK
    assert script(srv, blog["id"]) == BLOCK
    # The listing carries trackingScript: no GET /sites/{id}, one PATCH each.
    assert reads(srv) == ["/sites"]
    assert sorted(writes(srv)) == [
        ("PATCH", f"/sites/{shop['id']}"),
        ("PATCH", f"/sites/{blog['id']}"),
    ]

    srv.clear_requests()
    again = run("integration", "identifier", "install", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert [d["state"] for d in again.json()["items"]] == ["unchanged", "unchanged"]
    assert writes(srv) == []

    status = run("integration", "identifier", "status", "--all", "--json")
    assert [(d["project"]["sitecode"], d["state"]) for d in status.json()["items"]] == [
        ("SHOP000001", "current"),
        (blog["code"], "current"),
    ]

    # The user edits their own code after the block: uninstall keeps it, byte for byte.
    srv.state.sites[shop["id"]]["trackingScript"] = USER + "\n" + BLOCK + "later();"
    gone = run("integration", "identifier", "uninstall", "--project", "SHOP000001")
    assert gone.exit_code == 0, gone.stderr
    assert "uninstalled" in gone.stdout and "block removed" in gone.stdout
    assert script(srv, shop["id"]) == USER + "later();"
    srv.clear_requests()
    noop = run("integration", "identifier", "uninstall", "--project", "SHOP000001")
    assert noop.exit_code == 0 and "not in the global custom script" in noop.stdout
    assert writes(srv) == []


def test_dry_run_writes_nothing(srv: FakeServer, run: Any) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001", tracking_script=USER)
    result = run("integration", "identifier", "install", "--project", "SHOP000001", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert f"PATCH {srv.url}/sites/{shop['id']}" in result.stdout
    assert "Authorization: Bearer ****" in result.stdout
    assert '"trackingScript": "// the shop' in result.stdout
    assert "nothing written" in result.stderr
    assert writes(srv) == []
    assert script(srv, shop["id"]) == USER


def test_older_block_is_updated_and_user_code_around_it_kept(srv: FakeServer, run: Any) -> None:
    old = render_block("// ksegcli identifier snippet\nold();\n")
    shop = srv.add_site("cid", code="SHOP000001", tracking_script=USER + "\n" + old + "after();\n")
    result = run("integration", "identifier", "install", "--project", "SHOP000001", "--json")
    assert result.exit_code == 0, result.stderr
    (doc,) = result.json()["items"]
    assert doc["state"] == "updated" and "older or edited" in doc["reason"]
    assert script(srv, shop["id"]) == USER + "\n" + BLOCK + "after();\n"


def test_refused_patch_leaves_the_script_and_shows_the_manual_route(
    srv: FakeServer, run: Any
) -> None:
    shop = srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    srv.configure(site_patch_supported=False, site_put_supported=False)
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    assert "failed" in result.stdout
    err = " ".join(result.stderr.split())
    assert f"refused PATCH and PUT /sites/{shop['id']} (HTTP 405)" in err
    assert "Request method 'PUT' is not supported" in err  # the server's own message
    assert "Project › Settings › Global custom script" in err
    assert "ksegcli snippet render identifier" in err
    assert script(srv, shop["id"]) == USER


def test_broken_markers_are_blocked(srv: FakeServer, run: Any) -> None:
    broken = USER + BEGIN_MARKER + "\nold();\n"  # the end marker was deleted by hand
    shop = srv.add_site("cid", code="SHOP000001", tracking_script=broken)
    result = run("integration", "identifier", "install", "--project", "SHOP000001", "--json")
    assert result.exit_code == 5
    (doc,) = result.json()["items"]
    assert doc["state"] == "failed"
    assert "a begin marker (line 3) without its end marker" in doc["message"]
    assert doc["error"]["code"] == "conflict"
    assert "Project › Settings › Global custom script" in doc["error"]["hint"]
    assert writes(srv) == []
    assert script(srv, shop["id"]) == broken


def test_listing_without_the_script_reads_each_project_once(srv: FakeServer, run: Any) -> None:
    shop = srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    srv.configure(sites_list_tracking_script=False)
    result = run("integration", "identifier", "install", "--project", "SHOP000001")
    assert result.exit_code == 0, result.stderr
    assert reads(srv) == ["/sites", f"/sites/{shop['id']}"]
    assert script(srv, shop["id"]) == USER + "\n" + BLOCK


# -- apply ----------------------------------------------------------------------------------


def apply_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "account.toml"
    path.write_text(text)
    return str(path)


def test_apply_identifier_true_then_noop_then_false(
    srv: FakeServer, run: Any, tmp_path: Path
) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001", tracking_script=USER)
    blog = srv.add_site("cid", name="Blog", code="BLOG000002", tracking_script="blog();")
    text = """
[defaults]
identifier = true
personas = false
group = false

[projects.SHOP000001]
[projects.BLOG000002]
identifier = false
"""
    path = apply_file(tmp_path, text)
    plan = run("apply", path, "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stderr
    ident = [a for a in plan.json()["items"] if a["resource"] == "identifier"]
    assert [(a["project"]["sitecode"], a["action"]) for a in ident] == [
        ("SHOP000001", "install"),
        ("BLOG000002", "unchanged"),
    ]
    assert ident[0]["request"]["body"] == {"trackingScript": USER + "\n" + BLOCK}
    assert writes(srv) == []

    done = run("apply", path)
    assert done.exit_code == 0, done.stderr
    assert "installed" in done.stdout and "identifier" in done.stdout
    assert script(srv, shop["id"]) == USER + "\n" + BLOCK
    assert script(srv, blog["id"]) == "blog();"
    # No GET /sites/{id}: the listing carried both scripts.
    assert [p for p in reads(srv) if p.startswith("/sites/") and p.count("/") == 2] == []

    srv.clear_requests()
    again = run("apply", path, "--json")
    assert again.exit_code == 0, again.stderr
    assert "Nothing to change" in again.stderr
    assert writes(srv) == []

    # Declared false: the block goes, the shop's own code stays.
    path = apply_file(tmp_path, text.replace("identifier = true", "identifier = false"))
    gone = run("apply", path, "--json")
    assert gone.exit_code == 0, gone.stderr
    statuses = [
        (r["project"]["sitecode"], r["state"])
        for r in gone.json()["items"]
        if r["resource"] == "identifier"
    ]
    assert statuses == [("SHOP000001", "uninstalled"), ("BLOG000002", "unchanged")]
    assert script(srv, shop["id"]) == USER


def test_apply_without_the_key_never_reads_or_writes_the_script(
    srv: FakeServer, run: Any, tmp_path: Path
) -> None:
    shop = srv.add_site("cid", code="SHOP000001", tracking_script=USER + "\n" + BLOCK)
    srv.configure(sites_list_tracking_script=False)  # reading it would cost a GET
    result = run("apply", apply_file(tmp_path, "[projects.SHOP000001]\n"), "--json")
    assert result.exit_code == 0, result.stderr
    assert all(r["resource"] != "identifier" for r in result.json()["items"])
    assert f"/sites/{shop['id']}" not in reads(srv)
    assert ("PATCH", f"/sites/{shop['id']}") not in writes(srv)
    assert script(srv, shop["id"]) == USER + "\n" + BLOCK


def test_apply_refused_patch_fails_the_item_and_does_the_rest(
    srv: FakeServer, run: Any, tmp_path: Path
) -> None:
    srv.add_site("cid", code="SHOP000001", tracking_script=USER)
    srv.configure(site_patch_supported=False, site_put_supported=False)
    text = "[projects.SHOP000001]\nidentifier = true\npersonas = false\n"
    result = run("apply", apply_file(tmp_path, text))
    assert result.exit_code == 5
    assert "created" in result.stdout  # the group custom data is still made
    err = " ".join(result.stderr.split())
    assert "refused PATCH" in err and "Global custom script" in err
    assert len(srv.custom_datas()) == 1


def test_apply_rejects_a_non_boolean_identifier(srv: FakeServer, run: Any, tmp_path: Path) -> None:
    result = run("apply", apply_file(tmp_path, '[projects.SHOP000001]\nidentifier = "yes"\n'))
    assert result.exit_code == 2
    assert (
        "account.toml:2:1: 'projects.SHOP000001.identifier' must be true or false, not a string"
        in result.stderr
    )
    assert srv.requests == []


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")
def test_the_installed_script_still_parses_in_node(
    srv: FakeServer, run: Any, tmp_path: Path
) -> None:
    shop = srv.add_site("cid", code="SHOP000001", tracking_script="var mine = 1")  # no ; no \n
    assert run("integration", "identifier", "install", "--all").exit_code == 0
    installed = tmp_path / "global_custom_script.js"
    installed.write_text(script(srv, shop["id"]), encoding="utf-8")
    node = shutil.which("node")
    assert node is not None
    check = subprocess.run([node, "--check", str(installed)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert installed.read_text().endswith(END_MARKER + "\n")
