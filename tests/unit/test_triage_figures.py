"""The red-flag detector's figures: bank cross-validation, the sealed blind set, the weights' origin.

- Cross-validation by author on the training bank is recorded in the shipped model.json by
  `python -m training.redflags retrain`; printed here.
- The sealed blind set (tests/triage_blind/, written by someone who never saw the detector or
  the bank, before any tuning) is scored here with the shipped detector and checked against the
  figures issue 13 asks for. Its misses are not printed: they must never be read to tune.
- Retraining from the bank reproduces the shipped weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bot.detector import Detector
from bot.triage_model import load_model
from training import redflags

ROOT = Path(__file__).resolve().parents[2]
BLIND = ROOT / "tests" / "triage_blind" / "blind.jsonl"
BLIND_SHA256 = "f1cde9b740bc4a0572625ad5253a9cc728378df7e89f9f3291a78201c1389b00"

# Issue 13, v1, on the sealed blind set.
EMERGENCY_ANSWERED = 0.93
EMERGENCY_RAISED = 0.99
URGENT_ANSWERED = 0.92
SOON_ANSWERED = 0.90
FALSE_ALARMS = 0.10  # a question on a benign message counts half
QUESTIONS = 0.08


def test_the_blind_set_is_the_sealed_one() -> None:
    assert hashlib.sha256(BLIND.read_bytes()).hexdigest() == BLIND_SHA256


def test_the_bank_is_large_and_varied_enough() -> None:
    bank = redflags.load_bank()
    assert len(bank) >= 3000
    assert len({e.author for e in bank}) >= 4
    assert sum(e.tier == "none" for e in bank) >= 1500
    for flag in redflags.FLAGS:
        n = sum(flag in e.flags for e in bank)
        assert n >= (60 if flag.startswith("E") else 40), flag


def test_cross_validation_by_author_is_recorded_and_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cv = load_model().meta["cross_validation"]
    with capsys.disabled():
        print()
        for name in ("lexicon_alone", "layer"):
            redflags.print_summary(f"bank cross-validation by author, {name}:", cv[name])
    assert (
        cv["layer"]["all/emergency"]["answered"] > cv["lexicon_alone"]["all/emergency"]["answered"]
    )


@pytest.fixture(scope="module")
def blind_figures() -> dict[str, dict[str, float]]:
    blind = redflags.read_jsonl(BLIND, "blind")
    detector = Detector.load_sync()
    assert detector.mode == "lexicon+ngrams+embeddings"
    verdicts = [detector.assess_sync(e.text, ("en", "de")) for e in blind]
    return redflags.summary(redflags.tally(blind, verdicts))


# What the shipped detector scored on the sealed set, the one time it was scored (2026-12-02,
# after the last retrain): a regression guard. Any change to the lexicon, the layer or its bars
# needs a new blind set, written the same way, before its figures mean anything.
MEASURED = {
    "all/emergency": {"answered": 0.9574, "raised": 0.9787},
    "all/urgent": {"answered": 0.9833},
    "all/soon": {"answered": 0.9778},
    "de/emergency": {"answered": 0.9375, "raised": 0.9688},
    "en/emergency": {"answered": 0.9677, "raised": 0.9839},
}
MEASURED_FALSE_ALARMS = 0.0575
MEASURED_QUESTIONS = 0.0342


def test_the_sealed_blind_set_is_scored_and_holds_its_measured_figures(
    blind_figures: dict[str, dict[str, float]], capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print()
        redflags.print_summary("sealed blind set (scored, never tuned on):", blind_figures)
    for key, figures in MEASURED.items():
        for name, value in figures.items():
            assert blind_figures[key][name] >= value - 1e-4, (key, name)
    assert blind_figures["all/none"]["false_alarm"] <= MEASURED_FALSE_ALARMS + 1e-4
    assert blind_figures["all/none"]["asked"] <= MEASURED_QUESTIONS + 1e-4


@pytest.mark.xfail(
    strict=True,
    reason="v1 misses one figure on the sealed set: emergencies raised 97.9% (< 99%); "
    "answered 95.7%, urgent 98.3%, see-soon 97.8%, false alarms 5.8%, questions 3.4% meet theirs",
)
def test_the_sealed_blind_set_meets_the_v1_figures(
    blind_figures: dict[str, dict[str, float]],
) -> None:
    f = blind_figures
    assert f["all/emergency"]["answered"] >= EMERGENCY_ANSWERED
    assert f["all/urgent"]["answered"] >= URGENT_ANSWERED
    assert f["all/soon"]["answered"] >= SOON_ANSWERED
    assert f["all/none"]["false_alarm"] <= FALSE_ALARMS
    assert f["all/none"]["asked"] <= QUESTIONS
    assert f["all/emergency"]["raised"] >= EMERGENCY_RAISED


@pytest.mark.timeout(1200)  # a full retrain: twelve folds, then the final fit (2-5 min here)
def test_retraining_from_the_bank_reproduces_the_shipped_weights(tmp_path: Path) -> None:
    shipped = json.loads((redflags.WEIGHTS / "model.json").read_text(encoding="utf-8"))
    assert shipped["bank_sha256"] == redflags.bank_digest(redflags.load_bank())
    redflags.train_all(cv=False, out=tmp_path)
    fresh = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    for key in ("word_terms", "char_terms", "bars", "params", "encoder", "bank_sha256"):
        assert fresh[key] == shipped[key], key
    with (
        np.load(redflags.WEIGHTS / "weights.npz") as old,
        np.load(tmp_path / "weights.npz") as new,
    ):
        assert sorted(old.files) == sorted(new.files)
        for name in old.files:
            np.testing.assert_allclose(new[name], old[name], rtol=1e-3, atol=1e-3, err_msg=name)
