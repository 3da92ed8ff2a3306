"""The newcomer's path in a virtual environment of its own, from `pip install .` alone (no extras): `dab-guard new`,
cookiecutter called with a relative path from another folder, `validate` of a folder of bundles, and `--online`
finding databricks-sdk; an offline run still imports neither databricks.sdk nor cookiecutter.

It builds the venv (about a minute, with the package index reachable); set DAB_GUARD_SKIP_FRESH_INSTALL=1 to leave it
out of a quick local run. CI runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.files import copy_project_source

pytestmark = pytest.mark.skipif(os.environ.get("DAB_GUARD_SKIP_FRESH_INSTALL") == "1", reason="DAB_GUARD_SKIP_FRESH_INSTALL=1")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with dab-guard installed as a user installs it: `pip install .` of a copy of the checkout."""
    base = tmp_path_factory.mktemp("fresh")
    source = copy_project_source(base / "source")
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, capture_output=True, timeout=300)
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(source)], capture_output=True, text=True, timeout=900
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip("the package index cannot be reached from here")
    assert install.returncode == 0, install.stderr[-3000:]
    return env_dir


def _run(venv: Path, *command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "HOME": str(cwd / "home"), **env}
    environ.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / command[0]), *command[1:]], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300)


def test_new_and_cookiecutter_with_a_relative_path(venv: Path, tmp_path: Path) -> None:
    new = _run(venv, "dab-guard", "new", "--no-input", "-o", "made-by-new", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert _run(venv, "dab-guard", "validate", "made-by-new/my_agent", cwd=tmp_path).returncode == 0

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    template = os.path.relpath(ROOT / "bundle_template", elsewhere)
    config = tmp_path / "cookiecutter.json"
    config.write_text(json.dumps({"replay_dir": str(tmp_path / "replay"), "cookiecutters_dir": str(tmp_path / "cc")}))
    made = _run(venv, "cookiecutter", "--no-input", "--config-file", str(config), template, cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    assert "Traceback" not in made.stderr
    assert _run(venv, "dab-guard", "validate", "my_agent", cwd=elsewhere).returncode == 0


def test_a_folder_of_bundles_and_online_without_extras(venv: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        folder = tmp_path / "bundles" / name
        folder.mkdir(parents=True)
        (folder / "databricks.yml").write_text(
            f"bundle: {{name: {name}}}\nworkspace: {{host: 'https://adb-1234567890123456.7.azuredatabricks.net'}}\n", encoding="utf-8"
        )
    run = _run(venv, "dab-guard", "validate", ".", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "Checked 2 bundles: 0 errors, 0 warnings, 0 infos."

    # databricks-sdk came with the install: --online gets as far as asking the workspace for its runtimes (here the
    # proxy on loopback answers nothing, so no request leaves the machine).
    (tmp_path / "bundles" / "a" / "databricks.yml").write_text(
        "bundle: {name: a}\nworkspace: {host: 'https://adb-1234567890123456.7.azuredatabricks.net'}\n"
        "resources:\n  clusters:\n    c: {spark_version: 16.4.x-cpu-ml-scala2.12, num_workers: 1, node_type_id: i3.xlarge,"
        " data_security_mode: SINGLE_USER, single_user_name: a@example.com}\n",
        encoding="utf-8",
    )
    online = _run(
        venv, "dab-guard", "validate", "bundles/a", "--online", cwd=tmp_path,
        DATABRICKS_HOST="https://adb-1234567890123456.7.azuredatabricks.net", DATABRICKS_TOKEN="x",
        DAB_GUARD_ONLINE_TIMEOUT="2", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="",
    )  # fmt: skip
    assert online.returncode == 2, online.stdout + online.stderr
    assert online.stderr.count("\n") == 1 and "needs databricks-sdk" not in online.stderr and "Traceback" not in online.stderr


def test_an_offline_run_imports_neither_the_sdk_nor_cookiecutter(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("bundle: {name: quiet}\n", encoding="utf-8")
    script = (
        "import sys\nfrom dab_guard.cli import main\ncode = main(['validate', '.'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cookiecutter', 'databricks')))\n"
    )
    run = _run(venv, "python", "-c", script, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "[]"
