"""Profiles, config files and base URLs.

One TOML file per profile, ``<config dir>/<profile>.toml``. It holds only
non-secret settings (sitecode, client id, base URLs); secrets live in the OS
keyring (see :mod:`ksegcli.core.auth.credentials`). Files are written atomically
with mode 0600 in a 0700 folder, so a crash never leaves half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ksegcli.core.paths import user_dir
from ksegcli.errors import BadInputError, ConfigError

if TYPE_CHECKING:
    import tomllib

# Env var names are part of the contract (README, "Environment"): they live here only.
ENV_CLIENT_ID = "KAMELEOON_CLIENT_ID"
ENV_CLIENT_SECRET = "KAMELEOON_CLIENT_SECRET"
ENV_API_KEY = "KAMELEOON_API_KEY"
ENV_SITECODE = "KAMELEOON_SITECODE"
ENV_SEGMENT_TOKEN = "SEGMENT_API_TOKEN"
ENV_PROFILE = "KSEG_PROFILE"
ENV_CONFIG_DIR = "KSEG_CONFIG_DIR"
# Rehearsal knob for sandboxes whose clock runs faster: "50/10" = 50 requests per 10 s.
ENV_RATE_LIMIT = "KSEG_RATE_LIMIT"
ENV_KEYRING_TIMEOUT = "KSEG_KEYRING_TIMEOUT"
# Same knob for Segment's alpha subscription endpoints: "5/60" = 5 writes a minute.
ENV_SEGMENT_WRITE_LIMIT = "KSEG_SEGMENT_WRITE_LIMIT"
# Seconds one HTTP request may take in all, from sending to the answer's last byte.
ENV_REQUEST_DEADLINE = "KSEG_REQUEST_DEADLINE"
# The account's hourly request budget, shared by every process: "1000" or "1000/3600".
ENV_HOURLY_LIMIT = "KSEG_HOURLY_LIMIT"
# Seconds a run that writes waits for another run of the account to finish (0: not at all).
ENV_LOCK_TIMEOUT = "KSEG_LOCK_TIMEOUT"

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Service:
    """A remote service whose base URL the user may override."""

    key: str  # key in the profile file
    env: str  # env var
    default: str
    label: str


API = Service("api_url", "KSEG_API_URL", "https://api.kameleoon.com", "Automation API")
CUSTOMERS = Service(
    "customers_url", "KSEG_CUSTOMERS_URL", "https://customers.kameleoon.com", "API-key service"
)
DATA_API = Service("data_api_url", "KSEG_DATA_API_URL", "https://data.kameleoon.io", "Data API")
SEGMENT_API = Service(
    "segment_api_url", "KSEG_SEGMENT_API_URL", "https://api.segmentapis.com", "Segment Public API"
)
SEGMENT_TRACKING = Service(
    "segment_tracking_url",
    "KSEG_SEGMENT_TRACKING_URL",
    "https://api.segment.io",
    "Segment Tracking API",
)
SERVICES = (API, CUSTOMERS, DATA_API, SEGMENT_API, SEGMENT_TRACKING)

# Keys a profile file may hold, with their types.
PROFILE_KEYS: dict[str, type] = {
    "sitecode": str,
    "client_id": str,
    "segment_region": str,
    **{s.key: str for s in SERVICES},
}

# \Z, not $: "$" also matches before a trailing newline. ASCII classes only.
_PROFILE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_SITECODE_RE = re.compile(r"\A[A-Za-z0-9]{10}\Z")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_project_id(value: str) -> bool:
    """A numeric project id: ASCII digits only ("١٢٣".isdigit() is true, and int() takes it)."""
    return value.isascii() and value.isdigit()


def validate_profile_name(name: str) -> str:
    if not _PROFILE_RE.match(name):
        raise BadInputError(
            f"Invalid profile name {_shown(name)}.",
            hint="Use letters, digits, '.', '_' or '-' (at most 64 characters).",
        )
    return name


def validate_sitecode(code: str) -> str:
    """A sitecode is exactly 10 ASCII letters or digits (Segment refuses any other length)."""
    code = code.strip()
    if not _SITECODE_RE.match(code):
        raise BadInputError(
            f"Invalid sitecode {code!r}: a sitecode is exactly 10 letters or digits.",
            hint="Find it in Kameleoon under Admin › Projects, or run `ksegcli projects list`.",
        )
    return code


def is_sitecode(value: str) -> bool:
    return bool(_SITECODE_RE.match(value))


def _shown(value: str, limit: int = 80) -> str:
    """A value quoted for a message, cut to ``limit`` characters (a 100 KB value is not echoed)."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value)} chars)"


def validate_base_url(url: str, *, source: str) -> str:
    """Only https, except loopback hosts which may use http (tests and sandboxes)."""
    bad = ConfigError(
        f"Invalid base URL {_shown(url)} from {source}: expected https://host[:port]."
    )
    if len(url) > 2048 or not url.isprintable() or any(c.isspace() for c in url.strip()):
        raise bad
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not host:
        raise bad
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"Base URL {url!r} from {source} must use https://.",
            hint="Plain http:// is allowed only for 127.0.0.1, localhost and [::1].",
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"Base URL {url!r} from {source} must not have a query or fragment.")
    return url.strip().rstrip("/")


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    return user_dir("config", ENV_CONFIG_DIR, env)


def profile_path(profile: str, env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / f"{validate_profile_name(profile)}.toml"


def _format_toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's message already ends with "(at line L, column C)"; keep it.
    return f"{path}: invalid TOML: {exc}"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError naming the file."""
    import tomllib  # ~5 ms: only runs that have a file to read pay it

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text.") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: invalid TOML: nested too deeply.",
            hint="Fix the file or delete it to start afresh.",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _format_toml_error(path, exc), hint="Fix the file or delete it to start afresh."
        ) from None


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` all-or-nothing: temp file in the same folder, fsync, rename."""
    import tempfile

    # A symlink is followed to its target (never replaced by a file); a FIFO or a device
    # is written through (a rename would put a regular file in its place).
    if os.path.islink(path):
        path = Path(os.path.realpath(path))
    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        kind = 0
    if kind and not stat.S_ISREG(kind) and not stat.S_ISDIR(kind):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) 0700; an existing folder's mode is never changed."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def open_to_others(folder: Path) -> bool:
    try:
        return bool(os.stat(folder).st_mode & 0o077)
    except OSError:
        return False


@contextlib.contextmanager
def file_lock(path: Path) -> Any:
    """An exclusive advisory lock on ``path`` (a folder or an existing file) for the
    ``with`` body; no lock file is left behind."""

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass
class Profile:
    """The settings of one profile, as stored in its file."""

    name: str
    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set, compare=False, repr=False)
    # Where a save says the folder is open to others (the session's warnings).
    warn: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) and value else None

    def set(self, key: str, value: str | None) -> None:
        if key not in PROFILE_KEYS:
            raise KeyError(key)
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value
        self.changed.add(key)

    def save(self) -> None:
        """Write the keys this run changed over what the file holds now, under a lock, so
        that two commands saving at once (`auth login` and `sitecode set`) lose nothing."""
        import tomli_w

        # A symlinked profile stays a symlink: its target is written.
        target = Path(os.path.realpath(self.path)) if self.path.is_symlink() else self.path
        try:
            make_private_dir(target.parent)
            self._warn_if_open(target.parent)
            with file_lock(target.parent):
                try:
                    current = read_toml(target)
                except FileNotFoundError:
                    current = {}
                for key in self.changed:
                    if key in self.values:
                        current[key] = self.values[key]
                    else:
                        current.pop(key, None)
                if not self.changed:
                    current = dict(self.values)
                atomic_write(target, tomli_w.dumps(current).encode("utf-8"))
                self.values = current
                self.changed.clear()
        except OSError as exc:  # a folder that cannot be made or written: the user's to fix
            raise ConfigError(
                f"Cannot write {self.path}: {exc.strerror or exc}.",
                hint=f"Check that this folder can be created and written, or set "
                f"{ENV_CONFIG_DIR} to one that can.",
            ) from None

    def _warn_if_open(self, folder: Path) -> None:
        """An existing folder keeps its mode (it may be shared on purpose), but the user
        is told when others can read or write where credentials settings live."""
        if self.warn is None or not open_to_others(folder):
            return

        mode = stat.S_IMODE(os.stat(folder).st_mode)
        self.warn(
            f"The config folder {folder} is open to other users (mode {mode:04o}); ksegcli "
            f"never changes an existing folder's mode. `chmod 700 {folder}` makes it private."
        )


def load_profile(name: str, env: Mapping[str, str] | None = None) -> Profile:
    path = profile_path(name, env)
    try:
        values = read_toml(path)
    except FileNotFoundError:
        return Profile(name=name, path=path)
    for key, value in values.items():
        expected = PROFILE_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{path}: unknown setting {key!r}.",
                hint=f"Known settings: {', '.join(sorted(PROFILE_KEYS))}.",
            )
        if not isinstance(value, expected):
            raise ConfigError(f"{path}: setting {key!r} must be a {expected.__name__}.")
    return Profile(name=name, path=path, values=values)


def base_url(
    service: Service, profile: Profile | None, env: Mapping[str, str] | None = None
) -> str:
    """Env var, then profile, then the public default; validated every time."""
    env = os.environ if env is None else env
    if env.get(service.env):
        return validate_base_url(env[service.env], source=service.env)
    if profile is not None and profile.get(service.key):
        return validate_base_url(
            str(profile.get(service.key)), source=f"{profile.path} ({service.key})"
        )
    return service.default


def rate_limit(env: Mapping[str, str] | None = None) -> tuple[int, float]:
    """Client-side request budget (count, window seconds); default Kameleoon's 50 per 10 s."""
    return _parse_limit(ENV_RATE_LIMIT, (50, 10.0), env)


def segment_write_limit(env: Mapping[str, str] | None = None) -> tuple[int, float]:
    """Budget for Segment's alpha subscription writes; default 5 per minute."""
    return _parse_limit(ENV_SEGMENT_WRITE_LIMIT, (5, 60.0), env)


def _parse_limit(
    name: str, default: tuple[int, float], env: Mapping[str, str] | None
) -> tuple[int, float]:
    env = os.environ if env is None else env
    raw = env.get(name)
    if not raw:
        return default
    try:
        count, window = raw.split("/", 1)
        if not (count.strip().isascii() and count.strip().isdigit()):
            raise ValueError(count)
        parsed = int(count), float(window)
    except ValueError:
        raise ConfigError(
            f"{name}={_shown(raw)} is not COUNT/SECONDS (for example 50/10)."
        ) from None
    # nan compares false with everything: test what is allowed, not what is not.
    if not (1 <= parsed[0] <= 1_000_000 and 0 < parsed[1] <= 86_400):
        raise ConfigError(
            f"{name}={_shown(raw)}: COUNT must be 1 to 1000000 and SECONDS a finite "
            "number above 0, at most 86400."
        )
    return parsed


def keyring_timeout(env: Mapping[str, str] | None = None, default: float = 5.0) -> float:
    """Seconds a keyring call may take (KSEG_KEYRING_TIMEOUT): finite, above 0."""
    env = os.environ if env is None else env
    raw = env.get(ENV_KEYRING_TIMEOUT)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 3600:  # false for nan too
        raise ConfigError(
            f"{ENV_KEYRING_TIMEOUT}={_shown(raw)} is not a number of seconds above 0 "
            "(at most 3600)."
        )
    return value


def request_deadline(env: Mapping[str, str] | None = None) -> float:
    """Seconds one HTTP request may take in all (default 120); validated."""
    from ksegcli.core.http.client import DEFAULT_DEADLINE

    return _parse_seconds(ENV_REQUEST_DEADLINE, DEFAULT_DEADLINE, env, maximum=3600.0)


def lock_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for another run of the account (default 600; 0 fails at once)."""
    from ksegcli.core.lock import DEFAULT_TIMEOUT

    return _parse_seconds(ENV_LOCK_TIMEOUT, DEFAULT_TIMEOUT, env, maximum=86_400.0, zero=True)


def _parse_seconds(
    name: str,
    default: float,
    env: Mapping[str, str] | None,
    *,
    maximum: float,
    zero: bool = False,
) -> float:
    env = os.environ if env is None else env
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={_shown(raw)} is not a number of seconds.") from None
    above_low = value >= 0 if zero else value > 0
    if not (above_low and value <= maximum):  # false for NaN and infinity too
        raise ConfigError(
            f"{name}={_shown(raw)}: give a number of seconds "
            f"{'from 0' if zero else 'above 0'}, at most {maximum:g}."
        )
    return value


def hourly_limit(env: Mapping[str, str] | None = None) -> tuple[int, float]:
    """The account's request budget per hour (count, window seconds); default 1,000 / 3,600 s.

    ``KSEG_HOURLY_LIMIT`` takes a count, or COUNT/SECONDS for sandboxes whose clock runs faster.
    """
    env = os.environ if env is None else env
    raw = (env.get(ENV_HOURLY_LIMIT) or "").strip()
    if raw and "/" not in raw:
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
            raise ConfigError(
                f"{ENV_HOURLY_LIMIT}={_shown(raw)} is not a count of requests from 1 to 1000000 "
                "(or COUNT/SECONDS, for example 1000/3600)."
            )
        return int(raw), 3600.0
    return _parse_limit(ENV_HOURLY_LIMIT, (1000, 3600.0), env)
