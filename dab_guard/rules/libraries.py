"""Packages a task's code imports that its compute does not have (DG109).

The list of packages Databricks Runtime ML does not ship is data (:data:`NOT_IN_RUNTIME_ML`); so is what installing
one package brings with it (:data:`BRINGS`), read from the packages' own requirements.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TypeVar

from dab_guard.bundle.resolve import Target
from dab_guard.finding import Report, Severity
from dab_guard.jobs.files import cache_for
from dab_guard.jobs.program import Installed, TaskProgram, max_file_bytes, programs, task_installs
from dab_guard.python.sources import module_file
from dab_guard.rules.base import Rule

_Value = TypeVar("_Value")

# Import name (dotted prefix) -> the PyPI distribution that provides it: agent packages that Databricks Runtime ML does
# not ship (the guide: "databricks-langchain, langgraph, etc. are NOT pre-installed"; the issue adds
# databricks.agents and langchain_community), with their sibling Databricks AI packages.
NOT_IN_RUNTIME_ML: dict[str, str] = {
    "databricks_langchain": "databricks-langchain",
    "databricks_openai": "databricks-openai",
    "databricks_ai_bridge": "databricks-ai-bridge",
    "databricks.agents": "databricks-agents",
    "databricks.vector_search": "databricks-vectorsearch",
    "langgraph": "langgraph",
    "langchain_community": "langchain-community",
    "langchain_databricks": "langchain-databricks",
    "unitycatalog.ai": "unitycatalog-ai",
    "unitycatalog.ai.langchain": "unitycatalog-langchain",
}

# What installing a distribution brings along (its requirements, transitively, for the distributions above; from
# the Requires-Dist of databricks-langchain 0.22, databricks-openai 0.18, langchain 1.5, langgraph 1.2,
# unitycatalog-langchain 0.4 and earlier releases, which required databricks-vectorsearch).
BRINGS: dict[str, frozenset[str]] = {
    "databricks-langchain": frozenset(
        {"databricks-ai-bridge", "databricks-openai", "databricks-vectorsearch", "langchain", "langchain-core", "langgraph",
         "langgraph-prebuilt", "langchain-community", "unitycatalog-langchain", "unitycatalog-ai", "openai", "mlflow"}
    ),
    "databricks-openai": frozenset({"databricks-ai-bridge", "databricks-vectorsearch", "unitycatalog-openai", "unitycatalog-ai", "openai", "mlflow"}),
    "langchain": frozenset({"langgraph", "langgraph-prebuilt", "langchain-core"}),
    "langgraph": frozenset({"langgraph-prebuilt", "langchain-core"}),
    "unitycatalog-langchain": frozenset({"langchain-community", "langchain", "langgraph", "langgraph-prebuilt", "langchain-core", "unitycatalog-ai"}),
    "langchain-community": frozenset({"langchain-core"}),
    "databricks-agents": frozenset({"databricks-sdk"}),
}


def by_module_prefix(module: str, table: Mapping[str, _Value]) -> _Value | None:
    """The entry of ``table`` for ``module`` or its closest enclosing package (longest prefix wins)."""
    best: str | None = None
    for prefix in table:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return table[best] if best is not None else None


@lru_cache(maxsize=4096)
def required_distribution(module: str) -> str | None:
    """The distribution an import needs when it is one Databricks Runtime ML lacks (longest prefix wins)."""
    return by_module_prefix(module, NOT_IN_RUNTIME_ML)


def _brought(installed: list[Installed]) -> set[str]:
    names = {p.name for p in installed}
    for name in list(names):
        names |= BRINGS.get(name, frozenset())
    return names


def _installs_first(run_order: dict[str, int], in_run: int | None, line: int, rel: str, at: int) -> bool:
    """Whether an install in code (file ``rel``, line ``at``) runs before an import at ``line`` of a file.

    An install in a run file (the entry point or a %run notebook) comes first when it is earlier in the same file or in
    an earlier %run notebook; an import in any other module (imported by the run files, or by log_model) comes after
    every install. ``in_run`` is the importing file's place among the run files, None for other modules.
    """
    if in_run is None:
        return True
    order = run_order.get(rel, -1)
    return order < in_run or (order == in_run and at < line)


class Libraries(Rule):
    """
    ## What it does
    For each task that runs a local script or notebook, finds the imports (in the entry point, the notebooks it
    `%run`s, the bundle modules they import and the code models its `log_model` calls load) of packages that
    Databricks Runtime ML does not ship: `databricks_langchain`, `langgraph`, `databricks.agents`,
    `langchain_community`, `databricks_openai`, `databricks.vector_search`, `unitycatalog.ai` ... and reports each
    one the task does not install. Installs are the task's `libraries` (`pypi`, a local `requirements` file), its
    environment's `dependencies` (serverless), a `%pip install` before the import in its notebook, and a `pip
    install` run through `subprocess`; what a listed package brings along counts too. The rule stays silent for a
    task whose packages cannot all be known offline: a wheel or egg, a requirements file in the workspace, an
    all-purpose or existing cluster, a cluster policy or init scripts. Imports inside `try/except ImportError` are
    optional and not reported.

    ## Why it matters
    `log_model()` imports the code model, and the job imports its own modules: a package that is not installed
    fails the run with `No module named 'databricks_langchain'` after the cluster has started.

    ## Example
    ```yaml
    tasks:
      - task_key: log_agent
        spark_python_task: {python_file: ../src/log_model.py}   # imports databricks_langchain
        # no libraries
    ```

    ## Fix
    ```yaml
        libraries:
          - pypi: {package: databricks-langchain}
          - pypi: {package: "langgraph>=0.3.4"}
    ```
    or `%pip install databricks-langchain langgraph` (then `dbutils.library.restartPython()`) in the notebook.
    """

    id = "DG109"
    name = "libraries"
    severity = Severity.ERROR
    summary = "imports of packages Databricks Runtime ML does not ship, which the task does not install"
    source = "Guide, 'Both pyfunc and langchain log_model() Import Code' and troubleshooting 'No module named databricks_langchain'."

    def check(self, target: Target) -> Iterator[Report]:
        for program in programs(target, max_file_bytes(self.settings)):
            yield from self._check_task(target, program)

    def _check_task(self, target: Target, program: TaskProgram) -> Iterator[Report]:
        installs = task_installs(target, program)
        if installs.opaque:
            return
        yaml_installed = _brought([p for p in installs.packages if p.rel is None])
        code_installs = [p for p in installs.packages if p.rel is not None]
        run_order = {s.rel: i for i, s in enumerate(program.runs)}
        cache = cache_for(target.bundle)
        reported: set[str] = set()
        for source, facts in program.parsed():
            # By identity: a %%writefile body shares its notebook's name but is imported later, as a module.
            in_run = next((i for i, run in enumerate(program.runs) if run is source), None)
            for fact in facts.imports:
                if fact.guarded or fact.level:
                    continue
                for module in fact.loaded():
                    dist = required_distribution(module)
                    if dist is None or dist in reported or dist in yaml_installed:
                        continue
                    if module_file(cache, program.search, module.split(".", 1)[0]) is not None:
                        continue  # a module of the bundle with that name
                    line = fact.node.lineno
                    if any(_installs_first(run_order, in_run, line, rel, at) for rel, at, _ in installs.code_opaque):
                        continue
                    earlier = [p for p in code_installs if p.rel is not None and _installs_first(run_order, in_run, line, p.rel, p.line)]
                    if dist in _brought(earlier):
                        continue
                    reported.add(dist)
                    notebook = f", or %pip install {dist} before the import" if program.entry.notebook else ""
                    yield Report(
                        f"import {module} needs the package {dist}, which Databricks runtimes do not ship, and task "
                        f"'{program.ref.key}' does not install it: add `- pypi: {{package: {dist}}}` to the task's "
                        f"libraries{notebook}",
                        program.path,
                        at=source.loc_of(fact.node),
                    )
