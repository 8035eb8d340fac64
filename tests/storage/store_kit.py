"""Store test helpers: deterministic sample records (the seed §16 shapes plus our fields), the
subprocess environment, and the MariaDB availability rule."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from mariadb_server import find_binaries

from polymarket_bot.config.settings import (
    CONFIG_FILE_ENV,
    ENV_VARS,
    GENERIC_ENV_PREFIX,
    OUR_ENV_PREFIXES,
)
from polymarket_bot.storage.fields import iso_from_datetime

MARKETS = ("SIM-1", "SIM-2", "SIM-3")
ORDER_EVENTS = ("submit", "partial", "filled", "cancel", "reject")


def order(i: int, when: datetime, rng: random.Random) -> dict[str, Any]:
    event = ORDER_EVENTS[i % len(ORDER_EVENTS)]
    return {
        "timestamp": iso_from_datetime(when),
        "event": event,
        "market_id": MARKETS[i % len(MARKETS)],
        "action": "yes" if i % 2 == 0 else "no",
        "size": float(rng.randint(1, 500)) + 0.5,
        "price": Decimal(rng.randint(1, 99)) / 100,
        "reason": "strategy_rate_limit" if event == "reject" else None,
        "metadata": {"interval_seconds": 60, "max_orders": 3, "current_window": i % 4},
        "runtime_mode": "dry-run",
        "status": event,
        "source": "rest_poll",
        "order_id": f"0x{i:064x}",
        "strategy": "market_maker",
        "side": "BUY" if i % 3 else "SELL",
    }


def trade(i: int, when: datetime, rng: random.Random) -> dict[str, Any]:
    shares = Decimal(rng.randint(1, 20_000)) / 100
    price = Decimal(rng.randint(1, 99)) / 100
    return {
        "timestamp": iso_from_datetime(when),
        "order_id": f"0x{i // 2:064x}",
        "market_id": MARKETS[i % len(MARKETS)],
        "action": "yes" if i % 2 == 0 else "no",
        "filled_shares": shares,
        "average_price": price,
        "notional": shares * price,
        "status": "filled" if i % 2 else "partial",
        "execution_mode": "order_ws",
        "trade_id": f"t-{i}",
        "fee": Decimal("0.01"),
        "external": i % 7 == 0,
    }


def fill(i: int, when: datetime) -> dict[str, Any]:
    return {
        "timestamp": iso_from_datetime(when),
        "event": "entry" if i % 2 == 0 else "exit",
        "market_id": MARKETS[i % len(MARKETS)],
        "side": "yes",
        "notional": 200.0,
        "fill_price": 0.56,
        "reference_price": 0.55,
        "slippage": 0.01,
        "fees": 0.2,
        "execution_mode": "dry-run",
        "mid": 0.555,
        "spread": 0.02,
        "shares": 357.14,
    }


def risk(i: int, when: datetime) -> dict[str, Any]:
    stamp = iso_from_datetime(when)
    return {
        "timestamp": stamp,
        "market_id": MARKETS[i % len(MARKETS)],
        "action": "no",
        "size": 150.0,
        "approved": i % 2 == 0,
        "risk": {
            "timestamp": stamp,
            "portfolio_balance": 10000.0,
            "order_size": 150.0,
            "factors": {"var": {"approved": True, "var": -0.013}},
            "approved": i % 2 == 0,
            "rejections": [] if i % 2 == 0 else ["liquidity"],
        },
    }


def exit_(i: int, when: datetime) -> dict[str, Any]:
    return {
        "timestamp": iso_from_datetime(when),
        "market_id": MARKETS[i % len(MARKETS)],
        "action": "yes",
        "shares": Decimal("10.5"),
        "entry_price": Decimal("0.42"),
        "exit_price": Decimal("0.55"),
        "pnl": Decimal("1.365"),
        "fees": Decimal("0.02"),
        "reason": "exit",
        "fill_id": f"fill-{i}",
    }


def positions(n: int, when: datetime) -> dict[str, Any]:
    return {
        "updated_at": iso_from_datetime(when),
        "cash": Decimal("9876.543210"),
        "exposure": Decimal("123.45"),
        "unrealized_pnl": Decimal("-1.5"),
        "positions": [
            {
                "market_id": MARKETS[k % len(MARKETS)],
                "action": "yes",
                "token_id": str(10**70 + k),
                "shares": Decimal("100"),
                "average_price": Decimal("0.5"),
                "mark": Decimal("0.49"),
                "unrealized_pnl": Decimal("-1"),
                "cost": Decimal("50"),
            }
            for k in range(n)
        ],
    }


def base_time() -> datetime:
    return datetime(2025, 10, 13, 10, 0, tzinfo=timezone.utc)


def spaced(start: datetime, i: int, seconds: float = 30.0) -> datetime:
    return start + timedelta(seconds=seconds * i)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_mariadb_binaries() -> None:
    """Skip when MariaDB is not installed; FAIL under CI=true (the MySQL path must be tested)."""
    if find_binaries() is None:
        message = "MariaDB server not installed (apt-get install mariadb-server)"
        if in_ci():
            pytest.fail(f"{message}; required under CI=true")
        pytest.skip(message)


def clean_environ() -> dict[str, str]:
    """os.environ without any variable the configuration would read (for subprocesses)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_VARS
        and k != CONFIG_FILE_ENV
        and not k.startswith(GENERIC_ENV_PREFIX)
        and not k.startswith(OUR_ENV_PREFIXES)
    }
