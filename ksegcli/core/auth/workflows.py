"""Credential workflows behind ``ksegcli auth``: login, API key, status, logout."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.auth.credentials import Credential
from ksegcli.core.auth.keyring_store import unreachable_reason
from ksegcli.core.kameleoon.apikey import check_api_key, derive_api_key
from ksegcli.core.redact import mask, register_secret
from ksegcli.core.session import Session
from ksegcli.errors import ApiError, KeyringUnavailableError, KsegError

if TYPE_CHECKING:
    import httpx

    from ksegcli.core.kameleoon.client import AccessToken

# API-key service path and parameters (docs/api-facts.md §2).
GETAPIKEY_PATH = "/kameleoon/segmentio/getapikey"


@dataclass(frozen=True)
class LoginResult:
    profile: str
    client_id: str
    keyring_backend: str
    token_expires_in: int


def login_needs_a_keyring(reason: str | None) -> KeyringUnavailableError:
    """`auth login` keeps the secret in the OS keyring; without one, say what to do."""
    return KeyringUnavailableError(
        f"auth login keeps the client secret in the OS keyring, and none is usable here "
        f"({reason or 'unknown reason'}). Nothing was stored.",
        hint=f"No login is needed: set {config.ENV_CLIENT_ID} and {config.ENV_CLIENT_SECRET} "
        "in the environment (e.g. a CI job's secrets) and every command uses them; or "
        "install and unlock a keyring (e.g. gnome-keyring) and log in again.",
    )


def login_credentials(
    session: Session, client_id: str | None, *, read_secret: Callable[[], str | None]
) -> tuple[Credential, Credential]:
    """What `auth login` proves: the client id as any command finds it; a secret given
    (``read_secret``: standard input) or from the environment, else asked for on a
    terminal even when one is stored, as login replaces it (the stored one off a
    terminal). A keyring known to be unreachable fails first, before any question."""

    unreachable = unreachable_reason()
    if unreachable is not None:
        raise login_needs_a_keyring(unreachable)
    creds = session.credentials
    secret_flag = read_secret()
    cid = creds.require(credentials.CLIENT_ID, client_id)
    secret = creds.obtain(credentials.CLIENT_SECRET, secret_flag, stored="ask_first")
    return cid, secret


def prove_credentials(
    session: Session, client_id: Credential, client_secret: Credential
) -> AccessToken:
    """Prove a client id and secret: fetch a fresh token (raises the API's refusal, with
    what to do said where the credentials came from)."""
    from ksegcli.core.kameleoon.client import TokenProvider

    http = session.http(config.API, limiter=session.limiter_for(client_id.value))
    return TokenProvider(
        http,
        client_id.value,
        client_secret.value,
        log=session.log,
        refused_hint=credentials.refused_hint(client_id, client_secret),
    ).fetch()


def login(session: Session, client_id: Credential, client_secret: Credential) -> LoginResult:
    """Prove the credentials by fetching a token; only then store them."""
    token = prove_credentials(session, client_id, client_secret)
    store = session.keyring
    try:
        store.set(session.profile_name, credentials.CLIENT_SECRET.name, client_secret.value)
    except KeyringUnavailableError:
        raise login_needs_a_keyring(store.disabled_reason) from None
    from ksegcli.core.auth import tokens

    # From now on the secret lives in the keyring: its token does too (core/auth/tokens.py).
    session.token_cache(client_id, replace(client_secret, source="keyring")).save(
        tokens.encode(client_id.value, token.token, token.expires_at)
    )
    profile = session.profile
    profile.set("client_id", client_id.value)
    profile.save()

    return LoginResult(
        profile=session.profile_name,
        client_id=client_id.value,
        keyring_backend=store.backend_name(),
        token_expires_in=int(token.expires_at - time.time()),
    )


@dataclass(frozen=True)
class ApiKeyResult:
    api_key: str
    origin: str  # "server" or "derived"
    stored: bool
    client_id: str

    def to_json(self, *, show: bool) -> dict[str, Any]:
        return {
            "api_key": self.api_key if show else mask(self.api_key),
            "origin": self.origin,
            "stored_in_keyring": self.stored,
            "client_id": self.client_id,
        }


def parse_key(text: str) -> str:
    """The service's answer: the key as plain text (I), tolerating a JSON string or object."""

    text = text.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text.strip('"')
    if isinstance(parsed, str):
        return parsed
    if isinstance(parsed, dict):
        for key in ("apiKey", "api_key", "key"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return text


def request_api_key(session: Session, client_id: str, client_secret: str) -> httpx.Response:
    """The API-key service's answer for this client id and secret (docs/api-facts.md §2)."""
    return session.http(config.CUSTOMERS).request(
        "GET",
        GETAPIKEY_PATH,
        params={"id": client_id, "secret": client_secret},
        authenticated=False,
        headers={"Accept": "text/plain, application/json"},
        secret_answer=True,  # the answer is the key: never in a trace
    )


def fetch_api_key(
    session: Session,
    client_id: Credential,
    client_secret: Credential,
    *,
    offline: bool,
    store: bool,
) -> ApiKeyResult:
    if offline:
        key = derive_api_key(client_id.value, client_secret.value)
        origin = "derived"
    else:
        key = parse_key(request_api_key(session, client_id.value, client_secret.value).text)
        if not key:
            raise ApiError(
                "The API-key service answered with an empty body.",
                hint="`ksegcli auth getapikey --offline` computes the key from the client id "
                "and secret, without the service.",
            )
        register_secret(key)
        check_api_key(key, client_id.value, client_secret.value)
        origin = "server"
    register_secret(key)
    stored = False
    if store:
        try:
            session.keyring.set(session.profile_name, credentials.API_KEY.name, key)
            stored = True
        except KeyringUnavailableError:
            # Said here, once: reading the keyring is silent (only -v) where it fails.
            if session.warn:
                session.warn(
                    f"The OS keyring is not usable ({session.keyring.disabled_reason}): "
                    f"the API key was not kept. Set {config.ENV_API_KEY} where it is needed."
                )
    return ApiKeyResult(api_key=key, origin=origin, stored=stored, client_id=client_id.value)


@dataclass(frozen=True)
class CredentialStatus:
    name: str
    label: str
    present: bool
    source: str | None
    preview: str | None
    env: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "present": self.present,
            "source": self.source,
            "preview": self.preview,
            "env": self.env,
        }


def credential_status(session: Session) -> list[CredentialStatus]:
    rows = []
    for spec in credentials.ALL:
        found = session.credentials.lookup(spec)
        preview = None
        if found is not None:
            preview = mask(found.value) if spec.secret else found.value
        rows.append(
            CredentialStatus(
                name=spec.name,
                label=spec.label,
                present=found is not None,
                source=found.source if found else None,
                preview=preview,
                env=spec.env,
            )
        )
    return rows


def check_client_credentials(session: Session) -> tuple[bool, str]:
    """Prove the client credentials against the API (a fresh token fetch)."""

    cid, secret = session.client_credentials()
    try:
        prove_credentials(session, cid, secret)
    except KsegError as exc:
        return False, exc.message
    return True, "accepted by the Automation API"


def logout(session: Session) -> list[str]:
    """Forget this profile's secrets (keyring) and client id (profile file)."""
    removed = []
    store = session.keyring
    for spec in (credentials.CLIENT_SECRET, credentials.API_KEY, credentials.SEGMENT_TOKEN):
        if store.delete(session.profile_name, spec.name):
            removed.append(spec.name)
    from ksegcli.core.auth import tokens

    client = session.credentials.lookup(credentials.CLIENT_ID)
    removed += tokens.forget(
        store, session.profile_name, None if client is None else client.value, session.env
    )
    if not store.available:
        # The secrets may still be there: saying "nothing stored" would be a lie. The
        # client id stays in the profile, so `auth status` still says whose they are.
        done = f" (removed: {', '.join(removed)})" if removed else ""
        raise KeyringUnavailableError(
            f"Cannot remove the secrets of profile {session.profile_name!r}: the OS keyring "
            f"is not usable ({store.disabled_reason}){done}.",
            hint="Unlock or start the keyring, then rerun `ksegcli auth logout`.",
        )
    profile = session.profile
    if profile.get("client_id"):
        profile.set("client_id", None)
        profile.save()
        removed.append("client_id")
    return removed
