"""Safety messages go to the outbox before they are sent: a crash after commit loses nothing.

    post = Post(session, now, person=person, episode=esc)
    post.to_person(text, buttons)                       # now, in the red-flag lane
    post.to_clinic(chat_id, alert, ack)                 # now
    post.to_person(text, buttons, at=later, when={"only_if_open": True}, kind="checkin")
    turn.send_priority(post.now_items())                # handed to the sender after commit

Rows due now are marked as being sent by this worker (the dispatcher re-claims them once the
lease runs out, if this worker dies); later rows wait for the dispatcher. `when` holds the
conditions the dispatcher checks before sending (jobs.dispatcher._still_wanted):
`only_if_open`, `unless_replied_since` (ISO instant), `unless_report_answered` (report id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Delivery, Escalation, Person
from jobs.outgoing import PRIORITY_RED_FLAG, Buttons, Outgoing


@dataclass
class Post:
    """Outbox rows for one person (and, when there is one, their episode)."""

    session: AsyncSession
    now: datetime
    person: Person
    episode: Escalation | None = None
    _now_rows: list[Delivery] = field(default_factory=list)

    def to_person(
        self,
        text: str,
        buttons: Buttons = (),
        *,
        at: datetime | None = None,
        when: dict[str, Any] | None = None,
        kind: str = "redflag",
    ) -> None:
        self._add(self.person.chat_id, kind, text, buttons, at, when)

    def to_clinic(
        self,
        chat_id: int,
        text: str,
        buttons: Buttons = (),
        *,
        at: datetime | None = None,
        when: dict[str, Any] | None = None,
    ) -> None:
        self._add(chat_id, "operator", text, buttons, at, when)

    def to_contact(self, chat_id: int, text: str) -> None:
        """The person's opted-in trusted contact (sent like a clinic alert)."""
        self._add(chat_id, "operator", text, (), None, None)

    def now_items(self) -> list[Outgoing]:
        """The rows due now, for the sender (call after the session flushed)."""
        return [Outgoing.from_row(row) for row in self._now_rows]

    async def flush(self) -> list[Outgoing]:
        await self.session.flush()
        return self.now_items()

    def _add(
        self,
        chat_id: int,
        kind: str,
        text: str,
        buttons: Buttons,
        at: datetime | None,
        when: dict[str, Any] | None,
    ) -> None:
        due = self.now if at is None else at
        immediate = due <= self.now
        payload: dict[str, Any] = {"text": text, "buttons": [list(map(list, r)) for r in buttons]}
        payload.update(when or {})
        row = Delivery(
            person_id=self.person.id,
            chat_id=chat_id,
            kind=kind,
            priority=PRIORITY_RED_FLAG,
            escalation_id=self.episode.id if self.episode is not None else None,
            payload=payload,
            due_at=due,
            status="sending" if immediate else "scheduled",
            claimed_at=self.now if immediate else None,
            attempts=0,
            answered=False,
        )
        self.session.add(row)
        if immediate:
            self._now_rows.append(row)
