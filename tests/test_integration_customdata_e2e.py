"""The Segment tool and the custom data end to end: the real CLI as a subprocess against
the fake server."""

from __future__ import annotations

from typing import Any

from conftest import Tenant, writes

from ksegcli.core.kameleoon.integration import MANUAL_ROUTE
from ksegcli.core.snippets import render_snippet
from ksegcli.testing import FakeServer

SECRET = "e2e-secret-value-99"
srv, run = Tenant("cid", SECRET).fixtures(rate_limit="50/0.1")


def test_install_by_id_and_sitecode_keeps_other_tools_and_reruns_clean(
    srv: FakeServer, run: Any
) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001")
    blog = srv.add_site("cid", name="Blog")
    ga4 = {"name": "GOOGLE_ANALYTICS_4", "settings": {"measurementId": "G-XYZ"}}
    srv.set_integration_tools(shop["id"], [ga4])
    first = run("integration", "install", "--project", "SHOP000001", "--project", str(blog["id"]))
    assert first.exit_code == 0, first.stderr
    assert first.stdout.count(" installed ") == 2
    assert "1 other tool(s) kept" in first.stdout
    assert srv.integration_tools(shop["id"]) == [ga4, {"name": "SEGMENT", "settings": {}}]
    assert srv.integration_tools(blog["id"]) == [{"name": "SEGMENT", "settings": {}}]
    srv.clear_requests()
    again = run("integration", "install", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert [d["state"] for d in again.json()["items"]] == ["unchanged", "unchanged"]
    assert writes(srv) == []
    status = run("integration", "status", "--project", "SHOP000001", "--json")
    assert status.json()["items"][0]["installed"] is True
    assert status.json()["items"][0]["tools"] == ["GOOGLE_ANALYTICS_4", "SEGMENT"]


def test_refused_integration_endpoint(srv: FakeServer, run: Any) -> None:
    srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.configure(integration_tools_supported=False)
    result = run("integration", "install")  # no --project: the profile's sitecode
    assert result.exit_code == 2 and "No project given" in result.stderr
    result = run("integration", "install", "--project", "SHOP000001")
    assert result.exit_code == 5
    err = " ".join(result.stderr.split())
    assert "refused GET /sites/" in err and "HTTP 405" in err
    assert "is not supported" in err  # the server's own message
    assert MANUAL_ROUTE in err
    assert "failed" in result.stdout
    assert writes(srv) == []


def test_unknown_project_is_named_and_nothing_is_written(srv: FakeServer, run: Any) -> None:
    srv.add_site("cid", name="Shop", code="SHOP000001")
    result = run(
        "customdata", "create", "personas", "--project", "SHOP000001", "--project", "ZZZZ000000"
    )
    assert result.exit_code == 4
    assert "Unknown project: ZZZZ000000" in result.stderr
    assert result.stdout == ""
    assert writes(srv) == []


def test_three_kinds_created_then_rerun_creates_nothing(srv: FakeServer, run: Any) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001")
    other = srv.add_site("cid", name="Other", code="OTHR000002")
    for args in (
        ("personas",),
        ("trait", "plan"),
        ("trait", "age", "--format", "number"),
        ("group", "--user-id", "segment"),
    ):
        result = run(
            "customdata", "create", *args, "--project", "SHOP000001", "--project", str(other["id"])
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout.count(" created ") == 2
    personas_run = run("customdata", "create", "personas", "--project", "SHOP000001")
    assert "persona-values --sitecode SHOP000001" in " ".join(personas_run.stderr.split())
    made = {c["name"]: c for c in srv.custom_datas(shop["id"])}
    assert sorted(made) == ["Group ID", "SegmentIO personas", "age", "plan"]
    expect = {
        "SegmentIO personas": ("LIST", "STRING", render_snippet("personas").code),
        "plan": ("UNIQUE", "STRING", render_snippet("trait", trait="plan").code),
        "age": ("UNIQUE", "NUMBER", render_snippet("trait", trait="age").code),
        "Group ID": ("UNIQUE", "STRING", render_snippet("group", user_id="segment").code),
    }
    for name, (type_, fmt, code) in expect.items():
        item = made[name]
        assert (item["type"], item["format"], item["method"]) == (type_, fmt, "CUSTOM_CODE")
        assert item["customEvalCode"] == code
    assert len(srv.custom_datas(other["id"])) == 4
    srv.clear_requests()
    again = run("customdata", "create", "trait", "plan", "--all", "--json")
    assert [d["state"] for d in again.json()["items"]] == ["unchanged", "unchanged"]
    assert writes(srv) == []
    listing = run("customdata", "list", "--project", "SHOP000001", "--json")
    assert {(d["name"], d["ours"], d["current"]) for d in listing.json()["items"]} == {
        ("SegmentIO personas", "personas", True),
        ("plan", "trait", True),
        ("age", "trait", True),
        ("Group ID", "group", True),
    }


def test_drift_detected_then_update_fixes_it(srv: FakeServer, run: Any) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001")
    mine = srv.add_custom_data(
        shop["id"], "Group ID", method="CUSTOM_CODE", customEvalCode="return {value: window.gid};"
    )
    drift = run("customdata", "create", "group", "--json")
    assert drift.exit_code == 2  # no --project and no profile sitecode
    drift = run("customdata", "create", "group", "--project", "SHOP000001", "--json")
    assert drift.exit_code == 0, drift.stderr
    (doc,) = drift.json()["items"]
    assert doc["state"] == "drifted" and "not ksegcli's snippet" in doc["message"]
    assert srv.custom_datas(shop["id"])[0]["customEvalCode"] == "return {value: window.gid};"
    fixed = run("customdata", "create", "group", "--project", "SHOP000001", "--update")
    assert fixed.exit_code == 0, fixed.stderr
    assert "updated" in fixed.stdout
    (item,) = srv.custom_datas(shop["id"])
    assert item["id"] == mine["id"]
    assert item["customEvalCode"] == render_snippet("group").code


def test_dry_run_writes_nothing(srv: FakeServer, run: Any) -> None:
    srv.add_site("cid", name="Shop", code="SHOP000001")
    result = run("customdata", "create", "personas", "--project", "SHOP000001", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert f"POST {srv.url}/custom-datas" in result.stdout
    assert "Authorization: Bearer ****" in result.stdout
    install = run("integration", "install", "--project", "SHOP000001", "--dry-run")
    assert "PUT " in install.stdout
    assert writes(srv) == []
    assert srv.custom_datas() == []


def test_lost_answers_and_partial_failure(srv: FakeServer, run: Any) -> None:
    a = srv.add_site("cid", name="A", code="AAAA000001")
    b = srv.add_site("cid", name="B", code="BBBB000002")
    c = srv.add_site("cid", name="C", code="CCCC000003")
    srv.add_custom_data(c["id"], "x", method="CLIENT")
    srv.configure(custom_data_limit=1)  # C is full
    srv.inject("POST", r"^/custom-datas$", "drop_after_commit", 1)
    srv.inject("POST", r"^/custom-datas$", "503", 1)
    result = run("customdata", "create", "group", "--all", "--json")
    assert result.exit_code == 5
    docs = {d["project"]["sitecode"]: d for d in result.json()["items"]}
    assert docs["AAAA000001"]["state"] == docs["BBBB000002"]["state"] == "created"
    assert docs["CCCC000003"]["state"] == "failed"
    assert "maximum number of custom data reached" in docs["CCCC000003"]["message"]
    assert [c["name"] for c in srv.custom_datas(a["id"])] == ["Group ID"]
    assert [c["name"] for c in srv.custom_datas(b["id"])] == ["Group ID"]


def test_code_differing_only_by_trailing_blanks_and_crlf_is_unchanged(
    srv: FakeServer, run: Any
) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001")
    code = render_snippet("group").code
    stored = "\r\n".join(line + " \t " for line in code.split("\n")) + "\r\n\r\n"
    item = srv.add_custom_data(
        shop["id"],
        "Group ID",
        type="UNIQUE",
        format="STRING",
        method="CUSTOM_CODE",
        customEvalCode=stored,
    )
    srv.clear_requests()
    result = run("customdata", "create", "group", "--project", "SHOP000001", "--json")
    assert result.exit_code == 0, result.stderr
    assert [d["state"] for d in result.json()["items"]] == ["unchanged"]
    assert writes(srv) == []
    # A change inside a line still counts.
    srv.state.custom_datas[item["id"]]["customEvalCode"] = stored.replace("\r\n", " x\r\n", 1)
    drifted = run("customdata", "create", "group", "--project", "SHOP000001", "--json")
    assert [d["state"] for d in drifted.json()["items"]] == ["drifted"]
    assert writes(srv) == []


def test_a_name_of_255_characters_is_accepted_and_256_refused(
    srv: FakeServer, run: Any, tmp_path: Any
) -> None:
    srv.add_site("cid", name="Shop", code="SHOP000001")
    args = ("customdata", "create", "group", "--project", "SHOP000001", "--name")
    refused = run(*args, "g" * 256)
    assert refused.exit_code == 2, refused.stderr
    assert "too long (256 characters, at most 255)" in refused.stderr
    assert writes(srv) == []
    path = tmp_path / "account.toml"
    path.write_text(f'[projects.SHOP000001]\ngroup = "{"h" * 256}"\n')
    in_file = run("apply", str(path), "--dry-run")
    assert in_file.exit_code == 2, in_file.stderr
    assert "256 characters, at most 255" in in_file.stderr
    assert writes(srv) == []
    accepted = run(*args, "g" * 255)
    assert accepted.exit_code == 0, accepted.stderr
    assert [c["name"] for c in srv.custom_datas()] == ["g" * 255]
    path.write_text(f'[projects.SHOP000001]\ngroup = "{"g" * 255}"\n')
    planned = run("apply", str(path), "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
