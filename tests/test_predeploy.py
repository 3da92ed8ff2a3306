"""The bundle's own hook: `experimental.scripts.predeploy: dab-guard validate --target ${bundle.target}`.

The Databricks CLI resolves `${bundle.target}` in the hook, runs it with a shell from the bundle root, logs its output
line by line, and stops the deploy when it exits non-zero. These tests do the same with dab-guard's own resolution.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.engine import validate

HOOK = "dab-guard validate --target ${bundle.target}"


def _bundle(root: Path, spark_version: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "train.py").write_text("print('train')\n", encoding="utf-8")
    (root / "databricks.yml").write_text(
        f"""bundle:
  name: predeploy_demo

experimental:
  scripts:
    predeploy: {HOOK}

resources:
  jobs:
    train:
      name: train
      tasks:
        - task_key: train
          job_cluster_key: main
          spark_python_task:
            python_file: src/train.py
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: {spark_version}
            node_type_id: i3.xlarge
            num_workers: 1
            data_security_mode: SINGLE_USER

targets:
  dev:
    mode: development
    default: true
    workspace:
      host: https://adb-1111111111111111.11.azuredatabricks.net
""",
        encoding="utf-8",
    )
    return root


def _run_predeploy(bundle_root: Path, cwd: Path, target: str = "dev") -> subprocess.CompletedProcess[str]:
    """Resolve the hook as the CLI does and run it with a shell, dab-guard on the PATH, stdout not a terminal."""
    resolved = resolve_target(load_bundle(bundle_root), target)
    command = resolved.config["experimental"]["scripts"]["predeploy"]
    assert command == f"dab-guard validate --target {target}"
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dab-guard").exists():
        pytest.skip("the dab-guard console script is not installed next to this Python")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("NO_COLOR", None)  # no colour must come from stdout not being a terminal, not from NO_COLOR
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_hook_refuses_a_bundle_with_errors(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "bundle", "16.4.x-ml-scala2.12")
    result = _run_predeploy(root, root)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("databricks.yml:") and " DG102 [error] " in line for line in lines)
    assert lines[-1].startswith("Found "), "a summary line ends the log"
    assert "\x1b[" not in result.stdout, "plain text in the CLI's log"
    assert result.stderr == ""


def test_hook_passes_a_clean_bundle_from_the_root_and_from_a_subfolder(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "bundle", "16.4.x-scala2.12")
    for cwd in (root, root / "src"):
        result = _run_predeploy(root, cwd)
        assert result.returncode == 0, result.stdout + result.stderr
        errors = [f for f in validate(root, targets=["dev"]).findings if f.severity.label == "error"]
        assert not errors
        assert "(bundle predeploy_demo, target dev)" in result.stdout


def test_hook_with_an_unknown_target_says_so_in_one_line(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "bundle", "16.4.x-scala2.12")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        ["sh", "-c", "dab-guard validate --target staging"], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown target staging" in result.stderr


def test_the_hook_itself_is_not_a_finding(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "bundle", "16.4.x-scala2.12")
    assert not [f for f in validate(root).findings if "scripts" in f.path]
