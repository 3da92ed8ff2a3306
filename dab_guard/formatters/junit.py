"""JUnit XML for Azure DevOps, Jenkins and GitLab: a test suite per target, a test case per rule.

A rule's test case fails when it has findings that fail the run (errors; warnings too with ``strict``). Findings that
do not fail the run are listed in the test case's ``system-out`` so that they are seen without turning it red.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dab_guard.finding import Finding, Severity, shown_from
from dab_guard.result import Result, RuleInfo

# Characters XML 1.0 cannot hold at all, even escaped.
_INVALID_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _line(finding: Finding) -> str:
    return _clean(f"{finding.file}:{finding.line}:{finding.column}: {finding.rule} [{finding.severity.label}] {finding.message}")


def _testcase(suite: ET.Element, target: str, rule_id: str, name: str, findings: list[Finding], strict: bool) -> bool:
    worst = Severity.WARNING if strict else Severity.ERROR
    failing = [f for f in findings if f.severity >= worst]
    passing = [f for f in findings if f.severity < worst]
    case = ET.SubElement(suite, "testcase", {"classname": f"dab-guard.{target}", "name": _clean(f"{rule_id} {name}")})
    if failing:
        noun = "finding" if len(failing) == 1 else "findings"
        failure = ET.SubElement(
            case,
            "failure",
            {"type": rule_id, "message": _clean(f"{len(failing)} {noun}: {failing[0].message}")},
        )
        failure.text = "\n".join(_line(f) for f in failing)
    if passing:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(_line(f) for f in passing)
    return bool(failing)


def render(result: Result, strict: bool = False, **_: object) -> str:
    bundle = result.bundle_name or result.bundle.root_dir.name
    return _document(f"dab-guard {bundle}", [("", result)], strict)


def render_many(results: Sequence[tuple[str, Result]], strict: bool = False, **_: object) -> str:
    """A test suite per bundle and target; files shown from the working directory."""
    return _document(f"dab-guard {len(results)} bundles", results, strict)


def _document(name: str, results: Sequence[tuple[str, Result]], strict: bool) -> str:
    root = ET.Element("testsuites", {"name": _clean(name)})
    tests = failures = 0
    for folder, result in results:
        t, f = _suites(root, folder, result, strict)
        tests, failures = tests + t, failures + f
    root.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suites(root: ET.Element, folder: str, result: Result, strict: bool) -> tuple[int, int]:
    bundle = result.bundle_name or result.bundle.root_dir.name
    label = f"{folder}: {bundle}" if folder else bundle
    findings = [shown_from(folder, f) for f in result.findings]
    total_tests = total_failures = 0
    rules: dict[str, RuleInfo | None] = dict.fromkeys(sorted(result.rules))
    rules.update(result.rules)
    for finding in findings:  # a rule the run does not describe still gets its test case
        rules.setdefault(finding.rule, None)
    for target in result.targets:
        suite = ET.SubElement(root, "testsuite", {"name": _clean(f"{label}: {target}")})
        tests = failures = 0
        for rule_id in sorted(rules):
            info = rules[rule_id]
            found = [f for f in findings if f.rule == rule_id and (target in f.targets or not f.targets)]
            name = info.name if info else (found[0].name if found else rule_id)
            tests += 1
            failures += _testcase(suite, target, rule_id, name, found, strict)
        suite.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": "0"})
        total_tests += tests
        total_failures += failures
    return total_tests, total_failures
