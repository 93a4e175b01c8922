"""The OS keyring, bounded in time and never fatal.

Every call runs in a daemon thread with a timeout, so a hung D-Bus cannot hang
the tool. After the first failure the keyring is switched off for the rest of
the run and the user is told once, with the env-var alternative. There is no
plaintext fallback: without a keyring, secrets come from env vars.

Importing keyring costs about as much as the rest of a run (its dependencies
load an HTTP client, ssl and email parsing), and its own choice of backend
imports the macOS one even on Linux and searches for shared libraries. So:

- keyring is imported at the first call that really reads or stores a secret,
  never before;
- where no keyring can be reached at all (Linux without a D-Bus session, no
  backend named in ``PYTHON_KEYRING_BACKEND`` or keyring's config file, no
  backend plugin installed: a CI machine) the store is off without importing it;
- the backend is chosen directly: the one ``PYTHON_KEYRING_BACKEND`` or
  keyring's config file names, else on Linux the Secret Service when it
  answers, else keyring's own choice. A backend already set in the process
  (``keyring.set_keyring``) is used as it is.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ksegcli.core.config import keyring_timeout
from ksegcli.errors import KeyringUnavailableError

SERVICE = "ksegcli"
DEFAULT_TIMEOUT = 5.0

T = TypeVar("T")


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
        self._reachable_checked = False

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
        if self.disabled_reason is None and not self._reachable_checked:
            self._reachable_checked = True
            unreachable = unreachable_reason()
            if unreachable is not None:
                self._disable(unreachable)
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


def unreachable_reason(env: Mapping[str, str] | None = None) -> str | None:
    """Why no OS keyring can be reached by this process, found without importing
    keyring; None when one may be there (keyring itself then decides)."""
    env = os.environ if env is None else env
    core = sys.modules.get("keyring.core")
    if core is not None and getattr(core, "_keyring_backend", None) is not None:
        return None  # a backend was set in this process: it is the one to use
    if not sys.platform.startswith("linux") or env.get("PYTHON_KEYRING_BACKEND"):
        return None
    if os.path.exists(keyring_config_path(env)) or _session_bus_possible(env):
        return None
    if _backend_plugins_installed():
        return None
    return "no D-Bus session for a Secret Service: DBUS_SESSION_BUS_ADDRESS is not set"


def keyring_config_path(env: Mapping[str, str]) -> str:
    """keyring's own config file on Linux (keyring.util.platform_.config_root)."""
    root = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(root, "python_keyring", "keyringrc.cfg")


def _session_bus_possible(env: Mapping[str, str]) -> bool:
    """Whether a D-Bus client may find a session bus: the address, the standard
    socket, or an X display (libdbus and GDBus can start a bus for it)."""
    if env.get("DBUS_SESSION_BUS_ADDRESS") or env.get("DISPLAY"):
        return True
    runtime = env.get("XDG_RUNTIME_DIR")
    return bool(runtime) and os.path.exists(os.path.join(runtime or "", "bus"))


def _backend_plugins_installed() -> bool:
    """Whether a distribution other than keyring declares a ``keyring.backends``
    entry point (as keyring reads them, without importlib.metadata's cost)."""
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")) or name.startswith("keyring-"):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    if "[keyring.backends]" in f.read():
                        return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


def select_backend() -> Any:
    """The backend to use when none is set: the configured one, else (Linux) the
    Secret Service when it answers, else keyring's own choice."""
    import keyring
    import keyring.core

    configured = keyring.core.load_env() or keyring.core.load_config()
    if configured is not None:
        return configured
    if sys.platform.startswith("linux"):
        from keyring.backends import SecretService

        try:
            SecretService.Keyring.priority  # noqa: B018 (raises RuntimeError unless it answers)
        except RuntimeError:
            pass
        else:
            return SecretService.Keyring()  # type: ignore[no-untyped-call]
    keyring.core.init_backend()
    return keyring.get_keyring()


def _backend() -> Any:
    """The process's backend, chosen by :func:`select_backend` on first use."""
    import keyring
    import keyring.core

    if getattr(keyring.core, "_keyring_backend", None) is None:
        keyring.set_keyring(select_backend())
    return keyring.get_keyring()


def _keyring() -> Any:
    from keyring.backends import fail

    if isinstance(_backend(), fail.Keyring):
        raise RuntimeError("no keyring backend is installed or running")
    import keyring

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
    backend = _backend()
    return f"{type(backend).__module__}.{type(backend).__name__}"
