"""Plain replies people send instead of commands, in English and German (pure).

"done", "walked 20 minutes", "I just ate", "later", "thanks!", "my back hurts today",
"Ich habe gerade gegessen"... Each is read in every language we speak, whatever the person's
setting: people write in the language they think in. Anything else is None (the fallback).
Red flags never reach this: triage reads every message first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["walked", "ate", "later", "thanks", "pain"]
MAX_REPLY = 80  # longer messages are not a plain reply


@dataclass(frozen=True)
class Reply:
    kind: Kind
    minutes: int | None = None  # "walked 20 minutes"


_NUMBER = r"(?P<n>[0-9]{1,3})"
_MIN = r"(?:m|min|mins|minute|minutes|minuten|minütig)"
_WALK_WORDS = (
    r"walked|walk|went for a walk|been for a walk|did my walk|did it|did the walk|went walking"
    r"|gegangen|spaziert|gelaufen|spaziergang|war spazieren|war gehen|bin gegangen"
)
_DONE = re.compile(
    r"(?:i\s)?(?:done|all done|finished|walk done|done walking|did it|did my walk|did the walk"
    r"|walked|just walked|back from (?:my |the )?walk|erledigt|fertig|geschafft|gemacht"
    r"|bin gegangen|bin spazieren gewesen|war spazieren|war gehen|spaziergang erledigt"
    r"|spaziergang gemacht)(?: (?:it|today|heute|now|jetzt))?"
)
_WALKED_MINUTES = re.compile(
    rf"(?:.*\b(?:{_WALK_WORDS})\b.*?\b{_NUMBER}\s?{_MIN}?\b.*"
    rf"|.*\b{_NUMBER.replace('n>', 'n2>')}\s?{_MIN}\b.*\b(?:{_WALK_WORDS})\b.*)"
)
_ATE = re.compile(
    r".*\b(?:(?:just|have just|i've just|i just|finished) (?:ate|eaten|had (?:my |a )?(?:breakfast"
    r"|lunch|dinner|meal|food|supper))|just ate|done eating|finished eating|after (?:my )?(?:meal"
    r"|lunch|dinner)|(?:gerade|eben|grad|soeben) (?:gegessen|zu mittag gegessen|zu abend gegessen"
    r"|gefrühstückt)|fertig mit (?:dem )?essen|(?:habe|hab) gegessen)\b.*"
)
_LATER = re.compile(
    r"(?:later|later please|maybe later|not now|in a bit|in a while|snooze|remind me later"
    r"|später|spaeter|nachher|gleich|nicht jetzt|jetzt nicht|später bitte|erinner mich später"
    r"|erinnere mich später)"
)
_THANKS = re.compile(
    r"(?:thanks|thank you|thank you so much|thanks a lot|thx|ty|cheers|great thanks|ok thanks"
    r"|danke|danke schön|dankeschön|vielen dank|danke dir|merci|super danke|ok danke|👍|🙏)"
)
_PAIN = re.compile(
    r".*\b(?:(?:my )?back (?:hurts|is (?:sore|aching|killing me|bad|painful))|(?:back|lower back)"
    r" (?:pain|ache)|in (?:a lot of )?pain|hurts (?:today|a lot)|sore back|(?:mein )?rücken tut"
    r"(?: heute| so| sehr)? weh|rückenschmerzen|schmerzen|tut (?:heute |so |sehr )?weh"
    r"|habe (?:heute )?schmerzen)\b.*"
)
_TRIM = ".!?,;:…~ \u200d\ufe0f"


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    text = re.sub(r"[\U0001f3fb-\U0001f3ff]", "", text)
    if any(ch.isalnum() for ch in text):  # "Danke 🙏": the words carry it
        text = "".join(ch for ch in text if unicodedata.category(ch) != "So")
    return " ".join(text.split()).strip(_TRIM)


def understand(text: str) -> Reply | None:
    """The plain reply this text is, or None."""
    if len(text) > MAX_REPLY:
        return None
    cleaned = _clean(text)
    if not cleaned:
        return None
    match = _WALKED_MINUTES.fullmatch(cleaned)
    if match is not None:
        minutes = int(match.group("n") or match.group("n2"))
        return Reply("walked", minutes) if 1 <= minutes <= 300 else None
    if _ATE.fullmatch(cleaned):
        return Reply("ate")
    if _PAIN.fullmatch(cleaned):
        return Reply("pain")
    if _DONE.fullmatch(cleaned):
        return Reply("walked")
    if _LATER.fullmatch(cleaned):
        return Reply("later")
    if _THANKS.fullmatch(cleaned):
        return Reply("thanks")
    return None
