"""``ksegcli doctor --api``: the inferred API facts, checked against the user's own account.

Several writes rest on facts read from community code rather than from Kameleoon's
documentation (docs/api-facts.md). Each fact that a read can test is tested here,
with reads only — nothing is ever written — and ends in one of three results:

- ``agrees``: the server answered as ksegcli expects;
- ``differs``: it answered otherwise (``seen`` quotes what it answered, shortened,
  secrets masked): a doctor failure (exit 9), and worth a bug report;
- ``could_not_check``: the account cannot show it (no project, no personalization,
  HTTP 403 ...): not a failure.

Every result is a :class:`~ksegcli.core.doctor.checks.Check` (``agrees`` = pass, ``differs`` =
fail, ``could_not_check`` = skip) with its ``result`` and ``seen``, so ``doctor --api
--json`` keeps the shape of ``doctor --json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import config
from ksegcli.core.auth.workflows import GETAPIKEY_PATH, parse_key, request_api_key
from ksegcli.core.doctor.checks import Check, DoctorReport
from ksegcli.core.http.client import quote_server_text
from ksegcli.core.kameleoon.apikey import decode_api_key, derive_api_key
from ksegcli.core.kameleoon.client import (
    IN_REFUSED_STATUSES,
    PER_PAGE_MAX,
    SITE_PATH,
    TRACKING_SCRIPT_FIELD,
    filter_param,
)
from ksegcli.core.kameleoon.customdata import CUSTOM_DATAS_PATH, SITE_IDS_PER_FILTER
from ksegcli.core.kameleoon.integration import SEGMENT_TOOL
from ksegcli.core.kameleoon.refusals import is_refusal, server_words
from ksegcli.core.kameleoon.reporting import CAMPAIGN_PATHS, TRACKING_TOOLS_FIELD
from ksegcli.core.redact import redact, register_secret
from ksegcli.errors import ApiError, AuthError, BadInputError, KsegError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.session import Session

Result = Literal["agrees", "differs", "could_not_check"]
STATUS: dict[Result, Literal["pass", "fail", "skip"]] = {
    "agrees": "pass",
    "differs": "fail",
    "could_not_check": "skip",
}
#: How much of a server's answer a ``differs`` line quotes.
QUOTE_CHARS = 120
REPORT = "please report what was seen (docs/api-facts.md)."


@dataclass(frozen=True)
class Fact:
    """One inferred fact: its check id, its wording, and where ksegcli keeps it."""

    id: str
    title: str
    where: str
    wrong: str  # what the user meets when the fact is wrong, and the way around it


FACTS = (
    Fact(
        "api.integration_tools",
        "GET /sites/{id}/integration-tools answers an array of {name, settings}",
        "core/kameleoon/integration.py SEGMENT_TOOL",
        "`integration install` and `status` stop with exit 5; install the tool by hand: "
        "Admin › Integrations › Segment.",
    ),
    Fact(
        "api.tracking_script",
        "A site carries trackingScript (the global custom script)",
        "core/kameleoon/client.py TRACKING_SCRIPT_FIELD",
        "`integration identifier install` cannot read or set the script; paste "
        "`ksegcli snippet render identifier` by hand (Project › Global custom script).",
    ),
    Fact(
        "api.filter_in",
        "A list filter with the IN operator is accepted",
        "core/kameleoon/client.py IN_REFUSED_STATUSES",
        "Listing custom data of several projects fails with exit 5; use one --project at a time.",
    ),
    Fact(
        "api.personalization_tracking_tools",
        "A personalization shows its trackingTools",
        "core/kameleoon/reporting.py TRACKING_TOOLS_FIELD",
        "`reporting enable` reports personalizations `not applied` (exit 5); set Segment "
        "by hand: the campaign › Integrations (reporting tools).",
    ),
    Fact(
        "api.getapikey",
        "The getapikey answer decodes to this client's id and secret",
        "core/auth/workflows.py GETAPIKEY_PATH, core/kameleoon/apikey.py",
        "`auth getapikey` stops with exit 5; `ksegcli auth getapikey --offline` derives "
        "the key without the service.",
    ),
)
_BY_ID = {fact.id: fact for fact in FACTS}
# What _get_or_record answers when the read failed (the answer itself may be None).
_NOT_READ: Any = object()


def quote(data: Any) -> str:
    """A short, one-line rendering of what the server answered (secrets masked later,
    where every output line is redacted; terminal escapes removed at printing)."""

    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return redact(quote_server_text(" ".join(text.split()), QUOTE_CHARS))


def _http_words(exc: ApiError) -> str:
    return f"HTTP {exc.status}: {server_words(exc)}"


class _ApiDoctor:
    def __init__(
        self, session: Session, sitecode: str | None, emit: Callable[[Check], None]
    ) -> None:
        self.session = session
        self.sitecode = sitecode
        self.emit = emit
        self.report = DoctorReport()
        self.client: KameleoonClient | None = None
        self.sites: list[Site] = []
        self.site: Site | None = None
        self.no_site_why = ""

    def add(
        self,
        fact_id: str,
        result: Result,
        detail: str,
        *,
        seen: str | None = None,
        wrong: str | None = None,
    ) -> Check:
        fact = _BY_ID[fact_id]
        fix = None
        if result == "differs":
            fix = f"{wrong or fact.wrong} ksegcli keeps this fact in {fact.where}; {REPORT}"
        check = Check(fact.id, fact.title, STATUS[result], detail, fix, result=result, seen=seen)
        self.report.checks.append(check)
        self.emit(check)
        return check

    # -- the account and its project --------------------------------------------------------
    def connect(self) -> None:
        """Credentials proven by a token (exit 3 when missing or refused: nothing can be
        checked), then the account's projects and the one to look at."""
        if self.session.known_client_credentials() is None:
            raise AuthError(
                "doctor --api needs the Kameleoon client id and secret.",
                hint=f"Run `ksegcli auth login` or set {config.ENV_CLIENT_ID} and "
                f"{config.ENV_CLIENT_SECRET}.",
            )
        client = self.session.kameleoon()
        client.tokens.get()
        self.client = client
        self.sites = client.list_sites()
        code = self.session.sitecode(self.sitecode)
        if code is not None:
            self.site = next((s for s in self.sites if s.code == code), None)
            if self.site is None:
                self.no_site_why = (
                    f"no project with sitecode {code} among the {len(self.sites)} these "
                    "credentials reach"
                )
        elif self.sites:
            self.site = self.sites[0]
        else:
            self.no_site_why = "these credentials reach no project"

    def _no_project(self, fact_id: str) -> bool:
        if self.site is not None:
            return False
        self.add(fact_id, "could_not_check", self.no_site_why)
        return True

    def _unreadable(self, fact_id: str, exc: KsegError, what: str) -> None:
        """An error that says nothing about the fact: a 403, a 5xx, a network failure."""
        if isinstance(exc, ApiError) and exc.status == 403:
            why = f"your API client may not read {what} ({_http_words(exc)})"
        else:
            why = exc.message
        self.add(fact_id, "could_not_check", why)

    def _get_or_record(self, fact_id: str, path: str, *, refused: str, what: str) -> Any:
        """GET ``path``; when it fails, record the fact (a refusal: the endpoint differs;
        anything else: could not check) and answer ``_NOT_READ``."""

        assert self.client is not None
        try:
            return self.client.get(path)
        except KsegError as exc:
            if isinstance(exc, ApiError) and is_refusal(exc):
                self.add(
                    fact_id,
                    "differs",
                    f"GET {path} was refused{refused}",
                    seen=quote(_http_words(exc)),
                )
            else:
                self._unreadable(fact_id, exc, what)
            return _NOT_READ

    def _read_project(
        self, fact_id: str, template: str, *, refused: str, what: str
    ) -> tuple[Site, str, Any] | None:
        """GET ``template`` (``{site_id}`` filled in) of the project looked at: the project,
        the path and the answer; None when there is no project or the read failed (either
        is recorded)."""
        if self._no_project(fact_id):
            return None
        assert self.site is not None
        path = template.format(site_id=self.site.id)
        data = self._get_or_record(fact_id, path, refused=refused, what=what)
        return None if data is _NOT_READ else (self.site, path, data)

    # -- the facts ------------------------------------------------------------------------------
    def integration_tools(self) -> None:
        fact_id = "api.integration_tools"
        read = self._read_project(
            fact_id,
            SEGMENT_TOOL.path,
            refused=": the endpoint is not there",
            what="a project's integration tools",
        )
        if read is None:
            return
        site, path, data = read
        if not isinstance(data, list):
            self.add(
                fact_id,
                "differs",
                f"GET {path} answered {_kind(data)}, not an array",
                seen=quote(data),
            )
            return
        odd = [
            n
            for n, item in enumerate(data)
            if not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("settings"), dict)
        ]
        if odd:
            self.add(
                fact_id,
                "differs",
                f"GET {path}: {len(odd)} of {len(data)} item(s) are not "
                "{name: string, settings: object}",
                seen=quote(data[odd[0]]),
            )
            return
        if not data:
            detail = (
                f"GET {path} answered an empty array (no tool installed on {site.code}: "
                "the items' shape is not shown)"
            )
        else:
            names = ", ".join(str(item["name"]) for item in data)
            detail = f"GET {path} answered {len(data)} tool(s), each with its settings: {names}"
        self.add(fact_id, "agrees", detail)

    def tracking_script(self) -> None:
        fact_id = "api.tracking_script"
        read = self._read_project(fact_id, SITE_PATH, refused="", what="projects")
        if read is None:
            return
        site, path, data = read
        if not isinstance(data, dict):
            self.add(fact_id, "differs", f"GET {path} answered {_kind(data)}", seen=quote(data))
            return
        if TRACKING_SCRIPT_FIELD not in data:
            self.add(
                fact_id,
                "differs",
                f"GET {path} has no {TRACKING_SCRIPT_FIELD!r} field",
                seen="fields: " + quote(", ".join(str(k) for k in data)),
            )
            return
        value = data[TRACKING_SCRIPT_FIELD]
        if value is not None and not isinstance(value, str):
            self.add(
                fact_id,
                "differs",
                f"GET {path}: {TRACKING_SCRIPT_FIELD!r} is {_kind(value)}, not a string",
                seen=quote(value),
            )
            return
        size = f"{len(value)} characters" if value else "empty"
        detail = f"GET {path} has {TRACKING_SCRIPT_FIELD!r} ({size})"
        if site.tracking_script is None:
            detail += "; the project list leaves it out, so ksegcli reads each project"
        self.add(fact_id, "agrees", detail)

    def filter_in(self) -> None:
        fact_id = "api.filter_in"
        if self._no_project(fact_id):
            return
        assert self.client is not None and self.site is not None
        others = [s.id for s in self.sites if s.id != self.site.id]
        ids = [self.site.id, *others][:SITE_IDS_PER_FILTER]

        def ask(operator: str) -> Any:
            assert self.client is not None
            params = {
                "filter": filter_param("siteId", operator, ids),
                "page": 1,
                "perPage": PER_PAGE_MAX,
            }
            return self.client.get(CUSTOM_DATAS_PATH, params)

        where = f"GET {CUSTOM_DATAS_PATH} with siteId IN {len(ids)} project id(s)"
        try:
            data = ask("IN")
        except KsegError as exc:
            if not (isinstance(exc, ApiError) and exc.status in IN_REFUSED_STATUSES):
                self._unreadable(fact_id, exc, "custom data")
                return
            refused = quote(_http_words(exc))
            try:
                ask("EQUAL")
            except KsegError as again:
                words = quote(_http_words(again)) if isinstance(again, ApiError) else again.message
                self.add(
                    fact_id,
                    "differs",
                    f"{where} was refused, and EQUAL with the same array too ({words}): "
                    "ksegcli cannot list custom data of several projects at once",
                    seen=refused,
                )
                return
            self.add(
                fact_id,
                "differs",
                f"{where} was refused; EQUAL with the array is accepted",
                seen=refused,
                wrong="Nothing to do: ksegcli falls back to EQUAL with the array by itself.",
            )
            return
        if not isinstance(data, list):
            self.add(fact_id, "differs", f"{where} answered {_kind(data)}", seen=quote(data))
            return
        strays = [
            item
            for item in data
            if isinstance(item, dict) and "siteId" in item and item["siteId"] not in ids
        ]
        if strays:
            self.add(
                fact_id,
                "differs",
                f"{where} answered custom data of other projects: the filter was ignored",
                seen=quote(strays[0]),
            )
            return
        self.add(fact_id, "agrees", f"{where}: accepted ({len(data)} item(s))")

    def personalization_tracking_tools(self) -> None:
        fact_id = "api.personalization_tracking_tools"
        if self._no_project(fact_id):
            return
        assert self.client is not None and self.site is not None
        listing = CAMPAIGN_PATHS["personalization"]
        try:
            items = self.client.get(
                listing,
                {
                    "filter": filter_param("siteId", "EQUAL", [self.site.id]),
                    "page": 1,
                    "perPage": PER_PAGE_MAX,
                },
            )
        except KsegError as exc:
            self._unreadable(fact_id, exc, "personalizations")
            return
        ids = [
            item["id"]
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("id"), int)
        ]
        if not ids:
            self.add(
                fact_id,
                "could_not_check",
                f"no personalization on {self.site.code} to look at",
            )
            return
        path = f"{listing}/{ids[0]}"
        try:
            data = self.client.get(path)
        except KsegError as exc:
            self._unreadable(fact_id, exc, "personalizations")
            return
        tools = data.get(TRACKING_TOOLS_FIELD) if isinstance(data, dict) else None
        if not isinstance(data, dict) or TRACKING_TOOLS_FIELD not in data:
            fields = ", ".join(str(k) for k in data) if isinstance(data, dict) else _kind(data)
            self.add(
                fact_id,
                "differs",
                f"GET {path} has no {TRACKING_TOOLS_FIELD!r}: ksegcli cannot tell whether "
                "Segment reports its views",
                seen="fields: " + quote(fields),
            )
            return
        if not isinstance(tools, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools
        ):
            self.add(
                fact_id,
                "differs",
                f"GET {path}: {TRACKING_TOOLS_FIELD!r} is not an array of {{name}}",
                seen=quote(tools),
            )
            return
        names = ", ".join(str(t["name"]) for t in tools) or "none"
        self.add(fact_id, "agrees", f"GET {path} shows {TRACKING_TOOLS_FIELD!r}: {names}")

    def getapikey(self) -> None:
        fact_id = "api.getapikey"
        pair = self.session.known_client_credentials()
        assert pair is not None  # connect() made sure
        cid, secret = pair
        register_secret(derive_api_key(cid.value, secret.value))
        try:
            response = request_api_key(self.session, cid.value, secret.value)
        except KsegError as exc:
            why = exc.message
            if isinstance(exc, ApiError) and exc.status in (401, 403):
                why = f"the API-key service refused these credentials ({_http_words(exc)})"
            self.add(fact_id, "could_not_check", why)
            return
        text = response.text
        key = parse_key(text)
        form = "as plain text" if key == text.strip() else "inside JSON"
        try:
            key_id, key_secret = decode_api_key(key)
        except BadInputError as exc:
            kind = response.headers.get("content-type", "no content type")
            self.add(
                fact_id,
                "differs",
                f"GET {GETAPIKEY_PATH} answered {len(response.content)} bytes ({kind}): "
                f"{exc.message}",
                seen=quote(text) if text.strip() else "an empty body",
            )
            return
        register_secret(key)
        if key_id != cid.value or key_secret != secret.value:
            self.add(
                fact_id,
                "differs",
                f"GET {GETAPIKEY_PATH} answered a key, but not this client's id and secret",
            )
            return
        self.add(
            fact_id,
            "agrees",
            f"GET {GETAPIKEY_PATH} answered a key ({form}) that decodes to this client's id "
            "and secret",
        )

    def run(self) -> DoctorReport:
        self.connect()
        self.integration_tools()
        self.tracking_script()
        self.filter_in()
        self.personalization_tracking_tools()
        self.getapikey()
        return self.report


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return {str: "a string", bool: "a boolean"}.get(type(value), "a number")


def run_doctor_api(
    session: Session,
    *,
    sitecode: str | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> tuple[DoctorReport, Site | None]:
    """Check every fact in :data:`FACTS`, reading only; ``on_check`` sees each result as
    soon as it is known. Returns the report and the project looked at."""
    if sitecode:
        try:
            config.validate_sitecode(sitecode)
        except KsegError as exc:
            raise type(exc)(f"{exc.message} (from --sitecode)", hint=exc.hint) from None
    doctor = _ApiDoctor(session, sitecode, on_check or (lambda check: None))
    report = doctor.run()
    return report, doctor.site
