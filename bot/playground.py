"""`walkwell try`: the bot against a local fake Telegram (the test stand), chatting in the terminal.

No token, no network, a throwaway SQLite database. Type as the person; a number taps a button of
the bot's last message; `:later 2h` moves the bot's clock (to see reminders and check-ins);
`:quit` leaves.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELP = "Type as the person. A number taps a button. ':later 2h' moves time. ':quit' leaves."
_LATER = re.compile(r"^:later\s+(\d+)\s*([mhd])$")


def main() -> None:
    if not (ROOT / "tests" / "stand.py").exists():
        print("walkwell try needs a source checkout (it uses tests/stand.py).", file=sys.stderr)
        raise SystemExit(2)
    sys.path.insert(0, str(ROOT))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # shows replies when piped too
    try:
        asyncio.run(_main())
    except (KeyboardInterrupt, EOFError):
        print()


def _show(message: Any, buttons: list[str]) -> None:
    print(f"\n🤖 {message.plain}")
    if message.kind != "text":
        print(f"   [{message.kind}: {message.filename or 'image'}]")
    if buttons:
        print("   " + "  ".join(f"[{i}] {b}" for i, b in enumerate(buttons, 1)))


async def _main() -> None:
    from bot.app import serve
    from bot.clock import FakeClock
    from bot.config import load_settings
    from bot.migrate import migrate_url
    from tests.stand import Stand

    folder = tempfile.mkdtemp(prefix="walkwell-try-")
    url = f"sqlite+aiosqlite:///{folder}/try.db"
    await asyncio.to_thread(migrate_url, url)
    async with Stand() as stand:
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=stand.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=url,
            LOG_LEVEL="WARNING",
            WALKWELL_LISTEN_PORT=0,  # any free port: a running bot may hold 8080
        )
        lang = (os.environ.get("LANG") or "en")[:2]
        me = stand.person(1, "You", language_code=lang if lang in ("en", "de") else "en")
        last: dict[str, Any] = {}

        def on_message(message: Any) -> None:
            if message.chat_id != me.chat_id:
                return
            last["message"] = message
            _show(message, message.buttons)

        stand.on_bot_message(on_message)
        clock = FakeClock(datetime.now(UTC))
        stop = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop=stop, clock=clock, ready=ready))
        await ready.wait()
        print(f"WalkWell is running against a local fake Telegram. {HELP}")
        await stand.send(me, "/start")
        try:
            while True:
                line = (await asyncio.to_thread(input, "\n> ")).strip()
                if line in (":quit", ":q"):
                    break
                if match := _LATER.match(line):
                    amount, unit = int(match[1]), match[2]
                    clock.advance(
                        timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
                    )
                    print(f"(the bot's clock is now {clock.now():%Y-%m-%d %H:%M} UTC)")
                elif line.isdigit() and last.get("message") is not None and last["message"].buttons:
                    index = int(line) - 1
                    if 0 <= index < len(last["message"].buttons):
                        await stand.tap(me, last["message"], index)
                    else:
                        print("(no such button)")
                elif line:
                    await stand.send(me, line)
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            await task
