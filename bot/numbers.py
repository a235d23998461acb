"""Emergency, urgent and crisis numbers by country (placeholder until the table lands)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Numbers:
    emergency: str
    urgent: str | None
    crisis: str | None


def numbers_for(country: str | None, default_emergency: str) -> Numbers:
    return Numbers(default_emergency, None, None)
