"""`ConfigError`: every problem found while loading the configuration, each naming its key.

PolymarketBotError
 └── ConfigError   the configuration is unusable; the operator fixes a file or a variable
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from polymarket_bot.core.errors import PolymarketBotError


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: which key, where its value came from, and why it is refused."""

    path: str
    """Dotted key path (`risk.max_order_notional`), or a file name for a file-level problem."""
    source: str
    """`default`, the YAML file (`config/runtime.yaml`), `.env`, `env`, `cli`."""
    reason: str
    origin: str | None = None
    """The variable name when the source is `.env` or `env` (`SERVICE_WS_ASSET_LIMIT`)."""

    def describe(self) -> str:
        where = f"{self.source} {self.origin}" if self.origin else self.source
        return f"{self.path} ({where}): {self.reason}"


class ConfigError(PolymarketBotError):
    """The configuration was refused. `str()` is one `config error: ...` line per issue."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(f"config error: {issue.describe()}" for issue in self.issues)
