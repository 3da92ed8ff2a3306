"""Report formats (text, json, sarif, github, junit): golden outputs, structure checks, --output and --report.

Golden files live in tests/golden/. After an intended change of a report, regenerate them with
``DAB_GUARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_formats.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dab_guard import __version__
from dab_guard.cli import main
from dab_guard.finding import Finding, Severity
from dab_guard.formatters import FORMATTERS, github, render
from dab_guard.repo import RepoPaths, work_tree_root
from dab_guard.result import Result, RuleInfo
from tests.conftest import FIXTURES, REFERENCE

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("DAB_GUARD_UPDATE_GOLDEN"))

# Fixtures with errors and warnings, one and two targets. Only these rules, so that a golden file changes with the
# formatter and these rules, not with every rule of the project.
CASES = {
    "dg004-bad_includes": (FIXTURES / "dg004" / "bad_includes", "DG004"),
    "dg113-bad_ci_target_override": (FIXTURES / "dg113" / "bad_ci_target_override", "DG113"),
}
SUFFIXES = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github.txt", "junit": "xml"}

COMMAND_RE = re.compile(r"^::(error|warning|notice) file=[^,:\r\n]+,line=[1-9][0-9]*,col=[1-9][0-9]*,title=[^,:\r\n]+::[^\r\n]*$")


def _repo_with(fixture: Path, tmp_path: Path) -> Path:
    """A git work tree (``.git`` only: no git needed) holding a copy of ``fixture`` under ``bundles/``."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    bundle = repo / "bundles" / fixture.name
    shutil.copytree(fixture, bundle)
    return bundle


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("fmt", sorted(SUFFIXES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_output(case: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture, rule = CASES[case]
    bundle = _repo_with(fixture, tmp_path)
    code, out = _run(capsys, "validate", str(bundle), "--select", rule, "--format", fmt)
    assert code in (0, 1)
    out = out.replace(__version__, "VERSION")
    assert str(tmp_path) not in out, "reports carry no machine-specific path"
    golden = GOLDEN / f"{case}.{SUFFIXES[fmt]}"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with DAB_GUARD_UPDATE_GOLDEN=1 to create it"
    assert out == golden.read_text(encoding="utf-8")


def test_every_format_has_golden_files() -> None:
    assert set(SUFFIXES) == set(FORMATTERS)


# --- SARIF ---------------------------------------------------------------------------------------------------


def _sarif(bundle: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    _, out = _run(capsys, "validate", str(bundle), "--format", "sarif", *extra)
    data: dict[str, object] = json.loads(out)
    return data


@pytest.mark.parametrize("case", sorted(CASES))
def test_sarif_is_valid_against_the_schema(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema_file = REFERENCE / "sarif-schema-2.1.0.json"
    if not schema_file.is_file():
        pytest.skip("the SARIF 2.1.0 schema is not available")
    jsonschema = pytest.importorskip("jsonschema")
    log = _sarif(_repo_with(CASES[case][0], tmp_path), capsys)
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_lists_only_matched_rules_with_help_and_repo_relative_locations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _repo_with(FIXTURES / "dg004" / "bad_includes", tmp_path)
    log = _sarif(bundle, capsys, "--select", "DG004,DG005")
    run = log["runs"][0]  # type: ignore[index]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["DG004"], "DG005 ran but matched nothing: not listed"
    assert rules[0]["name"] == "include"
    assert rules[0]["helpUri"].endswith("#dg004")
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    assert rules[0]["shortDescription"]["text"] and rules[0]["fullDescription"]["text"]
    results = run["results"]
    levels = {r["level"] for r in results}
    assert levels == {"error", "warning"}
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "bundles/bad_includes/databricks.yml"
    assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    assert results[0]["properties"]["targets"] == ["default"]
    assert all(r["ruleIndex"] == 0 for r in results)


def test_paths_are_relative_to_the_bundle_root_outside_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "plain" / "bad_includes"
    shutil.copytree(FIXTURES / "dg004" / "bad_includes", bundle)
    if work_tree_root(bundle) is not None:
        pytest.skip("the temporary folder lies inside a git work tree")
    log = _sarif(bundle, capsys, "--select", "DG004")
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]  # type: ignore[index]
    assert uri == "databricks.yml"
    _, out = _run(capsys, "validate", str(bundle), "--select", "DG004", "--format", "github")
    assert "file=databricks.yml," in out


def test_a_git_file_marks_a_work_tree_root_too(tmp_path: Path) -> None:
    # Worktrees and submodules have a .git file, not a folder.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n", encoding="utf-8")
    (tmp_path / "sub" / "bundle").mkdir()
    assert work_tree_root(tmp_path / "sub" / "bundle") == tmp_path / "sub"
    paths = RepoPaths(tmp_path / "sub" / "bundle")
    assert paths.relative("resources/job.yml") == "bundle/resources/job.yml"
    assert paths.relative("../.github/workflows/x.yml") == ".github/workflows/x.yml"
    assert paths.relative("<stdin>") == "<stdin>"


# --- GitHub workflow commands ----------------------------------------------------------------------------------


def test_github_commands_have_the_documented_syntax(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _repo_with(FIXTURES / "dg113" / "bad_scripts", tmp_path)
    _, out = _run(capsys, "validate", str(bundle), "--format", "github")
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert commands and all(COMMAND_RE.match(line) for line in commands), "\n".join(commands)
    assert lines[-1].startswith("dab-guard: "), "one plain summary line closes the report"
    assert any("file=bundles/bad_scripts/.github/workflows/deploy.yml,line=" in c for c in commands)
    assert any(",title=DG113 cli-usage::" in c for c in commands)


def _result_with(finding: Finding, root: Path) -> Result:
    from dab_guard.bundle.loader import Bundle
    from dab_guard.bundle.located import YMap

    info = RuleInfo(finding.rule, finding.name, Severity.ERROR, "a summary", "## What it does\nChecks.\n")
    return Result(Bundle(root, "databricks.yml", {}, YMap()), ["dev"], [finding], {finding.rule: info})


def test_github_escapes_data_and_properties(tmp_path: Path) -> None:
    finding = Finding(
        "res/a,b:c%.yml", 3, 7, "DG101", "access-mode", Severity.ERROR, "50% of\r\nclusters: a, b", "x", ("dev",)
    )
    out = github.render(_result_with(finding, tmp_path)).splitlines()[0]
    assert out == "::error file=res/a%2Cb%3Ac%25.yml,line=3,col=7,title=DG101 access-mode::50%25 of%0D%0Aclusters: a, b"


def test_github_output_cannot_be_made_to_issue_other_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Target names and values are the bundle author's: a line break in them must not start a command of its own.
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(
        'bundle:\n  name: "b\\n::add-mask::x"\n'
        'targets:\n  "dev\\n::warning file=x.yml::injected":\n    default: true\n'
        "resources:\n  jobs:\n    j:\n      name: j\n      tasks:\n"
        '        - task_key: "t\\n::error file=evil.yml::pwned"\n'
        "          new_cluster:\n"
        '            spark_version: "16.4.x-ml\\n::error::injected"\n'
        "            node_type_id: i3.xlarge\n            num_workers: 1\n"
        "          notebook_task:\n            notebook_path: ./nb\n",
        encoding="utf-8",
    )
    _, out = _run(capsys, "validate", str(bundle), "--format", "github")
    lines = out.splitlines()
    assert len(lines) > 2
    assert all(COMMAND_RE.match(line) for line in lines[:-1]), out
    assert lines[-1].startswith("dab-guard: ") and "%0A::warning" in lines[-1]


def test_text_output_keeps_each_finding_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Values, target names and the bundle name are the author's: a line break or a terminal escape in them is shown
    # escaped, so one finding is one line and cannot rewrite what the terminal or a CI log shows.
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(
        'bundle:\n  name: "b\\nfake.yml:1:1: DG000 [error] forged"\n'
        'targets:\n  "dev\\n\\e[2Jcleared":\n    default: true\n'
        "resources:\n  jobs:\n    j:\n      name: j\n      tasks:\n"
        '        - task_key: t\n'
        "          existing_cluster_id: abc\n"
        '          spark_python_task:\n            python_file: "./missing\\nforged.py:1:1: DG000 [error] x"\n',
        encoding="utf-8",
    )
    _, out = _run(capsys, "validate", str(bundle))
    lines = out.splitlines()
    assert lines[-1].startswith("Found ") and "\x1b" not in out
    assert all(re.match(r"^[^:]+:\d+:\d+: DG\d{3} \[(error|warning|info)\] ", line) for line in lines[:-1]), out
    assert not any(line.startswith(("fake.yml", "forged.py")) for line in lines)
    assert "target 'dev\\n\\x1b[2Jcleared'" in out and "bundle b\\nfake.yml:1:1" in lines[-1]


# --- JUnit -----------------------------------------------------------------------------------------------------


def test_junit_suite_per_target_case_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _repo_with(FIXTURES / "dg113" / "bad_ci_target_override", tmp_path)
    _, out = _run(capsys, "validate", str(bundle), "--format", "junit", "--select", "DG004,DG113")
    root = ET.fromstring(out)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["cli_usage_targets: dev", "cli_usage_targets: prod"]
    for suite in suites:
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        assert set(cases) == {"DG004 include", "DG113 cli-usage"}
        # DG113 is a warning: it does not fail the run, so it is reported in system-out, not as a failure.
        assert cases["DG113 cli-usage"].find("failure") is None
        assert "DG113 [warning]" in (cases["DG113 cli-usage"].findtext("system-out") or "")
        assert suite.get("failures") == "0"
    _, strict = _run(capsys, "validate", str(bundle), "--format", "junit", "--select", "DG113", "--strict")
    failures = ET.fromstring(strict).findall("testsuite/testcase/failure")
    assert failures and all(f.get("type") == "DG113" for f in failures), "with --strict, warnings fail"


def test_junit_survives_characters_xml_cannot_hold(tmp_path: Path) -> None:
    finding = Finding("databricks.yml", 1, 1, "DG101", "access-mode", Severity.ERROR, "bad \x00\x1b byte <&>", "", ("dev",))
    out = render("junit", _result_with(finding, tmp_path))
    failure = ET.fromstring(out).find("testsuite/testcase/failure")
    assert failure is not None and "<&>" in (failure.text or "")


# --- --output, --report, schema --output -----------------------------------------------------------------------


def test_output_and_reports_are_written_and_exit_code_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _repo_with(FIXTURES / "dg004" / "bad_includes", tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout = _run(
        capsys,
        "validate", str(bundle), "--select", "DG004",
        "--output", str(out_dir / "report.txt"),
        "--report", f"sarif={out_dir / 'dab-guard.sarif'}",
        "--report", f"junit={out_dir / 'dab-guard.xml'}",
    )  # fmt: skip
    assert code == 1, "errors fail the run, whatever is written where"
    assert stdout == ""
    assert "DG004 [error]" in (out_dir / "report.txt").read_text(encoding="utf-8")
    assert json.loads((out_dir / "dab-guard.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    ET.fromstring((out_dir / "dab-guard.xml").read_text(encoding="utf-8"))
    assert sorted(p.name for p in out_dir.iterdir()) == ["dab-guard.sarif", "dab-guard.xml", "report.txt"], "no temp files left"


def test_output_replaces_a_file_whole_and_leaves_nothing_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _repo_with(FIXTURES / "dg004" / "good_includes", tmp_path)
    report = tmp_path / "report.json"
    report.write_text("old " * 10_000, encoding="utf-8")
    assert _run(capsys, "validate", str(bundle), "--select", "DG004", "--format", "json", "--output", str(report))[0] == 0
    assert json.loads(report.read_text(encoding="utf-8"))["findings"] == []
    # A folder where the file should go: exit 2, one line, and no stray temporary file.
    target = tmp_path / "taken"
    target.mkdir()
    code = main(["validate", str(bundle), "--output", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "taken" in err
    assert list(target.iterdir()) == [] and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    code = main(["validate", str(bundle), "--output", str(tmp_path / "missing" / "r.txt")])
    assert code == 2 and "missing" in capsys.readouterr().err


def test_two_reports_to_one_file_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _repo_with(FIXTURES / "dg004" / "bad_includes", tmp_path)
    same = tmp_path / "report.out"
    for argv in (
        ["--report", f"sarif={same}", "--report", f"junit={tmp_path / '.' / 'report.out'}"],
        ["--output", str(same), "--report", f"json={same}"],
    ):
        assert main(["validate", str(bundle), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "same file" in err
        assert not same.exists(), "nothing is written when the options conflict"


def test_report_option_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--report", "yaml=out.yml"])
    assert exit_info.value.code == 2
    assert "unknown format 'yaml'" in capsys.readouterr().err


def test_schema_output_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dab_guard.schema import schema_text

    try:
        expected = schema_text()
    except FileNotFoundError:
        pytest.skip("the schema has not been generated")
    assert main(["schema", "--output", str(tmp_path / "bundle.schema.json")]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "bundle.schema.json").read_text(encoding="utf-8") == expected
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.schema.json"]
