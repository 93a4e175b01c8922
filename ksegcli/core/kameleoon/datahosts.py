"""One set of names for Kameleoon's Data API host (docs/api-facts.md §3).

Every command that reads the Data API (``data``, ``doctor``, ``verify``) or renders a snippet
that reads it (``snippet render persona-values``) takes the same option, ``--data-host``, with
these values. The names each command used before (``--region eu|na|eu-eu|na-eu``,
``--data-region``, ``--host``) keep working as other names of that option and as aliases of
the values. No imports: ``snippet render`` loads this at start-up.
"""

from __future__ import annotations

DEFAULT = "data"
HOSTS: dict[str, str] = {
    "data": "https://data.kameleoon.io",
    "eu-data": "https://eu-data.kameleoon.io",
    "na-data": "https://na-data.kameleoon.io",
    "eu-data-eu": "https://eu-data.kameleoon.eu",
    "na-data-eu": "https://na-data.kameleoon.eu",
}
# The host the vendor's help article documents for the persona list; it serves only that
# older /data?key= endpoint, so only the persona-values snippet accepts it.
LEGACY = "legacy"
LEGACY_URL = "https://api-data.kameleoon.com"
# Earlier names of the regional hosts, still accepted everywhere.
ALIASES: dict[str, str] = {
    "eu": "eu-data",
    "na": "na-data",
    "eu-eu": "eu-data-eu",
    "na-eu": "na-data-eu",
}
METAVAR = "|".join(HOSTS)
HELP = (
    "Kameleoon Data API host: data (data.kameleoon.io, the default), eu-data, na-data "
    "(.kameleoon.io), eu-data-eu, na-data-eu (.kameleoon.eu); eu, na, eu-eu, na-eu also work."
)


def canonical(value: str, *, legacy: bool = False) -> str | None:
    """The host's name for ``value`` (an alias or any case), or None when it names none."""
    name = value.strip().lower()
    name = ALIASES.get(name, name)
    if name in HOSTS or (legacy and name == LEGACY):
        return name
    return None


def choices(*, legacy: bool = False) -> str:
    names = [LEGACY, *HOSTS] if legacy else list(HOSTS)
    return ", ".join(names) + " (or " + ", ".join(ALIASES) + ")"
