"""bot/safety: every safety text complete in every country and language; the lifecycle table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.numbers import countries, numbers_for
from bot.safety import checkins, episodes, lifecycle, texts
from messages.catalog import Catalog, load_catalog

CATALOG = load_catalog()
UNKNOWN = "ZZ"  # not in messages/numbers.toml: the default number "or your local one"
COUNTRIES = sorted(countries()) + [UNKNOWN, None]
FLAGS = sorted(texts.FLAG_CODES)
NOW = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
KEY = re.compile(r"\b(?:redflags|safety|ui)\.[a-z_0-9.]+")


def every_safety_text(catalog: Catalog, lang: str, country: str | None) -> dict[str, str]:
    """Every red-flag, check-in, /sos and /redflags text for one country, as a person sees it."""
    nums = numbers_for(country, "112")
    params = texts.number_params(catalog, lang, nums)
    out: dict[str, str] = {}
    for flag in FLAGS:
        for reminders in (True, False):
            out[f"{flag}.message/{reminders}"] = texts.tier_message(
                catalog, lang, flag, params, has_reminders=reminders
            )
        out[f"{flag}.third_party"] = texts.tier_message(
            catalog, lang, flag, params, has_reminders=True, third_party=True
        )
        for part in ("confirm", "check", "label"):
            out[f"{flag}.{part}"] = catalog.text(lang, f"redflags.{flag}.{part}", **params)
    for reminders in (True, False):
        out[f"crisis/{reminders}"] = texts.crisis_message(
            catalog, lang, params, has_reminders=reminders
        )
        for key in ("emergency_1h", "emergency_4h", "emergency_morning", "urgent_4h",
                    "urgent_morning", "soon_3d", "soon_7d", "no_reply"):  # fmt: skip
            out[f"checkin.{key}/{reminders}"] = texts.checkin_text(
                catalog, lang, key, params, has_reminders=reminders
            )
    for key in catalog.keys(lang):
        if key.startswith(("redflags.", "safety.")) and not key.startswith(
            ("redflags.operator.", "safety.clinic.", "safety.btn.", "safety.correct.ask")
        ):
            out[key] = catalog.text(lang, key, **params)  # /sos, /redflags, acks, questions...
    return out


def clinic_texts(catalog: Catalog, lang: str, person_lang: str, country: str | None) -> list[str]:
    nums = numbers_for(country, "112")
    profile = texts.Profile(
        texts.Reach(42, "Jürgen", None), person_lang, "Europe/Dublin", country, nums
    )
    out = []
    for tier, flags in (("emergency", ("E1", "E3")), ("urgent", ("U1",)), ("crisis", ())):
        out.append(
            texts.alert(
                catalog, lang, profile, tier=tier, flags=flags, text="x", answers="", now=NOW
            )
        )
        out.append(texts.person_block(catalog, lang, profile, tier, NOW))
    return out


@pytest.mark.parametrize("lang", CATALOG.languages)
@pytest.mark.parametrize("country", COUNTRIES)
def test_every_safety_text_is_complete_in_every_country_and_language(
    lang: str, country: str | None
) -> None:
    params = texts.number_params(CATALOG, lang, numbers_for(country, "112"))
    for name, value in params.items():
        assert value.strip(), name  # no empty number
        assert not KEY.search(value), (name, value)
    rendered = every_safety_text(CATALOG, lang, country)
    for person_lang in CATALOG.languages:
        rendered |= {
            f"clinic/{i}": t
            for i, t in enumerate(clinic_texts(CATALOG, lang, person_lang, country))
        }
    for name, text in rendered.items():
        assert not KEY.search(text), (name, KEY.search(text))  # no catalogue key
        assert "{" not in text, name  # no unfilled placeholder
        assert "}" not in text, name
    for flag in FLAGS:  # the number is really there, in the first two lines
        head = "\n".join(rendered[f"{flag}.message/True"].splitlines()[:2])
        number = params["urgent_number"] if flag.startswith("U") else params["emergency_number"]
        assert number in head, flag
    for key, text in rendered.items():
        template = "".join(CATALOG.variants(lang, key)) if key in CATALOG.keys(lang) else ""
        for name, value in params.items():
            if "{" + name + "}" in template:
                assert value in text, (key, name)


@pytest.mark.parametrize("lang", CATALOG.languages)
def test_an_unknown_country_gets_the_default_number_and_says_so(lang: str) -> None:
    params = texts.number_params(CATALOG, lang, numbers_for(None, "112"))
    local = CATALOG.text(lang, "redflags.local_number")
    assert params["emergency_number"] == f"112 ({local})"
    assert params["urgent_number"] == CATALOG.text(lang, "redflags.urgent_fallback")
    assert params["crisis_line"] == CATALOG.text(lang, "redflags.crisis_fallback")


def test_a_country_without_a_same_day_line_gets_the_plain_phrase() -> None:
    us = texts.number_params(CATALOG, "en", numbers_for("US", "112"))
    assert us == {
        "emergency_number": "911",
        "urgent_number": CATALOG.text("en", "redflags.urgent_fallback"),
        "crisis_line": "988",
    }
    de = texts.number_params(CATALOG, "de", numbers_for("DE", "112"))
    assert de == {
        "emergency_number": "112",
        "urgent_number": "116117",
        "crisis_line": "08001110111",
    }


# -- the lifecycle table ---------------------------------------------------------------------------
def test_a_flag_reopens_from_every_live_state_and_nothing_else_happens_to_a_closed_episode() -> (
    None
):
    for state in (lifecycle.NONE, *lifecycle.LIVE):
        assert lifecycle.step(state, lifecycle.FLAG) is not None
        assert lifecycle.step(state, lifecycle.FLAG).state == lifecycle.OPEN  # type: ignore[union-attr]
    for state in lifecycle.CLOSED:
        assert not [event for (s, event) in lifecycle.TABLE if s == state]


def test_one_tap_never_closes_an_emergency_or_urgent_episode() -> None:
    for tier in lifecycle.SERIOUS_TIERS:
        event = lifecycle.clear_event(tier)
        move = lifecycle.step(lifecycle.OPEN, event)
        assert move is not None
        assert move.state in lifecycle.LIVE
    # from the open state, nothing reaches a closed state in one step except a minor clear
    closing = {event for (s, event), move in lifecycle.TABLE.items()
               if s == lifecycle.OPEN and move.state in lifecycle.CLOSED}  # fmt: skip
    assert closing == {lifecycle.CLEAR_MINOR}
    # "I didn't mean that" asks first
    move = lifecycle.step(lifecycle.OPEN, lifecycle.DIDNT_MEAN)
    assert move == lifecycle.Step(lifecycle.CORRECTING, "ask_which_part")


def test_every_action_in_the_table_has_code() -> None:
    assert {move.action for move in lifecycle.TABLE.values()} - {"open", "retrigger"} <= set(
        episodes.ACTIONS
    )


def test_check_ins_follow_the_spec_and_the_no_response_alert_counts_from_the_first() -> None:
    plan = checkins.plan("emergency", NOW, "Europe/Berlin")
    assert [(c.key, c.due - NOW) for c in plan][:3] == [
        ("emergency_1h", checkins.FIRST_CHECKIN),
        ("no_reply", checkins.NO_REPLY_AFTER),
        ("emergency_4h", checkins.FIRST_CHECKIN * 4),
    ]
    assert plan[3].due == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    no_reply = plan[1].conditions["unless_replied_since"]
    assert no_reply == checkins.no_reply_since(NOW).isoformat()
    assert [c.key for c in checkins.plan("crisis", NOW, "UTC")] == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_confirming_question_is_one_where_yes_means_the_warning_sign(lang: str) -> None:
    """'Yes' raises the flag, so no question may ask whether the person is able to do something
    ("Can you stand and walk safely?": yes would mean all is well)."""
    catalog = load_catalog()
    for flag in FLAGS:
        question = catalog.text(lang, f"redflags.{flag}.confirm").lower()
        assert not question.startswith(
            ("can you", "are you able", "kannst du", "bist du in der lage")
        ), flag
