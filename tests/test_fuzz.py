"""Property-based tests (issue 8): whatever the input, dab-guard exits 0, 1 or 2, its JSON report is valid JSON, the
same input gives byte-identical output, and each run stays within a time bound.

Inputs: random YAML documents, random text and bytes, and random mutations (drop, duplicate, retype, rename keys; drop,
duplicate, swap and re-indent lines) of the test fixtures and of the real bundles in ``../shared/corpus``.

CI runs a short, reproducible budget. For a long run (a few thousand examples per test, new ones each time)::

    DAB_GUARD_FUZZ=long .venv/bin/python -m pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dab_guard.bundle.located import plain
from dab_guard.bundle.yamlread import read_yaml
from dab_guard.cli import main
from tests.conftest import CORPUS, FIXTURES
from tests.files import write_files

LONG = os.environ.get("DAB_GUARD_FUZZ") == "long"
# One validate of one small bundle. Real bundles take well under a second; this bound only catches a hang or runaway
# work, never a loaded CI machine. Speed itself is measured with the benchmark (bench/), not asserted here.
SECONDS_PER_RUN = 60.0

FUZZ = settings(
    max_examples=3000 if LONG else 30,
    deadline=None,  # hypothesis' deadline would flake on a loaded machine; a generous bound is asserted per run below
    derandomize=not LONG,  # CI: the same examples every time; long runs: new ones
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

SOURCES = sorted(p for p in FIXTURES.glob("dg*/*") if p.is_dir()) + (
    sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
)
CONFIG_SUFFIXES = (".yml", ".yaml")

# --- running dab-guard -------------------------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str, float]:
    """``dab-guard ARGV`` in this process: exit status, stdout, stderr and seconds taken."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusing an option
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - started


def assert_well_behaved(root: Path) -> None:
    """The properties every input must have."""
    code, out, err, seconds = run("validate", str(root), "--format", "json")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert seconds < SECONDS_PER_RUN, f"{seconds:.1f} s"
    if code == 2:
        assert out == "" and err.startswith("dab-guard: ") and err.count("\n") == 1, err
    else:
        assert err == "", err
        report = json.loads(out)
        assert set(report) >= {"version", "bundle", "targets", "findings", "summary"}
        assert (code == 1) == any(f["severity"] == "error" for f in report["findings"])
        for finding in report["findings"]:
            assert finding["line"] >= 1 and finding["column"] >= 1
    again = run("validate", str(root), "--format", "json")
    assert again[:3] == (code, out, err), "the same input gave different output"
    text = run("validate", str(root))
    assert text[0] == code and "Traceback" not in text[2]
    assert run("validate", str(root))[:3] == text[:3]


@contextlib.contextmanager
def bundle_dir(files: dict[str, str | bytes] | None = None, source: Path | None = None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dab-guard-fuzz-") as folder:
        root = Path(folder) / "bundle"
        if source is not None:
            shutil.copytree(source, root, symlinks=True)
        else:
            root.mkdir()
        yield write_files(root, files or {})


# --- random YAML -------------------------------------------------------------------------------------------------

KEYS = [
    "bundle", "name", "include", "workspace", "host", "root_path", "variables", "default", "lookup", "type", "complex",
    "description", "targets", "mode", "development", "production", "resources", "jobs", "pipelines", "clusters",
    "model_serving_endpoints", "tasks", "task_key", "depends_on", "job_clusters", "job_cluster_key", "new_cluster",
    "spark_version", "node_type_id", "driver_node_type_id", "instance_pool_id", "num_workers", "autoscale",
    "data_security_mode", "spark_conf", "spark_env_vars", "custom_tags", "spark_python_task", "python_file",
    "notebook_task", "notebook_path", "base_parameters", "parameters", "environments", "environment_key", "spec",
    "client", "dependencies", "libraries", "whl", "pypi", "package", "queue", "enabled", "max_concurrent_runs",
    "permissions", "level", "user_name", "run_as", "sync", "artifacts", "build", "path", "presets", "for_each_task",
    "inputs", "task", "serverless", "kind", "is_single_node", "password", "HF_TOKEN", "<<", "x-anchors",
]
WORDS = [
    "16.4.x-cpu-ml-scala2.12", "16.4.x-ml-scala2.12", "15.4.x-scala2.12", "SINGLE_USER", "USER_ISOLATION", "NONE",
    "i3.xlarge", "main", "./src/job.py", "../src/job.py", "/Workspace/Shared/x", "resources/*.yml", "*.yml",
    "${var.catalog}", "${var.missing}", "${bundle.target}", "${workspace.root_path}", "${resources.jobs.x.id}",
    "${var.a.b[0]}", "${", "{{secrets/scope/key}}", "dapi" + "0" * 32, "development", "production", "CAN_MANAGE",
    "yes", "on", "off", "0755", "~", "null", ".inf", ".nan", "", " ", "\t", "é", "日本", "a\nb", "#", "&a", "*a", "!Ref",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)),
    max_leaves=40,
)
bundle_documents = st.fixed_dictionaries(
    {"bundle": st.fixed_dictionaries({"name": st.sampled_from(["fuzz", "f u z z", "ünï"])})},
    optional={k: documents for k in ("variables", "resources", "targets", "workspace", "sync", "artifacts")},
)


def dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=80)


@FUZZ
@given(documents)
def test_random_yaml_documents(document: Any) -> None:
    with bundle_dir({"databricks.yml": dump(document)}) as root:
        assert_well_behaved(root)


@FUZZ
@given(bundle_documents, st.dictionaries(st.sampled_from(["a.yml", "sub/b.yml", "c d.yml", "é.yaml"]), documents, max_size=3))
def test_random_bundles_with_includes(document: dict[str, Any], included: dict[str, Any]) -> None:
    document = {**document, "include": ["*.yml", "*.yaml", "sub/*.yml"]}
    files: dict[str, str | bytes] = {"databricks.yml": dump(document)}
    files.update({rel: dump(value) for rel, value in included.items()})
    with bundle_dir(files) as root:
        assert_well_behaved(root)


YAML_CHARACTERS = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "Cc"])


@FUZZ
@given(st.text(alphabet=st.one_of(st.sampled_from(list(":-[]{}&*!|>#%@`'\"\t\n ,?<=~$")), YAML_CHARACTERS), max_size=400))
def test_random_text(text: str) -> None:
    with bundle_dir({"databricks.yml": "bundle:\n  name: fuzz\n" + text}) as root:
        assert_well_behaved(root)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(content: bytes) -> None:
    with bundle_dir({"databricks.yml": content}) as root:
        assert_well_behaved(root)


# --- mutations of real bundles -----------------------------------------------------------------------------------


def _containers(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a plain tree, parents before children."""
    if isinstance(value, dict):
        for key in list(value):
            found.append((value, key))
            _containers(value[key], found)
    elif isinstance(value, list):
        for index in range(len(value)):
            found.append((value, index))
            _containers(value[index], found)
    return found


def _mutate_tree(data: st.DataObject, tree: Any) -> Any:
    tree = copy.deepcopy(tree)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="tree mutations")):
        places = _containers(tree, [])
        if not places:
            return data.draw(documents, label="new root")
        container, key = data.draw(st.sampled_from(places), label="where")
        operation = data.draw(st.sampled_from(["drop", "duplicate", "retype", "rename"]), label="operation")
        if operation == "drop":
            del container[key]
        elif operation == "duplicate":
            if isinstance(container, dict):
                container[f"{key}{data.draw(st.sampled_from(['', '_copy', 's', '2']))}"] = copy.deepcopy(container[key])
            else:
                container.insert(key, copy.deepcopy(container[key]))
        elif operation == "retype":
            container[key] = data.draw(documents, label="new value")
        elif isinstance(container, dict):
            new_key = data.draw(keys, label="new key")
            container[new_key] = container.pop(key)
        else:
            container[key] = {data.draw(keys): container[key]}
    return tree


def _mutate_text(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True) or ["\n"]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="line mutations")):
        if not lines:
            lines = ["\n"]
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
        operation = data.draw(st.sampled_from(["drop", "duplicate", "swap", "indent", "dedent", "insert"]), label="line op")
        if operation == "drop":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "swap" and index + 1 < len(lines):
            lines[index], lines[index + 1] = lines[index + 1], lines[index]
        elif operation == "indent":
            lines[index] = data.draw(st.sampled_from([" ", "  ", "\t", "    "])) + lines[index]
        elif operation == "dedent":
            lines[index] = lines[index][1:] if lines[index][:1] in " \t" else lines[index]
        elif operation == "insert":
            lines.insert(index, data.draw(st.sampled_from([*WORDS, ": x\n", "- y\n", "  <<: *nope\n", "&a\n"])) + "\n")
    return "".join(lines)


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in CONFIG_SUFFIXES and p.is_file() and not p.is_symlink())


@pytest.mark.skipif(not SOURCES, reason="no fixtures or corpus")
@FUZZ
@given(st.data())
def test_mutated_fixtures_and_corpus_bundles(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(SOURCES), label="bundle")
    with bundle_dir(source=source) as root:
        files = _yaml_files(root)
        assume(files)
        for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="files to mutate")):
            path = data.draw(st.sampled_from(files), label="file")
            text = path.read_text(encoding="utf-8", errors="replace")
            doc = read_yaml(text, path.name)
            if doc.value is not None and data.draw(st.booleans(), label="mutate the tree"):
                path.write_text(dump(_mutate_tree(data, plain(doc.value))), encoding="utf-8")
            else:
                path.write_text(_mutate_text(data, text), encoding="utf-8")
        assert_well_behaved(root)


@pytest.mark.parametrize("source", SOURCES, ids=[f"{p.parent.name}/{p.name}"[:60] for p in SOURCES])
def test_every_unmutated_source_is_well_behaved(source: Path) -> None:
    with bundle_dir(source=source) as root:
        assert_well_behaved(root)


# The same input, byte-identical output, also from one process to the next: string hashing (and so the order of sets)
# differs with each interpreter, and any output that followed it would change from run to run.
_VALIDATE_EACH = """
import contextlib, io, json, sys
from dab_guard.cli import main

results = []
for bundle in sys.argv[1:]:
    for fmt in ("json", "sarif"):  # text shows the same findings in the same order as json
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", bundle, "--format", fmt])
        results.append([bundle, fmt, code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


@pytest.mark.skipif(not SOURCES, reason="no fixtures or corpus")
def test_output_is_identical_across_processes_with_different_hash_seeds() -> None:
    children = []
    for seed in ("1", "2"):  # both at once: two interpreters, each with its own hash seed
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PYTHONHASHSEED": seed, "NO_COLOR": "1"}
        argv = [sys.executable, "-c", _VALIDATE_EACH, *map(str, SOURCES)]
        children.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True))
    runs = []
    for child in children:
        out, err = child.communicate(timeout=600)  # a hang guard only
        assert child.returncode == 0, err
        runs.append(json.loads(out))
    first, second = runs
    assert len(first) == len(second) == 2 * len(SOURCES)
    for a, b in zip(first, second, strict=True):
        assert a == b, f"{a[0]} --format {a[1]}: the output differs between two processes"
