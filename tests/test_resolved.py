"""`validate --resolved`: the CLI's resolved configuration (`databricks bundle validate -o json`) checked by every rule.

tests/data/resolved_bundle/resolved.dev.json is written by hand from the CLI's documented output: `bundle.target`,
workspace paths filled in, paths rewritten to `/Workspace/.../files/...`, the `lookup` variable `pool_id` resolved to
an instance pool id, development-mode presets applied, and the job's tasks sorted by task_key as the CLI prints them.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.bundle.resolved import ResolvedTarget, read_resolved, resolved_target
from dab_guard.cli import main
from dab_guard.engine import Run, validate, validate_resolved

DATA = Path(__file__).resolve().parent / "data" / "resolved_bundle"
RESOLVED = DATA / "resolved.dev.json"


def _located(result: Run) -> set[tuple[str, str, int, int, str]]:
    return {(f.rule, f.file, f.line, f.column, f.path) for f in result.findings}


def _resolved_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RESOLVED.read_text(encoding="utf-8"))
    return data


def test_resolved_configuration_gives_the_same_findings_as_the_yaml() -> None:
    from_yaml = validate(DATA, targets=["dev"])
    from_cli = validate_resolved(RESOLVED.read_text(encoding="utf-8"), str(RESOLVED), DATA)
    assert from_cli.targets == ["dev"]
    assert _located(from_cli) == _located(from_yaml)
    assert {"DG101", "DG102"} <= {f.rule for f in from_cli.findings}
    assert all(f.file == "resources/train.job.yml" for f in from_cli.findings)


def test_lookup_values_are_known_in_the_resolved_configuration() -> None:
    bundle = load_bundle(DATA)
    config = read_resolved(RESOLVED.read_text(encoding="utf-8"), "resolved.dev.json")
    target = resolved_target(config, "resolved.dev.json", bundle, resolve_target(bundle, "dev"))
    assert target.variables["pool_id"].value == "0101-120000-pool-abc123"
    cluster = target.config["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"]
    assert cluster["instance_pool_id"] == "0101-120000-pool-abc123"
    from_yaml = resolve_target(bundle, "dev").config["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"]
    assert from_yaml["instance_pool_id"] == "${var.pool_id}", "offline, a lookup stays unknown"


def test_list_items_are_matched_by_key_when_the_cli_reorders_them() -> None:
    bundle = load_bundle(DATA)
    config = read_resolved(RESOLVED.read_text(encoding="utf-8"), "resolved.dev.json")
    target = resolved_target(config, "resolved.dev.json", bundle, resolve_target(bundle, "dev"))
    assert isinstance(target, ResolvedTarget)
    # The CLI prints `evaluate` first; in the YAML it is the second task.
    assert config["resources"]["jobs"]["train"]["tasks"][0]["task_key"] == "evaluate"
    loc, _ = target.locate(("resources", "jobs", "train", "tasks", 0, "depends_on", 0, "task_key"))
    lines = (DATA / "resources" / "train.job.yml").read_text(encoding="utf-8").splitlines()
    assert loc is not None and loc.file == "resources/train.job.yml"
    assert lines[loc.line - 1].strip() == "- task_key: train" and lines[loc.line - 2].strip() == "depends_on:"


def test_stdin_and_the_working_directory(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA), "--resolved", str(RESOLVED)]) == 1
    with_file = capsys.readouterr().out
    monkeypatch.chdir(DATA / "src")  # PATH is optional: the bundle is found from the working directory
    monkeypatch.setattr("sys.stdin", io.StringIO(RESOLVED.read_text(encoding="utf-8")))
    assert main(["validate", "--resolved", "-"]) == 1
    assert capsys.readouterr().out == with_file


def test_without_a_local_bundle_findings_point_into_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(RESOLVED, tmp_path / "resolved.json")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--resolved", "resolved.json", "--select", "DG102", "--format", "json"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    lines = (tmp_path / "resolved.json").read_text(encoding="utf-8").splitlines()
    assert finding["file"] == "resolved.json"
    assert '"spark_version": "16.4.x-ml-scala2.12"' in lines[finding["line"] - 1]
    assert finding["path"] == "resources.jobs.train.job_clusters[0].new_cluster.spark_version"


def test_workspace_paths_are_not_checked_for_existence(tmp_path: Path) -> None:
    data = _resolved_json()
    for task in data["resources"]["jobs"]["train"]["tasks"]:
        task["spark_python_task"]["python_file"] = "/Workspace/Users/someone@example.com/.bundle/x/dev/files/src/gone.py"
    result = validate_resolved(json.dumps(data), "resolved.json", DATA, cwd=tmp_path)
    assert not [f for f in result.findings if f.rule == "DG007"]


def test_python_resources_are_no_longer_reported_as_unchecked(tmp_path: Path) -> None:
    data = _resolved_json()
    data["python"] = {"venv_path": ".venv", "resources": ["resources:load_resources"]}
    result = validate_resolved(json.dumps(data), "resolved.json", DATA, cwd=tmp_path)
    assert not [f for f in result.findings if f.rule == "DG009" and "python" in f.path]


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        ("not json", [], "not JSON"),
        ('{"resources": {}}', [], "no 'bundle' section"),
        ('{"bundle": {"name": "x"}}', [], "no bundle.target"),
        (None, ["--target", "prod"], "of target dev, not prod"),
        (None, ["--var", "catalog=dev"], "--var has no effect"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    content: str | None, argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "resolved.json"
    source.write_text(content if content is not None else RESOLVED.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["validate", str(DATA), "--resolved", str(source), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
