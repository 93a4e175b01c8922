"""Options that several commands share, declared once: one flag, one help text.

Each is an ``Annotated`` alias; a command gives the default in its signature,
``project: Projects = None``, and its own help only when the option means
something else there (``apply --project``: a project of the file).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ksegcli.core.kameleoon import datahosts

# -- which Kameleoon projects ---------------------------------------------------------------
Projects = Annotated[
    list[str] | None,
    typer.Option(
        "--project",
        metavar="ID|SITECODE",
        help="Project id or sitecode; repeatable. Default: the profile's sitecode.",
    ),
]
AllProjects = Annotated[bool, typer.Option("--all", help="Every project these credentials reach.")]
Sitecode = Annotated[
    str | None,
    typer.Option(
        "--sitecode", help="Kameleoon sitecode (default: KAMELEOON_SITECODE or the profile)."
    ),
]

# -- writing ------------------------------------------------------------------------------
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the request(s) it would send; write nothing.")
]

# -- Segment --------------------------------------------------------------------------------
SegmentRegion = Annotated[
    str | None,
    typer.Option(
        "--region",
        metavar="us|eu",
        help="Segment workspace region: us or eu (default: profile segment_region, else us).",
    ),
]
TokenStdin = Annotated[
    bool,
    typer.Option("--token-stdin", help="Read the Segment Public API token from standard input."),
]

# -- Kameleoon's Data API -------------------------------------------------------------------
DataRegion = Annotated[
    str | None,
    typer.Option(
        "--data-host",
        "--data-region",
        metavar=datahosts.METAVAR,
        help=datahosts.HELP,
    ),
]
