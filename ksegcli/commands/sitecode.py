"""``ksegcli sitecode set CODE | show``."""

from __future__ import annotations

import typer

from ksegcli.state import get_state

app = typer.Typer(help="Store or show the profile's project sitecode.", no_args_is_help=True)


@app.command("set")
def set_sitecode(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="The project's sitecode: exactly 10 letters or digits."),
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


@app.command("show")
def show_sitecode(ctx: typer.Context) -> None:
    """Print the sitecode in effect and where it comes from."""
    from ksegcli.core.config import ENV_SITECODE
    from ksegcli.errors import NotFoundError

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
        human=lambda: state.output.line(code),
    )
