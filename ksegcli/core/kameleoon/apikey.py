"""The API key of the Kameleoon Segment destination.

Confirmed in Segment's destination code (docs/api-facts.md §2): the key is
``base64(JSON.stringify({"id": CLIENT_ID, "secret": CLIENT_SECRET}))`` —
compact JSON, ``id`` first. So it can be derived offline, and a key served by
Kameleoon can be checked by decoding it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.redact import register_secret
from ksegcli.errors import ApiError, BadInputError, NotLoggedInError

if TYPE_CHECKING:
    from ksegcli.core.auth import credentials
    from ksegcli.core.session import Session


def derive_api_key(client_id: str, client_secret: str) -> str:
    payload = json.dumps({"id": client_id, "secret": client_secret}, separators=(",", ":"))
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")


def decode_api_key(key: str) -> tuple[str, str]:
    """Return (client id, client secret) held by a key; BadInputError when it is not one."""
    try:
        raw = base64.b64decode(key.strip(), validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadInputError("This is not a Kameleoon Segment API key (not base64 JSON).") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("id"), str)
        or not isinstance(data.get("secret"), str)
    ):
        raise BadInputError('This is not a Kameleoon Segment API key (no "id" and "secret").')
    return data["id"], data["secret"]


def check_api_key(key: str, client_id: str, client_secret: str | None = None) -> None:
    """Raise ApiError unless ``key`` decodes to this client id (and secret, when given)."""
    try:
        key_id, key_secret = decode_api_key(key)
    except BadInputError as exc:
        raise ApiError(
            f"The API-key service answered something unexpected: {exc.message}",
            hint="The key is the client id and secret encoded: `ksegcli auth getapikey "
            "--offline` computes it without the service.",
        ) from None
    if key_id != client_id:
        raise ApiError(
            "The API key served does not belong to this client id.",
            hint="Check KAMELEOON_CLIENT_ID or run `ksegcli auth login` again.",
        )
    if client_secret is not None and key_secret != client_secret:
        raise ApiError("The API key served does not hold this client secret.")


def destination_api_key(session: Session, flag_value: str | None = None) -> credentials.Credential:
    """The key the destination should hold: flag → KAMELEOON_API_KEY → keyring, else derived
    from the client id and secret (the key is their base64 JSON, docs/api-facts.md §2)."""

    creds = session.credentials
    found = creds.lookup(credentials.API_KEY, flag_value)
    if found is not None:
        return found
    pair = session.known_client_credentials()
    if pair is None:
        raise NotLoggedInError(
            "No Kameleoon API key for the Segment destination.",
            hint=f"Run `ksegcli auth getapikey` (keeps it in the keyring), set {config.ENV_API_KEY}, "
            "or give the client id and secret (`ksegcli auth login`) to derive it.",
        )
    cid, secret = pair
    key = derive_api_key(cid.value, secret.value)
    register_secret(key)
    return credentials.Credential(credentials.API_KEY, key, "derived")
