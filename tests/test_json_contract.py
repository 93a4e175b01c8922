"""The --json contract: the published schemas are up to date, shipped with the package and
printed by `ksegcli schema`; the envelope is the same for a dry run and a real run.
(The whole-CLI audit validates every leaf's real output against its schema.)"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import CliRunner

from ksegcli import schema_gen
from ksegcli.contract import ITEM_STATES, SCHEMA_VERSION, envelope, load_schema, schema_names
from ksegcli.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("folder", [schema_gen.PACKAGE_DIR, ROOT / "docs" / "schema" / "output"])
def test_published_schemas_are_up_to_date(folder: Path) -> None:
    expected = schema_gen.files()
    found = {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.json")}
    assert found == expected, f"{folder} is out of date: run `{schema_gen.COMMAND}`"


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for name in schema_names():
        jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_schema_lists_and_prints_each_schema(cli: CliRunner) -> None:
    listed = cli("schema", "--json")
    assert listed.exit_code == 0, listed.stderr
    doc = listed.json()
    assert doc["schema_version"] == SCHEMA_VERSION and doc["command"] == "schema"
    assert [row["command"] for row in doc["items"]] == schema_names()
    assert "integration install" in cli("schema").stdout
    printed = cli("schema", "customdata", "create", "trait")
    assert printed.exit_code == 0, printed.stderr
    assert json.loads(printed.stdout) == load_schema("customdata create trait")
    # the same with --json: the schema itself, not wrapped
    assert cli("schema", "error", "--json").json() == load_schema("error")


def test_unknown_schema_is_a_usage_error_with_a_suggestion(cli: CliRunner) -> None:
    result = cli("schema", "integration", "instal")
    assert result.exit_code == ExitCode.USAGE
    assert "Did you mean 'integration install'?" in result.stderr


def test_dry_run_and_real_run_share_the_envelope() -> None:
    item = {
        "project": {"id": 1, "sitecode": "ABCDE12345", "name": "Shop"},
        "resource": "integration",
        "name": "Segment",
        "action": "install",
    }
    validator = jsonschema.Draft202012Validator(load_schema("integration install"))
    head = {"schema_version": SCHEMA_VERSION, "command": "integration install"}
    dry = {**head, **envelope(dry_run=True, items=[{**item, "state": "planned"}])}
    real = {**head, **envelope(dry_run=False, items=[{**item, "state": "installed"}])}
    for doc in (dry, real):
        assert list(validator.iter_errors(doc)) == []
        assert doc["changes"] is True
    assert set(dry) - set(real) == {"requests"}
    assert dry["summary"] == {"planned": 1} and real["summary"] == {"installed": 1}
    # A state outside the vocabulary, or a dry run without its requests, is refused.
    assert list(validator.iter_errors({**real, "items": [{**item, "state": "already"}]}))
    assert list(validator.iter_errors({k: v for k, v in dry.items() if k != "requests"}))


def test_state_vocabulary_leaves_room_for_interruptions_and_read_backs() -> None:
    assert {"planned", "unchanged", "failed", "skipped", "interrupted", "not_applied"} <= set(
        ITEM_STATES
    )
