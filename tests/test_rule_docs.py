"""docs/rules.md: generated from the rules, kept fresh, and where every help link of a report lands."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from dab_guard.cli import main
from dab_guard.result import RULE_DOCS_URL, rule_help_uri
from dab_guard.rules.registry import ALL_RULES
from tests.conftest import FIXTURES, ROOT, load_script

GENERATOR = ROOT / "scripts" / "generate_rule_docs.py"
FENCE_RE = re.compile(r"^\s*(```|~~~)")
HEADING_RE = re.compile(r"^(#{1,6}) +(.*?)\s*#*\s*$")


def _generator() -> ModuleType:
    return load_script(GENERATOR)


def _page_file() -> Path:
    """The file of this repository that RULE_DOCS_URL names (``.../blob/<branch>/docs/rules.md``)."""
    match = re.fullmatch(r"https://github\.com/[^/]+/[^/]+/blob/[^/]+/(.+)", RULE_DOCS_URL)
    assert match, f"RULE_DOCS_URL is not a file of a GitHub repository: {RULE_DOCS_URL}"
    return ROOT / match.group(1)


def _headings(markdown: str) -> list[tuple[int, str]]:
    """(level, text) of every heading outside code blocks."""
    out: list[tuple[int, str]] = []
    fence = ""
    for line in markdown.splitlines():
        marker = FENCE_RE.match(line)
        if marker:
            fence = "" if fence and marker.group(1) == fence else fence or marker.group(1)
            continue
        heading = HEADING_RE.match(line)
        if heading and not fence:
            out.append((len(heading.group(1)), heading.group(2)))
    return out


def _anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lowercase, punctuation dropped, spaces to '-', repeats numbered."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, text in _headings(markdown):
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_the_committed_page_is_up_to_date() -> None:
    expected = _generator().render(ALL_RULES)
    page = _page_file()
    assert page.is_file(), f"{page.relative_to(ROOT)} is missing: run scripts/generate_rule_docs.py"
    assert page.read_text(encoding="utf-8") == expected, "docs/rules.md is stale: run scripts/generate_rule_docs.py"


def test_every_rule_help_link_lands_on_its_own_section() -> None:
    page = _page_file().read_text(encoding="utf-8")
    anchors = _anchors(page)
    for rule in ALL_RULES:
        url, _, anchor = rule_help_uri(rule.id).partition("#")
        assert url == RULE_DOCS_URL
        assert anchor in anchors, f"{rule.id}: no heading with anchor #{anchor} in docs/rules.md"
    # Sections are the rules' own, in registry order; the rules' headings sit one level below them.
    assert [text for level, text in _headings(page) if level <= 2] == ["dab-guard rules", *(r.id for r in ALL_RULES)]


def test_each_section_carries_the_rule_documentation() -> None:
    page = _page_file().read_text(encoding="utf-8")
    sections = re.split(r"^## ", page, flags=re.MULTILINE)[1:]
    by_id = {section.split("\n", 1)[0].strip(): section for section in sections}
    for rule in ALL_RULES:
        section = by_id[rule.id]
        assert f"`{rule.name}`" in section and rule.severity.label in section
        for heading, text in rule.sections().items():
            assert f"### {heading}" in section
            assert text.splitlines()[0] in section, f"{rule.id}: '{heading}' is not in its section"


def test_check_mode_fails_on_a_stale_page_and_passes_once_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generator = _generator()
    stale = tmp_path / "docs" / "rules.md"
    stale.parent.mkdir()
    shutil.copy(_page_file(), stale)
    stale.write_text(stale.read_text(encoding="utf-8").replace("## DG101\n", "## DG101 renamed\n"), encoding="utf-8")
    assert generator.main(["--output", str(stale), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert generator.main(["--output", str(stale)]) == 0
    assert generator.main(["--output", str(stale), "--check"]) == 0


def test_sarif_help_links_point_into_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "dg113" / "bad_scripts", bundle)
    main(["validate", str(bundle), "--format", "sarif"])
    rules = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    anchors = _anchors(_page_file().read_text(encoding="utf-8"))
    assert rules
    for descriptor in rules:
        url, _, anchor = descriptor["helpUri"].partition("#")
        assert url == RULE_DOCS_URL and anchor in anchors, descriptor["helpUri"]
