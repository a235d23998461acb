"""Train, cross-validate and export WalkWell's learned red-flag layer (dev-only: scikit-learn).

    python -m training.redflags embed      # refresh the embedding cache for new bank messages
    python -m training.redflags retrain    # cross-validate, fit, export bot/triage_weights/
    python -m training.redflags report     # print the recorded cross-validation figures
    python -m training.redflags blind      # score the sealed blind set (once, at the end)

The bank is ``training/bank/*.jsonl`` (one author or persona per file) plus the team's fixture
corpus in ``tests/triage_corpus/``. Every choice (regularisation, the embedding weight, the
decision bars) is made by cross-validation grouped by author: each fold holds out everything one
author wrote, so the figures say how the layer does on a voice it has never seen.
Embeddings come from ``training/bank/embeddings.npz`` (float16, keyed by a hash of the text) so
that retraining is exact and fast; ``embed`` fills it with the shipped encoder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage import FLAGS, assess, flag_tier
from bot.triage_model import (
    RANK,
    STACK_FEATURES,
    TIERS,
    Featurizer,
    Linear,
    Model,
    Scores,
    Thresholds,
    Vocabulary,
    decide,
    ngrams,
    softmax,
)

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "training" / "bank"
CORPUS = ROOT / "tests" / "triage_corpus"
BLIND = ROOT / "tests" / "triage_blind" / "blind.jsonl"
EMBEDDINGS = BANK / "embeddings.npz"
WEIGHTS = ROOT / "bot" / "triage_weights"
MIN_DF = 2
TEAM = "team"  # the fixture corpus the lexicon was written against: never used to weigh it
UI = "ui_inputs"  # what people type at the bot's own prompts (commands, numbers, places, yes/no)
EVERYDAY = "everyday"  # ordinary daily chat, mostly benign: the common case, not the hard one
# Back pain on its own, from templates (spec 4.0: back pain, however bad, is not a red flag by
# itself): the short everyday messages the authors' harder negatives left out.
BACK_PAIN = "back_pain_alone"
# Trained on, but not used to choose the bars nor in the headline figures: the team's own
# files, and the everyday chat (its easy negatives would let the bars buy recall with alarms
# on the hard ones that the other authors weighted their negatives to).
NOT_INDEPENDENT = (TEAM, UI, EVERYDAY, BACK_PAIN)
OOF_CACHE = ROOT / "training" / ".cache" / "oof.npz"

# The figures to reach (issue 13, with a margin), used to choose the decision bars on
# out-of-fold scores: recall per tier, then as few false alarms as that allows.
TARGET_ANSWER = {"emergency": 0.95, "urgent": 0.93, "soon": 0.91}
# Emergencies raised (answered or asked): 98.8%, not 99%. Out of fold, the last 0.2% (two
# messages in 969) cost 3.3 points of false alarms (9.5% -> 12.8% of benign messages), a cliff
# no blind set of a few hundred messages could tell apart from noise on the recall side.
TARGET_RAISE = {"emergency": 0.988, "urgent": 0.95, "soon": 0.93}
PENALTY = {"emergency": 10.0, "urgent": 4.0, "soon": 3.0}
QUESTION_BUDGET = 0.07


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    tier: str
    flags: tuple[str, ...]
    author: str
    kind: str

    @property
    def key(self) -> str:
        return text_key(self.text)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def read_jsonl(path: Path, author: str) -> list[Example]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        flags = tuple(f for f in row.get("flags", ()) if f in FLAGS)
        tier = row["tier"]
        if tier not in RANK:
            raise ValueError(f"{path.name}:{number}: unknown tier {tier!r}")
        if flags and tier == "none":
            flags = ()
        if tier != "none" and not flags:
            raise ValueError(f"{path.name}:{number}: a {tier} message without flags")
        out.append(
            Example(row["text"], row.get("lang", "en"), tier, flags, author, row.get("kind", ""))
        )
    return out


def read_corpus(lang: str) -> list[Example]:
    out = []
    for line in (CORPUS / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expect, _confirm, _forbid, _extra, text = (p.strip() for p in line.split(" | ", 4))
        flags = () if expect in ("-", "none") else (expect.replace(",", "/").split("/")[0],)
        tier = flag_tier(flags[0]) if flags else "none"
        out.append(Example(text, lang, tier, flags, TEAM, "fixture"))
    return out


def load_bank() -> list[Example]:
    examples = [e for path in sorted(BANK.glob("*.jsonl")) for e in read_jsonl(path, path.stem)]
    examples += read_corpus("en") + read_corpus("de")
    seen: set[str] = set()
    unique = []
    for e in examples:
        if e.key not in seen:
            seen.add(e.key)
            unique.append(e)
    return unique


def bank_digest(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(json.dumps([e.text, e.tier, e.flags, e.author]).encode("utf-8"))
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Embeddings


def all_texts(examples: Sequence[Example]) -> list[str]:
    """Every text the layer embeds for these examples: each message and each of its clauses."""
    model = layer_model_shell()
    return [t for e in examples for t in model.texts(e.text)]


def load_embeddings() -> dict[str, np.ndarray]:
    if not EMBEDDINGS.exists():
        return {}
    with np.load(EMBEDDINGS, allow_pickle=False) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))


def embed(
    texts: Iterable[str], cache: dict[str, np.ndarray], save: bool = True
) -> dict[str, np.ndarray]:
    from bot.encoder import E5Encoder

    missing = sorted({t for t in texts if text_key(t) not in cache})
    if missing:
        encoder = E5Encoder()
        for start in range(0, len(missing), 32):
            batch = missing[start : start + 32]
            for text, vector in zip(batch, encoder.encode(batch), strict=True):
                cache[text_key(text)] = vector.astype(np.float16)
            print(f"embedded {min(start + 32, len(missing))}/{len(missing)}", file=sys.stderr)
        if save:
            keys = sorted(cache)
            np.savez_compressed(
                EMBEDDINGS, keys=np.array(keys), vectors=np.stack([cache[k] for k in keys])
            )
    return cache


# --------------------------------------------------------------------------------------------
# Features and fitting


def build_vocab(grams: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for doc in grams:
        df.update(set(doc))
    terms = sorted(t for t, n in df.items() if n >= MIN_DF)
    n_docs = len(grams)
    idf = np.array([np.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
    return terms, idf


def featurizer_for(texts: Sequence[str], embedding_weight: float) -> Featurizer:
    pairs = [ngrams(t) for t in texts]
    wt, widf = build_vocab([p[0] for p in pairs])
    ct, cidf = build_vocab([p[1] for p in pairs])
    return Featurizer(
        Vocabulary({t: i for i, t in enumerate(wt)}, widf),
        Vocabulary({t: i for i, t in enumerate(ct)}, cidf),
        embedding_weight,
    )


def design(feat: Featurizer, texts: Sequence[str], emb: np.ndarray | None) -> Any:
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        row = feat.row(text, None)
        rows.extend([i] * row.columns.size)
        cols.extend(row.columns.tolist())
        vals.extend(row.values.tolist())
    x = sparse.csr_matrix(
        (vals, (rows, cols)), shape=(len(texts), feat.sparse_width), dtype=np.float64
    )
    if emb is not None:
        x = sparse.hstack(
            [x, sparse.csr_matrix(emb.astype(np.float64) * feat.embedding_weight)]
        ).tocsr()
    return x


@dataclass(frozen=True)
class Fitted:
    featurizer: Featurizer
    tier: Linear
    flags: Linear


def fit_layer(
    examples: Sequence[Example],
    emb: np.ndarray | None,
    c_tier: float,
    c_flag: float,
    emb_weight: float,
) -> Fitted:
    from sklearn.linear_model import LogisticRegression

    texts = [e.text for e in examples]
    feat = featurizer_for(texts, emb_weight)
    x = design(feat, texts, emb)
    y = np.array([RANK[e.tier] for e in examples])
    tier_lr = LogisticRegression(C=c_tier, max_iter=3000)
    tier_lr.fit(x, y)
    width = feat.sparse_width
    coef = np.zeros((x.shape[1], len(TIERS)))
    coef[:, tier_lr.classes_] = tier_lr.coef_.T
    bias = np.full(len(TIERS), -30.0)
    bias[tier_lr.classes_] = tier_lr.intercept_
    flag_w = np.zeros((x.shape[1], len(FLAGS)))
    flag_b = np.full(len(FLAGS), -30.0)
    for j, flag in enumerate(FLAGS):
        target = np.array([flag in e.flags for e in examples])
        if target.sum() < 2:
            continue
        lr = LogisticRegression(C=c_flag, max_iter=3000)
        lr.fit(x, target)
        flag_w[:, j] = lr.coef_[0]
        flag_b[j] = lr.intercept_[0]

    def linear(w: np.ndarray, b: np.ndarray) -> Linear:
        return Linear(
            w[:width].astype(np.float32),
            w[width:].astype(np.float32) if emb is not None else None,
            b.astype(np.float32),
        )

    return Fitted(feat, linear(coef, bias), linear(flag_w, flag_b))


def layer_model_shell() -> Model:
    """A model with no weights, for what does not need them (which texts are read)."""
    empty = Vocabulary({}, np.zeros(0, dtype=np.float32))
    none = Linear(np.zeros((0, 0), dtype=np.float32), None, np.zeros(0, dtype=np.float32))
    return Model(
        Featurizer(empty, empty, 1.0),
        none,
        none,
        np.zeros(0),
        np.zeros(0),
        Thresholds({}, {}),
        None,
        {},
    )


def layer_model(
    fitted: Fitted, stack_w: np.ndarray, stack_b: np.ndarray, bars: Thresholds
) -> Model:
    return Model(fitted.featurizer, fitted.tier, fitted.flags, stack_w, stack_b, bars, None, {})


def stack_inputs(
    fitted: Fitted, examples: Sequence[Example], cache: Mapping[str, np.ndarray], use_emb: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The stacker's inputs and P(flag) for each example, exactly as the bot computes them."""
    model = layer_model(fitted, np.zeros((len(STACK_FEATURES), 4)), np.zeros(4), Thresholds({}, {}))
    xs, flags = [], []
    for e in examples:
        texts = model.texts(e.text)
        vecs = [_vector(cache, t) for t in texts] if use_emb else None
        x, flag_p, _trend = model.features(e.text, lexicon_reading(e.text), vecs)
        xs.append(x)
        flags.append(flag_p)
    return np.array(xs), np.array(flags)


def _vector(cache: Mapping[str, np.ndarray], text: str) -> np.ndarray | None:
    v = cache.get(text_key(text))
    return None if v is None else v.astype(np.float32)


_LEXICON_CACHE: dict[str, Any] = {}


def lexicon_reading(text: str) -> Any:
    """The lexicon's reading in every language (as the bot does: the most serious one)."""
    hit = _LEXICON_CACHE.get(text)
    if hit is None:
        readings = [assess(text, "de")]  # German runs the English lexicon too
        hit = max(
            readings,
            key=lambda a: (RANK[a.tier], a.crisis, a.confirm is not None, a.question),
        )
        _LEXICON_CACHE[text] = hit
    return hit


def fit_stacker(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1.0, max_iter=3000)
    lr.fit(x, y)
    w = np.zeros((x.shape[1], len(TIERS)))
    b = np.full(len(TIERS), -30.0)
    w[:, lr.classes_] = lr.coef_.T
    b[lr.classes_] = lr.intercept_
    return w, b


def stacked_probs(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([softmax(row @ w + b) for row in x])


# --------------------------------------------------------------------------------------------
# Cross-validation by author


@dataclass
class OutOfFold:
    stack_x: np.ndarray
    stacked: np.ndarray  # stacker probabilities, stacker itself held out by author
    flags: np.ndarray


def out_of_fold(
    examples: Sequence[Example],
    cache: Mapping[str, np.ndarray],
    params: Mapping[str, float],
    use_emb: bool,
) -> OutOfFold:
    authors = sorted({e.author for e in examples})
    index = {a: [i for i, e in enumerate(examples) if e.author == a] for a in authors}
    stack_x = np.zeros((len(examples), len(STACK_FEATURES)))
    flags = np.zeros((len(examples), len(FLAGS)))
    for author in authors:
        train = [examples[i] for i in range(len(examples)) if examples[i].author != author]
        test = [examples[i] for i in index[author]]
        emb = np.stack([cache[e.key] for e in train]).astype(np.float32) if use_emb else None
        fitted = fit_layer(train, emb, params["c_tier"], params["c_flag"], params["emb_weight"])
        stack_x[index[author]], flags[index[author]] = stack_inputs(fitted, test, cache, use_emb)
        print(f"  fold {author}: {len(test)} held out", file=sys.stderr)
    y = np.array([RANK[e.tier] for e in examples])
    stacked = np.zeros((len(examples), len(TIERS)))
    for author in authors:
        held = np.array(index[author])
        rest = np.array(
            [i for i, e in enumerate(examples) if e.author != author and e.author not in (TEAM,)]
        )
        w, b = fit_stacker(stack_x[rest], y[rest])
        stacked[held] = stacked_probs(stack_x[held], w, b)
    return OutOfFold(stack_x, stacked, flags)


@dataclass(frozen=True)
class Board:
    """What ``decide`` reads, as arrays, so that thousands of bars can be tried in seconds."""

    truth: np.ndarray  # the true tier rank of each example
    at_least: np.ndarray  # (n, 4): P(tier >= r) for r = 0..3
    lex_rank: np.ndarray  # the lexicon's answered tier rank
    found: np.ndarray  # (n, 4): the lexicon found a flag of tier r
    asked: np.ndarray  # (n, 4): the lexicon asks about tier r

    @classmethod
    def of(cls, examples: Sequence[Example], oof: OutOfFold) -> Board:
        n = len(examples)
        found = np.zeros((n, 4), dtype=bool)
        asked = np.zeros((n, 4), dtype=bool)
        lex_rank = np.zeros(n, dtype=int)
        for i, e in enumerate(examples):
            reading = lexicon_reading(e.text)
            lex_rank[i] = RANK[reading.tier]
            for f in reading.flags:
                found[i, RANK[flag_tier(f)]] = True
            if reading.confirm:
                asked[i, RANK[flag_tier(reading.confirm)]] = True
        at_least = np.flip(np.cumsum(np.flip(oof.stacked, axis=1), axis=1), axis=1)
        truth = np.array([RANK[e.tier] for e in examples])
        return cls(truth, at_least, lex_rank, found, asked)

    def outcome(self, bars: Thresholds) -> tuple[np.ndarray, np.ndarray]:
        """(answered tier rank, asked tier rank or 0) per example, exactly as ``decide``."""
        n = len(self.truth)
        rank = np.zeros(n, dtype=int)
        for r, tier in ((1, "soon"), (2, "urgent"), (3, "emergency")):
            rank[self.at_least[:, r] >= bars.fire[tier]] = r
        lex_at = self.at_least[np.arange(n), self.lex_rank]
        ask_bar = np.array([0.0, bars.ask["soon"], bars.ask["urgent"], bars.ask["emergency"]])
        keep = (self.lex_rank > rank) & (lex_at >= ask_bar[self.lex_rank])
        rank = np.where(keep, self.lex_rank, rank)
        asked = np.zeros(n, dtype=int)
        for r, tier in ((3, "emergency"), (2, "urgent"), (1, "soon")):
            a = self.at_least[:, r]
            plausible = a >= bars.keep.get(tier, 0.0)
            hit = (a >= bars.ask[tier]) | (self.found[:, r] & (plausible | (r == 3)))
            hit |= self.asked[:, r] & plausible
            asked = np.where((asked == 0) & (rank < r) & hit, r, asked)
        return rank, asked

    def figures(self, bars: Thresholds) -> dict[str, float]:
        rank, asked = self.outcome(bars)
        out: dict[str, float] = {}
        benign = self.truth == 0
        out["alarm"] = float(np.mean(rank[benign] > 0))
        out["asked"] = float(np.mean((rank[benign] == 0) & (asked[benign] > 0)))
        for r, tier in ((1, "soon"), (2, "urgent"), (3, "emergency")):
            pos = self.truth == r
            answered = rank[pos] == r if r == 3 else rank[pos] >= r
            out[f"{tier}_answered"] = float(np.mean(answered))
            out[f"{tier}_raised"] = float(np.mean(answered | (asked[pos] >= r) | (rank[pos] >= r)))
        return out


def objective(f: Mapping[str, float], raise_emergency: float | None = None) -> float:
    """What the bars minimise: false alarms (a question counts half), plus penalties for every
    point below a recall target and for questions over the budget."""
    cost = f["alarm"] + 0.5 * f["asked"] + max(0.0, f["asked"] - QUESTION_BUDGET)
    for tier, weight in PENALTY.items():
        target = TARGET_RAISE[tier]
        if tier == "emergency" and raise_emergency is not None:
            target = raise_emergency
        cost += weight * max(0.0, TARGET_ANSWER[tier] - f[f"{tier}_answered"])
        cost += 3 * weight * max(0.0, target - f[f"{tier}_raised"])
    return cost


GRID = tuple(float(round(x, 4)) for x in np.geomspace(0.001, 0.97, 60))
_TIERS = ("emergency", "urgent", "soon")
Bars = dict[str, dict[str, float]]


def _descend(board: Board, bars: Bars, raise_emergency: float) -> tuple[float, Bars]:
    """Coordinate descent over the nine bars (``keep <= ask <= fire`` for every tier)."""

    def cost(b: Bars) -> float:
        th = Thresholds(b["fire"], b["ask"], b["keep"])
        return objective(board.figures(th), raise_emergency)

    current = cost(bars)
    for _ in range(4):
        moved = False
        for kind in ("fire", "ask", "keep"):
            for tier in _TIERS:
                for value in GRID:
                    trial = {k: dict(v) for k, v in bars.items()}
                    trial[kind][tier] = value
                    if not trial["keep"][tier] <= trial["ask"][tier] <= trial["fire"][tier]:
                        continue
                    c = cost(trial)
                    if c < current - 1e-12:
                        current, bars, moved = c, trial, True
        if not moved:
            break
    return current, bars


def choose_bars(examples: Sequence[Example], oof: OutOfFold) -> Thresholds:
    """The bars that minimise ``objective`` on out-of-fold scores.

    Coordinate descent from several starts, and by continuation: the emergency "raised"
    target is reached in steps from 97%, each step starting from the last one's bars, because
    the cheapest way to ask about 1% more emergencies is far from the cheapest way to 97%.
    """
    board = Board.of(examples, oof)
    starts: list[Bars] = [
        {
            "fire": dict.fromkeys(_TIERS, s),
            "ask": dict.fromkeys(_TIERS, s / 4),
            "keep": dict.fromkeys(_TIERS, s / 20),
        }
        for s in (0.2, 0.35, 0.5, 0.65, 0.8)
    ]
    target = TARGET_RAISE["emergency"]
    steps = [r for r in (0.97, 0.98, 0.985) if r < target] + [target]
    best_bars = starts[0]
    for step in steps:
        results = [_descend(board, b, step) for b in (*starts, best_bars)]
        best_cost, best_bars = min(results, key=lambda r: r[0])
    return Thresholds(best_bars["fire"], best_bars["ask"], best_bars["keep"])


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Tally:
    answered: int = 0  # at the tier (emergency: exactly; others: that tier or above)
    raised: int = 0  # answered or asked at the tier or above
    total: int = 0
    alarms: int = 0  # benign: answered at any tier
    questions: int = 0  # benign: asked


def tally(examples: Sequence[Example], verdicts: Sequence[Any]) -> dict[tuple[str, str], Tally]:
    out: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for e, v in zip(examples, verdicts, strict=True):
        for lang in (e.lang, "all"):
            t = out[(lang, e.tier)]
            t.total += 1
            if e.tier == "none":
                if v.tier != "none":
                    t.alarms += 1
                elif v.confirm is not None:
                    t.questions += 1
                continue
            r = RANK[e.tier]
            answered = RANK[v.tier] >= r if e.tier != "emergency" else v.tier == "emergency"
            asked = v.confirm is not None and RANK[flag_tier(v.confirm)] >= r
            t.answered += answered
            t.raised += answered or asked or RANK[v.tier] >= r
    return out


def summary(tallies: Mapping[tuple[str, str], Tally]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (lang, tier), t in sorted(tallies.items()):
        if not t.total:
            continue
        if tier == "none":
            out[f"{lang}/none"] = {
                "n": t.total,
                "false_alarm": round((t.alarms + 0.5 * t.questions) / t.total, 4),
                "answered": round(t.alarms / t.total, 4),
                "asked": round(t.questions / t.total, 4),
            }
        else:
            out[f"{lang}/{tier}"] = {
                "n": t.total,
                "answered": round(t.answered / t.total, 4),
                "raised": round(t.raised / t.total, 4),
            }
    return out


def print_summary(title: str, figures: Mapping[str, Mapping[str, float]]) -> None:
    print(title)
    for key, row in figures.items():
        cells = ", ".join(f"{k} {v:.1%}" if k != "n" else f"n={int(v)}" for k, v in row.items())
        print(f"  {key:<16} {cells}")


def oof_verdicts(examples: Sequence[Example], oof: OutOfFold, bars: Thresholds) -> list[Any]:
    return [
        decide(lexicon_reading(e.text), Scores(oof.stacked[i], oof.flags[i], False), bars)
        for i, e in enumerate(examples)
    ]


# --------------------------------------------------------------------------------------------
# Commands

PARAMS = {"c_tier": 4.0, "c_flag": 4.0, "emb_weight": 0.5}


def export(
    fitted: Fitted,
    stack_w: np.ndarray,
    stack_b: np.ndarray,
    bars: Thresholds,
    params: Mapping[str, float],
    digest: str,
    report: Mapping[str, Any],
    use_emb: bool,
    out: Path = WEIGHTS,
) -> None:
    from bot.encoder import E5_NAME

    out.mkdir(parents=True, exist_ok=True)
    inv_w = sorted(fitted.featurizer.word.index, key=fitted.featurizer.word.index.__getitem__)
    inv_c = sorted(fitted.featurizer.char.index, key=fitted.featurizer.char.index.__getitem__)
    meta = {
        "about": "WalkWell red-flag layer; produced by `python -m training.redflags retrain`",
        "flags": list(FLAGS),
        "stack_features": list(STACK_FEATURES),
        "encoder": E5_NAME if use_emb else None,
        "embedding_weight": params["emb_weight"],
        "params": dict(params),
        "bars": {"fire": dict(bars.fire), "ask": dict(bars.ask), "keep": dict(bars.keep)},
        "bank_sha256": digest,
        "cross_validation": report,
        "word_terms": inv_w,
        "char_terms": inv_c,
    }
    staged = out / "model.json.tmp"
    staged.write_text(json.dumps(meta, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    arrays = {
        "word_idf": fitted.featurizer.word.idf.astype(np.float32),
        "char_idf": fitted.featurizer.char.idf.astype(np.float32),
        "tier_w_sparse": fitted.tier.w_sparse.astype(np.float16),
        "tier_w_emb": (fitted.tier.w_emb if fitted.tier.w_emb is not None else np.zeros(0)).astype(
            np.float32
        ),
        "tier_b": fitted.tier.bias,
        "flags_w_sparse": fitted.flags.w_sparse.astype(np.float16),
        "flags_w_emb": (
            fitted.flags.w_emb if fitted.flags.w_emb is not None else np.zeros(0)
        ).astype(np.float32),
        "flags_b": fitted.flags.bias,
        "stack_w": stack_w.astype(np.float64),
        "stack_b": stack_b.astype(np.float64),
    }
    with (out / "weights.npz.tmp").open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    # replaced together at the end: a bot or test loading them never reads half a file
    (out / "weights.npz.tmp").replace(out / "weights.npz")
    staged.replace(out / "model.json")
    (out / "__init__.py").touch()


def train_all(cv: bool = True, out: Path = WEIGHTS, use_emb: bool = True) -> dict[str, Any]:
    examples = load_bank()
    cache = load_embeddings()
    if use_emb:
        missing = [e for e in examples if e.key not in cache]
        if missing:
            raise SystemExit(f"{len(missing)} bank messages have no cached embedding: run `embed`")
    params = PARAMS
    y = np.array([RANK[e.tier] for e in examples])
    digest = bank_digest(examples)
    print(
        f"bank: {len(examples)} messages, {len({e.author for e in examples})} authors",
        file=sys.stderr,
    )
    report: dict[str, Any] = {}
    oof = out_of_fold(examples, cache, params, use_emb)
    OOF_CACHE.parent.mkdir(exist_ok=True)
    np.savez(OOF_CACHE, stack_x=oof.stack_x, stacked=oof.stacked, flags=oof.flags, y=y)
    # The stacker and the bars learn from the independent authors only: on the team's own
    # corpus the lexicon is right by construction, which would teach the stacker to trust it.
    fresh = [i for i, e in enumerate(examples) if e.author not in NOT_INDEPENDENT]
    bars = choose_bars([examples[i] for i in fresh], _take(oof, fresh))
    if cv:
        sub = [examples[i] for i in fresh]
        report["lexicon_alone"] = summary(tally(sub, [lexicon_reading(e.text) for e in sub]))
        report["layer"] = summary(
            tally(sub, [oof_verdicts([examples[i]], _slice(oof, i), bars)[0] for i in fresh])
        )
        by_author = {}
        for author in sorted({e.author for e in examples}):
            idx = [i for i, e in enumerate(examples) if e.author == author]
            sub = [examples[i] for i in idx]
            verdicts = [oof_verdicts([examples[i]], _slice(oof, i), bars)[0] for i in idx]
            by_author[author] = summary(tally(sub, verdicts))
        report["by_author"] = by_author
    emb = np.stack([cache[e.key] for e in examples]).astype(np.float32) if use_emb else None
    fitted = fit_layer(examples, emb, params["c_tier"], params["c_flag"], params["emb_weight"])
    stacking = [i for i, e in enumerate(examples) if e.author != TEAM]
    stack_w, stack_b = fit_stacker(oof.stack_x[stacking], y[stacking])
    export(fitted, stack_w, stack_b, bars, params, digest, report, use_emb, out)
    return report


def _take(oof: OutOfFold, rows: Sequence[int]) -> OutOfFold:
    return OutOfFold(oof.stack_x[rows], oof.stacked[rows], oof.flags[rows])


def _slice(oof: OutOfFold, i: int) -> OutOfFold:
    return OutOfFold(oof.stack_x[i : i + 1], oof.stacked[i : i + 1], oof.flags[i : i + 1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.redflags")
    parser.add_argument("command", choices=("embed", "retrain", "report", "blind"))
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "embed":
        examples = load_bank()
        embed(all_texts(examples), load_embeddings())
        return 0
    if args.command == "retrain":
        report = train_all(use_emb=not args.no_embeddings)
        for name in ("lexicon_alone", "layer"):
            print_summary(f"cross-validation by author, {name}:", report[name])
        return 0
    if args.command == "report":
        meta = json.loads((WEIGHTS / "model.json").read_text(encoding="utf-8"))
        for name in ("lexicon_alone", "layer"):
            print_summary(f"cross-validation by author, {name}:", meta["cross_validation"][name])
        return 0
    from bot.detector import Detector

    blind = read_jsonl(BLIND, "blind")
    detector = Detector.load_sync()
    verdicts = [detector.assess_sync(e.text, ("en", "de")) for e in blind]
    print_summary("sealed blind set:", summary(tally(blind, verdicts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
