"""Whole-CLI audit, failure modes: a representative set of commands, as real
subprocesses, when the world is not as it should be.

"Bad input gets a clear error and loses nothing" (project brief): no network, an API
error (the server's message is shown), no keyring (env credentials still work, one
warning), a bad flag (exit 2 and the --help hint), a broken profile file (exit CONFIG
with file, line and column, the file untouched), an invalid sitecode or unknown project
(nothing written). Every run: no traceback, no secret, a valid exit code, and with
--json exactly one JSON document on stdout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner, ProcRunner, Result, fake_env, writes

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.errors import ExitCode
from ksegcli.testing import FakeConfig, FakeServer

CLIENT_ID = "audit-fail-client"
CLIENT_SECRET = "audit-fail+secret/never-print-31"
SEGMENT_TOKEN = "sgp_audit_fail+token/never-print-8"
SECRETS = (CLIENT_SECRET, SEGMENT_TOKEN, derive_api_key(CLIENT_ID, CLIENT_SECRET))
SITECODE = "AUDITfail1"
USER = "audit-fail-user"
SOURCE = "placeholder-source"  # replaced by the seeded source where a fake answers

# The representative set: reads and writes, Kameleoon, Segment and the Data API, doctor.
COMMANDS: dict[str, tuple[str, ...]] = {
    "projects list": ("projects", "list"),
    "integration install": ("integration", "install", "--project", SITECODE),
    "customdata create personas": ("customdata", "create", "personas", "--project", SITECODE),
    "segment destination create": (
        "segment",
        "destination",
        "create",
        "--source",
        SOURCE,
        "--sitecode",
        SITECODE,
    ),
    "data cohorts": ("data", "cohorts", USER, "--sitecode", SITECODE),
    "doctor": ("doctor", "--sitecode", SITECODE, "--source", SOURCE),
}
# doctor reports a failure as a failed check (exit 9, documented), not as an error.
DOCTOR = "doctor"


# base_env(url or server): every service at that base URL, this file's credentials.
base_env = partial(
    fake_env,
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    segment_token=SEGMENT_TOKEN,
    rate_limit="1000/1",
    segment_write_limit="1000/1",
)


def run_all(
    proc: Callable[..., Result],
    env: dict[str, str],
    *,
    source: str = SOURCE,
    extra: tuple[str, ...] = (),
    modes: tuple[tuple[str, ...], ...] = ((), ("--json",)),
    workers: int = 6,
) -> dict[tuple[str, bool], tuple[Result, float]]:
    """Every command of COMMANDS in each mode, in parallel: (name, json) -> (result, secs)."""
    jobs = [(name, mode) for name in COMMANDS for mode in modes]

    def one(job: tuple[str, tuple[str, ...]]) -> tuple[Result, float]:
        name, mode = job
        args = [source if a == SOURCE else a for a in COMMANDS[name]]
        started = time.monotonic()
        result = proc(*args, *extra, *mode, env=env)
        return result, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(one, jobs))
    return {(name, "--json" in mode): out for (name, mode), out in zip(jobs, outcomes, strict=True)}


def clean(name: str, as_json: bool, result: Result) -> dict[str, Any] | None:
    """The checks every run passes; returns the JSON document in --json mode."""
    where = f"{name}{' --json' if as_json else ''}"
    output = result.stdout + result.stderr
    assert "Traceback" not in output, (where, output)
    assert "Internal error" not in output, (where, output)
    for secret in SECRETS:
        assert secret not in output, (where, "secret in output")
    assert result.exit_code in {int(c) for c in ExitCode}, (where, result.exit_code)
    if not as_json:
        return None
    try:
        doc: dict[str, Any] = json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"{where}: stdout is not one JSON document: {result.stdout!r}"
        ) from exc
    if "error" in doc:
        assert set(doc["error"]) == {"code", "message", "hint"}, (where, doc)
    return doc


def error_of(name: str, result: Result, doc: dict[str, Any] | None) -> str:
    """The error message a user sees: the JSON error, else stderr."""
    if doc is not None:
        assert "error" in doc, (name, doc)
        return str(doc["error"]["message"])
    assert result.stderr.startswith("Error: ") or "\nError: " in result.stderr, (
        name,
        result.stderr,
    )
    return result.stderr


# --- no network ----------------------------------------------------------------------------
def test_server_unreachable_is_a_network_error(proc: ProcRunner) -> None:
    gone = FakeServer().start()
    url = gone.url
    gone.stop()  # nothing listens on that port any more
    results = run_all(proc, base_env(url), workers=12)  # mostly waiting on retries
    for (name, as_json), (result, seconds) in results.items():
        doc = clean(name, as_json, result)
        assert seconds < 20, (name, seconds)
        if name == DOCTOR:
            assert result.exit_code == ExitCode.CHECK_FAILED, (name, result.stderr)
            shown = result.stdout if doc is None else json.dumps(doc)
            assert "Cannot reach the Automation API" in shown, (name, shown)
            continue
        assert result.exit_code == ExitCode.NETWORK, (name, as_json, result.stderr)
        message = error_of(name, result, doc)
        assert "Cannot reach the" in message and url in message, (name, message)
        if doc is not None:
            assert doc["error"]["code"] == "network"
            assert "network" in doc["error"]["hint"]
        else:
            assert "Hint: Check your network connection" in result.stderr


# --- an API error: the server's own words --------------------------------------------------
SERVER_MESSAGE = "audit: upstream datastore shard 7 is on fire"


class _Failing(BaseHTTPRequestHandler):
    """Every request: HTTP 500 with a message in both Kameleoon's and Segment's shapes."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"message": SERVER_MESSAGE, "errors": [{"message": SERVER_MESSAGE}]})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def failing_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_api_error_shows_the_servers_message(proc: ProcRunner, failing_url: str) -> None:
    results = run_all(proc, base_env(failing_url), workers=12)  # mostly waiting on retries
    for (name, as_json), (result, _) in results.items():
        doc = clean(name, as_json, result)
        if name == DOCTOR:
            assert result.exit_code == ExitCode.CHECK_FAILED, (name, result.stderr)
            shown = result.stdout if doc is None else json.dumps(doc)
            assert SERVER_MESSAGE in shown, (name, shown)
            # The server failed: the fix is to wait, not to doubt the credentials.
            assert "Check the client id and secret" not in shown, shown
            assert "failed on its side; try again" in shown, shown
            continue
        assert result.exit_code == ExitCode.API, (name, as_json, result.exit_code, result.stderr)
        message = error_of(name, result, doc)
        assert SERVER_MESSAGE in message, (name, message)
        assert "HTTP 500" in message, (name, message)
        if doc is not None:
            assert doc["error"]["code"] == "api_error"
            assert "failed on its side; try again" in doc["error"]["hint"], doc
        else:
            assert "Hint: The " in result.stderr and "try again" in result.stderr, result.stderr


# --- a seeded fake, set up, for the runs that should succeed --------------------------------
@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeServer, str]]:
    """A fake with the integration set up on SITECODE; yields (server, source id).
    Shared by the module's tests: they only read, or write what is already there."""
    proc = ProcRunner(tmp_path_factory.mktemp("ready"))
    server = FakeServer(FakeConfig(rate_limit=0, hourly_limit=0, segment_write_limit=0)).start()
    server.add_account(CLIENT_ID, CLIENT_SECRET)
    server.add_site(CLIENT_ID, name="Audit failures", code=SITECODE)
    server.set_remote_data(SITECODE, f"COHORTS_{USER}", {"vip": True})
    server.add_segment_workspace(SEGMENT_TOKEN)
    source = str(server.add_segment_source(SEGMENT_TOKEN, "Web")["id"])
    env = base_env(server.url)
    setup = [
        ("integration", "install", "--project", SITECODE),
        ("integration", "identifier", "install", "--project", SITECODE),
        ("customdata", "create", "personas", "--project", SITECODE),
        ("customdata", "create", "group", "--project", SITECODE),
        ("segment", "destination", "create", "--source", source, "--sitecode", SITECODE),
    ]
    with ThreadPoolExecutor(len(setup)) as pool:
        for args, result in zip(setup, pool.map(lambda a: proc(*a, env=env), setup), strict=True):
            assert result.exit_code == 0, (args, result.stderr)
    yield server, source
    server.stop()


KEYRING_WARNING = "The OS keyring is not usable"


@pytest.mark.parametrize(
    ("backend", "timeout"),
    [("BrokenKeyring", None), ("HangingKeyring", "0.5")],
    ids=["broken", "hanging"],
)
def test_no_keyring_env_credentials_still_work(
    proc: ProcRunner, ready: tuple[FakeServer, str], backend: str, timeout: str | None
) -> None:
    server, source = ready
    env = {
        **base_env(server.url),
        "PYTHON_KEYRING_BACKEND": f"ksegcli.testing.keyrings.{backend}",
    }
    if timeout:
        env["KSEG_KEYRING_TIMEOUT"] = timeout
    # --json with one backend is enough: the keyring does not change how output is built.
    results = run_all(proc, env, source=source, modes=((),) if timeout else ((), ("--json",)))
    for (name, as_json), (result, seconds) in results.items():
        clean(name, as_json, result)
        assert result.exit_code == ExitCode.OK, (name, as_json, result.stdout, result.stderr)
        assert seconds < 15, (name, seconds)  # a hung keyring costs the timeout, once
        # Everything came from the environment: the keyring was not needed, so it is not
        # mentioned (even where the API key was looked up there before being derived).
        assert KEYRING_WARNING not in result.stderr, (name, result.stderr)
        assert "keyring" not in result.stderr.lower(), (name, result.stderr)
    # With -v the failed read is still there to see.
    verbose = proc(*COMMANDS[DOCTOR][:-2], "-v", env=env)
    assert KEYRING_WARNING in verbose.stderr, verbose.stderr


# --- a bad flag ------------------------------------------------------------------------------
def test_bad_flag_is_a_usage_error_with_the_help_hint(cli: CliRunner) -> None:
    # In-process (one at a time): parsing is the same code path as in a subprocess.
    results = run_all(cli, base_env("http://127.0.0.1:9"), extra=("--no-such-flag",), workers=1)
    for (name, as_json), (result, _) in results.items():
        doc = clean(name, as_json, result)
        assert result.exit_code == ExitCode.USAGE, (name, result.stderr)
        hint = f"Run 'ksegcli {name} --help' for usage."
        message = error_of(name, result, doc)
        assert "--no-such-flag" in message, (name, message)
        if doc is not None:
            assert doc["error"]["code"] == "usage"
            assert doc["error"]["hint"] == hint
            assert result.stderr == ""
        else:
            assert f"Hint: {hint}" in result.stderr, (name, result.stderr)
            assert result.stdout == ""


# --- a broken profile file ------------------------------------------------------------------
BROKEN_TOML = 'sitecode = "AUDITfail1"\nclient_id = "x\n'  # unterminated string: line 2


def test_broken_profile_is_a_config_error_and_stays_untouched(
    cli: CliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    profile = folder / "default.toml"
    profile.write_text(BROKEN_TOML)
    profile.chmod(0o600)
    before = (profile.read_bytes(), profile.stat().st_mtime_ns)
    results = run_all(cli, base_env("http://127.0.0.1:9"), workers=1)  # in-process
    for (name, as_json), (result, _) in results.items():
        doc = clean(name, as_json, result)
        assert result.exit_code == ExitCode.CONFIG, (name, as_json, result.stdout, result.stderr)
        message = error_of(name, result, doc)
        assert str(profile) in message, (name, message)
        assert "line 2, column" in message, (name, message)
        if doc is not None:
            assert doc["error"]["code"] == "config"
    assert (profile.read_bytes(), profile.stat().st_mtime_ns) == before
    assert sorted(p.name for p in folder.iterdir()) == ["default.toml"]  # no temp files


# --- bad input loses nothing ----------------------------------------------------------------
def test_invalid_sitecode_and_unknown_project_write_nothing(
    proc: ProcRunner, ready: tuple[FakeServer, str]
) -> None:
    server, source = ready
    env = base_env(server.url)
    server.clear_requests()
    cases = [
        (("integration", "install", "--project", "NOSUCHPRJ1"), ExitCode.NOT_FOUND),
        (("customdata", "create", "trait", "plan", "--project", "99999"), ExitCode.NOT_FOUND),
        (("segment", "destination", "create", "--source", source, "--sitecode", "bad!"), 2),
        (("segment", "destination", "create", "--source", source, "--sitecode", "ZZZZZZZZZ9"), 4),
        (("data", "cohorts", USER, "--sitecode", "short"), ExitCode.USAGE),
    ]
    jobs = [(args, code, mode) for args, code in cases for mode in ((), ("--json",))]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: proc(*job[0], *job[2], env=env), jobs))
    for (args, code, mode), result in zip(jobs, results, strict=True):
        name = " ".join(args)
        doc = clean(name, bool(mode), result)
        assert result.exit_code == code, (name, mode, result.stderr)
        message = error_of(name, result, doc)
        assert any(word in message for word in ("sitecode", "project", "Sitecode")), message
    assert writes(server) == []


# --- bad input: the message names the mistake, in the command's own words --------------------
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ("customdata", "create", "trait", "", "--project", SITECODE),
            "The trait custom data needs the trait's name",
        ),
        (("data", "get", " ", "--sitecode", SITECODE), "The key is empty."),
        (("data", "cohorts", "", "--sitecode", SITECODE), "The user id is empty."),
    ],
    ids=["empty-trait", "empty-key", "empty-user"],
)
def test_empty_arguments_are_usage_errors_before_any_request(
    cli: CliRunner, args: tuple[str, ...], says: str
) -> None:
    env = base_env("http://127.0.0.1:9")  # nothing listens: a request would be exit 6
    human = cli(*args, env=env)
    assert human.exit_code == ExitCode.USAGE, human.stderr
    assert human.stderr.startswith(f"Error: {says}"), human.stderr
    assert ".." not in human.stderr and "snippet render" not in human.stderr, human.stderr
    doc = cli(*args, "--json", env=env).json()
    assert doc["error"]["code"] == "bad_input" and doc["error"]["message"].startswith(says)


# --- credentials HTTP cannot carry ------------------------------------------------------------
@pytest.mark.parametrize(
    "token",
    ["“sgp_pasted-with-quotes”", "sgp_first-half\nsecond-half-secret"],
    ids=["non-ascii", "line-break"],
)
def test_a_token_http_cannot_carry_is_an_auth_error_that_does_not_quote_it(
    proc: ProcRunner, ready: tuple[FakeServer, str], token: str
) -> None:
    server, _ = ready
    env = {**base_env(server.url), "SEGMENT_API_TOKEN": token}
    for mode in ((), ("--json",), ("-v",)):
        result = proc("segment", "sources", "list", *mode, env=env)
        clean("segment sources list", "--json" in mode, result)
        assert result.exit_code == ExitCode.AUTH, (mode, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        assert "a credential holds a character HTTP headers cannot carry" in output, output
        for part in token.split("\n"):
            assert part.strip("“”") not in output, (mode, output)


def test_a_damaged_cached_token_is_replaced_never_shown(
    proc: ProcRunner, ready: tuple[FakeServer, str]
) -> None:
    """The access token cached in the keyring is a secret loaded like any other: masked
    wherever it appears; a damaged one is dropped for a fresh token."""
    server, _ = ready
    env = {k: v for k, v in base_env(server.url).items() if k != "KAMELEOON_CLIENT_SECRET"}
    damaged = "cached-token-never-print\n"
    cached = json.dumps(
        {"client_id": CLIENT_ID, "token": damaged, "expires_at": time.time() + 3600}
    )
    for mode in ((), ("-v",), ("--json",)):
        proc.keyring_file.write_text(
            json.dumps(
                {
                    "ksegcli/default:client_secret": CLIENT_SECRET,
                    "ksegcli/default:access_token": cached,
                }
            )
        )
        result = proc("projects", "list", *mode, env=env)
        clean("projects list", "--json" in mode, result)
        assert result.exit_code == ExitCode.OK, (mode, result.stderr)
        assert SITECODE in result.stdout
        assert damaged.strip() not in result.stdout + result.stderr, (mode, result.stderr)
        fresh = json.loads(proc.keyring_entries()["ksegcli/default:access_token"])
        assert fresh["token"] in server.state.tokens  # replaced by a token the server gave


def test_a_cached_token_is_registered_for_redaction(memory_keyring: Any) -> None:
    from ksegcli.core.redact import MASK, redact
    from ksegcli.core.session import Session

    token = "cached-token-from-the-keyring-7"
    memory_keyring.entries[("ksegcli", "default:client_secret")] = CLIENT_SECRET
    from ksegcli.core.auth.tokens import cache_key
    from ksegcli.core.config import API

    memory_keyring.entries[("ksegcli", "default:access_token")] = json.dumps(
        {
            "client_id": CLIENT_ID,
            "token": token,
            "expires_at": time.time() + 3600,
            "key": cache_key(CLIENT_ID, CLIENT_SECRET, API.default),
        }
    )
    session = Session(env={"KAMELEOON_CLIENT_ID": CLIENT_ID})
    try:
        assert session.kameleoon().tokens.get() == token  # from the cache, no request
    finally:
        session.close()
    assert redact(f"Bearer {token}.") == f"Bearer {MASK}."


# --- Ctrl-C while the CLI is still loading --------------------------------------------------
# A real SIGINT in the first ~150 ms lands in some import; these raise KeyboardInterrupt at
# two such points on purpose, so the test does not depend on timing.
_CTRL_C_WHILE_LOADING = """
import builtins, sys
real_import = builtins.__import__
def ctrl_c_at_typer(name, *args, **kwargs):
    if name == "typer":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = ctrl_c_at_typer
sys.argv = ["ksegcli", *sys.argv[1:]]
from ksegcli.__main__ import main
main()
"""
_CTRL_C_BUILDING_THE_TREE = """
import sys
import typer.main
def ctrl_c(app):
    raise KeyboardInterrupt
typer.main.get_command = ctrl_c
sys.argv = ["ksegcli", *sys.argv[1:]]
from ksegcli.__main__ import main
main()
"""


@pytest.mark.parametrize(
    "program", [_CTRL_C_WHILE_LOADING, _CTRL_C_BUILDING_THE_TREE], ids=["import", "tree"]
)
@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_ctrl_c_while_loading_is_a_clean_interrupt(
    proc: ProcRunner, program: str, as_json: bool
) -> None:
    import subprocess
    import sys

    args = ["projects", "list", *(["--json"] if as_json else [])]
    done = subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        env=proc.env,
        timeout=30,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    if as_json:
        assert json.loads(done.stdout)["error"]["code"] == "interrupted"
        assert done.stderr == ""
    else:
        assert done.stdout == ""
        assert done.stderr.startswith("Error: Interrupted.\nHint: Nothing was left half-written")


# --- logout without a keyring must not claim it removed anything ------------------------------
@pytest.mark.parametrize(
    ("backend", "timeout"),
    [("BrokenKeyring", None), ("HangingKeyring", "0.5")],
    ids=["broken", "hanging"],
)
def test_logout_without_a_keyring_fails_and_keeps_the_profile(
    proc: ProcRunner, tmp_path: Path, backend: str, timeout: str | None
) -> None:
    from ksegcli.core.config import Profile

    profile = Profile("default", tmp_path / "config" / "default.toml", {"client_id": CLIENT_ID})
    profile.save()
    before = profile.path.read_bytes()
    env = {"PYTHON_KEYRING_BACKEND": f"ksegcli.testing.keyrings.{backend}"}
    if timeout:
        env["KSEG_KEYRING_TIMEOUT"] = timeout
    human = proc("auth", "logout", env=env)
    clean("auth logout", False, human)
    assert human.exit_code == ExitCode.CONFIG, human.stderr
    assert "Nothing stored" not in human.stderr
    assert "Error: Cannot remove the secrets of profile 'default'" in human.stderr
    assert "rerun `ksegcli auth logout`" in human.stderr
    doc = clean("auth logout", True, proc("auth", "logout", "--json", env=env))
    assert doc is not None and doc["error"]["code"] == "keyring"
    assert profile.path.read_bytes() == before  # client id kept: status still says whose


# --- a config folder that cannot be written -------------------------------------------------
def test_an_unwritable_config_folder_is_a_config_error(
    proc: ProcRunner, ready: tuple[FakeServer, str], tmp_path: Path
) -> None:
    """A dangling symlink: reading finds no profile, creating the folder fails (even as
    root, unlike a permission)."""
    server, _ = ready
    folder = tmp_path / "dangling"
    folder.symlink_to(tmp_path / "missing" / "config")
    env = {**base_env(server.url), "KSEG_CONFIG_DIR": str(folder)}
    for args in (("sitecode", "set", SITECODE), ("auth", "login")):
        for mode in ((), ("--json",)):
            result = proc(*args, *mode, env=env)
            doc = clean(" ".join(args), bool(mode), result)
            assert result.exit_code == ExitCode.CONFIG, (args, mode, result.stderr)
            message = error_of(" ".join(args), result, doc)
            assert f"Cannot write {folder / 'default.toml'}" in message, message
    assert not (tmp_path / "missing").exists()


def test_an_invalid_sitecode_in_the_profile_is_a_config_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    """Valid TOML, invalid value: still the config file's fault (exit 7), and `sitecode set`
    is the way out."""
    from ksegcli.core.config import Profile

    path = tmp_path / "config" / "default.toml"
    Profile("default", path, {"sitecode": "too-short"}).save()
    env = base_env("http://127.0.0.1:9")
    for args in (
        ("sitecode", "show"),
        ("data", "cohorts", USER),
        ("integration", "install"),
        ("snippet", "render", "persona-values"),
    ):
        result = cli(*args, env=env)
        assert result.exit_code == ExitCode.CONFIG, (args, result.stderr)
        assert "Invalid sitecode 'too-short'" in result.stderr and str(path) in result.stderr
        assert "Hint: Store a valid one with `ksegcli sitecode set CODE`." in result.stderr
    # Flag and env values stay input errors (exit 2).
    assert cli("data", "cohorts", USER, "--sitecode", "nope", env=env).exit_code == ExitCode.USAGE
    assert cli("sitecode", "set", SITECODE).exit_code == ExitCode.OK
    assert cli("sitecode", "show").stdout == f"{SITECODE}\n"


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--region", "mars", "Unknown Segment region 'mars'"),
        ("--data-region", "moon", "Unknown Data API host 'moon'"),
        ("--sitecode", "short", "Invalid sitecode 'short'"),
    ],
)
def test_doctor_flag_typos_are_usage_errors_not_failed_checks(
    cli: CliRunner, flag: str, value: str, says: str
) -> None:
    env = base_env("http://127.0.0.1:9")  # nothing listens: a check would be a request
    human = cli("doctor", flag, value, env=env)
    assert human.exit_code == ExitCode.USAGE, human.output
    assert human.stdout == "" and human.stderr.startswith(f"Error: {says}"), human.output
    doc = cli("doctor", flag, value, "--json", env=env).json()
    assert doc["error"]["code"] == "bad_input" and says in doc["error"]["message"]


def test_getapikey_without_a_keyring_reports_the_keyring_once(
    proc: ProcRunner, ready: tuple[FakeServer, str]
) -> None:
    server, _ = ready
    env = {
        **base_env(server.url),
        "PYTHON_KEYRING_BACKEND": "ksegcli.testing.keyrings.BrokenKeyring",
    }
    result = proc("auth", "getapikey", env=env)
    clean("auth getapikey", False, result)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stderr.count("the collection is locked") == 1, result.stderr
    assert result.stderr.count(KEYRING_WARNING) == 1, result.stderr
    assert "the API key was not kept. Set KAMELEOON_API_KEY where it is needed" in result.stderr
