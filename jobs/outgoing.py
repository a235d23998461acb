"""What the sender sends: a plain value, rendered before it reaches the queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback_data)

PRIORITY_RED_FLAG = 0
PRIORITY_CHECKIN = 2
PRIORITY_REMINDER = 5
PRIORITY_BROADCAST = 8


@dataclass(slots=True)  # not frozen: a frozen init costs 2.5x, and 100k are built at a peak
class Outgoing:
    """One message to send, tied to its outbox row (treated as a value: never changed)."""

    delivery_id: int
    chat_id: int
    text: str
    due_at: datetime
    priority: int = PRIORITY_REMINDER
    person_id: int | None = None
    buttons: Buttons = ()
    kind: str = "reminder"

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": [list(map(list, row)) for row in self.buttons]}

    @staticmethod
    def buttons_from(payload: dict[str, Any]) -> Buttons:
        return tuple(tuple((str(a), str(b)) for a, b in row) for row in payload.get("buttons", []))

    @classmethod
    def from_row(cls, row: Any) -> Outgoing:
        """From an outbox row (ORM object or Core row) whose payload holds the rendered message."""
        return cls(
            delivery_id=row.id,
            chat_id=row.chat_id,
            text=row.payload["text"],
            due_at=row.due_at,
            priority=row.priority,
            person_id=row.person_id,
            buttons=cls.buttons_from(row.payload),
            kind=row.kind,
        )


@dataclass(slots=True)
class Outcome:
    """What happened to one send; written back to the outbox in batches."""

    delivery_id: int
    status: str  # sent | blocked | failed | queued (to retry later)
    sent_at: datetime | None = None
    lateness_ms: int | None = None
    message_id: int | None = None
    attempts: int = 1
    error: str | None = None
    person_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
