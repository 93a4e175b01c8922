"""What the benchmarks against the fake server share: the checkout they measure, the
account file, a fake server with one account and its projects, the environment of a
ksegcli run, and the writes a server received.

Importing this module puts the checkout it is in first on sys.path, so the same
script measures main before and after a change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ksegcli.testing import FakeConfig, FakeServer  # noqa: E402

SECRET = "bench-secret-value"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def account_file(codes: list[str], traits: int) -> str:
    """An apply file: TRAITS traits by default, and each project of ``codes``."""
    keys = ", ".join(f'"trait_{n}"' for n in range(traits))
    lines = ["[defaults]", f"traits = [{keys}]", ""]
    lines += [f"[projects.{code}]" for code in codes]
    return "\n".join(lines) + "\n"


def serve(
    client_id: str, secret: str, projects: int, site_name: str, **config: Any
) -> tuple[FakeServer, list[str]]:
    """A started fake with these FakeConfig fields (by default Kameleoon's limits: 50
    requests per 10 s, 1,000 an hour), one account and ``projects`` projects (named
    site_name and a number); the server and the projects' sitecodes."""
    srv = FakeServer(FakeConfig(**config)).start()
    srv.add_account(client_id, secret)
    codes = [srv.add_site(client_id, name=f"{site_name}{n}")["code"] for n in range(projects)]
    return srv, codes


@contextmanager
def fake_account(
    client_id: str, secret: str, projects: int, traits: int, **config: Any
) -> Iterator[tuple[FakeServer, Path]]:
    """serve() with projects named P0, P1, ..., and the apply file of those projects in
    a temporary folder; the server stops and the folder goes on exit."""
    srv, codes = serve(client_id, secret, projects, "P", **config)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "account.toml"
            path.write_text(account_file(codes, traits))
            yield srv, path
    finally:
        srv.stop()


def ksegcli_env(
    srv: FakeServer,
    client_id: str,
    secret: str,
    folder: Path,
    *,
    rate_limit: str,
    inherit: dict[str, str] | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of a ksegcli run against ``srv``: this checkout on PYTHONPATH,
    the credentials in the environment, config and cache folders under ``folder``, CI
    mode; over ``inherit`` (default: this process's environment) and under ``extra``."""
    return {
        **(os.environ if inherit is None else inherit),
        "PYTHONPATH": str(ROOT),
        "KSEG_API_URL": srv.url,
        "KAMELEOON_CLIENT_ID": client_id,
        "KAMELEOON_CLIENT_SECRET": secret,
        "KSEG_RATE_LIMIT": rate_limit,
        "KSEG_CONFIG_DIR": str(folder / "config"),
        "KSEG_CACHE_DIR": str(folder / "cache"),
        "CI": "true",
        **extra,
    }


def isolated_env(
    srv: FakeServer, client_id: str, secret: str, folder: Path, scale: float
) -> dict[str, str]:
    """ksegcli_env() without the caller's KSEG_* and KAMELEOON_* variables, with no
    keyring, and the client's limiter at 50 per the fake's scaled 10 s window (plus 5 %)."""
    own = {k: v for k, v in os.environ.items() if not k.startswith(("KSEG_", "KAMELEOON_"))}
    return ksegcli_env(
        srv,
        client_id,
        secret,
        folder,
        rate_limit=f"50/{10 * scale * 1.05:g}",
        inherit=own,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )


def start_apply(path: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """``ksegcli apply PATH --json``, started."""
    return subprocess.Popen(
        [sys.executable, "-m", "ksegcli", "apply", str(path), "--json"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def writes(srv: FakeServer, after: float | None = None) -> list[Any]:
    """The requests that could change the server (getting a token is not one); with
    ``after``, those stamped (on arrival) later than 2 ms after that time."""
    return [
        r
        for r in srv.requests
        if r.method in WRITES
        and r.path != "/oauth/token"
        and (after is None or r.time > after + 0.002)
    ]
