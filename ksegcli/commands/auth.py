"""``ksegcli auth login | logout | status | getapikey | token``."""

from __future__ import annotations

import typer

from ksegcli.core.redact import mask
from ksegcli.errors import ExitCode
from ksegcli.state import get_state

app = typer.Typer(help="Kameleoon API credentials and the Segment API key.", no_args_is_help=True)

CLIENT_ID_OPTION = typer.Option(
    None, "--client-id", help="Kameleoon client id (default: env, profile, or prompt)."
)
SECRET_STDIN_OPTION = typer.Option(
    False, "--client-secret-stdin", help="Read the client secret from standard input."
)


def _secret_flag(stdin: bool) -> str | None:
    from ksegcli.core.auth.credentials import read_secret_from_stdin

    return read_secret_from_stdin("client secret") if stdin else None


@app.command("login")
def login(
    ctx: typer.Context,
    client_id: str | None = CLIENT_ID_OPTION,
    client_secret_stdin: bool = SECRET_STDIN_OPTION,
) -> None:
    """Prove a client id and secret against Kameleoon, then keep them (secret in the keyring)."""
    from ksegcli.core.auth.workflows import login as do_login
    from ksegcli.core.auth.workflows import login_credentials

    state = get_state(ctx)
    session = state.session
    cid, secret = login_credentials(
        session, client_id, read_secret=lambda: _secret_flag(client_secret_stdin)
    )
    result = do_login(session, cid, secret)
    out = state.output
    out.result(
        {
            "profile": result.profile,
            "client_id": result.client_id,
            "keyring": result.keyring_backend,
            "token_expires_in": result.token_expires_in,
        },
        human=lambda: out.success(
            f"Logged in as {result.client_id} (profile {result.profile!r}); "
            f"the secret is in the OS keyring ({result.keyring_backend})."
        ),
    )


@app.command("getapikey")
def getapikey(
    ctx: typer.Context,
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Derive the key locally (no network): base64 of the id/secret JSON.",
    ),
    show: bool = typer.Option(False, "--show", help="Print the whole key instead of a preview."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not keep the key in the keyring."),
    client_id: str | None = CLIENT_ID_OPTION,
    client_secret_stdin: bool = SECRET_STDIN_OPTION,
) -> None:
    """Get the API key of the Segment destination (Kameleoon's service, or --offline)."""
    from ksegcli.core.auth.workflows import fetch_api_key

    state = get_state(ctx)
    session = state.session
    cid, secret = session.client_credentials(client_id, _secret_flag(client_secret_stdin))
    result = fetch_api_key(session, cid, secret, offline=offline, store=not no_store)
    out = state.output

    def human() -> None:
        out.line(result.api_key if show else mask(result.api_key), reveal=show)
        where = "derived locally" if result.origin == "derived" else "from Kameleoon"
        kept = "; stored in the OS keyring" if result.stored else ""
        out.info(
            f"API key for {result.client_id} {where}{kept}."
            + ("" if show else " Use --show to print it whole.")
        )

    out.result(result.to_json(show=show), human=human, reveal=show)


@app.command("status")
def status(
    ctx: typer.Context,
    check: bool = typer.Option(False, "--check", help="Also prove the client credentials."),
) -> None:
    """Each credential: present or not, where it comes from (flag, env, keyring), masked."""
    from ksegcli.core.auth.workflows import check_client_credentials, credential_status

    state = get_state(ctx)
    session = state.session
    rows = credential_status(session)
    sitecode = session.sitecode()
    checked: tuple[bool, str] | None = None
    if check:
        checked = check_client_credentials(session)
    out = state.output
    data = {
        "profile": session.profile_name,
        "config_file": str(session.profile.path),
        "sitecode": sitecode,
        "keyring": session.keyring.backend_name(),
        "credentials": [row.to_json() for row in rows],
        "check": None if checked is None else {"ok": checked[0], "message": checked[1]},
    }

    def human() -> None:
        out.table(
            ["CREDENTIAL", "PRESENT", "SOURCE", "VALUE", "ENV VAR"],
            [
                (r.label, "yes" if r.present else "no", r.source or "-", r.preview or "-", r.env)
                for r in rows
            ],
            title=f"Profile {session.profile_name!r}",
            optional=("ENV VAR",),
        )
        out.info(f"Sitecode: {sitecode or 'not set'}; config: {session.profile.path}")
        if checked is not None:
            (out.success if checked[0] else out.warn)(f"Credential check: {checked[1]}")

    out.result(data, human=human)
    if checked is not None and not checked[0]:
        raise typer.Exit(ExitCode.AUTH)


@app.command("logout")
def logout(ctx: typer.Context) -> None:
    """Remove this profile's secrets from the keyring and its client id from the profile."""
    from ksegcli.core.auth.workflows import logout as do_logout

    state = get_state(ctx)
    removed = do_logout(state.session)
    out = state.output
    out.result(
        {"profile": state.session.profile_name, "removed": removed},
        human=lambda: out.success(
            f"Removed {', '.join(removed)} for profile {state.session.profile_name!r}."
            if removed
            else f"Nothing stored for profile {state.session.profile_name!r}."
        ),
    )


@app.command("token")
def token(ctx: typer.Context) -> None:
    """Print a valid Automation API access token (for scripts: the output is the token)."""
    state = get_state(ctx)
    client = state.session.kameleoon()
    value = client.tokens.get()
    state.output.result(
        {"access_token": value}, reveal=True, human=lambda: state.output.line(value, reveal=True)
    )
