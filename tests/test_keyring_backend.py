"""Which keyring backend a run uses, and when it needs no keyring at all.

The real Secret Service path is in test_secret_service.py; these pin the choice:
the configured backend first, then (Linux) the Secret Service, then keyring's
own choice, and "no keyring reachable" decided without importing keyring.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keyring
import keyring.core
import pytest

from ksegcli.core.auth.keyring_store import KeyringStore, select_backend, unreachable_reason
from ksegcli.testing.keyrings import FileKeyring

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux rules")


@pytest.fixture
def no_backend_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process: keyring has chosen nothing yet."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def _ci_env(tmp_path: Path) -> dict[str, str]:
    """A CI machine's: no D-Bus session, no keyring configuration, no display."""
    (tmp_path / "runtime").mkdir(exist_ok=True)
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
        "HOME": str(tmp_path),
    }


def _write_config(tmp_path: Path, backend: str) -> None:
    folder = tmp_path / "xdg" / "python_keyring"
    folder.mkdir(parents=True)
    (folder / "keyringrc.cfg").write_text(f"[backend]\ndefault-keyring={backend}\n")


def _dist(folder: Path, name: str, entry_points: str) -> None:
    dist = folder / f"{name}.dist-info"
    dist.mkdir(parents=True)
    (dist / "entry_points.txt").write_text(entry_points)


PLUGIN = "[keyring.backends]\nplain = keyrings.alt.file\n"


@linux_only
def test_without_a_session_bus_or_configuration_no_keyring_is_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    site = tmp_path / "site"
    _dist(site, "keyring-25.7.0", PLUGIN)  # keyring's own backends need the bus
    _dist(site, "other-1.0", "[console_scripts]\nother = other:main\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    reason = unreachable_reason(_ci_env(tmp_path))
    assert reason is not None and "DBUS_SESSION_BUS_ADDRESS" in reason


@linux_only
@pytest.mark.parametrize(
    "where",
    ["env backend", "config file", "bus address", "bus socket", "display", "plugin"],
)
def test_anything_that_may_lead_to_a_keyring_leaves_the_choice_to_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None, where: str
) -> None:
    env = _ci_env(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    if where == "env backend":
        env["PYTHON_KEYRING_BACKEND"] = "ksegcli.testing.keyrings.FileKeyring"
    elif where == "config file":
        _write_config(tmp_path, "ksegcli.testing.keyrings.FileKeyring")
    elif where == "bus address":
        env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus"
    elif where == "bus socket":
        (tmp_path / "runtime" / "bus").touch()
    elif where == "display":
        env["DISPLAY"] = ":0"
    else:
        _dist(site, "keyrings.alt-5.0", PLUGIN)
    assert unreachable_reason(env) is None


def test_a_backend_set_in_the_process_is_always_reachable(
    tmp_path: Path, memory_keyring: object
) -> None:
    assert keyring.get_keyring() is memory_keyring
    assert unreachable_reason(_ci_env(tmp_path)) is None


@linux_only
def test_an_unreachable_keyring_is_reported_once_and_never_imported_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    for name, value in _ci_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    chosen: list[object] = []
    monkeypatch.setattr("ksegcli.core.auth.keyring_store.select_backend", lambda: chosen.append(1))
    warnings: list[str] = []
    store = KeyringStore(timeout=2, warn=warnings.append)
    assert store.get("default", "client_secret") is None
    assert store.get("default", "api_key") is None
    assert not store.available and chosen == []
    assert len(warnings) == 1 and "DBUS_SESSION_BUS_ADDRESS" in warnings[0]
    assert "KAMELEOON_CLIENT_SECRET" in warnings[0]


def test_the_backend_named_in_the_environment_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    _write_config(tmp_path, "keyring.backends.null.Keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "ksegcli.testing.keyrings.FileKeyring")
    assert isinstance(select_backend(), FileKeyring)


@linux_only
def test_the_backend_in_keyrings_config_file_comes_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    _write_config(tmp_path, "ksegcli.testing.keyrings.FileKeyring")
    assert isinstance(select_backend(), FileKeyring)


@linux_only
def test_without_a_secret_service_keyrings_own_choice_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    from keyring.backends import SecretService

    with pytest.raises(RuntimeError):
        SecretService.Keyring.priority  # noqa: B018
    chosen = select_backend()
    assert not isinstance(chosen, SecretService.Keyring)
    assert type(chosen) is type(keyring.core._detect_backend())


def test_the_chosen_backend_serves_reads_and_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_backend_set: None
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "ksegcli.testing.keyrings.FileKeyring")
    monkeypatch.setenv("KSEG_TEST_KEYRING_FILE", str(tmp_path / "keyring.json"))
    store = KeyringStore(timeout=5)
    store.set("default", "api_key", "stored-value-1")
    assert store.get("default", "api_key") == "stored-value-1"
    assert store.backend_name() == "ksegcli.testing.keyrings.FileKeyring"
    assert '"ksegcli/default:api_key": "stored-value-1"' in (tmp_path / "keyring.json").read_text()
