"""The composite GitHub Action (action.yml): it parses, declares its inputs, uses only what it declares, and its shell
steps, run with bash as the runner runs them, keep every input a value and every quoted bundle text out of the
runner's workflow commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dab_guard.formatters import FORMATTERS
from tests.conftest import FIXTURES, ROOT

ACTION_FILE = ROOT / "action.yml"
INPUT_RE = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
STEP_OUTPUT_RE = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_is_a_composite_action_with_the_documented_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"path", "target", "format", "version", "fail-on"} <= set(action["inputs"])
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    for step in action["runs"]["steps"]:
        assert "uses" in step or step.get("shell"), f"a composite run step needs a shell: {step}"


def test_steps_reference_only_declared_inputs_and_existing_step_outputs() -> None:
    action = _action()
    text = ACTION_FILE.read_text(encoding="utf-8")
    used = set(INPUT_RE.findall(text))
    assert used, "the action reads its inputs"
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    step_ids = {step.get("id") for step in action["runs"]["steps"]}
    for step_id, _ in STEP_OUTPUT_RE.findall(text):
        assert step_id in step_ids, f"steps.{step_id} is not a step of the action"


def test_inputs_reach_scripts_through_env_not_template_expansion() -> None:
    # `${{ inputs.x }}` inside a `run:` script is expanded before the shell sees it (script injection).
    for step in _action()["runs"]["steps"]:
        assert "${{ inputs." not in step.get("run", ""), step.get("name")


def test_action_installs_dab_guard_validates_and_uploads_sarif() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert "pip install" in scripts and "dab-guard==$VERSION" in scripts and "$GITHUB_ACTION_PATH" in scripts
    assert '"$DAB_GUARD" "${args[@]}"' in scripts and "validate" in scripts
    assert "--strict" in scripts, "fail-on: warning maps to --strict"
    upload = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    assert len(upload) == 1 and "inputs.format == 'sarif'" in upload[0]["if"]
    described = action["inputs"]["format"]["description"]
    for fmt in FORMATTERS:
        assert fmt in described, f"format {fmt} is not described"


# --- the steps' scripts, run with bash as the runner would -------------------------------------------------------


def _step(name: str) -> dict[str, Any]:
    (step,) = [s for s in _action()["runs"]["steps"] if s.get("name") == name]
    return dict(step)


def test_run_scripts_expand_no_expression_at_all() -> None:
    # Step outputs and inputs alike reach the scripts through `env:`; the runner expands nothing inside them.
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def _run_step(name: str, env: dict[str, str], cwd: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a step's script with bash in an emulated runner: RUNNER_TEMP, GITHUB_OUTPUT, the step's env given here."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not available")
    step = _step(name)
    assert set(env) <= set(step.get("env", {})) | {"DAB_GUARD"}, "the test sets only what the step declares"
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    outputs = tmp_path / "github_output"
    outputs.write_text("", encoding="utf-8")
    full_env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(outputs), **env}
    result = subprocess.run(
        [bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],  # the runner's `shell: bash`
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    values = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines() if "=" in line)
    return result, values


def _validate_env(**inputs: str) -> dict[str, str]:
    executable = Path(sys.executable).parent / "dab-guard"
    if not executable.exists():
        pytest.skip("the dab-guard console script is not installed next to this Python")
    env = {"DAB_GUARD": str(executable), "INPUT_PATH": ".", "INPUT_TARGET": "", "INPUT_FORMAT": "github", "INPUT_FAIL_ON": "error"}
    env.update({f"INPUT_{key.upper()}": value for key, value in inputs.items()})
    return env


def _workspace(tmp_path: Path) -> Path:
    """A checked-out repository (``.git`` only) with a bundle that has errors under bundles/ml."""
    repo = tmp_path / "workspace"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(FIXTURES / "dg004" / "bad_includes", repo / "bundles" / "ml")
    return repo


def _commands(stdout: str) -> list[str]:
    """The lines the runner would act on: none between `::stop-commands::TOKEN` and `::TOKEN::`."""
    acted: list[str] = []
    stopped = ""
    for line in stdout.splitlines():
        if stopped:
            if line == f"::{stopped}::":
                stopped = ""
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.split("::", 2)[2]
        elif line.startswith("::"):
            acted.append(line)
    return acted


def test_validate_step_reports_and_leaves_failing_to_the_last_step(tmp_path: Path) -> None:
    repo = _workspace(tmp_path)
    result, outputs = _run_step("Validate", _validate_env(path="bundles/ml"), repo, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs["exit-code"] == "1"
    assert any(c.startswith("::error file=bundles/ml/databricks.yml,") for c in _commands(result.stdout))


def test_validate_step_writes_sarif_and_names_it_only_when_written(tmp_path: Path) -> None:
    repo = _workspace(tmp_path)
    result, outputs = _run_step("Validate", _validate_env(path="bundles/ml", format="sarif"), repo, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs["exit-code"] == "1"
    log = json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("bundles/ml/")
    result, outputs = _run_step("Validate", _validate_env(path="no/such/bundle", format="sarif"), repo, tmp_path)
    assert result.returncode == 2 and outputs["exit-code"] == "2"
    assert "sarif-file" not in outputs, "no file to upload: the upload step must not try"


def test_inputs_that_look_like_options_stay_values(tmp_path: Path) -> None:
    repo = _workspace(tmp_path)
    stray = tmp_path / "written-by-an-input"
    result, outputs = _run_step("Validate", _validate_env(path=f"--output={stray}"), repo, tmp_path)
    assert result.returncode == 2 and outputs["exit-code"] == "2"
    assert not stray.exists(), "the path input was read as an option"
    result, _ = _run_step("Validate", _validate_env(path="bundles/ml", target="--strict"), repo, tmp_path)
    assert result.returncode == 2 and "unknown target --strict" in result.stderr


def test_no_input_or_bundle_text_becomes_a_workflow_command(tmp_path: Path) -> None:
    repo = _workspace(tmp_path)
    result, _ = _run_step("Validate", _validate_env(fail_on="never\n::add-mask::x\n::error::injected"), repo, tmp_path)
    assert result.returncode == 2
    assert _commands(result.stdout) == ["::error title=dab-guard::fail-on must be error, warning or never"]
    # A text report quotes the bundle's values; a line break in one must not start a command.
    bundle = repo / "bundles" / "odd"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(
        'bundle:\n  name: odd\nworkspace:\n  host: https://adb-1.1.azuredatabricks.net\n'
        'resources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          new_cluster:\n'
        '            spark_version: "16.4.x-ml\\n::error file=x.yml::injected"\n'
        '            node_type_id: i3.xlarge\n            num_workers: 1\n'
        '          notebook_task:\n            notebook_path: ./nb\n',
        encoding="utf-8",
    )
    for fmt in ("text", "sarif", "junit", "json"):
        result, outputs = _run_step("Validate", _validate_env(path="bundles/odd", format=fmt), repo, tmp_path)
        assert outputs["exit-code"] == "1", result.stdout + result.stderr
        assert "::error file=x.yml::injected" in result.stdout or fmt == "json"
        assert _commands(result.stdout) == [], fmt


def test_install_step_refuses_a_version_that_is_not_a_release_number(tmp_path: Path) -> None:
    for version in ("0.1.0; sys_platform != 'x'", "0.1.0 @ https://example.com/x.whl", "--index-url=https://example.com"):
        env = {"PYTHON": sys.executable, "VERSION": version}
        result, outputs = _run_step("Install dab-guard", env, tmp_path, tmp_path)
        assert result.returncode == 2, version
        assert outputs == {} and not (tmp_path / "runner_temp" / "dab-guard-venv").exists()
