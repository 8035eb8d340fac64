"""Reading the configuration sources: the YAML file, `.env` and the environment, each turned into
(key path, value, origin) assignments. Problems become `ConfigIssue`s, never tracebacks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from polymarket_bot.config import settings as defaults
from polymarket_bot.config.errors import ConfigIssue

SOURCE_DEFAULT = "default"
SOURCE_DOTENV = ".env"
SOURCE_ENV = "env"
SOURCE_CLI = "cli"


@dataclass(frozen=True)
class Assignment:
    path: str
    value: Any
    origin: str | None = None
    """The variable name for environment assignments."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def display_path(path: Path, base_dir: Path) -> str:
    """`config/runtime.yaml` for a file under the base directory, else the absolute path."""
    try:
        return path.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_yaml(path: Path, label: str) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """The YAML mapping in `path` (empty file = empty mapping) or the issues that refuse it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, [ConfigIssue(label, label, f"cannot read the file: {exc.strerror or exc}")]
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        return {}, [ConfigIssue(label, label, _describe_yaml_error(exc))]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        kind = type(data).__name__
        return {}, [ConfigIssue(label, label, f"the top level must be a mapping, not {kind}")]
    bad = _non_string_keys(data, "")
    if bad:
        return {}, [ConfigIssue(p or label, label, "keys must be strings") for p in bad]
    return data, []


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    detail = f"{context}; {problem}" if context else problem
    return f"invalid YAML{where}: {detail}"


def _non_string_keys(data: Mapping[Any, Any], prefix: str) -> list[str]:
    bad: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            bad.append(f"{prefix}{key!r}")
        elif isinstance(value, Mapping):
            bad.extend(_non_string_keys(value, f"{prefix}{key}."))
    return bad


def flatten_mapping(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested mapping -> (dotted path, leaf value); an empty mapping is a leaf."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten_mapping(value, f"{path}.")
        else:
            yield path, value


def read_dotenv(path: Path) -> dict[str, str]:
    """Variables in a `.env` file; a missing file is empty. Empty values count as unset."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value}


def _parse_structured(value: str) -> Any:
    """`[a, b]` / `{k: v}` in a variable -> list / dict; anything else stays a string."""
    if value.lstrip().startswith(("[", "{")):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def environment_assignments(
    variables: Mapping[str, str], source: str, default_tree: Mapping[str, Any]
) -> tuple[list[Assignment], list[str]]:
    """Known variables -> assignments; unknown ones with our prefixes -> warnings (typos)."""
    assignments: list[Assignment] = []
    warnings: list[str] = []
    for name in sorted(variables):
        value = variables[name]
        if not value:
            continue  # an empty variable counts as unset (the .env template has empty keys)
        if name in defaults.ENV_VARS:
            path = defaults.ENV_VARS[name]
            if isinstance(_lookup(default_tree, path), list):
                assignments.append(Assignment(path, _parse_structured(value), name))
            else:
                assignments.append(Assignment(path, value, name))
        elif name.startswith(defaults.GENERIC_ENV_PREFIX):
            parts = name[len(defaults.GENERIC_ENV_PREFIX) :].lower().split("__")
            if all(parts):
                assignments.append(Assignment(".".join(parts), _parse_structured(value), name))
            else:
                warnings.append(f"{source}: ignored {name}: empty key segment")
        elif name == defaults.CONFIG_FILE_ENV:
            continue
        elif name.startswith(defaults.OUR_ENV_PREFIXES):
            guess = difflib.get_close_matches(name, [*defaults.ENV_VARS, "POLY_CONFIG_FILE"], n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            warnings.append(f"{source}: unknown variable {name} ignored{hint}")
    return assignments, warnings


def _lookup(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
