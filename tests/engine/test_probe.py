"""`polymarket-launch probe api` as a real process against the simulator (running in a thread
with its own event loop) and against a dead port."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from polymarket_bot.protocol.eip712 import PrivateKeySigner
from polymarket_bot.sim.server import SimServer
from polymarket_bot.transport.rest import ClobRestClient

PROBE = "from polymarket_bot.cli.probe_cmd import app; app()"
KEY = "0x" + hashlib.sha256(b"probe-test").hexdigest()


class SimThread:
    """The simulator on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.sim: SimServer | None = None
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="sim", daemon=True)

    def stop(self) -> None:
        if self.loop is not None and self._done is not None:
            self.loop.call_soon_threadsafe(self._done.set)
        self.thread.join(20)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self._done = asyncio.Event()
            async with SimServer(n_markets=8, seed=7) as sim:
                self.sim = sim
                self.ready.set()
                await self._done.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the fixture
            self.error = exc
            self.ready.set()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    runner = SimThread()
    runner.thread.start()
    assert runner.ready.wait(20), "simulator did not start"
    assert runner.error is None and runner.sim is not None, runner.error
    try:
        yield runner.sim
    finally:
        runner.stop()


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POLY", "CLOB_", "GAMMA_", "SERVICE_", "PROXY", "ORDER_REST"))
    }
    env.update(extra)
    return env


def _probe(tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, "api", *args],
        env=env,
        cwd=tmp,  # no config/runtime.yaml, no .env
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_probe_against_the_simulator(sim: SimServer, tmp_path: Path) -> None:
    result = _probe(tmp_path, _env(**sim.env()), "--limit", "3")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    lines = out.strip().splitlines()
    assert lines[-1].startswith("VERDICT: OK")
    for name in ("clob_time", "clob_markets", "gamma_markets", "clob_books", "ws_market"):
        assert any(line.startswith("[ OK ]") and f" {name} " in line for line in lines), name
    assert "local clock skew" in out
    quotes = [line for line in lines if line.startswith("  bid ")]
    assert len(quotes) == 3 and all(" ask " in q and "-" not in q.split()[1] for q in quotes)
    assert "[SKIP] l2_auth" in out  # no credentials


def test_probe_json_with_credentials_checks_l2_auth_and_balance(
    sim: SimServer, tmp_path: Path
) -> None:
    signer = PrivateKeySigner(KEY)

    async def create_key() -> dict[str, str]:
        async with ClobRestClient(sim.rest_url) as rest:
            creds = await rest.create_or_derive_api_key(signer)
        async with httpx.AsyncClient(base_url=sim.rest_url) as http:
            reply = await http.post(
                "/admin/balance", json={"address": signer.address, "pusd": "250"}
            )
            reply.raise_for_status()
        return {
            "POLYMARKET_API_KEY": creds.api_key,
            "POLYMARKET_API_SECRET": creds.secret,
            "POLYMARKET_API_PASSPHRASE": creds.passphrase,
        }

    creds = asyncio.run(create_key())
    env = _env(**sim.env(), POLY_PRIVATE_KEY=KEY, **creds)
    result = _probe(tmp_path, env, "--limit", "2", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and report["verdict"].startswith("VERDICT: OK")
    assert checks["l2_auth"]["status"] == "ok" and signer.address in checks["l2_auth"]["detail"]
    assert checks["balance"]["status"] == "ok" and "250" in checks["balance"]["detail"]
    assert len(report["markets"]) == 2 and all(m["best_bid"] for m in report["markets"])
    assert abs(report["clock_skew_seconds"]) < 5
    assert creds["POLYMARKET_API_SECRET"] not in result.stdout + result.stderr

    # Only the private key: the probe derives the existing key (L1), then goes on.
    result = _probe(tmp_path, _env(**sim.env(), POLY_PRIVATE_KEY=KEY), "--limit", "1", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert result.returncode == 0 and checks["l1_auth"]["status"] == "ok"
    assert checks["l2_auth"]["status"] == "ok"


def test_probe_against_a_dead_port_fails_clearly(tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    env = _env(
        POLY_OFFLINE_MODE="true",
        CLOB_REST_URL=f"http://127.0.0.1:{port}",
        CLOB_WS_URL=f"ws://127.0.0.1:{port}/ws",
        GAMMA_API_URL=f"http://127.0.0.1:{port}/gamma",
    )
    result = _probe(tmp_path, env, "--limit", "2", "--timeout", "3")
    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("VERDICT: FAIL") and "clob_time" in last
    assert "[FAIL] clob_time" in result.stdout and "ConnectError" in result.stdout


def test_probe_with_nothing_to_probe_or_a_bad_config(tmp_path: Path) -> None:
    result = _probe(tmp_path, _env(POLY_OFFLINE_MODE="true"))
    assert result.returncode == 1 and "CLOB_REST_URL is empty" in result.stdout
    result = _probe(tmp_path, _env(SERVICE_REST_MAX_CONCURRENCY="many"))
    assert result.returncode == 2 and "VERDICT: FAIL" in result.stderr
