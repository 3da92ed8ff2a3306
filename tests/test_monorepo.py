"""`dab-guard validate DIR` on a repository that holds several bundles: each bundle below DIR is checked, in one
process, with one report in every format and the worst exit status."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dab_guard.cli import main
from dab_guard.discover import find_bundles
from tests.files import write_dedented

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
GOOD = f"bundle: {{name: good}}\nworkspace: {{host: {HOST}}}\n"
BAD = f"bundle: {{name: bad}}\nworkspace: {{host: {HOST}}}\nvariables:\n  catalog:\n    description: no value\n"


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bundles/good and bundles/bad; a bundle inside bundles/bad, and bundles where none is looked for."""
    write_dedented(tmp_path, {
        ".gitignore": "build/\n*.tmp.d/\n",
        "bundles/good/databricks.yml": GOOD,
        "bundles/bad/databricks.yml": BAD,
        "bundles/bad/nested/databricks.yml": BAD,  # inside a bundle: the bundle's own folder
        "node_modules/pkg/databricks.yml": BAD,
        ".venv/lib/databricks.yml": BAD,
        ".databricks/bundle/databricks.yml": BAD,
        "build/out/databricks.yml": BAD,  # ignored by .gitignore
        "scratch.tmp.d/databricks.yml": BAD,
        "tools/.gitignore": "!keep/\nskip/\n",
        "tools/skip/databricks.yml": BAD,
    })
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_bundles_below_a_folder(repository: Path) -> None:
    assert [p.relative_to(repository).as_posix() for p in find_bundles(repository)] == ["bundles/bad", "bundles/good"]


def test_text_has_a_line_per_bundle_and_the_worst_exit_status(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "."]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bundles/bad/databricks.yml:4:3: DG010 [error]")
    assert "bundles/bad: 1 error, 0 warnings, 0 infos (bundle bad, target default)" in out
    assert "bundles/good: no problems (bundle good, target default)" in out
    assert out[-1] == "Checked 2 bundles: 1 error, 0 warnings, 0 infos."


def test_without_a_path_below_the_working_directory(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No bundle at or above the working directory: the bundles below it are checked."""
    assert main(["validate", "--select", "DG010"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "Checked 2 bundles: 1 error, 0 warnings, 0 infos."


def test_json_is_version_2_with_each_bundle(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "bundles", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == 2
    assert [b["path"] for b in report["bundles"]] == ["bundles/bad", "bundles/good"]
    assert [f["file"] for f in report["bundles"][0]["findings"]] == ["bundles/bad/databricks.yml"]
    assert report["summary"] == {"error": 1, "warning": 0, "info": 0}


def test_sarif_is_one_run_and_junit_a_suite_per_bundle_and_target(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", ".", "--format", "sarif", "--report", "junit=out.xml"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert len(sarif["runs"]) == 1
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"bundles/bad/databricks.yml"}  # relative to the repository root
    suites = [s.get("name") for s in ET.parse(repository / "out.xml").getroot()]
    assert suites == ["bundles/bad: bad: default", "bundles/good: good: default"]


def test_no_bundle_anywhere_below_is_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no bundle here or in any folder below it" in err


def test_a_broken_bundle_among_others_is_reported_and_the_rest_checked(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repository / "bundles" / "good" / "pyproject.toml").write_text("[tool.dab-guard]\nnot_a_key = 1\n", encoding="utf-8")
    assert main(["validate", "."]) == 2
    captured = capsys.readouterr()
    assert "bundles/good:" in captured.err and "Checked 1 bundle:" in captured.out


def test_a_progress_line_on_a_terminal(repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in "cdef":
        write_dedented(repository, {f"bundles/{name}/databricks.yml": GOOD.replace("good", name)})

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    assert main(["validate", "."]) == 1
    assert "checking 6/6 bundles/good" in err.getvalue()
    assert "Checked 6 bundles" in capsys.readouterr().out
