"""Pure red-flag triage: ``assess(text, lang)`` finds red-flag symptoms in a free-text message.

The pipeline follows spec section 5.2:

1. **Normalise**: NFKC, casefold, strip accents (German also folds ae/oe/ue, so "Füße",
   "Fuesse" and "Fusse" match), map emoji, mark temperatures (>= 38 C / 100.4 F becomes the
   token ``hightemp``), drop apostrophes ("can't" -> "cant"), collapse stretched letters and
   apply the lexicon's typo and variant table.
2. **Split into clauses** at ". ; ! ?" and at words such as "but", "however", "and now".
3. **Find concepts** (phrase lists in ``messages/lexicon/<lang>.toml``) in each clause.
4. **Negation with clause scope**: a cue before a concept ("no", "never", "without", ...)
   negates it up to the end of the clause, or up to a comma or "and" that starts a new
   statement ("..., my legs ..."); a cue after it ("fine", "normal") negates only its own
   comma segment. A cue inside a matched symptom phrase ("can't pee", "no feeling") is part of
   the symptom, not a negation.
5. **Combine** concepts into flags with the lexicon's rules (``all`` concepts present,
   ``none`` of the blockers); ``ask`` rules and uncertain context (past, resolved, hedged or
   question clauses) give a confirming question instead of a tier.

English always runs as well when another language is asked for (people mix languages).
The module reads only the lexicon files, compiles them once and never touches the clock.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Literal

Tier = Literal["emergency", "urgent", "soon", "none"]

FLAGS: tuple[str, ...] = (
    *(f"E{i}" for i in range(1, 10)),
    *(f"U{i}" for i in range(1, 10)),
    *(f"S{i}" for i in range(1, 8)),
)

LEXICON_DIR = resources.files("messages") / "lexicon"  # package data, also in the wheel

_TIER_BY_PREFIX: Mapping[str, Tier] = {"E": "emergency", "U": "urgent", "S": "soon"}
_RANK: Mapping[str, int] = {"none": 0, "soon": 1, "urgent": 2, "emergency": 3}
_ORDER: Mapping[str, int] = {flag: index for index, flag in enumerate(FLAGS)}
_MODIFIERS = (
    "new",
    "hedge",
    "past",
    "resolved",
    "question",
    "third_party",
    "first_person",
    "self_fine",
)
_LANG_CODE = re.compile(r"[a-z]{2,3}")
_MACRO = re.compile(r"<([a-z][a-z0-9_]*)>")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_NOISE = re.compile(r"[^\w\s.,;!?&/]|_")
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_PRONOUN_S = re.compile(r"\b(it|that|he|she|what|there|who|let|where|here|how)'s\b")
_POSSESSIVE_S = re.compile(r"(?<=[a-z])'s\b")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_TEMPERATURE = re.compile(
    r"(?<![\d.,])(\d{2,3}(?:[.,]\d{1,2})?)\s*"
    r"(°\s*[cf]?|degrees?\s*[cf]?|deg\s*[cf]?|grad(?:\s*c)?|c(?![a-z])|f(?![a-z]))?"
)
_UNIT_AFTER = re.compile(
    r"\s*(?:kg|kgs|kilo|kilos|lbs?|pounds?|st|stone|km|k|miles?|m|metres?|meters?|min|mins|minutes?|"
    r"minuten|hours?|h|std|stunden?|jahre?|years?|yrs|%|euro|eur|steps|schritte|cm|mm|x)(?![a-z])"
)
_RESOLVED_REACH = 40  # characters between a "resolved" word and the symptom it refers to
_MIN_CLAUSE_WORDS = 3  # a shorter fragment joins its neighbour, unless it is a bare answer
_WORD_LEFT = r"(?<![a-z0-9])"
_WORD_RIGHT = r"(?![a-z0-9])"


def flag_tier(flag: str) -> Tier:
    """Return the tier of a flag id such as "E1" (ValueError for an unknown id)."""
    if flag not in _ORDER:
        raise ValueError(f"unknown red flag {flag!r}")
    return _TIER_BY_PREFIX[flag[0]]


@dataclass(frozen=True)
class Assessment:
    """The outcome of triaging one message."""

    tier: Tier
    flags: tuple[str, ...]
    confirm: str | None
    crisis: bool
    third_party: bool
    question: bool

    @property
    def is_red_flag(self) -> bool:
        """True when the message needs a red-flag or crisis reply."""
        return self.tier != "none" or self.crisis


NO_FLAGS = Assessment("none", (), None, False, False, False)


# --------------------------------------------------------------------------------------------
# Compiled lexicon


@dataclass(frozen=True)
class _Rule:
    all: tuple[str, ...]
    none: tuple[str, ...]
    message: bool  # True: concepts may come from different clauses


@dataclass(frozen=True)
class _Lexicon:
    lang: str
    fold_umlauts: bool
    emoji: Mapping[str, str]
    emoji_re: re.Pattern[str] | None
    words: Mapping[str, str]
    words_re: re.Pattern[str] | None
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    clause_re: re.Pattern[str]
    fixed_re: re.Pattern[str]  # fixed expressions a clause break never cuts ("aber sowas von")
    neg_before: re.Pattern[str]
    neg_after: re.Pattern[str]
    segment_re: re.Pattern[str]  # comma / "and" that may end a negation scope
    restart_re: re.Pattern[str]  # words after such a boundary that start a new statement
    temperature_words: re.Pattern[str]
    weather_words: re.Pattern[str]
    crisis: re.Pattern[str]
    modifiers: Mapping[str, re.Pattern[str]]
    concepts: Mapping[str, re.Pattern[str]]
    rules: Mapping[str, tuple[_Rule, ...]]
    ask: Mapping[str, tuple[_Rule, ...]]
    history: frozenset[str]
    topics: tuple[tuple[str, re.Pattern[str]], ...]


def _fold(text: str, umlauts: bool) -> str:
    """Lowercase, NFKC-normalise and strip accents; German also folds ae/oe/ue to a/o/u."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    if not text.isascii():
        text = "".join(
            ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)
        )
        text = unicodedata.normalize("NFC", text)
    if umlauts:
        text = text.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return text


def _alternation(parts: Iterable[str]) -> str:
    return "|".join(f"(?:{part})" for part in parts)


_GAP_SPACE = re.compile(r"(?<=[a-z0-9)>]) (?=[a-z0-9(<])")


def _with_gaps(pattern: str, gap: str) -> str:
    """Let a phrase take inserted words between its top-level words ("cant really pee").

    Patterns with lookarounds or character classes are left as they are (their spaces may be
    part of a condition); the gap itself never takes a negation word.
    """
    if not gap or "(?!" in pattern or "(?<" in pattern or "[" in pattern:
        return pattern
    return _GAP_SPACE.sub(lambda _m: f"<{gap}> ", pattern)


def _compile(
    patterns: Sequence[str],
    macros: Mapping[str, str],
    umlauts: bool,
    where: str,
    gap: str = "",
) -> re.Pattern[str]:
    """Compile a list of regex fragments into one whole-word alternation."""
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    expanded = []
    for pattern in patterns:
        text = _with_gaps(_fold(str(pattern), umlauts).replace("'", ""), gap)
        for _ in range(5):  # macros may use macros
            text = _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), text)
        unknown = _MACRO.search(text)
        if unknown:
            raise ValueError(f"{where}: unknown macro <{unknown.group(1)}>")
        expanded.append(text)
    try:
        return re.compile(f"{_WORD_LEFT}(?:{_alternation(expanded)}){_WORD_RIGHT}")
    except re.error as exc:
        raise ValueError(f"{where}: bad pattern: {exc}") from None


def _rules(table: Mapping[str, Any], known: set[str], where: str) -> dict[str, tuple[_Rule, ...]]:
    out: dict[str, tuple[_Rule, ...]] = {}
    for flag, items in table.items():
        if flag not in _ORDER:
            raise ValueError(f"{where}: unknown flag {flag}")
        rules = []
        for item in items:
            names = (*item["all"], *item.get("none", ()))
            missing = [n for n in names if n not in known]
            if missing:
                raise ValueError(f"{where}.{flag}: unknown concepts {missing}")
            rules.append(
                _Rule(
                    all=tuple(item["all"]),
                    none=tuple(item.get("none", ())),
                    message=item.get("scope", "clause") == "message",
                )
            )
        out[flag] = tuple(rules)
    return out


def _load(path: Traversable) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


@cache
def _lexicon(lang: str) -> _Lexicon | None:
    """Load and compile ``messages/lexicon/<lang>.toml`` once; None if there is none."""
    if not _LANG_CODE.fullmatch(lang):
        return None
    path = LEXICON_DIR / f"{lang}.toml"
    if not path.is_file():
        return None
    data = _load(path)
    base = _load(LEXICON_DIR / "en.toml") if lang != "en" else data
    umlauts = bool(data.get("fold_umlauts", False))
    macros = {
        name: f"(?:{_fold(value, umlauts).replace(chr(39), '')})"
        for name, value in data.get("macros", {}).items()
    }
    where = f"lexicon/{lang}.toml"

    def comp(items: Sequence[str], name: str) -> re.Pattern[str]:
        return _compile(items, macros, umlauts, f"{where}: {name}")

    norm = data.get("normalise", {})
    emoji = {key: f" {value} " for key, value in norm.get("emoji", {}).items()}
    emoji_re = (
        re.compile("|".join(re.escape(k) for k in sorted(emoji, key=len, reverse=True)))
        if emoji
        else None
    )
    words = {_fold(k, umlauts): _fold(v, umlauts) for k, v in norm.get("words", {}).items()}
    words_re = (
        re.compile(
            _WORD_LEFT
            + "("
            + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            + ")"
            + _WORD_RIGHT
        )
        if words
        else None
    )
    patterns = tuple(
        (re.compile(_fold(p, umlauts)), _fold(r, umlauts)) for p, r in norm.get("patterns", [])
    )
    neg = data["negation"]
    mods = data["modifiers"]
    breaks = [_fold(b, umlauts) for b in data["clauses"]["breaks"]]
    clause_re = re.compile(
        r"\s*(?:[;!?\n]+|\.(?!\d)|"
        + _WORD_LEFT
        + "(?:"
        + "|".join(breaks)
        + ")"
        + _WORD_RIGHT
        + r")\s*"
    )
    concept_table: Mapping[str, Sequence[str]] = data.get("concepts", {})
    gap = str(data.get("phrase_gap", ""))
    if gap and gap not in macros:
        raise ValueError(f"{where}: phrase_gap names no macro <{gap}>")
    concepts = {
        name: _compile(items, macros, umlauts, f"{where}: {name}", gap)
        for name, items in concept_table.items()
    }
    known = set(base.get("concepts", {})) | set(concepts) | {f"_{m}" for m in _MODIFIERS}
    rules_table = data.get("rules", base.get("rules", {}))
    ask_table = data.get("ask", base.get("ask", {}))
    topics_table: Mapping[str, Sequence[str]] = data.get("question_topics", {})
    return _Lexicon(
        lang=lang,
        fold_umlauts=umlauts,
        emoji=emoji,
        emoji_re=emoji_re,
        words=words,
        words_re=words_re,
        patterns=patterns,
        clause_re=clause_re,
        fixed_re=comp(data["clauses"].get("fixed", []), "clauses.fixed"),
        neg_before=comp(neg["before"], "negation.before"),
        neg_after=comp(neg["after"], "negation.after"),
        segment_re=re.compile(
            r",|" + _WORD_LEFT + "(?:" + "|".join(neg["joins"]) + ")" + _WORD_RIGHT
        ),
        restart_re=re.compile(r"\s*" + comp(neg["restart"], "negation.restart").pattern),
        temperature_words=comp(mods["temperature_words"], "temperature_words"),
        weather_words=comp(mods["weather_words"], "weather_words"),
        crisis=comp(mods["crisis"], "crisis"),
        modifiers={name: comp(mods.get(name, []), name) for name in _MODIFIERS},
        concepts=concepts,
        rules=_rules(rules_table, known, f"{where} rules"),
        ask=_rules(ask_table, known, f"{where} ask"),
        history=frozenset(data.get("history_flags", base.get("history_flags", []))),
        topics=tuple((flag, comp(items, f"topic {flag}")) for flag, items in topics_table.items()),
    )


# --------------------------------------------------------------------------------------------
# Normalisation and clause analysis


def _temperature(match: re.Match[str], text: str, lex: _Lexicon) -> str:
    """Replace a number that reads as a body temperature by hightemp / normaltemp."""
    value = float(match.group(1).replace(",", "."))
    unit = (match.group(2) or "").replace(" ", "")
    context = text[max(0, match.start() - 30) : match.start()]
    if not unit and not lex.temperature_words.search(context):
        # "ich habe 38,9": a bare number with one decimal in the body-temperature range
        after = text[match.end() : match.end() + 12]
        if not (re.search(r"[.,]\d$", match.group(1)) and 35 <= value <= 43) or _UNIT_AFTER.match(
            after
        ):
            return match.group(0)
    if lex.weather_words.search(text[max(0, match.start() - 40) : match.end() + 40]):
        return match.group(0)
    if unit.endswith("f") or (not unit.endswith("c") and 95 <= value <= 110):
        fever = value >= 100.4
    elif 34 <= value <= 44:
        fever = value >= 38
    else:
        return match.group(0)
    return " hightemp " if fever else " normaltemp "


def _stretch_repl(match: re.Match[str]) -> str:
    letter = match.group(1)
    return letter * 2 if letter in "eos" else letter


def normalise(text: str, lang: str = "en") -> str:
    """Return the normalised form of ``text`` that the lexicon of ``lang`` is matched on."""
    lex = _lexicon(lang) or _lexicon("en")
    if lex is None:
        raise FileNotFoundError(LEXICON_DIR / "en.toml")
    return _normalise(text, lex)


def _normalise(text: str, lex: _Lexicon) -> str:
    out = _fold(text, lex.fold_umlauts)
    if lex.emoji_re is not None and not out.isascii():
        out = lex.emoji_re.sub(lambda m: lex.emoji[m.group(0)], out)
    if any(ch.isdigit() for ch in out):
        out = _TEMPERATURE.sub(lambda m: _temperature(m, out, lex), out)
    if "'" in out:
        out = _POSSESSIVE_S.sub("", _PRONOUN_S.sub(r"\1s", out)).replace("'", "")
    out = out.replace("\n", " . ")
    out = _NOISE.sub(" ", out)
    out = _STRETCHED.sub(_stretch_repl, out)
    out = _SPACES.sub(" ", out)
    if lex.words_re is not None:
        out = lex.words_re.sub(lambda m: lex.words[m.group(1)], out)
    for pattern, replacement in lex.patterns:
        out = pattern.sub(replacement, out)
    return _SPACES.sub(" ", out).strip()


@dataclass
class _Clause:
    text: str
    positive: set[str] = field(default_factory=set)
    sure: bool = True  # no past / hedge / resolved / question context (or a "new" word)
    sure_history: bool = True  # the same, ignoring past and baseline words
    doubtful: set[str] = field(default_factory=set)  # found only after a hedge word
    question: bool = False
    third_party: bool = False
    resolved_only: bool = False


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _near(start: int, end: int, spans: Sequence[tuple[int, int]], reach: int) -> bool:
    """True if [start, end) lies within ``reach`` characters of one of ``spans``."""
    return any(s - reach < end and start < e + reach for s, e in spans)


def _inside(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """True if [start, end) lies inside a longer span (a hedge word that is part of a symptom)."""
    return any(s <= start and end <= e and e - s > end - start for s, e in spans)


def _analyse(
    text: str, lex: _Lexicon, candidates: Sequence[tuple[str, re.Pattern[str]]]
) -> _Clause:
    """Find the non-negated concepts and the context modifiers of one clause."""
    clause = _Clause(text)
    hits: list[tuple[str, int, int]] = []
    for name, pattern in candidates:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                hits.append((name, m.start(), m.end()))
    spans = [(s, e) for _n, s, e in hits]
    found: dict[str, list[tuple[int, int]]] = {}
    for name in _MODIFIERS:
        found[name] = [
            (m.start(), m.end())
            for m in lex.modifiers[name].finditer(text)
            if name not in ("hedge", "resolved") or not _inside(m.start(), m.end(), spans)
        ]
    # "resolved" words count only when they refer to a symptom: one near it in the clause
    # ("the numbness went away"), or alone in a clause that follows one (see _run)
    if hits:
        found["resolved"] = [
            (s, e) for s, e in found["resolved"] if _near(s, e, spans, _RESOLVED_REACH)
        ]
    shields = spans + found["new"] + found["hedge"]

    negated: list[tuple[int, int]] = []  # ranges in which a concept that starts there is negated
    for m in lex.neg_before.finditer(text):
        if _overlaps(m.start(), m.end(), shields):
            continue
        end = len(text)
        for b in lex.segment_re.finditer(text, m.end()):
            if lex.restart_re.match(text, b.end()):
                end = b.start()
                break
        negated.append((m.end(), end))
    for m in lex.neg_after.finditer(text):
        if _overlaps(m.start(), m.end(), shields):
            continue
        start = 0
        for b in lex.segment_re.finditer(text, 0, m.start()):
            start = b.end()
        negated.append((start, m.start()))

    # a hedge ("maybe", "not sure if") covers what follows it; at the very end, the whole clause
    hedged = [
        (0, len(text)) if not any(s >= e for _n, s, _e in hits) else (e, len(text))
        for _s, e in found["hedge"]
    ]
    sure_hit: set[str] = set()
    for name, start, _end in hits:
        if not any(s <= start < e for s, e in negated):
            clause.positive.add(name)
            if not any(s <= start < e for s, e in hedged):
                sure_hit.add(name)

    has = {name: bool(spans_) for name, spans_ in found.items()}
    for name in ("new", "past", "resolved", "hedge", "question"):
        if has[name]:
            clause.positive.add(f"_{name}")
    clause.question = has["question"]
    clause.doubtful = set() if has["new"] else clause.positive - sure_hit
    uncertain = has["resolved"] or has["question"]
    clause.sure = has["new"] or not (uncertain or has["past"])
    clause.sure_history = has["new"] or not uncertain
    clause.third_party = has["third_party"] and not has["first_person"]
    clause.resolved_only = has["resolved"] and not hits
    return clause


# --------------------------------------------------------------------------------------------
# Rule evaluation


@dataclass
class _Findings:
    certain: set[str] = field(default_factory=set)
    candidates: set[str] = field(default_factory=set)
    topics: list[str] = field(default_factory=list)
    crisis: bool = False
    dying: bool = False
    third_party: bool = False
    question: bool = False


def _match(
    rule: _Rule, flag: str, clauses: Sequence[_Clause], lex: _Lexicon
) -> tuple[bool, bool, list[int]]:
    """Return (matched, certain, contributing clause indexes) for one rule."""

    def is_sure(c: _Clause) -> bool:
        ok = c.sure_history if flag in lex.history else c.sure
        return ok and not any(n in c.doubtful for n in rule.all)

    if not rule.message:
        best: tuple[bool, bool, list[int]] = (False, False, [])
        for i, c in enumerate(clauses):
            if all(n in c.positive for n in rule.all) and not any(
                n in c.positive for n in rule.none
            ):
                if is_sure(c):
                    return True, True, [i]
                best = (True, False, [i])
        return best
    if any(n in c.positive for c in clauses for n in rule.none):
        return False, False, []
    used: list[int] = []
    certain = True
    for name in rule.all:
        holders = [i for i, c in enumerate(clauses) if name in c.positive]
        if not holders:
            return False, False, []
        used.extend(holders)
        certain = certain and any(is_sure(clauses[i]) for i in holders)
    # an explicit "new" word in the rule ("... suddenly back in both legs") makes it certain
    return True, certain or "_new" in rule.all, used


def _clauses(norm: str, lex: _Lexicon) -> list[str]:
    """Split at clause breaks, never inside a fixed expression ("aber sowas von"); a fragment
    of fewer than three words joins the clause before it, unless either holds a negation cue
    (a negation's scope never grows: "no leg problems. chest pain though" stays two clauses)."""
    fixed = [(m.start(), m.end()) for m in lex.fixed_re.finditer(norm)]
    parts: list[str] = []
    start = 0
    for m in lex.clause_re.finditer(norm):
        if m.end() == m.start() or _overlaps(m.start(), m.end(), fixed):
            continue
        parts.append(norm[start : m.start()])
        start = m.end()
    parts.append(norm[start:])

    def negates(part: str) -> bool:
        return bool(lex.neg_before.search(part) or lex.neg_after.search(part))

    merged: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        short = len(part.split()) < _MIN_CLAUSE_WORDS
        if merged and short and not negates(part) and not negates(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def _run(text: str, lex: _Lexicon, out: _Findings) -> None:
    norm = _normalise(text, lex)
    parts = _clauses(norm, lex)
    # one search per concept over the whole message; only the hits are re-scanned per clause
    candidates = [(n, pat) for n, pat in lex.concepts.items() if pat.search(norm)]
    clauses = [_analyse(p.strip(), lex, candidates) for p in parts]
    present = set().union(*(c.positive for c in clauses)) if clauses else set()
    for i, c in enumerate(clauses):
        if c.resolved_only and i > 0 and "_new" not in clauses[i - 1].positive:
            clauses[i - 1].sure = clauses[i - 1].sure_history = False
    contributing: set[int] = set()
    for flag, rules in lex.rules.items():
        for rule in rules:
            if not present.issuperset(rule.all):
                continue
            matched, certain, used = _match(rule, flag, clauses, lex)
            if matched:
                (out.certain if certain else out.candidates).add(flag)
                contributing.update(used)
    for flag, rules in lex.ask.items():
        for rule in rules:
            if not present.issuperset(rule.all):
                continue
            matched, _certain, used = _match(rule, flag, clauses, lex)
            if matched:
                out.candidates.add(flag)
                contributing.update(used)
    if any(lex.crisis.search(c.text) for c in clauses):
        out.crisis = True
        contributing.update(i for i, c in enumerate(clauses) if lex.crisis.search(c.text))
    if any("DYING" in c.positive for c in clauses):
        out.dying = True
    if any(clauses[i].third_party for i in contributing):
        out.third_party = True
        if any(lex.modifiers["self_fine"].search(c.text) for c in clauses):
            # someone else's symptom next to "I'm fine": ask, do not alarm
            out.candidates |= out.certain
            out.certain.clear()
    if any(c.question for c in clauses):
        asked = any(clauses[i].question for i in contributing)
        for flag, pattern in lex.topics:
            if any(c.question and pattern.search(c.text) for c in clauses):
                out.topics.append(flag)
                asked = True
        out.question = out.question or asked


def _key(flag: str) -> tuple[int, int]:
    return (-_RANK[flag_tier(flag)], _ORDER[flag])


def assess(text: str, lang: str = "en") -> Assessment:
    """Triage one free-text message; ``lang`` picks the lexicon (English always runs too)."""
    if not text or not text.strip():
        return NO_FLAGS
    findings = _Findings()
    languages = [lang, "en"] if lang != "en" else ["en"]
    for code in languages:
        lex = _lexicon(code)
        if lex is not None:
            _run(text, lex, findings)
    flags = tuple(sorted(findings.certain, key=_key))
    tier: Tier = flag_tier(flags[0]) if flags else "none"
    crisis = findings.crisis or (findings.dying and "E9" not in findings.certain)
    open_ = sorted(findings.candidates - findings.certain, key=_key)
    if findings.question and not open_:
        open_ = [findings.topics[0] if findings.topics else "E1"]
    confirm = next((f for f in open_ if _RANK[flag_tier(f)] > _RANK[tier]), None)
    return Assessment(
        tier=tier,
        flags=flags,
        confirm=confirm,
        crisis=crisis,
        third_party=findings.third_party and (bool(flags) or confirm is not None or crisis),
        question=findings.question,
    )
