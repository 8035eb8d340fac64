"""config layer: defaults (`settings.py`), validated model, layered loader, hot reload.

from polymarket_bot.config import load_settings
loaded = load_settings()          # ConfigError on any bad key
settings = loaded.settings        # frozen Settings
settings.run_mode                 # RunMode.OFFLINE | DRY_RUN | LIVE
"""

from polymarket_bot.config.errors import ConfigError, ConfigIssue
from polymarket_bot.config.loader import ConfigValue, LoadedConfig, build_settings, load_settings
from polymarket_bot.config.model import Settings, StrategySettings
from polymarket_bot.config.reload import ConfigReloader, ReloadResult
from polymarket_bot.core.modes import RunMode

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "ConfigReloader",
    "ConfigValue",
    "LoadedConfig",
    "ReloadResult",
    "RunMode",
    "Settings",
    "StrategySettings",
    "build_settings",
    "load_settings",
]
