"""The real `walkwell` process: start-up errors, secrets in logs, SIGTERM without losses."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.stand import Stand

ENV_KEEP = ("PATH", "HOME", "LANG", "PTB_TIMEDELTA")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
    env.update(extra)
    return env


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_run_without_a_token_says_what_to_do_in_one_line(tmp_path: Path) -> None:
    code, out, err = await run_cli("run", env=base_env(), cwd=tmp_path)
    assert code == 2
    assert err.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "@BotFather" in err


async def test_a_malformed_token_is_named_but_never_echoed(tmp_path: Path) -> None:
    secret = "not-a-token-but-secret-looking-value-123"
    code, _, err = await run_cli("run", env=base_env(TELEGRAM_BOT_TOKEN=secret), cwd=tmp_path)
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in err
    assert secret not in err


async def test_help_explains_each_command(tmp_path: Path) -> None:
    code, out, _ = await run_cli("--help", env=base_env(), cwd=tmp_path)
    assert code == 0
    for command in ("run", "migrate", "try"):
        assert command in out


async def test_the_real_process_answers_keeps_secrets_out_of_logs_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    async with Stand() as stand:
        port = free_port()  # the health listener's
        secret = "webhook-secret-value-xyz-123456"
        env = base_env(
            TELEGRAM_BOT_TOKEN=stand.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            LOG_LEVEL="DEBUG",
            LOG_FORMAT="json",
            WALKWELL_HEALTH_PORT=str(port),
            WALKWELL_WEBHOOK_SECRET=secret,
        )
        # Logs go to a file: a DEBUG run writes more than a pipe holds before anyone reads it.
        with (tmp_path / "bot.log").open("wb") as log_file:  # the child keeps its own descriptor
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
                stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60, what="a long poll")
            alex = stand.person(7001)
            await stand.send(alex, "/start")
            await stand.next_message(alex, timeout=20)
            # Errors on the way: a 500 and a 429 from "Telegram", then an update while a send is slow.
            stand.fail_next("sendMessage", 500)
            await stand.send(alex, "/help")
            stand.fail_next("sendMessage", 429, retry_after=1)
            await stand.send(alex, "/help")
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
                metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
                forged = await client.post(
                    f"http://127.0.0.1:{port}/telegram", json={"update_id": 1}
                )
            assert health.status_code == 200
            assert "walkwell_updates_total" in metrics.text
            assert forged.status_code == 404  # polling: no webhook anywhere
            stand.slow("sendMessage", 3.0)  # the answer (not the effect) comes 3 s late
            before = len(stand.transcript(alex))
            sends = len(stand.calls_to("sendMessage"))
            await stand.send(alex, "/posture")
            # The reply has reached "Telegram" and its answer is pending: the update is in flight.
            await stand.wait_for(
                lambda: len(stand.calls_to("sendMessage")) > sends, timeout=10, what="the reply"
            )
            signalled = asyncio.get_running_loop().time()
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
            # It waited for the pending answer instead of cutting the request off.
            assert asyncio.get_running_loop().time() - signalled > 2.0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0
        assert len(stand.transcript(alex)) > before  # the in-flight reply was not lost
        logs = (tmp_path / "bot.log").read_text()
        assert stand.token not in logs
        assert stand.token.split(":")[1] not in logs
        assert secret not in logs
        assert "WalkWell is stopping" in logs


# ---------------------------------------------------------------- start-up failures


def held_port() -> socket.socket:
    """A port something else is listening on (the OS picks it; the caller closes it)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def refusing_port() -> socket.socket:
    """A port bound by nobody who listens: every connection to it is refused."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


def failing_env(**extra: str) -> dict[str, str]:
    """Log level WARNING: what a failed start prints beyond the routine INFO lines."""
    return base_env(LOG_LEVEL="WARNING", **extra)


def assert_one_clear_line(err: str, *names: str) -> str:
    """The last line of stderr names what to fix; nothing was left open or half-reported."""
    lines = err.strip().splitlines()
    assert lines, err
    last = lines[-1]
    assert last.startswith("walkwell: "), err
    for name in names:
        assert name in last, err
    for noise in ("Traceback", "Unclosed", "Exception ignored", "Task was destroyed"):
        assert noise not in err, err
    return last


async def test_a_busy_health_port_is_one_line_naming_port_and_setting(tmp_path: Path) -> None:
    async with Stand() as stand:
        with held_port() as holder:
            port = holder.getsockname()[1]
            env = failing_env(
                TELEGRAM_BOT_TOKEN=stand.token,
                TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
                DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
                WALKWELL_HEALTH_PORT=str(port),
            )
            code, _, err = await run_cli("run", env=env, cwd=tmp_path)
    assert code == 1
    assert err.count("\n") == 1, err
    assert_one_clear_line(err, str(port), "WALKWELL_HEALTH_PORT", "in use")
    assert stand.calls_to("getUpdates") == []


async def test_a_busy_webhook_port_is_one_line_naming_port_and_setting(tmp_path: Path) -> None:
    async with Stand() as stand:
        with held_port() as holder:
            port = holder.getsockname()[1]
            env = failing_env(
                TELEGRAM_BOT_TOKEN=stand.token,
                TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
                DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
                WALKWELL_LISTEN_PORT=str(port),
                WALKWELL_HEALTH_PORT="0",
                WALKWELL_WEBHOOK_URL="https://bot.example.org",
                WALKWELL_WEBHOOK_SECRET="a-webhook-secret-0123456789",
            )
            code, _, err = await run_cli("run", "--webhook", env=env, cwd=tmp_path)
    assert code == 1
    assert err.count("\n") == 1, err
    assert_one_clear_line(err, str(port), "WALKWELL_LISTEN_PORT", "in use")
    assert stand.webhook is None


async def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    with refusing_port() as holder:
        port = holder.getsockname()[1]
        url = f"postgresql+asyncpg://walkwell:pa55w0rd-secret@127.0.0.1:{port}/walkwell"
        for args in (("migrate",), ("run",), ("run", "--no-migrate")):
            env = failing_env(
                TELEGRAM_BOT_TOKEN="123456789:" + "A" * 35,
                DATABASE_URL=url,
                WALKWELL_HEALTH_PORT="0",
            )
            code, _, err = await run_cli(*args, env=env, cwd=tmp_path)
            assert code == 1, (args, err)
            assert err.count("\n") == 1, (args, err)
            assert_one_clear_line(err, "DATABASE_URL", f"127.0.0.1:{port}")
            assert "pa55w0rd" not in err


async def test_an_unreachable_bot_api_is_retried_then_one_line(tmp_path: Path) -> None:
    with refusing_port() as holder:
        port = holder.getsockname()[1]
        env = failing_env(
            TELEGRAM_BOT_TOKEN="123456789:" + "A" * 35,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            WALKWELL_HEALTH_PORT="0",
            WALKWELL_BOT_API_WAIT="2.5",
        )
        code, _, err = await run_cli("run", env=env, cwd=tmp_path)
    assert code == 1
    last = assert_one_clear_line(
        err, "TELEGRAM_API_BASE_URL", f"127.0.0.1:{port}", "WALKWELL_BOT_API_WAIT"
    )
    assert "after 2 attempt(s)" in last  # tried at once, 1 s later; the next wait (2 s) would pass
    assert err.count("retrying in") == 1, err
    assert "A" * 35 not in err


async def run_until_polling(stand: Stand, tmp_path: Path) -> tuple[int | None, str]:
    """`walkwell run` against the stand until its first long poll, then SIGTERM: (exit, log)."""
    env = failing_env(
        TELEGRAM_BOT_TOKEN=stand.token,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        WALKWELL_HEALTH_PORT="0",
    )
    with (tmp_path / "bot.log").open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60, what="a long poll")
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, (tmp_path / "bot.log").read_text()


async def test_a_bot_api_that_comes_back_is_waited_for(tmp_path: Path) -> None:
    async with Stand() as stand:
        stand.fail_next("getMe", 502, count=2)  # "Bad Gateway" twice, then it answers
        code, logs = await run_until_polling(stand, tmp_path)
    assert code == 0
    assert logs.count("retrying in") == 2, logs
    assert [c.status for c in stand.calls_to("getMe")][:3] == [502, 502, 200]
    assert "Unclosed" not in logs


async def test_bot_api_hiccups_after_getme_neither_stop_nor_crash_the_start(
    tmp_path: Path,
) -> None:
    """The command menu failing is logged and passed over; a failing deleteWebhook is retried."""
    async with Stand() as stand:
        stand.fail_next("setMyCommands", 500, count=10)
        stand.fail_next("deleteWebhook", 502, count=2)
        code, logs = await run_until_polling(stand, tmp_path)
    assert code == 0
    assert "could not set the command menu" in logs
    assert "Traceback" not in logs, logs
    assert [c.status for c in stand.calls_to("deleteWebhook")][:3] == [502, 502, 200]


async def test_sigterm_while_waiting_for_the_bot_api_stops_cleanly(tmp_path: Path) -> None:
    with refusing_port() as holder:
        port = holder.getsockname()[1]
        env = failing_env(
            TELEGRAM_BOT_TOKEN="123456789:" + "A" * 35,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            WALKWELL_HEALTH_PORT="0",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        try:
            seen = b""
            async with asyncio.timeout(30):
                while b"retrying in" not in seen:
                    chunk = await proc.stderr.read(4096)
                    assert chunk, seen
                    seen += chunk
            proc.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(proc.stderr.read(), timeout=10)
            await asyncio.wait_for(proc.wait(), timeout=10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
    err = (seen + rest).decode()
    for noise in ("Traceback", "Unclosed", "Exception ignored"):
        assert noise not in err, err


async def test_a_rejected_token_is_one_line_and_never_echoed(tmp_path: Path) -> None:
    async with Stand() as stand:
        wrong = "123456789:" + "B" * 35  # well formed, but not the stand's token
        env = failing_env(
            TELEGRAM_BOT_TOKEN=wrong,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            WALKWELL_HEALTH_PORT="0",
        )
        code, _, err = await run_cli("run", env=env, cwd=tmp_path)
    assert code == 1
    assert err.count("\n") == 1, err
    assert_one_clear_line(err, "TELEGRAM_BOT_TOKEN", "@BotFather")
    assert "B" * 35 not in err
