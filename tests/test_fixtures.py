"""Every rule's good and bad fixtures: bad ones give exactly the expected findings, good ones give none."""

from __future__ import annotations

from pathlib import Path

import pytest

from dab_guard.config import Settings
from dab_guard.engine import validate
from dab_guard.rules.registry import ALL_RULES
from tests.conftest import FIXTURES
from tests.expectations import all_fixtures, assert_fixture_findings, is_online

# Fixtures with a workspace.json need the fake workspace: tests/test_workspace.py runs them with --online.
FIXTURE_DIRS = [p for p in all_fixtures(FIXTURES) if not is_online(p)]


def _settings(fixture: Path) -> Settings:
    from dab_guard.config import load_settings

    return load_settings(fixture)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURE_DIRS])
def test_fixture(fixture: Path) -> None:
    result = validate(fixture, settings=_settings(fixture))
    assert_fixture_findings(fixture, result.findings)


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_rule_has_good_and_bad_fixtures(rule: type) -> None:
    folder = FIXTURES / rule.id.lower()  # type: ignore[attr-defined]
    cases = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(c.startswith("bad") for c in cases), f"{rule.id} has no bad fixture under {folder}"  # type: ignore[attr-defined]
    assert any(c.startswith("good") for c in cases), f"{rule.id} has no good fixture under {folder}"  # type: ignore[attr-defined]
