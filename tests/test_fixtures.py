"""Every rule's good and bad fixtures: bad ones give exactly the expected findings, good ones give none."""

from __future__ import annotations

from pathlib import Path

import pytest

from dab_guard.config import Settings
from dab_guard.engine import validate
from dab_guard.rules.registry import ALL_RULES
from tests.conftest import FIXTURES
from tests.expectations import all_fixtures, expected_findings, fixture_rule, is_online

# Fixtures with a workspace.json need the fake workspace: tests/test_workspace.py runs them with --online.
FIXTURE_DIRS = [p for p in all_fixtures(FIXTURES) if not is_online(p)]


def _settings(fixture: Path) -> Settings:
    from dab_guard.config import load_settings

    return load_settings(fixture)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURE_DIRS])
def test_fixture(fixture: Path) -> None:
    expected = expected_findings(fixture)
    rule = fixture_rule(fixture)
    result = validate(fixture, settings=_settings(fixture))
    watched = {rule} | {r for r, _, _ in expected}
    actual = {(f.rule, f.file, f.line) for f in result.findings if f.rule in watched}
    if fixture.name.startswith("good"):
        assert not expected, "a good fixture carries no expectations"
    else:
        assert any(r == rule for r, _, _ in expected), f"bad fixture {fixture.name} expects no {rule} finding"
    details = "\n".join(f"{f.file}:{f.line}:{f.column} {f.rule} {f.message}" for f in result.findings)
    assert actual == expected, f"findings differ from the fixture's expectations:\n{details}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_rule_has_good_and_bad_fixtures(rule: type) -> None:
    folder = FIXTURES / rule.id.lower()  # type: ignore[attr-defined]
    cases = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(c.startswith("bad") for c in cases), f"{rule.id} has no bad fixture under {folder}"  # type: ignore[attr-defined]
    assert any(c.startswith("good") for c in cases), f"{rule.id} has no good fixture under {folder}"  # type: ignore[attr-defined]
