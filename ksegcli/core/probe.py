"""``ksegcli verify``: send one probe through the whole chain and read it back.

Four hops, each reported with what was seen:

1. ``write_key``: the source's write key, from the Segment Public API
   (``GET /sources/{id}`` → ``writeKeys``) or given (``--write-key-stdin``).
2. ``destination``: the source has the Kameleoon (Actions) destination, enabled,
   with a sitecode and an enabled identify mapping (needs a Segment token; without
   one the hop is not checked and the probe is sent all the same).
3. ``sent``: one ``identify`` (user ``ksegcli-probe-<random>``, trait
   ``ksegcli_probe=<nonce>``), and with ``track`` one ``track``, through Segment's
   HTTP Tracking API, with the write key as Basic auth.
4. ``stored``: the Data API polled for ``IDENTIFY_<user id>`` (core/kameleoon/dataapi.py's
   key, the one inferred hop: how Kameleoon stores what Segment sends comes from the
   help article) until the trait holds the nonce, for at most ``timeout`` seconds.

``ok`` only when the nonce was read back. Nothing here prompts: the command layer
asks before :func:`send_and_poll` (the event reaches every destination of the source).
The write key is registered as a secret the moment it is known.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import config, segment
from ksegcli.core.auth import credentials
from ksegcli.core.kameleoon import dataapi
from ksegcli.core.redact import register_secret
from ksegcli.core.segment import find_destinations
from ksegcli.errors import BadInputError, KsegError

if TYPE_CHECKING:
    from ksegcli.core.session import Session

# --- Segment's HTTP Tracking API (C) ---------------------------------------------------
TRACKING_HOSTS: dict[str, str] = {
    "us": config.SEGMENT_TRACKING.default,
    "eu": "https://events.eu1.segmentapis.com",
}
IDENTIFY_PATH = "/v1/identify"
TRACK_PATH = "/v1/track"
SOURCE_PATH = "/sources/{id}"
# --- the probe (ours) -------------------------------------------------------------------
PROBE_USER_PREFIX = "ksegcli-probe-"
PROBE_TRAIT = "ksegcli_probe"
PROBE_EVENT = "ksegcli probe"
POLL_INTERVAL = 1.0

HopStatus = Literal["pass", "fail", "skip"]
HOP_TITLES = {
    "write_key": "Write key of the source",
    "destination": "Kameleoon destination with the identify mapping",
    "sent": "Sent to Segment",
    "stored": "Visible in Kameleoon's remote data",
}


@dataclass
class Hop:
    id: str
    status: HopStatus
    detail: str
    fix: str | None = None

    @property
    def title(self) -> str:
        return HOP_TITLES[self.id]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass
class Probe:
    """What verify found before sending, and what it sends."""

    source_id: str
    region: str
    user_id: str
    nonce: str
    write_key: str | None = field(default=None, repr=False)
    sitecode: str | None = None
    hops: list[Hop] = field(default_factory=list)
    delay: float | None = None  # seconds from sending to reading the nonce back

    @property
    def ok(self) -> bool:
        return any(h.id == "stored" and h.status == "pass" for h in self.hops)

    @property
    def failed_hop(self) -> Hop | None:
        return next((h for h in self.hops if h.status == "fail"), None)

    @property
    def can_send(self) -> bool:
        return self.write_key is not None and self.sitecode is not None and self.failed_hop is None

    def to_json(self) -> dict[str, Any]:
        failed = self.failed_hop
        return {
            "ok": self.ok,
            "source_id": self.source_id,
            "region": self.region,
            "sitecode": self.sitecode,
            "user_id": self.user_id,
            "trait": PROBE_TRAIT,
            "nonce": self.nonce,
            "delay_seconds": None if self.delay is None else round(self.delay, 3),
            "failed_hop": None if failed is None else failed.id,
            "hops": [h.to_json() for h in self.hops],
        }


def tracking_base_url(session: Session, region: str) -> str:
    """``KSEG_SEGMENT_TRACKING_URL`` → profile ``segment_tracking_url`` → the region's host."""
    service = config.SEGMENT_TRACKING
    if session.env.get(service.env) or session.profile.get(service.key):
        return config.base_url(service, session.profile, session.env)
    return TRACKING_HOSTS[region]


def _redact_key(write_key: str) -> None:
    register_secret(write_key)
    register_secret(_basic(write_key))


def _basic(write_key: str) -> str:
    return base64.b64encode(f"{write_key}:".encode()).decode()


def prepare(
    session: Session,
    source_id: str,
    *,
    region: str | None,
    sitecode: str | None,
    write_key: str | None,
    token: str | None,
) -> Probe:
    """Hops 1 and 2, read only: the write key and the destination (and its sitecode)."""

    source_id = source_id.strip()
    if not source_id:
        raise BadInputError("The source id is empty.", hint="`ksegcli segment sources list`")
    chosen = segment.resolve_region(session, region)
    probe = Probe(
        source_id=source_id,
        region=chosen,
        user_id=PROBE_USER_PREFIX + secrets.token_hex(6),
        nonce=secrets.token_hex(8),
        sitecode=sitecode,
    )
    if write_key is not None:
        _redact_key(write_key)
    found = session.credentials.lookup(credentials.SEGMENT_TOKEN, token)
    client = segment.segment_client(session, region=region, token=found.value) if found else None

    # 1. the write key
    if write_key is not None:
        probe.write_key = write_key
        probe.hops.append(Hop("write_key", "pass", "given on standard input"))
    elif client is None:
        probe.hops.append(
            Hop(
                "write_key",
                "fail",
                "no write key given, and no Segment token to read it from the source",
                f"Set {config.ENV_SEGMENT_TOKEN} (or `ksegcli segment login`), or pipe the "
                "source's write key to --write-key-stdin.",
            )
        )
    else:
        try:
            data = client.get(SOURCE_PATH.format(id=source_id))
            source = data.get("source") if isinstance(data, dict) else None
            keys = source.get("writeKeys") if isinstance(source, dict) else None
            usable = [k for k in keys if isinstance(k, str) and k] if isinstance(keys, list) else []
            if not usable:
                probe.hops.append(
                    Hop(
                        "write_key",
                        "fail",
                        f"source {source_id} has no write key in the Public API's answer",
                        "Pipe the write key (Segment app → source → Settings → API Keys) to "
                        "--write-key-stdin.",
                    )
                )
            else:
                probe.write_key = usable[0]
                _redact_key(usable[0])
                probe.hops.append(
                    Hop("write_key", "pass", f"read from source {source_id} (Public API)")
                )
        except KsegError as exc:
            probe.hops.append(Hop("write_key", "fail", exc.message, exc.hint or "Rerun with -v."))

    # 2. the destination
    if client is None:
        probe.hops.append(
            Hop(
                "destination",
                "skip",
                "not checked: no Segment token",
                f"Set {config.ENV_SEGMENT_TOKEN} to check it before sending.",
            )
        )
    else:
        try:
            probe.hops.append(_destination_hop(client, probe))
        except KsegError as exc:
            probe.hops.append(Hop("destination", "fail", exc.message, exc.hint or "Rerun with -v."))
    if probe.sitecode is None and probe.failed_hop is None:
        probe.hops.append(
            Hop(
                "stored",
                "fail",
                "no sitecode to read the remote data of",
                "Pass --sitecode (or set it: `ksegcli sitecode set CODE`).",
            )
        )
    return probe


def _destination_hop(client: Any, probe: Probe) -> Hop:
    source = probe.source_id
    create = f"ksegcli segment destination create --source {source}"
    found = find_destinations(client, source)
    if not found:
        return Hop(
            "destination", "fail", f"no Kameleoon destination on {source}", f"Run `{create}`."
        )
    problems: list[str] = []
    for dest in found:
        name = f"{dest.get('id')}"
        settings = dest.get("settings") if isinstance(dest.get("settings"), dict) else {}
        sitecode = settings.get("sitecode") if isinstance(settings, dict) else None
        if dest.get("enabled") is not True:
            problems.append(f"destination {name} is disabled")
            continue
        if not isinstance(sitecode, str) or not sitecode:
            problems.append(f"destination {name} has no sitecode")
            continue
        if probe.sitecode is not None and sitecode != probe.sitecode:
            problems.append(
                f"destination {name} sends to sitecode {sitecode}, not {probe.sitecode}"
            )
            continue
        subs = client.list_subscriptions(str(dest.get("id")))
        identify = [
            s for s in subs if "".join(str(s.get("trigger", "")).split()) == 'type="identify"'
        ]
        if not any(s.get("enabled") is True for s in identify):
            state = "disabled" if identify else "missing"
            problems.append(f"destination {name}: the identify mapping is {state}")
            continue
        probe.sitecode = sitecode
        return Hop(
            "destination",
            "pass",
            f"{name} on {source}: enabled, sitecode {sitecode}, identify mapping enabled",
        )
    return Hop("destination", "fail", "; ".join(problems), f"Run `{create} --update`.")


def send_and_poll(
    session: Session,
    probe: Probe,
    *,
    track: bool,
    timeout: float,
    data_region: str | None = None,
    waiting: Callable[[float], None] | None = None,
) -> Probe:
    """Hops 3 and 4: send the probe, then poll the Data API until the nonce is back."""

    assert probe.write_key is not None and probe.sitecode is not None
    key = probe.write_key
    http = session.http(
        config.SEGMENT_TRACKING,
        base_url=tracking_base_url(session, probe.region),
        auth_header=lambda: {"Authorization": f"Basic {_basic(key)}"},
    )
    sent_at = time.monotonic()
    calls: list[tuple[str, dict[str, Any]]] = [
        (IDENTIFY_PATH, {"traits": {PROBE_TRAIT: probe.nonce}})
    ]
    if track:
        calls.append((TRACK_PATH, {"event": PROBE_EVENT, "properties": {PROBE_TRAIT: probe.nonce}}))
    try:
        for path, extra in calls:
            body = {
                "userId": probe.user_id,
                "messageId": f"ksegcli-{uuid.uuid4()}",  # Segment drops a resent duplicate
                **extra,
            }
            http.request("POST", path, json_body=body, retry_unsafe=True)
    except KsegError as exc:
        hint = exc.hint or "Check the write key and the region (EU sources: --region eu)."
        probe.hops.append(Hop("sent", "fail", exc.message, hint))
        return probe
    what = "identify and track" if track else "identify"
    probe.hops.append(
        Hop("sent", "pass", f"{what} for {probe.user_id} accepted by Segment ({http.base_url})")
    )

    deadline = sent_at + timeout
    last_error: KsegError | None = None
    while True:
        now = time.monotonic()
        if waiting is not None:
            waiting(now - sent_at)
        try:
            found = dataapi.traits(
                session, probe.user_id, sitecode=probe.sitecode, region=data_region
            )
            last_error = None
            if str(found.traits.get(PROBE_TRAIT)) == probe.nonce:
                probe.delay = time.monotonic() - sent_at
                probe.hops.append(
                    Hop(
                        "stored",
                        "pass",
                        f"{found.key} on {probe.sitecode} holds {PROBE_TRAIT}={probe.nonce} "
                        f"after {probe.delay:.1f} s",
                    )
                )
                return probe
        except KsegError as exc:
            last_error = exc
        if time.monotonic() + POLL_INTERVAL > deadline:
            break
        time.sleep(POLL_INTERVAL)
    key_name = dataapi.IDENTIFY_KEY.format(user_id=probe.user_id)
    detail = f"{key_name} on {probe.sitecode} did not hold the nonce within {timeout:g} s"
    if last_error is not None:
        detail += f" (last read: {last_error.message})"
    probe.hops.append(
        Hop(
            "stored",
            "fail",
            detail,
            "Check the destination's sitecode and its identify mapping "
            f"(`ksegcli segment destination status --source {probe.source_id}`), or rerun "
            "with a longer --timeout: Segment may deliver late.",
        )
    )
    return probe
