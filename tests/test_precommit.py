"""The pre-commit hook (.pre-commit-hooks.yaml): its file patterns on real layouts, and its entry run as pre-commit would."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from dab_guard.bundle.loader import load_bundle
from dab_guard.hooks import bundle_roots
from dab_guard.rules.cli_usage import kind_of
from dab_guard.rules.jobs import NOTEBOOK_EXTENSIONS
from tests.conftest import CORPUS, FIXTURES, ROOT

HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    (hook,) = [h for h in hooks if h["id"] == "dab-guard"]
    return dict(hook)


def _selected(hook: dict[str, Any], rel: str) -> bool:
    """pre-commit's own test: ``files`` and ``exclude`` are Python regexes searched in the repository-relative path."""
    return bool(re.search(hook.get("files", ""), rel)) and not (hook.get("exclude") and re.search(hook["exclude"], rel))


def test_hook_declares_what_pre_commit_needs() -> None:
    hook = _hook()
    assert hook["language"] == "python"
    assert shlex.split(hook["entry"])[:2] == ["dab-guard", "pre-commit"]
    assert hook["pass_filenames"] is True
    assert hook["require_serial"] is True, "one process, so that each bundle is validated once"


def test_files_pattern_selects_every_bundle_file_of_the_fixtures() -> None:
    hook = _hook()
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(ROOT).as_posix()
        relevant = path.suffix in (".yml", ".yaml", ".json", ".py", ".ipynb", ".sql", ".sh") or path.name == "Makefile"
        if relevant:
            assert _selected(hook, rel), rel
    for rel in ("README.md", "docs/guide.rst", "notes/readme.txt", "LICENSE", "src/app.js"):
        assert not _selected(hook, rel), rel


def test_files_pattern_selects_what_the_rules_read() -> None:
    # Each kind of file a rule reads: a change to it (or a rename that leaves a path dangling) can change findings.
    hook = _hook()
    layout = [
        "bundles/ml/src/nb.sql", "bundles/ml/src/nb.scala", "bundles/ml/src/nb.r", "bundles/ml/src/requirements.txt",
        "bundles/ml/requirements-dev.txt", "Jenkinsfile", "ci/Jenkinsfile.deploy", "build.mk", "makefile", "GNUmakefile",
        "scripts/deploy.bash", "scripts/deploy.zsh", "scripts/deploy.ksh", ".gitlab-ci.yml", "azure-pipelines.yml",
        ".github/workflows/deploy.yml", "bundles/ml/.dab-guard.toml", "bundles/ml/pyproject.toml",
    ]  # fmt: skip
    for rel in layout:
        assert _selected(hook, rel), rel
        kind = kind_of(PurePosixPath(rel))
        assert kind is not None or rel.endswith((".toml", ".txt")) or rel.endswith(NOTEBOOK_EXTENSIONS), rel
    for rel in ("docs/notes.txt", "src/app.js", "README.rst", "data/table.csv"):
        assert not _selected(hook, rel), rel


def test_files_pattern_selects_every_configuration_file_of_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("the corpus is not available")
    hook = _hook()
    checked = 0
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        bundle = load_bundle(folder)
        for rel in bundle.files:
            # As pre-commit sees it: relative to a repository that holds the bundle in a subfolder.
            assert _selected(hook, f"{folder.name}/{rel}"), f"{folder.name}/{rel}"
            checked += 1
    assert checked >= 30


def _sample_repository(root: Path) -> None:
    """A repository with a broken bundle, a clean one, and files that belong to neither."""
    (root / ".git").mkdir(parents=True)
    broken = root / "bundles" / "broken"
    (broken / "resources").mkdir(parents=True)
    (broken / "src").mkdir()
    (broken / "databricks.yml").write_text(
        "bundle:\n  name: broken\ninclude:\n  - resources/*.yml\n  - resources/missing.yml\n"
        "workspace:\n  host: https://adb-1.1.azuredatabricks.net\n",
        encoding="utf-8",
    )
    (broken / "resources" / "job.yml").write_text("resources:\n  jobs:\n    nightly:\n      name: nightly\n", encoding="utf-8")
    (broken / "src" / "task.py").write_text("print('task')\n", encoding="utf-8")
    clean = root / "bundles" / "clean"
    clean.mkdir(parents=True)
    (clean / "databricks.yml").write_text(
        "bundle:\n  name: clean\nworkspace:\n  host: https://adb-1.1.azuredatabricks.net\n", encoding="utf-8"
    )
    (root / "README.md").write_text("# sample\n", encoding="utf-8")
    (root / "tools").mkdir()
    (root / "tools" / "lint.py").write_text("print('not in a bundle')\n", encoding="utf-8")


def _run_hook(repo: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the hook as pre-commit does: entry + args + the selected file names, from the repository root."""
    hook = _hook()
    executable = Path(sys.executable).parent / "dab-guard"
    if not executable.exists():
        pytest.skip("the dab-guard console script is not installed next to this Python")
    entry = shlex.split(hook["entry"])
    command = [str(executable), *entry[1:], *hook.get("args", []), *[f for f in files if _selected(hook, f)]]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120, check=False)


def test_hook_validates_each_affected_bundle_once_and_fails_on_errors(tmp_path: Path) -> None:
    _sample_repository(tmp_path)
    staged = [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*")) if p.is_file() and ".git" not in p.parts]
    result = _run_hook(tmp_path, staged)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.count("dab-guard: bundle bundles/broken") == 1, "three changed files, one validation"
    assert result.stdout.count("dab-guard: bundle bundles/clean") == 1
    assert "DG004" in result.stdout and "resources/missing.yml" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour when not on a terminal"


def test_hook_on_the_files_git_stages(tmp_path: Path) -> None:
    # As pre-commit picks them: `git diff --staged --name-only` of a real repository, with a commit in between so
    # that only the files of the broken bundle are staged the second time.
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not available")
    repo = tmp_path / "repo"
    _sample_repository(repo)
    shutil.rmtree(repo / ".git")  # a real repository instead of the bare marker
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def run_git(*argv: str) -> str:
        done = subprocess.run([git, *argv], cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    run_git("init", "-q")
    (repo / "bundles" / "broken" / "resources" / "missing.yml").write_text("resources: {}\n", encoding="utf-8")
    run_git("add", "-A")
    run_git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "sample")
    (repo / "bundles" / "broken" / "resources" / "missing.yml").unlink()  # the include now matches nothing
    (repo / "bundles" / "broken" / "src" / "task.py").write_text("print('changed')\n", encoding="utf-8")
    run_git("add", "-A")
    staged = run_git("diff", "--staged", "--name-only", "--no-ext-diff", "-z", "--diff-filter=ACMRTUXB").split("\0")
    staged = [name for name in staged if name]
    assert staged == ["bundles/broken/src/task.py"], "a deleted file is not passed: its bundle is found from the others"
    result = _run_hook(repo, staged)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DG004" in result.stdout and "clean" not in result.stdout


def test_hook_passes_when_only_clean_bundles_changed(tmp_path: Path) -> None:
    _sample_repository(tmp_path)
    result = _run_hook(tmp_path, ["bundles/clean/databricks.yml", "README.md", "tools/lint.py"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout


def test_hook_with_no_bundle_file_does_nothing(tmp_path: Path) -> None:
    _sample_repository(tmp_path)
    result = _run_hook(tmp_path, ["tools/lint.py"])
    assert result.returncode == 0 and result.stdout == ""


def test_bundle_roots_walk_up_to_the_nearest_root_and_stay_in_the_repository(tmp_path: Path) -> None:
    _sample_repository(tmp_path / "repo")
    (tmp_path / "databricks.yml").write_text("bundle:\n  name: outside\n", encoding="utf-8")  # above the repository
    repo = tmp_path / "repo"
    files = [
        Path("bundles/broken/src/task.py"),
        Path("bundles/broken/resources/job.yml"),
        Path("bundles/broken/databricks.yml"),
        Path("bundles/clean/databricks.yml"),
        Path("tools/lint.py"),
        Path("bundles/broken/src/deleted.py"),  # no longer on disk: still maps to its bundle
    ]
    assert bundle_roots(files, repo) == [Path("bundles/broken"), Path("bundles/clean")]


def test_each_bundle_is_cleaned_up_before_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The console entry runs with the cyclic collector off; over many bundles, each one's cycles are collected.
    import gc

    from dab_guard import cli

    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "databricks.yml").write_text(f"bundle:\n  name: {name}\n")
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(1) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["pre-commit", "one/databricks.yml", "two/databricks.yml"]) == 0
    assert len(collected) == 2
