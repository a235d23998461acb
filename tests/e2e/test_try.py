"""`walkwell try`: a newcomer sees the bot answer /start in the terminal, no token, no network."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path


async def test_try_shows_the_bot_answering_start(tmp_path: Path) -> None:
    # Whatever ports the settings name are taken by someone else: `try` picks free ones.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = str(taken.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PTB_TIMEDELTA")} | {
        "LANG": "en_GB.UTF-8",
        "WALKWELL_LISTEN_PORT": busy,
        "WALKWELL_HEALTH_PORT": busy,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "try", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdin is not None
    seen = ""
    try:
        async with asyncio.timeout(60):
            while "[1]" not in seen:
                chunk = await proc.stdout.read(4096)
                assert chunk, seen
                seen += chunk.decode()
            proc.stdin.write(b"1\n")  # tap "Yes, let's start"
            await proc.stdin.drain()
            while "[2]" not in seen.split("[1]", 1)[1]:
                seen += (await proc.stdout.read(4096)).decode()
            proc.stdin.write(b":quit\n")
            await proc.stdin.drain()
            await proc.wait()
    finally:
        taken.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "Hi, I'm WalkWell" in seen
    assert "I'm not a doctor" in seen
    assert proc.returncode == 0
