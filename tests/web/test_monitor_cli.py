"""`monitor` as users start it: a real process that loads the configuration, binds loopback,
serves the reports directory, honours the control token from the environment and stops cleanly
on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from monitor_kit import free_port, write_reports

from polymarket_bot.config.settings import (
    CONFIG_FILE_ENV,
    ENV_VARS,
    GENERIC_ENV_PREFIX,
    OUR_ENV_PREFIXES,
)

RUN_MONITOR = "import typer; from polymarket_bot.cli.monitor_cmd import monitor; typer.run(monitor)"


def clean_environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_VARS
        and k != CONFIG_FILE_ENV
        and not k.startswith(GENERIC_ENV_PREFIX)
        and not k.startswith(OUR_ENV_PREFIXES)
    }


def wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 20) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"monitor exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("monitor did not answer /healthz in time")


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM shutdown is POSIX")
def test_monitor_process(tmp_path: Path) -> None:
    write_reports(tmp_path / "reports", time.time())
    port = free_port()
    env = clean_environ() | {"POLY_CONTROL_TOKEN": "tok-123"}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_MONITOR, "--port", str(port), "--log-level", "INFO"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        data = httpx.get(f"{url}/api/data", timeout=5).json()
        assert data["reports_dir"] == str((tmp_path / "reports").resolve())
        assert data["lifecycle"]["fills"] == 25
        assert data["controls"]["enabled"] is True
        refused = httpx.post(f"{url}/api/controls/pause", timeout=5)
        assert refused.status_code == 401
        accepted = httpx.post(
            f"{url}/api/controls/pause", headers={"Authorization": "Bearer tok-123"}, timeout=5
        )
        assert accepted.status_code == 200
        assert (tmp_path / "run" / "control.json").exists()  # settings' paths.run_dir
        assert httpx.get(f"{url}/", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert f"monitor on http://127.0.0.1:{port}/" in output
    assert "tok-123" not in output  # the token is never logged


def test_monitor_help() -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN_MONITOR, "--help"],
        capture_output=True,
        text=True,
        env=clean_environ() | {"COLUMNS": "200", "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--host", "--reports-dir", "--log-level"):
        assert option in result.stdout
