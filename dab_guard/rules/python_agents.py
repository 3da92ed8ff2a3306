"""Rules about agent code anywhere in the bundle: LangGraph tool nodes and graph nodes, agents.deploy (DG207, DG208,
DG211).

These rules read every ``.py`` and ``.ipynb`` file a deploy syncs (``.gitignore``, ``sync.include`` and
``sync.exclude`` honoured), not only entry points: agent modules are imported by code models and by serving.
A file is parsed only when its bytes mention what a rule looks for.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator

from dab_guard.bundle.resolve import Target
from dab_guard.edits import add_keyword, end_of, python_text, start_of
from dab_guard.finding import Fix, PathParts, Report, Severity
from dab_guard.jobs.files import cache_for, synced_files
from dab_guard.jobs.program import max_file_bytes, programs
from dab_guard.python.facts import ModuleFacts, facts_of
from dab_guard.python.sources import PythonSource, iter_sources
from dab_guard.rules.base import Rule


def agent_sources(rule: Rule, target: Target, wanted: Callable[[bytes], bool]) -> Iterator[tuple[PythonSource, ModuleFacts, PathParts]]:
    """Synced files and files tasks run whose bytes pass ``wanted``, each once, with a task path when one runs it."""
    limit = max_file_bytes(rule.settings)
    cache = cache_for(target.bundle, limit)
    task_of: dict[str, PathParts] = {}
    for program in programs(target, limit):
        for source in program.sources():
            task_of.setdefault(source.rel, program.path)
    rels = list(dict.fromkeys([*task_of, *synced_files(target)]))
    for source in iter_sources(cache, rels, wanted):
        path = task_of.get(source.rel, ())
        if source.tree is not None:
            yield source, facts_of(source), path
        # The files a notebook writes with %%writefile (agent.py): code that serving runs, found in the notebook.
        for written in source.written:
            if written.source.tree is not None:
                yield written.source, facts_of(written.source), path


class ToolErrors(Rule):
    """
    ## What it does
    Reports `langgraph.prebuilt.ToolNode(...)` built without `handle_tool_errors=True`, or with
    `handle_tool_errors=False` / `None`. A message string, a handler function or exception types are error handling
    too and pass.

    ## Why it matters
    Since langgraph-prebuilt 1.0.2 the default handler turns only tool-call argument errors into messages and
    re-raises everything else (before, the default was `True`). Any exception in a tool then crashes the graph,
    and on a serving endpoint MLflow's handler answers `null` instead of letting the model report the error.

    ## Example
    ```python
    tool_node = ToolNode(ALL_TOOLS)
    ```

    ## Fix
    ```python
    tool_node = ToolNode(ALL_TOOLS, handle_tool_errors=True)
    ```

    `dab-guard fix` adds `handle_tool_errors=True` after the last argument of a `ToolNode(...)` that lacks it
    (safe). Replacing an explicit `handle_tool_errors=False` is only suggested (`--unsafe-fixes`): it was written
    on purpose.
    """

    id = "DG207"
    name = "tool-errors"
    severity = Severity.ERROR
    summary = "LangGraph ToolNode without handle_tool_errors=True"
    source = "Guide, 'handle_tool_errors=True is REQUIRED'."
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for source, facts, path in agent_sources(self, target, lambda data: b"ToolNode" in data):
            for call in facts.tool_nodes:
                keyword = call.keyword("handle_tool_errors")
                if keyword is None and call.has_star_kwargs:
                    continue
                if keyword is None:
                    detail = "without handle_tool_errors=True"
                elif isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None, 0):
                    detail = f"with handle_tool_errors={keyword.value.value!r}"
                else:
                    continue
                yield Report(
                    f"ToolNode is built {detail}: since langgraph-prebuilt 1.0.2 a tool exception other than a bad "
                    "argument crashes the graph (a serving endpoint answers null); pass handle_tool_errors=True",
                    path,
                    at=source.loc_of(call.node if keyword is None else keyword),
                    fix=_handle_tool_errors(target, source, call.node, keyword),
                )


def _handle_tool_errors(target: Target, source: PythonSource, call: ast.Call, keyword: ast.keyword | None) -> Fix | None:
    text = python_text(target, source)
    if text is None:
        return None
    if keyword is None:
        edit = add_keyword(text, call, "handle_tool_errors=True")
        return Fix("add handle_tool_errors=True", (edit,)) if edit else None
    edit = text.edit(start_of(keyword.value), end_of(keyword.value), "True")
    return Fix("handle_tool_errors=True", (edit,), safe=False) if edit else None


class AgentNodeGuard(Rule):
    """
    ## What it does
    In a module that uses LangGraph, finds the functions (and lambdas, and `functools.partial` of functions) added
    to a graph with `add_node`, and reports each model call in them (`.invoke()`, `.ainvoke()`, `.stream()`,
    `.astream()`) that is not inside a `try` block with an `except` clause. Functions defined elsewhere and nested
    functions are not followed.

    ## Why it matters
    An exception in a node (a rate limit, a timeout, a tool-call parsing error) ends the whole graph run; behind a
    serving endpoint the caller gets an error or `null` instead of an answer that explains what went wrong. True of
    every LangGraph release: a graph does not catch node exceptions.

    ## Example
    ```python
    def agent_node(state: MessagesState):
        return {"messages": [llm_with_tools.invoke(state["messages"])]}

    graph.add_node("agent", agent_node)
    ```

    ## Fix
    ```python
    def agent_node(state: MessagesState):
        try:
            return {"messages": [llm_with_tools.invoke(state["messages"])]}
        except Exception as exc:
            return {"messages": [AIMessage(content=f"Error: {exc}")]}
    ```
    """

    id = "DG208"
    name = "agent-node-guard"
    severity = Severity.WARNING
    summary = "graph node functions that call a model outside try/except"
    source = "Guide, 'handle_tool_errors=True is REQUIRED': also wrap the agent node in try-except."

    def check(self, target: Target) -> Iterator[Report]:
        for source, facts, path in agent_sources(self, target, lambda data: b"add_node" in data):
            done: set[int] = set()
            for _, function in facts.graph_nodes:
                if id(function) in done:
                    continue
                done.add(id(function))
                label = f"'{function.name}'" if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) else "(a lambda)"
                for call in facts.model_calls:
                    if call.site.function is not function or call.site.in_try:
                        continue
                    method = call.node.func.attr if isinstance(call.node.func, ast.Attribute) else "invoke"
                    yield Report(
                        f"graph node {label} calls .{method}() outside try/except: an error ends the whole graph run; "
                        "catch it and return a message that reports it",
                        path,
                        at=source.loc_of(call.node),
                    )


# The named parameters of databricks.agents.deploy() across databricks-agents 0.10 - 1.13 (read from each release's
# deployments.py). Every release also takes **kwargs and silently drops names it does not read.
DEPLOY_PARAMETERS = frozenset(
    {
        "model_name",
        "model_version",
        "scale_to_zero",
        "environment_vars",
        "instance_profile_arn",
        "tags",
        "workload_size",
        "endpoint_name",
        "budget_policy_id",
        "description",
        "deploy_feedback_model",
        "usage_policy_id",
    }
)


class AgentsDeploy(Rule):
    """
    ## What it does
    Reports keywords of `databricks.agents.deploy(...)` that the function does not have. `deploy()` accepts
    `**kwargs` and ignores the names it does not know, so a typo such as `scale_to_zero_enabled=True` (the
    parameter is `scale_to_zero`) is silently dropped. The known parameters are those of databricks-agents 0.10 to
    1.13: `model_name`, `model_version`, `scale_to_zero`, `environment_vars`, `instance_profile_arn`, `tags`,
    `workload_size`, `endpoint_name`, `budget_policy_id`, `description`, `deploy_feedback_model`,
    `usage_policy_id`.

    ## Why it matters
    The deployment succeeds without the setting: an endpoint meant to scale to zero keeps its compute running
    and billing.

    ## Example
    ```python
    agents.deploy(MODEL_NAME, version, scale_to_zero_enabled=True)
    ```

    ## Fix
    ```python
    agents.deploy(MODEL_NAME, version, scale_to_zero=True)
    ```

    `dab-guard fix` renames `scale_to_zero_enabled=` to `scale_to_zero=` (safe: the guide's slip, one meaning).
    Renaming another unknown keyword to the parameter it is closest to is only suggested (`--unsafe-fixes`); a
    keyword with no close parameter, or whose new name is already passed, gets no fix.
    """

    id = "DG211"
    name = "agents-deploy"
    severity = Severity.WARNING
    summary = "databricks.agents.deploy() keywords it silently ignores"
    source = "Guide, 'Standard Notebook Template' Cell 4 (scale_to_zero_enabled) checked against databricks-agents."
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for source, facts, path in agent_sources(self, target, lambda data: b"deploy" in data and b"agents" in data):
            for call in facts.deploys:
                for keyword in call.node.keywords:
                    if keyword.arg is None or keyword.arg in DEPLOY_PARAMETERS:
                        continue
                    close = difflib.get_close_matches(keyword.arg, sorted(DEPLOY_PARAMETERS), n=1, cutoff=0.6)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    yield Report(
                        f"databricks.agents.deploy() has no parameter '{keyword.arg}'{hint}: it takes **kwargs and "
                        "silently ignores names it does not know",
                        path,
                        at=source.loc_of(keyword),
                        fix=_rename_keyword(target, source, call.node, keyword, close[0] if close else None),
                    )


# Keywords whose meaning is certain: the guide's own slip.
_KNOWN_SLIPS = {"scale_to_zero_enabled": "scale_to_zero"}


def _rename_keyword(target: Target, source: PythonSource, call: ast.Call, keyword: ast.keyword, close: str | None) -> Fix | None:
    assert keyword.arg is not None
    new_name = _KNOWN_SLIPS.get(keyword.arg, close)
    text = python_text(target, source)
    if new_name is None or text is None or any(k.arg == new_name for k in call.keywords):
        return None
    line, col = start_of(keyword)
    edit = text.edit((line, col), (line, col + len(keyword.arg.encode("utf-8"))), new_name)
    if edit is None:
        return None
    return Fix(f"rename {keyword.arg}= to {new_name}=", (edit,), safe=keyword.arg in _KNOWN_SLIPS)
