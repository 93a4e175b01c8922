"""The Kameleoon project behind a sitecode, checked before anything is written with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ksegcli.core.kameleoon.client import site_by_code
from ksegcli.errors import NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site
    from ksegcli.core.session import Session


def verify_sitecode(session: Session, sitecode: str) -> Site | None:
    """The Kameleoon project with this sitecode, when client credentials are at hand (no
    prompt); None when they are not. Segment only checks a sitecode's length, so a typo
    would send every event nowhere: refuse it before writing."""
    if session.known_client_credentials() is None:
        return None
    return site_for_sitecode(session, sitecode)


def site_for_sitecode(session: Session, sitecode: str) -> Site:
    """The project with this sitecode among those the credentials reach (one paged list);
    NotFoundError when there is none."""
    sites = session.kameleoon().list_sites()

    site = site_by_code(sites, sitecode, warn=session.warn)
    if site is None:
        raise NotFoundError(
            f"No Kameleoon project has the sitecode {sitecode} (these credentials reach "
            f"{len(sites)}).",
            hint="Run `ksegcli projects list` to see the sitecodes, and "
            "`ksegcli sitecode set CODE` to keep the right one.",
        )
    return site
