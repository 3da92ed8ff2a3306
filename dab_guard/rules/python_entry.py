"""Rules about the files a job task runs as its entry point: scripts and notebooks (DG201-DG203, DG212).

The files come from ``dab_guard.jobs.program``: a task's ``spark_python_task.python_file`` or
``notebook_task.notebook_path`` (also inside ``for_each_task``), the notebooks it ``%run``s, and the bundle modules
they import. Findings point into the Python file and carry the task's bundle path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from dab_guard.bundle.resolve import Target
from dab_guard.finding import Report, Severity
from dab_guard.jobs.program import CodeModel, TaskProgram, first_at, max_file_bytes, programs
from dab_guard.python.facts import ModuleFacts, PathEntry, facts_of
from dab_guard.python.pip import provides
from dab_guard.python.sources import PythonSource
from dab_guard.python.values import display, is_known
from dab_guard.rules.base import Rule


class DunderFile(Rule):
    """
    ## What it does
    Reports `__file__` in a file a task runs as its entry point: the `spark_python_task` script, the
    `notebook_task` notebook, and the notebooks it `%run`s. Uses that only happen when `__file__` exists are
    accepted: inside `try:` with an `except NameError` (or a broader handler), under
    `if "__file__" in globals():` (also `dir()`, `locals()`, `vars()`), after an early exit when it is missing,
    and through `globals().get("__file__")`. Modules the entry point imports are not checked: importing defines
    `__file__`.

    ## Why it matters
    Databricks runs a `spark_python_task` script with `exec(compile(source, filename, "exec"))`, and notebooks have
    no file at all, so `__file__` is undefined and the job dies with `NameError: name '__file__' is not defined`
    after the cluster has started. This holds on every Databricks Runtime the guide covers (14.x and later).

    ## Example
    ```python
    import pathlib

    HERE = pathlib.Path(__file__).parent   # NameError on Databricks
    ```

    ## Fix
    Use a path constant or an environment variable or job parameter for the folder, or guard the use:
    ```python
    try:
        HERE = pathlib.Path(__file__).parent
    except NameError:
        HERE = pathlib.Path.cwd()
    ```
    """

    id = "DG201"
    name = "dunder-file"
    severity = Severity.ERROR
    summary = "__file__ in a job entry point, where it is undefined"
    source = "Guide, '__file__ Is NOT Defined in spark_python_task' (1)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            how = "a notebook" if program.entry.notebook else "a spark_python_task script"
            for source in program.runs:
                if source.tree is None:
                    continue
                for use in facts_of(source).file_uses:
                    if use.guarded:
                        continue
                    loc = source.loc_of(use.node)
                    if first_at(seen, loc):
                        ran = how if source.rel == program.entry.rel else "a notebook (run with %run)"
                        yield Report(
                            f"`__file__` is not defined when {source.rel} runs as {ran} (NameError): use a path "
                            "constant, an environment variable or a job parameter, or guard it with "
                            "try/except NameError",
                            program.path,
                            at=loc,
                        )


def workspace_path(value: str | None) -> bool:
    return value is not None and (value == "/Workspace" or value.startswith("/Workspace/"))


class WorkspaceImport(Rule):
    """
    ## What it does
    Reports a `/Workspace/...` folder put on `sys.path` (`sys.path.insert`, `append`, `extend`, assignment, or
    `site.addsitedir`) by any file a task runs, written literally or through module constants, f-strings,
    `os.path.join`, `pathlib.Path(...) / ...` and `str(...)`.

    ## Why it matters
    The `/Workspace/` FUSE mount lets a job read files (`os.path.exists`, `os.listdir`, `shutil.copytree`), but
    Python's import system does not discover packages there: `from tools.my_tool import f` fails with
    `No module named 'tools'` even with the folder on `sys.path` (the guide's finding on Databricks Runtime 14.x
    and later).

    ## Example
    ```python
    BASE = "/Workspace/Users/me@example.com/agent"
    sys.path.insert(0, os.path.join(BASE, "tools"))
    ```

    ## Fix
    Copy the folder to local disk first and import from there:
    ```python
    shutil.copytree(BASE, "/tmp/agent", dirs_exist_ok=True)
    sys.path.insert(0, "/tmp/agent")
    ```
    """

    id = "DG202"
    name = "workspace-import"
    severity = Severity.ERROR
    summary = "/Workspace folders put on sys.path, where Python cannot import from"
    source = "Guide, '/Workspace/ FUSE Mount Is NOT Importable' (2)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for source, facts in program.parsed():
                for entry in facts.path_entries:
                    if not workspace_path(entry.value):
                        continue
                    loc = source.loc_of(entry.node)
                    if first_at(seen, loc):
                        shown = display(entry.value)
                        yield Report(
                            f"{shown} is put on sys.path, but Python cannot import from the /Workspace FUSE mount: "
                            "shutil.copytree() it to a local folder such as /tmp first and put that on sys.path",
                            program.path,
                            at=loc,
                        )


def _precedes(entry: PathEntry, facts: ModuleFacts, call_scope: object, call_at: tuple[int, int]) -> bool:
    """Whether a sys.path change can run before a call (same scope: by position; otherwise it may)."""
    if entry.site.scope is call_scope:
        return entry.at < call_at
    return True


class PathBeforeLog(Rule):
    """
    ## What it does
    For each `mlflow.<flavor>.log_model` call given a code model as a path (`python_model="/tmp/agent/agent.py"`,
    `lc_model=...`), checks that the model file's folder is put on `sys.path` before the call, in execution order.
    It needs the path's value to be known (constants, `os.path.join`, `pathlib`): a folder that comes from a job
    parameter (`argparse`, widgets) or a function's argument is not known offline, and the rule stays silent. It
    also stays silent when an earlier `sys.path` change has a value it cannot know, or when the model file,
    followed into the bundle, imports no module of the bundle.

    ## Why it matters
    `log_model()` imports the model file while logging (it validates the code model before it bundles
    `code_paths`), so `from tools.search import search` inside it must resolve at log time, on the job's cluster,
    not only at serving time. The job fails with `No module named 'tools'`. Code models exist since MLflow 2.12
    (checked in mlflow 2.13.1, 2.21.3 and 3.x: `spec_from_file_location` on the model file); the MLflow 2.9.2 of
    14.3 LTS ML takes model objects only.

    ## Example
    ```python
    agent_file = os.path.join(LOCAL_DIR, "agent.py")
    mlflow.pyfunc.log_model(name="agent", python_model=agent_file)
    sys.path.insert(0, LOCAL_DIR)   # too late
    ```

    ## Fix
    Put `sys.path.insert(0, LOCAL_DIR)` before the `log_model()` call.
    """

    id = "DG203"
    name = "path-before-log"
    severity = Severity.ERROR
    summary = "log_model given a code model before the model's folder is on sys.path"
    source = "Guide, 'MLflow log_model() Validates Imports at Log Time' (3)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for model in program.code_models:
                report = self._check_model(program, model)
                if report is not None and report.at is not None and first_at(seen, report.at):
                    yield report

    @staticmethod
    def _check_model(program: TaskProgram, model: CodeModel) -> Report | None:
        log = model.log
        value = log.code_model_path
        if value is None or not is_known(value) or not value.startswith("/") or log.code_model is None:
            return None
        if model.files and len(model.files) == 1:
            return None  # the model file was followed and imports nothing of the bundle: nothing to resolve
        folder = posixpath.normpath(posixpath.dirname(value))
        call = log.call
        later: PathEntry | None = None
        for source in program.runs if model.owner in program.runs else [model.owner]:
            facts = facts_of(source)
            for entry in facts.path_entries:
                same_file = source is model.owner
                if entry.value is None or not is_known(entry.value):
                    if not same_file or _precedes(entry, facts, call.site.scope, call.at):
                        return None  # an unknown folder on sys.path may be this one
                    continue
                if posixpath.normpath(entry.value) != folder:
                    continue
                if not same_file or _precedes(entry, facts, call.site.scope, call.at):
                    return None
                later = later or entry
        owner = model.owner
        flavor = f"mlflow.{log.flavor}.log_model"
        if later is not None:
            at = owner.loc_of(later.call)
            detail = f"{folder} is put on sys.path only at line {at.line}, after the call"
        else:
            detail = f"{folder} is never put on sys.path"
        return Report(
            f"{flavor}() imports the code model {value} while logging, but {detail}: the model file's imports of "
            f"modules beside it fail; call sys.path.insert(0, {folder!r}) before log_model()",
            program.path,
            at=owner.loc_of(log.code_model),
        )


class NotebookPip(Rule):
    """
    ## What it does
    In a notebook a task runs (source-format `.py` or `.ipynb`), reports a `%pip install` cell whose packages are
    then imported without `dbutils.library.restartPython()` (or `%restart_python`) in between. Installs whose
    packages cannot be read (`-r requirements.txt`, variables) are not checked.

    ## Why it matters
    Since Databricks Runtime 13, `%pip` no longer restarts Python (so on every runtime the guide covers, 14.x and
    later). A package that was already imported, or that the runtime ships in another version, keeps the old code in
    the running interpreter: the notebook then runs with a mix of versions and fails in ways that depend on import
    order.

    ## Example
    ```python
    # MAGIC %pip install databricks-langchain langgraph
    # COMMAND ----------
    from langgraph.graph import StateGraph
    ```

    ## Fix
    Add a cell with `dbutils.library.restartPython()` right after the `%pip install` cell.
    """

    id = "DG212"
    name = "notebook-pip"
    severity = Severity.WARNING
    summary = "a notebook %pip install cell not followed by restartPython() before the imports"
    source = "Guide, 'Standard Notebook Template' (Cell 1: %pip install, then dbutils.library.restartPython())."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for source in program.runs:
                # A notebook export run as a spark_python_task file: its "# MAGIC %pip" lines are comments.
                if not source.is_notebook or source.tree is None or not program.entry.notebook:
                    continue
                for report in self._check_notebook(program, source):
                    if report.at is not None and first_at(seen, report.at):
                        yield report

    @staticmethod
    def _check_notebook(program: TaskProgram, source: PythonSource) -> Iterator[Report]:
        facts = facts_of(source)
        restarts = facts.restarts
        for command in facts.pip_commands:
            if not command.magic or not command.install.requirements:
                continue
            dists = [r.name for r in command.install.requirements]
            for fact in sorted(facts.imports, key=lambda f: f.node.lineno):
                line = fact.node.lineno
                if line <= command.line:
                    continue
                hit = next((n for n in fact.loaded() for d in dists if provides(d, n)), None)
                if hit is None:
                    continue
                if any(command.line < r < line for r in restarts):
                    break
                at = source.loc_of(fact.node)
                yield Report(
                    f"%pip install is not followed by dbutils.library.restartPython() before {hit} is imported "
                    f"({at.file}:{at.line}): the running Python may keep the versions it had; add a cell with "
                    "dbutils.library.restartPython() after the install",
                    program.path,
                    at=source.loc(command.line, 0),
                )
                break
