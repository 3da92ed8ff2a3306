"""One way through: discover -> load -> resolve each target -> rules -> locate -> filter -> sort."""

from __future__ import annotations

import difflib
import gc
import io
import os
import tokenize
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dab_guard.bundle.loader import Bundle, BundleError, load_bundle
from dab_guard.bundle.resolve import SharedSubstitutions, Target, resolve_target
from dab_guard.bundle.resolved import STDIN_NAME, read_resolved, resolved_target, standalone_bundle, target_name
from dab_guard.bundle.yamlread import Limits, Problem
from dab_guard.config import ConfigError, Settings, matches
from dab_guard.finding import Finding, Fix, Loc, Report, Severity, format_path
from dab_guard.parallel import available_cores, map_forked
from dab_guard.result import Result, RuleInfo
from dab_guard.rules.base import Rule
from dab_guard.rules.registry import ALL_RULES
from dab_guard.secrets import Masker, could_take_part

if TYPE_CHECKING:
    from dab_guard.workspace.session import OnlineOptions, OnlineSession
from dab_guard.suppress import is_suppressed, python_suppressions, yaml_suppressions


@dataclass(frozen=True)
class FoundFix:
    """The fix a rule offered for a finding in one target (only `dab-guard fix` reads these)."""

    finding: Finding
    target: str
    fix: Fix


@dataclass
class Run(Result):
    """A run's result with what only the engine and `dab-guard fix` use: each target resolved, the fixes offered."""

    bundle: Bundle
    resolved: dict[str, Target] = field(default_factory=dict)
    fixes: list[FoundFix] = field(default_factory=list)  # of the findings kept, per target


def limits_from(settings: Settings) -> Limits:
    defaults = Limits()
    return Limits(
        max_file_bytes=settings.limits.get("max-file-bytes", defaults.max_file_bytes),
        max_nodes=settings.limits.get("max-nodes", defaults.max_nodes),
        max_depth=settings.limits.get("max-depth", defaults.max_depth),
        max_python_bytes=settings.limits.get("max-python-bytes", defaults.max_python_bytes),
    )


def active_rules(settings: Settings, extra: Sequence[type[Rule]] = ()) -> list[Rule]:
    return [cls(settings) for cls in (*ALL_RULES, *extra) if settings.rule_enabled(cls.id, cls.name)]


def choose_targets(bundle: Bundle, wanted: Sequence[str]) -> list[str]:
    names = bundle.target_names()
    if not wanted:
        return names
    unknown = [t for t in wanted if t not in names]
    if unknown:
        raise BundleError(f"unknown target {', '.join(unknown)} (the bundle has: {', '.join(names)})")
    return list(dict.fromkeys(wanted))


def check_variable_options(bundle: Bundle, variables: Mapping[str, str] | None) -> None:
    """Each ``--var`` names a declared variable that is not complex, or the CLI refuses the command (exit 2)."""
    if not variables or any(problem.rule == "DG001" for problem in bundle.problems):
        return  # a file that could not be read may be the one that declares it
    declared = bundle.config.get("variables")
    declared = declared if isinstance(declared, dict) else {}
    for name in variables:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise BundleError(f"--var {name}=...: the bundle declares no variable '{name}'{hint}")
        definition = declared[name]
        if isinstance(definition, dict) and definition.get("type") == "complex":
            raise BundleError(f"--var {name}=...: '{name}' is a complex variable, which the Databricks CLI does not take from --var")


class _Registry:
    """The rule names settings may use: every rule of the registry, and the extra rules of a run."""

    def __init__(self, rules: Sequence[type[Rule]] = ()) -> None:
        self.rules = [*ALL_RULES, *rules]

    def check_selectors(self, selectors: list[str], where: str) -> None:
        """Refuse a selector (id, id prefix, name or ALL) that matches no rule: a typo would silently select or
        ignore nothing."""
        for selector in selectors:
            if not any(matches(rule.id, rule.name, [selector]) for rule in self.rules):
                raise ConfigError(f"{where}: '{selector}' matches no rule id, id prefix or rule name (see `dab-guard rules`)")

    def rule_id(self, text: str) -> str | None:
        """The id of the rule ``text`` names (an id in any case, or a rule name), or None."""
        for rule in self.rules:
            if text.strip().upper() == rule.id or text.strip() == rule.name:
                return rule.id
        return None


# What `load_settings` and `parse_table` are handed to check rule names as they read them.
RULE_NAMES = _Registry()


def check_selectors(selectors: list[str], where: str) -> None:
    """Refuse a selector (``--select``, ``--ignore``) that matches no rule."""
    RULE_NAMES.check_selectors(selectors, where)


def check_rule_names(settings: Settings, extra_rules: Sequence[type[Rule]] = ()) -> Settings:
    """Check the rule names settings read from a file were written with, when they were read without the registry
    (``parse_table`` without ``rules``), and key their ``severity`` by rule id. Settings built in code are taken as
    they are. Raises ConfigError for a selector or severity key that names no rule."""
    if settings.rule_names_checked or settings.source is None:
        return settings
    registry = _Registry(extra_rules) if extra_rules else RULE_NAMES
    for selectors, where in settings.selectors_written:
        registry.check_selectors(selectors, where)
    by_id: dict[str, Severity] = {}
    for written, level in settings.severity.items():
        rule_id = registry.rule_id(written)
        if rule_id is None:
            raise ConfigError(f"{settings.source}: severity.{written}: no rule has this id or name (see `dab-guard rules`)")
        by_id[rule_id] = level
    settings.severity = by_id
    settings.rule_names_checked = True
    return settings


def validate(
    path: Path | None,
    *,
    settings: Settings | None = None,
    targets: Sequence[str] = (),
    variables: dict[str, str] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    extra_rules: Sequence[type[Rule]] = (),
    bundle: Bundle | None = None,
    lookups: Mapping[str, Mapping[str, str | Problem]] | None = None,
    fixes: bool = False,
    interrupt: Callable[[], None] | None = None,
) -> Run:
    """Check the bundle at ``path`` in the chosen targets. Raises BundleError only for unusable input.

    ``lookups`` (target -> variable -> value) carries ``lookup`` variables resolved online, before any rule runs.
    With ``fixes``, rules also work out how to fix their findings (``Run.fixes``, for `dab-guard fix`).
    ``interrupt`` is called between rules; whatever it raises ends the run (a language server's superseded check).
    """
    from dab_guard.edits import collecting_fixes

    settings = check_rule_names(settings or Settings(), extra_rules)
    with _collector_paused(), collecting_fixes(fixes):
        return _validate(path, settings, targets, variables, cwd, env, extra_rules, bundle, lookups or {}, interrupt)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the bundle is read and checked.

    The loaded tree is large and acyclic; with the collector running, its repeated full scans make a big bundle's
    load time grow faster than linearly.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _validate(
    path: Path | None,
    settings: Settings,
    targets: Sequence[str],
    variables: dict[str, str] | None,
    cwd: Path | None,
    env: dict[str, str] | None,
    extra_rules: Sequence[type[Rule]],
    bundle: Bundle | None,
    lookups: Mapping[str, Mapping[str, str | Problem]],
    interrupt: Callable[[], None] | None = None,
) -> Run:
    if bundle is None:
        bundle = load_bundle(path, cwd, limits_from(settings), load_workers(settings, extra_rules), could_take_part)
    names = choose_targets(bundle, targets)
    check_variable_options(bundle, variables)
    shared = SharedSubstitutions()  # only while resolving: its tables are not needed by the rules
    resolved = [resolve_target(bundle, name, variables, env, lookups.get(name), shared) for name in names]
    del shared
    return _check(bundle, resolved, settings, extra_rules, interrupt)


def validate_resolved(
    text: str,
    source: str,
    path: Path | None = None,
    *,
    settings: Settings | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    extra_rules: Sequence[type[Rule]] = (),
) -> Run:
    """Check the CLI's resolved configuration of one target (``databricks bundle validate -o json``).

    ``source`` is the JSON's file name as the user gave it (or ``-``). The local bundle at ``path`` (or found from
    ``cwd``) gives findings their YAML file:line:col where the same bundle path exists there; it is optional.
    Raises BundleError for unusable input (not that JSON, a PATH that is not a bundle).
    """
    settings = check_rule_names(settings or Settings(), extra_rules)
    cwd = cwd or Path.cwd()
    limits = limits_from(settings)
    local: Bundle | None = None
    if path is not None:
        local = load_bundle(path, cwd, limits, prescan=could_take_part)
    else:
        try:
            local = load_bundle(None, cwd, limits, prescan=could_take_part)
        except BundleError:
            local = None  # no bundle here: the JSON alone is checked
    root_dir = local.root_dir if local is not None else cwd.resolve()
    shown = STDIN_NAME if source == "-" else _relative_name(cwd / source, root_dir)
    config = read_resolved(text, shown, limits)
    name = target_name(config, shown)
    local_target = None
    if local is not None and name in local.target_names():
        local_target = resolve_target(local, name, None, env)
    bundle = local if local is not None else standalone_bundle(config, shown, root_dir, limits)
    with _collector_paused():
        return _check(bundle, [resolved_target(config, shown, bundle, local_target)], settings, extra_rules)


def _relative_name(path: Path, root: Path) -> str:
    """``path`` relative to the bundle root, as every finding's file is (``../x.json`` when it lies outside)."""
    absolute = os.path.abspath(path)
    try:
        return os.path.relpath(absolute, root).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return absolute


def _check(
    bundle: Bundle,
    checked: Sequence[Target],
    settings: Settings,
    extra_rules: Sequence[type[Rule]],
    interrupt: Callable[[], None] | None = None,
) -> Run:
    """Run the rules on each target, locate and deduplicate the findings, then filter and sort them."""
    names = [target.name for target in checked]
    rules = active_rules(settings, extra_rules)
    by_key: dict[tuple[str, int, int, str, str, Severity, str], list[str]] = {}
    fixes_by_key: dict[tuple[str, int, int, str, str, Severity, str], list[tuple[str, Fix]]] = {}
    resolved: dict[str, Target] = {}

    def reports_of(target: Target) -> list[tuple[int, Report]]:
        out: list[tuple[int, Report]] = []
        for index, rule in enumerate(rules):
            if interrupt is not None:
                interrupt()  # a caller that no longer needs the run stops it between rules (by raising)
            out.extend((index, report) for report in rule.check(target))
        return out

    for target, reports in zip(checked, map_forked(reports_of, checked, check_workers(settings, extra_rules)), strict=True):
        name = target.name
        resolved[name] = target
        for index, report in reports:
            rule = rules[index]
            finding = _locate(bundle, target, rule, report, settings)
            key = (finding.file, finding.line, finding.column, finding.rule, finding.message, finding.severity, finding.path)
            found_in = by_key.setdefault(key, [])
            if name not in found_in:
                found_in.append(name)
            if report.fix is not None:
                fixes_by_key.setdefault(key, []).append((name, report.fix))
    # The one place every message passes: no report may show a credential, whichever rule wrote the message.
    redact = Masker.for_bundle(bundle, checked)
    located: dict[tuple[str, int, int, str, str, Severity, str], Finding] = {}
    for key, found_in in by_key.items():
        file, line, col, rule_id, message, severity, path_text = key
        located[key] = Finding(
            file, line, col, rule_id, _name(rule_id, rules), severity, redact(message), redact(path_text), tuple(found_in)
        )
    findings = sorted(_filter(bundle, located.values(), settings))
    # Fixes follow their findings through select, ignore and suppression: a suppressed finding is not fixed.
    kept = {id(finding) for finding in findings}
    fixes = [
        FoundFix(finding, name, fix)
        for key, finding in located.items()
        if id(finding) in kept
        for name, fix in fixes_by_key.get(key, ())
    ]
    info = {r.id: RuleInfo(r.id, r.name, r.severity, r.summary, r.documentation()) for r in rules}
    return Run(bundle, names, findings, info, resolved, fixes)


# Workspace checks hold network clients, which a forked process must not share: online runs stay in one process.


def load_workers(settings: Settings, extra_rules: Sequence[type[Rule]] = ()) -> int:
    """Processes that parse a large bundle's files: --jobs, else every core.

    The workers are gone before the rules run, so they cost time to start and nothing in memory at the run's peak.
    """
    if extra_rules or settings.online is not None:
        return 1
    return min(settings.jobs, available_cores()) if settings.jobs is not None else available_cores()


def check_workers(settings: Settings, extra_rules: Sequence[type[Rule]] = ()) -> int:
    """Processes that check targets side by side: only as many as --jobs asks for.

    A worker that checks a target soon holds its own copy of most of the loaded bundle (reading an object writes its
    reference count, which copies its page): for 1,000 jobs in two targets it saves a fifth of the time and costs
    55 % more memory, so it is left to the user to ask for.
    """
    if extra_rules or settings.online is not None:
        return 1
    return min(settings.jobs or 1, available_cores())  # more processes than cores only add memory


def _name(rule_id: str, rules: Iterable[Rule]) -> str:
    for rule in rules:
        if rule.id == rule_id:
            return rule.name
    return rule_id


def _locate(bundle: Bundle, target: Target, rule: Rule, report: Report, settings: Settings) -> Finding:
    message = report.message
    loc: Loc | None = report.at
    if loc is None and report.path:
        loc, note = target.locate(report.path, report.on_key)
        if note and note not in message:
            message = f"{message} ({note})"
    if loc is None:
        loc = Loc(bundle.root_file, 1, 1)
    severity = settings.severity.get(rule.id) or report.severity or rule.severity
    return Finding(loc.file, loc.line, loc.col, rule.id, rule.name, severity, message, format_path(report.path))


def _filter(bundle: Bundle, findings: Iterable[Finding], settings: Settings) -> Iterable[Finding]:
    tables: dict[str, dict[int, set[str]]] = {}
    for finding in findings:
        if settings.ignored_in_file(finding.rule, finding.name, finding.file):
            continue
        table = tables.get(finding.file)
        if table is None:
            table = tables[finding.file] = _suppressions(bundle, finding.file)
        if is_suppressed(table, finding.line, finding.rule):
            continue
        yield finding


def _suppressions(bundle: Bundle, rel: str) -> dict[int, set[str]]:
    source = bundle.files.get(rel)
    if source is not None:
        return yaml_suppressions(source.text)
    if rel.endswith(".ipynb"):
        # A notebook finding points at the JSON line holding the code line, where its noqa comment for DG201 is written.
        try:
            text = _file_text(bundle, rel)
        except OSError:
            return {}
        return python_suppressions((n, line) for n, line in enumerate(text.splitlines(), start=1) if "noqa" in line)
    if not rel.endswith(".py"):
        # Scripts, Makefiles and CI files (DG113) take the same `# dab-guard: ignore[...]` comments as YAML.
        try:
            return yaml_suppressions(_file_text(bundle, rel))
        except OSError:
            return {}
    try:
        text = _file_text(bundle, rel)
    except OSError:
        return {}
    if "noqa" not in text:
        return {}
    comments: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments.append((token.start[0], token.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return python_suppressions(comments)


def _file_text(bundle: Bundle, rel: str) -> str:
    """The text of bundle file ``rel`` as the run read it (the reader's, an editor's unsaved text, else the disk's)."""
    path = bundle.root_dir / rel
    text = bundle.reader.text(path.resolve())
    return path.read_text(encoding="utf-8", errors="replace") if text is None else text


def validate_online(
    path: Path | None,
    *,
    settings: Settings,
    targets: Sequence[str] = (),
    variables: dict[str, str] | None = None,
    options: OnlineOptions | None = None,
    bundle: Bundle | None = None,
    fixes: bool = False,
) -> tuple[Run, OnlineSession]:
    """:func:`validate` with workspace facts and ``lookup`` variables resolved online; returns (run, session).

    ``bundle``, when given, is used as loaded (a language server's, with the editor's texts) instead of ``path``.
    """
    from dab_guard.workspace.lookups import resolve_lookups
    from dab_guard.workspace.session import OnlineOptions, OnlineSession

    options = options or OnlineOptions()
    session = OnlineSession(options)
    settings.online = session
    check_rule_names(settings)
    if bundle is None:
        bundle = load_bundle(path, None, limits_from(settings), prescan=could_take_part)
    names = choose_targets(bundle, targets)
    lookups: dict[str, dict[str, Any]] = {}
    for name in names:
        target = resolve_target(bundle, name, variables, dict(options.env))
        facts = session.facts_for(target)
        if facts is not None:
            lookups[name] = resolve_lookups(target, facts)
    try:
        result = validate(
            None, settings=settings, targets=names, variables=variables, env=dict(options.env), bundle=bundle, lookups=lookups, fixes=fixes
        )
    finally:
        session.save()
    return result, session
