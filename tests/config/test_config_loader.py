"""Loading: defaults, layering with provenance, validation that names the key, mode resolution."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from polymarket_bot.config import (
    ConfigError,
    RunMode,
    Settings,
    build_settings,
    load_settings,
)
from polymarket_bot.config.settings import DEFAULT_RUNTIME, LIVE_HOSTS, default_tree

KEY = "0x" + "ab" * 32
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
PASSPHRASE = "f" * 64
LIVE_ENV = {
    "POLY_LIVE_CONFIRM": "true",
    "POLY_PRIVATE_KEY": KEY,
    "POLYMARKET_API_KEY": "11111111-2222-3333-4444-555555555555",
    "POLYMARKET_API_SECRET": SECRET,
    "POLYMARKET_API_PASSPHRASE": PASSPHRASE,
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[tuple[str, str]]:
    return [(issue.path, issue.source) for issue in excinfo.value.issues]


def test_no_configuration_at_all_gives_the_defaults_in_offline_mode(isolated: Path) -> None:
    loaded = load_settings()

    assert loaded.run_mode is RunMode.OFFLINE
    assert loaded.config_file is None and loaded.env_file is None
    assert {cv.source for cv in loaded.values.values()} == {"default"}
    s = loaded.settings
    assert s.risk.max_order_notional == Decimal(DEFAULT_RUNTIME["risk"]["max_order_notional"])
    assert s.trading.order_frequency.max_orders == 120
    assert s.trading.strategy_order_frequency.global_.max_orders == 60
    assert s.logging.file == isolated / "logs" / "polymarket.log"
    assert s.logging.max_bytes == 10 * 1024 * 1024 and s.logging.backup_count == 5
    assert s.database.url == f"sqlite:///{isolated / 'reports' / 'polymarket.db'}"
    assert s.venue.clob_rest_url == "" and s.venue.uses_simulator
    assert list(s.enabled_strategies()) == ["market_maker"]


def test_every_default_key_is_in_the_snapshot(isolated: Path) -> None:
    loaded = load_settings()
    from polymarket_bot.config.sources import flatten_mapping

    expected = {path for path, _ in flatten_mapping(default_tree())}
    assert expected == set(loaded.values)


def test_precedence_defaults_yaml_dotenv_env_cli(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        isolated / "config" / "runtime.yaml",
        "risk:\n  max_order_notional: 400\n  min_order_notional: 2\n"
        "service:\n  ws_asset_limit: 11\n  rest_max_concurrency: 3\n"
        "trading:\n  interval_seconds: 5\n",
    )
    write(isolated / ".env", "SERVICE_WS_ASSET_LIMIT=22\nSERVICE_REST_MAX_CONCURRENCY=7\n")
    monkeypatch.setenv("SERVICE_REST_MAX_CONCURRENCY", "9")

    loaded = load_settings(overrides={"trading.interval_seconds": 2})

    v = loaded.values
    assert v["risk.var_allowed_loss"] == (Decimal("500"), "default")
    assert v["risk.max_order_notional"] == (Decimal("400"), "config/runtime.yaml")
    assert v["service.ws_asset_limit"] == (22, ".env")
    assert v["service.rest_max_concurrency"] == (9, "env")
    assert v["trading.interval_seconds"] == (2.0, "cli")
    assert loaded.describe_source("service.rest_max_concurrency") == (
        "env SERVICE_REST_MAX_CONCURRENCY"
    )
    assert loaded.settings.service.rest_max_concurrency == 9
    assert loaded.config_file == isolated / "config" / "runtime.yaml"
    assert loaded.env_file == isolated / ".env"


def test_yaml_mappings_merge_key_by_key(isolated: Path) -> None:
    write(
        isolated / "config" / "runtime.yaml",
        "strategies:\n  momentum:\n    enabled: true\n"
        "  mm_wide:\n    kind: market_maker\n    enabled: true\n    params: {spread: 0.04}\n"
        "trading:\n  strategy_order_frequency:\n    per_strategy:\n"
        "      momentum: {interval_seconds: 30, max_orders: 2}\n",
    )

    s = load_settings().settings

    assert s.strategies["momentum"].enabled and s.strategies["momentum"].kind == "momentum"
    assert s.strategies["market_maker"].enabled  # untouched default survives the merge
    assert s.strategies["mm_wide"].kind_for("mm_wide") == "market_maker"
    assert s.strategies["mm_wide"].params == {"spread": 0.04}
    freq = s.trading.strategy_order_frequency
    assert freq.for_strategy("momentum").max_orders == 2
    assert freq.for_strategy("market_maker").max_orders == 20  # falls back to `default`


def test_environment_names_from_the_seed_map_to_their_keys(isolated: Path) -> None:
    env = {
        "POLY_DRY_RUN": "true",
        "POLY_OFFLINE_MODE": "false",
        "CLOB_REST_URL": "http://127.0.0.1:9000/",
        "CLOB_WS_URL": "ws://127.0.0.1:9001/ws",
        "GAMMA_API_URL": "http://127.0.0.1:9002",
        "SERVICE_USE_WS": "false",
        "SERVICE_WS_ASSET_LIMIT": "7",
        "SERVICE_WS_STATIC_ASSETS": "111, 222,,333",
        "SERVICE_WS_MIN_SCORE": "0.5",
        "SERVICE_WS_HOT_STICKY_SECONDS": "12",
        "SERVICE_WS_HOT_TTL_SECONDS": "34",
        "SERVICE_WS_HIT_BOOST": "2.5",
        "SERVICE_REST_MAX_CONCURRENCY": "2",
        "SERVICE_REST_RATE_LIMIT_PER_SEC": "1.5",
        "SERVICE_USE_ORDER_WS": "0",
        "SERVICE_USE_ORDER_REST_FALLBACK": "no",
        "ORDER_REST_POLL_SECONDS": "3",
        "ORDER_REST_POLL_LIMIT": "9",
        "PROXY_ENABLED": "true",
        "PROXY_URL": "socks5://user:pw@127.0.0.1:1080",
        "POLY_REPORTS_DIR": "out/reports",
        "POLY_CHAIN_ID": "80002",
    }

    s = load_settings(environ=env).settings

    assert s.run_mode is RunMode.DRY_RUN
    assert s.venue.clob_rest_url == "http://127.0.0.1:9000"
    assert s.venue.clob_ws_url == "ws://127.0.0.1:9001/ws"
    assert s.venue.chain_id == 80002
    sv = s.service
    assert (sv.use_ws, sv.ws_asset_limit, sv.ws_static_assets) == (False, 7, ("111", "222", "333"))
    assert (sv.ws_min_score, sv.ws_hot_sticky_seconds, sv.ws_hot_ttl_seconds) == (0.5, 12, 34)
    assert (sv.ws_hit_boost, sv.rest_max_concurrency, sv.rest_rate_limit_per_sec) == (2.5, 2, 1.5)
    assert (sv.use_order_ws, sv.use_order_rest_fallback) == (False, False)
    assert (sv.order_rest_poll_seconds, sv.order_rest_poll_limit) == (3, 9)
    assert sv.proxy == "socks5://user:pw@127.0.0.1:1080"
    assert s.paths.reports_dir == isolated / "out" / "reports"
    assert s.database.url.endswith("out/reports/polymarket.db")  # SQLite next to the reports


def test_generic_variables_reach_any_key(isolated: Path) -> None:
    env = {
        "POLY__RISK__MAX_ORDER_NOTIONAL": "250",
        "POLY__STRATEGIES__MOMENTUM__ENABLED": "true",
        "POLY__ALERT__TO_EMAIL": "[a@example.org, b@example.org]",
    }

    loaded = load_settings(environ=env)

    assert loaded.settings.risk.max_order_notional == Decimal("250")
    assert loaded.settings.strategies["momentum"].enabled
    assert loaded.settings.alert.to_email == ("a@example.org", "b@example.org")
    assert loaded.describe_source("risk.max_order_notional") == (
        "env POLY__RISK__MAX_ORDER_NOTIONAL"
    )


def test_empty_variables_count_as_unset(isolated: Path) -> None:
    write(isolated / ".env", "POLY_PRIVATE_KEY=\nPOLYMARKET_API_KEY=\nPOLY_DRY_RUN=\n")

    loaded = load_settings(environ={"CLOB_REST_URL": ""})

    assert loaded.settings.credentials.private_key is None
    assert loaded.values["credentials.api_key"].source == "default"
    assert loaded.run_mode is RunMode.OFFLINE


def test_real_hosts_are_the_default_only_outside_offline(isolated: Path) -> None:
    offline = load_settings(environ={}).settings.venue
    dry = load_settings(environ={"POLY_DRY_RUN": "true"}).settings.venue

    assert (offline.clob_rest_url, offline.clob_ws_url, offline.gamma_api_url) == ("", "", "")
    assert dry.clob_rest_url == LIVE_HOSTS["clob_rest_url"] == "https://clob.polymarket.com"
    assert dry.clob_ws_url == "wss://ws-subscriptions-clob.polymarket.com/ws"
    assert dry.gamma_api_url == "https://gamma-api.polymarket.com"


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, RunMode.OFFLINE),
        ({"POLY_OFFLINE_MODE": "true"}, RunMode.OFFLINE),
        ({"POLY_DRY_RUN": "true"}, RunMode.DRY_RUN),
        ({"POLY_OFFLINE_MODE": "false", "POLY_DRY_RUN": "true"}, RunMode.DRY_RUN),
        (LIVE_ENV, RunMode.LIVE),
        ({**LIVE_ENV, "POLY_OFFLINE_MODE": "false"}, RunMode.LIVE),
    ],
)
def test_run_mode_from_the_flags(isolated: Path, env: dict[str, str], mode: RunMode) -> None:
    assert load_settings(environ=env).run_mode is mode


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"POLY_OFFLINE_MODE": "true", "POLY_DRY_RUN": "true"}, "mode.dry_run"),
        ({**LIVE_ENV, "POLY_OFFLINE_MODE": "true"}, "mode.live_confirm"),
        ({**LIVE_ENV, "POLY_DRY_RUN": "true"}, "mode.live_confirm"),
        ({"POLY_OFFLINE_MODE": "false"}, "mode.offline_mode"),
    ],
)
def test_conflicting_mode_flags_are_refused(
    isolated: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ=env)

    assert (named, "env") in issues_of(excinfo)
    assert "config error: " + named in str(excinfo.value)


@pytest.mark.parametrize(
    "missing",
    [
        "POLY_PRIVATE_KEY",
        "POLYMARKET_API_KEY",
        "POLYMARKET_API_SECRET",
        "POLYMARKET_API_PASSPHRASE",
    ],
)
def test_live_without_every_key_is_refused(isolated: Path, missing: str) -> None:
    env = {k: v for k, v in LIVE_ENV.items() if k != missing}

    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ=env)

    [issue] = excinfo.value.issues
    assert issue.source == "default"
    assert f"LIVE trading requires {missing}" in issue.reason


def test_dry_run_needs_no_keys(isolated: Path) -> None:
    s = load_settings(environ={"POLY_DRY_RUN": "1"}).settings
    assert s.run_mode is RunMode.DRY_RUN and not s.credentials.has_api_credentials


def test_unknown_yaml_key_is_refused_and_named_with_a_hint(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "risk:\n  max_ordr_notional: 5\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    assert str(excinfo.value) == (
        "config error: risk.max_ordr_notional (config/runtime.yaml): "
        "unknown key; did you mean risk.max_order_notional?"
    )


def test_unknown_section_is_refused(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "riks:\n  x: 1\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    assert issues_of(excinfo) == [("riks", "config/runtime.yaml")]
    assert "did you mean risk?" in str(excinfo.value)


def test_wrong_types_are_refused_naming_key_and_source(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        isolated / "config" / "runtime.yaml",
        "risk:\n  max_order_notional: lots\ntrading:\n  order_frequency: {max_orders: -1}\n",
    )
    monkeypatch.setenv("SERVICE_WS_ASSET_LIMIT", "many")

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    text = str(excinfo.value)
    assert "config error: risk.max_order_notional (config/runtime.yaml): Input should be" in text
    assert (
        "trading.order_frequency.max_orders (config/runtime.yaml): Input should be greater" in text
    )
    assert "service.ws_asset_limit (env SERVICE_WS_ASSET_LIMIT): Input should be a valid" in text
    assert len(excinfo.value.issues) == 3  # every problem at once


def test_bad_yaml_is_refused_with_its_position(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "risk:\n  max_order_notional: [1\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    [issue] = excinfo.value.issues
    assert issue.path == "config/runtime.yaml" and "invalid YAML at line" in issue.reason


def test_duplicate_yaml_keys_are_refused(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "risk:\n  var_window: 5\n  var_window: 6\n")

    with pytest.raises(ConfigError, match="duplicate key 'var_window'"):
        load_settings()


@pytest.mark.parametrize("text", ["- a\n- b\n", "42\n"])
def test_yaml_top_level_must_be_a_mapping(isolated: Path, text: str) -> None:
    write(isolated / "config" / "runtime.yaml", text)

    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        load_settings()


def test_sections_with_every_child_commented_out_change_nothing(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "risk:\n#  var_window: 3\nalert: {}\npaths: 7\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    assert issues_of(excinfo) == [("paths", "config/runtime.yaml")]


def test_empty_yaml_file_means_defaults(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "# nothing\n")
    assert load_settings().config_file is not None


def test_named_config_file_must_exist(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLY_CONFIG_FILE", "elsewhere/mine.yaml")

    with pytest.raises(ConfigError, match=r"elsewhere/mine\.yaml .*config file not found"):
        load_settings()


def test_config_file_can_be_named_by_environment_or_argument(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(isolated / "a.yaml", "risk: {var_window: 11}\n")
    write(isolated / "b.yaml", "risk: {var_window: 22}\n")
    monkeypatch.setenv("POLY_CONFIG_FILE", str(isolated / "a.yaml"))

    assert load_settings().settings.risk.var_window == 11
    assert load_settings(config_file="b.yaml").settings.risk.var_window == 22


def test_config_dir_cannot_be_set_by_the_file_it_locates(isolated: Path) -> None:
    write(isolated / "config" / "runtime.yaml", "paths: {config_dir: other}\n")

    with pytest.raises(ConfigError, match=r"paths\.config_dir"):
        load_settings()


def test_cross_field_rules_name_the_key_that_was_set(isolated: Path) -> None:
    write(
        isolated / "config" / "runtime.yaml",
        "alert: {use_tls: true}\nservice: {proxy_enabled: true}\nrisk: {min_order_notional: 900}\n",
    )

    with pytest.raises(ConfigError) as excinfo:
        load_settings()

    assert set(issues_of(excinfo)) == {
        ("alert.use_tls", "config/runtime.yaml"),
        ("service.proxy_enabled", "config/runtime.yaml"),
        ("risk.min_order_notional", "config/runtime.yaml"),
    }


def test_email_alerts_need_a_recipient(isolated: Path) -> None:
    with pytest.raises(ConfigError, match=r"alert.enable_email \(env POLY__ALERT__ENABLE_EMAIL\)"):
        load_settings(environ={"POLY__ALERT__ENABLE_EMAIL": "true"})


def test_smart_wallet_signature_types_need_a_funder(isolated: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"credentials.signature_type \(env POLY_SIGNATURE_TYPE\)"
    ):
        load_settings(environ={"POLY_SIGNATURE_TYPE": "2"})
    funder = "0x" + "12" * 20
    s = load_settings(environ={"POLY_SIGNATURE_TYPE": "2", "POLY_FUNDER": funder}).settings
    assert s.credentials.funder == funder


def test_a_malformed_private_key_is_refused_without_echoing_it(isolated: Path) -> None:
    bad = "0x" + "zz" * 32

    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={"POLY_PRIVATE_KEY": bad})

    assert "credentials.private_key (env POLY_PRIVATE_KEY)" in str(excinfo.value)
    assert bad not in str(excinfo.value) and "zzzz" not in repr(excinfo.value.issues)


def test_secrets_are_secretstr_and_never_in_repr(isolated: Path) -> None:
    s = load_settings(environ=LIVE_ENV).settings

    assert isinstance(s.credentials.api_secret, SecretStr)
    assert s.credentials.api_secret.get_secret_value() == SECRET
    assert s.credentials.private_key is not None
    assert s.credentials.private_key.get_secret_value() == KEY
    for text in (repr(s), str(s)):
        assert SECRET not in text and KEY[2:] not in text and PASSPHRASE not in text
    assert set(s.secret_values()) >= {KEY, SECRET, PASSPHRASE}


def test_private_key_without_0x_is_normalised(isolated: Path) -> None:
    s = load_settings(environ={"POLY_PRIVATE_KEY": ("AB" * 32)}).settings
    assert s.credentials.private_key is not None
    assert s.credentials.private_key.get_secret_value() == KEY


def test_unknown_variables_with_our_prefixes_are_warned(isolated: Path) -> None:
    loaded = load_settings(environ={"POLY_DRYRUN": "true", "HOME": "/x"})

    assert loaded.run_mode is RunMode.OFFLINE
    assert loaded.warnings == (
        "env: unknown variable POLY_DRYRUN ignored (did you mean POLY_DRY_RUN?)",
    )


def test_database_url_relative_sqlite_path_and_mysql(isolated: Path) -> None:
    rel = build_settings({"database.url": "sqlite:///data/x.db"}, base_dir=isolated)
    mysql = build_settings({"database.url": "mysql+pymysql://u:pw@db:3306/poly"})
    memory = build_settings({"database.url": "sqlite:///:memory:"})

    assert rel.database.url == f"sqlite:///{isolated / 'data' / 'x.db'}"
    assert mysql.database.url == "mysql+pymysql://u:pw@db:3306/poly"
    assert "pw" in mysql.secret_values()
    assert memory.database.url == "sqlite:///:memory:"
    with pytest.raises(ConfigError, match=r"database\.url"):
        build_settings({"database.url": "reports/polymarket.db"})


def test_settings_are_frozen(isolated: Path) -> None:
    s = build_settings()
    with pytest.raises(ValidationError):
        s.risk.max_order_notional = Decimal(1)  # type: ignore[misc]


def test_settings_reads_no_environment_by_itself(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLY_DRY_RUN", "true")
    tree = default_tree()
    tree["database"]["url"] = "sqlite://"
    tree["risk"]["kill_switch_file"] = "KILL"
    for key in ("reports_dir", "logs_dir", "run_dir", "config_dir"):
        tree["paths"][key] = key

    assert Settings.model_validate(tree).run_mode is RunMode.OFFLINE
    assert build_settings().run_mode is RunMode.OFFLINE


def test_public_surface() -> None:
    import polymarket_bot.config as config

    assert config.__all__ == sorted(config.__all__)
    assert all(hasattr(config, name) for name in config.__all__)
