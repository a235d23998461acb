"""Emergency, same-day urgent and crisis numbers per country, from ``messages/numbers.toml``.

Pure: reads only the project's own data file (once, cached). Numbers are plain digits so
Telegram makes them tappable. ``urgent`` is either a number or the catalogue key of a plain
phrase (``URGENT_FALLBACK_KEY``) for countries without a national same-day advice line;
``crisis`` is None where we are not sure of a national crisis line (use ``CRISIS_FALLBACK_KEY``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

NUMBERS_FILE = resources.files("messages") / "numbers.toml"  # package data, also in the wheel
URGENT_FALLBACK_KEY = "redflags.urgent_fallback"
CRISIS_FALLBACK_KEY = "redflags.crisis_fallback"
LOCAL_NUMBER_KEY = "redflags.local_number"


@dataclass(frozen=True)
class Numbers:
    """The numbers to show one person; ``known`` is False when the country was not in the table."""

    emergency: str
    urgent: str | None
    crisis: str | None
    known: bool = True

    @property
    def urgent_is_phrase(self) -> bool:
        """True when ``urgent`` is a catalogue key rather than a phone number."""
        return self.urgent is not None and not self.urgent.isdigit()


@cache
def _table() -> tuple[Mapping[str, Numbers], Mapping[str, str]]:
    with NUMBERS_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    aliases = {k.upper(): v.upper() for k, v in data.pop("aliases", {}).items()}
    table = {
        code.upper(): Numbers(
            emergency=str(row["emergency"]),
            urgent=row.get("urgent"),
            crisis=row.get("crisis"),
        )
        for code, row in data.items()
    }
    return table, aliases


def countries() -> frozenset[str]:
    """Return every ISO country code in the table."""
    return frozenset(_table()[0])


def numbers_for(country: str | None, default_emergency: str) -> Numbers:
    """Return the numbers for an ISO country code; an unknown country gets the default number."""
    table, aliases = _table()
    code = (country or "").strip().upper()
    code = aliases.get(code, code)
    if code in table:
        return table[code]
    return Numbers(
        emergency=default_emergency, urgent=URGENT_FALLBACK_KEY, crisis=None, known=False
    )
