"""Start-up time and peak memory of a bot process: WalkWell (`python -m bot run`) or the naive one.

The stand runs in this process; the bot is a child process. "Ready" is the moment the stand sees
the bot's first long poll (getUpdates); peak memory is the child's VmHWM from /proc, read after
the bot has been ready for a second (so its first dispatcher tick is included).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.stand import Stand

ROOT = Path(__file__).resolve().parent.parent
WALKWELL = ("-m", "bot", "run", "--no-migrate")
NAIVE = ("-m", "bench.naive_bot")
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Startup:
    seconds: float
    peak_mb: float


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def measure_startup(
    args: tuple[str, ...], database_url: str, timeout: float = 600
) -> Startup:
    """Start a bot process against a fresh stand; time to its first getUpdates, and peak RSS."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    async with Stand() as stand:
        env |= {
            "TELEGRAM_BOT_TOKEN": stand.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{stand.port}",
            "DATABASE_URL": database_url,
            "WALKWELL_LISTEN_PORT": "0",
            "WALKWELL_HEALTH_PORT": "0",
            "LOG_LEVEL": "WARNING",
        }
        with tempfile.TemporaryFile() as log:
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *args, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
            try:
                ready = asyncio.create_task(
                    stand.wait_for(lambda: stand.waiting_polls > 0, timeout, what="getUpdates")
                )
                exited = asyncio.create_task(proc.wait())
                await asyncio.wait((ready, exited), return_when=asyncio.FIRST_COMPLETED)
                if not ready.done():
                    ready.cancel()
                    log.seek(0)
                    err = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{' '.join(args)} exited before polling: {err}")
                seconds = time.perf_counter() - started
                await asyncio.sleep(SETTLE_SECONDS)
                peak = peak_rss_mb(proc.pid)
                exited.cancel()
            finally:
                await _stop(proc)
    return Startup(seconds, peak)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
