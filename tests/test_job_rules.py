"""DG007 behaviour that fixtures show poorly: the sync root, wheels the deploy builds, paths far outside the bundle."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dab_guard.config import Settings
from dab_guard.engine import validate

JOB = """
    bundle:
      name: outside
    {extra}
    resources:
      jobs:
        train:
          name: train
          tasks:
            - task_key: train
              existing_cluster_id: 0101-000000-abcdefgh
              spark_python_task:
                python_file: {python_file}
              libraries:
                - whl: ./dist/model-0.1-py3-none-any.whl
"""


def _messages(bundle: Path, python_file: str, extra: str = "") -> list[str]:
    bundle.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(JOB).format(python_file=python_file, extra=extra)
    (bundle / "databricks.yml").write_text(text, encoding="utf-8")
    return [f.message for f in validate(bundle, settings=Settings(select=["DG007"])).findings]


def test_a_path_above_the_bundle_root_is_reported_not_followed(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "train.py").write_text("print(1)\n", encoding="utf-8")
    messages = _messages(tmp_path / "bundle", "../shared/train.py")
    assert any("points outside the bundle root (to ../shared/train.py)" in m for m in messages)
    far = _messages(tmp_path / "bundle", "../../../../../../etc/passwd")
    assert any("points outside the bundle root" in m for m in far)


def test_sync_paths_widen_the_root_the_cli_deploys_from(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "train.py").write_text("print(1)\n", encoding="utf-8")
    sync = "sync:\n  paths:\n    - ..\n    - ."
    messages = _messages(tmp_path / "bundle", "../shared/train.py", sync)
    assert not any("python_file" in m for m in messages)
    messages = _messages(tmp_path / "bundle", "../shared/missing.py", sync)
    assert any("python_file '../shared/missing.py' not found" in m for m in messages)


def test_a_wheel_is_missing_unless_the_deploy_builds_it(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n", encoding="utf-8")
    assert [m for m in _messages(tmp_path, "train.py") if "whl" in m] == [
        "libraries[].whl './dist/model-0.1-py3-none-any.whl' not found: no file dist/model-0.1-py3-none-any.whl "
        "(build it before deploying, or declare its build under artifacts)"
    ]
    # Without an artifacts section the CLI builds a wheel from a setup.py in the bundle root by itself.
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n", encoding="utf-8")
    assert _messages(tmp_path, "train.py") == []


def test_environment_key_beside_a_cluster_is_reported_once_by_dg107(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n", encoding="utf-8")
    (tmp_path / "databricks.yml").write_text(
        textwrap.dedent(
            """
            bundle:
              name: both
            resources:
              jobs:
                train:
                  name: train
                  environments:
                    - environment_key: default
                      spec: {client: "1"}
                  tasks:
                    - task_key: train
                      existing_cluster_id: 0101-000000-abcdefgh
                      environment_key: default
                      spark_python_task:
                        python_file: train.py
            """
        ),
        encoding="utf-8",
    )
    rules = [f.rule for f in validate(tmp_path, settings=Settings(select=["DG008", "DG107"])).findings]
    assert rules == ["DG107"]
