"""Storing the walking programme (a pure value from bot.progression) on the person row."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from bot.models import Person
from bot.progression import Programme, start_programme

_DATE_FIELDS = ("last_increase", "frozen_until")


def load_programme(person: Person) -> Programme:
    data: dict[str, Any] = dict(person.programme or {})
    if not data:
        return start_programme(10, person.stenosis)
    names = {f.name for f in dataclasses.fields(Programme)}
    values = {k: v for k, v in data.items() if k in names}
    for name in _DATE_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = date.fromisoformat(values[name])
    return Programme(**values)


def save_programme(person: Person, programme: Programme, **extra: Any) -> None:
    data = dataclasses.asdict(programme)
    for name in _DATE_FIELDS:
        if isinstance(data.get(name), date):
            data[name] = data[name].isoformat()
    keep = {k: v for k, v in (person.programme or {}).items() if k not in data}
    person.programme = keep | data | extra
