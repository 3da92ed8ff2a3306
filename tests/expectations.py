"""Fixture expectations written inline, next to the line a finding must point at.

YAML and Python fixtures carry ``# expect: DG101`` (several ids comma-separated) at the end of the expected line.
Files that cannot hold a comment (``.ipynb``, ``.json``) are listed in an ``expect.txt`` beside the fixture, a line
``path:line RULE`` each.
"""

from __future__ import annotations

import re
from pathlib import Path

EXPECT_RE = re.compile(r"#\s*expect:\s*((?:DG\d{3}[\s,]*)+)")


def expected_findings(fixture: Path) -> set[tuple[str, str, int]]:
    """(rule, file relative to the fixture, line) for every expectation in ``fixture``."""
    out: set[tuple[str, str, int]] = set()
    for path in sorted(fixture.rglob("*")):
        if not path.is_file() or path.suffix not in (".yml", ".yaml", ".py", ".json", ".txt", ".sh", ".toml") :
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
