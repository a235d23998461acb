"""The red-flag detector through the real bot: the learned layer, its question band, its fallbacks."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.detector import Detector, lexicon_everywhere
from bot.encoder import load_encoder
from bot.triage import assess
from bot.triage_model import Thresholds
from tests.e2e.harness import ESCALATION_CHAT, Harness, running_bot

# An emergency told as a consequence, with no word the lexicon knows for it (E1).
PARAPHRASE = "had to change my trousers twice today and didnt feel it"


def test_the_lexicon_alone_misses_the_paraphrase() -> None:
    """The premise of the tests below: only the learned layer reads this message."""
    reading = assess(PARAPHRASE, "en")
    assert reading.tier == "none"
    assert reading.confirm is None


def ask_everything(h: Harness) -> None:
    """Move the layer's bars so every suspicion falls in the question band, never the answer."""
    detector = h.runtime.detector
    assert detector is not None
    assert detector.model is not None
    never = {"emergency": 1.01, "urgent": 1.01, "soon": 1.01}
    band = {"emergency": 0.0001, "urgent": 1.01, "soon": 1.01}
    bars = Thresholds(fire=never, ask=band, keep={"emergency": 0.0, "urgent": 1.01, "soon": 1.01})
    detector.model = dataclasses.replace(detector.model, bars=bars)


async def test_the_layer_answers_an_emergency_the_lexicon_misses(database_url: str) -> None:
    async with running_bot(database_url) as h:
        assert h.runtime.detector is not None
        assert h.runtime.detector.mode == "lexicon+ngrams+embeddings"
        alex = h.stand.person(3401)
        await h.onboard(alex)
        (reply,) = await h.send(alex, PARAPHRASE)
        assert "112" in "\n".join(reply.plain.splitlines()[:2])
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "trousers" in alert.plain


async def test_the_question_band_asks_once_and_not_sure_counts_as_yes(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3402)
        await h.onboard(alex)
        ask_everything(h)
        (question,) = await h.send(alex, PARAPHRASE)
        assert question.buttons[:3] == [
            h.runtime.catalog.text("en", key)
            for key in ("redflags.btn.yes", "redflags.btn.no", "redflags.btn.not_sure")
        ]
        assert h.stand.transcript(ESCALATION_CHAT) == []  # a question alerts nobody yet
        (answer,) = await h.tap(alex, question, 2)  # "Not sure"
        assert "112" in "\n".join(answer.plain.splitlines()[:2])
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1


async def test_an_urgent_answer_still_asks_about_a_suspected_emergency(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3405)
        await h.onboard(alex)
        detector = h.runtime.detector
        assert detector is not None
        assert detector.model is not None
        bars = Thresholds(
            fire={"emergency": 1.01, "urgent": 0.0, "soon": 0.0},
            ask={"emergency": 0.0, "urgent": 0.0, "soon": 0.0},
            keep={"emergency": 0.0, "urgent": 0.0, "soon": 0.0},
        )
        detector.model = dataclasses.replace(detector.model, bars=bars)
        answer, question = await h.send(alex, "temperature 39.2 and my back is agony")
        assert "116117" in answer.plain  # Berlin's same-day number: the urgent answer first
        assert question.buttons[:3] == [
            h.runtime.catalog.text("en", key)
            for key in ("redflags.btn.yes", "redflags.btn.no", "redflags.btn.not_sure")
        ]


@pytest.mark.parametrize("layer", ["ngrams", "lexicon"])
async def test_without_embeddings_or_without_the_layer_the_bot_still_answers(
    database_url: str, layer: str
) -> None:
    async with running_bot(database_url, WALKWELL_TRIAGE_LAYER=layer) as h:
        assert h.runtime.detector is not None
        assert h.runtime.detector.mode == f"lexicon+{layer}" if layer == "ngrams" else "lexicon"
        alex = h.stand.person(3403)
        await h.onboard(alex)
        (reply,) = await h.send(alex, "since this morning I can't pee and it's numb down there")
        assert "112" in "\n".join(reply.plain.splitlines()[:2])
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1


async def test_an_ordinary_walk_log_stays_an_ordinary_walk_log(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3404)
        await h.onboard(alex)
        await h.send(
            alex, "nearly wet myself laughing at the dog in the park, lovely 20 minute walk"
        )
        assert h.stand.transcript(ESCALATION_CHAT) == []


# ---------------------------------------------------------------------------- unit-level


async def test_until_the_layer_is_loaded_the_lexicon_answers() -> None:
    detector = Detector()
    assert detector.mode == "lexicon"
    reading = await detector.assess(PARAPHRASE, ("en", "de"))
    assert reading == lexicon_everywhere(PARAPHRASE, ("en", "de"))


def test_an_encoder_that_cannot_load_falls_back_to_ngrams_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert load_encoder("some/other-encoder") is None
    assert "n-grams alone" in caplog.text


def test_the_detector_reads_the_paraphrase_with_ngrams_alone() -> None:
    detector = Detector.load_sync(embeddings=False)
    assert detector.mode == "lexicon+ngrams"
    reading = detector.assess_sync(PARAPHRASE, ("en", "de"))
    assert reading.tier == "emergency" or (reading.confirm or "").startswith("E")


@pytest.mark.parametrize("text", ["7", "10", "08:30", "7/10", "/pain 7", "Berlin", "/start"])
def test_numbers_commands_and_places_are_the_lexicons_alone(text: str) -> None:
    detector = Detector.load_sync()
    assert detector.mode == "lexicon+ngrams+embeddings"
    assert detector.assess_sync(text, ("en", "de")) == lexicon_everywhere(text, ("en", "de"))
