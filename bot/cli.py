"""`walkwell`: the command line. run | migrate | try."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from bot.config import ConfigError, Settings, StartupError, load_settings
from bot.logs import setup_logging

DESCRIPTION = "WalkWell: a Telegram walking coach for people with back pain."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="walkwell", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="migrate the database, then run the bot (long polling; --webhook for webhooks)",
        description="Run the bot. Needs TELEGRAM_BOT_TOKEN. Settings come from the environment "
        "and .env (see .env.example).",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve the Bot API webhook (needs WALKWELL_WEBHOOK_URL)",
    )
    run.add_argument(
        "--no-migrate", action="store_true", help="do not upgrade the database schema first"
    )
    sub.add_parser(
        "migrate", help="upgrade the database schema to the latest version (DATABASE_URL)"
    )
    sub.add_parser(
        "healthcheck",
        help="exit 0 if this machine's worker answers /healthz (for Docker's HEALTHCHECK)",
        description="GET /healthz on WALKWELL_HEALTH_HOST:WALKWELL_HEALTH_PORT (127.0.0.1 when "
        "the host is a wildcard); exit 0 on 200, 1 otherwise.",
    )
    sub.add_parser(
        "try",
        help="try WalkWell in this terminal: a local fake Telegram, no token, no network",
        description="Starts a fake Bot API server on 127.0.0.1 and the bot against it, with a "
        "throwaway SQLite database; type as the person, tap buttons by number.",
    )
    return parser


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"walkwell: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(settings: Settings, webhook: bool) -> None:
    from bot.app import serve

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop=stop, webhook=webhook)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        print(f"walkwell: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except StartupError as exc:
        print(f"walkwell: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _migrate(url: str) -> None:
    from bot.migrate import migrate_url

    try:
        migrate_url(url)
    except StartupError as exc:
        print(f"walkwell: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _healthcheck(settings: Settings) -> int:
    import urllib.request

    host = settings.health_host
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{settings.health_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            if answer.status == 200:
                return 0
            reason = f"HTTP {answer.status}"
    except OSError as exc:
        reason = str(getattr(exc, "reason", None) or exc)
    print(f"walkwell: {url} did not answer 200 (WALKWELL_HEALTH_PORT): {reason}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "try":
        from bot.playground import main as try_main

        try_main()
        return
    settings = _settings()
    if args.command == "healthcheck":
        raise SystemExit(_healthcheck(settings))
    secrets = [
        s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret) if s
    ]
    setup_logging(settings.log_level, settings.log_format, secrets)
    if args.command == "migrate":
        _migrate(settings.database_url)
        print("walkwell: database is up to date")
        return
    try:
        settings.token()
    except ConfigError as exc:
        print(f"walkwell: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not args.no_migrate:
        _migrate(settings.database_url)
    _run(settings, args.webhook or settings.webhook_url is not None)


if __name__ == "__main__":
    main()
