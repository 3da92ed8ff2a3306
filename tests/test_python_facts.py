"""The Python analysis behind DG109 and DG2xx: reading files and notebooks, module facts, values, pip, sync rules,
suppression and configuration of Python findings, and the facts the cluster rules borrow."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.cli import main
from dab_guard.config import Settings, parse_table
from dab_guard.engine import validate
from dab_guard.jobs.files import synced_files
from dab_guard.jobs.program import task_uses_models
from dab_guard.python import sources as sources_module
from dab_guard.python.facts import facts_of
from dab_guard.python.pip import installed_version, parse_pip_magic, parse_requirement
from dab_guard.python.sources import SourceKind, parse_source
from dab_guard.python.values import SCRIPT_DIR, UNKNOWN
from tests.files import write_files


def job(tasks: str, spark_version: str = "16.4.x-cpu-ml-scala2.12", targets: str = "") -> str:
    return f"""
bundle:
  name: py
resources:
  jobs:
    job:
      name: job
      job_clusters:
        - job_cluster_key: ml
          new_cluster:
            spark_version: {spark_version}
            node_type_id: i3.xlarge
            num_workers: 1
            data_security_mode: SINGLE_USER
      tasks:
{tasks}
{targets}"""


def script_task(path: str, key: str = "run") -> str:
    return f"""        - task_key: {key}
          job_cluster_key: ml
          spark_python_task:
            python_file: {path}
"""


def notebook_task(path: str, key: str = "nb") -> str:
    return f"""        - task_key: {key}
          job_cluster_key: ml
          notebook_task:
            notebook_path: {path}
"""


def found(root: Path, *rules: str, settings: Settings | None = None) -> list[tuple[str, str, int, int]]:
    result = validate(root, settings=settings or Settings(select=list(rules)))
    return [(f.rule, f.file, f.line, f.column) for f in result.findings if f.rule in rules]


def notebook_json(cells: list[tuple[str, Any]]) -> str:
    return json.dumps(
        {"cells": [{"cell_type": kind, "metadata": {}, "source": source} for kind, source in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
        indent=1,
    )


# --- reading files -----------------------------------------------------------------------------------------------


def test_a_source_format_notebook_keeps_its_line_numbers_and_lists_its_magics() -> None:
    text = (
        "# Databricks notebook source\n"
        "# MAGIC %pip install databricks-langchain \\\n"
        "# MAGIC   langgraph\n"
        "# MAGIC dbutils.library.restartPython()\n"
        "# COMMAND ----------\n"
        "# MAGIC %md\n"
        "# MAGIC %pip install is documented here\n"
        "\n"
        "# COMMAND ----------\n"
        "%pip install bare-magic\n"
        "x = __file__\n"
    )
    source = parse_source("nb.py", text.encode())
    assert source.kind is SourceKind.NOTEBOOK and source.problem is None
    assert len(source.text.split("\n")) == len(text.split("\n"))
    assert [(m.line, m.command, m.args) for m in source.magics] == [
        (2, "pip", "install databricks-langchain  langgraph"),
        (10, "pip", "install bare-magic"),
    ]
    facts = facts_of(source)
    # Python in a cell that opens with %pip is exported behind "# MAGIC" too, and it runs.
    assert facts.restarts == [4]
    assert source.loc_of(facts.named("dbutils.library.restartPython")[0].node)[1:] == (4, 9)
    assert source.loc_of(facts.file_uses[0].node)[1:] == (11, 5)


def test_an_ipynb_position_is_the_json_line_and_column_of_the_code() -> None:
    raw = notebook_json(
        [
            ("markdown", ["# title\n"]),
            ("code", ["%pip install x\n", "dbutils.library.restartPython()\n"]),
            ("code", 'msg = "caf\u00e9 \\"q\\""\nhere = __file__\n'),  # one string holding two lines, with escapes
        ]
    )
    source = parse_source("n.ipynb", raw.encode())
    assert source.problem is None and [m.command for m in source.magics] == ["pip"]
    use = facts_of(source).file_uses[0]
    loc = source.loc_of(use.node)
    json_line = raw.splitlines()[loc.line - 1]
    assert json_line[loc.col - 1 :].startswith("__file__")


def test_cell_magics_keep_their_bodies_out_of_the_notebook_and_writefile_bodies_become_files() -> None:
    text = (
        "# Databricks notebook source\n"
        "# MAGIC %%writefile -a ../agent.py\n"
        "# MAGIC import os\n"
        "# MAGIC HERE = os.path.dirname(__file__)\n"
        "# COMMAND ----------\n"
        "# MAGIC %%bash\n"
        "# MAGIC echo (not python\n"
        "# COMMAND ----------\n"
        "# MAGIC %%capture\n"
        "# MAGIC %pip install langgraph\n"
        "# MAGIC import langgraph\n"
    )
    source = parse_source("nb/driver.py", text.encode())
    assert source.problem is None and facts_of(source).file_uses == []
    assert [(m.line, m.command) for m in source.magics] == [(9, "capture"), (10, "pip")]
    assert [i.module for i in facts_of(source).imports] == ["langgraph"]  # %%capture runs its body as Python
    (written,) = source.written
    assert (written.path, written.append, written.source.rel) == ("../agent.py", True, "nb/driver.py")
    use = facts_of(written.source).file_uses[0]
    assert written.source.loc_of(use.node)[1:] == (4, 32)  # the column in the notebook, after "# MAGIC "

    raw = notebook_json([("code", ["%%writefile agent.py\n", "x = __file__\n"]), ("code", ["%%html\n", "<b>not python\n"])])
    notebook = parse_source("n.ipynb", raw.encode())
    assert notebook.problem is None and facts_of(notebook).file_uses == []
    (written,) = notebook.written
    loc = written.source.loc_of(facts_of(written.source).file_uses[0].node)
    assert written.path == "agent.py" and raw.splitlines()[loc.line - 1][loc.col - 1 :].startswith("__file__")


def test_a_syntax_error_in_an_ipynb_points_into_the_json_file() -> None:
    raw = notebook_json([("code", ["import os\n"]), ("code", ["def broken(:\n", "    pass\n"])])
    source = parse_source("n.ipynb", raw.encode())
    assert source.tree is None and source.problem is not None
    assert "def broken(:" in raw.splitlines()[source.problem.line - 1]


def test_a_notebook_in_another_language_is_skipped_not_reported() -> None:
    raw = json.dumps({"cells": [{"cell_type": "code", "source": "SELECT 1"}], "metadata": {"language_info": {"name": "sql"}}})
    source = parse_source("q.ipynb", raw.encode())
    assert source.tree is None and source.problem is None and source.skipped


@pytest.mark.parametrize(
    ("data", "line"),
    [
        pytest.param(b"x = 1\ndef f(:\n", 2, id="syntax"),
        pytest.param(b"x = 1\ny = '\x00'\n", 2, id="nul"),
        pytest.param(b"x = 1\ny = '\xff'\n", 2, id="not-utf8"),
        pytest.param(b"x = " + b"-" * 200_000 + b"1\n", 1, id="too-deep"),
    ],
)
def test_a_file_that_does_not_parse_is_one_problem_at_its_position(data: bytes, line: int) -> None:
    source = parse_source("job.py", data)
    assert source.tree is None and source.problem is not None and source.problem.line == line


def test_each_file_is_read_and_parsed_once_per_run_even_with_several_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = "targets:\n  dev:\n    default: true\n  staging: {}\n  prod: {}\n"
    write_files(
        tmp_path,
        {
            "databricks.yml": job(script_task("src/a.py", "a") + script_task("src/a.py", "b") + notebook_task("src/nb.py"), targets=targets),
            "src/a.py": "import helpers\nfrom langgraph.prebuilt import ToolNode\nnode = ToolNode([])\nHERE = __file__\n",
            "src/helpers.py": "X = 1\n",
            "src/nb.py": "# Databricks notebook source\nimport helpers\n",
            "src/agents/graph.py": "from langgraph.prebuilt import ToolNode\nnode = ToolNode([])\n",
        },
    )
    parsed: list[str] = []
    original = sources_module.parse_source

    def counting(rel: str, data: bytes, *limits: Any) -> Any:
        parsed.append(rel)
        return original(rel, data, *limits)

    monkeypatch.setattr(sources_module, "parse_source", counting)
    result = validate(tmp_path)
    assert sorted(parsed) == ["src/a.py", "src/agents/graph.py", "src/helpers.py", "src/nb.py"]
    dg201 = [f for f in result.findings if f.rule == "DG201"]
    assert len(dg201) == 1 and dg201[0].targets == ("dev", "staging", "prod")


# --- module facts --------------------------------------------------------------------------------------------------


def facts(code: str) -> Any:
    source = parse_source("src/job.py", code.encode())
    assert source.problem is None, source.problem
    return facts_of(source)


def test_constants_follow_assignments_joins_fstrings_and_pathlib() -> None:
    f = facts(
        """
import os
import sys
from pathlib import Path

BASE = "/Workspace/Users/x"
USER = os.environ["USER"]
sys.path.insert(0, os.path.join(BASE, "tools"))
sys.path.append(str(Path(BASE) / "lib" / "py"))
sys.path.append(f"/Workspace/Users/{USER}/agent")
sys.path.append("{}/{}".format(BASE, "fmt"))
sys.path.append("/Workspace/%s/pct" % USER)
sys.path.append("%s/pct" % BASE)
sys.path.append("%s/%s/%d%%" % (BASE, "tuple", 3))
sys.path.append(os.path.join(os.path.dirname(__file__), "local"))


def main():
    lib = BASE + "/fn"
    sys.path.insert(0, lib)
"""
    )
    assert [e.value for e in f.path_entries] == [
        "/Workspace/Users/x/tools",
        "/Workspace/Users/x/lib/py",
        f"/Workspace/Users/{UNKNOWN}/agent",
        "/Workspace/Users/x/fmt",
        f"/Workspace/{UNKNOWN}/pct",
        "/Workspace/Users/x/pct",
        f"/Workspace/Users/x/tuple/{UNKNOWN}%",
        f"{SCRIPT_DIR}/local",
        "/Workspace/Users/x/fn",
    ]


def test_a_value_set_in_a_branch_that_does_not_enclose_the_use_is_unknown() -> None:
    f = facts(
        """
import os, sys
if os.path.exists("/Workspace/x"):
    LIBS = "/tmp/libs"
else:
    LIBS = "/Workspace/libs"
sys.path.insert(0, LIBS)
ONLY = "/Workspace/only"
for p in ["/Workspace/a"]:
    sys.path.append(p)
sys.path.append(ONLY)
"""
    )
    assert [e.value for e in f.path_entries] == [None, None, "/Workspace/only"]


@pytest.mark.parametrize(
    ("code", "guarded"),
    [
        ("x = __file__", False),
        ("try:\n    x = __file__\nexcept NameError:\n    x = None", True),
        ("try:\n    x = __file__\nexcept (KeyError, NameError):\n    x = None", True),
        ("try:\n    x = __file__\nexcept Exception:\n    x = None", True),
        ("try:\n    x = __file__\nexcept KeyError:\n    x = None", False),
        ("if '__file__' in globals():\n    x = __file__", True),
        ("if '__file__' in dir():\n    x = __file__", True),
        ("if '__file__' not in locals():\n    x = None\nelse:\n    x = __file__", True),
        ("if '__file__' not in globals():\n    raise SystemExit(1)\nx = __file__", True),
        ("if globals().get('__file__'):\n    x = __file__", True),
        ("x = __file__ if '__file__' in globals() else None", True),
        ("x = '__file__' in globals() and __file__", True),
        ("try:\n    def f():\n        return __file__\nexcept NameError:\n    pass", False),
        ("def f(__file__):\n    return __file__", True),
    ],
)
def test_dunder_file_guards(code: str, guarded: bool) -> None:
    unguarded = [u for u in facts(code).file_uses if not u.guarded]
    assert (not unguarded) == guarded


def test_calls_are_named_through_imports_and_keep_their_context() -> None:
    f = facts(
        """
import mlflow.pyfunc as pf
from databricks import agents
from langgraph.prebuilt import ToolNode as TN
from langgraph.graph import StateGraph

pf.log_model(python_model="agent.py", name="agent")
agents.deploy("a.b.c", 1)
TN([])


def node(state):
    try:
        llm.invoke(state)
    except Exception:
        pass
    return llm.stream(state)


StateGraph(dict).add_node("n", node)
"""
    )
    names = [c.name for c in f.calls]
    assert names[:3] == ["mlflow.pyfunc.log_model", "databricks.agents.deploy", "langgraph.prebuilt.ToolNode"]
    assert set(names[3:]) == {"langgraph.graph.StateGraph", None}  # StateGraph(dict) and its .add_node()
    assert [(log.flavor, log.code_model_path) for log in f.log_models] == [("pyfunc", "agent.py")]
    assert [(c.node.func.attr, c.site.in_try) for c in f.model_calls] == [("invoke", True), ("stream", False)]
    assert [getattr(target, "name", None) for _, target in f.graph_nodes] == ["node"]


def test_pip_installs_in_magics_and_subprocesses() -> None:
    source = parse_source(
        "nb.py",
        b"# Databricks notebook source\n# MAGIC %pip install -q -U databricks-langchain 'langgraph>=0.3' -r reqs.txt\n"
        b"import subprocess, sys\nsubprocess.check_call([sys.executable, '-m', 'pip', 'install', 'databricks-agents'])\n",
    )
    commands = facts_of(source).pip_commands
    assert [(c.line, [r.name for r in c.install.requirements], c.install.opaque, c.install.upgrade) for c in commands] == [
        (2, ["databricks-langchain", "langgraph"], "-r reqs.txt", True),
        (4, ["databricks-agents"], None, False),
    ]


def test_pip_requirements_and_the_version_they_leave() -> None:
    install = parse_pip_magic("install --index-url https://x mlflow[databricks]>=3.1 ./dist/a.whl")
    assert install is not None and [r.name for r in install.requirements] == ["mlflow"] and install.opaque == "./dist/a.whl"
    runtime = (2, 21, 3)
    mlflow = parse_requirement("mlflow")
    assert mlflow is not None and installed_version(runtime, mlflow, upgrade=False) == runtime  # pip keeps it
    assert installed_version(runtime, mlflow, upgrade=True) is None  # "the newest": not guessed
    for text, expected in (("mlflow>=3", (3, 999)), ("mlflow==3.1.0", (3, 1, 0)), ("mlflow<3", runtime), ("mlflow>=2.10", runtime), ("mlflow<3.6,>=3", (3, 5))):
        requirement = parse_requirement(text)
        assert requirement is not None and installed_version(runtime, requirement, upgrade=False) == expected, text


# --- the files a bundle syncs ------------------------------------------------------------------------------------


def test_synced_files_honour_gitignore_and_sync_patterns(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "databricks.yml": "bundle: {name: s}\nsync:\n  include:\n    - generated/keep.py\n  exclude:\n    - scratch/\n    - '*_test.py'\n",
            ".gitignore": "generated/\n*.log\nlocal_*.py\n!local_keep.py\n",
            "src/a.py": "",
            "src/a_test.py": "",
            "src/.gitignore": "private.py\n",
            "src/private.py": "",
            "src/nb.ipynb": "{}",
            "local_x.py": "",
            "local_keep.py": "",
            "generated/keep.py": "",
            "generated/drop.py": "",
            "scratch/old.py": "",
            ".venv/lib/x.py": "",
            "node_modules/p/x.py": "",
            "build/lib/x.py": "",
            "dist/x.py": "",
        },
    )
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text("")
    os.symlink(outside, tmp_path / "src" / "link_out.py")
    os.symlink(tmp_path.parent, tmp_path / "up")
    target = resolve_target(load_bundle(tmp_path), "default")
    assert synced_files(target) == ["generated/keep.py", "local_keep.py", "src/a.py", "src/nb.ipynb"]


# --- findings in Python files: suppression, configuration, formats -------------------------------------------------


@pytest.fixture
def dunder_bundle(tmp_path: Path) -> Path:
    return write_files(
        tmp_path,
        {
            "databricks.yml": job(script_task("src/job.py") + notebook_task("src/nb.py") + notebook_task("src/nb.ipynb", "jupyter")),
            "src/job.py": "a = __file__\nb = __file__  # noqa: DG201\nc = __file__  # noqa: DG202, DG201\nd = __file__  # noqa: DG202\n",
            "src/nb.py": "# Databricks notebook source\na = __file__\nb = __file__  # noqa: DG201\n",
            "src/nb.ipynb": notebook_json([("code", ["a = __file__\n", "b = __file__  # noqa: DG201\n"])]),
        },
    )


def test_noqa_suppresses_python_findings_in_scripts_and_both_notebook_formats(dunder_bundle: Path) -> None:
    lines = {(file, line) for _, file, line, _ in found(dunder_bundle, "DG201")}
    assert {(f, ln) for f, ln in lines if f != "src/nb.ipynb"} == {("src/job.py", 1), ("src/job.py", 4), ("src/nb.py", 2)}
    notebook_lines = (dunder_bundle / "src/nb.ipynb").read_text().splitlines()
    assert [notebook_lines[ln - 1].strip() for f, ln in lines if f == "src/nb.ipynb"] == ['"a = __file__\\n",']


def test_select_ignore_and_per_file_ignores_apply_to_python_findings(dunder_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert found(dunder_bundle, "DG201", settings=Settings(select=["DG2"], ignore=["dunder-file"])) == []
    kept = found(dunder_bundle, "DG201", settings=parse_table({"per-file-ignores": {"src/nb*": ["DG201"]}}, "test"))
    assert {file for _, file, _, _ in kept} == {"src/job.py"}
    write_files(dunder_bundle, {".dab-guard.toml": '[per-file-ignores]\n"src/job.py" = ["DG2"]\n'})
    assert main(["validate", str(dunder_bundle), "--format", "json", "--select", "DG201"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {(f["file"], f["rule"], f["path"]) for f in report["findings"]} == {
        ("src/nb.py", "DG201", "resources.jobs.job.tasks[1]"),
        ("src/nb.ipynb", "DG201", "resources.jobs.job.tasks[2]"),
    }
    assert main(["validate", str(dunder_bundle), "--select", "DG201", "--ignore", "DG201"]) == 0
    assert main(["validate", str(dunder_bundle), "--select", "DG201"]) == 1
    text = capsys.readouterr().out
    assert "src/nb.py:2:5: DG201 [error]" in text


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_python_findings_keep_their_positions_and_suppressions_in_every_format(
    dunder_bundle: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(dunder_bundle), "--select", "DG201", "--format", fmt]) == 1
    out = capsys.readouterr().out
    notebook_line = next(n for n, line in enumerate((dunder_bundle / "src/nb.ipynb").read_text().splitlines(), 1) if '"a = __file__' in line)
    expected = {("src/job.py", 1, 5), ("src/job.py", 4, 5), ("src/nb.py", 2, 5), ("src/nb.ipynb", notebook_line, 10)}
    if fmt == "json":
        positions = {(f["file"], f["line"], f["column"]) for f in json.loads(out)["findings"]}
    elif fmt == "sarif":
        regions = [r["locations"][0]["physicalLocation"] for r in json.loads(out)["runs"][0]["results"]]
        positions = {(r["artifactLocation"]["uri"], r["region"]["startLine"], r["region"]["startColumn"]) for r in regions}
    else:
        pattern = {
            "text": r"^(\S+):(\d+):(\d+): DG201",
            "github": r"^::error file=([^,]+),line=(\d+),col=(\d+),title=DG201",
            "junit": r"(src/[^:\s]+):(\d+):(\d+): DG201",
        }[fmt]
        positions = {(m[0], int(m[1]), int(m[2])) for m in re.findall(pattern, out, flags=re.MULTILINE)}
    assert positions == expected


# --- what other rules borrow ---------------------------------------------------------------------------------------


def test_task_uses_models_reads_the_code_the_task_runs(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "databricks.yml": job(script_task("src/log.py", "log") + script_task("src/etl.py", "etl") + notebook_task("src/agent.py", "agent")),
            "src/log.py": "import mlflow\nimport helpers\n",
            "src/helpers.py": "import mlflow\nmlflow.set_registry_uri('databricks-uc')\nmlflow.sklearn.log_model(m, 'model', registered_model_name=NAME)\n",
            "src/etl.py": "import langchain\nprint('no models here')\n",
            "src/agent.py": "# Databricks notebook source\nfrom langgraph.graph import StateGraph\n",
        },
    )
    target = resolve_target(load_bundle(tmp_path), "default")
    tasks = target.config["resources"]["jobs"]["job"]["tasks"]
    uses = [task_uses_models(target, ("resources", "jobs", "job"), task) for task in tasks]
    assert [(u.logs_models, u.registers_to_uc, u.runs_agents) for u in uses] == [(True, True, False), (False, False, False), (False, False, True)]
    assert "src/helpers.py:3" in uses[0].evidence


def test_a_non_ml_cluster_that_registers_to_uc_needs_dedicated_access(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "databricks.yml": job(script_task("src/log.py"), spark_version="16.4.x-scala2.12").replace("            data_security_mode: SINGLE_USER\n", ""),
            "src/log.py": "import mlflow\nmlflow.register_model(uri, 'main.ml.churn')\n",
        },
    )
    result = validate(tmp_path, settings=Settings(select=["DG101"]))
    assert [(f.rule, f.severity.label) for f in result.findings] == [("DG101", "error")]
    assert "mlflow.register_model in src/log.py:2" in result.findings[0].message


def test_notebook_pip_installs_count_as_task_packages(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "databricks.yml": job(notebook_task("src/nb.py"), spark_version="15.4.x-cpu-ml-scala2.12"),
            "src/nb.py": "# Databricks notebook source\n# MAGIC %pip install databricks-langchain\n",
        },
    )
    result = validate(tmp_path, settings=Settings(select=["DG103"]))
    assert any("pydantic" in f.message and "%pip install at src/nb.py:2" in f.message for f in result.findings), result.findings


def test_the_corpus_style_bundle_without_python_files_gives_no_python_findings(tmp_path: Path) -> None:
    write_files(tmp_path, {"databricks.yml": job(script_task("src/missing.py") + notebook_task("src/missing_nb.ipynb"))})
    result = validate(tmp_path)
    assert {f.rule for f in result.findings} & {"DG001", "DG109"} == set()
    assert not [f for f in result.findings if f.rule.startswith("DG2")]
    assert {f.rule for f in result.findings if f.rule == "DG007"} == {"DG007"}


@pytest.mark.parametrize(
    ("workspace", "path", "rel"),
    [
        # The CLI's default root path: ~/.bundle/<bundle>/<target>, ~ being the deploying user's home folder.
        ("", "/Workspace/Users/jane@example.com/.bundle/py/default/files/src/agent.py", "src/agent.py"),
        ("", "/Users/4a5b6c7d-0000-1111-2222-333344445555/.bundle/py/default/files/src/agent.py", "src/agent.py"),
        ("", "/Workspace/Users/jane@example.com/.bundle/other/default/files/src/agent.py", None),
        ("", "/Workspace/Users/jane/x/.bundle/py/default/files/src/agent.py", None),  # a user name holds no slash
        ("    root_path: ~/.bundle/agents/${bundle.target}\n", "/Workspace/Users/j@x.com/.bundle/agents/default/files/a.py", "a.py"),
        ("    root_path: /Workspace/Shared/py\n", "/Workspace/Shared/py/files/src/agent.py", "src/agent.py"),
        ("    file_path: /Shared/py/code\n", "/Workspace/Shared/py/code/agent.py", "agent.py"),
        ("    file_path: /Shared/py/code\n", "/Workspace/Users/jane@example.com/.bundle/py/default/files/agent.py", None),
    ],
)
def test_workspace_paths_of_the_bundle_files_lead_back_to_them(tmp_path: Path, workspace: str, path: str, rel: str | None) -> None:
    from dab_guard.jobs.program import follow_path, workspace_file_prefixes

    write_files(tmp_path, {"databricks.yml": job(script_task("src/log.py")) + (f"workspace:\n{workspace}" if workspace else "")})
    target = resolve_target(load_bundle(tmp_path), "default")
    assert follow_path(path, "src/log.py", "src/log.py", [], workspace_file_prefixes(target)) == rel
