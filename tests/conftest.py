"""Shared fixtures: an isolated environment for every test, an in-process CLI
runner, a subprocess runner, and the fake Kameleoon/Segment server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest

from ksegcli.core import interrupt
from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.core.redact import clear_secrets
from ksegcli.testing.keyrings import FILE_ENV, MemoryKeyring

if TYPE_CHECKING:
    import respx

    from ksegcli.testing import FakeServer, RequestRecord

# Every env var ksegcli reads: cleared before each test so the developer's own
# environment can never leak into (or be changed by) a test.
KSEG_ENV_VARS = (
    "KAMELEOON_CLIENT_ID",
    "KAMELEOON_CLIENT_SECRET",
    "KAMELEOON_API_KEY",
    "KAMELEOON_SITECODE",
    "SEGMENT_API_TOKEN",
    "KSEG_PROFILE",
    "KSEG_CONFIG_DIR",
    "KSEG_CACHE_DIR",
    "KSEG_API_URL",
    "KSEG_CUSTOMERS_URL",
    "KSEG_DATA_API_URL",
    "KSEG_SEGMENT_API_URL",
    "KSEG_SEGMENT_TRACKING_URL",
    "KSEG_RATE_LIMIT",
    "KSEG_SEGMENT_WRITE_LIMIT",
    "KSEG_KEYRING_TIMEOUT",
    "KSEG_REQUEST_DEADLINE",
    "KSEG_HOURLY_LIMIT",
    "KSEG_LOCK_TIMEOUT",
    "KSEG_TRACE",
    "PYTHON_KEYRING_BACKEND",
    "CI",
    "NO_COLOR",
    FILE_ENV,
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Empty env, a config dir in tmp_path, an in-memory keyring."""
    for name in KSEG_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KSEG_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("KSEG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    clear_secrets()
    interrupt.reset()  # a Ctrl-C flag is process-wide: one test's never reaches another
    yield memory
    keyring.set_keyring(previous)
    clear_secrets()
    interrupt.reset()


@pytest.fixture
def memory_keyring(isolated: MemoryKeyring) -> MemoryKeyring:
    return isolated


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class CliRunner:
    """Runs ``ksegcli`` in-process through the same entry point as the console script."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: str, env: Mapping[str, str] | None = None, stdin: str = "") -> Result:
        import io

        from ksegcli.cli import run

        for key, value in (env or {}).items():
            self._monkeypatch.setenv(key, value)
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self._capsys.readouterr()
        code = run(list(args))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return CliRunner(capsys, monkeypatch)


class ProcRunner:
    """Runs the real CLI as a subprocess (``python -m ksegcli``), with a file keyring."""

    def __init__(self, tmp_path: Path) -> None:
        self.keyring_file = tmp_path / "keyring.json"
        self.env: dict[str, str] = {
            key: value for key, value in os.environ.items() if key not in KSEG_ENV_VARS
        }
        self.env.update(
            {
                "KSEG_CONFIG_DIR": str(tmp_path / "config"),
                "KSEG_CACHE_DIR": str(tmp_path / "cache"),
                "PYTHON_KEYRING_BACKEND": "ksegcli.testing.keyrings.FileKeyring",
                FILE_ENV: str(self.keyring_file),
                "COLUMNS": "200",
                "CI": "true",
            }
        )

    def keyring_entries(self) -> dict[str, str]:
        if not self.keyring_file.exists():
            return {}
        data: dict[str, str] = json.loads(self.keyring_file.read_text())
        return data

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        timeout: float = 60,
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "ksegcli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def login(
        self, client_id: str, secret: str, *flags: str, env: Mapping[str, str] | None = None
    ) -> Result:
        """``auth login --client-id ID --client-secret-stdin [flags]``, ``secret`` on stdin."""
        args = ("auth", "login", "--client-id", client_id, "--client-secret-stdin", *flags)
        return self(*args, env=env, stdin=secret)


@pytest.fixture
def proc(tmp_path: Path) -> ProcRunner:
    return ProcRunner(tmp_path)


# --- the fake Kameleoon / Segment server --------------------------------------------
CLIENT_ID = "client-e2e"
CLIENT_SECRET = "e2e-secret-5f2b9c"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class FakeFactory:
    """Starts FakeServers for one test and stops them all when it ends."""

    def __init__(self) -> None:
        self.started: list[FakeServer] = []

    def __call__(
        self, *, account: tuple[str, str] | None = (CLIENT_ID, CLIENT_SECRET), **config: Any
    ) -> FakeServer:
        """A started FakeServer with these FakeConfig fields (time_scale, latency, ...) and
        the account (client id, secret), unless account is None."""
        from ksegcli.testing import FakeConfig, FakeServer

        server = FakeServer(FakeConfig(**config)).start()
        self.started.append(server)
        if account is not None:
            server.add_account(*account)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def make_fake() -> Iterator[FakeFactory]:
    """Call it to start fake servers: ``make_fake(time_scale=0.01, account=(id, secret))``."""
    factory = FakeFactory()
    yield factory
    factory.stop_all()


@pytest.fixture
def fake(make_fake: FakeFactory) -> FakeServer:
    """A started FakeServer with one account (CLIENT_ID / CLIENT_SECRET)."""
    return make_fake()


def fake_env(
    server: FakeServer | str,
    *,
    credentials: bool = True,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    sitecode: str | None = None,
    segment_token: str | None = None,
    rate_limit: str | None = None,
    segment_write_limit: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Env vars pointing every ksegcli service at the fake (or at a base URL), with the
    Kameleoon credentials unless credentials is False, the values given, then ``extra``
    (env var names) over them."""
    url = server if isinstance(server, str) else server.url
    env = {
        "KSEG_API_URL": url,
        "KSEG_CUSTOMERS_URL": url,
        "KSEG_DATA_API_URL": url,
        "KSEG_SEGMENT_API_URL": url,
        "KSEG_SEGMENT_TRACKING_URL": url,
    }
    if credentials:
        env["KAMELEOON_CLIENT_ID"] = client_id
        env["KAMELEOON_CLIENT_SECRET"] = client_secret
    optional = {
        "KAMELEOON_SITECODE": sitecode,
        "SEGMENT_API_TOKEN": segment_token,
        "KSEG_RATE_LIMIT": rate_limit,
        "KSEG_SEGMENT_WRITE_LIMIT": segment_write_limit,
    }
    env.update({name: value for name, value in optional.items() if value is not None})
    env.update(extra)
    return env


@dataclass(frozen=True)
class Tenant:
    """The account a test module signs in with: a Kameleoon client and, when it has one,
    a Segment workspace token. Its own values keep one module's secrets apart from
    another's, so a leak names the module."""

    client_id: str
    client_secret: str
    segment_token: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """What no output may show: the client secret, the token, the derived API key."""
        token = () if self.segment_token is None else (self.segment_token,)
        return (self.client_secret, *token, derive_api_key(self.client_id, self.client_secret))

    def serve(self, make_fake: FakeFactory, *, site: tuple[str, str] | None = None) -> FakeServer:
        """A fake at time_scale 0.01 (Segment's 5-writes-a-minute window lasts 0.6 s) with
        this account, the project ``site`` (name, sitecode) and the Segment workspace."""
        server = make_fake(account=(self.client_id, self.client_secret), time_scale=0.01)
        if site is not None:
            server.add_site(self.client_id, name=site[0], code=site[1])
        if self.segment_token is not None:
            server.add_segment_workspace(self.segment_token)
        return server

    def env(self, server: FakeServer | str, **values: Any) -> dict[str, str]:
        """fake_env() with this account's credentials and token."""
        return fake_env(
            server,
            client_id=self.client_id,
            client_secret=self.client_secret,
            segment_token=self.segment_token,
            **values,
        )

    def fixtures(self, *, no_traceback: bool = False, **values: str) -> tuple[Any, Any]:
        """The fixtures ``srv`` (serve(): a fake with this account) and ``run`` (ksegcli
        against it, with env(srv, **values), checking the client secret is never printed),
        for a module to take as its own: ``srv, run = ACCOUNT.fixtures()``."""

        @pytest.fixture(name="srv")
        def srv(make_fake: FakeFactory) -> FakeServer:
            return self.serve(make_fake)

        @pytest.fixture(name="run")
        def run(srv: FakeServer, proc: ProcRunner) -> Callable[..., Result]:
            secrets = [self.client_secret]
            return checked_runner(
                proc, self.env(srv, **values), secrets=secrets, no_traceback=no_traceback
            )

        return srv, run


def checked_runner(
    proc: ProcRunner,
    env: Mapping[str, str],
    *,
    secrets: Sequence[str],
    words: Sequence[str] = (),
    no_traceback: bool = False,
) -> Callable[..., Result]:
    """``proc`` with ``env`` and the leading ``words``, asserting that no secret is in
    what it prints (and, with no_traceback, that stderr holds no traceback)."""

    def call(*args: str) -> Result:
        result = proc(*words, *args, env=env)
        for secret in secrets:
            assert secret not in result.stdout + result.stderr
        if no_traceback:
            assert "Traceback" not in result.stderr
        return result

    return call


@contextmanager
def automation_api(base_url: str, token: str) -> Iterator[respx.MockRouter]:
    """respx for the Automation API at ``base_url``: its OAuth endpoint hands out
    ``token`` for two hours; the test adds the routes it needs."""
    import httpx
    import respx

    with respx.mock(base_url=base_url, assert_all_called=False) as mock:
        mock.post("/oauth/token").mock(
            return_value=httpx.Response(200, json={"access_token": token, "expires_in": 7200})
        )
        yield mock


def check_statuses(doc: dict[str, Any]) -> dict[str, str]:
    """A doctor --json document's checks: id -> status."""
    return {c["id"]: c["status"] for c in doc["checks"]}


def write_records(server: FakeServer, *, service: str | None = None) -> list[RequestRecord]:
    """The requests that could change the fake's state (POST, PUT, PATCH, DELETE), oldest
    first; getting an OAuth token is not one. With service: that service's only."""
    return [
        r
        for r in server.requests
        if r.method in WRITE_METHODS
        and r.path != "/oauth/token"
        and (service is None or r.service == service)
    ]


def writes(server: FakeServer, *, service: str | None = None) -> list[tuple[str, str]]:
    """(method, path) of each write_records() request."""
    return [(r.method, r.path) for r in write_records(server, service=service)]
