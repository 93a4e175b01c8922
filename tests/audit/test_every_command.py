"""Whole-CLI audit: every leaf command of the tree, as a real subprocess against the
fake server, in four output modes, checked against the project's standards.

Standards checked for every run (docs/design.md, "Secrets" and "Output"):
- no secret in stdout or stderr (client secret, Segment token, the derived API key,
  every OAuth access token the fake handed out), raw or URL-encoded, except where a
  case prints one by design (``--show``, ``auth token``);
- no Python traceback and no "Internal error" (a bug report);
- ``--json``: stdout is exactly one JSON document; an error document has
  ``error.code``, ``error.message`` and ``error.hint``; every document is valid
  against the command's published JSON Schema (``ksegcli schema COMMAND``; errors
  against ``ksegcli schema error``);
- a failing run says why on stderr (human mode);
- the exit code is a member of :class:`ExitCode` and the one the case expects;
- the config folder holds no secret, files 0600 in a 0700 folder;
- every run writes a trace (``--trace FILE`` in some modes, ``KSEG_TRACE`` in the
  others): a 0600 file of JSON lines that holds none of those secrets, not even in
  the runs that print one by design; across the sweep the traces cover every
  service, the token exchange and the sources' write keys (masked).

The command list comes from the Typer app itself, so a new command joins the audit
automatically, and ``test_every_leaf_command_has_an_audit_entry`` fails until it is
given an entry in :data:`LEAVES`.

All runs share one seeded fake (module scope); runs that write get resources of their
own per mode (sites, sources, experiments, custom data), so they can run in parallel.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import typer
from conftest import CliRunner, ProcRunner, Result, fake_env
from typer.core import TyperGroup

from ksegcli.cli import app
from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.errors import ExitCode
from ksegcli.testing import FakeConfig, FakeServer

# Distinctive secrets: '+' and '/' make their URL-encoded forms differ from the raw ones.
CLIENT_ID = "audit-client-77"
CLIENT_SECRET = "audit+Secret/c1a5s9-never-print"
SEGMENT_TOKEN = "sgp_audit+token/never-print-4242"
API_KEY = derive_api_key(CLIENT_ID, CLIENT_SECRET)
MAIN_SITECODE = "AUDITmain1"
USER = "audit-user"


@dataclass(frozen=True)
class Mode:
    flags: tuple[str, ...]
    keyring: bool = False  # credentials from the keyring and profile, not env vars
    trace_env: bool = False  # the trace file from KSEG_TRACE, not --trace


MODES: dict[str, Mode] = {
    "plain": Mode((), trace_env=True),
    "verbose": Mode(("-v",)),
    "json": Mode(("--json",), trace_env=True),
    "json-verbose": Mode(("--json", "-v")),
    # The person at a terminal: secrets in the OS keyring, client id and sitecode in the
    # profile (the access token is cached in the keyring then, a path env runs never take).
    "keyring-verbose": Mode(("-v",), keyring=True),
}


@dataclass(frozen=True)
class Case:
    """One run of a leaf command. ``args`` are formatted with the mode's resources
    (see ``World.values``); ``reveals`` names the secrets it prints by design."""

    args: tuple[str, ...]
    expect: int = ExitCode.OK
    expect_in: dict[str, int] = field(default_factory=dict)  # mode -> exit code, if not expect
    stdin: str = ""
    reveals: frozenset[str] = frozenset()
    must_print: tuple[str, ...] = ()  # names of secrets that must be printed (reveal works)
    modes: frozenset[str] | None = None  # None: every mode
    own_home: bool = False  # HOME (and the XDG folders) in the run's own folder: it installs


# Further variants of a leaf run in two modes only, to keep the sweep fast.
VARIANT = frozenset({"plain", "json-verbose"})
# The keyring mode runs the leaves where credentials from the keyring and profile take
# other paths than env vars: logins, status, the token cache, the derived key, doctor.
KEYRING_LEAVES = frozenset(
    {
        "auth login",
        "auth getapikey",
        "auth status",
        "auth logout",
        "auth token",
        "sitecode show",
        "projects list",
        "integration install",
        "customdata list",
        "segment login",
        "segment destination create",
        "segment sources list",
        "apply",
        "doctor",
    }
)


# Every leaf command, with the arguments it needs. A new command must get an entry here.
LEAVES: dict[str, tuple[Case, ...]] = {
    "apply": (
        Case(("apply", "{apply_file}")),
        # The dry run shows request bodies, the destination's apiKey among them: masked.
        Case(("apply", "{apply_file}", "--dry-run"), modes=VARIANT),
        Case(("apply", "--schema"), modes=VARIANT),
    ),
    "doctor": (
        Case(("doctor", "--source", "{main_source}", "--user", USER)),
        # The drift gate over a file: the main project as the setup left it.
        Case(("doctor", "--file", "{doctor_file}"), modes=VARIANT),
        # The inferred API facts, read against the account: all agree with the fake.
        Case(("doctor", "--api"), modes=VARIANT),
    ),
    # The one long-running command: --print-env reads the fake (it holds the demo data).
    "sandbox": (Case(("sandbox", "--print-env", "--port", "{port}", "--wait", "2")),),
    "auth login": (Case(("auth", "login")),),
    "auth getapikey": (
        Case(("auth", "getapikey")),
        Case(("auth", "getapikey", "--offline", "--no-store"), modes=VARIANT),
        Case(
            ("auth", "getapikey", "--show"),
            reveals=frozenset({"api_key"}),
            must_print=("api_key",),
            modes=VARIANT,
        ),
    ),
    "auth status": (Case(("auth", "status", "--check")),),
    "auth logout": (Case(("auth", "logout")),),
    "auth token": (
        Case(("auth", "token"), reveals=frozenset({"access_token"}), must_print=("access_token",)),
    ),
    "sitecode set": (Case(("sitecode", "set", MAIN_SITECODE)),),
    "sitecode show": (Case(("sitecode", "show")),),
    "projects list": (Case(("projects", "list")),),
    "integration install": (Case(("integration", "install", "--project", "{scratch}")),),
    "integration uninstall": (Case(("integration", "uninstall", "--project", "{uninstall}")),),
    "integration status": (Case(("integration", "status", "--all")),),
    "integration identifier install": (
        Case(("integration", "identifier", "install", "--project", "{scratch}")),
        # The dry run prints the whole new script it would PATCH.
        Case(
            ("integration", "identifier", "install", "--project", "{uninstall}", "--dry-run"),
            modes=VARIANT,
        ),
    ),
    "integration identifier uninstall": (
        Case(("integration", "identifier", "uninstall", "--project", "{uninstall}")),
    ),
    "integration identifier status": (Case(("integration", "identifier", "status", "--all")),),
    "customdata list": (Case(("customdata", "list", "--project", MAIN_SITECODE)),),
    "customdata delete": (
        Case(("customdata", "delete", "{delete}", "--project", MAIN_SITECODE, "--yes")),
    ),
    "customdata create personas": (
        Case(("customdata", "create", "personas", "--project", "{scratch}")),
    ),
    "customdata create trait": (
        Case(("customdata", "create", "trait", "plan", "--project", "{scratch}")),
        Case(
            ("customdata", "create", "trait", "tier", "--project", "{scratch}", "--dry-run"),
            modes=VARIANT,
        ),
    ),
    "customdata create group": (Case(("customdata", "create", "group", "--project", "{scratch}")),),
    "snippet render": (
        Case(("snippet", "render", "personas")),
        Case(("snippet", "render", "persona-values"), modes=VARIANT),
    ),
    # Non-interactive login takes a new token (flag or env), never the keyring's own.
    "segment login": (Case(("segment", "login"), expect_in={"keyring-verbose": ExitCode.AUTH}),),
    "segment destination create": (
        Case(("segment", "destination", "create", "--source", "{new_source}")),
    ),
    "segment destination status": (
        Case(("segment", "destination", "status", "--source", "{main_source}")),
        Case(
            ("segment", "destination", "status", "--source", "{bare_source}", "--token-stdin"),
            expect=ExitCode.CHECK_FAILED,  # no destination on that source
            stdin=SEGMENT_TOKEN + "\n",
            modes=VARIANT,
        ),
    ),
    "segment sources list": (Case(("segment", "sources", "list")),),
    "reporting enable": (
        Case(("reporting", "enable", "--experiment", "{experiment}")),
        Case(
            ("reporting", "enable", "--all-active", "--project", MAIN_SITECODE, "--dry-run"),
            modes=VARIANT,
        ),
    ),
    "reporting status": (Case(("reporting", "status", "--project", MAIN_SITECODE)),),
    "data get": (Case(("data", "get", "common")),),
    "data cohorts": (Case(("data", "cohorts", USER)),),
    "data traits": (Case(("data", "traits", USER)),),
    "goals list": (Case(("goals", "list", "--segment")),),
    # A probe through the main source (its destination is set up below) and read back.
    "verify": (Case(("verify", "--source", "{main_source}", "--yes", "--track")),),
    "export": (
        Case(("export",)),
        Case(("export", "--project", MAIN_SITECODE), modes=VARIANT),
    ),
    "schema": (Case(("schema",)), Case(("schema", "integration", "install"), modes=VARIANT)),
    "completion": (
        Case(("completion", "bash")),
        Case(("completion", "zsh", "--install"), own_home=True, modes=VARIANT),
        Case(("completion", "fish", "--install"), own_home=True, modes=VARIANT),
        # Not a shell it knows: a usage error, nothing written.
        Case(("completion", "tcsh"), expect=ExitCode.USAGE, modes=VARIANT),
    ),
}


def leaf_commands() -> list[str]:
    """Every runnable command of the tree, by path, in tree order."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path)

    return list(walk(typer.main.get_command(app), ()))


def test_every_leaf_command_has_an_audit_entry() -> None:
    leaves = leaf_commands()
    assert len(leaves) > 20, leaves  # the walk found the tree
    missing = [leaf for leaf in leaves if leaf not in LEAVES]
    assert not missing, (
        f"commands without an entry in {__name__}.LEAVES (give them their arguments): {missing}"
    )
    stale = [name for name in LEAVES if name not in leaves]
    assert not stale, f"LEAVES names commands that no longer exist: {stale}"


# --- the world: one seeded fake, resources per mode ---------------------------------------
@dataclass
class World:
    server: FakeServer
    root: Path
    env: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # mode -> placeholders


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = FakeServer(
        FakeConfig(rate_limit=0, hourly_limit=0, segment_write_limit=0, time_scale=0.01)
    ).start()
    root = tmp_path_factory.mktemp("audit")
    server.seed_demo()  # what `sandbox --print-env` reads
    server.add_account(CLIENT_ID, CLIENT_SECRET)
    main = server.add_site(CLIENT_ID, name="Audit main", code=MAIN_SITECODE)
    server.add_goal(main["id"], "SegmentIO track – Signup")
    server.add_experiment(main["id"], "Audit hero")
    server.set_remote_data(MAIN_SITECODE, f"COHORTS_{USER}", {"vip": True})
    server.set_remote_data(
        MAIN_SITECODE, f"IDENTIFY_{USER}", {"traits": {"plan": "pro"}, "groupId": "acme"}
    )
    server.set_remote_data(MAIN_SITECODE, "common", {"cohorts": ["vip"]})
    server.add_segment_workspace(SEGMENT_TOKEN)
    main_source = str(server.add_segment_source(SEGMENT_TOKEN, "Audit web")["id"])
    env = fake_env(
        server,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        segment_token=SEGMENT_TOKEN,
        sitecode=MAIN_SITECODE,
        # The fake enforces no limits here; neither should the client pace itself.
        rate_limit="1000/1",
        segment_write_limit="1000/1",
    )
    world = World(server=server, root=root, env=env)
    doctor_file = root / "doctor.toml"
    doctor_file.write_text(
        f"[projects.{MAIN_SITECODE}]\nidentifier = true\n"
        f'[projects.{MAIN_SITECODE}.segment]\nsource_id = "{main_source}"\n'
    )
    for mode in MODES:
        scratch = server.add_site(CLIENT_ID, name=f"Scratch {mode}")
        uninstall = server.add_site(CLIENT_ID, name=f"Uninstall {mode}")
        server.set_integration_tools(uninstall["id"], [{"name": "SEGMENT", "settings": {}}])
        server.add_custom_data(main["id"], f"audit-delete-{mode}")
        experiment = server.add_experiment(scratch["id"], f"Audit experiment {mode}")
        source = server.add_segment_source(SEGMENT_TOKEN, f"Audit new {mode}")
        bare = server.add_segment_source(SEGMENT_TOKEN, f"Audit bare {mode}")
        apply_file = root / f"apply-{mode}.toml"
        # apply sets up a whole project (tool, personas, group, traits, destination): one of
        # its own, so that it never races the customdata and integration runs on scratch.
        apply_site = server.add_site(CLIENT_ID, name=f"Apply {mode}")
        apply_source = server.add_segment_source(SEGMENT_TOKEN, f"Audit apply {mode}")
        apply_file.write_text(
            f'[projects.{apply_site["code"]}]\ntraits = ["tier"]\n'
            f'[projects.{apply_site["code"]}.segment]\nsource_id = "{apply_source["id"]}"\n'
        )
        world.values[mode] = {
            "scratch": scratch["code"],
            "uninstall": uninstall["code"],
            "delete": f"audit-delete-{mode}",
            "experiment": str(experiment["id"]),
            "new_source": str(source["id"]),
            "bare_source": str(bare["id"]),
            "main_source": main_source,
            "apply_file": str(apply_file),
            "port": str(server.port),
            "doctor_file": str(doctor_file),
        }
    # The main project fully set up, so that doctor and the status commands pass.
    setup = [
        ("integration", "install", "--project", MAIN_SITECODE),
        ("integration", "identifier", "install", "--project", MAIN_SITECODE),
        ("customdata", "create", "personas", "--project", MAIN_SITECODE),
        ("customdata", "create", "group", "--project", MAIN_SITECODE),
        ("segment", "destination", "create", "--source", main_source),
    ]
    (root / "setup").mkdir()
    runner = ProcRunner(root / "setup")
    with ThreadPoolExecutor(len(setup)) as pool:
        for args, result in zip(
            setup, pool.map(lambda a: runner(*a, env=world.env), setup), strict=True
        ):
            assert result.exit_code == 0, (args, result.stderr)
    yield world
    server.stop()


# --- the sweep ----------------------------------------------------------------------------
@dataclass
class Run:
    leaf: str
    case: Case
    mode: str
    argv: list[str]
    home: Path
    result: Result
    seconds: float

    @property
    def label(self) -> str:
        return f"[{self.mode}] ksegcli {' '.join(self.argv)}"


CREDENTIAL_ENV = ("KAMELEOON_CLIENT_ID", "KAMELEOON_CLIENT_SECRET", "SEGMENT_API_TOKEN")


def _keyring_home(runner: ProcRunner, env: dict[str, str]) -> dict[str, str]:
    """Store the credentials as `auth login` and `segment login` would; return the env
    without them."""
    from ksegcli.core.config import Profile, profile_path

    path = profile_path("default", {"KSEG_CONFIG_DIR": runner.env["KSEG_CONFIG_DIR"]})
    Profile("default", path, {"client_id": CLIENT_ID, "sitecode": MAIN_SITECODE}).save()
    runner.keyring_file.write_text(
        json.dumps(
            {
                "ksegcli/default:client_secret": CLIENT_SECRET,
                "ksegcli/default:segment_token": SEGMENT_TOKEN,
            }
        )
    )
    drop = {*CREDENTIAL_ENV, "KAMELEOON_SITECODE"}
    return {key: value for key, value in env.items() if key not in drop}


def _run(world: World, leaf: str, index: int, case: Case, mode: str) -> Run:
    home = world.root / "runs" / mode / f"{leaf.replace(' ', '-')}-{index}"
    home.mkdir(parents=True)
    runner = ProcRunner(home)
    env = world.env
    if MODES[mode].keyring:
        env = _keyring_home(runner, env)
    if case.own_home:
        xdg = {"XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "BASH_COMPLETION_USER_DIR": ""}
        env = {**env, **xdg, "HOME": str(home), "ZDOTDIR": ""}
    argv = [arg.format(**world.values[mode]) for arg in case.args] + list(MODES[mode].flags)
    trace = str(home / "trace.jsonl")
    if MODES[mode].trace_env:
        env = {**env, "KSEG_TRACE": trace}
    else:
        argv += ["--trace", trace]
    started = time.monotonic()
    result = runner(*argv, env=env, stdin=case.stdin, timeout=60)
    return Run(leaf, case, mode, argv, home, result, time.monotonic() - started)


def secret_forms(values: dict[str, list[str]]) -> dict[str, set[str]]:
    """Each secret as it could appear: raw, URL-encoded (query or form)."""
    return {
        name: {
            form for value in items for form in (value, quote(value, safe=""), quote_plus(value))
        }
        for name, items in values.items()
    }


@cache
def output_validator(command: str) -> Any:
    """The validator of a command's published --json schema (``error``: error documents)."""
    import jsonschema

    from ksegcli.contract import load_schema

    schema = load_schema(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_problems(leaf: str, doc: Any) -> list[str]:
    """How a --json document breaks its command's published schema (ksegcli schema LEAF)."""
    from ksegcli.contract import schema_names

    is_error = isinstance(doc, dict) and "error" in doc
    name = "error" if is_error else leaf
    if name not in schema_names():
        return [f"no published schema for {leaf!r} (add it to ksegcli/schema_gen.py)"]
    errors = sorted(output_validator(name).iter_errors(doc), key=lambda e: list(e.path))
    return [
        f"--json output breaks the {name!r} schema at /{'/'.join(map(str, e.path))}: "
        f"{e.message[:200]}"
        for e in errors[:3]
    ]


def check_run(run: Run, secrets: dict[str, set[str]]) -> list[str]:
    """Every way this run breaks the standards, in words."""
    problems: list[str] = []
    res = run.result
    both = res.stdout + res.stderr

    def problem(text: str) -> None:
        problems.append(f"{run.label}: {text}")

    for name, forms in secrets.items():
        if name in run.case.reveals:
            continue
        for where, text in (("stdout", res.stdout), ("stderr", res.stderr)):
            if any(form in text for form in forms):
                problem(f"the {name.replace('_', ' ')} appears on {where}")
    for name in run.case.must_print:
        if not any(form in res.stdout for form in secrets[name]):
            problem(f"does not print the {name.replace('_', ' ')} it was asked for")
    if "Traceback" in both:
        problem("a Python traceback")
    if "Internal error" in both:
        problem(f"an internal error: {res.stderr.strip()[-300:]}")
    if res.exit_code not in {int(code) for code in ExitCode}:
        problem(f"exit code {res.exit_code} is not an ExitCode")
    elif res.exit_code != (expect := run.case.expect_in.get(run.mode, run.case.expect)):
        problem(
            f"exit {res.exit_code} ({ExitCode(res.exit_code).name}), expected "
            f"{int(expect)}; stderr: {res.stderr.strip()[-400:]}"
        )
    if "--json" in run.argv:
        try:
            doc = json.loads(res.stdout)
        except ValueError as exc:
            problem(f"stdout is not exactly one JSON document ({exc}): {res.stdout[:200]!r}")
        else:
            for text in schema_problems(run.leaf, doc):
                problem(text)
            if isinstance(doc, dict) and "error" in doc:
                error = doc["error"]
                if not (
                    isinstance(error, dict)
                    and set(error) >= {"code", "message", "hint"}
                    and isinstance(error["code"], str)
                    and isinstance(error["message"], str)
                    and error["message"]
                    and (error["hint"] is None or isinstance(error["hint"], str))
                ):
                    problem(f"malformed error document: {doc}")
                if res.exit_code == 0:
                    problem("an error document with exit 0")
    elif res.exit_code != 0 and not res.stderr.strip():
        problem("fails without a word on stderr")
    return problems


def check_config_dir(run: Run, secrets: dict[str, set[str]]) -> tuple[list[str], int]:
    """(problems, files checked) for the run's config folder."""
    problems: list[str] = []
    folder = run.home / "config"
    if not folder.exists():
        return problems, 0
    checked = 0
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            if mode != 0o700:
                problems.append(f"{run.label}: folder {path} has mode {mode:o}, not 700")
            continue
        checked += 1
        if mode != 0o600:
            problems.append(f"{run.label}: {path} has mode {mode:o}, not 600")
        text = path.read_bytes().decode("utf-8", "replace")
        for name, forms in secrets.items():
            if any(form in text for form in forms):
                problems.append(f"{run.label}: the {name.replace('_', ' ')} is in {path}")
    return problems, checked


def check_trace(run: Run, secrets: dict[str, set[str]]) -> tuple[list[str], list[Any]]:
    """(problems, records) of the run's trace file: 0600 JSON lines without a secret."""
    path = run.home / "trace.jsonl"
    if not path.exists():
        return [f"{run.label}: wrote no trace file"], []
    problems: list[str] = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        problems.append(f"{run.label}: trace file has mode {mode:o}, not 600")
    text = path.read_text()
    for name, forms in secrets.items():  # never revealed, whatever the case prints
        if any(form in text for form in forms):
            problems.append(f"{run.label}: the {name.replace('_', ' ')} is in the trace")
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"{run.label}: trace line {number} is not JSON: {line[:100]!r}")
            continue
        if not isinstance(record, dict) or not {"method", "url", "status", "error"} <= set(record):
            problems.append(f"{run.label}: trace line {number} lacks a field: {line[:200]!r}")
            continue
        records.append(record)
    return problems, records


def trace_coverage(records: list[Any]) -> list[str]:
    """What the sweep's traces should have seen, and did not: proof the check is not idle."""
    missing = []
    services = {r.get("service") for r in records}
    for service in (
        "Automation API",
        "API-key service",
        "Data API",
        "Segment Public API",
        "Segment Tracking API",
    ):
        if service not in services:
            missing.append(f"no trace of the {service}")
    if not any(r["method"] == "POST" and "/oauth/token" in r["url"] for r in records):
        missing.append("no trace of the token exchange")
    bodies = [(r.get("response") or {}).get("body") or "" for r in records]
    if not any('"writeKeys": ["****"' in body for body in bodies):
        missing.append("no trace of a source's write keys (masked)")
    return missing


def jobs_for(mode: str) -> list[tuple[str, int, Case, str]]:
    return [
        (leaf, index, case, mode)
        for leaf, cases in LEAVES.items()
        if not MODES[mode].keyring or leaf in KEYRING_LEAVES
        for index, case in enumerate(cases)
        if case.modes is None or mode in case.modes
    ]


@pytest.mark.parametrize("mode", list(MODES))
def test_every_command_keeps_the_standards(world: World, mode: str) -> None:
    jobs = jobs_for(mode)
    with ThreadPoolExecutor(max_workers=6) as pool:
        runs = list(pool.map(lambda job: _run(world, *job), jobs))
    leaves = KEYRING_LEAVES if MODES[mode].keyring else set(leaf_commands())
    assert {run.leaf for run in runs} == leaves

    access_tokens = list(world.server.state.tokens)  # every token handed out (none in flight)
    assert access_tokens, "no run fetched an access token: the sweep did not reach the fake"
    secrets = secret_forms(
        {
            "client_secret": [CLIENT_SECRET],
            "segment_token": [SEGMENT_TOKEN],
            "api_key": [API_KEY],
            "access_token": access_tokens,
            "write_key": [
                key for source in world.server.state.sources.values() for key in source["writeKeys"]
            ],
        }
    )
    problems: list[str] = []
    config_files = 0
    traced: list[Any] = []
    for run in runs:
        problems.extend(check_run(run, secrets))
        found, checked = check_config_dir(run, secrets)
        problems.extend(found)
        config_files += checked
        found, records = check_trace(run, secrets)
        problems.extend(found)
        traced.extend(records)
    assert config_files, "no run wrote a config file: the file checks saw nothing"
    if not MODES[mode].keyring:  # the keyring mode runs a few leaves only
        problems.extend(trace_coverage(traced))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_sweep_covers_secret_forms() -> None:
    """The URL-encoded forms differ from the raw ones (else the encoded check is idle)."""
    forms = secret_forms({"s": [CLIENT_SECRET]})["s"]
    assert len(forms) == 2


def bare_commands() -> list[str]:
    """Paths that take a subcommand or a required argument: run bare, they are incomplete."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, TyperGroup) or getattr(command, "no_args_is_help", False):
            yield " ".join(path)
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ()))


def test_an_incomplete_command_is_a_usage_error_in_every_mode(cli: CliRunner) -> None:
    """`ksegcli auth`, `ksegcli apply`: help for a person, one error document with --json.
    (In-process: the help is printed by the parser, the same way in a subprocess.)"""
    paths = bare_commands()
    assert {"", "auth", "customdata create", "apply"} <= set(paths)
    for path in paths:
        command = f"ksegcli {path}".strip()
        for mode in MODES.values():
            if mode.keyring:
                continue
            result = cli(*path.split(), *mode.flags)
            where = (path, mode.flags)
            assert result.exit_code == ExitCode.USAGE, (where, result.stderr)
            assert "Traceback" not in result.output, where
            if "--json" in mode.flags:
                doc = json.loads(result.stdout)  # exactly one document, not Rich help
                assert doc["error"]["code"] == "usage", (where, doc)
                assert doc["error"]["hint"] == f"Run '{command} --help' for usage.", where
                assert result.stderr == "", where
            elif mode.flags and not path:  # `ksegcli -v`: the root got an option, no command
                assert result.stdout == "", where
                assert f"Hint: Run '{command} --help' for usage." in result.stderr, where
            else:
                assert f"Usage: {command} [OPTIONS]" in result.stdout, where
                assert result.stderr == "", (where, result.stderr)  # no stray empty line


def test_version_is_one_json_document_with_json(cli: CliRunner) -> None:
    from ksegcli import __version__

    assert cli("--version").stdout == f"ksegcli {__version__}\n"
    for args in (("--json", "--version"), ("auth", "status", "--version", "--json")):
        result = cli(*args)
        assert result.exit_code == ExitCode.OK
        assert json.loads(result.stdout) == {"version": __version__}, args
        assert result.stderr == ""
