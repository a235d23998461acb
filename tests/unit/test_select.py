"""Tests for messages/select.py: deterministic, varied and safe content choice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from messages.catalog import Html, PostureCue, Stretch, load_catalog
from messages.select import (
    ContentProfile,
    eligible_cues,
    eligible_stretches,
    posture_cue,
    reminder_variant,
    stretch_of_the_day,
)

CATALOG = load_catalog()
STRETCHES = CATALOG.stretches("en")
CUES = CATALOG.posture_cues("en")
PEOPLE = [1, 7, 42, 123456789, 987654321012]
START = date(2025, 1, 1)
YEAR = [START + timedelta(days=d) for d in range(365)]

PLAIN = ContentProfile()
STENOSIS = ContentProfile(stenosis=True)
CLEARED = ContentProfile(core_cleared=True)
STENOSIS_CLEARED = ContentProfile(stenosis=True, core_cleared=True)
NO_FLOOR = ContentProfile(floor_ok=False)
NO_FLOOR_STENOSIS = ContentProfile(floor_ok=False, stenosis=True)
PROFILES = [PLAIN, STENOSIS, CLEARED, STENOSIS_CLEARED, NO_FLOOR, NO_FLOOR_STENOSIS]


def fake_stretches(count: int) -> tuple[Stretch, ...]:
    return tuple(
        Stretch(
            id=f"X-{i:02d}",
            name=Html(f"s{i}"),
            steps=(Html("a"), Html("b"), Html("c")),
            dose=Html("d"),
            suits=Html("s"),
            avoid_if=Html("a"),
            picture=None,
            source="own",
            tags=frozenset(),
        )
        for i in range(1, count + 1)
    )


def year_of_stretches(
    person: int, stretches: tuple[Stretch, ...], profile: ContentProfile
) -> list[str]:
    return [stretch_of_the_day(person, day, stretches, profile).id for day in YEAR]


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("profile", PROFILES)
def test_the_stretch_of_the_day_is_the_same_every_time_you_ask(
    person: int, profile: ContentProfile
) -> None:
    assert year_of_stretches(person, STRETCHES, profile) == year_of_stretches(
        person, STRETCHES, profile
    )


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("profile", PROFILES)
def test_tomorrows_stretch_differs_from_todays(person: int, profile: ContentProfile) -> None:
    ids = year_of_stretches(person, STRETCHES, profile)
    assert [d for d in range(1, len(ids)) if ids[d] == ids[d - 1]] == []


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("profile", [PLAIN, STENOSIS, CLEARED, STENOSIS_CLEARED])
def test_no_stretch_repeats_within_any_7_day_window_of_a_year(
    person: int, profile: ContentProfile
) -> None:
    assert len(eligible_stretches(STRETCHES, profile)) >= 8
    ids = year_of_stretches(person, STRETCHES, profile)
    assert [d for d in range(len(ids) - 6) if len(set(ids[d : d + 7])) < 7] == []


@pytest.mark.parametrize("size", [8, 9, 10, 13, 20])
@pytest.mark.parametrize("person", PEOPLE)
def test_no_repeat_within_7_days_holds_at_every_pool_size_from_8(size: int, person: int) -> None:
    ids = year_of_stretches(person, fake_stretches(size), PLAIN)
    assert [d for d in range(len(ids) - 6) if len(set(ids[d : d + 7])) < 7] == []


@pytest.mark.parametrize("size", [8, 9, 13])
def test_every_suitable_stretch_comes_up_within_a_few_weeks(size: int) -> None:
    ids = year_of_stretches(42, fake_stretches(size), PLAIN)
    assert set(ids[: 3 * size]) == {s.id for s in fake_stretches(size)}


def test_different_people_get_different_stretch_orders() -> None:
    orders = {tuple(year_of_stretches(p, STRETCHES, CLEARED)[:30]) for p in PEOPLE}
    assert len(orders) == len(PEOPLE)


@pytest.mark.parametrize(
    ("profile", "banned_tag"),
    [
        (STENOSIS, "extension"),
        (STENOSIS_CLEARED, "extension"),
        (NO_FLOOR, "floor"),
        (NO_FLOOR_STENOSIS, "floor"),
        (PLAIN, "core"),
        (STENOSIS, "core"),
        (NO_FLOOR, "core"),
        (PLAIN, "stenosis_only"),
        (CLEARED, "stenosis_only"),
    ],
)
def test_cautions_keep_unsuitable_stretches_away_all_year(
    profile: ContentProfile, banned_tag: str
) -> None:
    by_id = {s.id: s for s in STRETCHES}
    shown = {i for p in PEOPLE for i in year_of_stretches(p, STRETCHES, profile)}
    assert [i for i in shown if banned_tag in by_id[i].tags] == []


@pytest.mark.parametrize(
    ("profile", "expected_id"),
    [(CLEARED, "X-07"), (CLEARED, "X-12"), (STENOSIS, "X-06"), (NO_FLOOR, "X-14")],
)
def test_suitable_stretches_do_come_up(profile: ContentProfile, expected_id: str) -> None:
    assert expected_id in year_of_stretches(42, STRETCHES, profile)


def test_no_suitable_stretch_raises_value_error() -> None:
    floor_only = tuple(s for s in STRETCHES if "floor" in s.tags)
    with pytest.raises(ValueError, match="no stretch"):
        stretch_of_the_day(1, START, floor_only, NO_FLOOR)


def cue_ids(person: int, count: int, profile: ContentProfile) -> list[str]:
    return [posture_cue(person, n, CUES, profile).id for n in range(count)]


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(
    "profile",
    [
        PLAIN,
        STENOSIS,
        ContentProfile(comfortable_walks=7),
        ContentProfile(stenosis=True, comfortable_walks=30),
    ],
)
def test_posture_cues_cover_the_whole_suitable_set_before_repeating(
    person: int, profile: ContentProfile
) -> None:
    suitable = {c.id for c in eligible_cues(CUES, profile)}
    size = len(suitable)
    ids = cue_ids(person, 10 * size, profile)
    cycles = [ids[i : i + size] for i in range(0, len(ids), size)]
    assert all(sorted(cycle) == sorted(suitable) for cycle in cycles)
    assert [n for n in range(1, len(ids)) if ids[n] == ids[n - 1]] == []


@pytest.mark.parametrize("person", PEOPLE)
def test_someone_with_stenosis_gets_the_stenosis_cue_and_not_the_stand_tall_one(
    person: int,
) -> None:
    ids = cue_ids(person, len(CUES), STENOSIS)
    assert "P20" in ids
    assert "P14" not in ids


@pytest.mark.parametrize("person", PEOPLE)
def test_someone_without_stenosis_never_gets_the_stenosis_cue(person: int) -> None:
    assert "P20" not in cue_ids(person, 3 * len(CUES), PLAIN)


@pytest.mark.parametrize(("walks", "brisk_shown"), [(0, False), (6, False), (7, True), (40, True)])
def test_brisk_pace_cues_wait_for_a_week_of_comfortable_walks(
    walks: int, brisk_shown: bool
) -> None:
    ids = set(cue_ids(5, 2 * len(CUES), ContentProfile(comfortable_walks=walks)))
    assert ({"P12", "P19"} <= ids) is brisk_shown
    assert bool({"P12", "P19"} & ids) is brisk_shown


def test_the_same_count_gives_the_same_cue() -> None:
    assert cue_ids(9, 60, PLAIN) == cue_ids(9, 60, PLAIN)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6, 8])
@pytest.mark.parametrize("person", PEOPLE)
def test_reminder_variants_rotate_through_all_without_immediate_repeats(
    size: int, person: int
) -> None:
    variants = [f"v{i}" for i in range(size)]
    picks = [reminder_variant(person, n, variants) for n in range(20 * size)]
    assert all(set(picks[i : i + size]) == set(variants) for i in range(0, len(picks), size))
    if size > 1:
        assert [n for n in range(1, len(picks)) if picks[n] == picks[n - 1]] == []


def test_real_reminder_variants_are_returned_unchanged() -> None:
    variants = CATALOG.variants("de", "reminders.morning")
    assert {reminder_variant(3, n, variants) for n in range(len(variants))} == set(variants)


@pytest.mark.parametrize(
    "call",
    [
        lambda: reminder_variant(1, 0, []),
        lambda: reminder_variant(1, -1, ["a", "b"]),
        lambda: posture_cue(1, 0, (), PLAIN),
        lambda: posture_cue(
            1, 0, (PostureCue("P01", "x", "own", frozenset({"stenosis_only"})),), PLAIN
        ),
    ],
)
def test_impossible_choices_raise_value_error(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError):  # noqa: PT011
        call()
