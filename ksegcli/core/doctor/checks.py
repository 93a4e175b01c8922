"""``ksegcli doctor``: is the integration set up, end to end?

Checks run in a fixed order; each ends ``pass``, ``fail``, ``warn`` (works,
but worth a look) or ``skip`` (a check it depends on failed, or an input is
missing). A failing early check skips its dependants instead of letting them
crash. Each failure carries a one-line fix.

Nothing here prompts: credentials are looked up (flag, env, keyring) only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import config, segment
from ksegcli.core.auth import credentials
from ksegcli.core.auth.workflows import prove_credentials
from ksegcli.core.kameleoon import customdata, dataapi, identifier, integration
from ksegcli.core.kameleoon.apikey import decode_api_key, destination_api_key
from ksegcli.core.kameleoon.sitecode import site_for_sitecode
from ksegcli.core.segment import destination_status
from ksegcli.core.snippets import user_id_mode
from ksegcli.errors import BadInputError, KsegError, NotLoggedInError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site
    from ksegcli.core.kameleoon.customdata import CustomData
    from ksegcli.core.session import Session

Status = Literal["pass", "fail", "warn", "skip"]
DUPLICATES_ID = "customdata.duplicates"
DUPLICATES_TITLE = "No custom data name used twice"


@dataclass
class Check:
    id: str
    title: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # doctor --api (core/doctor/api_facts.py): agrees / differs / could_not_check, and a short
    # quote of what the server answered when it differs.
    result: str | None = None
    seen: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            **({"data": self.data} if self.data else {}),
            **({"result": self.result, "seen": self.seen} if self.result else {}),
        }


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "warn": 0, "skip": 0}
        for check in self.checks:
            out[check.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class DoctorOptions:
    sitecode: str | None = None
    source: str | None = None
    user_id: str | None = None
    segment_region: str | None = None
    data_region: str | None = None
    token: str | None = None  # --token-stdin


def _fix(exc: KsegError, default: str) -> str:
    return exc.hint or default


class _Doctor:
    def __init__(self, session: Session, options: DoctorOptions, emit: Callable[[Check], None]):
        self.session = session
        self.options = options
        self.emit = emit
        self.report = DoctorReport()
        self.client_id: str | None = None
        self.credentials_ok = False
        self.api_key: str | None = None
        self.sitecode: str | None = None
        self.site: Site | None = None
        self.custom_data: list[CustomData] | None = None  # the project's, once read

    def add(
        self,
        id: str,
        title: str,
        status: Status,
        detail: str,
        fix: str | None = None,
        **data: Any,
    ) -> Check:
        check = Check(id, title, status, detail, fix, dict(data))
        self.report.checks.append(check)
        self.emit(check)
        return check

    # -- 1. credentials ------------------------------------------------------------
    def check_credentials(self) -> None:
        title = "Kameleoon API credentials"
        creds = self.session.credentials
        cid = creds.lookup(credentials.CLIENT_ID)
        secret = creds.lookup(credentials.CLIENT_SECRET)
        self.client_id = cid.value if cid else None
        if cid is None or secret is None:
            missing = " and ".join(
                spec.label
                for spec, found in (
                    (credentials.CLIENT_ID, cid),
                    (credentials.CLIENT_SECRET, secret),
                )
                if found is None
            )
            self.add(
                "credentials",
                title,
                "fail",
                f"No {missing}.",
                f"Run `ksegcli auth login` or set {config.ENV_CLIENT_ID} and "
                f"{config.ENV_CLIENT_SECRET}.",
            )
            return

        try:
            prove_credentials(self.session, cid, secret)
        except KsegError as exc:
            self.add(
                "credentials",
                title,
                "fail",
                exc.message,
                _fix(exc, "Check the client id and secret on your Kameleoon profile page."),
            )
            return
        self.credentials_ok = True
        self.add(
            "credentials",
            title,
            "pass",
            f"client id {cid.value} ({cid.source}) accepted by the Automation API",
        )

    # -- 2. API key ------------------------------------------------------------------
    def check_api_key(self) -> None:
        title = "Segment destination API key"
        try:
            key = destination_api_key(self.session)
        except NotLoggedInError:
            self.add(
                "api_key",
                title,
                "fail",
                "No API key, and no client id and secret to derive it from.",
                f"Run `ksegcli auth getapikey` or set {config.ENV_API_KEY}.",
            )
            return
        if key.source == "derived":
            self.api_key = key.value
            self.add(
                "api_key",
                title,
                "warn",
                "not stored; derived from the client id and secret",
                f"Run `ksegcli auth getapikey` to fetch and keep it (or set {config.ENV_API_KEY}).",
            )
            return
        try:
            key_id, _ = decode_api_key(key.value)
        except BadInputError as exc:
            self.add(
                "api_key",
                title,
                "fail",
                f"The API key from {key.source} is not valid: {exc.message}",
                "Run `ksegcli auth getapikey` to get a fresh one.",
            )
            return
        self.api_key = key.value
        if self.client_id and key_id != self.client_id:
            self.add(
                "api_key",
                title,
                "fail",
                f"The API key ({key.source}) belongs to client id {key_id}, not {self.client_id}.",
                "Run `ksegcli auth getapikey` for these credentials.",
            )
            return
        detail = f"from {key.source}, client id {key_id}"
        if not self.client_id:
            detail += " (no client id to compare it with)"
        self.add("api_key", title, "pass", detail)

    # -- 3. sitecode and project ----------------------------------------------------------
    def check_sitecode(self) -> None:
        title = "Sitecode and project"
        try:
            code = self.session.sitecode(self.options.sitecode)
        except KsegError as exc:
            self.add(
                "sitecode", title, "fail", exc.message, _fix(exc, "`ksegcli sitecode set CODE`")
            )
            return
        if code is None:
            self.add(
                "sitecode",
                title,
                "fail",
                "No sitecode set.",
                "Run `ksegcli sitecode set CODE` (find it with `ksegcli projects list`) or pass "
                "--sitecode.",
            )
            return
        self.sitecode = code
        if not self.credentials_ok:
            self.add(
                "sitecode",
                title,
                "skip",
                f"sitecode {code} is well formed; its project is not checked without credentials",
            )
            return

        try:
            site = site_for_sitecode(self.session, code)
        except KsegError as exc:
            self.add("sitecode", title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            return
        self.site = site
        self.sitecode = site.code  # the project's spelling, should it differ in case
        self.add("sitecode", title, "pass", f"{site.code}: {site.label()}", project_id=site.id)

    def _skip_without_project(self, id: str, title: str) -> bool:
        if self.site is not None:
            return False
        why = "credentials" if not self.credentials_ok else "a project"
        self.add(id, title, "skip", f"needs {why} (see above)")
        return True

    # -- 4. integration -------------------------------------------------------------------
    def check_integration(self) -> None:
        title = "Segment tool installed on the project"
        if self._skip_without_project("integration", title):
            return
        assert self.site is not None
        try:
            tools = integration.read_tools(self.session.kameleoon(), self.site)
        except KsegError as exc:
            if exc.code == "api_refused":
                # The endpoint is our inference: its refusal says nothing about the tool.
                self.add(
                    "integration",
                    title,
                    "warn",
                    "cannot be read through the API here (the endpoint is inferred)",
                    _fix(exc, f"Check by hand: {integration.MANUAL_ROUTE}."),
                )
                return
            self.add("integration", title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            return
        if integration.is_installed(tools):
            self.add("integration", title, "pass", f"installed on {self.site.code}")
        else:
            self.add(
                "integration",
                title,
                "fail",
                f"not installed on {self.site.code}",
                f"Run `ksegcli integration install --project {self.site.code}`.",
            )

    # -- 5. custom data ---------------------------------------------------------------------
    def check_custom_data(self) -> None:
        ids = ("customdata.personas", "customdata.group", "customdata.traits")
        titles = ("Personas custom data", "Group ID custom data", "Trait custom data")
        if self.site is None:
            for id, title in zip(ids, titles, strict=True):
                self._skip_without_project(id, title)
            self._skip_without_project(DUPLICATES_ID, DUPLICATES_TITLE)
            return
        site = self.site
        try:
            items = customdata.list_custom_data(self.session.kameleoon(), [site.id])[site.id]
        except KsegError as exc:
            for id, title in zip(ids[:2], titles[:2], strict=True):
                self.add(id, title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            self.add(DUPLICATES_ID, DUPLICATES_TITLE, "skip", "needs the list of custom data")
            return
        self.custom_data = items
        for kind, id, title in (("personas", ids[0], titles[0]), ("group", ids[1], titles[1])):
            ours = [i for i in items if i.ours == kind]
            current = [i for i in ours if i.current()]
            named = [
                i for i in items if i.name == customdata.DEFAULT_NAMES[kind] and i.ours is None
            ]
            create = f"ksegcli customdata create {kind} --project {site.code}"
            if current:
                self.add(
                    id, title, "pass", f"{current[0].name!r} (id {current[0].id}), code current"
                )
            elif ours:
                self.add(
                    id,
                    title,
                    "fail",
                    f"{ours[0].name!r} (id {ours[0].id}) runs an older ksegcli snippet",
                    f"Run `{create} --name {ours[0].name!r} --update`.",
                )
            elif named:
                self.add(
                    id,
                    title,
                    "warn",
                    f"{named[0].name!r} (id {named[0].id}) was made by hand: its code is not "
                    "checked",
                    f"To let ksegcli manage it: `{create} --update`.",
                )
            else:
                self.add(id, title, "fail", f"none on {site.code}", f"Run `{create}`.")
        traits = [i for i in items if i.ours == "trait"]
        if traits:
            listed = ", ".join(
                f"{i.trait or '?'} ({i.name!r}{'' if i.current() else ', outdated'})"
                for i in traits
            )
            outdated = [i for i in traits if not i.current()]
            self.add(
                ids[2],
                titles[2],
                "warn" if outdated else "pass",
                listed,
                "Run `ksegcli customdata create trait NAME --update` for the outdated ones."
                if outdated
                else None,
                traits=[i.trait for i in traits],
            )
        else:
            self.add(
                ids[2],
                titles[2],
                "pass",
                "none (optional: `ksegcli customdata create trait NAME`)",
                traits=[],
            )
        self.check_duplicates(site, items)

    def check_duplicates(self, site: Site, items: list[CustomData]) -> None:
        """Two runs that raced, or a copy made by hand: a name held twice is ambiguous."""

        twice = customdata.duplicated_names(items)
        if not twice:
            self.add(DUPLICATES_ID, DUPLICATES_TITLE, "pass", "no name is used twice")
            return
        listed = "; ".join(
            f"{name!r}: ids {', '.join(str(i.id) for i in same)}" for name, same in twice.items()
        )
        extra = [i.id for same in twice.values() for i in same[1:]]
        self.add(
            DUPLICATES_ID,
            DUPLICATES_TITLE,
            "fail",
            f"{len(twice)} name(s) held by more than one custom data on {site.code}: {listed}",
            "Rerun `ksegcli apply` (or the `customdata create` command) to delete ksegcli's "
            "extra copies, or delete them by id: `ksegcli customdata delete ID --project "
            f"{site.code} --yes` (extra ids: {', '.join(str(i) for i in extra)}).",
            duplicates={name: [i.id for i in same] for name, same in twice.items()},
        )

    # -- 6. identifier -----------------------------------------------------------------------
    def check_identifier(self) -> None:
        """Only a warning when absent: a site may send the visitor code to Segment its own way."""

        title = "Identifier script in the global custom script"
        if self._skip_without_project("identifier", title):
            return
        assert self.site is not None
        site = self.site
        install = f"ksegcli integration identifier install --project {site.code}"
        try:
            script = identifier.read_script(self.session.kameleoon(), site)
        except KsegError as exc:
            if exc.code == "api_refused":
                self.add(
                    "identifier",
                    title,
                    "warn",
                    "cannot be read through the API here (the trackingScript field is inferred)",
                    _fix(exc, identifier.manual_hint()),
                )
                return
            self.add("identifier", title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            return
        found = identifier.inspect(script)
        if found.state in ("current", "manual"):
            self.add("identifier", title, "pass", f"{site.code}: {found.detail}")
            return
        if found.state == "outdated":
            self.add(
                "identifier", title, "warn", f"{site.code}: {found.detail}", f"Run `{install}`."
            )
            return
        if found.state == "broken":
            self.add(
                "identifier",
                title,
                "warn",
                f"{site.code}: {found.detail}",
                f"Fix the marker lines by hand ({identifier.SCRIPT_LOCATION}), then run "
                f"`{install}`.",
            )
            return
        # Absent: needed when the custom data find users by the visitor code (the default).
        modes = {user_id_mode(item.code) for item in self.custom_data or [] if item.ours}
        modes.discard(None)
        if modes == {"segment"}:
            self.add(
                "identifier",
                title,
                "pass",
                f"not in the global custom script of {site.code}; not needed: the custom data "
                "use Segment's user id",
            )
            return
        why = "the custom data use" if modes else "the default user id strategy is"
        self.add(
            "identifier",
            title,
            "warn",
            f"not in the global custom script of {site.code}; {why} the Kameleoon visitor "
            "code, which reaches Segment only through this script",
            f"Run `{install}`.",
        )

    # -- 7. Segment destination ------------------------------------------------------------
    def check_destination(self) -> None:
        title = "Segment destination and mappings"
        token = self.session.credentials.lookup(credentials.SEGMENT_TOKEN, self.options.token)
        if token is None:
            self.add(
                "destination",
                title,
                "skip",
                "no Segment token",
                f"Set {config.ENV_SEGMENT_TOKEN} (and pass --source) to check the destination.",
            )
            return
        if not self.options.source:
            self.add(
                "destination",
                title,
                "skip",
                "no --source given",
                "Pass --source SOURCE_ID (`ksegcli segment sources list`).",
            )
            return
        if self.sitecode is None:
            self.add("destination", title, "skip", "needs a sitecode (see above)")
            return
        source = self.options.source
        try:
            result = destination_status(
                self.session,
                source,
                region=self.options.segment_region,
                sitecode=self.sitecode,
                api_key=self.api_key,
                token=token.value,
            )
        except KsegError as exc:
            self.add("destination", title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            return
        data = result.to_json()
        if result.in_sync:
            note = ""
            if not self.api_key:
                note = " (apiKey not compared: no key)"
            elif not result.api_key_compared:
                note = " (apiKey not compared: Segment does not show it)"
            self.add(
                "destination",
                title,
                "pass",
                f"{result.destination_id} on {source}: key, sitecode and five mappings as "
                f"expected{note}",
                destination=data,
            )
            return
        create = f"ksegcli segment destination create --source {source}"
        if result.state == "missing":
            self.add(
                "destination",
                title,
                "fail",
                f"no Kameleoon destination on {source}",
                f"Run `{create}`.",
                destination=data,
            )
            return
        problems = list(result.differences)
        problems += [
            f"{m.key} mapping {m.state}"
            + (f" ({'; '.join(m.differences)})" if m.differences else "")
            for m in result.mappings
            if m.state != "ok"
        ]
        only_missing = not result.differences and all(
            m.state in ("ok", "missing") for m in result.mappings
        )
        self.add(
            "destination",
            title,
            "fail",
            "; ".join(problems),
            f"Run `{create}`." if only_missing else f"Run `{create} --update`.",
            destination=data,
        )

    # -- 8. remote data --------------------------------------------------------------------
    def check_remote_data(self) -> None:
        if not self.options.user_id:
            return
        title = f"Remote data for user {self.options.user_id}"
        if self.sitecode is None:
            self.add("remote_data", title, "skip", "needs a sitecode (see above)")
            return
        user = self.options.user_id
        try:
            cohorts = dataapi.cohorts(
                self.session, user, sitecode=self.sitecode, region=self.options.data_region
            )
            traits = dataapi.traits(
                self.session, user, sitecode=self.sitecode, region=self.options.data_region
            )
        except KsegError as exc:
            self.add("remote_data", title, "fail", exc.message, _fix(exc, "Rerun with -v."))
            return
        if not cohorts.memberships and traits.empty:
            self.add(
                "remote_data",
                title,
                "fail",
                f"nothing under {cohorts.key} or {traits.key} on {self.sitecode}",
                dataapi.no_data_hint(self.sitecode),
            )
            return
        parts = []
        if cohorts.memberships:
            parts.append(f"personas: {', '.join(cohorts.member_of) or 'none (all false)'}")
        if not traits.empty:
            parts.append(f"traits: {', '.join(traits.traits) or 'none'}")
            if traits.group_id is not None:
                parts.append(f"groupId: {traits.group_id}")
        self.add(
            "remote_data",
            title,
            "pass",
            "; ".join(parts),
            cohorts=cohorts.memberships,
            traits=traits.traits,
            groupId=traits.group_id,
        )

    def run(self) -> DoctorReport:
        self.check_credentials()
        self.check_api_key()
        self.check_sitecode()
        self.check_integration()
        self.check_custom_data()
        self.check_identifier()
        self.check_destination()
        self.check_remote_data()
        return self.report


def run_doctor(
    session: Session,
    options: DoctorOptions,
    *,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check in order; ``on_check`` sees each as soon as it is done."""
    _check_options(options)
    return _Doctor(session, options, on_check or (lambda check: None)).run()


def _check_options(options: DoctorOptions) -> None:
    """A typo in a flag is a usage error (exit 2) before any check, not a failed check
    (exit 9) that a script would take for a broken integration. Values from env vars and
    the profile stay checks: finding those is doctor's job."""

    if options.sitecode:
        try:
            config.validate_sitecode(options.sitecode)
        except KsegError as exc:
            raise type(exc)(f"{exc.message} (from --sitecode)", hint=exc.hint) from None
    if options.segment_region:
        segment.normalize_region(options.segment_region)
    if options.data_region:
        dataapi.normalize_region(options.data_region)
