"""What ships to show dab-guard validates as the README says: `databricks.yml.example` is clean, the broken example
gives the findings its comments announce, and the README's quick start, output and configuration samples are real."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from dab_guard.cli import main
from dab_guard.config import parse_table
from dab_guard.engine import validate
from dab_guard.finding import Severity
from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

README = ROOT / "README.md"
EXAMPLE = ROOT / "databricks.yml.example"
BROKEN = ROOT / "examples" / "broken-bundle"
ANNOUNCED_RE = re.compile(r"#.*\((DG\d{3})\)")


def _block(heading: str, language: str) -> str:
    """The first ``language`` code block under the README heading ``heading`` (any level)."""
    text = README.read_text(encoding="utf-8")
    section = re.split(rf"^#+ {re.escape(heading)}\n", text, maxsplit=1, flags=re.MULTILINE)[1]
    match = re.search(rf"^```{language}\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no {language} block under '{heading}'"
    return match.group(1)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_annotated_example_follows_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "validate", str(EXAMPLE), "--strict")
    assert (code, err) == (0, "")
    assert out == "No problems found (bundle churn_model, targets dev, prod).\n"


def test_the_example_is_a_single_node_ml_job_with_a_python_task_in_dev_and_prod() -> None:
    target = validate(EXAMPLE).resolved["prod"]
    (job,) = target.config["resources"]["jobs"].values()
    (cluster,) = job["job_clusters"]
    new_cluster = cluster["new_cluster"]
    assert (new_cluster["num_workers"], new_cluster["data_security_mode"]) == (0, "SINGLE_USER")
    assert "-cpu-ml-" in new_cluster["spark_version"]
    assert [("spark_python_task" in task) for task in job["tasks"]] == [True]
    assert validate(EXAMPLE).targets == ["dev", "prod"]


def test_the_broken_example_reports_what_its_comments_announce(capsys: pytest.CaptureFixture[str]) -> None:
    announced = set()
    for path in sorted(BROKEN.rglob("*.yml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for rule in ANNOUNCED_RE.findall(line):
                announced.add((rule, path.relative_to(BROKEN).as_posix(), number))
    assert len(announced) >= 9
    result = validate(BROKEN)
    found = {(f.rule, f.file, f.line) for f in result.findings}
    assert announced <= found, f"announced but not found: {sorted(announced - found)}"
    assert _run(capsys, "validate", str(BROKEN))[0] == 1


def test_the_readme_output_samples_are_the_broken_examples(capsys: pytest.CaptureFixture[str]) -> None:
    sample = json.loads(_block("Output", "json"))
    code, out, _ = _run(capsys, "validate", str(BROKEN), "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert set(report) == set(sample)
    (shown,) = sample["findings"]
    assert set(report["findings"][0]) == set(shown)
    same = [f for f in report["findings"] if all(f[k] == v for k, v in shown.items() if k != "message")]
    assert len(same) == 1, f"no finding of the broken example is the README's {shown}"
    text_sample = _block("Output", "").strip()
    before, _, after = text_sample.partition("...")
    _, out, _ = _run(capsys, "validate", str(BROKEN))
    assert any(line.startswith(before) and line.endswith(after) for line in out.splitlines()), text_sample


def test_the_readme_configuration_sample_is_valid() -> None:
    table = tomllib.loads(_block("Configuration", "toml"))["tool"]["dab-guard"]
    settings = parse_table(table, "README")
    assert settings.severity == {"DG108": Severity.WARNING}
    assert settings.rule_enabled("DG101", "access-mode") and not settings.rule_enabled("DG105", "pool-advice")


def test_the_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    commands = [line for line in _block("Quick start", "sh").splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    install_and_run, test = commands
    validated = [argv[argv.index("validate") + 1] for argv in (shlex.split(part) for part in install_and_run.split("&&")) if "validate" in argv]
    assert validated == ["databricks.yml.example", "examples"]  # one bundle, then the bundles below a folder
    assert all((ROOT / path).exists() for path in validated)
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert Path(ROOT / ".ci" / "run").stat().st_mode & 0o111
