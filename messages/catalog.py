"""Load and validate WalkWell's user-facing texts into a frozen, read-only catalogue.

Every ``messages/<lang>/*.toml`` file is read (the ``lexicon/`` folder and files directly in
``messages/`` are not user texts and are skipped). Nested tables flatten to dotted keys that
start with the file stem, so ``[start] welcome = "..."`` in ``ui.toml`` is ``ui.start.welcome``.
``posture.toml`` and ``stretches.toml`` also hold structured ``[[cue]]`` / ``[[stretch]]`` items.
See ``messages/README.md`` for the full file format.
"""

from __future__ import annotations

import html
import re
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePath
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
SOURCED_FILES = frozenset({"posture", "stretches", "reminders", "redflags"})
SEED_PATTERN = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")
# Guideline tags from spec section 8.2.
GUIDELINE_TAGS = frozenset(
    re.split(
        r"\s+",
        "NHS-BP NHS-SCI CES-TRUSTS NWCH NT-HSC GIRFT SBNS-BASS HSSIB NG59 CKS-RF MSCC NG12 AXSPA "
        "LSS AAA SEPSIS EX-NHS DCB0129 MHRA IFOMPT VERHAGEN INFECT FRACTURE ROS WALKBACK BUFFEY "
        "MAYO BIRDDOG DEADBUG PAIN-TL",
    )
)
CUE_TAGS = frozenset({"stenosis_only", "not_stenosis", "brisk"})
STRETCH_TAGS = frozenset(
    {
        "floor",
        "core",
        "extension",
        "flexion",
        "rotation",
        "standing",
        "stenosis_friendly",
        "stenosis_only",
        "osteoporosis_caution",
    }
)
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_ATTRS = {
    "a": re.compile(r'\s+href="[^"<>]+"'),
    "pre": re.compile(r""),
    "code": re.compile(r'(?:\s+class="language-[a-z0-9+#-]+")?'),
    "blockquote": re.compile(r"(?:\s+expandable)?"),
}
_LANG_DIR = re.compile(r"[a-z]{2,3}")
_SKIP_DIRS = frozenset({"lexicon"})

# Realistic values used to check the length of every text after its placeholders are filled.
SAMPLE_VALUES: Mapping[str, str] = {
    "summary": (
        "Time zone: America/Argentina/Buenos_Aires (07:30 now)\n"
        "Morning walk: 07:30 (every day)\nEvening walk: 19:00 (Mon, Tue, Wed, Thu, Fri)\n"
        "After meals: 08:00, 13:00, 19:00 + 20 min\nQuiet hours: 22:00-07:00\n"
        "Paused until: Sunday 14 September"
    ),
    "zone": "America/Argentina/Buenos_Aires",
    "local_time": "07:30",
    "text": "at half past seven in the morning please, or maybe eight",
    "morning": "07:30",
    "evening": "19:00",
    "next": "tomorrow at 07:30",
    "when": "tomorrow at 07:30",
    "label": "Morning walk",
    "time": "07:30",
    "days": "Mon, Tue, Wed, Thu, Fri",
    "delay": "20",
    "start": "22:00",
    "end": "07:00",
    "date": "Sunday 14 September",
    "name": "Reclined hamstring stretch",
    "times": "08:00, 13:00, 19:00",
    "cue": "<b>Eyes up.</b> Look ahead along your path, not down at your feet.",
    "minutes": "30",
    "today_total": "45",
    "target": "32",
    "score": "7",
    "streak": "12",
    "week_minutes": "150",
    "week_walks": "7",
    "emergency_number": "112 (or your local emergency number)",
    "urgent_number": "111",
    "crisis_line": "116 123",
    "clinician_name": "your physio at Example Clinic",
    "contact_name": "Sam",
    "interval": "5",
    "rounds": "6",
}
_DEFAULT_SAMPLE = "x" * 60


class Html(str):
    """A string that is already safe Telegram HTML; the catalogue does not escape it."""

    __slots__ = ()


class ContentError(Exception):
    """A content file is broken; the message names the file and the item or key."""


@dataclass(frozen=True)
class PostureCue:
    """One short walking-posture cue; ``text`` is Telegram HTML (an ``Html`` value)."""

    id: str
    text: str
    source: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Stretch:
    """One stretch or exercise; every text field is Telegram HTML (an ``Html`` value)."""

    id: str
    name: str
    steps: tuple[str, ...]
    dose: str
    suits: str
    avoid_if: str
    picture: str | None
    source: str
    tags: frozenset[str]


@dataclass(frozen=True)
class _Entry:
    value: str | tuple[str, ...]
    source: str | None
    placeholders: frozenset[str]
    per_variant: tuple[frozenset[str], ...]


class _Formatter(string.Formatter):
    """str.format plus plural forms: ``{n:# walk|# walks}`` gives "1 walk" or "3 walks"."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            return (one if str(value).strip() == "1" else other).replace("#", str(value))
        return str(super().format_field(value, format_spec))


_FORMAT = _Formatter()
_PLURAL_SPEC = re.compile(r"[^{}|#]*#[^{}|#]*\|[^{}|#]*#[^{}|#]*")


def escape(value: object) -> str:
    """Escape a value for Telegram HTML unless it is already ``Html``."""
    if isinstance(value, Html):
        return str(value)
    return html.escape(str(value), quote=False).replace('"', "&quot;")


@dataclass(frozen=True, eq=False)
class Catalog:
    """All texts of all languages, validated; look-ups never touch the disk."""

    languages: tuple[str, ...]
    default_language: str
    _entries: Mapping[str, Mapping[str, _Entry]] = field(repr=False)
    _cues: Mapping[str, tuple[PostureCue, ...]] = field(repr=False)
    _stretches: Mapping[str, tuple[Stretch, ...]] = field(repr=False)

    def _lang(self, lang: str) -> str:
        return lang if lang in self._entries else self.default_language

    def _entry(self, lang: str, key: str) -> _Entry:
        try:
            return self._entries[self._lang(lang)][key]
        except KeyError:
            raise KeyError(f"no message {key!r} in language {self._lang(lang)!r}") from None

    def text(self, lang: str, key: str, /, **params: object) -> Html:
        """Render the text ``key`` in ``lang`` (default language if unknown), escaping params."""
        value = self._entry(lang, key).value
        if isinstance(value, tuple):
            raise TypeError(f"{key!r} is a list of variants; use variants() and render()")
        return self.render(value, **params)

    def variants(self, lang: str, key: str) -> tuple[str, ...]:
        """Return the raw templates of a variant list (a single text gives a 1-tuple)."""
        value = self._entry(lang, key).value
        return value if isinstance(value, tuple) else (value,)

    def render(self, template: str, /, **params: object) -> Html:
        """Fill one raw template with ``params``, HTML-escaping every value that is not Html."""
        return Html(
            _FORMAT.format(template, **{name: escape(value) for name, value in params.items()})
        )

    def posture_cues(self, lang: str) -> tuple[PostureCue, ...]:
        """Return every posture cue of ``lang`` in file order."""
        return self._cues[self._lang(lang)]

    def stretches(self, lang: str) -> tuple[Stretch, ...]:
        """Return every stretch of ``lang`` in file order."""
        return self._stretches[self._lang(lang)]

    def keys(self, lang: str) -> frozenset[str]:
        """Return every text and variant key of ``lang``."""
        return frozenset(self._entries[self._lang(lang)])

    def placeholders(self, lang: str, key: str) -> frozenset[str]:
        """Return the placeholder names used by ``key`` (the union over its variants)."""
        return self._entry(lang, key).placeholders

    def source(self, lang: str, key: str) -> str | None:
        """Return the source tag(s) of ``key``, or None where none is given."""
        return self._entry(lang, key).source


def normalise_language(code: str | None, available: Iterable[str], default: str = "en") -> str:
    """Map a Telegram language code such as ``de-AT`` to an available language or ``default``."""
    if not code:
        return default
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in set(available) else default


def check_html(text: str) -> None:
    """Raise ValueError if ``text`` has tags Telegram rejects, bad entities or unbalanced tags."""
    stack: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        _check_plain(text[pos : match.start()])
        pos = match.end()
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if name not in ALLOWED_TAGS:
            raise ValueError(f"tag <{name}> is not allowed")
        if closing:
            if attrs.strip():
                raise ValueError(f"closing tag </{name}> has attributes")
            if not stack or stack[-1] != name:
                raise ValueError(f"unbalanced </{name}>")
            stack.pop()
            continue
        pattern = _ATTRS.get(name)
        if name == "a" and not attrs.strip():
            raise ValueError("<a> needs an href")
        if attrs.strip() and (pattern is None or not pattern.fullmatch(attrs.rstrip())):
            raise ValueError(f"attributes {attrs.strip()!r} not allowed on <{name}>")
        stack.append(name)
    _check_plain(text[pos:])
    if stack:
        raise ValueError(f"unclosed <{stack[-1]}>")


def _check_plain(chunk: str) -> None:
    if "<" in chunk or ">" in chunk:
        raise ValueError(f"unescaped < or > in {chunk.strip()[:40]!r}")
    stripped = _ENTITY.sub("", chunk)
    if "&" in stripped:
        raise ValueError(f"unescaped & in {chunk.strip()[:40]!r}")


def _placeholders(template: str) -> tuple[str, ...]:
    """Return the placeholder names of a template; ValueError if it is not a plain template."""
    if "{{" in template or "}}" in template:
        raise ValueError("literal braces are not allowed")
    names: list[str] = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion or (spec and not _PLURAL_SPEC.fullmatch(spec)):
            raise ValueError(
                f"placeholder {{{name}}} must be a plain {{name}} or {{name:# one|# others}}"
            )
        names.append(name)
    return tuple(names)


def _check_source(source: object, where: str) -> str:
    if not isinstance(source, str) or not source.strip():
        raise ContentError(f"{where}: missing source")
    for part in re.split(r"[,;]\s*|\s+", source.strip()):
        if (
            part
            and part != "own"
            and part not in GUIDELINE_TAGS
            and not SEED_PATTERN.fullmatch(part)
        ):
            raise ContentError(f"{where}: unknown source {part!r}")
    return source.strip()


def _check_template(
    template: object, where: str, limit: int = MAX_TEXT
) -> tuple[str, tuple[str, ...]]:
    """Validate one text template; return it stripped together with its placeholder names."""
    if not isinstance(template, str) or not template.strip():
        raise ContentError(f"{where}: expected a non-empty string")
    text = template.strip()
    try:
        names = _placeholders(text)
        check_html(text)
    except ValueError as exc:
        raise ContentError(f"{where}: {exc}") from None
    filled = _FORMAT.format(
        text, **{n: escape(SAMPLE_VALUES.get(n, _DEFAULT_SAMPLE)) for n in names}
    )
    if len(filled) > limit:
        raise ContentError(f"{where}: {len(filled)} characters after filling, limit {limit}")
    return text, names


def _plain_field(value: object, where: str) -> Html:
    text, names = _check_template(value, where, limit=1000)
    if names:
        raise ContentError(f"{where}: placeholders are not allowed here")
    return Html(text)


def _leaf(value: object, source: object, where: str, key: str, need_source: bool) -> _Entry:
    limit = MAX_CAPTION if key.rsplit(".", 1)[-1] == "caption" else MAX_TEXT
    src = _check_source(source, where) if need_source or source is not None else None
    if isinstance(value, list):
        if not value:
            raise ContentError(f"{where}: empty variant list")
        checked = [_check_template(v, f"{where}[{i}]", limit) for i, v in enumerate(value)]
        per_variant = tuple(frozenset(names) for _t, names in checked)
        return _Entry(
            tuple(t for t, _n in checked), src, frozenset().union(*per_variant), per_variant
        )
    text, names = _check_template(value, where, limit)
    return _Entry(text, src, frozenset(names), (frozenset(names),))


def _flatten(
    table: Mapping[str, Any],
    prefix: str,
    inherited: object,
    file: str,
    need_source: bool,
    out: dict[str, _Entry],
) -> None:
    source = table.get("source", inherited)
    for name, value in table.items():
        key = f"{prefix}.{name}"
        where = f"{file}: {key}"
        if name == "source":
            if not isinstance(value, str):
                raise ContentError(f"{where}: source must be a string")
            continue
        if isinstance(value, dict):
            keys = set(value)
            if keys in ({"text", "source"}, {"variants", "source"}):
                leaf = value.get("text", value.get("variants"))
                out[key] = _leaf(leaf, value["source"], where, key, need_source)
            else:
                _flatten(value, key, source, file, need_source, out)
        elif isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            out[key] = _leaf(value, source, where, key, need_source)
        else:
            raise ContentError(f"{where}: expected a string, a list of strings or a table")


def _tags(value: object, allowed: frozenset[str], where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ContentError(f"{where}: tags must be a list of strings")
    unknown = set(value) - allowed
    if unknown:
        raise ContentError(f"{where}: unknown tags {sorted(unknown)}")
    return frozenset(value)


def _require(item: Mapping[str, Any], names: Iterable[str], where: str) -> None:
    missing = [n for n in names if n not in item]
    if missing:
        raise ContentError(f"{where}: missing {', '.join(missing)}")


def _cue(item: object, file: str, index: int) -> PostureCue:
    where = f"{file}: cue #{index + 1}"
    if not isinstance(item, dict):
        raise ContentError(f"{where}: expected a table")
    if isinstance(item.get("id"), str):
        where = f"{file}: cue {item['id']}"
    _require(item, ("id", "text", "source"), where)
    extra = set(item) - {"id", "text", "source", "tags"}
    if extra:
        raise ContentError(f"{where}: unexpected fields {sorted(extra)}")
    if not re.fullmatch(r"P\d{2}", str(item["id"])):
        raise ContentError(f"{where}: id must look like P01")
    return PostureCue(
        id=item["id"],
        text=_plain_field(item["text"], f"{where}.text"),
        source=_check_source(item["source"], where),
        tags=_tags(item.get("tags"), CUE_TAGS, f"{where}.tags"),
    )


_STRETCH_FIELDS = ("id", "name", "steps", "dose", "suits", "avoid_if", "source")


def _stretch(item: object, file: str, index: int) -> Stretch:
    where = f"{file}: stretch #{index + 1}"
    if not isinstance(item, dict):
        raise ContentError(f"{where}: expected a table")
    if isinstance(item.get("id"), str):
        where = f"{file}: stretch {item['id']}"
    _require(item, _STRETCH_FIELDS, where)
    extra = set(item) - {*_STRETCH_FIELDS, "picture", "tags"}
    if extra:
        raise ContentError(f"{where}: unexpected fields {sorted(extra)}")
    if not re.fullmatch(r"X-\d{2}", str(item["id"])):
        raise ContentError(f"{where}: id must look like X-01")
    steps = item["steps"]
    if not isinstance(steps, list) or not 3 <= len(steps) <= 6:
        raise ContentError(f"{where}.steps: expected 3 to 6 steps")
    picture = item.get("picture")
    return Stretch(
        id=item["id"],
        name=_plain_field(item["name"], f"{where}.name"),
        steps=tuple(_plain_field(s, f"{where}.steps[{i}]") for i, s in enumerate(steps)),
        dose=_plain_field(item["dose"], f"{where}.dose"),
        suits=_plain_field(item["suits"], f"{where}.suits"),
        avoid_if=_plain_field(item["avoid_if"], f"{where}.avoid_if"),
        picture=None if picture is None else _plain_field(picture, f"{where}.picture"),
        source=_check_source(item["source"], where),
        tags=_tags(item.get("tags"), STRETCH_TAGS, f"{where}.tags"),
    )


def _unique(ids: list[str], what: str, file: str) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ContentError(f"{file}: duplicate {what} id {item_id}")
        seen.add(item_id)


@dataclass
class _Language:
    entries: dict[str, _Entry] = field(default_factory=dict)
    cues: list[PostureCue] = field(default_factory=list)
    stretches: list[Stretch] = field(default_factory=list)


def _table_array(value: object, name: str, label: str) -> list[object]:
    if not isinstance(value, list):
        raise ContentError(f"{label}: {name} must be an array of tables ([[{name}]])")
    return value


def _load_file(path: Traversable, label: str, lang: _Language) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ContentError(f"{label}: invalid TOML: {exc}") from None
    stem = PurePath(path.name).stem
    if stem == "posture" and "cue" in data:
        cues = [
            _cue(item, label, i)
            for i, item in enumerate(_table_array(data.pop("cue"), "cue", label))
        ]
        _unique([c.id for c in cues], "cue", label)
        lang.cues.extend(cues)
    if stem == "stretches" and "stretch" in data:
        items = _table_array(data.pop("stretch"), "stretch", label)
        stretches = [_stretch(item, label, i) for i, item in enumerate(items)]
        _unique([s.id for s in stretches], "stretch", label)
        lang.stretches.extend(stretches)
    _flatten(data, stem, None, label, stem in SOURCED_FILES, lang.entries)


def _compare(name: str, base: _Language, other: _Language, default: str) -> None:
    where = f"{name}/ versus {default}/"
    missing = set(base.entries) - set(other.entries)
    extra = set(other.entries) - set(base.entries)
    if missing or extra:
        raise ContentError(
            f"{where}: keys differ; missing {sorted(missing)[:10]}, extra {sorted(extra)[:10]}"
        )
    for key, entry in base.entries.items():
        theirs = other.entries[key]
        if len(entry.per_variant) != len(theirs.per_variant):
            raise ContentError(f"{where}: {key} has a different number of variants")
        if entry.per_variant != theirs.per_variant:
            raise ContentError(f"{where}: {key} has different placeholders")
    pairs: list[tuple[str, Sequence[PostureCue | Stretch], Sequence[PostureCue | Stretch]]] = [
        ("posture cue", base.cues, other.cues),
        ("stretch", base.stretches, other.stretches),
    ]
    for what, mine, yours in pairs:
        if [i.id for i in mine] != [i.id for i in yours]:
            raise ContentError(f"{where}: {what} ids differ")
        for a, b in zip(mine, yours, strict=True):
            if a.tags != b.tags:
                raise ContentError(f"{where}: {what} {a.id} has different tags")


def load_catalog(root: Path | Traversable | None = None) -> Catalog:
    """Load and validate every language folder under ``root`` (default: this package's data,
    read through importlib.resources so an installed wheel works as a checkout does)."""
    root = resources.files("messages") if root is None else root
    default = "en"
    languages: dict[str, _Language] = {}
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        if folder.name in _SKIP_DIRS or not _LANG_DIR.fullmatch(folder.name):
            continue
        files = sorted(
            (p for p in folder.iterdir() if p.name.endswith(".toml") and p.is_file()),
            key=lambda p: p.name,
        )
        if not files:
            continue
        lang = _Language()
        for path in files:
            _load_file(path, f"{folder.name}/{path.name}", lang)
        languages[folder.name] = lang
    if default not in languages:
        raise ContentError(f"{root}: no {default}/ folder with texts")
    base = languages[default]
    for name, lang in languages.items():
        if name != default:
            _compare(name, base, lang, default)
    order = (default, *sorted(n for n in languages if n != default))
    return Catalog(
        languages=order,
        default_language=default,
        _entries={n: dict(languages[n].entries) for n in order},
        _cues={n: tuple(languages[n].cues) for n in order},
        _stretches={n: tuple(languages[n].stretches) for n in order},
    )
