"""`dab-guard fix`: each fixable rule's bad fixture is repaired on a copy, and nothing else in it changes.

For every case: the findings whose fix was applied are gone on re-validation and no other finding appears or goes,
the diff touches exactly the expected lines, every comment survives, CRLF files stay CRLF, and a second run
changes nothing. Then the guarantees: --diff writes nothing, a file changed since it was read is left alone,
a fix that would break parsing writes nothing, a fix never changes what another target deploys unless that target
needs the same change, and the fixes applied to copies of the real bundles of the corpus lose no other finding.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import shutil
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dab_guard.bundle.resolve import Target
from dab_guard.cli import main
from dab_guard.config import Settings, load_settings
from dab_guard.engine import Run, validate
from dab_guard.finding import Finding, Fix, Report, Severity, TextEdit
from dab_guard.fix import plan_fixes, run_fix, write_changes
from dab_guard.rules.base import Rule
from tests.conftest import CORPUS, FIXTURES
from tests.files import write_files


@dataclass(frozen=True)
class Case:
    fixture: str  # under tests/fixtures
    rule: str
    unsafe: bool
    changed: dict[str, set[int]]  # file -> original lines replaced or removed
    inserted: dict[str, list[str]]  # file -> lines added (stripped), in order


CASES = [
    Case("dg003/bad_typos", "DG003", True, {"databricks.yml": {11, 15, 20}, "resources/pipeline.yml": {5}}, {}),
    Case("dg003/bad_target_keys", "DG003", True, {"databricks.yml": {16, 25, 29}}, {}),
    Case("dg101/bad_ml_clusters", "DG101", False, {}, {"databricks.yml": ["data_security_mode: SINGLE_USER"]}),
    Case(
        "dg101/bad_ml_clusters", "DG101", True, {"databricks.yml": {18, 39, 53, 61, 73}},
        {"databricks.yml": ["data_security_mode: SINGLE_USER", "data_security_mode: SINGLE_USER"]},
    ),
    Case("dg101/bad_target_override", "DG101", True, {"databricks.yml": {29}}, {}),
    Case("dg101/bad_variables", "DG101", True, {"databricks.yml": {5}}, {"databricks.yml": ["data_security_mode: SINGLE_USER"]}),
    Case("dg102/bad_keys", "DG102", False, {"databricks.yml": {10, 16, 61}}, {}),
    Case("dg102/bad_keys", "DG102", True, {"databricks.yml": {10, 16, 22, 28, 34, 61}}, {}),
    Case("dg102/bad_target_override", "DG102", False, {"databricks.yml": {29}}, {}),
    Case("dg102/bad_variables", "DG102", False, {"databricks.yml": {6, 10}}, {}),
    Case("dg104/bad_pools", "DG104", False, {"databricks.yml": {18, 25, 50}}, {}),
    Case("dg104/bad_target_override", "DG104", False, {"databricks.yml": {28, 29}}, {}),
    Case(
        "dg106/bad_single_node", "DG106", False, {},
        {"databricks.yml": [
            "spark_conf:", 'spark.master: "local[*]"', "spark.databricks.cluster.profile: singleNode",
            "custom_tags:", "ResourceClass: SingleNode", "custom_tags:", "ResourceClass: SingleNode",
        ]},
    ),
    Case(
        "dg106/bad_target_override", "DG106", False, {},
        {"databricks.yml": [
            "spark_conf:", 'spark.master: "local[*]"', "spark.databricks.cluster.profile: singleNode",
            "custom_tags:", "ResourceClass: SingleNode",
        ]},
    ),
    Case(
        "dg106/bad_variables", "DG106", False, {},
        {"databricks.yml": [
            "spark_conf:", 'spark.master: "local[*]"', "spark.databricks.cluster.profile: singleNode",
            "custom_tags:", "ResourceClass: SingleNode",
        ]},
    ),
    Case("dg108/bad_queue", "DG108", True, {"databricks.yml": {7, 15, 22, 49}}, {}),
    Case("dg207/bad_tool_node", "DG207", False, {"agents/support/graph.py": {6}, "agents/aliased.py": {3}, "notebooks/agent.ipynb": {9}}, {}),
    Case(
        "dg207/bad_tool_node", "DG207", True,
        {"agents/support/graph.py": {6, 7}, "agents/aliased.py": {3}, "notebooks/agent.ipynb": {9}}, {},
    ),
    Case("dg211/bad_deploy_keywords", "DG211", False, {"src/deploy.py": {6}, "notebooks/deploy.ipynb": {19}}, {}),
    Case("dg211/bad_deploy_keywords", "DG211", True, {"src/deploy.py": {6, 7}, "notebooks/deploy.ipynb": {19}}, {}),
]
CASE_IDS = [f"{c.fixture}{'-unsafe' if c.unsafe else ''}" for c in CASES]


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name.replace("/", "_")
    shutil.copytree(FIXTURES / name, target)
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check(root: Path, fixes: bool = False) -> Run:
    return validate(root, settings=load_settings(root), fixes=fixes)


_POSITION = re.compile(r":\d+(:\d+)?\b")


def finding_key(finding: Finding) -> tuple[str, str, str, str]:
    """A finding without its line numbers: fixes move lines, they must not change what is found."""
    return finding.rule, finding.file, finding.path, _POSITION.sub("", finding.message)


def keys(result: Run) -> Counter[tuple[str, str, str, str]]:
    return Counter(finding_key(f) for f in result.findings)


def lost_only_fixed(before: Run, after: Run, applied: list[Finding]) -> None:
    """Every finding that went away was fixed, or was about the very value a fix changed (a schema finding on
    ``queue: {}`` goes with ``enabled: true``); no finding appeared."""
    fixed = {finding_key(f) for f in applied}
    fixed_paths = {f.path for f in applied}
    lost = keys(before) - keys(after)
    assert fixed <= set(lost)
    for rule, file, path, message in lost - Counter(fixed):
        assert any(path == p or path.startswith(p + ".") or p.startswith(path + ".") for p in fixed_paths), (rule, file, path, message)
    assert keys(after) - keys(before) == Counter()


def line_changes(before: str, after: str) -> tuple[set[int], list[str]]:
    """(original lines replaced or removed, lines added), comparing line by line."""
    old, new = before.splitlines(), after.splitlines()
    changed: set[int] = set()
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            changed.update(range(i1 + 1, i2 + 1))
        if op == "insert" or (op == "replace" and j2 - j1 > i2 - i1):
            added.extend(line.strip() for line in new[j1 + (i2 - i1 if op == "replace" else 0) : j2])
    return changed, added


def comments(text: str) -> Counter[str]:
    return Counter(match.group(0).rstrip() for match in re.finditer(r"#[^\n\r]*", text))


def fix(root: Path, *args: str) -> int:
    return main(["fix", str(root), *args])


# --- every fixable rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fixture_is_fixed(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_fixture(case.fixture, tmp_path)
    before_files = snapshot(root)
    before = check(root)
    outcome = run_fix(root, settings=load_settings(root), unsafe=case.unsafe)
    after_files = snapshot(root)

    # Only the expected lines change.
    touched = {rel for rel in before_files if before_files[rel] != after_files[rel]}
    assert touched == set(case.changed) | set(case.inserted), outcome.plan.messages
    for rel in touched:
        old_text, new_text = before_files[rel].decode(), after_files[rel].decode()
        changed, added = line_changes(old_text, new_text)
        assert changed == case.changed.get(rel, set()), difflib.unified_diff(old_text.splitlines(), new_text.splitlines())
        assert added == case.inserted.get(rel, [])
        # Every comment survives, except on removed lines; a replaced line keeps its comment.
        removed_comments = comments("\n".join(old_text.splitlines()[n - 1] for n in changed if case.rule == "DG104"))
        assert comments(new_text) == comments(old_text) - removed_comments

    # The fixed findings are gone; nothing else appears or disappears.
    after = check(root)
    applied = [found.finding for found in outcome.plan.applied]
    assert applied and all(f.rule == case.rule for f in applied)
    lost_only_fixed(before, after, applied)

    # A second run changes nothing, and says there is nothing to change.
    assert run_fix(root, settings=load_settings(root), unsafe=case.unsafe).plan.changes == []
    capsys.readouterr()
    assert fix(root, "--diff", *(["--unsafe-fixes"] if case.unsafe else [])) == 0
    assert capsys.readouterr().out == ""
    assert snapshot(root) == after_files


@pytest.mark.parametrize("case", [c for c in CASES if not c.fixture.startswith(("dg207", "dg211"))], ids=lambda c: c.fixture)
def test_crlf_files_stay_crlf(case: Case, tmp_path: Path) -> None:
    root = copy_fixture(case.fixture, tmp_path)
    config = root / "databricks.yml"
    config.write_bytes(config.read_bytes().replace(b"\n", b"\r\n"))
    expected_lf = tmp_path / "lf"
    shutil.copytree(FIXTURES / case.fixture, expected_lf)
    run_fix(expected_lf, settings=load_settings(expected_lf), unsafe=case.unsafe)
    run_fix(root, settings=load_settings(root), unsafe=case.unsafe)
    data = config.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data == (expected_lf / "databricks.yml").read_bytes().replace(b"\n", b"\r\n")


def test_python_fix_keeps_crlf(tmp_path: Path) -> None:
    root = copy_fixture("dg207/bad_tool_node", tmp_path)
    graph = root / "agents/support/graph.py"
    graph.write_bytes(graph.read_bytes().replace(b"\n", b"\r\n"))
    run_fix(root, settings=load_settings(root))
    data = graph.read_bytes()
    assert b"tool_node = ToolNode(ALL_TOOLS, handle_tool_errors=True)  # expect: DG207\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


# --- the command --------------------------------------------------------------------------------------------------


def test_diff_changes_nothing_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    files = snapshot(root)
    assert fix(root, "--diff") == 1
    out, err = capsys.readouterr()
    assert snapshot(root) == files
    assert out.startswith("--- a/databricks.yml\n+++ b/databricks.yml\n@@ ")
    assert "-                spark_version: 16.4.x-ml-scala2.12 # expect: DG102\n" in out
    assert "+                spark_version: 16.4.x-cpu-ml-scala2.12 # expect: DG102\n" in out
    assert err == ""


def test_diff_of_a_clean_bundle_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_fixture("dg102/good_keys", tmp_path)
    assert fix(root, "--diff") == 0
    assert capsys.readouterr().out == ""


def test_diff_names_suggested_fixes_and_unsafe_shows_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_fixture("dg108/bad_queue", tmp_path)
    assert fix(root, "--diff") == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("suggested fix (apply with --unsafe-fixes): set queue.enabled: true") == 4
    assert fix(root, "--diff", "--unsafe-fixes") == 1
    assert "+        enabled: true # expect: DG108" in capsys.readouterr().out


def test_fix_exits_as_validate_on_what_remains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pools = copy_fixture("dg104/bad_pools", tmp_path)
    # The driver pool without a worker pool has no fix and remains, as a warning (the CLI drops it at deploy).
    assert fix(pools) == 0
    out, err = capsys.readouterr()
    assert "fixed 3 findings in 1 file" in err
    assert out.count("DG104") == 1 and "driver_instance_pool_id without instance_pool_id" in out
    queue = copy_fixture("dg108/bad_queue", tmp_path)
    assert fix(queue, "--unsafe-fixes", "--format", "json") == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)["summary"]["error"] == 0 and "DG108" not in out


def test_validate_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    assert main(["validate", str(root), "--fix"]) == 0
    out, err = capsys.readouterr()
    assert "fixed 1 finding in 1 file" in err
    assert "DG102" not in out
    assert main(["validate", str(root), "--unsafe-fixes"]) == 2
    assert "--unsafe-fixes only applies with --fix" in capsys.readouterr().err


def test_select_and_target_limit_what_is_fixed(tmp_path: Path) -> None:
    root = copy_fixture("dg101/bad_ml_clusters", tmp_path)
    original = (root / "databricks.yml").read_text()
    settings = load_settings(root)
    settings.select.append("DG102")
    assert run_fix(root, settings=settings).plan.changes == []
    two = copy_fixture("dg106/bad_target_override", tmp_path)
    assert run_fix(two, settings=load_settings(two), targets=["prod"]).plan.changes == []
    assert run_fix(two, settings=load_settings(two), targets=["dev"]).written
    assert (root / "databricks.yml").read_text() == original


def test_suppressed_finding_is_not_fixed(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    config = root / "databricks.yml"
    config.write_text(config.read_text().replace("# expect: DG102", "# dab-guard: ignore[DG102]"))
    assert run_fix(root, settings=load_settings(root)).plan.changes == []


def test_file_mode_is_kept(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    config = root / "databricks.yml"
    config.chmod(0o640)
    assert run_fix(root, settings=load_settings(root)).written
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


# --- guarantees ---------------------------------------------------------------------------------------------------


def test_only_the_fix_command_works_out_fixes(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_keys", tmp_path)
    assert check(root).fixes == []  # a plain validate does not parse files a second time
    assert {found.finding.rule for found in check(root, fixes=True).fixes} == {"DG102"}


def test_file_changed_between_read_and_write_is_left_alone(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    plan = plan_fixes(check(root, fixes=True))
    assert plan.changes
    config = root / "databricks.yml"
    edited = config.read_text() + "# edited by someone else\n"
    config.write_text(edited)
    assert write_changes(plan) == []
    assert config.read_text() == edited
    assert any("changed since it was read" in message for message in plan.messages)


def test_file_changed_between_validation_and_plan_is_left_alone(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    result = check(root, fixes=True)
    config = root / "databricks.yml"
    config.write_text("# a new first line\n" + config.read_text())
    plan = plan_fixes(result)
    assert plan.changes == []
    assert any("changed since it was read" in message for message in plan.messages)


class _BreakYaml(Rule):
    """A rule whose fix would make databricks.yml unreadable (as a bug in a real rule could)."""

    id = "DG990"
    name = "break-yaml"
    severity = Severity.ERROR
    summary = "test"

    def check(self, target: Target) -> Iterator[Report]:
        source = target.bundle.files["databricks.yml"]
        from dab_guard.edits import digest

        edit = TextEdit("databricks.yml", 1, 1, 1, 1, "key: [unclosed\n", digest(source.text.encode()))
        yield Report("broken on purpose", ("bundle",), fix=Fix("break", (edit,)))


class _BreakPython(Rule):
    id = "DG991"
    name = "break-python"
    severity = Severity.ERROR
    summary = "test"

    def check(self, target: Target) -> Iterator[Report]:
        from dab_guard.edits import digest

        data = (target.bundle.root_dir / "agents/support/graph.py").read_bytes()
        edit = TextEdit("agents/support/graph.py", 1, 1, 1, 1, "def (\n", digest(data))
        yield Report("broken on purpose", ("bundle",), fix=Fix("break", (edit,)))


@pytest.mark.parametrize("breaker", [_BreakYaml, _BreakPython])
def test_fix_that_breaks_parsing_writes_nothing(breaker: type[Rule], tmp_path: Path) -> None:
    root = copy_fixture("dg207/bad_tool_node", tmp_path)
    files = snapshot(root)
    outcome = run_fix(root, settings=load_settings(root), extra_rules=[breaker])
    assert outcome.written == [] and snapshot(root) == files
    assert any(message.startswith("nothing fixed:") and "would no longer parse" in message for message in outcome.plan.messages)


class _Overlap(Rule):
    """Two findings whose fixes replace the same text differently."""

    id = "DG992"
    name = "overlap"
    severity = Severity.ERROR
    summary = "test"

    def check(self, target: Target) -> Iterator[Report]:
        from dab_guard.edits import digest

        basis = digest(target.bundle.files["databricks.yml"].text.encode())
        for text in ("a", "b"):
            edit = TextEdit("databricks.yml", 2, 9, 2, 12, text, basis)
            yield Report(f"overlap {text}", ("bundle", "name"), fix=Fix(text, (edit,)))


def test_conflicting_fixes_are_both_skipped(tmp_path: Path) -> None:
    root = copy_fixture("dg102/bad_target_override", tmp_path)
    outcome = run_fix(root, settings=load_settings(root), extra_rules=[_Overlap], write=False)
    assert [found.finding.rule for found in outcome.plan.applied] == ["DG102"]
    assert sum("overlaps the fix of another finding" in m for m in outcome.plan.messages) == 2


_JOB = """\
bundle:
  name: shared
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: ml
          new_cluster:
{cluster}
      tasks:
        - task_key: train
          job_cluster_key: ml
          notebook_task:
            notebook_path: /Workspace/Shared/train
targets:
{targets}
"""


def test_same_edit_from_several_targets_is_made_once(tmp_path: Path) -> None:
    cluster = "            spark_version: 16.4.x-ml-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 1\n            data_security_mode: SINGLE_USER"
    root = write_files(tmp_path / "b", {"databricks.yml": _JOB.format(cluster=cluster, targets="  dev:\n    default: true\n  prod: {}")})
    outcome = run_fix(root, settings=Settings())
    assert len(outcome.plan.applied) == 1
    text = (root / "databricks.yml").read_text()
    assert text.count("16.4.x-cpu-ml-scala2.12") == 1 and "16.4.x-ml-scala2.12" not in text


def test_text_another_target_needs_unchanged_is_not_fixed(tmp_path: Path) -> None:
    # num_workers: 0 is written for every target, but prod gives the cluster workers: the single-node settings
    # cannot go into the shared mapping.
    cluster = "            spark_version: 16.4.x-cpu-ml-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 0\n            data_security_mode: SINGLE_USER"
    targets = (
        "  dev:\n    default: true\n  prod:\n    resources:\n      jobs:\n        train:\n          job_clusters:\n"
        "            - job_cluster_key: ml\n              new_cluster:\n                num_workers: 4\n"
    )
    root = write_files(tmp_path / "b", {"databricks.yml": _JOB.format(cluster=cluster, targets=targets)})
    outcome = run_fix(root, settings=Settings(select=["DG106"]))
    assert outcome.written == []
    assert any("also serves target 'prod', which does not need this change" in m for m in outcome.plan.messages)


def test_removing_an_override_that_would_expose_the_shared_value_is_declined(tmp_path: Path) -> None:
    cluster = "            spark_version: 16.4.x-cpu-ml-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 1\n            data_security_mode: SINGLE_USER"
    targets = (
        "  dev:\n    default: true\n  prod:\n    resources:\n      jobs:\n        train:\n          job_clusters:\n"
        "            - job_cluster_key: ml\n              new_cluster:\n                instance_pool_id: pool-1\n"
        "                node_type_id: r5.xlarge\n"
    )
    root = write_files(tmp_path / "b", {"databricks.yml": _JOB.format(cluster=cluster, targets=targets)})
    result = validate(root, settings=Settings(select=["DG104"]), fixes=True)
    assert [f.rule for f in result.findings] == ["DG104"]
    assert result.fixes == []


def test_value_an_alias_reuses_elsewhere_is_not_removed(tmp_path: Path) -> None:
    text = """\
bundle:
  name: alias
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: pooled
          new_cluster:
            spark_version: 16.4.x-cpu-ml-scala2.12
            instance_pool_id: pool-1
            node_type_id: &node i3.xlarge
            num_workers: 1
            data_security_mode: SINGLE_USER
        - job_cluster_key: plain
          new_cluster:
            spark_version: 16.4.x-cpu-ml-scala2.12
            node_type_id: *node
            num_workers: 1
            data_security_mode: SINGLE_USER
"""
    root = write_files(tmp_path / "b", {"databricks.yml": text})
    result = validate(root, settings=Settings(select=["DG104"]), fixes=True)
    assert [f.rule for f in result.findings] == ["DG104"] and result.fixes == []


def test_variable_used_elsewhere_is_not_changed(tmp_path: Path) -> None:
    # ${var.runtime} also names the job: correcting its value would rename the job too.
    cluster = "            spark_version: ${var.runtime}\n            node_type_id: i3.xlarge\n            num_workers: 1\n            data_security_mode: SINGLE_USER"
    text = _JOB.format(cluster=cluster, targets="  dev:\n    default: true").replace("      name: train\n", "      name: train-${var.runtime}\n")
    text += "variables:\n  runtime:\n    default: 16.4.x-ml-scala2.12\n"
    root = write_files(tmp_path / "b", {"databricks.yml": text})
    outcome = run_fix(root, settings=Settings(select=["DG102"]))
    assert outcome.written == []
    assert any("the value of ${var.runtime}" in m for m in outcome.plan.messages)


def test_file_outside_the_bundle_folder_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the repository holds both folders, so the include is read
    shared = "resources:\n  clusters:\n    ml:\n      spark_version: 16.4.x-ml-scala2.12\n      node_type_id: i3.xlarge\n      num_workers: 1\n      data_security_mode: SINGLE_USER\n"
    write_files(tmp_path, {"shared/clusters.yml": shared})
    root = write_files(tmp_path / "bundle", {"databricks.yml": "bundle:\n  name: b\ninclude:\n  - ../shared/*.yml\n"})
    result = validate(root, settings=Settings(select=["DG102"]))
    assert [f.file for f in result.findings] == ["../shared/clusters.yml"]
    outcome = run_fix(root, settings=Settings(select=["DG102"]))
    assert outcome.written == [] and (tmp_path / "shared/clusters.yml").read_text() == shared
    assert any("outside the bundle folder" in m for m in outcome.plan.messages)


def test_flow_style_cluster_is_left_alone(tmp_path: Path) -> None:
    cluster = "            {spark_version: 16.4.x-cpu-ml-scala2.12, node_type_id: i3.xlarge, num_workers: 1}"
    text = _JOB.format(cluster=cluster, targets="  dev:\n    default: true").replace("          new_cluster:\n            {", "          new_cluster: {").replace("num_workers: 1}\n", "num_workers: 1}\n")
    root = write_files(tmp_path / "b", {"databricks.yml": text})
    result = validate(root, settings=Settings(select=["DG101"]), fixes=True)
    assert [f.rule for f in result.findings] == ["DG101"] and result.fixes == []


def test_flow_maps_are_extended(tmp_path: Path) -> None:
    cluster = (
        "            spark_version: 16.4.x-cpu-ml-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 0\n"
        "            data_security_mode: SINGLE_USER\n            spark_conf: {spark.master: \"local[*]\"}  # kept\n"
        "            custom_tags: {}"
    )
    root = write_files(tmp_path / "b", {"databricks.yml": _JOB.format(cluster=cluster, targets="  dev:\n    default: true")})
    assert run_fix(root, settings=Settings(select=["DG106"])).written
    text = (root / "databricks.yml").read_text()
    assert 'spark_conf: {spark.master: "local[*]", spark.databricks.cluster.profile: singleNode}  # kept\n' in text
    assert "custom_tags: {ResourceClass: SingleNode}\n" in text
    assert not [f for f in check(root).findings if f.rule == "DG106"]


def test_last_line_without_line_break(tmp_path: Path) -> None:
    text = "bundle:\n  name: b\nresources:\n  clusters:\n    ml:\n      spark_version: 16.4.x-cpu-ml-scala2.12\n      node_type_id: i3.xlarge\n      num_workers: 1"
    root = write_files(tmp_path / "b", {"databricks.yml": text})
    assert run_fix(root, settings=Settings(select=["DG101"])).written
    assert (root / "databricks.yml").read_text() == text + "\n      data_security_mode: SINGLE_USER"


def test_new_nested_keys_follow_the_files_indentation(tmp_path: Path) -> None:
    text = (
        "bundle:\n    name: b\nresources:\n    clusters:\n        one:\n"
        "            spark_version: 16.4.x-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 0\n"
    )
    root = write_files(tmp_path / "b", {"databricks.yml": text})
    assert run_fix(root, settings=Settings(select=["DG106"])).written
    added = (root / "databricks.yml").read_text()[len(text) :]
    assert added == (
        "            spark_conf:\n                spark.master: \"local[*]\"\n"
        "                spark.databricks.cluster.profile: singleNode\n"
        "            custom_tags:\n                ResourceClass: SingleNode\n"
    )


def test_tool_node_layouts(tmp_path: Path) -> None:
    code = (
        "from langgraph.prebuilt import ToolNode\n"
        "a = ToolNode()\n"
        "b = ToolNode(\n    tools,\n)\n"
        "c = ToolNode(tools  # the tools\n)\n"
        "d = ToolNode(t for t in tools)\n"
        "e = ToolNode(*tools, name='é')\n"
    )
    root = write_files(tmp_path / "b", {"databricks.yml": "bundle:\n  name: b\n", "agent.py": code})
    outcome = run_fix(root, settings=Settings(select=["DG207"]))
    assert len(outcome.plan.applied) == 4  # the generator expression gets no fix
    fixed = (root / "agent.py").read_text()
    ast.parse(fixed)
    assert "a = ToolNode(handle_tool_errors=True)\n" in fixed
    assert "b = ToolNode(\n    tools, handle_tool_errors=True,\n)\n" in fixed
    assert "c = ToolNode(tools, handle_tool_errors=True  # the tools\n)\n" in fixed
    assert "d = ToolNode(t for t in tools)\n" in fixed
    assert "e = ToolNode(*tools, name='é', handle_tool_errors=True)\n" in fixed


def test_deploy_keyword_already_passed_is_not_renamed(tmp_path: Path) -> None:
    code = "from databricks import agents\nagents.deploy('m', 1, scale_to_zero=True, scale_to_zero_enabled=True)\n"
    root = write_files(tmp_path / "b", {"databricks.yml": "bundle:\n  name: b\n", "deploy.py": code})
    result = validate(root, settings=Settings(select=["DG211"]), fixes=True)
    assert [f.rule for f in result.findings] == ["DG211"] and result.fixes == []


def test_explain_says_whether_a_rule_has_a_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "DG102"]) == 0
    assert "## Automatic fix\nsafe: `dab-guard fix` applies it" in capsys.readouterr().out
    assert main(["explain", "DG003"]) == 0
    assert "suggested: `dab-guard fix --unsafe-fixes` applies it" in capsys.readouterr().out
    assert main(["explain", "DG105"]) == 0
    assert "## Automatic fix\nnone: `dab-guard fix` leaves this finding to you" in capsys.readouterr().out


# --- the corpus ----------------------------------------------------------------------------------------------------

BUNDLES = sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not BUNDLES, reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("bundle", BUNDLES, ids=[p.name[:40] for p in BUNDLES])
def test_corpus_bundles_lose_only_fixed_findings(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / bundle.name
    shutil.copytree(bundle, root, symlinks=True)
    before = check(root)
    outcome = run_fix(root, settings=load_settings(root), unsafe=True)
    after = check(root)  # still loads
    lost_only_fixed(before, after, [found.finding for found in outcome.plan.applied])
    assert run_fix(root, settings=load_settings(root), unsafe=True).plan.changes == []
    for change in outcome.written:
        assert os.path.commonpath([change.path, root.resolve()]) == str(root.resolve())
