"""Fixture expectations written inline, next to the line a finding must point at.

YAML and Python fixtures carry ``# expect: DG101`` (several ids comma-separated) at the end of the expected line.
Files that cannot hold a comment (``.ipynb``, ``.json``) are listed in an ``expect.txt`` beside the fixture, a line
``path:line RULE`` each.

Rules that need the workspace (``--online``, DG301-DG307) cannot run offline. Their fixtures hold a
``workspace.json`` that describes what the fake workspace of ``tests/fake_workspace.py`` holds (keys of
``WorkspaceState``: ``spark_versions``, ``node_types``, ``instance_pools``, ``cluster_policies``,
``policy_families``, ``clusters``, ``catalogs``, ``schemas``, ``serving_endpoints``, ... shaped like the REST API's
objects). ``tests/test_fixtures.py`` skips such fixtures; ``tests/test_workspace.py`` runs them with ``--online``
against that fake workspace and compares findings the same way. A fixture without ``workspace.json`` (DG306 with a
local policy file) runs offline like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from dab_guard.finding import Finding

WORKSPACE_FILE = "workspace.json"
EXPECT_RE = re.compile(r"#\s*expect:\s*((?:DG\d{3}[\s,]*)+)")


def expected_findings(fixture: Path) -> set[tuple[str, str, int]]:
    """(rule, file relative to the fixture, line) for every expectation in ``fixture``."""
    out: set[tuple[str, str, int]] = set()
    for path in sorted(fixture.rglob("*")):
        if not path.is_file() or (path.suffix not in (".yml", ".yaml", ".py", ".json", ".txt", ".sh", ".toml") and path.name not in ("Makefile", "Jenkinsfile")):
            continue
        rel = path.relative_to(fixture).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name == "expect.txt":
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    where, rule = line.split()
                    file, number = where.rsplit(":", 1)
                    out.add((rule, file, int(number)))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = EXPECT_RE.search(line)
            if match:
                for rule in re.split(r"[\s,]+", match.group(1).strip()):
                    out.add((rule, rel, number))
    return out


def fixture_rule(fixture: Path) -> str:
    """The rule a fixture is about: its parent folder is named after it (``tests/fixtures/dg101/bad_x``)."""
    return fixture.parent.name.upper()


def all_fixtures(root: Path) -> list[Path]:
    """Every fixture: a folder ``<rule>/<good|bad>_<case>`` under ``root``."""
    return sorted(p for p in root.glob("dg*/*") if p.is_dir() and p.name.startswith(("good", "bad")))


def is_online(fixture: Path) -> bool:
    """A fixture that needs the (fake) workspace: it describes one in ``workspace.json``."""
    return (fixture / WORKSPACE_FILE).is_file()


def assert_fixture_findings(fixture: Path, findings: Sequence[Finding]) -> None:
    """A bad fixture gives exactly its expected findings (of its rule and of every rule it expects); a good one
    carries no expectations and gives no finding of its rule."""
    expected = expected_findings(fixture)
    rule = fixture_rule(fixture)
    watched = {rule} | {r for r, _, _ in expected}
    actual = {(f.rule, f.file, f.line) for f in findings if f.rule in watched}
    if fixture.name.startswith("good"):
        assert not expected, "a good fixture carries no expectations"
    else:
        assert any(r == rule for r, _, _ in expected), f"bad fixture {fixture.name} expects no {rule} finding"
    details = "\n".join(f"{f.file}:{f.line}:{f.column} {f.rule} {f.message}" for f in findings)
    assert actual == expected, f"findings differ from the fixture's expectations:\n{details}"
