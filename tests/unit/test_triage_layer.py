"""The learned red-flag layer: its pure parts as tables, the safe decision, the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest

from bot.triage import FLAGS, NO_FLAGS, Assessment
from bot.triage_model import (
    RANK,
    Scores,
    Thresholds,
    clauses,
    decide,
    fold,
    load_model,
    pain_trend,
)

BARS = Thresholds(
    fire={"emergency": 0.6, "urgent": 0.6, "soon": 0.6},
    ask={"emergency": 0.2, "urgent": 0.3, "soon": 0.3},
)


def scores(
    emergency: float = 0.0, urgent: float = 0.0, soon: float = 0.0, flag: str = ""
) -> Scores:
    """Stacked tier probabilities from P(emergency), P(urgent), P(soon) and one likely flag."""
    none = 1.0 - emergency - urgent - soon
    flags = np.zeros(len(FLAGS))
    if flag:
        flags[FLAGS.index(flag)] = 0.9
    return Scores(np.array([none, soon, urgent, emergency]), flags, False)


def lexicon(
    tier: str = "none", flags: tuple[str, ...] = (), confirm: str | None = None
) -> Assessment:
    return Assessment(tier, flags, confirm, False, False, False)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ pain trends


@pytest.mark.parametrize(
    ("text", "rising"),
    [
        ("pain was 3 yesterday, 5 this morning, now 8", True),
        ("mon 3 tue 5 wed 7 thu 8", True),
        ("gestern 4 heute 9", True),
        ("Schmerz von 3 auf 8 gestiegen", True),
        ("pain 4/10 then 6/10 now 9/10", True),
        ("was 8 now 3, much better", False),
        ("pain 3 then 4", False),  # not high
        ("walked 20 minutes at 9 am, pain 3", False),
        ("mon 3 tue 7 wed 4", False),  # not steady
        ("2 walks, 30 min, 10 km", False),
        ("", False),
    ],
)
def test_pain_trend_reads_rising_scores(text: str, rising: bool) -> None:
    assert pain_trend(text) is rising


# ------------------------------------------------------------------------------ clauses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cant pee. back agony", ["cant pee back agony"]),
        (
            "I walked 20 minutes. But now I can't feel my bum at all",
            ["I walked 20 minutes", "now I can't feel my bum at all"],
        ),
        ("nein. aber die Beine sind beide taub", ["nein die Beine sind beide taub"]),
        ("one two three four", ["one two three four"]),
    ],
)
def test_clauses_never_leave_a_fragment_of_fewer_than_three_words(
    text: str, expected: list[str]
) -> None:
    assert clauses(text) == expected


def test_fold_reads_umlauts_and_their_spellings_alike() -> None:
    assert fold("Füße") == fold("Fuesse") == fold("fusse")
    assert fold("can’t") == fold("can't") == "cant"


# ------------------------------------------------------------------------------ decide


def test_without_the_layer_the_lexicon_answers() -> None:
    reading = lexicon("emergency", ("E1",))
    assert decide(reading, None, BARS) is reading


def test_strong_evidence_answers_at_the_tier_with_the_likeliest_flag() -> None:
    result = decide(NO_FLAGS, scores(emergency=0.8, flag="E2"), BARS)
    assert (result.tier, result.flags, result.confirm) == ("emergency", ("E2",), None)


def test_the_band_below_the_bar_asks_one_confirming_question() -> None:
    result = decide(NO_FLAGS, scores(emergency=0.3, flag="E3"), BARS)
    assert (result.tier, result.confirm) == ("none", "E3")


def test_the_lexicons_emergency_stands_while_the_layer_suspects_it() -> None:
    result = decide(lexicon("emergency", ("E1",)), scores(emergency=0.25, flag="E2"), BARS)
    assert (result.tier, result.flags) == ("emergency", ("E1",))


def test_an_emergency_the_layer_reads_as_benign_still_gets_the_question() -> None:
    # idioms, old stories, other people's symptoms: at most a question, never silence
    result = decide(lexicon("emergency", ("E1",)), scores(emergency=0.01), BARS)
    assert (result.tier, result.confirm) == ("none", "E1")


def test_the_lexicons_question_is_never_dropped() -> None:
    result = decide(lexicon(confirm="E3"), scores(emergency=0.0), BARS)
    assert result.confirm == "E3"


def test_a_lower_tier_answer_still_asks_about_a_suspected_emergency() -> None:
    result = decide(lexicon("urgent", ("U1",)), scores(urgent=0.7, emergency=0.25, flag="E9"), BARS)
    assert (result.tier, result.flags, result.confirm) == ("urgent", ("U1",), "E9")


def test_benign_stays_silent() -> None:
    assert decide(NO_FLAGS, scores(emergency=0.05, urgent=0.1, soon=0.1), BARS) == NO_FLAGS


@pytest.mark.parametrize(
    ("lex", "layer"),
    [
        (lexicon("emergency", ("E5",)), scores()),
        (lexicon(confirm="E1"), scores()),
        (NO_FLAGS, scores(emergency=0.21, flag="E6")),
        (lexicon("soon", ("S2",)), scores(emergency=0.5, flag="E5")),
    ],
)
def test_an_emergency_either_side_suspects_always_gets_the_answer_or_the_question(
    lex: Assessment, layer: Scores
) -> None:
    result = decide(lex, layer, BARS)
    assert result.tier == "emergency" or (
        result.confirm is not None and RANK["emergency"] == RANK[_tier(result.confirm)]
    )


def _tier(flag: str) -> str:
    return {"E": "emergency", "U": "urgent", "S": "soon"}[flag[0]]


# ------------------------------------------------------------------------------ shipped weights


def test_the_shipped_weights_load_and_describe_themselves() -> None:
    model = load_model()
    assert tuple(model.meta["flags"]) == FLAGS
    for tier in ("emergency", "urgent", "soon"):
        assert 0 < model.bars.ask[tier] <= model.bars.fire[tier] < 1
    assert model.meta["bank_sha256"]


def test_missing_weights_raise_a_clear_error() -> None:
    with pytest.raises((FileNotFoundError, ModuleNotFoundError)):
        load_model("bot.no_such_weights")
