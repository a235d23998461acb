"""The learned red-flag layer: features, a linear model over them, and the safe decision.

Pure: numpy and the standard library only, no clock, no I/O beyond reading the shipped weights.
The lexicon (``bot.triage``) reads the words we know; this layer reads the rest, and
``decide`` combines the two so that an emergency either of them suspects is never left
without an answer or a confirming question.

Features, one block each, every block L2-normalised:
- ``word``: word unigrams and bigrams of the folded text (sublinear tf x idf);
- ``char``: character 3- to 5-grams inside word boundaries (typos, inflection, compounds);
- ``emb``: a multilingual sentence embedding (``bot.encoder``), when one is loaded.
Two linear models share them: one over tiers (none / soon / urgent / emergency), one
one-vs-rest over the 25 flags. They score the whole message and each clause, and a small
stacker turns those scores and the lexicon's verdict into tier probabilities.

The weights are plain arrays in ``bot/triage_weights/`` (``model.json`` and ``weights.npz``,
loaded without pickle), produced by ``python -m training.redflags retrain``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from bot.triage import FLAGS, NO_FLAGS, Assessment, Tier, flag_tier

TIERS: tuple[Tier, ...] = ("none", "soon", "urgent", "emergency")
RANK: Mapping[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}
MAX_CLAUSES = 6
MAX_CHARS_LAYER = 1000  # the layer reads the head of a long message; the lexicon reads it all
WEIGHTS_PACKAGE = "bot.triage_weights"

_APOSTROPHES = str.maketrans({"\u2019": "", "\u2018": "", "`": "", "\u00b4": "", "'": ""})
_WORD = re.compile(r"[a-z0-9]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_CLAUSE_BREAK = re.compile(
    r"[.;!?\n]+(?!\d)|\s(?:but|however|although|though|except|and now|aber|jedoch|allerdings|"
    r"trotzdem|und jetzt|nur dass)\s",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 3


# --------------------------------------------------------------------------------------------
# Text to features


def fold(text: str) -> str:
    """Casefold, strip accents and apostrophes, fold German umlauts, shorten stretched letters."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    text = text.replace("ß", "ss").replace("ä", "a").replace("ö", "o").replace("ü", "u")
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = text.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return _STRETCHED.sub(r"\1\1", text)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def clauses(text: str) -> list[str]:
    """Split a message into clauses; a fragment of fewer than three words joins its neighbour.

    Terse messages ("cant pee. back agony") keep their meaning: a one- or two-word piece is
    never scored on its own.
    """
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(text) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if (
            merged
            and len(_WORD.findall(fold(merged[-1]))) < _MIN_CLAUSE_WORDS
            or merged
            and len(_WORD.findall(fold(piece))) < _MIN_CLAUSE_WORDS
        ):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged[:MAX_CLAUSES]


def ngrams(text: str) -> tuple[list[str], list[str]]:
    """The word (1-2) and character (3-5, within words) n-grams of a text."""
    tokens = words(text)
    word_grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    char_grams: list[str] = []
    for token in tokens:
        padded = f" {token} "
        for n in (3, 4, 5):
            char_grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return word_grams, char_grams


@dataclass(frozen=True)
class Vocabulary:
    """Term -> column, with idf weights, for one block."""

    index: Mapping[str, int]
    idf: np.ndarray

    def vector(self, grams: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values): sublinear tf x idf, L2-normalised."""
        counts: dict[int, int] = {}
        for gram in grams:
            column = self.index.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[columns]
        norm = float(np.linalg.norm(values))
        return columns, (values / norm if norm else values).astype(np.float32)


@dataclass(frozen=True)
class SparseRow:
    """One text's features: word and char columns (offset into one space) and its embedding."""

    columns: np.ndarray
    values: np.ndarray
    embedding: np.ndarray | None


@dataclass(frozen=True)
class Featurizer:
    word: Vocabulary
    char: Vocabulary
    embedding_weight: float

    @property
    def sparse_width(self) -> int:
        return len(self.word.index) + len(self.char.index)

    def row(self, text: str, embedding: np.ndarray | None) -> SparseRow:
        word_grams, char_grams = ngrams(text)
        wc, wv = self.word.vector(word_grams)
        cc, cv = self.char.vector(char_grams)
        columns = np.concatenate([wc, cc + len(self.word.index)])
        values = np.concatenate([wv, cv])
        emb = None if embedding is None else embedding.astype(np.float32) * self.embedding_weight
        return SparseRow(columns, values, emb)


# --------------------------------------------------------------------------------------------
# Linear models and the stacker


@dataclass(frozen=True)
class Linear:
    """scores = sparse @ w_sparse + embedding @ w_emb + bias, for n outputs."""

    w_sparse: np.ndarray  # (sparse_width, n)
    w_emb: np.ndarray | None  # (dim, n) or None when trained without embeddings
    bias: np.ndarray  # (n,)

    def scores(self, row: SparseRow) -> np.ndarray:
        out = self.bias.astype(np.float64).copy()
        if row.columns.size:
            out += row.values @ self.w_sparse[row.columns]
        if self.w_emb is not None and row.embedding is not None:
            out += row.embedding @ self.w_emb
        return out


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return np.asarray(e / e.sum())


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


STACK_FEATURES: tuple[str, ...] = (
    "lex_soon",
    "lex_urgent",
    "lex_emergency",
    "ask_soon",
    "ask_urgent",
    "ask_emergency",
    "lex_third_party",
    "lex_question",
    "trend",
    "p_soon",
    "p_urgent",
    "p_emergency",
    "clause_soon",
    "clause_urgent",
    "clause_emergency",
    "flag_soon",
    "flag_urgent",
    "flag_emergency",
)


def stack_features(
    lexicon: Assessment,
    trend: bool,
    whole: np.ndarray,
    clause_max: np.ndarray,
    flag_max: np.ndarray,
) -> np.ndarray:
    """The stacker's inputs for one message: the lexicon's verdict and the layer's scores."""
    lex = [float(lexicon.tier == t) for t in ("soon", "urgent", "emergency")]
    ask_tier = flag_tier(lexicon.confirm) if lexicon.confirm else "none"
    ask = [float(ask_tier == t) for t in ("soon", "urgent", "emergency")]
    extra = [float(lexicon.third_party), float(lexicon.question), float(trend)]
    return np.array([*lex, *ask, *extra, *whole[1:], *clause_max[1:], *flag_max], dtype=np.float64)


def tier_groups() -> dict[str, list[int]]:
    return {t: [i for i, f in enumerate(FLAGS) if flag_tier(f) == t] for t in TIERS[1:]}


# --------------------------------------------------------------------------------------------
# Decision


@dataclass(frozen=True)
class Thresholds:
    """Bars on the stacked probability that a message is at a tier or above, per tier.

    ``fire``: at or above it, answer at that tier at once. ``ask``: at or above it (below
    ``fire``), ask the tier's confirming question. ``keep``: the lexicon's own question or
    urgent/see-soon answer stands while the layer gives it at least this much; below it the
    layer reads the message as benign (an idiom, an old story). ``keep <= ask <= fire``.
    """

    fire: Mapping[str, float]
    ask: Mapping[str, float]
    keep: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    """What the layer read in one message."""

    tiers: np.ndarray  # stacked P(none), P(soon), P(urgent), P(emergency)
    flags: np.ndarray  # P(flag) for each of FLAGS, whole message
    trend: bool

    def at_least(self, tier: str) -> float:
        return float(self.tiers[RANK[tier] :].sum())

    def best_flag(self, tier: str) -> str:
        group = tier_groups()[tier]
        return FLAGS[max(group, key=lambda i: self.flags[i])]


def decide(lexicon: Assessment, scores: Scores | None, bars: Thresholds) -> Assessment:
    """Combine the lexicon and the layer into one safe answer.

    - Strong evidence (the stacked probability of "this tier or worse" at or over the tier's
      ``fire`` bar) answers at that tier at once.
    - The lexicon's own answer stands while the layer gives its tier at least the ``ask`` bar.
    - Above the answered tier, the most serious tier that is suspected gets one confirming
      question: suspected by the layer (over ``ask``), or by the lexicon (its answer or its
      question) unless the layer reads the message as benign (under ``keep``).
    - An emergency the lexicon finds is never dropped: below the bars it becomes the
      question (idioms, old stories, someone else's symptoms get at most a question).
    """
    if scores is None:
        return lexicon
    tier: Tier = next(
        (t for t in ("emergency", "urgent", "soon") if scores.at_least(t) >= bars.fire[t]), "none"
    )
    if RANK[lexicon.tier] > RANK[tier] and scores.at_least(lexicon.tier) >= bars.ask[lexicon.tier]:
        tier = lexicon.tier
    confirm: str | None = None
    for candidate in ("emergency", "urgent", "soon"):
        if RANK[candidate] <= RANK[tier]:
            break
        found = next((f for f in lexicon.flags if flag_tier(f) == candidate), None)
        asked = (
            lexicon.confirm if lexicon.confirm and flag_tier(lexicon.confirm) == candidate else None
        )
        at_least = scores.at_least(candidate)
        plausible = at_least >= bars.keep.get(candidate, 0.0)
        if at_least >= bars.ask[candidate]:
            confirm = found or asked or scores.best_flag(candidate)
        elif found and (candidate == "emergency" or plausible):
            confirm = found
        elif asked and plausible:
            confirm = asked
        if confirm is not None:
            break
    flags = _flags_for(tier, lexicon, scores)
    if tier == "none" and confirm is None and not lexicon.crisis and not lexicon.question:
        return NO_FLAGS
    return Assessment(
        tier=tier,
        flags=flags,
        confirm=confirm,
        crisis=lexicon.crisis,
        third_party=lexicon.third_party and (bool(flags) or confirm is not None),
        question=lexicon.question,
    )


def _flags_for(tier: Tier, lexicon: Assessment, scores: Scores) -> tuple[str, ...]:
    if tier == "none":
        return ()
    same = tuple(f for f in lexicon.flags if flag_tier(f) == tier)
    higher_or_same = tuple(f for f in lexicon.flags if RANK[flag_tier(f)] <= RANK[tier])
    if same:
        return tuple(dict.fromkeys((*same, *higher_or_same)))
    return (scores.best_flag(tier), *higher_or_same)


# --------------------------------------------------------------------------------------------
# Pain-score trends (spec 5.5)

_SCORE = (
    r"(?<![\d.,/])(10|[0-9])(?:\s*/\s*10)?"
    r"(?![\d.,]\d|\s*(?:min|mins|minutes|minuten|km|h|std|uhr|am|pm|kg|x|walks?|times|mal)\b)"
)
_SCORES = re.compile(_SCORE)
_TREND_WORDS = re.compile(
    r"\b(?:pain|schmerz\w*|was|now|then|today|yesterday|heute|gestern|jetzt|vorher|seit|"
    r"mon|tue|wed|thu|fri|sat|sun|mo|di|mi|do|fr|sa|so|von|auf|from|to|up|hoch|rauf)\b"
)


def pain_trend(text: str) -> bool:
    """True when the text reports pain scores that rise steadily to a high one.

    "was 3, then 5, now 8", "mon 3 tue 5 wed 7", "von 4 auf 9": at least three points rising
    without a fall and ending at 7 or more, or two points rising by 4 or more to 7 or more, next
    to a pain or time word.
    """
    lowered = fold(text)
    if not _TREND_WORDS.search(lowered):
        return False
    values = [int(m.group(1)) for m in _SCORES.finditer(lowered)]
    if len(values) < 2 or len(values) > 8:
        return False
    rising = all(b >= a for a, b in zip(values, values[1:], strict=False))
    if not rising or values[-1] < 7:
        return False
    return (len(values) >= 3 and values[-1] - values[0] >= 3) or values[-1] - values[0] >= 4


# --------------------------------------------------------------------------------------------
# The shipped model


@dataclass(frozen=True)
class Model:
    """Everything the layer needs at run time, loaded from the shipped files."""

    featurizer: Featurizer
    tier: Linear
    flags: Linear
    stack_w: np.ndarray  # (len(STACK_FEATURES), 4)
    stack_b: np.ndarray  # (4,)
    bars: Thresholds
    encoder: str | None  # the encoder the weights were trained with
    meta: Mapping[str, Any]

    def reads(self, text: str) -> bool:
        """True when the text has a word (not just a number) the layer was trained on;
        otherwise it knows nothing about it ("7", "08:30", "Berlin"), and the lexicon answers
        alone."""
        tokens = words(text[:MAX_CHARS_LAYER])
        return any(not t.isdigit() and t in self.featurizer.word.index for t in tokens)

    def clause_texts(self, text: str) -> list[str]:
        """The clauses the layer scores on their own (none for a one-clause message)."""
        parts = clauses(text[:MAX_CHARS_LAYER])
        return parts if len(parts) > 1 else []

    def texts(self, text: str) -> list[str]:
        """What the layer reads and embeds: the message (its head) and each of its clauses."""
        return [text[:MAX_CHARS_LAYER], *self.clause_texts(text)]

    def features(
        self, text: str, lexicon: Assessment, embeddings: Sequence[np.ndarray | None] | None
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """(stacker inputs, P(flag) per flag, pain trend); ``embeddings`` follow ``texts``."""
        texts = self.texts(text)
        vectors = list(embeddings) if embeddings is not None else [None] * len(texts)
        rows = [self.featurizer.row(t, v) for t, v in zip(texts, vectors, strict=True)]
        probs = [softmax(self.tier.scores(r)) for r in rows]
        cumulative = [np.array([p[1:].sum(), p[2:].sum(), p[3]]) for p in probs]
        clause_max = np.max(np.stack(cumulative), axis=0)
        flag_p = sigmoid(self.flags.scores(rows[0]))
        groups = tier_groups()
        flag_max = np.array([flag_p[groups[t]].max() for t in ("soon", "urgent", "emergency")])
        trend = pain_trend(texts[0])
        x = stack_features(
            lexicon,
            trend,
            np.array([probs[0][0], *cumulative[0]]),
            np.array([0.0, *clause_max]),
            flag_max,
        )
        return x, flag_p, trend

    def score(
        self, text: str, lexicon: Assessment, embeddings: Sequence[np.ndarray | None] | None
    ) -> Scores:
        """Score a message; ``embeddings`` follow ``texts(text)`` (None without an encoder)."""
        x, flag_p, trend = self.features(text, lexicon, embeddings)
        return Scores(tiers=softmax(x @ self.stack_w + self.stack_b), flags=flag_p, trend=trend)


def _vocab(terms: list[str], idf: np.ndarray) -> Vocabulary:
    return Vocabulary({t: i for i, t in enumerate(terms)}, idf.astype(np.float32))


def load_model(package: str = WEIGHTS_PACKAGE) -> Model:
    """Load the shipped weights (FileNotFoundError or ValueError when they are missing or bad)."""
    root = resources.files(package)
    meta = json.loads(root.joinpath("model.json").read_text(encoding="utf-8"))
    with root.joinpath("weights.npz").open("rb") as handle:
        arrays = dict(np.load(handle, allow_pickle=False))
    width = len(meta["word_terms"]) + len(meta["char_terms"])
    if arrays["tier_w_sparse"].shape[0] != width or len(STACK_FEATURES) != len(
        meta["stack_features"]
    ):
        raise ValueError("triage weights do not match their vocabulary")
    if tuple(meta["flags"]) != FLAGS or tuple(meta["stack_features"]) != STACK_FEATURES:
        raise ValueError("triage weights were trained for other flags or stack features")
    featurizer = Featurizer(
        word=_vocab(meta["word_terms"], arrays["word_idf"]),
        char=_vocab(meta["char_terms"], arrays["char_idf"]),
        embedding_weight=float(meta["embedding_weight"]),
    )

    def linear(name: str) -> Linear:
        emb = arrays.get(f"{name}_w_emb")
        return Linear(
            arrays[f"{name}_w_sparse"],
            emb if emb is not None and emb.size else None,
            arrays[f"{name}_b"],
        )

    return Model(
        featurizer=featurizer,
        tier=linear("tier"),
        flags=linear("flags"),
        stack_w=arrays["stack_w"],
        stack_b=arrays["stack_b"],
        bars=Thresholds(
            fire=meta["bars"]["fire"], ask=meta["bars"]["ask"], keep=meta["bars"]["keep"]
        ),
        encoder=meta.get("encoder"),
        meta=meta,
    )


@cache
def shipped_model() -> Model:
    return load_model()


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
