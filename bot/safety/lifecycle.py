"""The red-flag episode lifecycle: one table of (state, event) -> (next state, action). PURE.

An episode is one row in `escalations`; its `status` column is the state below. A person has at
most one live episode. Reminders are held while it is live (through `people.open_tier`).

    (no episode) --flag--> open --clear--> closing --examined--> checked --walk_*--> resolved
                            ^  \\--didnt_mean--> correcting --mistake_all--> withdrawn
                            |                          \\--mistake_part / its_real--> open
                            +---- flag, help, not_yet, examined_no (from any live state)

Every event not in the table for the current state changes nothing (an old or repeated tap):
the person is told the button is out of date. Check-ins (bot.safety.checkins) are sent only
while the episode is live; the clinic hears of every opening and every closing.
"""

from __future__ import annotations

from typing import Final, NamedTuple

NONE: Final = "none"  # no live episode
OPEN: Final = "open"  # the tier message was sent; check-ins follow
CLOSING: Final = "closing"  # "all clear" tapped: asked whether a doctor or nurse examined them
CHECKED: Final = "checked"  # examined: asked what they were told about walking
CORRECTING: Final = "correcting"  # "I didn't mean that": asked which part was a mistake
RESOLVED: Final = "resolved"  # closed: seen and cleared (reminders back on)
WITHDRAWN: Final = "withdrawn"  # closed: the message was a mistake

LIVE: Final = (OPEN, CLOSING, CHECKED, CORRECTING)  # reminders held, check-ins go out
CLOSED: Final = (RESOLVED, WITHDRAWN)

# Events. A flag is any red flag (a message, a confirmed question, a screen or checklist "yes").
FLAG: Final = "flag"
HELP: Final = "help"  # "I'm getting help"
NOT_YET: Final = "not_yet"  # "Not yet" (under a check-in)
BOOKED: Final = "booked"  # "I've booked" (see-soon episodes)
CLEAR: Final = "clear"  # "Checked, all clear" on an emergency or urgent episode
CLEAR_MINOR: Final = "clear_minor"  # the same on a see-soon or distress episode
EXAMINED: Final = "examined"  # "Yes, I was examined"
EXAMINED_NO: Final = "examined_no"  # "No, not yet"
WALK_OK: Final = "walk_ok"  # told walking is fine
WALK_EASY: Final = "walk_easy"  # told to take it easy
WALK_UNSAID: Final = "walk_unsaid"  # they said nothing about walking
DIDNT_MEAN: Final = "didnt_mean"  # "I didn't mean that"
MISTAKE_ALL: Final = "mistake_all"  # all of it was a mistake
MISTAKE_PART: Final = "mistake_part"  # one of several signs was a mistake
ITS_REAL: Final = "its_real"  # nothing was a mistake after all

SERIOUS_TIERS: Final = ("emergency", "urgent")  # closing them needs the short confirmation


class Step(NamedTuple):
    state: str
    action: str


# Actions (what bot.safety.episodes does on the way): see episodes.ACTIONS for the code of each.
TABLE: Final[dict[tuple[str, str], Step]] = {
    # opening, and any red flag while an episode is live: the full tier message again
    (NONE, FLAG): Step(OPEN, "open"),
    (OPEN, FLAG): Step(OPEN, "retrigger"),
    (CLOSING, FLAG): Step(OPEN, "retrigger"),
    (CHECKED, FLAG): Step(OPEN, "retrigger"),
    (CORRECTING, FLAG): Step(OPEN, "retrigger"),
    # follow-up answers
    (OPEN, HELP): Step(OPEN, "ack_help"),
    (CLOSING, HELP): Step(OPEN, "ack_help"),
    (CHECKED, HELP): Step(OPEN, "ack_help"),
    (CORRECTING, HELP): Step(OPEN, "ack_help"),
    (OPEN, NOT_YET): Step(OPEN, "repeat_message"),
    (CLOSING, NOT_YET): Step(OPEN, "repeat_message"),
    (OPEN, BOOKED): Step(OPEN, "ack_booked"),
    # closing an emergency or urgent episode: two short questions, then the clinic is told
    (OPEN, CLEAR): Step(CLOSING, "ask_examined"),
    (CLOSING, CLEAR): Step(CLOSING, "ask_examined"),
    (CLOSING, EXAMINED): Step(CHECKED, "ask_walking"),
    (CLOSING, EXAMINED_NO): Step(OPEN, "urge_help"),
    (CHECKED, WALK_OK): Step(RESOLVED, "close"),
    (CHECKED, WALK_UNSAID): Step(RESOLVED, "close"),
    (CHECKED, WALK_EASY): Step(RESOLVED, "close_gently"),
    # closing a see-soon or distress episode: one tap, and the clinic is told
    (OPEN, CLEAR_MINOR): Step(RESOLVED, "close"),
    # "I didn't mean that": asked once which part was a mistake
    (OPEN, DIDNT_MEAN): Step(CORRECTING, "ask_which_part"),
    (CLOSING, DIDNT_MEAN): Step(CORRECTING, "ask_which_part"),
    (CHECKED, DIDNT_MEAN): Step(CORRECTING, "ask_which_part"),
    (CORRECTING, MISTAKE_ALL): Step(WITHDRAWN, "withdraw"),
    (CORRECTING, MISTAKE_PART): Step(OPEN, "drop_flag"),
    (CORRECTING, ITS_REAL): Step(OPEN, "keep"),
}


def step(state: str, event: str) -> Step | None:
    """The next state and the action for an event, or None when the event does not apply now."""
    return TABLE.get((state, event))


def clear_event(tier: str) -> str:
    """The event a "Checked, all clear" tap is for this tier."""
    return CLEAR if tier in SERIOUS_TIERS else CLEAR_MINOR
