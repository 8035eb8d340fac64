"""The run mode: which venue orders go to. Resolved once, from the configuration, at startup.

Strategies never see it; storage writes its value as `runtime_mode` (seed §16: `"dry-run"`).
"""

from __future__ import annotations

import enum


class RunMode(str, enum.Enum):
    OFFLINE = "offline"
    """The built-in simulator plays the venue; orders take the LIVE code path over loopback."""
    DRY_RUN = "dry-run"
    """Real market data; orders are filled in-process by the local fill model."""
    LIVE = "live"
    """Real market data; signed orders go to the real venue."""

    @property
    def uses_real_market_data(self) -> bool:
        return self is not RunMode.OFFLINE

    @property
    def sends_real_orders(self) -> bool:
        return self is RunMode.LIVE
