"""What one run found, in the terms reporters need: findings, the targets checked, and what each rule is.

Reporters read only this (and :mod:`dab_guard.finding`); they know nothing of rules, the loader or the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dab_guard.finding import Finding, Severity

# Where each rule's documentation is published: docs/rules.md of this repository, generated from the rules by
# scripts/generate_rule_docs.py (tests/test_rule_docs.py fails when it is stale). Each rule has a heading there whose
# anchor is ``rule_anchor(id)``.
RULE_DOCS_URL = "https://github.com/dab-guard/dab-guard/blob/main/docs/rules.md"


def rule_anchor(rule_id: str) -> str:
    """The anchor of a rule's section in the rules page: ``DG101`` -> ``dg101``."""
    return rule_id.lower()


def rule_help_uri(rule_id: str) -> str:
    return f"{RULE_DOCS_URL}#{rule_anchor(rule_id)}"


@dataclass(frozen=True)
class RuleInfo:
    """What reporters may say about a rule, without knowing rules."""

    id: str
    name: str
    severity: Severity
    summary: str
    documentation: str

    @property
    def help_uri(self) -> str:
        return rule_help_uri(self.id)


class BundleInfo(Protocol):
    """What a report says of the bundle checked: its name and folder."""

    @property
    def name(self) -> str | None: ...

    @property
    def root_dir(self) -> Path: ...


@dataclass
class Result:
    bundle: BundleInfo
    targets: list[str]
    findings: list[Finding]
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
