"""What a job's Python says about Unity Catalog models and serving endpoints, for the workspace checks.

Built on the shared static analysis of :mod:`dab_guard.python` (entry point, ``%run`` notebooks, values followed
through constants): the three-part model names a task registers (``registered_model_name=``,
``mlflow.register_model``, ``agents.deploy``), the serving endpoints ``agents.deploy(...)`` writes to, and whether
the model it logs is an agent (a ``ChatAgent``, ``ResponsesAgent`` or ``ChatModel``, or ``task="agent/..."``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from dab_guard.bundle.clusters import TaskRef
from dab_guard.bundle.resolve import Target
from dab_guard.finding import Loc, PathParts
from dab_guard.jobs.program import TaskProgram, program_for, registered_name, registration_name, traced_value
from dab_guard.python.facts import LogModel, ModuleFacts
from dab_guard.python.sources import PythonSource
from dab_guard.python.values import UNKNOWN, Traced

AGENT_BASES = frozenset({"ChatAgent", "ResponsesAgent", "ChatModel"})
# databricks-agents names an endpoint it creates "agents_" + the model name, dots as dashes, at most 63 characters
# (databricks-agents 1.x, deployments._create_endpoint_name; checked against 1.13.0).
_ENDPOINT_PREFIX = "agents_"
_ENDPOINT_MAX = 63
# deploy(model_name, model_version, scale_to_zero, environment_vars, instance_profile_arn, tags, workload_size,
# endpoint_name, ...): endpoint_name may also come eighth by position.
_ENDPOINT_POSITION = 7


@dataclass(frozen=True)
class Mention:
    value: str
    loc: Loc | None  # where the code says it; None: report at ``yaml_path``
    yaml_path: PathParts
    origin: str = ""  # " (from `--schema` of task `x`, resources/x.yml:25)" when the job passes part of it


@dataclass
class ScriptFacts:
    registrations: list[Mention] = field(default_factory=list)  # "catalog.schema.model"
    deploys: list[tuple[Mention, str | None]] = field(default_factory=list)  # (endpoint name, model name)
    logs_agent: bool | None = None  # None: logs no model, or one dab-guard cannot classify


def default_endpoint_name(model_name: str) -> str:
    """The endpoint ``databricks.agents.deploy`` creates for a model when no ``endpoint_name`` is given."""
    truncated = model_name[: _ENDPOINT_MAX - len(_ENDPOINT_PREFIX)]
    return _ENDPOINT_PREFIX + truncated.replace(".", "-").rstrip("_-")


def _may_pass_endpoint(call: ast.Call) -> bool:
    """Whether ``*args`` or ``**kwargs`` may carry an ``endpoint_name`` that the code does not show."""
    return any(isinstance(arg, ast.Starred) for arg in call.args) or any(keyword.arg is None for keyword in call.keywords)


def is_uc_model(name: str | None) -> bool:
    if not name or UNKNOWN in name:
        return False
    parts = name.split(".")
    return len(parts) == 3 and all(parts) and not any(c in name for c in " /{}$")


def task_script_facts(target: Target, ref: TaskRef) -> ScriptFacts | None:
    """The facts of the Python the task runs, when it is a local file or notebook of the bundle."""
    program = program_for(target, ref)
    if program is None:
        return None
    out = ScriptFacts()
    for source in program.runs:
        if source.tree is None:
            continue
        _read(program, source, ScriptFactsReader(out, program, source))
    return out


class ScriptFactsReader:
    def __init__(self, out: ScriptFacts, program: TaskProgram, source: PythonSource) -> None:
        self.out = out
        self.program = program
        self.source = source

    def mention(self, value: str, node: ast.AST, traced: Traced) -> Mention:
        return Mention(value, self.source.loc_of(node), self.program.entry.value_path, traced.came_from())


def _read(program: TaskProgram, source: PythonSource, reader: ScriptFactsReader) -> None:
    from dab_guard.python.facts import facts_of

    facts = facts_of(source)
    out = reader.out
    for log in facts.log_models:
        name = registered_name(program, facts, log)
        if log.registered_name is not None and is_uc_model(name.value):
            out.registrations.append(reader.mention(str(name.value), log.registered_name.value, name))
        if out.logs_agent is None:
            out.logs_agent = _logs_agent(program, facts, log)
    for registration in facts.registrations:
        name = registration_name(program, facts, registration)
        if registration.name is not None and is_uc_model(name.value):
            out.registrations.append(reader.mention(str(name.value), registration.name, name))
    for call in facts.deploys:
        model_node = call.argument(0, "model_name")
        traced = traced_value(program, facts, call, model_node)
        model = traced.value if is_uc_model(traced.value) else None
        if model is not None and model_node is not None:
            out.registrations.append(reader.mention(model, model_node, traced))
        endpoint_node = call.argument(_ENDPOINT_POSITION, "endpoint_name")
        if endpoint_node is not None and not (isinstance(endpoint_node, ast.Constant) and endpoint_node.value is None):
            endpoint = traced_value(program, facts, call, endpoint_node)
            if endpoint.value and UNKNOWN not in endpoint.value:
                out.deploys.append((reader.mention(endpoint.value, call.node, endpoint), model))
        elif model is not None and not _may_pass_endpoint(call.node):
            out.deploys.append((reader.mention(default_endpoint_name(model), call.node, traced), model))


def _logs_agent(program: TaskProgram, facts: ModuleFacts, log: LogModel) -> bool | None:
    """Whether one ``log_model`` call logs an agent; None when that cannot be told."""
    task_keyword = log.keyword("task")
    if task_keyword is not None:
        task = facts.call_value(log.call, task_keyword.value)
        if task is not None and UNKNOWN not in task:
            return task.startswith("agent/")
    model = log.code_model
    if model is None:
        return None
    if log.code_model_path is not None:
        for code_model in program.code_models:
            if code_model.log is log and code_model.files and code_model.files[0].tree is not None:
                return _defines_agent(code_model.files[0].tree)
        return None
    class_name: str | None = None
    if isinstance(model, ast.Call) and isinstance(model.func, ast.Name):
        class_name = model.func.id
    elif isinstance(model, ast.Name) and facts.tree is not None:
        class_name = _instance_class(facts.tree, model.id)
    if class_name is None or facts.tree is None:
        return None
    return _class_is_agent(facts.tree, class_name)


def _instance_class(tree: ast.Module, variable: str) -> str | None:
    """``bot = SupportBot()`` at module level: the class ``bot`` holds an instance of."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ):
            return node.value.func.id
    return None


def _class_is_agent(tree: ast.Module, name: str) -> bool | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return any(_tail(base) in AGENT_BASES for base in node.bases)
    return None  # defined elsewhere: cannot tell


def _defines_agent(tree: ast.Module) -> bool | None:
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    if not classes:
        return None
    return any(_tail(base) in AGENT_BASES for node in classes for base in node.bases)


def _tail(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""
