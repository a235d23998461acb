"""Tests for messages/catalog.py against the real catalogue and small broken catalogues."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from messages.catalog import (
    SAMPLE_VALUES,
    Catalog,
    ContentError,
    Html,
    check_html,
    load_catalog,
    normalise_language,
)

MESSAGES = Path(__file__).resolve().parents[2] / "messages"
SOURCED_PREFIXES = ("posture.", "stretches.", "reminders.", "redflags.")
REMINDER_KINDS = (
    "morning",
    "evening",
    "breakfast",
    "lunch",
    "dinner",
    "snack",
    "ate",
    "snooze",
    "interval",
)
BUTTONS = [
    "consent_yes",
    "consent_no",
    "yes",
    "no",
    "accept",
    "edit",
    "cancel",
    "confirm_delete",
    "other",
    "back",
    "share_location",
    "effect_during",
    "effect_after",
    "effect_legs",
    "effect_none",
    "add_meals",
    "no_meals",
    "done",
    "snooze",
    "skip",
    "better",
    "same",
    "worse",
    "flare",
]

# Every ui.toml key the brief lists, with exactly the placeholders it must use.
UI_KEYS: dict[str, set[str]] = {
    "start.welcome": set(),
    "start.declined": set(),
    "start.resume": set(),
    "start.already": {"summary"},
    **{f"btn.{name}": set() for name in BUTTONS},
    "screen.intro": set(),
    "screen.all_clear": set(),
    "tz.ask": set(),
    "tz.confirm": {"zone", "local_time"},
    "tz.choose": set(),
    "tz.not_found": {"text"},
    "tz.set": {"zone", "local_time"},
    "profile.walk_effect": set(),
    "profile.minutes": set(),
    "profile.stenosis_note": set(),
    "plan.propose": {"morning", "evening"},
    "plan.meals_ask": set(),
    "plan.edit_help": set(),
    "plan.done": {"next"},
    "help.text": set(),
    "schedule.header": set(),
    "schedule.line": {"label", "time", "days"},
    "schedule.meal_line": {"label", "time", "delay"},
    "schedule.none": set(),
    "schedule.quiet": {"start", "end"},
    "schedule.paused_until": {"date"},
    "schedule.timezone": {"zone"},
    "schedule.next": {"when"},
    "schedule.set": {"label", "time", "days", "next"},
    "schedule.off": {"label"},
    "schedule.in_quiet": {"time"},
    **{
        f"kind.{k}": set()
        for k in ("morning", "evening", "breakfast", "lunch", "dinner", "ate", "snooze")
    },
    "days.every_day": set(),
    "days.weekdays": set(),
    "days.weekends": set(),
    **{f"weekday.{d}": set() for d in range(7)},
    "meals.set": {"times", "delay"},
    "meals.off": set(),
    "aftermeal.set": {"delay"},
    "ate.set": {"time"},
    "ate.none_today": set(),
    "ate.quiet": {"time"},
    "ate.held": set(),
    "plan.times_ask": set(),
    "schedule.stopped": set(),
    "schedule.held_line": {"label", "time"},
    "schedule.held": {"label", "count"},
    "limit.current": {"count"},
    "limit.set": {"count"},
    "err.limit": set(),
    "reminder.answered": set(),
    "err.use_buttons": set(),
    "schedule.merged_line": {"label", "time", "delay", "other"},
    "schedule.merged": {"label", "other"},
    "chosen.minutes": {"minutes"},
    "chosen.pain": {"score"},
    "schedule.current": {"label", "time", "days", "command"},
    "schedule.unset": {"label", "command"},
    "err.arg_too_long": {"command"},
    "schedule.next_none": set(),
    "reply.thanks": set(),
    "reply.no_change": set(),
    "reply.pain_offer": set(),
    "reply.later_nothing": set(),
    "err.walk_times": set(),
    "err.pain_typed": set(),
    "pause.set": {"date"},
    "pause.already": set(),
    "resume.done": set(),
    "resume.not_paused": set(),
    "quiet.set": {"start", "end"},
    "quiet.off": set(),
    "language.choose": set(),
    "language.set": set(),
    "posture.header": set(),
    "stretch.header": {"name"},
    "stretch.footer": set(),
    "stretch.rest_day": set(),
    "reminder.footer_cue": {"cue"},
    "reminder.snoozed": {"time"},
    "reminder.skipped": {"next"},
    "reminder.stale": set(),
    "walk.ask_minutes": set(),
    "walk.ask_minutes_other": set(),
    "walk.ask_pain": set(),
    "walk.ask_compare": set(),
    "walk.saved": {"minutes", "today_total", "target"},
    "walk.already_logged": set(),
    "walk.encourage": set(),
    "walk.hold": set(),
    "walk.step_back": {"target"},
    "walk.step_up": {"target"},
    "pain.saved": {"score"},
    "pain.flare_offer": set(),
    "flare.started": set(),
    "morning_check.ask": set(),
    "morning_check.thanks": set(),
    "progress.caption": set(),
    "progress.text": {"streak", "week_minutes", "week_walks", "target"},
    "progress.empty": set(),
    "progress.chart_minutes": set(),
    "progress.chart_pain": set(),
    "progress.chart_target": set(),
    "weekly.summary": {"week_minutes", "week_walks", "streak", "target", "emergency_number"},
    "export.caption": set(),
    "delete.confirm": set(),
    "delete.done": set(),
    "delete.cancelled": set(),
    "stop.done": set(),
    "err.time": {"text"},
    "err.weekdays": {"text"},
    **{
        f"err.{k}": set()
        for k in [
            "meals",
            "delay",
            "pause",
            "quiet",
            "log",
            "pain",
            "timezone",
            "minutes",
            "unknown_command",
            "group_chat",
            "too_long",
            "empty",
            "stale_button",
            "not_yours",
            "need_start",
            "edited",
            "forwarded",
        ]
    },
    "err.flood": {"seconds"},
    "err.generic": {"emergency_number"},
    "err.unsupported_media": {"emergency_number"},
}
HELP_COMMANDS = [
    "/morning",
    "/evening",
    "/meals",
    "/aftermeal",
    "/ate",
    "/schedule",
    "/limit",
    "/pause",
    "/resume",
    "/quiet",
    "/timezone",
    "/language",
    "/posture",
    "/stretch",
    "/log",
    "/pain",
    "/progress",
    "/symptoms",
    "/redflags",
    "/sos",
    "/export",
    "/delete",
    "/stop",
    "/help",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def every_template(catalog: Catalog) -> list[tuple[str, str, str]]:
    return [
        (lang, key, template)
        for lang in catalog.languages
        for key in sorted(catalog.keys(lang))
        for template in catalog.variants(lang, key)
    ]


def test_the_real_catalogue_has_english_first_and_german(catalog: Catalog) -> None:
    assert catalog.languages[0] == catalog.default_language == "en"
    assert "de" in catalog.languages


@pytest.mark.parametrize("lang", ["en", "de"])
def test_each_language_has_at_least_20_posture_cues(catalog: Catalog, lang: str) -> None:
    assert len(catalog.posture_cues(lang)) >= 20


@pytest.mark.parametrize("lang", ["en", "de"])
def test_each_language_has_at_least_12_stretches(catalog: Catalog, lang: str) -> None:
    assert len(catalog.stretches(lang)) >= 12


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_every_reminder_kind_has_at_least_5_variants(
    catalog: Catalog, lang: str, kind: str
) -> None:
    assert len(catalog.variants(lang, f"reminders.{kind}")) >= 5


@pytest.mark.parametrize("lang", ["en", "de"])
def test_interval_reminders_use_interval_and_rounds(catalog: Catalog, lang: str) -> None:
    for template in catalog.variants(lang, "reminders.interval"):
        assert {"{interval}", "{rounds}"} <= {
            p for p in ("{interval}", "{rounds}") if p in template
        }


@pytest.mark.parametrize("lang", ["en", "de"])
def test_walk_encourage_has_at_least_6_variants(catalog: Catalog, lang: str) -> None:
    assert len(catalog.variants(lang, "ui.walk.encourage")) >= 6


@pytest.mark.parametrize(("count", "expected"), [(0, "0 walks"), (1, "1 walk"), (12, "12 walks")])
def test_plural_forms_follow_the_count(catalog: Catalog, count: int, expected: str) -> None:
    assert catalog.render("{n:# walk|# walks}", n=count) == expected


def test_english_and_german_have_the_same_keys(catalog: Catalog) -> None:
    assert catalog.keys("en") == catalog.keys("de")


def test_english_and_german_use_the_same_placeholders_per_key(catalog: Catalog) -> None:
    differing = [
        key
        for key in catalog.keys("en")
        if catalog.placeholders("en", key) != catalog.placeholders("de", key)
    ]
    assert differing == []


def test_english_and_german_have_the_same_cue_and_stretch_ids(catalog: Catalog) -> None:
    assert [c.id for c in catalog.posture_cues("en")] == [c.id for c in catalog.posture_cues("de")]
    assert [s.id for s in catalog.stretches("en")] == [s.id for s in catalog.stretches("de")]


@pytest.mark.parametrize(("key", "expected"), sorted(UI_KEYS.items()))
def test_every_listed_ui_key_exists_with_its_placeholders(
    catalog: Catalog, key: str, expected: set[str]
) -> None:
    for lang in ("en", "de"):
        assert catalog.placeholders(lang, f"ui.{key}") == expected


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_text_renders_to_valid_html_within_telegram_limits(
    catalog: Catalog, lang: str
) -> None:
    for _lang, key, template in every_template(catalog):
        if _lang != lang:
            continue
        names = catalog.placeholders(lang, key)
        rendered = catalog.render(template, **{n: SAMPLE_VALUES.get(n, "x" * 60) for n in names})
        check_html(rendered)
        limit = 1024 if key.endswith(".caption") else 4096
        assert 0 < len(rendered) <= limit, key


@pytest.mark.parametrize("key", ["ui.progress.caption", "ui.export.caption"])
def test_captions_fit_in_a_photo_or_document_caption(catalog: Catalog, key: str) -> None:
    for lang in catalog.languages:
        assert len(catalog.text(lang, key)) <= 1024


@pytest.mark.parametrize("lang", ["en", "de"])
def test_buttons_are_at_most_24_characters(catalog: Catalog, lang: str) -> None:
    long = [
        k for k in catalog.keys(lang) if k.startswith("ui.btn.") and len(catalog.text(lang, k)) > 24
    ]
    assert long == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_help_lists_every_command(catalog: Catalog, lang: str) -> None:
    help_text = catalog.text(lang, "ui.help.text")
    assert [c for c in HELP_COMMANDS if f"{c} " not in help_text] == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_sourced_texts_all_name_a_source(catalog: Catalog, lang: str) -> None:
    missing = [
        k
        for k in catalog.keys(lang)
        if k.startswith(SOURCED_PREFIXES) and not catalog.source(lang, k)
    ]
    assert missing == []
    assert all(c.source for c in catalog.posture_cues(lang))
    assert all(s.source for s in catalog.stretches(lang))


def test_the_stenosis_cue_and_stenosis_items_are_tagged(catalog: Catalog) -> None:
    cues = {c.id: c.tags for c in catalog.posture_cues("en")}
    stretches = {s.id: s.tags for s in catalog.stretches("en")}
    assert "stenosis_only" in cues["P20"]
    assert "extension" in stretches["X-12"]
    assert "stenosis_only" in stretches["X-06"]
    assert {"X-07", "X-08", "X-10"} <= {i for i, t in stretches.items() if "core" in t}


def test_stretch_steps_number_three_to_six(catalog: Catalog) -> None:
    assert all(3 <= len(s.steps) <= 6 for s in catalog.stretches("en"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<script>", "&lt;script&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ('say "hi"', "say &quot;hi&quot;"),
        (Html("<b>bold</b>"), "<b>bold</b>"),
        (42, "42"),
    ],
)
def test_params_are_escaped_unless_they_are_html(
    catalog: Catalog, value: object, expected: str
) -> None:
    assert catalog.text("en", "ui.reminder.footer_cue", cue=value) == f"Tip: {expected}"


def test_rendered_texts_are_html_so_nesting_does_not_escape_twice(catalog: Catalog) -> None:
    inner = catalog.text("en", "ui.schedule.timezone", zone="A&B")
    outer = catalog.text("en", "ui.start.already", summary=inner)
    assert outer.endswith("Time zone: A&amp;B")


@pytest.mark.parametrize("lang", ["fr", "", "xx"])
def test_an_unknown_language_falls_back_to_english(catalog: Catalog, lang: str) -> None:
    assert catalog.text(lang, "ui.btn.yes") == "Yes"


def test_a_missing_key_raises_key_error(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="ui.nope"):
        catalog.text("en", "ui.nope")


def test_a_missing_param_raises_key_error(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="zone"):
        catalog.text("en", "ui.schedule.timezone")


def test_asking_for_a_variant_list_as_one_text_is_refused(catalog: Catalog) -> None:
    with pytest.raises(TypeError, match="variants"):
        catalog.text("en", "ui.walk.encourage")


def test_a_single_text_counts_as_one_variant(catalog: Catalog) -> None:
    assert catalog.variants("de", "ui.btn.yes") == ("Ja",)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("de-AT", "de"),
        ("DE", "de"),
        ("de_CH", "de"),
        ("en-GB", "en"),
        ("fr", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_normalise_language_maps_telegram_codes(code: str | None, expected: str) -> None:
    assert normalise_language(code, ("en", "de")) == expected


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "<b>bold</b> and <i>it</i>",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        "<blockquote expandable>quote</blockquote>",
        '<pre><code class="language-python">x</code></pre>',
        "<tg-spoiler>x</tg-spoiler> &lt;3 &#128578;",
    ],
)
def test_check_html_accepts_what_telegram_accepts(text: str) -> None:
    check_html(text)


@pytest.mark.parametrize(
    "text",
    [
        "<div>x</div>",
        "<b>x",
        "<b><i>x</b></i>",
        "x</b>",
        "1 < 2",
        "a > b",
        "Tom & Jerry",
        "&nbsp;",
        "<a>x</a>",
        '<b class="x">y</b>',
        "<br>",
    ],
)
def test_check_html_rejects_what_telegram_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        check_html(text)


def test_loading_the_catalogue_takes_under_100_ms() -> None:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        load_catalog()
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1


# --- small catalogues written to tmp_path -----------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return root


GOOD_REMINDERS = '[morning]\nsource = "own"\nvariants = ["Walk {minutes} min", "Go!"]\n'


def test_a_minimal_catalogue_loads_and_ignores_lexicons_and_loose_files(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "en/ui.toml": '[a]\nb = "Hi {name}"\n',
            "de/ui.toml": '[a]\nb = "Hallo {name}"\n',
            "lexicon/en.toml": "bladder = [1, 2]\n",
            "numbers.toml": "[GB]\nemergency = 999\n",
        },
    )
    catalog = load_catalog(root)
    assert catalog.languages == ("en", "de")
    assert catalog.keys("de") == {"ui.a.b"}


def test_redflag_texts_in_either_source_form_load(tmp_path: Path) -> None:
    redflags = (
        '[E1]\ntext = "<b>Call {emergency_number} now.</b>"\nsource = "NHS-BP, CES-TRUSTS"\n'
        '[E2]\nsource = "NHS-BP"\nmessage = "Call {emergency_number}."\n'
        'signs = ["one", "two"]\n'
        '[E3]\nshort = { text = "x", source = "own" }\n'
    )
    root = write(tmp_path, {"en/ui.toml": 'a = "x"\n', "en/redflags.toml": redflags})
    catalog = load_catalog(root)
    assert catalog.source("en", "redflags.E1") == "NHS-BP, CES-TRUSTS"
    assert catalog.source("en", "redflags.E2.message") == "NHS-BP"
    assert catalog.variants("en", "redflags.E2.signs") == ("one", "two")
    assert catalog.source("en", "redflags.E3.short") == "own"
    assert catalog.placeholders("en", "redflags.E1") == {"emergency_number"}


def test_the_real_files_copied_elsewhere_load_the_same(tmp_path: Path) -> None:
    for lang in ("en", "de"):
        shutil.copytree(MESSAGES / lang, tmp_path / lang)
    assert load_catalog(tmp_path).keys("de") == load_catalog().keys("de")


@pytest.mark.parametrize(
    ("files", "names"),
    [
        ({"en/ui.toml": 'a = "unclosed\n'}, ["en/ui.toml", "invalid TOML"]),
        ({"en/ui.toml": 'a = "<b>bold"\n'}, ["en/ui.toml", "ui.a", "unclosed"]),
        ({"en/ui.toml": 'a = "<div>x</div>"\n'}, ["en/ui.toml", "ui.a", "div"]),
        ({"en/ui.toml": 'a = "Tom & Jerry"\n'}, ["en/ui.toml", "ui.a", "&"]),
        ({"en/ui.toml": '[x]\ny = "Hi {0}"\n'}, ["en/ui.toml", "ui.x.y", "placeholder"]),
        ({"en/ui.toml": 'a = "Hi {name!r}"\n'}, ["en/ui.toml", "ui.a", "placeholder"]),
        ({"en/ui.toml": 'a = "a {{literal}}"\n'}, ["en/ui.toml", "ui.a", "braces"]),
        ({"en/ui.toml": 'a = "x"\nb = 3\n'}, ["en/ui.toml", "ui.b"]),
        ({"en/ui.toml": 'a = ""\n'}, ["en/ui.toml", "ui.a", "non-empty"]),
        ({"en/ui.toml": f'a = "{"x" * 4100}"\n'}, ["en/ui.toml", "ui.a", "4096"]),
        (
            {"en/ui.toml": f'[p]\ncaption = "{"x" * 1100}"\n'},
            ["en/ui.toml", "ui.p.caption", "1024"],
        ),
        (
            {"en/reminders.toml": '[morning]\nvariants = ["a", "b"]\n'},
            ["en/reminders.toml", "reminders.morning", "source"],
        ),
        (
            {"en/reminders.toml": '[morning]\nsource = "Wikipedia"\nvariants = ["a"]\n'},
            ["en/reminders.toml", "reminders.morning", "Wikipedia"],
        ),
        (
            {
                "en/posture.toml": '[[cue]]\nid = "P01"\ntext = "a"\nsource = "own"\n'
                '[[cue]]\nid = "P01"\ntext = "b"\nsource = "own"\n'
            },
            ["en/posture.toml", "duplicate", "P01"],
        ),
        (
            {"en/posture.toml": '[[cue]]\nid = "P01"\ntext = "a"\n'},
            ["en/posture.toml", "P01", "source"],
        ),
        (
            {
                "en/posture.toml": '[[cue]]\nid = "P01"\ntext = "a"\nsource = "own"\ntags = ["brsk"]\n'
            },
            ["en/posture.toml", "P01", "brsk"],
        ),
        (
            {
                "en/stretches.toml": '[[stretch]]\nid = "X-01"\nname = "n"\nsteps = ["a", "b"]\n'
                'dose = "d"\nsuits = "s"\navoid_if = "a"\nsource = "own"\n'
            },
            ["en/stretches.toml", "X-01", "steps"],
        ),
        (
            {
                "en/stretches.toml": '[[stretch]]\nid = "X-02"\nname = "n"\nsteps = ["a", "b", "c"]\n'
                'suits = "s"\navoid_if = "a"\nsource = "own"\n'
            },
            ["en/stretches.toml", "X-02", "dose"],
        ),
        (
            {"en/ui.toml": 'a = "x"\nb = "y"\n', "de/ui.toml": 'a = "x"\n'},
            ["de/", "ui.b"],
        ),
        (
            {"en/ui.toml": 'a = "{name}"\n', "de/ui.toml": 'a = "{nom}"\n'},
            ["de/", "ui.a", "placeholders"],
        ),
        (
            {"en/ui.toml": 'a = ["x", "y"]\n', "de/ui.toml": 'a = ["x"]\n'},
            ["de/", "ui.a", "variants"],
        ),
        ({"de/ui.toml": 'a = "x"\n'}, ["en/"]),
    ],
)
def test_a_broken_catalogue_raises_content_error_naming_file_and_item(
    tmp_path: Path, files: dict[str, str], names: list[str]
) -> None:
    with pytest.raises(ContentError) as caught:
        load_catalog(write(tmp_path, files))
    assert [n for n in names if n not in str(caught.value)] == []
