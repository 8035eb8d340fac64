"""`load_settings()`: defaults < config/runtime.yaml < .env < environment < command-line overrides,
validated into a frozen `Settings`, with the source of every key.

    loaded = load_settings()                 # raises ConfigError naming each bad key
    loaded.settings.risk.max_order_notional  # Decimal
    loaded.values["risk.max_order_notional"] # ConfigValue(value=Decimal('500'), source='default')
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from polymarket_bot.config import settings as defaults
from polymarket_bot.config.errors import ConfigError, ConfigIssue
from polymarket_bot.config.model import ModeSettings, RuleViolation, Settings, resolve_run_mode
from polymarket_bot.config.sources import (
    SOURCE_CLI,
    SOURCE_DEFAULT,
    SOURCE_DOTENV,
    SOURCE_ENV,
    display_path,
    environment_assignments,
    flatten_mapping,
    read_dotenv,
    read_yaml,
)
from polymarket_bot.core.modes import RunMode

_PATH_KEYS = (
    "paths.reports_dir",
    "paths.logs_dir",
    "paths.run_dir",
    "paths.config_dir",
    "logging.file",
    "risk.kill_switch_file",
)


class ConfigValue(NamedTuple):
    value: Any
    source: str


@dataclass(frozen=True)
class LoadedConfig:
    """The validated settings plus where each value came from."""

    settings: Settings
    values: Mapping[str, ConfigValue]
    """Flat `key path -> (value, source)`, sorted by key; secrets are `SecretStr`."""
    base_dir: Path
    config_file: Path | None
    """The YAML file that was read (None: there was none)."""
    env_file: Path | None
    """The `.env` file that was read (None: there was none)."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """Key path -> the variable that set it, for `.env` and `env` sources."""
    warnings: tuple[str, ...] = ()

    @property
    def run_mode(self) -> RunMode:
        return self.settings.run_mode

    def describe_source(self, path: str) -> str:
        """`env SERVICE_USE_WS`, `config/runtime.yaml`, `default`..."""
        source = self.values[path].source
        origin = self.origins.get(path)
        return f"{source} {origin}" if origin else source


class _Layers:
    """A nested dict being built layer by layer, remembering who set each path."""

    def __init__(self, tree: dict[str, Any]) -> None:
        self.tree = tree
        self.sources: dict[str, str] = {}
        self.origins: dict[str, str] = {}

    def set(self, path: str, value: Any, source: str, origin: str | None = None) -> None:
        parts = path.split(".")
        node = self.tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
        # A later layer that replaces a whole subtree also replaces the provenance below it.
        for known in [k for k in self.sources if k.startswith(path + ".")]:
            del self.sources[known]
            self.origins.pop(known, None)
        self.sources[path] = source
        if origin:
            self.origins[path] = origin
        else:
            self.origins.pop(path, None)

    def merge(self, data: Mapping[str, Any], source: str, prefix: str = "") -> None:
        """Deep-merge a mapping (the YAML): mappings merge key by key, anything else replaces."""
        for key, value in data.items():
            path = f"{prefix}{key}"
            current = self.get(path)
            if (
                isinstance(current, dict)
                and current
                and (value is None or isinstance(value, Mapping))
            ):
                # A section whose children are all commented out is null: it changes nothing.
                self.merge(value or {}, source, f"{path}.")
            elif value is None and current == {}:
                continue  # `params:` with nothing under it
            else:
                self.set(path, _plain(value), source)

    def get(self, path: str) -> Any:
        node: Any = self.tree
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def source_of(self, path: str) -> tuple[str, str | None]:
        """The source of `path`: its own, else its nearest ancestor's, else the defaults."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.sources:
                return self.sources[prefix], self.origins.get(prefix)
        return SOURCE_DEFAULT, None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def load_settings(
    *,
    base_dir: Path | str | None = None,
    config_file: Path | str | None = None,
    env_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    read_files: bool = True,
) -> LoadedConfig:
    """Load, merge and validate the configuration; raise `ConfigError` listing every problem.

    base_dir: where relative paths resolve and `config/`, `.env` are looked up (default: cwd).
    config_file: the YAML to read (default: $POLY_CONFIG_FILE, else <config_dir>/runtime.yaml;
        a missing default file is fine, a missing named file is an error).
    environ: the process environment (default `os.environ`; pass `{}` to ignore it).
    overrides: `{"trading.interval_seconds": 30}` from the command line (highest precedence).
    read_files: False = defaults + environ + overrides only (tests, tools).
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    base = base.resolve()
    env = dict(os.environ if environ is None else environ)
    layers = _Layers(defaults.default_tree())
    issues: list[ConfigIssue] = []
    warnings: list[str] = []

    dotenv_path = (
        (Path(env_file) if env_file else base / defaults.ENV_FILE_NAME) if read_files else None
    )
    dotenv_vars = read_dotenv(dotenv_path) if dotenv_path is not None else {}
    env_assignments, env_warnings = environment_assignments(env, SOURCE_ENV, layers.tree)
    dotenv_assignments, dotenv_warnings = environment_assignments(
        dotenv_vars, SOURCE_DOTENV, layers.tree
    )
    warnings += dotenv_warnings + env_warnings

    yaml_path, yaml_label, required = None, "", False
    if read_files:
        yaml_path, required = _choose_config_file(config_file, env, dotenv_vars, base)
        yaml_label = display_path(yaml_path, base)
        if yaml_path.is_file():
            data, yaml_issues = read_yaml(yaml_path, yaml_label)
            issues += yaml_issues
            paths = data.get("paths")
            if isinstance(paths, dict) and "config_dir" in paths:
                issues.append(
                    ConfigIssue(
                        "paths.config_dir",
                        yaml_label,
                        "cannot be set in the file it locates; use POLY_CONFIG_DIR or "
                        "POLY_CONFIG_FILE",
                    )
                )
            else:
                layers.merge(data, yaml_label)
        elif required:
            issues.append(ConfigIssue(yaml_label, yaml_label, "config file not found"))
            yaml_path = None
        else:
            yaml_path = None

    for assignment in dotenv_assignments:
        layers.set(assignment.path, assignment.value, SOURCE_DOTENV, assignment.origin)
    for assignment in env_assignments:
        layers.set(assignment.path, assignment.value, SOURCE_ENV, assignment.origin)
    for path, value in (overrides or {}).items():
        layers.set(path, value, SOURCE_CLI)

    if issues:
        raise ConfigError(issues)

    _fill_mode_defaults(layers)
    _resolve_paths(layers, base)
    settings = _validate(layers)
    values = {
        path: ConfigValue(value, layers.source_of(path)[0])
        for path, value in sorted(flatten_mapping(settings.model_dump(by_alias=True)))
    }
    origins = {path: o for path in values if (o := layers.source_of(path)[1]) is not None}
    return LoadedConfig(
        settings=settings,
        values=values,
        base_dir=base,
        config_file=yaml_path,
        env_file=dotenv_path if dotenv_path is not None and dotenv_path.is_file() else None,
        origins=origins,
        warnings=tuple(warnings),
    )


def build_settings(
    overrides: Mapping[str, Any] | None = None, *, base_dir: Path | str = "."
) -> Settings:
    """Defaults plus dotted-path overrides; no files, no environment (for tests and tools)."""
    return load_settings(
        base_dir=base_dir, environ={}, overrides=overrides, read_files=False
    ).settings


def _choose_config_file(
    explicit: Path | str | None, env: Mapping[str, str], dotenv: Mapping[str, str], base: Path
) -> tuple[Path, bool]:
    """(the YAML path, whether it must exist)."""
    named = explicit or env.get(defaults.CONFIG_FILE_ENV) or dotenv.get(defaults.CONFIG_FILE_ENV)
    if named:
        path = Path(named).expanduser()
        return (path if path.is_absolute() else base / path), True
    config_dir = Path(
        env.get("POLY_CONFIG_DIR") or dotenv.get("POLY_CONFIG_DIR") or defaults.PATHS["config_dir"]
    ).expanduser()
    if not config_dir.is_absolute():
        config_dir = base / config_dir
    return config_dir / defaults.CONFIG_FILE_NAME, False


def _fill_mode_defaults(layers: _Layers) -> None:
    """In DRY-RUN and LIVE an empty endpoint means the real Polymarket host."""
    try:
        mode = ModeSettings.model_validate(layers.get("mode"))
    except ValidationError:
        return  # reported by the full validation
    if resolve_run_mode(mode)[0] is RunMode.OFFLINE:
        return
    for key, host in defaults.LIVE_HOSTS.items():
        path = f"venue.{key}"
        if layers.get(path) in (None, ""):
            layers.set(path, host, SOURCE_DEFAULT)


_SQLITE_FILE = re.compile(r"^(?P<scheme>sqlite(?:\+\w+)?):///(?P<path>[^?]*)(?P<query>\?.*)?$")


def _resolve_paths(layers: _Layers, base: Path) -> None:
    """Relative paths resolve against the base directory, so a later chdir changes nothing."""
    for path in _PATH_KEYS:
        value = layers.get(path)
        if isinstance(value, (str, Path)):
            if str(value) == "" and path == "logging.file":
                _replace(layers, path, None)  # empty = no log file
                continue
            resolved = Path(value).expanduser()
            _replace(layers, path, resolved if resolved.is_absolute() else base / resolved)
    reports = layers.get("paths.reports_dir")
    url = layers.get("database.url")
    if url in (None, ""):
        if not isinstance(reports, Path):  # a broken paths section is reported on its own
            reports = base / defaults.PATHS["reports_dir"]
        _replace(layers, "database.url", f"sqlite:///{reports / 'polymarket.db'}")
    elif isinstance(url, str) and (match := _SQLITE_FILE.match(url)):
        file = match.group("path")
        if file and file != ":memory:" and not Path(file).is_absolute():
            query = match.group("query") or ""
            _replace(layers, "database.url", f"{match.group('scheme')}:///{base / file}{query}")


def _replace(layers: _Layers, path: str, value: Any) -> None:
    """Change a value without changing who set it."""
    parent, _, leaf = path.rpartition(".")
    node = layers.get(parent)
    if isinstance(node, dict):
        node[leaf] = value


def _validate(layers: _Layers) -> Settings:
    try:
        return Settings.model_validate(layers.tree)
    except ValidationError as exc:
        raise ConfigError(_issues_from(exc, layers)) from None


def _issues_from(exc: ValidationError, layers: _Layers) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"] if "[" not in str(part)]
        violation = (error.get("ctx") or {}).get("error")
        if isinstance(violation, RuleViolation):
            for rule in violation.issues:
                candidates = [".".join([*loc, rel]) for rel in (rule.path, *rule.related)]
                # Name the key the operator set, not a default it collides with.
                chosen = next(
                    (p for p in candidates if layers.source_of(p)[0] != SOURCE_DEFAULT),
                    candidates[0],
                )
                issues.append(ConfigIssue(chosen, *_source(layers, chosen, rule.reason)))
        else:
            path = ".".join(loc) or "<root>"
            reason = _reason(error["type"], error["msg"], loc)
            issues.append(ConfigIssue(path, *_source(layers, path, reason)))
    return issues


def _source(layers: _Layers, path: str, reason: str) -> tuple[str, str, str | None]:
    source, origin = layers.source_of(path)
    return source, reason, origin


def _reason(kind: str, message: str, loc: list[str]) -> str:
    if kind == "extra_forbidden":
        parent = ".".join(loc[:-1])
        siblings = _known_keys(parent)
        guess = difflib.get_close_matches(loc[-1], siblings, n=1)
        hint = f"; did you mean {'.'.join([*loc[:-1], guess[0]])}?" if guess else ""
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    return message.removeprefix("Value error, ")


def _known_keys(parent: str) -> list[str]:
    node: Any = defaults.default_tree()
    for part in parent.split(".") if parent else []:
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    return list(node) if isinstance(node, dict) else []
