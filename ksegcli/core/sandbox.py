"""``ksegcli sandbox``: the fake Kameleoon + Segment services, for trying ksegcli offline
and for users' own CI.

The sandbox is :class:`ksegcli.testing.FakeServer` with its demo data, bound to
127.0.0.1 only. Its settings are shell ``export`` lines (stdout), so that
``eval "$(ksegcli sandbox --print-env)"`` points ksegcli at a running sandbox.
Client-side rate limits are scaled with the sandbox's clock (``--time-scale``)
so that pacing matches what the sandbox enforces.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.errors import BadInputError, NetworkError
from ksegcli.testing import FakeConfig, FakeServer

if TYPE_CHECKING:
    from ksegcli.testing import FakeConfig, FakeServer

HOST = "127.0.0.1"  # loopback only: the sandbox holds no real data but answers anyone who asks
DEFAULT_PORT = 8765
PROFILE = "sandbox"  # keeps sandbox settings and keyring entries away from real profiles
DEMO_USER = "demo-user"  # the demo data hold remote data for this Segment user id
# Convenience variables for walk-throughs and CI scripts (ksegcli itself does not read them).
ENV_SOURCE_ID = "SANDBOX_SOURCE_ID"
ENV_USER_ID = "SANDBOX_USER_ID"
ADMIN_STATE = "/_fake/state"
ADMIN_CONFIG = "/_fake/config"


@dataclass(frozen=True)
class SandboxSettings:
    port: int = DEFAULT_PORT
    time_scale: float = 1.0
    latency: float = 0.0
    error_rate: float = 0.0
    seed: int = 0

    def validate(self) -> SandboxSettings:
        if not 0 <= self.port <= 65535:
            raise BadInputError(f"--port {self.port} is not a TCP port (0 picks a free one).")
        if self.time_scale <= 0:
            raise BadInputError("--time-scale must be positive (0.01 = windows 100× shorter).")
        if self.latency < 0:
            raise BadInputError("--latency must be zero or more seconds.")
        if not 0 <= self.error_rate <= 1:
            raise BadInputError("--error-rate must be between 0 and 1.")
        return self

    def fake_config(self) -> FakeConfig:
        return FakeConfig(
            time_scale=self.time_scale,
            latency=self.latency,
            error_rate=self.error_rate,
            seed=self.seed,
        )


def _limit(count: int, window: float) -> str:
    return f"{count}/{window:g}"


def sandbox_env(
    url: str, demo: Mapping[str, Any], fake_config: Mapping[str, Any]
) -> dict[str, str]:
    """The variables that point ksegcli at the sandbox, in a stable order."""
    scale = float(fake_config.get("time_scale", 1.0))
    env = {service.env: url for service in config.SERVICES}
    env.update(
        {
            config.ENV_PROFILE: PROFILE,
            config.ENV_CLIENT_ID: str(demo["client_id"]),
            config.ENV_CLIENT_SECRET: str(demo["client_secret"]),
            config.ENV_SITECODE: str(demo["sitecode"]),
            config.ENV_SEGMENT_TOKEN: str(demo["segment_token"]),
            config.ENV_RATE_LIMIT: _limit(
                int(fake_config.get("rate_limit", 50)),
                float(fake_config.get("rate_window", 10.0)) * scale,
            ),
            config.ENV_HOURLY_LIMIT: _limit(
                # a server without an hourly limit (<= 0): no client-side one either
                max(int(fake_config.get("hourly_limit", 1000)), 0) or 1_000_000,
                3600.0 * scale,
            ),
            config.ENV_SEGMENT_WRITE_LIMIT: _limit(
                int(fake_config.get("segment_write_limit", 5)),
                float(fake_config.get("segment_write_window", 60.0)) * scale,
            ),
            ENV_SOURCE_ID: str(demo["source_id"]),
            ENV_USER_ID: DEMO_USER,
        }
    )
    return env


def export_lines(env: Mapping[str, str]) -> list[str]:
    return [f"export {key}={shlex.quote(value)}" for key, value in env.items()]


def _demo_credentials() -> dict[str, Any]:
    """The demo account's fixed credentials, as the fake's demo seeding defines them."""

    seeded = FakeServer().seed_demo()  # never started: only the constants are wanted
    return {
        "client_id": seeded["client_id"],
        "client_secret": seeded["client_secret"],
        "segment_token": seeded["segment_token"],
    }


class Sandbox:
    """A running sandbox (in this process)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings.validate()
        self.server: FakeServer = FakeServer(settings.fake_config(), host=HOST, port=settings.port)
        self.demo = self.server.seed_demo()
        self._stop = threading.Event()

    def start(self) -> Sandbox:
        try:
            self.server.start()
        except OSError as exc:
            raise BadInputError(
                f"Cannot listen on {HOST}:{self.settings.port}: {exc.strerror or exc}.",
                hint="Pick another --port (0 picks a free one), or stop what uses it.",
            ) from None
        return self

    @property
    def url(self) -> str:
        return self.server.url

    def env(self) -> dict[str, str]:
        demo = {
            "client_id": self.demo["client_id"],
            "client_secret": self.demo["client_secret"],
            "sitecode": self.demo["sites"][0]["code"],
            "segment_token": self.demo["segment_token"],
            "source_id": self.demo["segment_source"]["id"],
        }
        cfg = self.server.config
        return sandbox_env(
            self.url,
            demo,
            {
                "time_scale": cfg.time_scale,
                "rate_limit": cfg.rate_limit,
                "rate_window": cfg.rate_window,
                "hourly_limit": cfg.hourly_limit,
                "segment_write_limit": cfg.segment_write_limit,
                "segment_write_window": cfg.segment_write_window,
            },
        )

    def stop(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        """Serve until :meth:`stop` (SIGTERM) or Ctrl-C (KeyboardInterrupt reaches the caller)."""
        try:
            while not self._stop.wait(0.2):
                pass
        finally:
            self.server.stop()


def read_env(port: int, *, wait: float = 10.0) -> dict[str, str]:
    """The settings of a sandbox already running on ``port`` (waits up to ``wait`` s for it)."""
    import httpx

    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + wait
    last: Exception | None = None
    while True:
        try:
            with httpx.Client(base_url=url, timeout=5.0) as client:
                state = client.get(ADMIN_STATE).raise_for_status().json()
                fake_config = client.get(ADMIN_CONFIG).raise_for_status().json()
            break
        except (httpx.HTTPError, ValueError) as exc:
            last = exc
            if time.monotonic() >= deadline:
                raise NetworkError(
                    f"No ksegcli sandbox answers on {url} ({type(last).__name__}).",
                    hint=f"Start one: `ksegcli sandbox --port {port} &`.",
                ) from None
            time.sleep(0.2)
    demo = _demo_credentials()
    sites = [s for s in state.get("sites", []) if s.get("owner") == demo["client_id"]]
    sources = state.get("segment_sources") or []
    if not sites or not sources:
        raise NetworkError(
            f"The server on {url} holds no sandbox demo data.",
            hint="Start the sandbox with `ksegcli sandbox`, which seeds them.",
        )
    demo.update({"sitecode": sites[0]["code"], "source_id": sources[0]["id"]})
    return sandbox_env(url, demo, fake_config)
