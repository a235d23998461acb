"""Pure content choice: stretch of the day, posture-cue rotation and reminder variants.

Every choice is a deterministic function of the person id and a counter (a day or a count of
messages): each "cycle" is a per-person permutation of the items, so a person sees every item
once per cycle, in an order of their own, and the same inputs always give the same answer. Nothing here reads a clock or the disk.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from math import gcd
from zlib import crc32

from messages.catalog import PostureCue, Stretch

NO_REPEAT_DAYS = 7
BRISK_AFTER_WALKS = 7
# Stretch cycles are chained from this date: each cycle is fitted to the end of the one before
# it, so "no repeat within 7 days" also holds across cycle boundaries.
EPOCH = date(2024, 1, 1)


@dataclass(frozen=True)
class ContentProfile:
    """What we know about a person that changes which content suits them."""

    stenosis: bool = False
    floor_ok: bool = True
    core_cleared: bool = False
    osteoporosis: bool = False
    comfortable_walks: int = 0


def eligible_stretches(
    stretches: Sequence[Stretch], profile: ContentProfile
) -> tuple[Stretch, ...]:
    """Return the stretches that suit ``profile``, in catalogue order."""

    def suits(stretch: Stretch) -> bool:
        tags = stretch.tags
        if profile.stenosis and "extension" in tags:
            return False
        if not profile.stenosis and "stenosis_only" in tags:
            return False
        if not profile.floor_ok and "floor" in tags:
            return False
        return profile.core_cleared or "core" not in tags

    return tuple(s for s in stretches if suits(s))


def eligible_cues(cues: Sequence[PostureCue], profile: ContentProfile) -> tuple[PostureCue, ...]:
    """Return the posture cues that suit ``profile``, in catalogue order."""

    def suits(cue: PostureCue) -> bool:
        tags = cue.tags
        if "stenosis_only" in tags and not profile.stenosis:
            return False
        if "not_stenosis" in tags and profile.stenosis:
            return False
        return "brisk" not in tags or profile.comfortable_walks >= BRISK_AFTER_WALKS

    return tuple(c for c in cues if suits(c))


def _shuffled(size: int, seed: str) -> list[int]:
    order = list(range(size))
    random.Random(seed).shuffle(order)
    return order


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _round(x: int, part: int) -> int:
    """One splitmix64 step folding `part` into the state `x`."""
    x = (x ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)


def _mix(*parts: int) -> int:
    """A fast, well-spread 64-bit hash of integers (splitmix64 steps); deterministic."""
    x = _GOLDEN
    for part in parts:
        x = _round(x, part)
    return x


@lru_cache(maxsize=1024)
def _cycle_seed(salt: int, cycle: int) -> int:
    """The hash state shared by everyone in one cycle (one step per person remains)."""
    return _mix(salt, cycle)


@lru_cache(maxsize=64)
def _salt_code(salt: str) -> int:
    return crc32(salt.encode())


@lru_cache(maxsize=128)
def _coprimes(size: int) -> tuple[int, ...]:
    return tuple(a for a in range(1, size) if gcd(a, size) == 1) or (1,)


def _cycle_item(person_id: int, salt: int, cycle: int, size: int, position: int) -> int:
    """Item at `position` of a person's cycle: an affine permutation (a*i + b) mod size."""
    h = _round(_cycle_seed(salt, cycle), person_id)
    steps = _coprimes(size)
    return (steps[h % len(steps)] * position + (h >> 32) % size) % size


def _rotation_index(person_id: int, n: int, size: int, salt: str) -> int:
    """Index for the n-th item: a fresh per-person order every ``size`` items, no repeat at seams.

    O(1) per call (it runs for every reminder at the morning peak).
    """
    if size <= 0:
        raise ValueError("nothing to choose from")
    if n < 0:
        raise ValueError("n must not be negative")
    if size <= 2:
        return (n + person_id) % size
    code = _salt_code(salt)
    cycle, position = divmod(n, size)
    if position <= 1 and cycle > 0:
        first = _cycle_item(person_id, code, cycle, size, 0)
        if first == _cycle_item(person_id, code, cycle - 1, size, size - 1):
            # The seam would repeat the previous cycle's last item: swap the first two.
            return _cycle_item(person_id, code, cycle, size, 1 - position)
    return _cycle_item(person_id, code, cycle, size, position)


@lru_cache(maxsize=512)
def _stretch_order(person_id: int, size: int, cycle: int) -> tuple[int, ...]:
    """Day order of ``cycle`` (size >= 8), chained from the epoch: no repeat within 7 days."""
    gap = NO_REPEAT_DAYS
    start = min(cycle, 0)
    previous = _shuffled(size, f"{person_id}:stretch:{start}")
    for c in range(start + 1, cycle + 1):
        raw = _shuffled(size, f"{person_id}:stretch:{c}")
        last_seen = {item: pos for pos, item in enumerate(previous)}
        fitted: list[int] = []
        for position in range(size):
            # An item shown at position p last cycle may come back at `position` only if at least
            # `gap` days lie between: size + position - p >= gap. One always qualifies.
            for item in raw:
                if item not in fitted and last_seen[item] <= position + size - gap:
                    fitted.append(item)
                    break
        previous = fitted
    return tuple(previous)


def stretch_of_the_day(
    person_id: int, local_date: date, stretches: Sequence[Stretch], profile: ContentProfile
) -> Stretch:
    """Pick today's stretch: stable all day, new tomorrow, no repeat within 7 days if >= 8 suit."""
    pool = eligible_stretches(stretches, profile)
    if not pool:
        raise ValueError("no stretch suits this profile")
    pool = tuple(sorted(pool, key=lambda s: s.id))
    if len(pool) <= NO_REPEAT_DAYS:
        # Too few for a week without repeats: rotate, never the same two days running.
        return pool[_rotation_index(person_id, local_date.toordinal(), len(pool), "stretch")]
    cycle, position = divmod(local_date.toordinal() - EPOCH.toordinal(), len(pool))
    return pool[_stretch_order(person_id, len(pool), cycle)[position]]


_POOLS: dict[tuple[int, ContentProfile], tuple[Sequence[PostureCue], tuple[PostureCue, ...]]] = {}


def _cue_pool(cues: Sequence[PostureCue], profile: ContentProfile) -> tuple[PostureCue, ...]:
    """The suitable cues in id order, remembered per catalogue list and profile (hot path)."""
    key = (id(cues), profile)
    hit = _POOLS.get(key)
    if hit is not None and hit[0] is cues:
        return hit[1]
    pool = tuple(sorted(eligible_cues(cues, profile), key=lambda c: c.id))
    if len(_POOLS) > 256:
        _POOLS.clear()
    _POOLS[key] = (cues, pool)
    return pool


def posture_cue(
    person_id: int, n: int, cues: Sequence[PostureCue], profile: ContentProfile
) -> PostureCue:
    """Pick the n-th posture cue for a person: every suitable cue once before any repeats."""
    pool = _cue_pool(cues, profile)
    if not pool:
        raise ValueError("no posture cue suits this profile")
    return pool[_rotation_index(person_id, n, len(pool), "cue")]


def reminder_variant(person_id: int, n: int, variants: Sequence[str]) -> str:
    """Pick the n-th reminder text for a person: rotates through all, no immediate repeat."""
    if not variants:
        raise ValueError("no variants to choose from")
    return variants[_rotation_index(person_id, n, len(variants), "reminder")]
