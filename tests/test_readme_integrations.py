"""The README's "Where it runs" snippets: what they name (hook ids, action inputs, commands) exists, and they work."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.cli import build_parser, main
from tests.conftest import FIXTURES, ROOT

README = ROOT / "README.md"
FENCE_RE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _sections() -> dict[str, list[tuple[str, str]]]:
    """``### heading`` -> [(language, code)] for the README's "Where it runs" part."""
    text = README.read_text(encoding="utf-8")
    part = text.split("\n## Where it runs\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[tuple[str, str]]] = {}
    for chunk in part.split("\n### ")[1:]:
        heading, _, body = chunk.partition("\n")
        out[heading.strip()] = FENCE_RE.findall(body)
    return out


def _snippet(heading: str, language: str, index: int = 0) -> str:
    blocks = [code for lang, code in _sections()[heading] if lang == language]
    assert len(blocks) > index, f"no {language} snippet #{index} under '{heading}'"
    return blocks[index]


def _dab_guard_commands(code: str) -> list[list[str]]:
    """Every `dab-guard ...` command in a shell snippet or a YAML script list, as argv without the program name."""
    commands = []
    for line in code.splitlines():
        at = line.find("dab-guard ")
        if at < 0 or "pip install" in line:
            continue
        argv = shlex.split(line[at:].split("|")[0])
        commands.append(argv[1:])
    return commands


def _parses(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse reports a bad option by exiting
        raise AssertionError(f"dab-guard {' '.join(argv)} does not parse") from exc


def test_every_integration_has_a_section_with_a_snippet() -> None:
    sections = _sections()
    for heading in ("pre-commit", "GitHub Action", "The bundle's own predeploy hook", "SARIF, JUnit and annotations in any CI",
                    "The CLI's resolved configuration (`--resolved`)", "Your editor"):  # fmt: skip
        assert sections.get(heading), f"README has no snippet under '### {heading}'"


def test_pre_commit_snippet_uses_the_published_hook() -> None:
    config = yaml.safe_load(_snippet("pre-commit", "yaml"))
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    published = {hook["id"]: hook for hook in hooks}
    (repo,) = config["repos"]
    for hook in repo["hooks"]:
        assert hook["id"] in published
        entry = shlex.split(published[hook["id"]]["entry"])
        _parses([*entry[1:], *hook.get("args", []), "databricks.yml"])


def test_pre_commit_snippet_runs_as_pre_commit_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load(_snippet("pre-commit", "yaml"))
    published = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    (hook,) = config["repos"][0]["hooks"]
    entry = shlex.split(published[hook["id"]]["entry"])
    (tmp_path / ".git").mkdir()
    bundle = tmp_path / "bundles" / "ml"
    bundle.mkdir(parents=True)
    # Only a warning (DG110: no workspace named): the snippet's args decide whether it fails the commit.
    (bundle / "databricks.yml").write_text("bundle:\n  name: ml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main([*entry[1:], *hook.get("args", []), "bundles/ml/databricks.yml"])
    out = capsys.readouterr().out
    assert "DG110" in out
    assert code == (1 if "--strict" in hook.get("args", []) else 0)


def test_action_snippet_runs_the_action_steps(tmp_path: Path) -> None:
    from tests.test_action import _run_step, _validate_env

    workflow = yaml.safe_load(_snippet("GitHub Action", "yaml"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    (ours,) = [step for step in steps if str(step.get("uses", "")).startswith("dab-guard/dab-guard@")]
    repo = tmp_path / "workspace"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(FIXTURES / "dg004" / "bad_includes", repo / ours["with"].get("path", "."), dirs_exist_ok=True)
    result, outputs = _run_step("Validate", _validate_env(**{k.replace("-", "_"): str(v) for k, v in ours["with"].items()}), repo, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs["exit-code"] == "1", "the bundle has errors: the action's last step fails the job"
    if ours["with"].get("format") == "sarif":
        assert json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_action_snippet_uses_declared_inputs_and_values() -> None:
    workflow = yaml.safe_load(_snippet("GitHub Action", "yaml"))
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    ours = [step for step in steps if str(step.get("uses", "")).startswith("dab-guard/dab-guard@")]
    assert len(ours) == 1
    given = ours[0]["with"]
    assert set(given) <= set(action["inputs"]), set(given) - set(action["inputs"])
    from dab_guard.formatters import FORMATTERS

    assert given.get("format", "github") in FORMATTERS
    assert given.get("fail-on", "error") in ("error", "warning", "never")
    if given.get("format") == "sarif":
        assert workflow["permissions"]["security-events"] == "write", "uploading SARIF needs this permission"


def test_predeploy_snippet_resolves_to_a_valid_command(tmp_path: Path) -> None:
    snippet = yaml.safe_load(_snippet("The bundle's own predeploy hook", "yaml"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    config = {"bundle": {"name": "readme"}, **snippet, "targets": {"dev": {"default": True}}}
    (bundle / "databricks.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    command = resolve_target(load_bundle(bundle), "dev").config["experimental"]["scripts"]["predeploy"]
    argv = shlex.split(command)
    assert argv[0] == "dab-guard"
    _parses(argv[1:])
    assert argv[1:] == ["validate", "--target", "dev"]


def test_ci_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(FIXTURES / "dg004" / "good_includes", tmp_path / "bundles" / "ml")
    monkeypatch.chdir(tmp_path)
    heading = "SARIF, JUnit and annotations in any CI"
    commands = _dab_guard_commands(_snippet(heading, "sh"))
    gitlab = yaml.safe_load(_snippet(heading, "yaml"))
    commands += _dab_guard_commands("\n".join(gitlab["dab-guard"]["script"]))
    assert len(commands) == 2
    for argv in commands:
        assert main(argv) in (0, 1)
    capsys.readouterr()
    assert json.loads(Path("dab-guard.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert Path("dab-guard.xml").read_text(encoding="utf-8").startswith("<?xml")
    assert Path("dab-guard.txt").is_file()
    assert gitlab["dab-guard"]["artifacts"]["reports"]["junit"] == "dab-guard.xml"


def test_resolved_snippet_commands_parse() -> None:
    commands = _dab_guard_commands(_snippet("The CLI's resolved configuration (`--resolved`)", "sh"))
    assert commands == [["validate", "--resolved", "resolved.json"], ["validate", "--resolved", "-"]]
    for argv in commands:
        _parses(argv)


def test_editor_snippets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heading = "Your editor"
    (command,) = _dab_guard_commands(_snippet(heading, "sh"))
    schema_path = command[command.index("--output") + 1]
    first_line = _snippet(heading, "yaml").splitlines()[0]
    assert re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first_line)
    assert first_line.endswith(schema_path)
    settings = json.loads(_snippet(heading, "json"))
    assert list(settings["yaml.schemas"]) == [schema_path]
    monkeypatch.chdir(tmp_path)  # copied as is into an empty repository
    try:
        code = main(command)
    except FileNotFoundError:
        pytest.skip("the schema has not been generated")
    assert code == 0
    assert json.loads((tmp_path / schema_path).read_text(encoding="utf-8"))["$schema"].startswith("https://json-schema.org/")
