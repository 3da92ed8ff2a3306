"""DG113 cli-usage: how scripts and CI call the Databricks CLI, beyond what the fixtures show."""

from __future__ import annotations

from pathlib import Path

import pytest

from dab_guard.config import Settings
from dab_guard.engine import validate
from dab_guard.rules import cli_usage
from dab_guard.rules.cli_usage import commands_in_line, notebook_import, option


def _calls(line: str) -> list[tuple[tuple[str, ...], int]]:
    return [(c.words, c.col) for c in commands_in_line(line, 1)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("databricks bundle deploy -t prod", [(("bundle", "deploy"), 1)]),
        ("  databricks -p prod bundle validate", [(("bundle", "validate"), 3)]),
        ("databricks --profile=prod --log-level debug bundle deploy", [(("bundle", "deploy"), 1)]),
        ("cd bundle && databricks bundle deploy", [(("bundle", "deploy"), 14)]),
        ("DATABRICKS_HOST=https://x sudo -E databricks bundle deploy", []),  # `-E` is not a prefix word: unsure, silent
        ("env DATABRICKS_HOST=https://x databricks bundle deploy", [(("bundle", "deploy"), 31)]),
        ("- databricks bundle deploy", [(("bundle", "deploy"), 3)]),
        ("script: /usr/local/bin/databricks bundle validate", [(("bundle", "validate"), 9)]),
        ('echo "databricks bundle deploy"', []),
        ("pip install databricks-cli databricks-sdk", []),
        ("# databricks bundle deploy", []),
        ("ls; databricks bundle deploy  # deploys", [(("bundle", "deploy"), 5)]),
    ],
)
def test_commands_in_a_line(line: str, expected: list[tuple[tuple[str, ...], int]]) -> None:
    assert _calls(line) == expected


def test_options_in_every_spelling() -> None:
    tokens = ("bundle", "deploy", "-pprod", "--target=dev")
    assert option(tokens, "--profile", "-p") == "prod"
    assert option(tokens, "--target", "-t") == "dev"
    assert option(("bundle", "deploy", "-t", "prod"), "--target", "-t") == "prod"
    assert option(("bundle", "deploy"), "--profile", "-p") is None


@pytest.mark.parametrize(
    ("line", "imported"),
    [
        ("databricks workspace import /Users/a/x --file x.py --language PYTHON", "x.py"),
        ("databricks workspace import /Users/a/x --file=x.py --language=python", "x.py"),
        ("databricks workspace import -l PYTHON x.py /Users/a/x", "x.py"),  # the legacy CLI's argument order
        # The workspace path may end in .py too: the message names the local file.
        ("databricks workspace import /Shared/x.py --file src/x.py --language PYTHON", "src/x.py"),
        ("databricks workspace import /Shared/x.py --file src/x.ipynb --language PYTHON", None),
        ("databricks workspace import /Users/a/x --file x.py --language PYTHON --format SOURCE", "x.py"),
        ("databricks workspace import /Users/a/x --file x.py --language PYTHON --format AUTO", None),
        ("databricks workspace import /Users/a/x --file x.sql --language SQL", None),
        ("databricks workspace import /Users/a/x --file x.py", None),
        ("databricks workspace import-dir src /Users/a/src", None),
    ],
)
def test_notebook_imports(line: str, imported: str | None) -> None:
    (command,) = commands_in_line(line, 1)
    assert notebook_import(command) == imported


def _bundle(root: Path, targets: str = "  dev:\n    default: true\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "databricks.yml").write_text(f"bundle:\n  name: b\ntargets:\n{targets}", encoding="utf-8")
    return root


def _dg113(root: Path) -> list[tuple[str, int, int]]:
    result = validate(root, settings=Settings(select=["DG113"]))
    return [(f.file, f.line, f.column) for f in result.findings]


def test_ci_files_at_the_repository_root_are_read_for_a_bundle_in_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    bundle = _bundle(tmp_path / "bundles" / "ml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "deploy.yml").write_text(
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n          cd bundles/ml\n          databricks bundle deploy\n",
        encoding="utf-8",
    )
    assert _dg113(bundle) == [("../../.github/workflows/deploy.yml", 8, 11)]


def test_tool_folders_are_skipped_and_reading_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _bundle(tmp_path / "b")
    line = "databricks workspace import /Users/a/x --file x.py --language PYTHON\n"
    for folder in (".venv/bin", "node_modules/pkg", ".databricks/bundle"):
        (bundle / folder).mkdir(parents=True)
        (bundle / folder / "install.sh").write_text(line, encoding="utf-8")
    (bundle / "big.sh").write_text("#" * (cli_usage.MAX_FILE_BYTES + 1) + "\n" + line, encoding="utf-8")
    (bundle / "scripts").mkdir()
    (bundle / "scripts" / "upload.sh").write_text(line, encoding="utf-8")
    assert _dg113(bundle) == [("scripts/upload.sh", 1, 1)]
    monkeypatch.setattr(cli_usage, "MAX_ENTRIES", 2)  # databricks.yml and big.sh, then stop
    assert _dg113(bundle) == []


def test_a_comment_suppresses_a_finding_in_a_script(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "b")
    (bundle / "upload.sh").write_text(
        "# dab-guard: ignore[DG113]\ndatabricks workspace import /Users/a/x --file x.py --language PYTHON\n"
        "databricks workspace import /Users/a/y --file y.py --language PYTHON\n",
        encoding="utf-8",
    )
    assert _dg113(bundle) == [("upload.sh", 3, 1)]


def test_a_default_target_without_host_is_reported_and_one_with_host_is_not(tmp_path: Path) -> None:
    workflow = "on: push\njobs:\n  d:\n    runs-on: x\n    steps:\n      - run: databricks bundle deploy\n"
    pinned = _bundle(tmp_path / "pinned", "  dev:\n    default: true\n    workspace:\n      profile: dev\n")
    loose = _bundle(tmp_path / "loose", "  dev:\n    default: true\n  prod: {}\n")
    for root in (pinned, loose):
        (root / ".github" / "workflows").mkdir(parents=True)
        (root / ".github" / "workflows" / "d.yml").write_text(workflow, encoding="utf-8")
    assert _dg113(pinned) == []
    assert _dg113(loose) == [(".github/workflows/d.yml", 6, 14)]
