"""One way through: discover -> load -> resolve each target -> rules -> locate -> filter -> sort."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dab_guard.bundle.loader import Bundle, BundleError, load_bundle
from dab_guard.bundle.resolve import Target, resolve_target
from dab_guard.bundle.yamlread import Limits
from dab_guard.config import Settings
from dab_guard.finding import Finding, Loc, Report, Severity, format_path
from dab_guard.rules.base import Rule
from dab_guard.rules.registry import ALL_RULES
from dab_guard.suppress import is_suppressed, python_suppressions, yaml_suppressions


@dataclass(frozen=True)
class RuleInfo:
    """What reporters may say about a rule, without knowing rules."""

    id: str
    name: str
    severity: Severity
    summary: str
    documentation: str


@dataclass
class Result:
    bundle: Bundle
    targets: list[str]
    findings: list[Finding]
    resolved: dict[str, Target] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)

    @property
    def bundle_name(self) -> str | None:
        return self.bundle.name

    def summary(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def exit_code(self, strict: bool = False) -> int:
        worst = Severity.WARNING if strict else Severity.ERROR
        return 1 if any(f.severity >= worst for f in self.findings) else 0


def limits_from(settings: Settings) -> Limits:
    defaults = Limits()
    return Limits(
        max_file_bytes=settings.limits.get("max-file-bytes", defaults.max_file_bytes),
        max_nodes=settings.limits.get("max-nodes", defaults.max_nodes),
        max_depth=settings.limits.get("max-depth", defaults.max_depth),
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
) -> Result:
    """Check the bundle at ``path`` in the chosen targets. Raises BundleError only for unusable input."""
    settings = settings or Settings()
    if bundle is None:
        bundle = load_bundle(path, cwd, limits_from(settings))
    names = choose_targets(bundle, targets)
    rules = active_rules(settings, extra_rules)
    by_key: dict[tuple[str, int, int, str, str, Severity, str], list[str]] = {}
    resolved: dict[str, Target] = {}
    for name in names:
        target = resolve_target(bundle, name, variables, env)
        resolved[name] = target
        for rule in rules:
            for report in rule.check(target):
                finding = _locate(bundle, target, rule, report, settings)
                key = (finding.file, finding.line, finding.column, finding.rule, finding.message, finding.severity, finding.path)
                found_in = by_key.setdefault(key, [])
                if name not in found_in:
                    found_in.append(name)
    findings = [
        Finding(file, line, col, rule_id, _name(rule_id, rules), severity, message, path_text, tuple(found_in))
        for (file, line, col, rule_id, message, severity, path_text), found_in in by_key.items()
    ]
    findings = sorted(_filter(bundle, findings, settings))
    info = {r.id: RuleInfo(r.id, r.name, r.severity, r.summary, r.documentation()) for r in rules}
    return Result(bundle, names, findings, resolved, info)


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
    if not rel.endswith(".py"):
        return {}
    try:
        text = (bundle.root_dir / rel).read_text(encoding="utf-8", errors="replace")
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
