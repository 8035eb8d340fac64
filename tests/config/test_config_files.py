"""The shipped files agree with the code: config/runtime.yaml, .env.example and docs/CONFIG.md."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from polymarket_bot.config import RunMode, load_settings
from polymarket_bot.config.settings import ENV_VARS, default_tree, is_hot_reloadable
from polymarket_bot.config.sources import flatten_mapping

REPO = Path(__file__).resolve().parents[2]
RUNTIME_YAML = REPO / "config" / "runtime.yaml"
ENV_EXAMPLE = REPO / ".env.example"
CONFIG_MD = REPO / "docs" / "CONFIG.md"
SEED_TEMPLATE_KEYS = (  # seed §17
    "POLY_OFFLINE_MODE",
    "POLY_DRY_RUN",
    "CLOB_REST_URL",
    "CLOB_WS_URL",
    "SERVICE_USE_ORDER_WS",
    "SERVICE_USE_ORDER_REST_FALLBACK",
    "POLYMARKET_API_KEY",
    "POLYMARKET_API_SECRET",
    "POLYMARKET_API_PASSPHRASE",
    "POLY_PRIVATE_KEY",
)
NOT_IN_YAML_EXAMPLE = {
    # Secrets belong in the environment; config_dir cannot be set by the file it locates.
    "credentials.private_key",
    "credentials.api_key",
    "credentials.api_secret",
    "credentials.api_passphrase",
    "alert.password",
    "alert.webhook_url",
    "monitor.control_token",
    "paths.config_dir",
}


def uncommented_example() -> str:
    """runtime.yaml with its example lines (`# ...`) enabled; prose lines (`## ...`) dropped."""
    lines = []
    for line in RUNTIME_YAML.read_text(encoding="utf-8").splitlines():
        if line.startswith("##"):
            continue
        if line.startswith("# ") or line == "#":
            lines.append(line[2:])
        else:
            assert not line.strip(), f"active line in the shipped runtime.yaml: {line!r}"
    return "\n".join(lines) + "\n"


def test_shipped_runtime_yaml_loads_and_changes_nothing(isolated: Path) -> None:
    (isolated / "config").mkdir()
    shutil.copy(RUNTIME_YAML, isolated / "config" / "runtime.yaml")

    loaded = load_settings()

    assert loaded.config_file is not None
    assert {cv.source for cv in loaded.values.values()} == {"default"}


def test_the_commented_example_is_valid_and_covers_every_key(isolated: Path) -> None:
    (isolated / "config").mkdir()
    example = uncommented_example()
    (isolated / "config" / "runtime.yaml").write_text(example, encoding="utf-8")

    loaded = load_settings()

    from_yaml = {k for k, cv in loaded.values.items() if cv.source == "config/runtime.yaml"}
    expected = {k for k, _ in flatten_mapping(default_tree())} - NOT_IN_YAML_EXAMPLE
    assert expected <= from_yaml
    assert (
        loaded.settings.trading.strategy_order_frequency.for_strategy("market_maker").max_orders
        == 30
    )
    parsed = yaml.safe_load(example)
    assert set(parsed) == set(default_tree())


def test_env_example_has_the_seed_template_and_every_variable() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    active = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )

    for key in SEED_TEMPLATE_KEYS:
        assert key in active, key
    for key in (*ENV_VARS, "POLY_CONFIG_FILE"):
        assert re.search(rf"^#? ?{key}=", text, re.MULTILINE), key
    # Secrets ship empty.
    for key in ("POLY_PRIVATE_KEY", "POLYMARKET_API_KEY", "POLYMARKET_API_SECRET"):
        assert active[key] == ""


def test_env_example_copied_to_dotenv_runs_offline(isolated: Path) -> None:
    shutil.copy(ENV_EXAMPLE, isolated / ".env")

    loaded = load_settings()

    assert loaded.env_file == isolated / ".env"
    assert loaded.run_mode is RunMode.OFFLINE
    assert loaded.settings.service.use_order_ws and loaded.settings.service.use_order_rest_fallback
    assert loaded.warnings == ()


def test_config_md_documents_every_key_variable_and_reload_class() -> None:
    text = CONFIG_MD.read_text(encoding="utf-8")
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"^\| `([a-z_.]+)` \|[^|]*\|[^|]*\| (hot|restart) \|", text, re.MULTILINE
        )
    }

    for key, _ in flatten_mapping({k: v for k, v in default_tree().items() if k != "strategies"}):
        assert key in rows, f"{key} missing from docs/CONFIG.md"
        assert rows[key] == ("hot" if is_hot_reloadable(key) else "restart"), key
    for name in (*ENV_VARS, "POLY_CONFIG_FILE"):
        assert f"`{name}`" in text, name
