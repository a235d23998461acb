"""Typed conversation state and plain replies (pure), and the handlers' one-way imports."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.conversation import (
    LIFETIME,
    Ask,
    Pending,
    Step,
    is_ours,
    new_pending,
    step_of,
    stored,
    without_question,
)
from bot.replies import Reply, understand

NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def test_a_pending_question_answers_only_its_own_buttons_until_it_expires() -> None:
    pending = new_pending(Ask.ZONE, "ob:tz", "ab12", NOW, yes="Europe/Lisbon", no="-")
    assert pending.value_of("ob:tz:ab12:Europe/Lisbon", NOW) == "Europe/Lisbon"
    assert pending.value_of("ob:tz:ffff:Europe/Lisbon", NOW) is None  # an older question
    assert pending.value_of("ob:tz:ab12", NOW) is None
    assert pending.value_of("ob:tzok:Europe/Lisbon", NOW) is None  # the old format
    expiry = NOW + LIFETIME[Ask.ZONE]
    assert pending.value_of("ob:tz:ab12:Europe/Lisbon", expiry) is None
    assert pending.typed_choice("yes") == "Europe/Lisbon"
    assert pending.typed_choice("no") == "-"
    assert pending.typed_choice("unsure") is None


def test_a_pending_question_survives_storage_and_expires() -> None:
    pending = new_pending(Ask.PAIN, "w:pain:7", "0a0b", NOW, ref=7)
    stored = pending.to_json()
    assert Pending.from_json(stored, NOW + timedelta(hours=1)) == pending
    assert Pending.from_json(stored, NOW + timedelta(hours=12)) is None
    assert is_ours(stored)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        {"ask": "tz"},  # from before questions expired
        {"ask": "minutes", "delivery": 3},
        {"ask": "confirm", "flag": "E1", "report": 4},  # the red-flag flow's own state
        {"ask": "pain", "prefix": "w:pain:1:aa", "expires": "tomorrow"},
        {"ask": "pain", "prefix": "w:pain:1:aa", "expires": "2026-01-06T00:00:00"},  # naive
        {"ask": "nonsense", "prefix": "x", "expires": "2026-01-06T00:00:00+00:00"},
    ],
)
def test_anything_else_in_the_column_reads_as_no_question(raw: dict[str, object] | None) -> None:
    assert Pending.from_json(raw, NOW) is None


def test_the_red_flag_confirmation_is_not_ours_to_clear() -> None:
    confirm = {"ask": "confirm", "flag": "E1", "report": 1}
    assert not is_ours(confirm)
    assert is_ours({"ask": "tz"})
    pending = new_pending(Ask.WALK_MINUTES, "w:min:3", "beef", NOW, ref=3)
    both = stored(confirm, pending)
    assert both["ask"] == "confirm"  # the red-flag flow still finds its question
    assert both["report"] == 1
    assert Pending.from_json(both, NOW) == pending
    assert without_question(both) == confirm
    assert stored({"ask": "tz"}, pending) == pending.to_json()
    assert without_question(pending.to_json()) is None


def test_steps_are_named_and_unknown_ones_read_as_none() -> None:
    assert step_of("screen2") == Step.SCREEN2
    assert step_of("tz") == "tz"
    assert step_of("bogus") is None
    assert step_of(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("done", Reply("walked")),
        ("Done!", Reply("walked")),
        ("erledigt", Reply("walked")),
        ("Fertig!", Reply("walked")),
        ("walked 20 minutes", Reply("walked", 20)),
        ("I walked 20 min today", Reply("walked", 20)),
        ("20 min gegangen", Reply("walked", 20)),
        ("Bin 15 Minuten spazieren gegangen", Reply("walked", 15)),
        ("I just ate", Reply("ate")),
        ("just had lunch", Reply("ate")),
        ("Ich habe gerade gegessen", Reply("ate")),
        ("hab gegessen", Reply("ate")),
        ("later", Reply("later")),
        ("Später", Reply("later")),
        ("not now", Reply("later")),
        ("thanks!", Reply("thanks")),
        ("Danke 🙏", Reply("thanks")),
        ("👍", Reply("thanks")),
        ("my back hurts today", Reply("pain")),
        ("Mein Rücken tut heute weh", Reply("pain")),
        ("hello", None),
        ("no", None),
        ("I walked the dog", None),
        ("walked 900 minutes", None),
        ("20", None),
        ("I am done with this bot", None),
        ("done " * 30, None),
    ],
)
def test_plain_replies_in_both_languages(text: str, expected: Reply | None) -> None:
    assert understand(text) == expected


HANDLERS = Path(__file__).resolve().parents[2] / "bot" / "handlers"
# safety.py belongs to the red-flag work (issue 14); it still reads two models itself.
NOT_YET = {"safety.py"}


def runtime_imports(path: Path) -> set[str]:
    """Modules a file imports at run time (imports under `if TYPE_CHECKING:` are types only)."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.add(child.module)
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize(
    "path", sorted(p for p in HANDLERS.glob("*.py") if p.name not in NOT_YET), ids=lambda p: p.name
)
def test_no_handler_queries_the_database_itself(path: Path) -> None:
    """Handlers parse, call a service and reply: sqlalchemy and the models stay in services."""
    imports = runtime_imports(path)
    assert not {m for m in imports if m == "sqlalchemy" or m.startswith("sqlalchemy.")}
    assert "bot.models" not in imports
    text = path.read_text("utf-8")
    for call in (".db.get(", ".db.scalar", ".db.execute(", ".db.add("):
        assert call not in text
