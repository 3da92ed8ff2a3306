"""Settings: ``[tool.dab-guard]`` in the bundle root's ``pyproject.toml``, or ``.dab-guard.toml``, plus options."""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dab_guard.finding import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # mypy checks this branch on 3.11 too


class ConfigError(Exception):
    """A configuration file or option dab-guard cannot use: exit status 2."""


class RuleNames(Protocol):
    """What reading settings asks of the rules, handed in by the caller (settings sit below the rules):
    whether selectors name rules, and the id a rule id or name stands for."""

    def check_selectors(self, selectors: list[str], where: str) -> None:
        """Raise ConfigError for a selector that matches no rule."""
        ...

    def rule_id(self, text: str) -> str | None: ...


# Every key the configuration may hold; anything else is an error so that typos do not silently do nothing.
KNOWN_KEYS = frozenset(
    {
        "select",
        "ignore",
        "severity",
        "per-file-ignores",
        "strict",
        "mlflow-version",
        "cluster-policies",
        "limits",
    }
)
# The bounds under [limits] (see dab_guard.bundle.yamlread.Limits); a misspelt one would silently bound nothing.
LIMIT_KEYS = frozenset({"max-file-bytes", "max-nodes", "max-depth", "max-python-bytes"})


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)  # empty: every rule
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    strict: bool = False
    mlflow_version: str | None = None
    cluster_policies: dict[str, str] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    source: str | None = None  # the file the settings came from
    # The --jobs option: processes that parse files and check targets side by side. None (the command line's
    # default): files are parsed on every core, targets checked one after another; 1: one process for everything.
    jobs: int | None = 1
    # The workspace session of an `--online` run (dab_guard.workspace.session.OnlineSession, which the workspace
    # rules ask for facts); None offline. Settings sit below the workspace layer, so the type is not named here.
    online: object | None = field(default=None, repr=False, compare=False)
    # Rule selectors as written, with where (select, ignore, per-file-ignores): the engine checks each names a rule.
    # ``severity`` keys stay as written (ids or names) until the engine has turned them into ids.
    selectors_written: list[tuple[list[str], str]] = field(default_factory=list, repr=False, compare=False)
    rule_names_checked: bool = field(default=False, repr=False, compare=False)

    def rule_enabled(self, rule_id: str, rule_name: str) -> bool:
        if self.select and not matches(rule_id, rule_name, self.select):
            return False
        return not matches(rule_id, rule_name, self.ignore)

    def ignored_in_file(self, rule_id: str, rule_name: str, file: str) -> bool:
        for pattern, rules in self.per_file_ignores.items():
            if fnmatch.fnmatch(file, pattern) and matches(rule_id, rule_name, rules):
                return True
        return False


def matches(rule_id: str, rule_name: str, selectors: list[str]) -> bool:
    """A selector is a rule id, an id prefix (``DG1``), a rule name, or ``ALL``."""
    for selector in selectors:
        s = selector.strip()
        if s.upper() == "ALL" or rule_id.startswith(s.upper()) or s == rule_name:
            return True
    return False


def find_config_file(bundle_root: Path) -> tuple[Path, bool] | None:
    """``.dab-guard.toml`` first, then a ``pyproject.toml`` with a ``[tool.dab-guard]`` table."""
    dedicated = bundle_root / ".dab-guard.toml"
    if dedicated.is_file():
        return dedicated, False
    pyproject = bundle_root / "pyproject.toml"
    if pyproject.is_file():
        return pyproject, True
    return None


def load_settings(bundle_root: Path, explicit: Path | None = None, rules: RuleNames | None = None) -> Settings:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
        return _read(explicit, explicit.name == "pyproject.toml", rules)
    found = find_config_file(bundle_root)
    if found is None:
        return Settings()
    return _read(*found, rules)


def _read(path: Path, is_pyproject: bool, rules: RuleNames | None) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    if is_pyproject:
        table = data.get("tool", {}).get("dab-guard")
        if table is None:
            return Settings()
    else:
        table = data.get("tool", {}).get("dab-guard", data) if "tool" in data else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.dab-guard] must be a table")
    return parse_table(table, str(path), rules)


def parse_table(table: dict[str, Any], source: str, rules: RuleNames | None = None) -> Settings:
    """Settings from a ``[tool.dab-guard]`` table. With ``rules``, rule names are checked as they are read (the
    command line hands the registry in); without, the engine checks them before a run."""
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown configuration key(s): {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    settings = Settings(source=source)
    settings.select = _str_list(table, "select", source)
    settings.ignore = _str_list(table, "ignore", source)
    settings.selectors_written += [(settings.select, f"{source}: select"), (settings.ignore, f"{source}: ignore")]
    if rules is not None:
        rules.check_selectors(settings.select, f"{source}: select")
        rules.check_selectors(settings.ignore, f"{source}: ignore")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{source}: 'severity' must be a table of rule = \"error|warning|info\"")
    for rule, level in severity.items():
        key = str(rule)
        if rules is not None:
            rule_id = rules.rule_id(key)
            if rule_id is None:
                raise ConfigError(f"{source}: severity.{rule}: no rule has this id or name (see `dab-guard rules`)")
            key = rule_id
        try:
            settings.severity[key] = Severity.parse(str(level))
        except ValueError as exc:
            raise ConfigError(f"{source}: severity.{rule}: {exc}") from None
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict) or not all(isinstance(v, list) for v in per_file.values()):
        raise ConfigError(f"{source}: 'per-file-ignores' must be a table of glob = [rule ids]")
    settings.per_file_ignores = {str(k): [str(x) for x in v] for k, v in per_file.items()}
    for pattern, selectors in settings.per_file_ignores.items():
        settings.selectors_written.append((selectors, f'{source}: per-file-ignores."{pattern}"'))
        if rules is not None:
            rules.check_selectors(selectors, f'{source}: per-file-ignores."{pattern}"')
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{source}: 'strict' must be true or false")
    settings.strict = strict
    mlflow_version = table.get("mlflow-version")
    if mlflow_version is not None and not isinstance(mlflow_version, str):
        raise ConfigError(f"{source}: 'mlflow-version' must be a string such as \"3.1\"")
    settings.mlflow_version = mlflow_version
    policies = table.get("cluster-policies", {})
    if not isinstance(policies, dict) or not all(isinstance(v, str) for v in policies.values()):
        raise ConfigError(f"{source}: 'cluster-policies' must be a table of \"policy id or name\" = \"path/to/definition.json\"")
    settings.cluster_policies = dict(policies)
    limits = table.get("limits", {})
    if not isinstance(limits, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits.values()):
        raise ConfigError(f"{source}: 'limits' must be a table of positive integers")
    unknown_limits = sorted(set(limits) - LIMIT_KEYS)
    if unknown_limits:
        raise ConfigError(f"{source}: unknown limit {', '.join(unknown_limits)} (known: {', '.join(sorted(LIMIT_KEYS))})")
    settings.limits = dict(limits)
    settings.rule_names_checked = rules is not None
    return settings


def _str_list(table: dict[str, Any], key: str, source: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of rule ids or prefixes")
    return list(value)
