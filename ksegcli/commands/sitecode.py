"""``ksegcli sitecode set CODE | show``."""

from __future__ import annotations

import os

import typer

from ksegcli.errors import NotFoundError
from ksegcli.state import AppState, get_state

app = typer.Typer(help="Store or show the profile's project sitecode.", no_args_is_help=True)


@app.command("set")
def set_sitecode(
    ctx: typer.Context,
    code: str = typer.Argument(
        ..., metavar="CODE", help="The project's sitecode: exactly 10 letters or digits."
    ),
) -> None:
    """Store the default sitecode of this profile."""
    from ksegcli.core.config import validate_sitecode

    state = get_state(ctx)
    code = validate_sitecode(code)
    profile = state.profile
    previous = profile.get("sitecode")
    profile.set("sitecode", code)
    profile.save()
    data = {
        "profile": profile.name,
        "sitecode": code,
        "previous": previous,
        "file": str(profile.path),
    }
    state.output.result(
        data,
        human=lambda: state.output.success(
            f"Sitecode {code} stored for profile {profile.name!r} ({profile.path})."
        ),
    )

    from ksegcli.core.config import ENV_SITECODE

    env_code = os.environ.get(ENV_SITECODE)
    if env_code:  # the variable wins over the file: say so, or the user is misled
        state.output.warn(
            f"{ENV_SITECODE} is set ({env_code}) and takes precedence: commands use it, "
            f"not {code}, until it is unset."
        )


@app.command("show")
def show_sitecode(ctx: typer.Context) -> None:
    """Print the sitecode in effect and where it comes from."""
    from ksegcli.core.config import ENV_SITECODE

    state = get_state(ctx)
    session = state.session
    code = session.sitecode()
    if code is None:
        raise NotFoundError(
            f"No sitecode set for profile {session.profile_name!r}.",
            hint=f"Run `ksegcli sitecode set CODE` or set {ENV_SITECODE}.",
        )
    source = "env" if session.env.get(ENV_SITECODE) else "config"
    state.output.result(
        {"profile": session.profile_name, "sitecode": code, "source": source},
        human=lambda: _show(state, code, source),
    )


def _show(state: AppState, code: str, source: str) -> None:
    """The code alone on stdout (scripts read it); where it comes from on stderr."""
    from ksegcli.core.config import ENV_SITECODE

    state.output.line(code)
    state.output.info(
        f"(from {ENV_SITECODE})" if source == "env" else f"(from profile {state.profile_name!r})"
    )
