"""Custom data of the Segment integration: personas, traits, group id.

What the tool creates is described by a :class:`CustomDataSpec` (kind, name,
type, format, and the acquisition code rendered by :mod:`ksegcli.core.snippets`).
What exists comes from one paged list of ``/custom-datas`` for every project of
the run (:func:`list_custom_data`). :func:`plan_custom_data` compares the two,
purely, into :class:`~ksegcli.core.plan.Action` s; :func:`handle` performs one
of them, and creates are safe when their answer is lost (see :func:`create`).

Every API fact here is inferred (docs/api-facts.md §1, "Custom data"): paths, fields,
enum values, the 255 limit. They are the constants below, one place each.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import interrupt
from ksegcli.core.config import is_project_id
from ksegcli.core.create_once import create_once
from ksegcli.core.http.client import response_json
from ksegcli.core.plan import Action, ActionResult, Request
from ksegcli.core.snippets import USER_ID_MODES, SnippetError, render_snippet
from ksegcli.errors import BadInputError, KsegError, NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Condition, KameleoonClient, Site

# --- inferred (I), docs/api-facts.md §1 -------------------------------------------
CUSTOM_DATAS_PATH = "/custom-datas"
CUSTOM_DATA_PATH = "/custom-datas/{id}"
MAX_PER_PROJECT = 255  # help.kameleoon.com: at most 255 active custom data per project
#: The only fields ever sent on a create: an unknown field may make the API refuse it.
CREATE_FIELDS = ("name", "siteId", "type", "format", "method", "customEvalCode")
#: Fields compared (and patched with --update) on an existing custom data.
COMPARED_FIELDS = ("type", "format", "method", "customEvalCode")
METHOD = "CUSTOM_CODE"
# Site ids per `siteId IN [...]` filter: keeps the URL short for big accounts.
SITE_IDS_PER_FILTER = 100
# ---------------------------------------------------------------------------------

KINDS = ("personas", "trait", "group")
FORMATS = {"string": "STRING", "number": "NUMBER", "boolean": "BOOLEAN"}
DEFAULT_NAMES = {"personas": "SegmentIO personas", "group": "Group ID"}
_TYPES = {"personas": "LIST", "trait": "UNIQUE", "group": "UNIQUE"}

UpdatePolicy = Literal["never", "ours", "always"]

# Every acquisition snippet of ksegcli starts with this header line (snippets module).
_OURS_RE = re.compile(r"\A\s*// ksegcli (personas|trait|group) snippet\b")
_TRAIT_RE = re.compile(r"^var traitName = (\".*\");\s*$", re.MULTILINE)


@dataclass(frozen=True)
class CustomDataSpec:
    """A custom data as ksegcli wants it on a project."""

    kind: str  # personas | trait | group
    name: str
    type: str
    format: str
    code: str
    user_id: str
    trait: str | None = None

    def body(self, site_id: int) -> dict[str, Any]:
        """The create body: only the fields of CREATE_FIELDS."""
        values = {
            "name": self.name,
            "siteId": site_id,
            "type": self.type,
            "format": self.format,
            "method": METHOD,
            "customEvalCode": self.code,
        }
        return {key: values[key] for key in CREATE_FIELDS}

    def fields(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "format": self.format,
            "method": METHOD,
            "customEvalCode": self.code,
        }


def build_spec(
    kind: str,
    *,
    name: str | None = None,
    trait: str | None = None,
    fmt: str = "string",
    user_id: str = "visitor-code",
) -> CustomDataSpec:
    """The spec of one kind; the code is the snippet as rendered (never edited here).

    A trait of format number or boolean still gets the trait snippet, which hands
    Kameleoon the value as text (``JSON.stringify`` for non-strings): the snippet
    module owns the code, and Kameleoon compares the value with the format it has.
    """

    if kind not in KINDS:
        raise BadInputError(
            f"Unknown custom data kind {kind!r}; choose one of: {', '.join(KINDS)}."
        )
    if fmt not in FORMATS:
        raise BadInputError(f"Unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    if kind != "trait" and fmt != "string":
        raise BadInputError(f"The {kind} custom data is always of format string.")
    if kind == "trait" and not (trait or "").strip():
        # The snippet's own message points at `snippet render`, the wrong command here.
        raise BadInputError(
            "The trait custom data needs the trait's name, as Segment sends it.",
            hint="For example: `ksegcli customdata create trait plan`.",
        )
    try:
        snippet = render_snippet(kind, user_id=user_id, trait=trait if kind == "trait" else None)
    except SnippetError as exc:
        text = str(exc).rstrip(".")
        raise BadInputError(f"{text[:1].upper()}{text[1:]}.") from None
    final_name = (name if name is not None else DEFAULT_NAMES.get(kind, trait or "")).strip()
    if not final_name:
        raise BadInputError("A custom data needs a non-empty name.")
    if len(final_name) > 255:
        raise BadInputError(
            f"Custom data name too long ({len(final_name)} characters, at most 255)."
        )
    return CustomDataSpec(
        kind=kind,
        name=final_name,
        type=_TYPES[kind],
        format=FORMATS[fmt],
        code=snippet.code,
        user_id=user_id,
        trait=trait if kind == "trait" else None,
    )


def normalize_code(code: str | None) -> str:
    """Code as compared: line endings and surrounding blank space do not count."""
    if not code:
        return ""
    return "\n".join(line.rstrip() for line in code.replace("\r\n", "\n").split("\n")).strip()


@dataclass(frozen=True)
class CustomData:
    """A custom data as the API lists it."""

    id: int
    name: str
    site_id: int
    type: str
    format: str
    method: str
    code: str | None
    raw: Mapping[str, Any]

    @classmethod
    def from_api(cls, data: Mapping[str, Any], endpoint: str = "GET /custom-datas") -> CustomData:
        from ksegcli.core.http.parse import CustomDataAnswer, convert

        parsed = convert(data, CustomDataAnswer, endpoint)
        return cls(
            id=parsed.id,
            name=parsed.name or "",
            site_id=parsed.siteId or 0,
            type=parsed.type or "",
            format=parsed.format or "",
            method=parsed.method or "",
            code=parsed.customEvalCode,
            raw=data,
        )

    @property
    def ours(self) -> str | None:
        """personas | trait | group when the code is one of ksegcli's snippets, else None."""
        match = _OURS_RE.match(self.code or "")
        return match.group(1) if match else None

    @property
    def trait(self) -> str | None:
        if self.ours != "trait":
            return None
        match = _TRAIT_RE.search(self.code or "")
        if not match:
            return None
        try:
            value = json.loads(match.group(1))
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def current(self) -> bool | None:
        """Ours and equal to what this version renders (either user-id mode)? None if not ours."""
        kind = self.ours
        if kind is None:
            return None

        trait = self.trait
        if kind == "trait" and trait is None:
            return False
        for mode in USER_ID_MODES:
            try:
                code = render_snippet(kind, user_id=mode, trait=trait).code
            except SnippetError:
                return False
            if normalize_code(code) == normalize_code(self.code):
                return True
        return False

    def fields(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "format": self.format,
            "method": self.method,
            "customEvalCode": self.code,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "siteId": self.site_id,
            "type": self.type,
            "format": self.format,
            "method": self.method,
            "ours": self.ours,
            "current": self.current(),
        }


# -- reads --------------------------------------------------------------------------


def list_custom_data(
    client: KameleoonClient, site_ids: Iterable[int]
) -> dict[int, list[CustomData]]:
    """Every custom data of these projects: one paged list (``siteId IN [...]``), not one per project."""
    ids = sorted(set(site_ids))
    found: dict[int, list[CustomData]] = {site_id: [] for site_id in ids}
    for start in range(0, len(ids), SITE_IDS_PER_FILTER):
        chunk = ids[start : start + SITE_IDS_PER_FILTER]
        condition = ("siteId", "EQUAL", chunk) if len(chunk) == 1 else ("siteId", "IN", chunk)
        for item in client.paginate_filtered(CUSTOM_DATAS_PATH, [condition]):
            data = CustomData.from_api(item)
            if data.site_id in found:
                found[data.site_id].append(data)
    for items in found.values():
        items.sort(key=lambda item: item.id)
    return found


def find_by_name(client: KameleoonClient, site_id: int, name: str) -> list[CustomData]:
    """The custom data of that name on the project (one filtered list request)."""
    conditions: list[Condition] = [("siteId", "EQUAL", [site_id]), ("name", "EQUAL", [name])]
    items = [
        CustomData.from_api(item)
        for item in client.paginate_filtered(CUSTOM_DATAS_PATH, conditions)
    ]
    return sorted((i for i in items if i.site_id == site_id and i.name == name), key=lambda i: i.id)


def resolve(items: Sequence[CustomData], ref: str, site: Site) -> CustomData:
    """``ID|NAME`` → the one custom data it names on that project."""
    ref = ref.strip()
    if is_project_id(ref):
        for item in items:
            if item.id == int(ref):
                return item
    matches = [item for item in items if item.name == ref]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise BadInputError(
            f"{len(matches)} custom data are named {ref!r} on {site.label()}.",
            hint="Delete by id: " + ", ".join(str(m.id) for m in matches) + ".",
        )
    raise NotFoundError(
        f"No custom data {ref!r} on {site.label()}.",
        hint="Run `ksegcli customdata list` to see its custom data.",
    )


# -- planning (pure) -------------------------------------------------------------------


def _differences(spec: CustomDataSpec, item: CustomData) -> list[str]:
    want, have = spec.fields(), item.fields()
    diffs = []
    for key in COMPARED_FIELDS:
        if key == "customEvalCode":
            if normalize_code(want[key]) != normalize_code(have[key]):
                diffs.append(key)
        elif want[key] != have[key]:
            diffs.append(key)
    return diffs


def _describe_code(spec: CustomDataSpec, item: CustomData) -> str:
    kind = item.ours
    if kind is None:
        return "its code is not ksegcli's snippet" if item.code else "it has no code"
    if kind != spec.kind:
        return f"its code is ksegcli's {kind} snippet, not the {spec.kind} one"

    for mode in USER_ID_MODES:
        if mode != spec.user_id:
            other = render_snippet(spec.kind, user_id=mode, trait=spec.trait).code
            if normalize_code(other) == normalize_code(item.code):
                return f"its code is the {kind} snippet for user id {mode}, not {spec.user_id}"
    return f"its code is an older or edited ksegcli {kind} snippet"


def _describe(diffs: Sequence[str], spec: CustomDataSpec, item: CustomData) -> str:
    parts = []
    for key in diffs:
        if key == "customEvalCode":
            parts.append(_describe_code(spec, item))
        else:
            parts.append(f"{key} is {item.fields()[key] or 'empty'}, not {spec.fields()[key]}")
    return "; ".join(parts)


def plan_custom_data(
    site: Site,
    specs: Sequence[CustomDataSpec],
    existing: Sequence[CustomData],
    *,
    update: UpdatePolicy = "never",
    prune: bool = False,
    limit: int = MAX_PER_PROJECT,
) -> list[Action]:
    """Desired custom data of one project + what it has → the actions, in order.

    ``update``: when a custom data of the same name differs — "never" reports it as
    drifted, "ours" updates it only if its code is a ksegcli snippet, "always" updates it.
    ``prune``: ksegcli's own custom data (recognised by the snippet header) that no spec
    names are deleted; never anyone else's.
    A name is never created twice; creates beyond the per-project limit are blocked.
    """
    by_name: dict[str, list[CustomData]] = {}
    for item in existing:
        by_name.setdefault(item.name, []).append(item)
    actions: list[Action] = []
    count = len(existing)  # what the project will have, creates of this plan included
    wanted: set[str] = set()
    for spec in specs:
        wanted.add(spec.name)
        same = sorted(by_name.get(spec.name, []), key=lambda i: i.id)
        desired = spec.body(site.id)
        if not same:
            if count >= limit:
                actions.append(
                    Action(
                        site,
                        "custom-data",
                        spec.name,
                        "blocked",
                        f"{site.label()} has {len(existing)} custom data"
                        + (
                            f" (+{count - len(existing)} created by this run)"
                            if count > len(existing)
                            else ""
                        )
                        + f": Kameleoon allows at most {limit} per project. "
                        "Delete unused ones first.",
                        kind=spec.kind,
                        desired=desired,
                    )
                )
                continue
            count += 1
            actions.append(
                Action(
                    site,
                    "custom-data",
                    spec.name,
                    "create",
                    "absent",
                    Request("POST", CUSTOM_DATAS_PATH, desired),
                    kind=spec.kind,
                    desired=desired,
                )
            )
            continue
        item = same[0]
        # Copies of ksegcli's own item (two runs raced) are deleted, the oldest is kept;
        # a custom data made by hand is never deleted, and neither is a copy of one.
        copies = [i for i in same[1:] if item.ours is not None and i.ours is not None]
        kept = [i for i in same if i not in copies]
        dup = (
            f" ({len(kept)} custom data share this name; ids {', '.join(str(i.id) for i in kept)}; "
            "the first is used)"
            if len(kept) > 1
            else ""
        )
        for copy in copies:
            actions.append(
                Action(
                    site,
                    "custom-data",
                    spec.name,
                    "duplicate",
                    f"a second copy of ksegcli's custom data id {item.id}: deleted, the oldest "
                    "is kept",
                    Request("DELETE", CUSTOM_DATA_PATH.format(id=copy.id)),
                    kind=copy.ours,
                    existing_id=copy.id,
                )
            )
        diffs = _differences(spec, item)
        if not diffs:
            actions.append(
                Action(
                    site,
                    "custom-data",
                    spec.name,
                    "unchanged",
                    "up to date" + dup,
                    kind=spec.kind,
                    existing_id=item.id,
                    desired=desired,
                )
            )
            continue
        why = _describe(diffs, spec, item)
        patch = {key: spec.fields()[key] for key in diffs}
        if update == "always" or (update == "ours" and item.ours is not None):
            actions.append(
                Action(
                    site,
                    "custom-data",
                    spec.name,
                    "update",
                    why + dup,
                    Request("PATCH", CUSTOM_DATA_PATH.format(id=item.id), patch),
                    kind=spec.kind,
                    existing_id=item.id,
                    desired=desired,
                )
            )
        else:
            hint = (
                "--update overwrites it"
                if update == "never"
                else ("not ksegcli's: --update overwrites it")
            )
            actions.append(
                Action(
                    site,
                    "custom-data",
                    spec.name,
                    "drifted",
                    f"{why}{dup}; left alone ({hint})",
                    kind=spec.kind,
                    existing_id=item.id,
                    desired=desired,
                )
            )
    for item in existing:
        if item.name in wanted or item.ours is None:
            continue
        if prune:
            actions.append(
                Action(
                    site,
                    "custom-data",
                    item.name,
                    "delete",
                    "ksegcli's custom data, not in the desired state (--prune)",
                    Request("DELETE", CUSTOM_DATA_PATH.format(id=item.id)),
                    kind=item.ours,
                    existing_id=item.id,
                )
            )
    return actions


# -- writes ------------------------------------------------------------------------------


def create(client: KameleoonClient, action: Action) -> ActionResult:
    """POST a custom data, never twice: when the answer is lost (timeout, dropped
    connection, 5xx), look for it by name first, and POST again only if it is absent
    (core/create_once.py)."""

    request = action.request
    assert request is not None
    body = request.body
    site_id = int(body["siteId"])

    def post() -> int | None:
        data = response_json(client.http.request("POST", request.path, json_body=body))
        return CustomData.from_api(data, f"POST {request.path}").id if data else None

    def find() -> int | None:
        found = find_by_name(client, site_id, action.name)
        return found[0].id if found else None

    new_id, found = create_once(client.http, post, find)
    if found:
        message = f"custom data id {new_id} (the answer was lost; found it by name, not sent again)"
        return ActionResult(action, "created", message, new_id)
    return ActionResult(action, "created", f"new custom data id {new_id}", new_id)


def handle(client: KameleoonClient, action: Action) -> ActionResult:
    """Perform one custom-data write (create, update or delete)."""

    assert action.request is not None
    if action.action == "create":
        return create(client, action)
    if action.action == "update":
        # Setting fields to fixed values is idempotent: safe to repeat after a lost answer.
        response_json(
            client.http.request(
                "PATCH", action.request.path, json_body=action.request.body, retry_unsafe=True
            )
        )
        return ActionResult(action, "updated", "updated: " + action.reason, action.existing_id)
    if action.action in ("delete", "duplicate"):
        what = "deleted" if action.action == "delete" else "deleted the copy"
        try:
            client.http.request("DELETE", action.request.path)
        except NotFoundError:  # an earlier attempt (or another run) already did it
            return ActionResult(action, "deleted", f"{what} (already gone)", action.existing_id)
        return ActionResult(action, "deleted", what, action.existing_id)
    raise ValueError(f"not a custom data write: {action.action}")


def plan(
    client: KameleoonClient,
    sites: Sequence[Site],
    specs: Sequence[CustomDataSpec],
    *,
    update: UpdatePolicy = "never",
    prune: bool = False,
) -> list[Action]:
    """Read every project's custom data (one paged list) and plan ``specs`` on each."""
    existing = list_custom_data(client, [site.id for site in sites])
    return [
        action
        for site in sites
        for action in plan_custom_data(site, specs, existing[site.id], update=update, prune=prune)
    ]


HANDLERS = {"custom-data": handle}


def delete(client: KameleoonClient, item: CustomData) -> None:
    """Delete one custom data (a 404 after a lost answer means it is gone: fine)."""
    with contextlib.suppress(NotFoundError):
        client.http.request("DELETE", CUSTOM_DATA_PATH.format(id=item.id))


def shared_names(site: Site, items: Sequence[CustomData], names: Iterable[str]) -> list[str]:
    """Warnings for names of ``names`` that custom data made by hand share on the project:
    those copies are reported, never deleted."""
    out = []
    for name in sorted(set(names)):
        same = [i for i in items if i.name == name]
        hand = [i for i in same if i.ours is None]
        if len(same) > 1 and hand:
            out.append(
                f"{len(same)} custom data are named {name!r} on {site.label()} (ids "
                f"{', '.join(str(i.id) for i in same)}), {len(hand)} of them made by hand: "
                "ksegcli uses the oldest and deletes none of them; delete the extra ones "
                "with `ksegcli customdata delete ID`."
            )
    return out


def duplicated_names(items: Sequence[CustomData]) -> dict[str, list[CustomData]]:
    """Names of the integration's custom data (one of them is ksegcli's, or the name is a
    default one) that more than one custom data of the project hold, oldest first."""
    by_name: dict[str, list[CustomData]] = {}
    for item in items:
        by_name.setdefault(item.name, []).append(item)
    defaults = set(DEFAULT_NAMES.values())
    return {
        name: sorted(same, key=lambda i: i.id)
        for name, same in sorted(by_name.items())
        if len(same) > 1 and (name in defaults or any(i.ours is not None for i in same))
    }


def converge(
    client: KameleoonClient, results: Sequence[ActionResult], *, workers: int = 8
) -> list[str]:
    """After the creates of a run: make runs that raced end with one item of each name.

    Another run (another machine, another CI job) may have created the same name between
    our list and our create. One paged list of the projects where this run created
    something; for each name created, when more than one of ksegcli's custom data hold it,
    the oldest (lowest id) is kept and the other copies are deleted — the copy this run
    made, and a copy whose create answer was lost. Every run keeps the oldest it sees,
    and none deletes it, so the runs agree. The result of a create whose item was such a
    copy becomes ``unchanged``, naming the item kept. A custom data made by hand is never
    deleted (its copies are returned as warnings).
    """
    created = [
        r
        for r in results
        if r.action.resource == "custom-data"
        and r.action.action == "create"
        and r.status == "created"
        and r.id is not None
    ]
    if not created:
        return []
    try:
        listing = list_custom_data(client, {r.action.site.id for r in created})
    except KsegError as exc:
        return [
            f"Could not check for custom data created twice by concurrent runs: {exc.message} "
            "(`ksegcli apply --dry-run` or `ksegcli doctor` shows any copies)."
        ]
    warnings: list[str] = []
    todo: list[tuple[ActionResult, CustomData, list[int]]] = []
    for result in created:
        site = result.action.site
        items = listing.get(site.id, [])
        same = [i for i in items if i.name == result.action.name]
        warnings.extend(shared_names(site, items, [result.action.name]))
        if same and same[0].ours is not None:  # one made by hand is never deleted
            todo.append((result, same[0], [i.id for i in same[1:] if i.ours is not None]))
    failures = _delete_all(client, sorted({i for _, _, ids in todo for i in ids}), workers)
    for result, keep, copies in todo:
        mine = result.id
        failed = [failures[c] for c in copies if c in failures]
        if failed:
            result.status = "failed"
            result.message = (
                f"created id {mine}, but another run created the same custom data at the same "
                f"time (ids {keep.id}, {', '.join(map(str, copies))}) and deleting the copies "
                f"failed: {failed[0].message}"
            )
            result.error = failed[0]
            continue
        others = [c for c in copies if c != mine]
        also = f"; deleted the copy id {', '.join(map(str, others))}" if others else ""
        if keep.id == mine:
            if others:
                result.message += f" (another run created it too{also})"
            continue
        result.status = "unchanged"
        result.id = keep.id
        result.message = (
            f"another run created it at the same time (id {keep.id}, kept as the oldest); "
            f"this run's copy (id {mine}) "
            + ("was deleted" if mine in copies else "was already deleted by the other run")
            + also
        )
    return list(dict.fromkeys(warnings))


def settle(
    client: KameleoonClient, results: Sequence[ActionResult], *, workers: int = 8
) -> list[str]:
    """:func:`converge`, unless Ctrl-C stopped the run (a rerun's plan then shows any
    copy as ``duplicate``); bounded like a write once Ctrl-C is pressed."""

    if interrupt.requested():
        return []
    try:
        return interrupt.call(lambda: converge(client, results, workers=workers))
    except interrupt.RequestStopped:
        return [
            "Stopped while checking for custom data created twice by concurrent runs: "
            "`ksegcli apply --dry-run` shows any copy (as duplicate) and a rerun deletes it."
        ]


def _delete_all(client: KameleoonClient, ids: Sequence[int], workers: int) -> dict[int, KsegError]:
    """Delete these custom data, a few at a time; the failures by id."""

    failures: dict[int, KsegError] = {}

    def one(item_id: int) -> None:
        try:
            delete_id(client, item_id)
        except KsegError as exc:
            failures[item_id] = exc

    if len(ids) <= 1 or workers <= 1:
        for item_id in ids:
            one(item_id)
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(ids))) as pool:
            list(pool.map(one, ids))
    return failures


def delete_id(client: KameleoonClient, item_id: int) -> None:
    """Delete one custom data by id (a 404 after a lost answer means it is gone: fine)."""
    with contextlib.suppress(NotFoundError):
        client.http.request("DELETE", CUSTOM_DATA_PATH.format(id=item_id))
