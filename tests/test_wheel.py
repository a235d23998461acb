"""The built wheel, installed outside the checkout, migrates a database and runs the bot.

The wheel is built from a copy of the sources and installed (without dependencies) into a fresh
virtual environment in a temporary folder. Its third-party dependencies come from this test's own
environment through a path entry: installing them from the registry each run would take minutes,
and they are the same versions (requirements-dev.lock). The checkout is never on the path: each
command runs from an empty folder and the test checks where `bot`, `messages` and `migrations`
were imported from.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.stand import Stand

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "bot", "jobs", "messages", "migrations")
# Files another change will add (model weights); the wheel must carry such files already.
FUTURE_DATA = ("messages/lexicon/vectors.npy", "messages/embeddings.json")  # fmt: skip
WEIGHTS = ("bot/triage_weights/model.json", "bot/triage_weights/weights.npz")


def _copy_sources(target: Path) -> None:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=ignore)
        else:
            shutil.copy2(src, target / name)
    for name in FUTURE_DATA:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(b"{}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, the wheel)."""
    base = tmp_path_factory.mktemp("wheel")
    _copy_sources(base / "src")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(base / "dist"),
         str(base / "src")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (base / "dist").glob("walkwell-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    purelib = subprocess.run(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # Dependencies only: a plain path entry, so this environment's own .pth files (among them
    # the editable install that maps `bot` to the checkout) are not run.
    (Path(purelib) / "walkwell-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return bin_dir, wheel


def _env(**extra: str) -> dict[str, str]:
    keep = ("HOME", "LANG", "PTB_TIMEDELTA")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = "/usr/bin:/bin"
    return env | extra


def test_the_wheel_carries_migrations_and_every_data_file(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "messages/numbers.toml", "messages/lexicon/en.toml", "messages/lexicon/de.toml",
        "messages/en/ui.toml", "messages/de/ui.toml", "migrations/env.py",
        "migrations/script.py.mako", "migrations/versions/0001_initial_schema.py", *FUTURE_DATA,
        *WEIGHTS,
    }  # fmt: skip
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith("tests/") for n in names)


def _installed_python(bin_dir: Path, code: str, cwd: Path) -> list[str]:
    """Run code with the installed venv's Python, outside the checkout: its output's words."""
    return subprocess.run(
        [bin_dir / "python", "-c", code], cwd=cwd, env=_env(), check=True,
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip


def test_the_installed_package_is_imported_from_the_venv_not_the_checkout(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    bin_dir, _ = installed
    code = (
        "import bot, jobs, messages, migrations;"
        "print('\\n'.join(m.__file__ for m in (bot, jobs, messages, migrations)))"
    )
    out = _installed_python(bin_dir, code, tmp_path)
    venv_dir = bin_dir.parent.resolve()
    assert all(Path(p).resolve().is_relative_to(venv_dir) for p in out), out
    assert not any(Path(p).resolve().is_relative_to(ROOT) for p in out), out


def test_the_installed_red_flag_layer_loads_its_shipped_weights(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    bin_dir, _ = installed
    code = (
        "from bot.detector import Detector;"
        "d = Detector.load_sync(embeddings=False);"
        "print(d.mode, d.assess_sync('cant pee since this morning', ('en',)).tier)"
    )
    out = _installed_python(bin_dir, code, tmp_path)
    assert out == ["lexicon+ngrams", "emergency"]


async def test_the_installed_wheel_migrates_and_runs_against_the_stand(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    bin_dir, _ = installed
    walkwell = str(bin_dir / "walkwell")
    database = f"sqlite+aiosqlite:///{tmp_path}/walkwell.db"
    migrate = await asyncio.create_subprocess_exec(
        walkwell, "migrate", cwd=tmp_path, env=_env(DATABASE_URL=database, LOG_LEVEL="WARNING"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(migrate.communicate(), timeout=60)
    assert migrate.returncode == 0, err.decode()
    assert "up to date" in out.decode()
    async with Stand() as stand:
        env = _env(
            TELEGRAM_BOT_TOKEN=stand.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=database,
            WALKWELL_HEALTH_PORT="0",
        )
        with (tmp_path / "bot.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                walkwell, "run", "--no-migrate", cwd=tmp_path, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60, what="a long poll")
            alex = stand.person(8101)
            await stand.send(alex, "/start")  # the catalogue, from the wheel
            assert "WalkWell" in (await stand.next_message(alex, timeout=20)).plain
            await stand.send(alex, "/sos")  # the numbers table, from the wheel
            sos = await stand.next_message(alex, timeout=20)
            assert "112" in sos.plain
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, (tmp_path / "bot.log").read_text()


# ---------------------------------------------------------------- the image's entry point


def final_stage(dockerfile: Path) -> dict[str, object]:
    """ENV, ENTRYPOINT, CMD and HEALTHCHECK CMD of the Dockerfile's last stage, as written."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    env: dict[str, str] = {}
    found: dict[str, object] = {"env": env}
    for line in stage:
        word, _, rest = line.partition(" ")
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
        elif word in ("ENTRYPOINT", "CMD"):
            found[word] = json.loads(rest)
        elif word == "HEALTHCHECK":
            found[word] = json.loads(rest.split(" CMD ", 1)[1])
    return found


async def test_the_images_entry_point_runs_outside_a_container(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """The Dockerfile's ENTRYPOINT + CMD, with its ENV (PATH pointing at the wheel's venv instead
    of /opt/walkwell/bin, and free ports instead of 8080/8081, which a test must not bind),
    reaches a long poll; its HEALTHCHECK command passes; SIGTERM (compose's stop) exits 0."""
    bin_dir, _ = installed
    image = final_stage(ROOT / "Dockerfile")
    env_in_image = dict(image["env"])
    assert env_in_image["WALKWELL_HEALTH_PORT"] != env_in_image["WALKWELL_LISTEN_PORT"]
    path = env_in_image.pop("PATH").replace("/opt/walkwell/bin", str(bin_dir))
    path = path.replace("$PATH", "/usr/bin:/bin")
    command = [*image["ENTRYPOINT"], *image["CMD"]]
    assert command == ["walkwell", "run"]
    async with Stand() as stand:
        env = _env(**env_in_image) | {
            "PATH": path,
            "WALKWELL_HEALTH_PORT": str(_free_port()),
            "WALKWELL_LISTEN_PORT": str(_free_port()),  # unused when polling, as in the image
            "TELEGRAM_BOT_TOKEN": stand.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{stand.port}",
        }
        with (tmp_path / "bot.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60, what="a long poll")
            health = await asyncio.create_subprocess_exec(
                *image["HEALTHCHECK"],
                cwd=tmp_path,
                env=env,
            )
            assert await asyncio.wait_for(health.wait(), timeout=30) == 0
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    logs = (tmp_path / "bot.log").read_text()
    assert proc.returncode == 0, logs
    assert (tmp_path / "var" / "walkwell.db").exists()  # SQLite under the working directory
    first = json.loads(logs.splitlines()[0])  # LOG_FORMAT=json from the image
    assert {"ts", "level", "logger", "event"} <= set(first), first
    # With the worker gone, the health check fails (what Docker then reports as unhealthy).
    health = await asyncio.create_subprocess_exec(
        *image["HEALTHCHECK"],
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(health.communicate(), timeout=30)
    assert health.returncode == 1
    assert "WALKWELL_HEALTH_PORT" in err.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
