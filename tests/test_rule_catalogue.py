"""Every rule describes itself, and `dab-guard rules` / `dab-guard explain` print that description."""

from __future__ import annotations

import re

import pytest

from dab_guard.cli import main
from dab_guard.finding import Severity
from dab_guard.rules.registry import ALL_RULES

HEADINGS = ("What it does", "Why it matters", "Example", "Fix")


def test_ids_and_names_are_unique_well_formed_and_sorted() -> None:
    ids = [rule.id for rule in ALL_RULES]
    names = [rule.name for rule in ALL_RULES]
    assert ids == sorted(ids), "ALL_RULES is kept sorted by id"
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    for rule in ALL_RULES:
        assert re.fullmatch(r"DG\d{3}", rule.id), rule.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
        assert isinstance(rule.severity, Severity)


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_rule_is_documented_under_the_four_headings_with_its_source(rule: type) -> None:
    sections = rule.sections()  # type: ignore[attr-defined]
    for heading in HEADINGS:
        assert sections.get(heading), f"{rule.id} has no '## {heading}'"  # type: ignore[attr-defined]
    assert "```" in sections["Example"], f"{rule.id}'s example shows no configuration or code"  # type: ignore[attr-defined]
    assert rule.source.strip(), f"{rule.id} does not say which constraint it comes from"  # type: ignore[attr-defined]
    assert rule.summary.strip() and "\n" not in rule.summary  # type: ignore[attr-defined]


def test_rules_lists_id_name_severity_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ALL_RULES)
    for line, rule in zip(lines, ALL_RULES, strict=True):
        assert line.split()[:3] == [rule.id, rule.name, rule.severity.label]
        assert line.endswith(rule.summary)


@pytest.mark.parametrize("asked", ["DG101", "dg101", "access-mode"])
def test_explain_prints_the_documentation_and_where_the_rule_comes_from(
    capsys: pytest.CaptureFixture[str], asked: str
) -> None:
    rule = next(r for r in ALL_RULES if r.id == "DG101")
    assert main(["explain", asked]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"DG101 access-mode [error]: {rule.summary}\n")
    for heading in (*HEADINGS, "Comes from"):
        assert f"## {heading}\n" in out
    assert rule.source in out


def test_explain_an_unknown_rule_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "DG999"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "unknown rule 'DG999'" in err
