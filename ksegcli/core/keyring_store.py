"""The OS keyring, bounded in time and never fatal.

Every call runs in a daemon thread with a timeout, so a hung D-Bus cannot hang
the tool. After the first failure the keyring is switched off for the rest of
the run and the user is told once, with the env-var alternative. There is no
plaintext fallback: without a keyring, secrets come from env vars.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ksegcli.core.config import keyring_timeout
from ksegcli.errors import KeyringUnavailableError

SERVICE = "ksegcli"
DEFAULT_TIMEOUT = 5.0

T = TypeVar("T")


class _Timeout(Exception):
    pass


def _entry(profile: str, name: str) -> str:
    return f"{profile}:{name}"


class KeyringStore:
    """Reads and writes ``ksegcli`` entries, one per profile and secret."""

    def __init__(
        self,
        *,
        timeout: float | None = None,
        warn: Callable[[str], None] | None = None,
        env_hint: str = (
            "env vars for secrets (KAMELEOON_CLIENT_SECRET, KAMELEOON_API_KEY, SEGMENT_API_TOKEN)"
        ),
    ) -> None:
        if timeout is None:
            timeout = keyring_timeout(default=DEFAULT_TIMEOUT)
        self.timeout = timeout
        self._warn = warn
        self._env_hint = env_hint
        self.disabled_reason: str | None = None
        self._warned = False

    @property
    def available(self) -> bool:
        return self.disabled_reason is None

    def _disable(self, reason: str) -> None:
        self.disabled_reason = reason
        if self._warn is not None and not self._warned:
            self._warned = True
            self._warn(
                f"The OS keyring is not usable ({reason}); continuing without it. "
                f"Use {self._env_hint} instead."
            )

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.disabled_reason is not None:
            raise KeyringUnavailableError(self.disabled_reason)
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # reported below, in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name="ksegcli-keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self._disable(f"no answer within {self.timeout:g} s")
            raise KeyringUnavailableError(self.disabled_reason or "timeout")
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            self._disable(_describe(exc))
            raise KeyringUnavailableError(self.disabled_reason or "error")
        value: T = box["value"]
        return value

    def get(self, profile: str, name: str) -> str | None:
        """The stored value, or None when absent or when the keyring is unusable."""
        try:
            return self._call(_get_password, _entry(profile, name))
        except KeyringUnavailableError:
            return None

    def set(self, profile: str, name: str, value: str) -> None:
        """Store a value; raises KeyringUnavailableError (with the env-var hint) on failure."""
        try:
            self._call(_set_password, _entry(profile, name), value)
        except KeyringUnavailableError:
            raise KeyringUnavailableError(
                f"Cannot store the {name.replace('_', ' ')} in the OS keyring "
                f"({self.disabled_reason}).",
                hint=f"Install and unlock a keyring (e.g. gnome-keyring), or use {self._env_hint}.",
            ) from None

    def delete(self, profile: str, name: str) -> bool:
        """Remove a value; True when something was removed."""
        try:
            return self._call(_delete_password, _entry(profile, name))
        except KeyringUnavailableError:
            return False

    def backend_name(self) -> str:
        try:
            return self._call(_backend_name)
        except KeyringUnavailableError:
            return f"unavailable ({self.disabled_reason})"


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name


def _keyring() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise RuntimeError("no keyring backend is installed or running")
    return keyring


def _get_password(entry: str) -> str | None:
    value = _keyring().get_password(SERVICE, entry)
    return value if isinstance(value, str) else None


def _set_password(entry: str, value: str) -> None:
    _keyring().set_password(SERVICE, entry, value)


def _delete_password(entry: str) -> bool:
    import keyring.errors

    try:
        _keyring().delete_password(SERVICE, entry)
    except keyring.errors.PasswordDeleteError:
        return False
    return True


def _backend_name() -> str:
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"
