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
        port = free_port()
        secret = "webhook-secret-value-xyz-123456"
        env = base_env(
            TELEGRAM_BOT_TOKEN=stand.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            LOG_LEVEL="DEBUG",
            LOG_FORMAT="json",
            WALKWELL_LISTEN_PORT=str(port),
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
            assert forged.status_code == 403
            stand.slow("sendMessage", 1.5)
            before = len(stand.transcript(alex))
            await stand.send(alex, "/posture")
            await stand.wait_for(
                lambda: stand.calls_to("sendMessage")[-1:] and stand.waiting_polls >= 0, timeout=5
            )
            await asyncio.sleep(0.5)  # the update is being handled, its reply in flight
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
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
