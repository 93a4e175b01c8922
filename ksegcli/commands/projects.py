"""``ksegcli projects list``."""

from __future__ import annotations

import typer

from ksegcli.state import get_state

app = typer.Typer(help="Kameleoon projects these credentials reach.", no_args_is_help=True)


@app.command("list")
def list_projects(ctx: typer.Context) -> None:
    """Id, name, URL and sitecode of every project (all pages)."""
    state = get_state(ctx)
    sites = state.session.kameleoon().list_sites()
    out = state.output
    out.result(
        [site.to_json() for site in sites],
        human=lambda: (
            out.table(
                ["ID", "NAME", "URL", "SITECODE", "TYPE"],
                [(s.id, s.name, s.url, s.code, s.type) for s in sites],
                optional=("TYPE", "URL"),
            )
            if sites
            else out.info("No projects.")
        ),
    )
