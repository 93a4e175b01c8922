"""The Kameleoon Automation API: OAuth token, paging, filters, projects (sites).

Facts marked (I) are inferred (docs/api-facts.md lists each with its source);
they are collected in the constants below so that each is a one-line fix when
the real API disagrees.
Resource modules (custom data, integrations, goals, campaigns) call
:class:`KameleoonClient` and keep their own paths next to their code.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ksegcli.core.auth import tokens
from ksegcli.core.config import is_project_id, is_sitecode
from ksegcli.core.http.client import HttpClient, RateLimiter, response_json, server_message
from ksegcli.core.redact import register_secret
from ksegcli.errors import ApiError, AuthError, BadInputError, NotFoundError

# --- confirmed (C) ---------------------------------------------------------------
TOKEN_PATH = "/oauth/token"
TOKEN_EXPIRY_MARGIN = 60.0  # seconds: treat a token as expired this much early, like the SDKs
# --- inferred (I) ----------------------------------------------------------------
PER_PAGE_MAX = 200  # list endpoints: page (1-based) + perPage, bare JSON array answers
# A list longer than this many pages would use the account's whole hourly request
# budget (1,000): a server that keeps sending full pages is stopped here.
MAX_PAGES = 1000
SITES_PATH = "/sites"
SITE_BY_CODE_PATH = "/sites/byCode/{code}"
SITE_PATH = "/sites/{site_id}"  # GET one project; PATCH changes its fields
TRACKING_SCRIPT_FIELD = "trackingScript"  # a site's field: the project's global custom script
#: A filter with IN answered with one of these is sent again as EQUAL with the array
#: (Kameleoon's tutorials show EQUAL with several values; its Postman collection lists IN).
IN_REFUSED_STATUSES = frozenset({400})

#: One filter condition: (field, operator, values).
Condition = tuple[str, str, Sequence[Any]]


def filter_json(*conditions: Condition) -> str:
    """The ``filter`` query parameter: a JSON array of conditions (I). The one builder."""
    return json.dumps(
        [{"field": f, "operator": op, "parameters": list(values)} for f, op, values in conditions],
        separators=(",", ":"),
    )


def filter_param(field: str, operator: str, values: Sequence[Any]) -> str:
    """One condition's ``filter`` query parameter."""
    return filter_json((field, operator, values))


def _without_in(conditions: Sequence[Condition]) -> list[Condition]:
    return [(f, "EQUAL" if op == "IN" else op, values) for f, op, values in conditions]


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: float  # epoch seconds

    def valid(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.expires_at - TOKEN_EXPIRY_MARGIN


class TokenProvider:
    """Fetches OAuth tokens with the client credentials, and caches them.

    The cache is this object (for the run) plus an optional store (the keyring,
    across runs). ``invalidate`` drops both, after a 401.
    """

    def __init__(
        self,
        http: HttpClient,
        client_id: str,
        client_secret: str,
        *,
        load: Callable[[], str | None] | None = None,
        save: Callable[[str], None] | None = None,
        log: Callable[[str], None] | None = None,
        refused_hint: str | None = None,
    ) -> None:
        self._http = http
        self.client_id = client_id
        # What to do when Kameleoon refuses them: depends on where they came from.
        self._refused_hint = refused_hint or (
            "Check them on your Kameleoon profile page (API credentials), "
            "then run `ksegcli auth login`."
        )
        self._secret = client_secret
        self._load = load
        self._save = save
        self._log = log
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self.fetched = 0

    def _from_store(self) -> AccessToken | None:
        if self._load is None:
            return None
        raw = self._load()
        found = tokens.decode(raw, self.client_id) if raw else None
        if found is None:
            return None
        token = AccessToken(*found)

        register_secret(token.token)  # a secret loaded is a secret masked, fetched or cached
        if not _sendable(token.token):
            return None  # a damaged cache entry: fetch a fresh token instead
        return token if token.valid() else None

    def get(self) -> str:
        with self._lock:
            if self._token is None or not self._token.valid():
                self._token = self._from_store()
                if self._token is not None and self._log:
                    self._log("Using the cached access token.")
            if self._token is None or not self._token.valid():
                self._token = self.fetch()
                if self._save is not None:
                    self._save(
                        tokens.encode(self.client_id, self._token.token, self._token.expires_at)
                    )
            return self._token.token

    def fetch(self) -> AccessToken:
        """Exchange the client credentials for a token (form body, as the Go SDK does)."""
        self.fetched += 1
        try:
            response = self._http.request(
                "POST",
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                },
                authenticated=False,
                retry_unsafe=True,  # asking for a token twice is harmless
                allow_statuses=frozenset({400}),
            )
        except AuthError as exc:
            raise AuthError(
                f"Kameleoon refused the client id and secret: {_tail(exc.message)}",
                hint=self._refused_hint,
            ) from None
        if response.status_code == 400:
            raise AuthError(
                f"Kameleoon refused the client id and secret: {server_message(response)}",
                hint=self._refused_hint,
            )
        from ksegcli.core.http.parse import TokenAnswer, convert

        body = response_json(response)
        if isinstance(body, dict) and isinstance(body.get("access_token"), str):
            register_secret(body["access_token"])  # before any message could quote it
        answer = convert(body, TokenAnswer, f"POST {TOKEN_PATH}")
        if not _sendable(answer.access_token):
            raise ApiError(f"POST {TOKEN_PATH} answered an access_token HTTP cannot carry.")
        ttl = answer.expires_in
        if ttl is None or not 0 < ttl < 10 * 365 * 86400:  # also false for nan
            ttl = 3600.0
        return AccessToken(answer.access_token, time.time() + ttl)

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
            if self._save is not None:
                self._save("")
        return True


def _sendable(token: str) -> bool:
    """Printable ASCII without spaces: what a bearer token is, and an HTTP header can carry."""
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


def _tail(message: str) -> str:
    return message.split(": ", 1)[-1]


@dataclass(frozen=True)
class Site:
    """A Kameleoon project."""

    id: int
    name: str
    url: str
    code: str
    type: str
    # The project's global custom script when the listing carried it (null = empty);
    # None when it did not, so a reader knows to ask GET /sites/{id} (core/kameleoon/identifier.py).
    tracking_script: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any], endpoint: str = f"GET {SITES_PATH}") -> Site:
        from ksegcli.core.http.parse import SiteAnswer, convert

        parsed = convert(data, SiteAnswer, endpoint)
        script: str | None = None
        if TRACKING_SCRIPT_FIELD in data:
            raw = data[TRACKING_SCRIPT_FIELD]
            script = "" if raw is None else raw if isinstance(raw, str) else None
        return cls(
            id=parsed.id,
            name=parsed.name or "",
            url=parsed.url or "",
            code=parsed.code or "",
            type=parsed.type or "",
            tracking_script=script,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "sitecode": self.code,
            "type": self.type,
        }

    def label(self) -> str:
        return f"{self.name or self.code} (id {self.id}, sitecode {self.code})"


class KameleoonClient:
    """Authenticated access to the Automation API."""

    def __init__(self, http: HttpClient, tokens: TokenProvider) -> None:
        self.http = http
        self.tokens = tokens
        self._sites: list[Site] | None = None
        self.warn: Callable[[str], None] | None = None  # a sitecode matched case-blind
        # Told each full listing of the projects (the session caches it for completion).
        self.on_sites: Callable[[list[Site]], None] | None = None
        self.in_refused = False  # the server refused a filter with IN: EQUAL + array from now on
        self.max_pages = MAX_PAGES

    @property
    def limiter(self) -> RateLimiter | None:
        return self.http.limiter

    # -- verbs ----------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return response_json(self.http.request("GET", path, params=params))

    def post(self, path: str, body: Any, *, retry_unsafe: bool = False) -> Any:
        return response_json(
            self.http.request("POST", path, json_body=body, retry_unsafe=retry_unsafe)
        )

    def patch(self, path: str, body: Any) -> Any:
        return response_json(self.http.request("PATCH", path, json_body=body))

    def put(self, path: str, body: Any) -> Any:
        return response_json(self.http.request("PUT", path, json_body=body))

    def delete(self, path: str) -> Any:
        return response_json(self.http.request("DELETE", path))

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, per_page: int = PER_PAGE_MAX
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint: pages until one is shorter than ``perPage`` (I).

        Bounded: a page equal to the one before (a server ignoring ``page``) or more
        pages than the hourly budget allows stops with an API error, never a loop.
        """
        page = 1
        previous: list[Any] | None = None
        while True:
            if page > self.max_pages:
                raise ApiError(
                    f"GET {path} still had more items after {self.max_pages} pages of "
                    f"{per_page}; stopped there, as more would exceed the hourly request budget.",
                    hint="The server's paging looks broken; try again later.",
                )
            query = {**(params or {}), "page": page, "perPage": per_page}
            from ksegcli.core.http.parse import item_list

            items = item_list(self.get(path, query), f"GET {path}")
            if previous is not None and items == previous:
                raise ApiError(
                    f"GET {path} answered page {page} with the same {len(items)} items as page "
                    f"{page - 1}: the server seems to ignore the page parameter; stopped rather "
                    "than read the same page forever.",
                    hint="Try again later; if it persists, the service's paging is broken.",
                )
            previous = items
            yield from items
            if len(items) < per_page:
                return
            page += 1

    def paginate_filtered(
        self,
        path: str,
        conditions: Sequence[Condition],
        params: Mapping[str, Any] | None = None,
        *,
        per_page: int = PER_PAGE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`paginate` with a ``filter``; a refused IN is sent again as EQUAL with the
        array (both are documented forms), and the run keeps to EQUAL afterwards."""
        conds = _without_in(conditions) if self.in_refused else list(conditions)
        uses_in = any(op == "IN" for _, op, _ in conds)
        yielded = False
        try:
            for item in self.paginate(
                path, {**(params or {}), "filter": filter_json(*conds)}, per_page=per_page
            ):
                yielded = True
                yield item
        except ApiError as exc:
            if not uses_in or yielded or exc.status not in IN_REFUSED_STATUSES:
                raise
            self.in_refused = True
            self.http.note(f"  the filter with IN was refused ({exc.message}); using EQUAL")
            query = {**(params or {}), "filter": filter_json(*_without_in(conds))}
            yield from self.paginate(path, query, per_page=per_page)

    # -- projects ---------------------------------------------------------------
    def list_sites(self) -> list[Site]:
        if self._sites is None:
            self._sites = [Site.from_api(item) for item in self.paginate(SITES_PATH)]
            if self.on_sites is not None:
                self.on_sites(self._sites)
        return self._sites

    def resolve_projects(self, refs: Sequence[str]) -> list[Site]:
        """Numeric ids or sitecodes → projects, all checked before anything is written.

        One paged list of the account's projects serves every reference.
        """

        sites = self.list_sites()
        by_id = {site.id: site for site in sites}
        found: list[Site] = []
        unknown: list[str] = []
        for ref in refs:
            ref = ref.strip()
            site: Site | None = None
            if is_project_id(ref):
                site = by_id.get(int(ref))
            elif is_sitecode(ref):
                site = site_by_code(sites, ref, warn=self.warn)
            else:
                raise BadInputError(
                    f"{ref!r} is neither a project id (a number) nor a sitecode "
                    "(10 letters or digits)."
                )
            if site is None:
                unknown.append(ref)
            elif site not in found:
                found.append(site)
        if unknown:
            raise NotFoundError(
                f"Unknown project{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
                hint="Run `ksegcli projects list` to see the projects these credentials reach.",
            )
        return found


def site_by_code(
    sites: Sequence[Site], code: str, *, warn: Callable[[str], None] | None = None
) -> Site | None:
    """The project whose sitecode is ``code``: the exact match, else the one project whose
    sitecode differs from it in case only. Kameleoon's documentation does not say whether
    sitecodes are case-sensitive, so a case-blind match is accepted, said (``warn``) and
    the project's own spelling used from then on; two such projects are refused."""
    exact = next((site for site in sites if site.code == code), None)
    if exact is not None:
        return exact
    folded = [site for site in sites if site.code.casefold() == code.casefold()]
    if len(folded) > 1:
        raise BadInputError(
            f"Sitecode {code} matches {len(folded)} projects when case is ignored "
            f"({', '.join(site.code for site in folded)}).",
            hint="Give the sitecode exactly, or the project id.",
        )
    if folded and warn is not None:
        warn(
            f"Sitecode {code} matched project {folded[0].label()} ignoring case: "
            f"{folded[0].code} is used."
        )
    return folded[0] if folded else None
