"""`polymarket-launch config show`: in-process (typer's CliRunner) and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polymarket_bot.cli.main import app

KEY = "0x" + "5e" * 32
API_SECRET = "U2VjcmV0LWZvci1jb25maWctc2hvdy10ZXN0aW5nLTEyMw=="
PASSPHRASE = "a1b2c3d4" * 8
DB_PASSWORD = "dbpa55word"
PROXY_PASSWORD = "pr0xypa55"
TOKEN = "control-token-value"
SECRET_ENV = {
    "POLY_PRIVATE_KEY": KEY,
    "POLYMARKET_API_KEY": "0f0f0f0f-1111-2222-3333-444444444444",
    "POLYMARKET_API_SECRET": API_SECRET,
    "POLYMARKET_API_PASSPHRASE": PASSPHRASE,
    "POLY_DB_URL": f"mysql+pymysql://bot:{DB_PASSWORD}@127.0.0.1:3306/poly",
    "PROXY_URL": f"http://me:{PROXY_PASSWORD}@127.0.0.1:3128",
    "POLY_CONTROL_TOKEN": TOKEN,
    "POLY_ALERT_EMAIL_PASSWORD": "smtp-password-1",
}
LEAKS = (KEY[2:], API_SECRET, PASSPHRASE, DB_PASSWORD, PROXY_PASSWORD, TOKEN, "smtp-password-1")
BROKEN = "risk:\n  max_order_notional: lots\n"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["config", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def launcher() -> Path:
    return Path(sys.executable).parent / ("polymarket-launch" + (".exe" if os.name == "nt" else ""))


def run_process(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The autouse fixture already removed configuration variables from os.environ.
    return subprocess.run(
        [str(launcher()), "config", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_show_without_any_configuration(isolated: Path) -> None:
    code, out, _ = run("show", "--log-level", "info")

    assert code == 0
    assert "run mode: OFFLINE" in out and "config file: none (defaults)" in out
    assert "risk.max_order_notional" in out and "default" in out


def test_show_json_has_every_key_with_value_and_source(isolated: Path) -> None:
    (isolated / "config").mkdir()
    (isolated / "config" / "runtime.yaml").write_text("risk: {var_window: 42}\n", encoding="utf-8")

    code, out, _ = run("show", "--json", env={"SERVICE_WS_ASSET_LIMIT": "9"})

    assert code == 0
    doc = json.loads(out)
    assert doc["run_mode"] == "offline"
    assert doc["config_file"] == "config/runtime.yaml"
    assert doc["values"]["risk.var_window"] == {"value": 42, "source": "config/runtime.yaml"}
    assert doc["values"]["service.ws_asset_limit"] == {
        "value": 9,
        "source": "env",
        "variable": "SERVICE_WS_ASSET_LIMIT",
    }
    assert doc["values"]["risk.max_order_notional"] == {"value": "500", "source": "default"}
    assert len(doc["values"]) > 90


def test_show_prefix_filters_keys(isolated: Path) -> None:
    code, out, _ = run("show", "service.ws", "--json")

    assert code == 0
    keys = set(json.loads(out)["values"])
    assert keys and all(k.startswith("service.ws_") for k in keys)


@pytest.mark.parametrize("as_json", [False, True])
def test_show_masks_every_secret(isolated: Path, as_json: bool) -> None:
    code, out, err = run("show", *(["--json"] if as_json else []), env=SECRET_ENV)

    assert code == 0
    for leak in LEAKS:
        assert leak not in out and leak not in err
    assert "mysql+pymysql://bot:***@127.0.0.1:3306/poly" in out
    assert "http://me:***@127.0.0.1:3128" in out
    if as_json:
        values = json.loads(out)["values"]
        for key in ("credentials.private_key", "credentials.api_secret", "monitor.control_token"):
            assert values[key]["value"] == "***"
        assert values["credentials.funder"]["value"] == ""  # not a secret, shown as is


def test_show_broken_yaml_names_the_key_and_exits_nonzero(isolated: Path) -> None:
    (isolated / "config").mkdir()
    (isolated / "config" / "runtime.yaml").write_text(BROKEN, encoding="utf-8")

    code, out, err = run("show")

    assert code == 2
    assert out == ""
    assert err.startswith("config error: risk.max_order_notional (config/runtime.yaml): ")


def test_show_reports_typo_variables_as_warnings(isolated: Path) -> None:
    code, _, err = run("show", env={"SERVICE_USE_WEBSOCKET": "true"})

    assert code == 0
    assert "warning: env: unknown variable SERVICE_USE_WEBSOCKET ignored" in err


def test_subprocess_show_works_with_defaults(isolated: Path) -> None:
    proc = run_process(isolated, "show", "--json")

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["values"]["logging.file"]["value"] == str(
        isolated / "logs" / "polymarket.log"
    )
    assert not (isolated / "logs").exists()  # `config show` writes no log file


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        (BROKEN, "risk.max_order_notional (config/runtime.yaml): Input should be a valid decimal"),
        (
            "risk:\n  max_order_notional: [1\n",
            "config/runtime.yaml (config/runtime.yaml): invalid YAML",
        ),
        (
            "service:\n  ws_asset_limt: 3\n",
            "service.ws_asset_limt (config/runtime.yaml): unknown key",
        ),
    ],
)
def test_subprocess_broken_config_exits_nonzero_without_traceback(
    isolated: Path, yaml_text: str, named: str
) -> None:
    (isolated / "config").mkdir()
    (isolated / "config" / "runtime.yaml").write_text(yaml_text, encoding="utf-8")

    proc = run_process(isolated, "show", "--log-level", "DEBUG")

    assert proc.returncode == 2
    assert f"config error: {named}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_subprocess_mode_conflict_exits_nonzero(isolated: Path) -> None:
    proc = run_process(isolated, "show", env={"POLY_OFFLINE_MODE": "true", "POLY_DRY_RUN": "true"})

    assert proc.returncode == 2
    assert "config error: mode.dry_run (env POLY_DRY_RUN)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_subprocess_show_masks_secrets(isolated: Path) -> None:
    proc = run_process(isolated, "show", env=SECRET_ENV)

    assert proc.returncode == 0, proc.stderr
    for leak in LEAKS:
        assert leak not in proc.stdout + proc.stderr
