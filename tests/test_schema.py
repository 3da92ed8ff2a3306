"""dab-guard's JSON Schema: how it is made, that it agrees with the CLI's, and the DG002/DG003 checks built on it."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.cli import main
from dab_guard.engine import validate
from dab_guard.finding import Severity
from dab_guard.schema import bundle_schema, schema_text
from dab_guard.schema.validate import SchemaChecker, checker, is_unresolved
from tests.conftest import CORPUS, FIXTURES, REFERENCE, ROOT, load_script

GENERATOR = ROOT / "scripts" / "generate_schema.py"
CLI_SCHEMA = REFERENCE / "databricks-bundle-schema.json"


def _generator() -> ModuleType:
    return load_script(GENERATOR)


def _bundle(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "databricks.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return tmp_path


def _findings(folder: Path, *rules: str) -> list[tuple[str, int, str, Severity]]:
    result = validate(folder, env={})
    return [(f.rule, f.line, f.message, f.severity) for f in result.findings if f.rule in rules]


# --- the generated file ----------------------------------------------------------------------------------------


def test_generator_reproduces_the_committed_schema(tmp_path: Path) -> None:
    pytest.importorskip("databricks.bundles", reason="the generator needs databricks-bundles (the dev extra)")
    from databricks.bundles.version import __version__

    committed = schema_text()
    if f"databricks-bundles {__version__};" not in committed:
        pytest.skip(f"the schema was generated from another databricks-bundles than {__version__}: re-run the generator")
    out = tmp_path / "bundle.schema.json"
    assert _generator().main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == committed, "re-run scripts/generate_schema.py and commit the result"
    # A second run gives the same bytes: the output does not depend on dict or set order.
    again = tmp_path / "again.json"
    assert _generator().main(["--output", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_schema_command_prints_a_valid_draft_2020_12_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == bundle_schema()


def test_schema_stays_small() -> None:
    # It is read on every run; a schema with descriptions would be several times larger.
    assert len(schema_text().encode()) < 400_000


# --- conformance with the CLI's own schema ---------------------------------------------------------------------


class _CliSchema:
    """The CLI's schema, navigated without compiling its patterns (RE2 ``\\p{L}`` classes that ``re`` rejects)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, ref: str) -> Any:
        node: Any = self.data
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def alternatives(self, node: Any, seen: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """A node's schemas with ``$ref`` followed and ``oneOf``/``anyOf`` flattened."""
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            if node["$ref"] not in seen:
                yield from self.alternatives(self.get(node["$ref"]), (*seen, node["$ref"]))
            return
        branches = [*node.get("oneOf", ()), *node.get("anyOf", ())]
        if not branches:
            yield node
        for branch in branches:
            yield from self.alternatives(branch, seen)


# Names the CLI's schema leaves out (it omits read-only fields) although the CLI reads them from the configuration:
# a variable's `value` is its value (acceptance/bundle/variables/complex-within-complex and complex-simple).
READ_BUT_NOT_IN_CLI_SCHEMA = {".variables.*.value: property"}


def _conformance_problems(ours: dict[str, Any], cli: _CliSchema) -> list[str]:
    problems: list[str] = []
    visited: set[tuple[str, int]] = set()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = ours["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    def walk(mine: dict[str, Any], theirs: Any, path: str) -> None:
        key = (mine.get("$ref") or json.dumps(mine, sort_keys=True), id(theirs))
        if key in visited:
            return
        visited.add(key)
        mine = resolve(mine)
        alternatives = list(cli.alternatives(theirs))
        for branch in mine.get("anyOf", ()):
            walk(branch, theirs, path)
        if "enum" in mine:
            allowed = {value for alt in alternatives for value in alt.get("enum", ())}
            problems.extend(f"{path}: enum value {value!r}" for value in mine["enum"] if value not in allowed)
        if "properties" in mine:
            theirs_props: dict[str, Any] = {}
            for alt in alternatives:
                for name, sub in alt.get("properties", {}).items():
                    theirs_props.setdefault(name, sub)
            for name, sub in mine["properties"].items():
                if name not in theirs_props:
                    problems.append(f"{path}.{name}: property")
                else:
                    walk(sub, theirs_props[name], f"{path}.{name}")
        if isinstance(mine.get("additionalProperties"), dict):
            values = [alt["additionalProperties"] for alt in alternatives if isinstance(alt.get("additionalProperties"), dict)]
            if values:
                walk(mine["additionalProperties"], values[0], f"{path}.*")
            else:
                problems.append(f"{path}: a map of named entries, which the CLI does not have here")
        if "items" in mine:
            items = [alt["items"] for alt in alternatives if "items" in alt]
            if items:
                walk(mine["items"], items[0], f"{path}[]")
            else:
                problems.append(f"{path}: a list, which the CLI does not have here")

    walk(ours, cli.data, "")
    return problems


@pytest.mark.skipif(not CLI_SCHEMA.is_file(), reason=f"no CLI schema at {CLI_SCHEMA}")
def test_every_name_in_the_schema_exists_in_the_cli_schema() -> None:
    cli = _CliSchema(json.loads(CLI_SCHEMA.read_text(encoding="utf-8")))
    problems = [p for p in _conformance_problems(bundle_schema(), cli) if p not in READ_BUT_NOT_IN_CLI_SCHEMA]
    assert not problems, "not in the CLI's schema (add them to NOT_IN_CLI in scripts/generate_schema.py):\n" + "\n".join(problems)


@pytest.mark.skipif(not CLI_SCHEMA.is_file(), reason=f"no CLI schema at {CLI_SCHEMA}")
def test_the_cli_sections_and_target_keys_are_all_known() -> None:
    """The other way round, where a miss would be a false DG003: every top-level and target key the CLI accepts."""
    cli = _CliSchema(json.loads(CLI_SCHEMA.read_text(encoding="utf-8")))
    ours = bundle_schema()
    assert set(cli.data["properties"]) <= set(ours["properties"])
    target = next(alt for alt in cli.alternatives(cli.data["properties"]["targets"]) if "additionalProperties" in alt)
    cli_target_keys = {k for alt in cli.alternatives(target["additionalProperties"]) for k in alt.get("properties", {})}
    assert cli_target_keys <= set(ours["$defs"]["bundle.Target"]["properties"])
    resources = {k for alt in cli.alternatives(cli.data["properties"]["resources"]) for k in alt.get("properties", {})}
    assert resources <= set(ours["$defs"]["bundle.Resources"]["properties"])


# --- the pre-check agrees with jsonschema ----------------------------------------------------------------------


def _issue_keys(found: Any) -> set[tuple[str, tuple[Any, ...]]]:
    return {(issue.kind, issue.path) for issue in found}


def _jsonschema_keys(schema_checker: SchemaChecker, value: Any) -> set[tuple[str, tuple[Any, ...]]]:
    """What the plain jsonschema validator finds, in the same terms (nulls and unresolved references accepted)."""
    keys: set[tuple[str, tuple[Any, ...]]] = set()
    for error in schema_checker.validator.iter_errors(value):
        issue_like = list(schema_checker._explain(error, ()))
        keys |= _issue_keys(issue_like)
    return keys


def _views() -> Iterator[tuple[str, dict[str, Any]]]:
    folders = sorted(p for p in FIXTURES.glob("dg*/*") if (p / "databricks.yml").is_file())
    if CORPUS.is_dir():
        folders += sorted(p for p in CORPUS.iterdir() if p.is_dir())
    known = bundle_schema()["properties"]
    for folder in folders:
        try:
            bundle = load_bundle(folder)
        except Exception:  # a fixture of another rule that is meant not to load
            continue
        for name in bundle.target_names():
            config = resolve_target(bundle, name, {}, {}).config
            view = {k: v for k, v in config.items() if k in known}
            if isinstance(view.get("bundle"), dict):
                view["bundle"] = {k: v for k, v in view["bundle"].items() if k != "mode"}
            yield f"{folder.name}/{name}", view


def test_the_pre_check_finds_what_jsonschema_finds_in_fixtures_and_corpus() -> None:
    schema_checker = checker()
    for label, view in _views():
        assert _issue_keys(schema_checker.issues(view)) == _jsonschema_keys(schema_checker, view), label


_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "two", "3", "yes", "SINGLE_USER", "SINGEL_USER", "${var.x}", "${resources.jobs.a.id}", "${"]),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["task_key", "num_workers", "x", "name"]), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replaced(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replaced(v, rest, new) if i == head else v) for i, v in enumerate(value)]


_SAMPLE = {
    "bundle": {"name": "sample"},
    "variables": {"n": {"default": 1}},
    "resources": {
        "jobs": {
            "train": {
                "name": "train",
                "max_concurrent_runs": 1,
                "queue": {"enabled": True},
                "job_clusters": [
                    {
                        "job_cluster_key": "main",
                        "new_cluster": {
                            "spark_version": "16.4.x-cpu-ml-scala2.12",
                            "num_workers": 2,
                            "data_security_mode": "SINGLE_USER",
                            "spark_conf": {"spark.master": "local[*]"},
                        },
                    }
                ],
                "tasks": [{"task_key": "t", "job_cluster_key": "main", "spark_python_task": {"python_file": "a.py"}}],
            }
        },
        "pipelines": {"p": {"name": "p", "serverless": True, "libraries": [{"notebook": {"path": "n.py"}}]}},
    },
}
_SAMPLE_PATHS = _paths(_SAMPLE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(_SAMPLE_PATHS), new=_JSON)
def test_the_pre_check_agrees_with_jsonschema_on_any_change(where: tuple[Any, ...], new: Any) -> None:
    schema_checker = checker()
    value = _replaced(_SAMPLE, where, new)
    found = list(schema_checker.issues(value))
    assert _issue_keys(found) == _jsonschema_keys(schema_checker, value)
    for issue in found:
        assert "is not valid under any of the given schemas" not in issue.message
        assert issue.message


# --- DG002 and DG003 on bundles --------------------------------------------------------------------------------


def test_unresolved_references_never_give_dg002(tmp_path: Path) -> None:
    folder = _bundle(
        tmp_path,
        """\
        bundle:
          name: refs
        variables:
          pool:
            lookup:
              instance_pool: ml-pool
          workers:
            description: given with --var at deploy time
        resources:
          jobs:
            a:
              name: a
              max_concurrent_runs: ${var.workers}
              timeout_seconds: ${var.workers}0
              queue:
                enabled: ${var.workers}
              job_clusters:
                - job_cluster_key: main
                  new_cluster:
                    spark_version: 16.4.x-cpu-ml-scala2.12
                    instance_pool_id: ${var.pool}
                    data_security_mode: ${var.pool}
                    num_workers: ${var.workers}
                    autoscale: ${var.pool}
              tasks:
                - task_key: a
                  run_job_task:
                    job_id: ${resources.jobs.b.id}
                - ${var.pool}
            b:
              name: b
        """,
    )
    assert is_unresolved("${var.workers}0")
    assert _findings(folder, "DG002") == []


def test_a_misspelt_required_key_is_one_finding(tmp_path: Path) -> None:
    folder = _bundle(
        tmp_path,
        """\
        bundle:
          name: typo
        resources:
          jobs:
            a:
              name: a
              tasks:
                - task_kye: one
                  notebook_task:
                    notebook_path: /Workspace/Shared/a
            b:
              name: b
              tasks:
                - notebook_task:
                    notebook_path: /Workspace/Shared/b
        """,
    )
    # Two tasks of one job without a task_key would be merged into one, as the CLI merges them (their key is ""):
    # the task that lacks its key stands in a job of its own.
    found = _findings(folder, "DG002", "DG003")
    assert [(rule, line) for rule, line, _, _ in found] == [("DG003", 8), ("DG002", 14)]
    assert "did you mean 'task_key'" in found[0][2]
    assert "missing required field 'task_key'" in found[1][2]


def test_a_known_section_that_only_holds_an_anchor_is_a_warning(tmp_path: Path) -> None:
    # The mlops-stacks templates write `permissions: &permissions` at the top level of resource files.
    folder = _bundle(
        tmp_path,
        """\
        bundle:
          name: anchors
        include:
          - resources/*.yml
        """,
        {
            "resources/job.yml": """\
            permissions: &permissions
              permissions:
                - level: CAN_VIEW
                  group_name: users
            resources:
              jobs:
                a:
                  name: a
                  <<: *permissions
            """
        },
    )
    found = _findings(folder, "DG002", "DG003")
    assert len(found) == 1
    rule, line, message, severity = found[0]
    assert (rule, line, severity) == ("DG002", 1, Severity.WARNING)
    assert "expected a list, got a mapping" in message and "x-permissions" in message


def test_an_unknown_top_level_key_is_reported_unless_it_holds_an_anchor(tmp_path: Path) -> None:
    folder = _bundle(
        tmp_path,
        """\
        bundle:
          name: top
        x-defaults: &defaults
          max_concurrent_runs: 1
        worksapce:
          host: https://example.cloud.databricks.com
        resources:
          jobs:
            a:
              name: a
              <<: *defaults
        """,
    )
    found = _findings(folder, "DG002", "DG003")
    assert [(rule, line) for rule, line, _, _ in found] == [("DG003", 5)]
    assert "did you mean 'workspace'" in found[0][2]


def test_a_finding_the_same_in_every_target_is_reported_once(tmp_path: Path) -> None:
    folder = _bundle(
        tmp_path,
        """\
        bundle:
          name: once
        resources:
          jobs:
            a:
              name: a
              max_concurrent_runs: many
        targets:
          dev:
            default: true
          prod:
            mode: production
        """,
    )
    result = validate(folder, env={})
    schema_findings = [f for f in result.findings if f.rule == "DG002"]
    assert len(schema_findings) == 1
    assert schema_findings[0].targets == ("dev", "prod")
    assert schema_findings[0].path == "resources.jobs.a.max_concurrent_runs"
    assert re.search(r"max_concurrent_runs: expected an integer, got 'many'", schema_findings[0].message)


def test_a_thousand_valid_jobs_give_no_issue(tmp_path: Path) -> None:
    jobs = {
        f"job_{i}": {
            "name": f"job-{i}",
            "tags": {"team": "ml", "index": i},
            "job_clusters": [
                {
                    "job_cluster_key": "main",
                    "new_cluster": {
                        "spark_version": "16.4.x-cpu-ml-scala2.12",
                        "node_type_id": "i3.xlarge",
                        "num_workers": "${var.workers}",
                        "data_security_mode": "SINGLE_USER",
                        "spark_conf": {"spark.databricks.delta.preview.enabled": True},
                    },
                }
            ],
            "tasks": [
                {"task_key": "train", "job_cluster_key": "main", "spark_python_task": {"python_file": "t.py", "parameters": ["--n", "1"]}},
                {"task_key": "eval", "depends_on": [{"task_key": "train"}], "job_cluster_key": "main", "notebook_task": {"notebook_path": "e"}},
            ],
        }
        for i in range(1000)
    }
    config = {"bundle": {"name": "big"}, "variables": {"workers": {"default": 2}}, "resources": {"jobs": jobs}}
    schema_checker = checker()
    list(schema_checker.issues({"bundle": {"name": "warm-up"}}))
    # Its speed is measured by bench/run.py, not asserted here: a loaded CI machine would make a timing flaky.
    assert list(schema_checker.issues(config)) == []
