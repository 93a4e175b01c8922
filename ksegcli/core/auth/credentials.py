"""Where each credential comes from.

Precedence (docs/design.md): command-line flag → env var → OS keyring → prompt
(TTY only). The client id is not a secret: it is kept in the profile file so
that ``auth status`` can say whose secret the keyring holds. Everything else
is a secret and is registered for redaction the moment it is loaded.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ksegcli.core import config
from ksegcli.core.auth.keyring_store import KeyringStore
from ksegcli.core.redact import register_secret
from ksegcli.errors import ConfigError, NotLoggedInError, UsageError

# Longer than any real client id, secret, key or token; a URL or header would fail on it.
MAX_CREDENTIAL_LENGTH = 1024

Source = Literal["flag", "env", "keyring", "config", "prompt", "stdin", "derived"]


@dataclass(frozen=True)
class CredentialSpec:
    name: str  # keyring entry / profile key
    label: str
    env: str
    flag: str  # how to give it on the command line
    secret: bool
    store_command: str = "ksegcli auth login"  # the command that keeps it in the keyring


CLIENT_ID = CredentialSpec(
    "client_id", "Kameleoon client id", config.ENV_CLIENT_ID, "--client-id", secret=False
)
CLIENT_SECRET = CredentialSpec(
    "client_secret",
    "Kameleoon client secret",
    config.ENV_CLIENT_SECRET,
    "--client-secret-stdin",
    secret=True,
)
API_KEY = CredentialSpec(
    "api_key",
    "Segment destination API key",
    config.ENV_API_KEY,
    "--api-key-stdin",
    secret=True,
    store_command="ksegcli auth getapikey",
)
SEGMENT_TOKEN = CredentialSpec(
    "segment_token",
    "Segment Public API token",
    config.ENV_SEGMENT_TOKEN,
    "--token-stdin",
    secret=True,
    store_command="ksegcli segment login",
)
ALL = (CLIENT_ID, CLIENT_SECRET, API_KEY, SEGMENT_TOKEN)


@dataclass(frozen=True)
class Credential:
    spec: CredentialSpec
    value: str
    source: Source


# -- when to ask ----------------------------------------------------------------------
#: What a value kept by an earlier login is worth to the command at hand:
#: "use" it (every command that only reads credentials); "ask_first" on a terminal, as
#: a login replaces it, but keep it off a terminal or when the answer is empty
#: (``auth login``); "never" a candidate (``segment login`` proves a new token).
Stored = Literal["use", "ask_first", "never"]
#: Where a value kept by an earlier login is found.
STORED_SOURCES: frozenset[Source] = frozenset({"keyring", "config"})


@dataclass(frozen=True)
class Use:
    """Go on with this credential (a flag, the environment, or what is stored)."""

    credential: Credential


@dataclass(frozen=True)
class Ask:
    """Prompt for it on the terminal."""

    spec: CredentialSpec


@dataclass(frozen=True)
class Refuse:
    """Stop with this error: saying what to set, and where."""

    error: NotLoggedInError


Choice = Use | Ask | Refuse


def choose(
    spec: CredentialSpec,
    found: Credential | None,
    *,
    interactive: bool,
    stored: Stored = "use",
    profile: str = config.DEFAULT_PROFILE,
    keyring_unusable: str | None = None,
) -> Choice:
    """The one rule for when to prompt for a credential.

    ``found`` is what :meth:`Credentials.lookup` found (flag, env, profile or keyring);
    ``interactive`` whether a person can answer (a TTY on stdin, no ``--no-input``, no
    ``CI``); ``keyring_unusable`` why the keyring could not be read, if it could not.
    """
    if found is not None:
        if found.source not in STORED_SOURCES or stored == "use":
            return Use(found)
        if stored == "ask_first" and not interactive:
            return Use(found)
    if interactive:
        return Ask(spec)
    if stored == "never":
        return Refuse(
            NotLoggedInError(
                f"No {spec.label} given.",
                hint=f"Pass it on standard input with {spec.flag}, or set {spec.env}.",
            )
        )
    if keyring_unusable is not None:  # reading it was silent: say it now that it matters
        return Refuse(
            NotLoggedInError(
                f"No {spec.label} for profile {profile!r}: the OS keyring is not "
                f"usable ({keyring_unusable}).",
                hint=f"Set {spec.env}"
                + (f" (or pass {spec.flag} where the command has it)" if spec.flag else "")
                + ", or install and unlock a keyring.",
            )
        )
    return Refuse(
        NotLoggedInError(
            f"No {spec.label} for profile {profile!r}.",
            hint=f"Run `{spec.store_command}`, or set {spec.env}"
            + (f" (or pass {spec.flag} where the command has it)." if spec.flag else "."),
        )
    )


def after_an_empty_answer(stored: Stored, interactive: bool) -> tuple[Stored, bool]:
    """How to choose again after an empty answer to a prompt: a login that asked over a
    stored value goes on as a plain command would (the stored value, else one more
    question); otherwise it is as if no one could answer."""
    if stored == "ask_first":
        return "use", interactive
    return stored, False


class Credentials:
    def __init__(
        self,
        *,
        profile: config.Profile,
        keyring: KeyringStore,
        interactive: bool,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.keyring = keyring
        self.interactive = interactive
        self.env = os.environ if env is None else env

    def lookup(self, spec: CredentialSpec, flag_value: str | None = None) -> Credential | None:
        """Flag, env, then store; no prompt. None when nowhere to be found."""
        found: Credential | None = None
        if flag_value:
            found = Credential(spec, flag_value.strip(), "flag")
        elif self.env.get(spec.env):
            found = Credential(spec, self.env[spec.env].strip(), "env")
        elif not spec.secret:
            stored = self.profile.get(spec.name)
            if stored:
                found = Credential(spec, stored, "config")
        else:
            stored = self.keyring.get(self.profile.name, spec.name)
            if stored:
                found = Credential(spec, stored, "keyring")
        if found is not None and spec.secret:
            register_secret(found.value)
        if found is not None and len(found.value) > MAX_CREDENTIAL_LENGTH:
            where = {"flag": spec.flag, "env": spec.env}.get(found.source, found.source)
            error = ConfigError if found.source == "config" else UsageError
            raise error(  # the value itself is never quoted: it may be a pasted secret
                f"The {spec.label} from {where} is {len(found.value)} characters long; "
                f"no credential is longer than {MAX_CREDENTIAL_LENGTH}.",
                hint="Copy it again, without anything around it.",
            )
        return found

    def require(self, spec: CredentialSpec, flag_value: str | None = None) -> Credential:
        """Like :meth:`lookup`, then a prompt on a TTY; otherwise a clear error."""
        return self.obtain(spec, flag_value)

    def obtain(
        self,
        spec: CredentialSpec,
        flag_value: str | None = None,
        *,
        stored: Stored = "use",
        ask: Callable[[CredentialSpec], str] | None = None,
    ) -> Credential:
        """The credential, as :func:`choose` decides: found, asked with ``ask`` (the
        terminal prompt by default), or refused with the error it names."""
        found = self.lookup(spec, flag_value)
        interactive = self.interactive
        while True:
            choice = choose(
                spec,
                found,
                interactive=interactive,
                stored=stored,
                profile=self.profile.name,
                keyring_unusable=self.keyring.disabled_reason if spec.secret else None,
            )
            if isinstance(choice, Use):
                return choice.credential
            if isinstance(choice, Refuse):
                raise choice.error
            value = (ask or _ask_on_terminal)(spec)
            if value:
                return Credential(spec, value, "prompt")
            stored, interactive = after_an_empty_answer(stored, interactive)


def _ask_on_terminal(spec: CredentialSpec) -> str:
    value = prompt(spec.label, secret=spec.secret)
    if spec.secret:
        register_secret(value)
    return value


def prompt(label: str, *, secret: bool) -> str:
    """Ask on the terminal (stderr), hidden for secrets."""
    if secret:
        return getpass.getpass(f"{label}: ", stream=sys.stderr).strip()
    sys.stderr.write(f"{label}: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip()


def read_secret_from_stdin(label: str) -> str:
    """The first line of stdin, for --…-stdin flags (so the secret is not in argv)."""
    value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(f"Expected the {label} on standard input, got nothing.")
    register_secret(value)
    return value


def refused_hint(client_id: Credential, client_secret: Credential) -> str:
    """What to do when Kameleoon refuses this client id and secret, said where they came
    from: a CI job's environment variables are fixed there, not with `auth login`."""
    from_env = [c.spec.env for c in (client_id, client_secret) if c.source == "env"]
    if from_env:
        return (
            f"{' and '.join(from_env)} come from the environment: set "
            f"{'them' if len(from_env) > 1 else 'it'} to the values on your Kameleoon "
            "profile page (API credentials), e.g. in the CI job's secrets."
        )
    if "flag" in (client_id.source, client_secret.source) or "stdin" in (
        client_id.source,
        client_secret.source,
    ):
        return "Check the values given against your Kameleoon profile page (API credentials)."
    return (
        "Check them on your Kameleoon profile page (API credentials), "
        "then run `ksegcli auth login`."
    )
