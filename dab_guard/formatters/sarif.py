"""SARIF 2.1.0: one run, the rules that matched, one result per finding (for GitHub code scanning and others).

Artifact URIs are relative to the root of the git work tree that holds the bundle (the bundle root outside git),
so that code scanning puts each alert on the right file when the bundle sits in a subfolder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from dab_guard import __version__
from dab_guard.finding import Finding, Severity
from dab_guard.repo import RepoPaths
from dab_guard.result import RULE_DOCS_URL, Result, RuleInfo, rule_help_uri

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

_HEADING_RE = re.compile(r"^## (.+)$", re.MULTILINE)


def _section(documentation: str, heading: str) -> str:
    """The text under ``## heading`` in a rule's documentation ("" when there is none)."""
    parts = _HEADING_RE.split(documentation)
    for i in range(1, len(parts) - 1, 2):
        if parts[i].strip().lower() == heading.lower():
            return parts[i + 1].strip()
    return ""


def _descriptor(rule_id: str, info: RuleInfo | None, name: str) -> dict[str, Any]:
    if info is None:  # a finding of a rule the run does not describe: say what is known
        return {"id": rule_id, "name": name, "helpUri": rule_help_uri(rule_id)}
    full = _section(info.documentation, "What it does") or info.summary
    descriptor: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": " ".join(full.split())},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "helpUri": info.help_uri,
    }
    if info.documentation:
        descriptor["help"] = {"text": info.documentation, "markdown": info.documentation}
    return descriptor


def _uri(path: str) -> str:
    # A relative URI reference: keep "/" as the separator, escape what a URI cannot hold (spaces, "<", "%").
    return quote(path, safe="/-._~!$&'()*+,;=@")


def _result(finding: Finding, rule_index: int, paths: RepoPaths) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(paths.relative(finding.file)), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1)},
        }
    }
    if finding.path:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.path, "kind": "member"}]
    properties: dict[str, Any] = {"targets": list(finding.targets)}
    if finding.path:
        properties["bundlePath"] = finding.path
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "properties": properties,
    }


def report(result: Result) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    return report_many([result], {"bundle": result.bundle_name, "targets": list(result.targets)})


def report_many(results: Sequence[Result], properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """One run for the results of one or several bundles, each file relative to its repository's root."""
    matched = sorted({f.rule: f.name for result in results for f in result.findings}.items())
    index = {rule_id: i for i, (rule_id, _) in enumerate(matched)}
    infos: dict[str, RuleInfo] = {}
    for result in results:
        infos.update(result.rules)
    rules = [_descriptor(rule_id, infos.get(rule_id), name) for rule_id, name in matched]
    found = [
        _result(f, index[f.rule], paths)
        for result in results
        for paths in [RepoPaths(result.bundle.root_dir)]
        for f in result.findings
    ]
    if properties is None:
        properties = {"bundles": [{"bundle": r.bundle_name, "targets": list(r.targets)} for r in results]}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "dab-guard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": RULE_DOCS_URL,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": found,
        "properties": properties,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render(result: Result, **_: object) -> str:
    return json.dumps(report(result), indent=2, ensure_ascii=False) + "\n"


def render_many(results: Sequence[Result]) -> str:
    return json.dumps(report_many(results), indent=2, ensure_ascii=False) + "\n"
