"""Built-in defaults, as plain data (seed §14, §18, §19: `DEFAULT_RUNTIME`, `DB_CONFIG`, logging).

Layering (lowest first): these defaults < `config/runtime.yaml` < `.env` < process environment
< command-line overrides. `config/model.py` validates the merged result; `docs/CONFIG.md` documents
every key. Money is written as strings so that it becomes an exact `Decimal`.

Relative paths are resolved against the working directory (the loader's `base_dir`).
"""

from __future__ import annotations

import copy
from typing import Any, Final

# -- run mode ------------------------------------------------------------------------------------
# offline_mode None = "not set": OFFLINE unless POLY_DRY_RUN or POLY_LIVE_CONFIRM says otherwise.
MODE: Final[dict[str, Any]] = {
    "offline_mode": None,
    "dry_run": False,
    "live_confirm": False,
}

# -- venue endpoints -----------------------------------------------------------------------------
# Empty URLs in OFFLINE mode mean "start the built-in simulator on loopback"; in DRY-RUN and LIVE
# an empty URL is replaced by the real host below.
VENUE: Final[dict[str, Any]] = {
    "clob_rest_url": "",
    "clob_ws_url": "",
    "gamma_api_url": "",
    "chain_id": 137,
}

LIVE_HOSTS: Final[dict[str, str]] = {
    "clob_rest_url": "https://clob.polymarket.com",
    # Base URL; the market and user channels are `<base>/market` and `<base>/user`.
    "clob_ws_url": "wss://ws-subscriptions-clob.polymarket.com/ws",
    "gamma_api_url": "https://gamma-api.polymarket.com",
}

# -- credentials (never put real values here; use the environment or .env) -----------------------
CREDENTIALS: Final[dict[str, Any]] = {
    "private_key": None,
    "api_key": None,
    "api_secret": None,
    "api_passphrase": None,
    "signature_type": 0,  # 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271
    "funder": "",  # maker address for signature types 1-3; empty = the signing key's address
}

# -- the runtime sections (seed: DEFAULT_RUNTIME with trading, risk, alert, service) ---------------
DEFAULT_RUNTIME: Final[dict[str, Any]] = {
    "trading": {
        "interval_seconds": 60.0,  # decision loop period (`trade --interval N` overrides)
        "paper_balance": "10000",  # starting pUSD balance in OFFLINE and DRY-RUN
        "cancel_on_stop": True,  # cancel our open orders on a clean stop
        "max_order_notional": "100",  # strategy intents above this are scaled down to it
        "max_open_orders": 50,  # per process, all markets
        "max_open_orders_per_market": 10,
        # Every order the process submits, all strategies and markets together.
        "order_frequency": {"interval_seconds": 60.0, "max_orders": 120},
        "strategy_order_frequency": {
            # All strategies together.
            "global": {"interval_seconds": 60.0, "max_orders": 60},
            # Each strategy; `default` applies to strategies without their own entry.
            "per_strategy": {"default": {"interval_seconds": 60.0, "max_orders": 20}},
            # Each strategy x market x side (seed §16 example: 3 orders per 60 s).
            "per_market_side": {"default": {"interval_seconds": 60.0, "max_orders": 3}},
        },
    },
    "risk": {
        "var_allowed_loss": "500",  # reject when the order's potential VaR loss exceeds this
        "var_confidence": 0.95,
        "var_window": 100,  # price samples used for the VaR estimate
        "liquidity_balance_fraction": "0.015",  # max allocation per order, fraction of balance
        "liquidity_depth_fraction": "0.25",  # max share of the visible depth on our side
        "liquidity_volatility_floor": "0.5",  # lowest volatility adjustment of the allocation
        "min_order_notional": "1",
        "max_order_notional": "500",  # hard reject above this
        "max_exposure_per_market": "1000",
        "max_exposure_per_event": "2000",
        "max_total_exposure": "5000",
        "daily_loss_stop": "500",  # stop opening risk after this loss within a UTC day
        "drawdown_stop": "1000",  # stop opening risk after this drop from the equity peak
        "stale_data_seconds": 30.0,  # no new orders on a book older than this
        "kill_switch_file": "run/KILL",  # if this file exists: cancel all, open nothing
    },
    "alert": {
        "enable_email": False,
        "smtp_server": "localhost",
        "smtp_port": 587,
        "username": "",
        "password": None,
        "from_email": "",  # empty = username, or polymarket-bot@localhost
        "to_email": [],
        "subject": "[Py-Polymarket] alert",
        "use_tls": False,  # implicit TLS (usually port 465)
        "use_starttls": True,  # STARTTLS upgrade (usually port 587)
        "timeout_seconds": 10.0,
        "webhook_url": None,
        "order_rest_errors_threshold": 5,  # alert when orders_rest.errors >= this and growing
        "fallback_max_seconds": 300.0,  # alert when REST fallback lasts longer than this
        "cooldown_seconds": 600.0,  # minimum gap between two alerts of the same rule
    },
    "service": {
        "use_ws": True,
        "ws_asset_limit": 50,  # most assets subscribed on the market WS at once
        "ws_static_assets": [],  # token ids always subscribed
        "ws_min_score": 0.0,  # hot-subscription score below which an asset is dropped
        "ws_hot_sticky_seconds": 300.0,  # a hot asset stays subscribed at least this long
        "ws_hot_ttl_seconds": 900.0,  # a hot asset without hits is dropped after this
        "ws_hit_boost": 1.0,  # score added per strategy hit
        "ws_ping_interval_seconds": 10.0,
        "rest_max_concurrency": 4,
        "rest_rate_limit_per_sec": 5.0,
        "request_timeout_seconds": 10.0,
        "use_order_ws": True,
        "use_order_rest_fallback": True,
        "order_rest_poll_seconds": 10.0,
        "order_rest_poll_limit": 50,
        "proxy_enabled": False,
        "proxy_url": "",
    },
    # name -> {kind, enabled, markets, params}. `kind` defaults to the name; `markets` empty = all
    # markets the service selects; `params` go to the strategy's own parameter model.
    "strategies": {
        "market_maker": {"kind": "market_maker", "enabled": True, "markets": [], "params": {}},
        "complement_arb": {"kind": "complement_arb", "enabled": False, "markets": [], "params": {}},
        "momentum": {"kind": "momentum", "enabled": False, "markets": [], "params": {}},
    },
}

# -- storage (seed §18) --------------------------------------------------------------------------
# url None = `sqlite:///<reports_dir>/polymarket.db` (SQLite next to the reports, i.e.
# sqlite:///reports/polymarket.db by default). MySQL: mysql+pymysql://user:password@host:3306/db
DB_CONFIG: Final[dict[str, Any]] = {
    "url": None,
    "echo": False,
}

# -- logging (seed §14) --------------------------------------------------------------------------
LOGGING: Final[dict[str, Any]] = {
    "level": "INFO",
    "file": "logs/polymarket.log",
    "max_bytes": 10 * 1024 * 1024,
    "backup_count": 5,
    "console": True,
}

# -- monitor (dashboard) -------------------------------------------------------------------------
MONITOR: Final[dict[str, Any]] = {
    "host": "127.0.0.1",
    "port": 8888,
    "control_token": None,  # required by the dashboard's control endpoints (pause, cancel-all)
}

# -- paths ---------------------------------------------------------------------------------------
PATHS: Final[dict[str, Any]] = {
    "reports_dir": "reports",
    "logs_dir": "logs",
    "run_dir": "run",  # pid files, reload requests
    "config_dir": "config",  # where runtime.yaml is looked up (environment only)
}

CONFIG_FILE_NAME: Final = "runtime.yaml"
ENV_FILE_NAME: Final = ".env"

# -- environment variables -> key paths ----------------------------------------------------------
# Exact names from the seed and DESIGN.md §2, plus ours (POLY_*). Any key can also be set with
# POLY__<SECTION>__<KEY> (double underscores), e.g. POLY__RISK__MAX_ORDER_NOTIONAL=250.
ENV_VARS: Final[dict[str, str]] = {
    "POLY_OFFLINE_MODE": "mode.offline_mode",
    "POLY_DRY_RUN": "mode.dry_run",
    "POLY_LIVE_CONFIRM": "mode.live_confirm",
    "POLY_PRIVATE_KEY": "credentials.private_key",
    "POLYMARKET_API_KEY": "credentials.api_key",
    "POLYMARKET_API_SECRET": "credentials.api_secret",
    "POLYMARKET_API_PASSPHRASE": "credentials.api_passphrase",
    "POLY_SIGNATURE_TYPE": "credentials.signature_type",
    "POLY_FUNDER": "credentials.funder",
    "CLOB_REST_URL": "venue.clob_rest_url",
    "CLOB_WS_URL": "venue.clob_ws_url",
    "GAMMA_API_URL": "venue.gamma_api_url",
    "POLY_CHAIN_ID": "venue.chain_id",
    "SERVICE_USE_WS": "service.use_ws",
    "SERVICE_WS_ASSET_LIMIT": "service.ws_asset_limit",
    "SERVICE_WS_STATIC_ASSETS": "service.ws_static_assets",
    "SERVICE_WS_MIN_SCORE": "service.ws_min_score",
    "SERVICE_WS_HOT_STICKY_SECONDS": "service.ws_hot_sticky_seconds",
    "SERVICE_WS_HOT_TTL_SECONDS": "service.ws_hot_ttl_seconds",
    "SERVICE_WS_HIT_BOOST": "service.ws_hit_boost",
    "SERVICE_REST_MAX_CONCURRENCY": "service.rest_max_concurrency",
    "SERVICE_REST_RATE_LIMIT_PER_SEC": "service.rest_rate_limit_per_sec",
    "SERVICE_USE_ORDER_WS": "service.use_order_ws",
    "SERVICE_USE_ORDER_REST_FALLBACK": "service.use_order_rest_fallback",
    "ORDER_REST_POLL_SECONDS": "service.order_rest_poll_seconds",
    "ORDER_REST_POLL_LIMIT": "service.order_rest_poll_limit",
    "PROXY_ENABLED": "service.proxy_enabled",
    "PROXY_URL": "service.proxy_url",
    "POLY_DB_URL": "database.url",
    "POLY_REPORTS_DIR": "paths.reports_dir",
    "POLY_LOGS_DIR": "paths.logs_dir",
    "POLY_RUN_DIR": "paths.run_dir",
    "POLY_CONFIG_DIR": "paths.config_dir",
    "POLY_LOG_LEVEL": "logging.level",
    "POLY_LOG_FILE": "logging.file",
    "POLY_MONITOR_HOST": "monitor.host",
    "POLY_MONITOR_PORT": "monitor.port",
    "POLY_CONTROL_TOKEN": "monitor.control_token",
    "POLY_ALERT_EMAIL_PASSWORD": "alert.password",
    "POLY_ALERT_WEBHOOK_URL": "alert.webhook_url",
}

# Selects the YAML file itself, so it is not a setting.
CONFIG_FILE_ENV: Final = "POLY_CONFIG_FILE"
GENERIC_ENV_PREFIX: Final = "POLY__"
# Unknown variables with these prefixes are reported as probable typos (warnings).
OUR_ENV_PREFIXES: Final = ("POLY_", "POLYMARKET_", "CLOB_", "GAMMA_", "SERVICE_", "ORDER_REST_")

# -- hot reload ----------------------------------------------------------------------------------
# Keys a running trader applies on `config reload`; every other key needs a restart (mode, keys,
# URLs, database, paths, ports, connection-level switches). A prefix ending in "." covers a section.
HOT_RELOAD_KEYS: Final[tuple[str, ...]] = (
    "trading.",
    "risk.",
    "strategies.",
    "alert.",
    "logging.level",
    "service.ws_asset_limit",
    "service.ws_static_assets",
    "service.ws_min_score",
    "service.ws_hot_sticky_seconds",
    "service.ws_hot_ttl_seconds",
    "service.ws_hit_boost",
    "service.rest_rate_limit_per_sec",
    "service.use_order_rest_fallback",
    "service.order_rest_poll_seconds",
    "service.order_rest_poll_limit",
)


def is_hot_reloadable(key_path: str) -> bool:
    return any(
        key_path.startswith(prefix) if prefix.endswith(".") else key_path == prefix
        for prefix in HOT_RELOAD_KEYS
    )


def default_tree() -> dict[str, Any]:
    """Every default as one nested dict (a fresh deep copy: callers may mutate it)."""
    tree: dict[str, Any] = {
        "mode": MODE,
        "venue": VENUE,
        "credentials": CREDENTIALS,
        **DEFAULT_RUNTIME,
        "database": DB_CONFIG,
        "logging": LOGGING,
        "monitor": MONITOR,
        "paths": PATHS,
    }
    return copy.deepcopy(tree)
