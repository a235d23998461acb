"""The deployment files: the systemd unit verifies and is hardened, the compose file publishes
only the webhook. (hadolint and the compose schema run in `make lint`; the image's entry point
runs in tests/test_wheel.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "walkwell.service"
COMPOSE = ROOT / "deploy" / "compose.yaml"
HARDENING = (
    "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=",
    "SystemCallFilter=@system-service", "UMask=0077",
)  # fmt: skip


def test_the_systemd_unit_is_hardened() -> None:
    lines = UNIT.read_text().splitlines()
    for option in HARDENING:
        assert any(line.startswith(option) for line in lines), option
    assert "User=walkwell" in lines
    assert "KillSignal=SIGTERM" in lines


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify needs ExecStart's program to exist: only its path is swapped for this venv's.
    walkwell = Path(sys.executable).parent / "walkwell"
    text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={walkwell}", UNIT.read_text())
    unit = tmp_path / "walkwell.service"
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "walkwell.service" not in result.stderr, result.stderr  # no warning about our unit


def test_compose_runs_postgres_a_migration_and_two_workers_publishing_only_the_webhook() -> None:
    compose = YAML(typ="safe").load(COMPOSE.read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "healthcheck" in services["db"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    workers = [name for name in services if name.startswith("bot-")]
    assert len(workers) == 2
    for name in workers:
        worker = services[name]
        assert worker["command"] == ["run", "--webhook", "--no-migrate"]
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert worker["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        # Published: the webhook port only, on the host's loopback (for the TLS proxy).
        assert [p.rsplit(":", 1)[1] for p in worker["ports"]] == ["8080"]
        assert all(p.startswith("127.0.0.1:") for p in worker["ports"])
    assert not any("8081" in str(s.get("ports", "")) for s in services.values())
