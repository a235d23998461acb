"""Tests for bot/triage.py: the labelled corpus, the safety bars and focused behaviour tests."""

from __future__ import annotations

import re
import string
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.triage import FLAGS, Assessment, assess, flag_tier, normalise

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "triage_corpus"
RANK = {"none": 0, "soon": 1, "urgent": 2, "emergency": 3}
LANGS = ("en", "de")


@dataclass(frozen=True)
class Fixture:
    lang: str
    line: int
    expect: tuple[str, ...]  # acceptable flags; empty for a benign / negative message
    confirm: str | None
    forbid: tuple[str, ...]
    extra: tuple[str, ...]
    text: str

    @property
    def tier(self) -> str:
        return flag_tier(self.expect[0]) if self.expect else "none"

    @property
    def id(self) -> str:
        return f"{self.lang}:{self.line}:{self.text[:40]}"


def _split(field: str) -> tuple[str, ...]:
    return () if field in ("-", "none") else tuple(re.split(r"[/,]", field))


def load_corpus(lang: str) -> list[Fixture]:
    fixtures = []
    lines = (CORPUS / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        expect, confirm, forbid, extra, text = (p.strip() for p in line.split(" | ", 4))
        fixtures.append(
            Fixture(
                lang=lang,
                line=number,
                expect=_split(expect),
                confirm=None if confirm == "-" else confirm,
                forbid=_split(forbid),
                extra=_split(extra),
                text=text,
            )
        )
    return fixtures


ALL = [f for lang in LANGS for f in load_corpus(lang)]
POSITIVE = [f for f in ALL if f.expect]
EMERGENCY = [f for f in POSITIVE if f.tier == "emergency"]
NEGATIVE = [f for f in ALL if not f.expect]


def detected(fixture: Fixture, result: Assessment) -> bool:
    """A positive is found when it has an expected flag, or a tier above the expected one."""
    return any(f in result.flags for f in fixture.expect) or RANK[result.tier] > RANK[fixture.tier]


# ---------------------------------------------------------------------------------- corpus


def test_the_corpus_is_large_enough_in_both_languages() -> None:
    assert len(load_corpus("en")) >= 300
    assert len(load_corpus("de")) >= 120


def test_every_flag_has_positive_fixtures_in_both_languages() -> None:
    for lang in LANGS:
        covered = {f.expect[0] for f in POSITIVE if f.lang == lang}
        assert covered == set(FLAGS), f"{lang}: no fixture for {sorted(set(FLAGS) - covered)}"


@pytest.mark.parametrize("fixture", EMERGENCY, ids=lambda f: f.id)
def test_every_emergency_fixture_is_caught(fixture: Fixture) -> None:
    result = assess(fixture.text, fixture.lang)
    assert detected(fixture, result), f"missed {fixture.expect}: {result}"


@pytest.mark.parametrize("fixture", NEGATIVE, ids=lambda f: f.id)
def test_negative_fixtures_get_no_forbidden_flag_and_the_expected_question(
    fixture: Fixture,
) -> None:
    result = assess(fixture.text, fixture.lang)
    assert not set(fixture.forbid) & set(result.flags), result
    if fixture.confirm:
        assert result.tier == "none", result
        assert result.confirm == fixture.confirm, result


@pytest.mark.parametrize("fixture", [f for f in ALL if f.extra], ids=lambda f: f.id)
def test_crisis_third_party_and_question_markers_follow_the_labels(fixture: Fixture) -> None:
    result = assess(fixture.text, fixture.lang)
    expected = {
        "crisis": result.crisis,
        "nocrisis": not result.crisis,
        "third": result.third_party,
        "question": result.question,
    }
    for marker in fixture.extra:
        assert expected[marker], f"{marker}: {result}"


def _rates(lang: str) -> dict[str, tuple[int, int]]:
    """Return {bar: (hits, total)}: recall per tier and false alarms on benign messages."""
    counts: dict[str, list[int]] = {t: [0, 0] for t in ("emergency", "urgent", "soon", "benign")}
    for fixture in load_corpus(lang):
        result = assess(fixture.text, lang)
        if fixture.expect:
            counts[fixture.tier][0] += detected(fixture, result)
            counts[fixture.tier][1] += 1
        else:
            counts["benign"][0] += result.tier != "none"
            counts["benign"][1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def test_recall_and_false_alarm_bars_are_met_and_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = []
    for lang in LANGS:
        rates = _rates(lang)
        parts = []
        for bar, (hits, total) in rates.items():
            name = "false alarms" if bar == "benign" else f"{bar} recall"
            parts.append(f"{name} {hits}/{total} = {100 * hits / total:.1f}%")
        report.append(f"triage corpus [{lang}]: " + "; ".join(parts))
        assert rates["emergency"][0] == rates["emergency"][1], lang
        for tier in ("urgent", "soon"):
            assert rates[tier][0] >= 0.97 * rates[tier][1], (lang, tier)
        assert rates["benign"][0] <= 0.05 * rates["benign"][1], lang
    with capsys.disabled():
        print("\n" + "\n".join(report))


def test_assessment_is_fast_enough(capsys: pytest.CaptureFixture[str]) -> None:
    texts = [(f.text, f.lang) for f in ALL]
    for text, lang in texts:  # warm the caches
        assess(text, lang)
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for text, lang in texts:
            assess(text, lang)
    per_message = (time.perf_counter() - start) / (rounds * len(texts)) * 1e6
    with capsys.disabled():
        print(f"\ntriage speed: {per_message:.0f} us per message over {len(texts)} messages")
    assert per_message < 2000  # target < 200 us; the bar is loose so slow CI machines pass


# ---------------------------------------------------------------------------------- API


def test_flags_lists_all_25_ids_in_order() -> None:
    assert (
        *(f"E{i}" for i in range(1, 10)),
        *(f"U{i}" for i in range(1, 10)),
        *(f"S{i}" for i in range(1, 8)),
    ) == FLAGS


@pytest.mark.parametrize(
    ("flag", "tier"), [("E1", "emergency"), ("E9", "emergency"), ("U5", "urgent"), ("S7", "soon")]
)
def test_flag_tier_maps_the_prefix_to_a_tier(flag: str, tier: str) -> None:
    assert flag_tier(flag) == tier


@pytest.mark.parametrize("flag", ["E0", "U10", "X1", ""])
def test_flag_tier_rejects_unknown_ids(flag: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        flag_tier(flag)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_not_a_red_flag(text: str) -> None:
    result = assess(text)
    assert result == Assessment("none", (), None, False, False, False)
    assert not result.is_red_flag


def test_flags_are_sorted_highest_tier_first() -> None:
    result = assess("my back keeps getting worse and I can't pee, both legs numb")
    assert result.flags[:2] == ("E1", "E5")
    assert [flag_tier(f) for f in result.flags] == sorted(
        (flag_tier(f) for f in result.flags), key=lambda t: -RANK[t]
    )


@pytest.mark.parametrize(
    ("text", "is_red_flag"),
    [("I can't pee", True), ("I want to die", True), ("walked 20 minutes", False)],
)
def test_is_red_flag_covers_tiers_and_crisis(text: str, is_red_flag: bool) -> None:
    assert assess(text).is_red_flag is is_red_flag


@pytest.mark.parametrize("lang", ["fr", "xx", "../en", "EN"])
def test_an_unknown_language_still_runs_english(lang: str) -> None:
    assert assess("I can't pee", lang).tier == "emergency"


def test_german_messages_also_get_the_english_lexicon() -> None:
    assert assess("Rücken tut weh und i cant pee", "de").flags[0] == "E1"


# ---------------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("no numbness but I can't pee", "E1"),
        ("my bladder's fine, legs both numb", "E5"),
        ("no fever, both my legs are tingling", "E5"),
        ("never had bladder trouble and now I've wet myself", "E1"),
        ("legs fine and bladder fine but my bum is numb", "E3"),
        ("I don't have chest pain, I can't catch my breath", "E8"),
    ],
)
def test_a_negation_never_hides_a_second_positive_flag(text: str, flag: str) -> None:
    assert flag in assess(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "no numbness, tingling or weakness in my legs",
        "no problems peeing or pooing",
        "I haven't lost control of my bladder",
        "not numb between my legs",
        "bladder and bowels are normal",
        "legs feel fine",
    ],
)
def test_negation_reaches_to_the_end_of_its_clause(text: str) -> None:
    assert assess(text).tier == "none"


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("can't pee", "E1"),
        ("I can't feel my bum when I wipe", "E3"),
        ("haven't been able to wee since this morning", "E1"),
        ("I don't get the urge to go anymore", "E1"),
        ("no feeling in my crotch", "E3"),
        ("can't feel my legs", "E5"),
    ],
)
def test_cant_and_no_inside_a_symptom_phrase_are_part_of_the_symptom(text: str, flag: str) -> None:
    assert flag in assess(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "I want to die",
        "thinking about killing myself",
        "I can't go on like this",
        "self-harm again",
    ],
)
def test_crisis_words_set_crisis(text: str) -> None:
    result = assess(text)
    assert result.crisis
    assert result.is_red_flag


@pytest.mark.parametrize(
    "text", ["my back is killing me", "I don't want to die from this", "dying for a coffee"]
)
def test_figures_of_speech_are_not_a_crisis(text: str) -> None:
    assert not assess(text).crisis


@pytest.mark.parametrize(
    ("text", "e9", "crisis"),
    [
        ("I feel like I'm dying, fever and back pain", True, False),
        ("feel like I'm dying, so ill", True, False),
        ("I feel like I'm dying", False, True),
    ],
)
def test_dying_with_illness_words_is_sepsis_and_without_them_is_crisis(
    text: str, e9: bool, crisis: bool
) -> None:
    result = assess(text)
    assert ("E9" in result.flags) is e9
    assert result.crisis is crisis


@pytest.mark.parametrize(
    ("text", "third_party"),
    [
        ("my mum can't feel her legs", True),
        ("my husband wet himself and can't feel it", True),
        ("meine Mutter spürt ihre Beine nicht mehr", True),
        ("I can't feel my legs", False),
        ("my partner says my back looks a different shape", False),
    ],
)
def test_third_party_is_set_only_when_the_symptom_belongs_to_someone_else(
    text: str, third_party: bool
) -> None:
    lang = "de" if "Mutter" in text else "en"
    result = assess(text, lang)
    assert result.is_red_flag
    assert result.third_party is third_party


@pytest.mark.parametrize(
    ("text", "confirm"),
    [
        ("what are the signs of cauda equina?", "E1"),
        ("how do I know if it's sepsis?", "E9"),
        ("should I worry if my bum goes numb?", "E3"),
        ("what are the red flags for back pain?", "E1"),
    ],
)
def test_education_questions_ask_instead_of_alarming(text: str, confirm: str) -> None:
    result = assess(text)
    assert (result.question, result.tier, result.confirm) == (True, "none", confirm)


def test_an_ordinary_question_is_not_a_red_flag_question() -> None:
    result = assess("what stretch should I do today?")
    assert (result.question, result.confirm) == (False, None)


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("temp 38", "hightemp"),
        ("temperature of 38.0", "hightemp"),
        ("100.4F", "hightemp"),
        ("fever 102", "hightemp"),
        ("Fieber 39,5", "hightemp"),
        ("ich habe 38,9", "hightemp"),
        ("temp 37.2", "normaltemp"),
        ("temperature 100 F", "normaltemp"),
        ("walked 38 minutes", "38 minutes"),
        ("it's 38 degrees outside", "38 degrees"),
        ("lost 38.5 kg", "38.5 kg"),
        ("I'm 39 and fine", "39"),
    ],
)
def test_temperatures_of_38_c_or_100_4_f_read_as_fever(text: str, marked: str) -> None:
    lang = "de" if "ich" in text or "Fieber" in text else "en"
    assert marked in normalise(text, lang)


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("back pain and temp 38.1", "urgent"),
        ("back pain and temp 37.4", "none"),
        ("temp 101F", "urgent"),
    ],
)
def test_a_measured_temperature_sets_the_fever_tier(text: str, tier: str) -> None:
    assert assess(text).tier == tier


@pytest.mark.parametrize(
    ("text", "confirm"),
    [
        ("I wet myself years ago, not since", "E1"),
        ("used to have numbness in both legs", "E5"),
        ("had a fever last week but it's gone now", "U1"),
        ("früher hatte ich Taubheit in beiden Beinen", "E5"),
        ("not sure if I wet myself", "E1"),
    ],
)
def test_past_resolved_or_unsure_context_asks_instead_of_staying_silent(
    text: str, confirm: str
) -> None:
    lang = "de" if "früher" in text else "en"
    result = assess(text, lang)
    assert (result.tier, result.confirm) == ("none", confirm)


@pytest.mark.parametrize(
    "text",
    [
        "used to be one leg but now it's both",
        "had numbness years ago but it's suddenly back in both legs",
    ],
)
def test_a_new_word_overrides_past_context(text: str) -> None:
    assert assess(text).tier == "emergency"


def test_confirm_is_only_set_when_no_flag_of_that_tier_or_higher_is_certain() -> None:
    both = assess("both legs ache after 10 minutes of walking and ease when I sit")
    assert (both.tier, both.confirm) == ("soon", "E5")
    certain = assess("I can't pee and I think I might have wet myself")
    assert (certain.tier, certain.confirm) == ("emergency", None)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("CANT PEE!!!", "en"),
        ("cnt pee", "en"),
        ("numbbbb bum 🍑", "en"),
        ("I’ve wet myself", "en"),
        ("Kribbeln in beiden Fuessen", "de"),
        ("Kribbeln in beiden Fussen", "de"),
        ("KRIBBELN IN BEIDEN FÜẞEN", "de"),
    ],
)
def test_normalisation_handles_typos_case_emoji_and_missing_umlauts(text: str, lang: str) -> None:
    assert assess(text, lang).tier == "emergency"


# ---------------------------------------------------------------------------------- texts

REDFLAG_FILES = {lang: ROOT / "messages" / lang / "redflags.toml" for lang in LANGS}
ALLOWED = {
    "emergency_number", "urgent_number", "crisis_line", "person", "text", "tier", "flags",
    "time_utc", "time_local", "answers", "since", "by", "time",
}  # fmt: skip
REQUIRED = [
    *(f"{flag}.{part}" for flag in FLAGS for part in ("message", "confirm", "check", "label")),
    "tier.emergency", "tier.urgent", "tier.soon", "third_party", "question", "crisis", "safety_net",
    "list", "unreadable", "paused", "resumed", "checklist.intro", "checklist.none",
    "screen.q1", "screen.q2", "screen.q3", "screen.q4", "spike.intro", "spike.q1", "spike.q2",
    "spike.q3", "checkin.emergency_1h", "checkin.emergency_4h", "checkin.emergency_morning",
    "checkin.urgent_4h", "checkin.urgent_morning", "checkin.soon_3d", "checkin.soon_7d",
    "checkin.no_reply", "ack.getting_help", "ack.all_clear", "ack.not_yet", "ack.didnt_mean",
    "ack.booked", "btn.yes", "btn.no", "btn.not_sure", "btn.getting_help", "btn.all_clear",
    "btn.not_yet", "btn.didnt_mean", "btn.booked", "btn.no_to_all", "btn.yes_to_one",
    "btn.acknowledge", "btn.pin", "operator.alert", "operator.no_response",
    "operator.acknowledged", "operator.crisis",
]  # fmt: skip


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        if key == "source":
            continue
        if isinstance(value, dict) and set(value) == {"text", "source"}:
            out[prefix + key] = str(value["text"])
        elif isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = str(value)
    return out


TEXTS = {
    lang: _flatten(tomllib.loads(path.read_text("utf-8"))) for lang, path in REDFLAG_FILES.items()
}


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", LANGS)
def test_every_required_text_exists(lang: str) -> None:
    assert not set(REQUIRED) - set(TEXTS[lang])


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(TEXTS["en"]) == set(TEXTS["de"])
    for key, text in TEXTS["en"].items():
        assert _placeholders(text) == _placeholders(TEXTS["de"][key]), key
        assert _placeholders(text) <= ALLOWED, key


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flag", FLAGS)
def test_every_tier_message_puts_a_number_in_its_first_two_lines(lang: str, flag: str) -> None:
    head = "\n".join(TEXTS[lang][f"{flag}.message"].strip().splitlines()[:2])
    assert "{emergency_number}" in head or "{urgent_number}" in head
    assert "<b>" in head


@pytest.mark.parametrize("lang", LANGS)
def test_emergency_messages_are_short_and_never_diagnose(lang: str) -> None:
    for flag in FLAGS:
        text = TEXTS[lang][f"{flag}.message"]
        plain = re.sub(r"<[^>]+>", "", text)
        assert not re.search(r"\byou have\b|probably nothing|du hast ein", plain, re.I), flag
        if flag.startswith("E"):
            assert len(plain.split()) <= 92, flag
            assert "{emergency_number}" in text


@pytest.mark.parametrize("lang", LANGS)
def test_buttons_fit_telegram_and_texts_escape_ampersands(lang: str) -> None:
    for key, text in TEXTS[lang].items():
        if key.startswith("btn."):
            assert len(text) <= 24, key
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), key
