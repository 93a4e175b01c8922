"""One run's access to configuration, credentials and API clients.

Commands ask the session for what they need; everything is created lazily,
so that a command that needs no network imports no httpx and opens no
keyring.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, overload

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.auth.credentials import Credential, Credentials
from ksegcli.core.auth.keyring_store import KeyringStore
from ksegcli.core.paths import account_path, cache_dir, sha256_hex
from ksegcli.errors import UsageError

if TYPE_CHECKING:
    from ksegcli.core.auth.tokens import TokenCache
    from ksegcli.core.http.client import HttpClient, RateLimiter
    from ksegcli.core.http.trace import Tracer
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.lock import AccountLock, LockTimeout

Log = Callable[[str], None]


class Session:
    def __init__(
        self,
        *,
        profile_name: str = config.DEFAULT_PROFILE,
        interactive: bool = False,
        log: Log | None = None,
        warn: Log | None = None,
        notice: Log | None = None,
        env: Mapping[str, str] | None = None,
        command: str = "ksegcli",
        lock_writes: bool = False,
        trace: Tracer | None = None,
    ) -> None:
        self.profile_name = config.validate_profile_name(profile_name)
        self.interactive = interactive
        self.log = log
        self.warn = warn
        self.notice = notice  # a line on stderr that is not a warning
        self.trace = trace  # --trace / KSEG_TRACE: every client of the run writes to it
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.command = command  # for the account lock's record: names only, never values
        # The CLI's runs take the account's lock (lock_account); a session made by other
        # code (a library use, a test) does only when asked, as it may never be closed.
        self.lock_writes = lock_writes
        self.started = time.time()
        self._lock: AccountLock | None = None
        self._lock_tried = False
        self._lock_error: LockTimeout | None = None
        self._lock_guard = threading.Lock()
        self._profile: config.Profile | None = None
        self._keyring: KeyringStore | None = None
        self._credentials: Credentials | None = None
        self._limiter: RateLimiter | None = None
        self._kameleoon: KameleoonClient | None = None
        self._clients: list[HttpClient] = []

    # -- configuration ----------------------------------------------------------
    @property
    def profile(self) -> config.Profile:
        if self._profile is None:
            self._profile = config.load_profile(self.profile_name, self.env)
            self._profile.warn = self.warn
        return self._profile

    def base_url(self, service: config.Service) -> str:
        return config.base_url(service, self.profile, self.env)

    @overload
    def sitecode(self, flag: str | None = None, *, required: Literal[True]) -> str: ...

    @overload
    def sitecode(self, flag: str | None = None, *, required: bool = False) -> str | None: ...

    def sitecode(self, flag: str | None = None, *, required: bool = False) -> str | None:
        """Flag → KAMELEOON_SITECODE → profile; validated."""
        for value, source in (
            (flag, "--sitecode"),
            (self.env.get(config.ENV_SITECODE), config.ENV_SITECODE),
            (self.profile.get("sitecode"), str(self.profile.path)),
        ):
            if value:
                try:
                    return config.validate_sitecode(value)
                except Exception as exc:
                    from ksegcli.errors import BadInputError, ConfigError

                    if isinstance(exc, BadInputError):
                        if source == str(self.profile.path):
                            # A bad value in the profile file is a config problem (exit 7),
                            # like any other invalid setting there.
                            raise ConfigError(
                                f"{exc.message} (from {source})",
                                hint="Store a valid one with `ksegcli sitecode set CODE`.",
                            ) from None
                        raise BadInputError(
                            f"{exc.message} (from {source})", hint=exc.hint
                        ) from None
                    raise
        if required:
            raise UsageError(
                "No sitecode given.",
                hint="Pass --sitecode CODE, set KAMELEOON_SITECODE, or run "
                "`ksegcli sitecode set CODE`.",
            )
        return None

    # -- credentials -----------------------------------------------------------------
    @property
    def keyring(self) -> KeyringStore:
        if self._keyring is None:
            # A keyring that cannot be read is said where it matters (a secret that
            # could not be kept, or found nowhere); otherwise only in the -v log, as a
            # CI job with env credentials needs no keyring at all.
            self._keyring = KeyringStore(warn=self.log)
        return self._keyring

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = Credentials(
                profile=self.profile,
                keyring=self.keyring,
                interactive=self.interactive,
                env=self.env,
            )
        return self._credentials

    def known_client_credentials(self) -> tuple[Credential, Credential] | None:
        """The client id and secret when both are at hand (flag, env, profile, keyring),
        else None; never prompts."""
        cid = self.credentials.lookup(credentials.CLIENT_ID)
        secret = self.credentials.lookup(credentials.CLIENT_SECRET)
        if cid is None or secret is None:
            return None
        return cid, secret

    def client_credentials(
        self, client_id: str | None = None, client_secret: str | None = None
    ) -> tuple[Credential, Credential]:
        cid = self.credentials.require(credentials.CLIENT_ID, client_id)
        secret = self.credentials.require(credentials.CLIENT_SECRET, client_secret)
        return cid, secret

    # -- HTTP --------------------------------------------------------------------------
    @property
    def limiter(self) -> RateLimiter:
        """One limiter for every Kameleoon call of the run (the limit is per account)."""
        return self.limiter_for(None)

    def limiter_for(self, client_id: str | None) -> RateLimiter:
        """The account's limiter, shared with every ksegcli process of the machine
        (core/http/limits.py); per-process when the account is not known yet."""
        if self._limiter is None:
            from ksegcli.core.http.client import RateLimiter

            limit, window = config.rate_limit(self.env)
            hourly, hour = config.hourly_limit(self.env)
            if client_id is None:
                found = self.credentials.lookup(credentials.CLIENT_ID)
                client_id = found.value if found is not None else None
            if client_id:
                from ksegcli.core.http.limits import shared_limiter

                self._limiter = shared_limiter(
                    cache_dir(self.env),
                    self.base_url(config.API),
                    client_id,
                    limit,
                    window,
                    hourly_limit=hourly,
                    hourly_window=hour,
                    log=self.log,
                )
            else:
                self._limiter = RateLimiter(limit, window)
        return self._limiter

    # -- the account's lock -------------------------------------------------------------
    def lock_account(
        self, client_id: str | None = None, *, segment_token: str | None = None
    ) -> None:
        """Take this account's lock for the rest of the run (core/lock.py); idempotent.

        Every command that writes calls it before reading what it will change, so runs
        of one account on this machine take turns; every authenticated write request
        calls it too (``HttpClient.before_write``), so none goes out without it. The
        account is the Kameleoon client id at the API URL; a run with no Kameleoon
        client id (Segment only) locks on its Segment token instead. Waits at most
        ``KSEG_LOCK_TIMEOUT`` seconds, then raises :class:`ksegcli.core.lock.LockTimeout`.
        """
        if not self.lock_writes:
            return
        with self._lock_guard:
            if self._lock_error is not None:
                raise self._lock_error  # a write after a timed-out wait: still not allowed
            if self._lock_tried:
                return
            if client_id is None:
                found = self.credentials.lookup(credentials.CLIENT_ID)
                client_id = found.value if found is not None else None
            if client_id:
                api, who = self.base_url(config.API), client_id
            elif segment_token:
                digest = sha256_hex(segment_token)
                api, who = self.base_url(config.SEGMENT_API), f"segment token {digest}"
            else:
                return  # no account known yet: the write itself will ask for credentials
            timeout = config.lock_timeout(self.env)
            self._lock_tried = True
            from ksegcli.core.lock import LOCKS_FOLDER, AccountLock, LockTimeout, fcntl_available

            if not fcntl_available():
                if self.log:
                    self.log("No file locks on this system: runs of one account do not take turns.")
                return

            lock = AccountLock(account_path(cache_dir(self.env), LOCKS_FOLDER, api, who, ".lock"))

            def waiting(holder: object) -> None:
                from ksegcli.core.lock import Holder

                who = f" ({holder.describe()})" if isinstance(holder, Holder) else ""
                say = self.notice or self.warn
                if say is not None:
                    say(
                        f"Waiting for another ksegcli run on this account{who} to finish "
                        f"(at most {timeout:g} s, {config.ENV_LOCK_TIMEOUT})…"
                    )

            try:
                lock.acquire(
                    command=self.command, started=self.started, timeout=timeout, on_wait=waiting
                )
            except LockTimeout as exc:
                self._lock_error = exc
                raise
            except OSError as exc:
                if self.warn is not None:
                    self.warn(
                        f"Could not take this account's lock ({lock.path}: {exc.strerror or exc}); "
                        "this run does not wait for other runs of the account."
                    )
                return
            if self.log:
                self.log(f"Holding this account's lock ({lock.path}).")
            self._lock = lock

    def http(
        self,
        service: config.Service,
        *,
        limiter: RateLimiter | None = None,
        base_url: str | None = None,
        **kwargs: object,
    ) -> HttpClient:
        """A client for ``service``; ``base_url`` overrides the configured one (regions)."""
        from ksegcli.core.http.client import HttpClient

        kwargs.setdefault("deadline", config.request_deadline(self.env))
        client = HttpClient(
            base_url or self.base_url(service),
            label=service.label,
            limiter=limiter,
            log=self.log,
            trace=self.trace,
            **kwargs,  # type: ignore[arg-type]
        )
        self._clients.append(client)
        return client

    def kameleoon(
        self, client_id: str | None = None, client_secret: str | None = None
    ) -> KameleoonClient:
        """An authenticated Automation API client (token cached in the keyring)."""
        if self._kameleoon is not None:
            return self._kameleoon
        from ksegcli.core.kameleoon.client import KameleoonClient, TokenProvider

        cid, secret = self.client_credentials(client_id, client_secret)
        cache = self.token_cache(cid, secret)
        holder: list[TokenProvider] = []
        # One client (one connection pool) for the token and the API calls.
        api_http = self.http(
            config.API,
            limiter=self.limiter_for(cid.value),
            auth_header=lambda: {"Authorization": f"Bearer {holder[0].get()}"},
            on_unauthorized=lambda: holder[0].invalidate(),
            before_write=lambda: self.lock_account(cid.value),
        )
        tokens = TokenProvider(
            api_http,
            cid.value,
            secret.value,
            load=cache.load,
            save=cache.save,
            log=self.log,
            refused_hint=credentials.refused_hint(cid, secret),
        )
        holder.append(tokens)
        self._kameleoon = KameleoonClient(api_http, tokens)
        self._kameleoon.warn = self.warn
        hourly, _ = config.hourly_limit(self.env)
        self._kameleoon.max_pages = hourly  # more pages than the hour's budget: a broken server
        self._kameleoon.on_sites = self._remember_projects
        return self._kameleoon

    def _remember_projects(self, sites: list[Site]) -> None:
        """Keep the listing's sitecodes for shell completion (core/project_cache.py)."""
        from ksegcli.core.project_cache import remember

        remember(self.profile_name, sites, self.env, log=self.log)

    def token_cache(self, client_id: Credential, secret: Credential) -> TokenCache:
        """Where this account's token is kept across runs (core/auth/tokens.py): the keyring for
        keyring-held credentials, else a 0600 file in the cache folder, so that a CI run
        with env-var credentials neither writes to nor waits on a keyring."""
        from ksegcli.core.auth.tokens import TokenCache

        keyring_held = secret.source == "keyring"
        return TokenCache(
            client_id.value,
            secret.value,
            self.base_url(config.API),
            keyring=self.keyring if keyring_held else None,
            profile=self.profile_name if keyring_held else None,
            env=self.env,
        )

    def projects(self, refs: Sequence[str], *, all_projects: bool = False) -> list[Site]:
        """``--project`` values (ids or sitecodes), ``--all``, or the profile's sitecode."""
        client = self.kameleoon()
        if all_projects:
            if refs:
                raise UsageError("Give either --project or --all, not both.")
            return client.list_sites()
        if not refs:
            code = self.sitecode()
            if code is None:
                raise UsageError(
                    "No project given.",
                    hint="Pass --project ID|SITECODE (repeatable) or --all, or store a default "
                    "with `ksegcli sitecode set CODE`.",
                )
            refs = [code]
        return client.resolve_projects(refs)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
