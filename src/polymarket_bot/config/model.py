"""The validated, frozen settings tree (pydantic v2). Defaults live in `settings.py`, not here:
every field is required so that the loader's merged defaults are the only source of values.

Unknown keys are refused (`extra="forbid"`), wrong types are refused, and unsafe combinations
(mode conflicts, LIVE without keys, ...) are refused by `RuleViolation`s that name their keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from polymarket_bot.core.modes import RunMode
from polymarket_bot.core.redaction import url_password


@dataclass(frozen=True)
class RuleIssue:
    """A broken cross-field rule. `path` is relative to the model that checks it; the loader reports
    whichever of `path` and `related` the operator actually set (not a default)."""

    path: str
    reason: str
    related: tuple[str, ...] = ()


class RuleViolation(ValueError):
    """Raised by validators for cross-field rules; carries `RuleIssue`s so the loader can name the
    exact keys (pydantic alone would only name the section)."""

    def __init__(self, issues: list[RuleIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{issue.path}: {issue.reason}" for issue in issues))


def _split_csv(value: Any) -> Any:
    """`"a, b,,c"` -> `("a", "b", "c")`: lists may come from environment variables."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _url_checker(*schemes: str) -> AfterValidator:
    def check(value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not any(value.startswith(f"{scheme}://") for scheme in schemes):
            raise ValueError(
                f"must be empty or start with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    return AfterValidator(check)


def _check_private_key(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    raw = value.get_secret_value().strip()
    if not raw:
        return None
    bare = raw[2:] if raw.lower().startswith("0x") else raw
    if not re.fullmatch(r"[0-9a-fA-F]{64}", bare):
        # Never echo the value: it may be a real key with a typo.
        raise ValueError("must be 0x followed by 64 hex digits (a 32-byte private key)")
    return SecretStr("0x" + bare.lower())


def _empty_secret_is_none(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().strip():
        return None
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
Port = Annotated[int, Field(ge=1, le=65535)]
StrList = Annotated[tuple[str, ...], BeforeValidator(_split_csv)]
Secret = Annotated[SecretStr | None, AfterValidator(_empty_secret_is_none)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ModeSettings(Section):
    offline_mode: bool | None
    dry_run: bool
    live_confirm: bool


def resolve_run_mode(mode: ModeSettings) -> tuple[RunMode, list[RuleIssue]]:
    """The run mode from the three flags, and the conflicts (key path, reason) if any.

    OFFLINE unless POLY_DRY_RUN=true (DRY-RUN) or POLY_LIVE_CONFIRM=true (LIVE). An explicit
    POLY_OFFLINE_MODE=true next to either is a conflict, so is DRY-RUN with a live confirmation,
    and so is POLY_OFFLINE_MODE=false with neither (it would silently mean LIVE, per the seed).
    """
    issues: list[RuleIssue] = []
    offline, dry, live = "mode.offline_mode", "mode.dry_run", "mode.live_confirm"
    if mode.offline_mode is True and mode.dry_run:
        issues.append(
            RuleIssue(dry, "POLY_OFFLINE_MODE and POLY_DRY_RUN are both true: pick one", (offline,))
        )
    if mode.offline_mode is True and mode.live_confirm:
        issues.append(
            RuleIssue(
                live, "POLY_OFFLINE_MODE and POLY_LIVE_CONFIRM are both true: pick one", (offline,)
            )
        )
    if mode.dry_run and mode.live_confirm:
        issues.append(
            RuleIssue(live, "POLY_DRY_RUN and POLY_LIVE_CONFIRM are both true: pick one", (dry,))
        )
    if mode.offline_mode is False and not mode.dry_run and not mode.live_confirm:
        issues.append(
            RuleIssue(
                offline,
                "POLY_OFFLINE_MODE=false needs POLY_DRY_RUN=true (paper trading on real data) "
                "or POLY_LIVE_CONFIRM=true (real orders)",
            )
        )
    if mode.offline_mode is True:
        return RunMode.OFFLINE, issues
    if mode.dry_run:
        return RunMode.DRY_RUN, issues
    if mode.live_confirm:
        return RunMode.LIVE, issues
    return RunMode.OFFLINE, issues


class VenueSettings(Section):
    clob_rest_url: Annotated[str, _url_checker("http", "https")]
    clob_ws_url: Annotated[str, _url_checker("ws", "wss")]
    gamma_api_url: Annotated[str, _url_checker("http", "https")]
    chain_id: PositiveInt

    @property
    def uses_simulator(self) -> bool:
        """Empty REST URL (OFFLINE only): the trader starts the built-in simulator."""
        return not self.clob_rest_url


class CredentialSettings(Section):
    private_key: Annotated[SecretStr | None, AfterValidator(_check_private_key)]
    api_key: Secret
    api_secret: Secret
    api_passphrase: Secret
    signature_type: Annotated[int, Field(ge=0, le=3)]
    funder: str

    @field_validator("funder")
    @classmethod
    def _check_funder(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError("must be empty or an address: 0x followed by 40 hex digits")
        return value

    @model_validator(mode="after")
    def _funder_for_smart_wallets(self) -> CredentialSettings:
        if self.signature_type in (1, 2) and not self.funder:
            reason = f"signature_type {self.signature_type} needs the funder address (POLY_FUNDER)"
            raise RuleViolation([RuleIssue("funder", reason, ("signature_type",))])
        return self

    @property
    def has_api_credentials(self) -> bool:
        return None not in (self.api_key, self.api_secret, self.api_passphrase)


class FrequencyLimit(Section):
    interval_seconds: Seconds
    max_orders: PositiveInt


class StrategyOrderFrequency(Section):
    global_: FrequencyLimit = Field(alias="global")
    per_strategy: dict[str, FrequencyLimit]
    per_market_side: dict[str, FrequencyLimit]

    @model_validator(mode="after")
    def _defaults_present(self) -> StrategyOrderFrequency:
        missing = [
            RuleIssue(
                f"{scope}.default", "required: the limit for strategies without their own entry"
            )
            for scope in ("per_strategy", "per_market_side")
            if "default" not in getattr(self, scope)
        ]
        if missing:
            raise RuleViolation(missing)
        return self

    def for_strategy(self, name: str) -> FrequencyLimit:
        return self.per_strategy.get(name, self.per_strategy["default"])

    def for_market_side(self, strategy: str) -> FrequencyLimit:
        return self.per_market_side.get(strategy, self.per_market_side["default"])


class TradingSettings(Section):
    interval_seconds: Seconds
    paper_balance: Money
    cancel_on_stop: bool
    max_order_notional: Money
    max_open_orders: PositiveInt
    max_open_orders_per_market: PositiveInt
    order_frequency: FrequencyLimit
    strategy_order_frequency: StrategyOrderFrequency


class RiskSettings(Section):
    var_allowed_loss: Money
    var_confidence: Annotated[float, Field(gt=0, lt=1)]
    var_window: Annotated[int, Field(ge=2)]
    liquidity_balance_fraction: Fraction
    liquidity_depth_fraction: Fraction
    liquidity_volatility_floor: Fraction
    min_order_notional: Money
    max_order_notional: Money
    max_exposure_per_market: Money
    max_exposure_per_event: Money
    max_total_exposure: Money
    daily_loss_stop: Money
    drawdown_stop: Money
    stale_data_seconds: Seconds
    kill_switch_file: Path

    @model_validator(mode="after")
    def _ordered_limits(self) -> RiskSettings:
        issues: list[RuleIssue] = []
        if self.min_order_notional > self.max_order_notional:
            issues.append(
                RuleIssue(
                    "min_order_notional",
                    "risk.min_order_notional must not exceed risk.max_order_notional",
                    ("max_order_notional",),
                )
            )
        for name in ("max_exposure_per_market", "max_exposure_per_event"):
            if getattr(self, name) > self.max_total_exposure:
                reason = f"risk.{name} must not exceed risk.max_total_exposure"
                issues.append(RuleIssue(name, reason, ("max_total_exposure",)))
        if issues:
            raise RuleViolation(issues)
        return self


class AlertSettings(Section):
    enable_email: bool
    smtp_server: str
    smtp_port: Port
    username: str
    password: Secret
    from_email: str
    to_email: StrList
    subject: str
    use_tls: bool
    use_starttls: bool
    timeout_seconds: Seconds
    webhook_url: Secret
    order_rest_errors_threshold: PositiveInt
    fallback_max_seconds: Seconds
    cooldown_seconds: NonNegSeconds

    @model_validator(mode="after")
    def _usable_email(self) -> AlertSettings:
        issues: list[RuleIssue] = []
        if self.use_tls and self.use_starttls:
            reason = "use_tls and use_starttls are exclusive: pick one"
            issues.append(RuleIssue("use_starttls", reason, ("use_tls",)))
        if self.enable_email and not self.to_email:
            reason = "to_email is required when enable_email is true"
            issues.append(RuleIssue("to_email", reason, ("enable_email",)))
        if self.enable_email and not self.smtp_server:
            reason = "smtp_server is required when enable_email is true"
            issues.append(RuleIssue("smtp_server", reason, ("enable_email",)))
        if issues:
            raise RuleViolation(issues)
        return self

    @property
    def sender(self) -> str:
        return self.from_email or self.username or "polymarket-bot@localhost"


class ServiceSettings(Section):
    use_ws: bool
    ws_asset_limit: PositiveInt
    ws_static_assets: StrList
    ws_min_score: Annotated[float, Field(allow_inf_nan=False)]
    ws_hot_sticky_seconds: NonNegSeconds
    ws_hot_ttl_seconds: Seconds
    ws_hit_boost: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    ws_ping_interval_seconds: Seconds
    rest_max_concurrency: PositiveInt
    rest_rate_limit_per_sec: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    """0 = no client-side rate limit."""
    request_timeout_seconds: Seconds
    use_order_ws: bool
    use_order_rest_fallback: bool
    order_rest_poll_seconds: Seconds
    order_rest_poll_limit: PositiveInt
    proxy_enabled: bool
    proxy_url: Annotated[str, _url_checker("http", "https", "socks5", "socks5h")]

    @model_validator(mode="after")
    def _proxy_complete(self) -> ServiceSettings:
        if self.proxy_enabled and not self.proxy_url:
            reason = "proxy_url is required when proxy_enabled is true"
            raise RuleViolation([RuleIssue("proxy_url", reason, ("proxy_enabled",))])
        return self

    @property
    def proxy(self) -> str | None:
        """The proxy URL to use, or None."""
        return self.proxy_url if self.proxy_enabled else None


class StrategySettings(Section):
    kind: str | None = None
    """Which built-in strategy runs (defaults to the entry's name): several entries may share one
    kind with different params."""
    enabled: bool = False
    markets: StrList = ()
    """Market filter (condition ids, token ids or slugs); empty = every market the service picks."""
    params: dict[str, JsonValue] = Field(default_factory=dict)
    """Validated by the strategy's own parameter model; its defaults apply to missing params."""

    def kind_for(self, name: str) -> str:
        return self.kind or name


class DatabaseSettings(Section):
    url: str
    echo: bool

    @field_validator("url")
    @classmethod
    def _looks_like_url(cls, value: str) -> str:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+]*://", value):
            raise ValueError("must be an SQLAlchemy URL, e.g. sqlite:///reports/polymarket.db")
        return value


class LoggingSettings(Section):
    level: LogLevel
    file: Path | None
    """None disables the log file (console only)."""
    max_bytes: PositiveInt
    backup_count: NonNegInt
    console: bool


class MonitorSettings(Section):
    host: str
    port: Port
    control_token: Secret


class PathSettings(Section):
    reports_dir: Path
    logs_dir: Path
    run_dir: Path
    config_dir: Path


_STRATEGY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class Settings(BaseSettings):
    """The whole configuration. Build it with `config.load_settings()` (which layers defaults, YAML,
    .env and environment with provenance); `Settings(...)` itself reads no environment."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    mode: ModeSettings
    venue: VenueSettings
    credentials: CredentialSettings
    trading: TradingSettings
    risk: RiskSettings
    alert: AlertSettings
    service: ServiceSettings
    strategies: dict[str, StrategySettings]
    database: DatabaseSettings
    logging: LoggingSettings
    monitor: MonitorSettings
    paths: PathSettings

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The loader layers the sources itself so it can report where each value came from.
        return (init_settings,)

    @field_validator("strategies")
    @classmethod
    def _strategy_names(cls, value: dict[str, StrategySettings]) -> dict[str, StrategySettings]:
        bad = [name for name in value if not _STRATEGY_NAME.match(name)]
        if bad:
            reason = "strategy names are letters, digits, _ and -"
            raise RuleViolation([RuleIssue(name, reason) for name in bad])
        return value

    @model_validator(mode="after")
    def _safe_combination(self) -> Settings:
        run_mode, issues = resolve_run_mode(self.mode)
        if run_mode is RunMode.LIVE and not issues:
            for name in ("private_key", "api_key", "api_secret", "api_passphrase"):
                if getattr(self.credentials, name) is None:
                    var = (
                        "POLY_PRIVATE_KEY"
                        if name == "private_key"
                        else f"POLYMARKET_{name.upper()}"
                    )
                    issues.append(RuleIssue(f"credentials.{name}", f"LIVE trading requires {var}"))
        if issues:
            raise RuleViolation(issues)
        return self

    @property
    def run_mode(self) -> RunMode:
        return resolve_run_mode(self.mode)[0]

    def enabled_strategies(self) -> dict[str, StrategySettings]:
        return {name: s for name, s in self.strategies.items() if s.enabled}

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this configuration holds, to register with the log redaction."""
        secrets = (
            self.credentials.private_key,
            self.credentials.api_key,
            self.credentials.api_secret,
            self.credentials.api_passphrase,
            self.alert.password,
            self.alert.webhook_url,
            self.monitor.control_token,
        )
        found = [secret.get_secret_value() for secret in secrets if secret is not None]
        found += [url_password(self.database.url) or "", url_password(self.service.proxy_url) or ""]
        return tuple(value for value in found if value)
