"""Facts about one Python module, gathered in a single walk of its tree and shared by every rule.

:func:`facts_of` walks a parsed file once (iteratively: deep nesting cannot exhaust the stack) and records what the
rules ask about: imports, calls of interest with where they happen (function, ``try`` block, branch), the
``sys.path`` changes, uses of ``__file__`` and whether they are guarded. Derived facts (``log_model`` calls,
``register_model`` / ``set_registry_uri``, ``ToolNode``, ``add_node`` targets, ``agents.deploy``, ``%pip install``
cells, ``dbutils.library.restartPython()``) are built from those on first use. What a task's code does with them is
worked out in :mod:`dab_guard.jobs.program`.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from dab_guard.python.argv import NO_INPUTS, TaskInputs
from dab_guard.python.pip import PipInstall, parse_pip_args, parse_pip_magic
from dab_guard.python.sources import PythonSource
from dab_guard.python.values import UNKNOWN, Binding, Evaluator, MethodCall, Position, Scope, Traced

# Calls recorded during the walk, by the last part of their name; everything else is skipped cheaply.
_RECORDED_CALLS = frozenset(
    {
        "log_model", "register_model", "set_registry_uri", "insert", "append", "extend", "addsitedir", "ToolNode",
        "add_node", "deploy", "restartPython", "copytree", "check_call", "check_output", "run", "call", "Popen",
        "system", "main", "infer_signature", "ModelSignature", "add_argument", "add_subparsers",
    }
)
MODEL_CALL_METHODS = frozenset({"invoke", "ainvoke", "stream", "astream"})
_EXIT_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit", "dbutils.notebook.exit"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException", "*"})
_NAME_ERRORS = frozenset({"NameError", "Exception", "BaseException", "*"})
_SUBPROCESS_CALLS = frozenset({"subprocess.check_call", "subprocess.check_output", "subprocess.run", "subprocess.call", "subprocess.Popen", "os.system"})
_LOG_MODEL_RE = re.compile(r"^mlflow\.([A-Za-z_]\w*)\.log_model$")
# Where a flavour's log_model takes artifact_path when it is passed positionally (MLflow 2.9 - 3.8).
ARTIFACT_PATH_POSITION = {"pyfunc": 0, "openai": 2, "mleap": 2}
CODE_MODEL_KEYWORDS = {"pyfunc": "python_model", "langchain": "lc_model"}
# pyfunc model classes with a standard signature that log_model sets itself (mlflow/pyfunc/__init__.py, 2.x and 3.x).
STANDARD_SIGNATURE_CLASSES = frozenset({"ChatModel", "ChatAgent", "ResponsesAgent"})


class _Ctx(NamedTuple):
    scope: Scope
    block: tuple[int, ...]
    in_try: bool  # inside a try block with handlers, in the same function
    import_guard: bool  # imports here are optional (try/except ImportError, if TYPE_CHECKING)
    file_guard_try: bool  # a NameError here is caught
    file_guard_if: bool  # only reached when __file__ is defined
    function: ast.AST | None  # the innermost function or lambda


@dataclass(frozen=True)
class Site:
    """Where an expression is: its scope, enclosing blocks and function, and whether a try/except covers it."""

    scope: Scope
    block: tuple[int, ...]
    in_try: bool
    function: ast.AST | None


@dataclass(frozen=True)
class ImportFact:
    module: str  # the module named (``a.b`` of ``from a.b import c``; "" for ``from . import c``)
    level: int  # dots of a relative import
    names: tuple[str, ...]  # names of a from-import
    node: ast.stmt
    guarded: bool  # optional: try/except ImportError or `if TYPE_CHECKING`

    def loaded(self) -> list[str]:
        """Dotted names the import may load (``from a import b`` may load module ``a.b``)."""
        out = [self.module] if self.module else []
        if isinstance(self.node, ast.ImportFrom):
            out.extend(f"{self.module}.{n}" if self.module else n for n in self.names if n != "*")
        return out


@dataclass(frozen=True)
class CallFact:
    node: ast.Call
    name: str | None  # dotted name through the imports (``mlflow.pyfunc.log_model``)
    site: Site

    @property
    def at(self) -> Position:
        return (self.node.lineno, self.node.col_offset)

    def keyword(self, name: str) -> ast.keyword | None:
        for keyword in self.node.keywords:
            if keyword.arg == name:
                return keyword
        return None

    def argument(self, index: int, keyword: str) -> ast.expr | None:
        """A parameter passed by position or by keyword."""
        found = self.keyword(keyword)
        if found is not None:
            return found.value
        args = self.node.args
        if index < len(args) and not any(isinstance(a, ast.Starred) for a in args[: index + 1]):
            return args[index]
        return None

    @property
    def has_star_kwargs(self) -> bool:
        return any(k.arg is None for k in self.node.keywords)


@dataclass(frozen=True)
class PathEntry:
    """One folder put on ``sys.path``: the expression and its value (None when unknown)."""

    node: ast.AST
    value: str | None
    call: ast.AST  # the statement or call that changes sys.path
    site: Site

    @property
    def at(self) -> Position:
        return (getattr(self.call, "lineno", 1), getattr(self.call, "col_offset", 0))


@dataclass(frozen=True)
class FileUse:
    node: ast.Name
    guarded: bool
    scope: Scope


@dataclass(frozen=True)
class LogModel:
    """One ``mlflow.<flavor>.log_model(...)`` call."""

    call: CallFact
    flavor: str
    code_model: ast.expr | None  # python_model= / lc_model=
    code_model_keyword: str
    code_model_path: str | None  # its value when it is a path to a .py file (a code model)
    registered_name: ast.keyword | None
    registered_value: str | None

    def keyword(self, name: str) -> ast.keyword | None:
        return self.call.keyword(name)

    @property
    def artifact_path(self) -> ast.AST | None:
        """``artifact_path=``, or the positional argument in its place."""
        keyword = self.call.keyword("artifact_path")
        if keyword is not None:
            return keyword
        position = ARTIFACT_PATH_POSITION.get(self.flavor, 1)
        args = self.call.node.args
        if position < len(args) and not any(isinstance(a, ast.Starred) for a in args[: position + 1]):
            return args[position]
        return None


@dataclass(frozen=True)
class Registration:
    """``mlflow.register_model(model_uri, name)``."""

    call: CallFact
    name: ast.expr | None
    value: str | None


@dataclass(frozen=True)
class PipCommand:
    """A ``pip install`` the code runs: a ``%pip`` / ``!pip`` magic or a subprocess call."""

    line: int  # Python-text line
    install: PipInstall
    magic: bool


@dataclass
class InputRewrites:
    """What a module does to the values a task hands its code before reading them."""

    argv: bool = False  # assigns sys.argv or changes it in place
    env_keys: set[str] = field(default_factory=set)  # environment variables it sets or removes
    all_env: bool = False  # changes the environment in a way that names no single variable
    registry: bool = False  # names MLFLOW_REGISTRY_URI or the Spark setting of the registry URI
    run_arguments: bool = False  # `%run ./other $name=value`: widgets of that run come from the magic


@dataclass
class ModuleFacts:
    source: PythonSource
    module_scope: Scope
    imports: list[ImportFact] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    calls: list[CallFact] = field(default_factory=list)
    model_calls: list[CallFact] = field(default_factory=list)
    file_uses: list[FileUse] = field(default_factory=list)
    path_entries: list[PathEntry] = field(default_factory=list)
    class_defs: list[ast.ClassDef] = field(default_factory=list)
    scopes: dict[int, Scope] = field(default_factory=dict)  # function and lambda scopes, by id of their node
    local_calls: dict[str, list[CallFact]] = field(default_factory=dict)  # calls of a plain name, by that name
    _path_targets: list[tuple[ast.AST, ast.expr, ast.stmt, Site]] = field(default_factory=list)
    _evaluators: dict[int, tuple[TaskInputs, Evaluator]] = field(default_factory=dict)
    _same_for_every_task: dict[int, Traced | None] = field(default_factory=dict)

    # --- names and values -----------------------------------------------------------------------------------

    def qualname(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(self.qualname, NO_INPUTS, self)

    def evaluator_for(self, inputs: TaskInputs) -> Evaluator:
        """An evaluator that reads the values one task hands its code (one per task, kept while the task is)."""
        if inputs is NO_INPUTS:
            return self.evaluator
        kept = self._evaluators.get(id(inputs))
        if kept is None or kept[0] is not inputs:
            kept = self._evaluators[id(inputs)] = (inputs, Evaluator(self.qualname, inputs, self))
        return kept[1]

    def value(self, node: ast.expr | None, site: Site, at: Position) -> str | None:
        """The value of ``node`` (a string expression) at position ``at``."""
        return self.evaluator.value(node, site.scope, at, site.block)

    def traced(self, call: CallFact, node: ast.expr | None, inputs: TaskInputs) -> Traced:
        """The value of ``node`` (an argument of ``call``) with the values task ``inputs`` hand the code."""
        return self.evaluator_for(inputs).traced(node, call.site.scope, call.at, call.site.block)

    def task_independent(self, call: CallFact, node: ast.expr | None) -> Traced | None:
        """The value of ``node`` when it reads nothing a task passes (then every task gets it, computed once);
        None when it may depend on the task."""
        key = id(node)
        if key not in self._same_for_every_task:
            evaluator = self.evaluator
            evaluator.asked = False
            traced = evaluator.traced(node, call.site.scope, call.at, call.site.block)
            self._same_for_every_task[key] = None if evaluator.asked else traced
        return self._same_for_every_task[key]

    # --- what the evaluator asks (CodeIndex) ----------------------------------------------------------------------

    def scope_of(self, node: ast.AST) -> Scope | None:
        return self.scopes.get(id(node))

    def calls_to(self, name: str) -> list[MethodCall]:
        return [(c.node, c.site.scope, c.at, c.site.block) for c in self.local_calls.get(name, ())]

    def rebinds_attribute(self, name: str, attribute: str) -> bool:
        rebound, whole = self._rebound
        return name in whole or (name, attribute) in rebound

    @cached_property
    def _rebound(self) -> tuple[set[tuple[str, str]], set[str]]:
        """(name, attribute) pairs the code assigns (``args.schema = ...``), and names whose attributes it may
        change any way (``setattr(args, ...)``, ``vars(args)``, ``args.__dict__``)."""
        pairs: set[tuple[str, str]] = set()
        whole: set[str] = set()
        for node in ast.walk(self.tree) if self.tree is not None else ():
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    pairs.add((node.value.id, node.attr))
                elif node.attr == "__dict__":
                    whole.add(node.value.id)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "vars", "delattr")
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                whole.add(node.args[0].id)
        return pairs, whole

    @cached_property
    def input_rewrites(self) -> InputRewrites:
        """What the code changes of what a task hands it: ``sys.argv``, environment variables, the registry URI."""
        out = InputRewrites()
        for node in ast.walk(self.tree) if self.tree is not None else ():
            if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                target = node.value if isinstance(node, ast.Subscript) else node
                name = self.qualname(target) if isinstance(target, (ast.Attribute, ast.Name)) else None
                if name == "sys.argv":
                    out.argv = True
                elif name == "os.environ" and isinstance(node, ast.Subscript):
                    key = node.slice.value if isinstance(node.slice, ast.Constant) else None
                    if isinstance(key, str):
                        out.env_keys.add(key)
                    else:
                        out.all_env = True
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = self.qualname(node.func.value) if isinstance(node.func.value, (ast.Attribute, ast.Name)) else None
                method = node.func.attr
                if owner == "sys.argv" and method not in ("index", "count", "copy"):
                    out.argv = True
                elif (owner == "os.environ" and method in ("update", "setdefault", "pop", "popitem", "clear")) or (
                    owner == "os" and method in ("putenv", "unsetenv")
                ):
                    key = node.args[0].value if method in ("setdefault", "pop", "putenv", "unsetenv") and node.args and isinstance(node.args[0], ast.Constant) else None
                    if isinstance(key, str):
                        out.env_keys.add(key)
                    else:
                        out.all_env = True
        text = self.source.text
        out.registry = "MLFLOW_REGISTRY_URI" in text or "modelRegistryUri" in text
        out.run_arguments = any(m.command == "run" and "$" in m.args for m in self.source.magics)
        return out

    def method_calls(self, method: str) -> list[MethodCall]:
        return [
            (c.node, c.site.scope, c.at, c.site.block)
            for c in self.calls
            if isinstance(c.node.func, ast.Attribute) and c.node.func.attr == method
        ]

    def call_value(self, call: CallFact, node: ast.expr | None) -> str | None:
        return self.value(node, call.site, call.at)

    def named(self, *names: str) -> list[CallFact]:
        wanted = set(names)
        return [c for c in self.calls if c.name in wanted]

    @property
    def tree(self) -> ast.Module | None:
        return self.source.tree

    def imports_package(self, prefix: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") for fact in self.imports for name in fact.loaded())

    # --- derived facts ------------------------------------------------------------------------------------------

    @cached_property
    def class_bases(self) -> dict[str, list[str]]:
        """Each class the module defines, with the dotted names of its bases (through the imports)."""
        return {c.name: [self.qualname(b) or "" for b in c.bases] for c in self.class_defs}

    def defines_agent_class(self) -> bool:
        """Whether a class here is an MLflow ChatModel, ChatAgent or ResponsesAgent, whose signature MLflow sets."""
        return any(base.rsplit(".", 1)[-1] in STANDARD_SIGNATURE_CLASSES for bases in self.class_bases.values() for base in bases)

    @cached_property
    def log_models(self) -> list[LogModel]:
        out: list[LogModel] = []
        for call in self.calls:
            match = _LOG_MODEL_RE.match(call.name or "")
            if not match or match.group(1) in ("models", "tracking", "client"):
                continue
            flavor = match.group(1)
            keyword = CODE_MODEL_KEYWORDS.get(flavor, "python_model")
            model = call.argument(0, keyword) if flavor == "langchain" else call.argument(99, keyword)
            path = self.call_value(call, model) if model is not None else None
            if path is not None and not path.rstrip().endswith(".py"):
                path = None
            registered = call.keyword("registered_model_name")
            registered_value = self.call_value(call, registered.value) if registered is not None else None
            out.append(LogModel(call, flavor, model, keyword, path, registered, registered_value))
        return out

    @cached_property
    def registrations(self) -> list[Registration]:
        out: list[Registration] = []
        for call in self.named("mlflow.register_model", "mlflow.tracking._model_registry.fluent.register_model"):
            name = call.argument(1, "name")
            out.append(Registration(call, name, self.call_value(call, name) if name is not None else None))
        return out

    @cached_property
    def registry_uris(self) -> list[tuple[CallFact, str | None]]:
        """``mlflow.set_registry_uri(...)`` calls and the URI each sets."""
        return [(c, self.call_value(c, c.argument(0, "uri"))) for c in self.named("mlflow.set_registry_uri", "mlflow.tracking.set_registry_uri")]

    def registry_is_uc(self, before: CallFact | None = None) -> bool:
        """Whether the module sets the registry to Unity Catalog (before ``before`` when both are in one scope)."""
        for call, uri in self.registry_uris:
            if uri is None or not uri.startswith("databricks-uc"):
                continue
            if before is not None and call.site.scope is before.site.scope and call.at > before.at:
                continue
            return True
        return False

    @cached_property
    def tool_nodes(self) -> list[CallFact]:
        return [c for c in self.calls if c.name and c.name.startswith("langgraph.") and c.name.endswith(".ToolNode")]

    @cached_property
    def deploys(self) -> list[CallFact]:
        return self.named("databricks.agents.deploy", "databricks.agents.deployments.deploy")

    @cached_property
    def copies(self) -> list[tuple[str, str]]:
        """``shutil.copytree(src, dst)`` with both values known: (src, dst)."""
        out: list[tuple[str, str]] = []
        for call in self.named("shutil.copytree"):
            src = self.call_value(call, call.argument(0, "src"))
            dst = self.call_value(call, call.argument(1, "dst"))
            if src is not None and dst is not None and UNKNOWN not in src + dst:
                out.append((src.rstrip("/"), dst.rstrip("/")))
        return out

    @cached_property
    def restarts(self) -> list[int]:
        """Lines of ``dbutils.library.restartPython()`` and ``%restart_python``."""
        lines = [c.node.lineno for c in self.named("dbutils.library.restartPython")]
        lines.extend(m.line for m in self.source.magics if m.command == "restart_python")
        return sorted(lines)

    @cached_property
    def pip_commands(self) -> list[PipCommand]:
        out: list[PipCommand] = []
        for magic in self.source.magics:
            if magic.command == "pip" or (magic.command in ("pip3",) and magic.shell):
                install = parse_pip_magic(magic.args)
                if install is not None:
                    out.append(PipCommand(magic.line, install, True))
            elif magic.shell and magic.command == "python" and " pip " in f" {magic.args} ":
                words = magic.args.split()
                if words[:2] == ["-m", "pip"]:
                    install = parse_pip_args(words[2:])
                    if install is not None:
                        out.append(PipCommand(magic.line, install, True))
        for call in self.calls:
            if call.name in _SUBPROCESS_CALLS or call.name == "pip.main":
                found = self._command_words(call)
                if found is None:
                    continue
                command = ["pip", *found] if call.name == "pip.main" else found
                if "pip" in command or any(w.endswith("/pip") for w in command):
                    index = next(i for i, w in enumerate(command) if w == "pip" or w.endswith("/pip"))
                    install = parse_pip_args(command[index + 1 :])
                    if install is not None:
                        out.append(PipCommand(call.node.lineno, install, False))
        return sorted(out, key=lambda p: p.line)

    def _command_words(self, call: CallFact) -> list[str] | None:
        args = call.node.args
        if not args:
            return None
        first = args[0]
        if isinstance(first, (ast.List, ast.Tuple)):
            words: list[str] = []
            for element in first.elts:
                value = self.call_value(call, element)
                if value is None and isinstance(element, ast.Attribute) and self.qualname(element) == "sys.executable":
                    value = "python"
                words.append(UNKNOWN if value is None else value)
            return words
        value = self.call_value(call, first)
        if value is None:
            return None
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()

    @cached_property
    def run_magics(self) -> list[tuple[int, str]]:
        """``%run ./other`` magics: (line, the path as written)."""
        out: list[tuple[int, str]] = []
        for magic in self.source.magics:
            if magic.command == "run" and magic.args:
                out.append((magic.line, magic.args.split()[0].strip("'\"")))
        return out

    def function_named(self, name: str, scope: Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        current: Scope | None = scope
        while current is not None:
            found = current.functions.get(name)
            if found is not None:
                return found
            current = current.lookup_parent()
        return None

    @cached_property
    def graph_nodes(self) -> list[tuple[CallFact, ast.AST]]:
        """``add_node`` calls of a module that imports langgraph, with the function (or lambda) each adds."""
        if not self.imports_package("langgraph"):
            return []
        out: list[tuple[CallFact, ast.AST]] = []
        for call in self.calls:
            func = call.node.func
            if not isinstance(func, ast.Attribute) or func.attr != "add_node":
                continue
            args = call.node.args
            action = call.argument(1, "action")
            if action is None:
                node_kw = call.keyword("node")
                action = node_kw.value if node_kw is not None else (args[0] if len(args) == 1 else None)
            target = self._callable(action, call.site.scope)
            if target is not None:
                out.append((call, target))
        return out

    def _callable(self, node: ast.expr | None, scope: Scope) -> ast.AST | None:
        if isinstance(node, ast.Lambda):
            return node
        if isinstance(node, ast.Name):
            return self.function_named(node.id, scope)
        if isinstance(node, ast.Call) and self.qualname(node.func) == "functools.partial" and node.args:
            return self._callable(node.args[0], scope)
        return None

    def signature_call(self, node: ast.expr | None, site: Site, at: Position) -> ast.Call | None:
        """The ``infer_signature(...)`` / ``ModelSignature(...)`` call a ``signature=`` value comes from."""
        for _ in range(5):
            if isinstance(node, ast.Call):
                return node
            if not isinstance(node, ast.Name):
                return None
            binding = _last_binding(site.scope, node.id, at)
            if binding is None:
                return None
            node, at = binding.value, binding.end
        return None


def _last_binding(scope: Scope, name: str, at: Position) -> Binding | None:
    current: Scope | None = scope
    innermost = True
    while current is not None:
        bindings = current.bindings.get(name)
        if bindings:
            before = [b for b in bindings if b.end <= at] if innermost else bindings
            return before[-1] if before else None
        current = current.lookup_parent()
        innermost = False
    return None


# --- the walk ----------------------------------------------------------------------------------------------------


def _exception_names(handler: ast.ExceptHandler) -> set[str]:
    kind = handler.type
    if kind is None:
        return {"*"}
    nodes = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


def _is_dunder_file_probe(node: ast.expr) -> bool:
    """``globals()`` / ``locals()`` / ``dir()`` / ``vars()``, where a name's presence can be tested."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "locals", "dir", "vars") and not node.args


def _guard_polarity(test: ast.expr) -> int:
    """+1 when ``test`` holds only if ``__file__`` is defined, -1 when only if it is not, else 0."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return -_guard_polarity(test.operand)
    if isinstance(test, ast.BoolOp):
        polarities = [_guard_polarity(v) for v in test.values]
        if isinstance(test.op, ast.And) and any(p > 0 for p in polarities):
            return 1
        if isinstance(test.op, ast.Or) and any(p < 0 for p in polarities):
            return -1
        return 0
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(left, ast.Constant) and left.value == "__file__" and _is_dunder_file_probe(right):
            return 1 if isinstance(op, ast.In) else -1 if isinstance(op, ast.NotIn) else 0
        if isinstance(right, ast.Constant) and right.value is None and _is_get_file(left):
            return 1 if isinstance(op, ast.IsNot) else -1 if isinstance(op, ast.Is) else 0
        return 0
    if _is_get_file(test):
        return 1
    return 0


def _is_get_file(node: ast.expr) -> bool:
    """``globals().get("__file__")`` (or locals / vars)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and _is_dunder_file_probe(node.func.value)
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "__file__"
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _ends_run(body: list[ast.stmt]) -> bool:
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        func = last.value.func
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            parts.append(func.id)
        return ".".join(reversed(parts)) in _EXIT_CALLS
    return False


def _end(node: ast.AST) -> Position:
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    line = end_line if isinstance(end_line, int) else getattr(node, "lineno", 1)
    return (line if isinstance(line, int) else 1, end_col if isinstance(end_col, int) else 0)


def _params(args: ast.arguments) -> list[str]:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def _bind_target(target: ast.expr, value: ast.expr | None, ctx: _Ctx, end: Position) -> None:
    if isinstance(target, ast.Name):
        ctx.scope.bind(target.id, end, value, ctx.block)
    elif isinstance(target, (ast.Tuple, ast.List)):
        unpacked = value is not None and not any(isinstance(e, ast.Starred) for e in target.elts)
        for index, element in enumerate(target.elts):
            # `args, extras = parser.parse_known_args()`: each name holds its element of the value.
            part = ast.Subscript(value=value, slice=ast.Constant(value=index), ctx=ast.Load()) if unpacked and value is not None else None
            _bind_target(element, part, ctx, end)
    elif isinstance(target, ast.Starred):
        _bind_target(target.value, None, ctx, end)


def _site(ctx: _Ctx) -> Site:
    return Site(ctx.scope, ctx.block, ctx.in_try, ctx.function)


def _call_leaf(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


# Per node class, the fields that may hold child nodes; and node classes with nothing of interest below them.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset(
    {ast.Constant, ast.Pass, ast.Break, ast.Continue, ast.Load, ast.Store, ast.Del, ast.alias, ast.Global, ast.Nonlocal, ast.arg}
    | {cls for base in (ast.operator, ast.unaryop, ast.cmpop, ast.boolop) for cls in base.__subclasses__()}
)


def _extract(source: PythonSource) -> ModuleFacts:
    tree = source.tree
    module = Scope("module", None, tree)
    facts = ModuleFacts(source, module)
    if tree is None:
        return facts
    stack: list[tuple[ast.AST, _Ctx]] = []

    def push_block(stmts: list[ast.stmt], ctx: _Ctx) -> None:
        block_ctx = ctx._replace(block=(*ctx.block, id(stmts)))
        pending: list[tuple[ast.AST, _Ctx]] = []
        current = block_ctx
        for stmt in stmts:
            pending.append((stmt, current))
            if isinstance(stmt, ast.If) and not current.file_guard_if:
                polarity = _guard_polarity(stmt.test)
                # `if "__file__" not in globals(): sys.exit()` guards every statement after it.
                if (polarity < 0 and _ends_run(stmt.body) and not stmt.orelse) or (polarity > 0 and _ends_run(stmt.orelse)):
                    current = current._replace(file_guard_if=True)
        stack.extend(reversed(pending))

    def push_function(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, ctx: _Ctx) -> _Ctx:
        scope = Scope("function", ctx.scope, node)
        facts.scopes[id(node)] = scope
        start = (node.lineno, node.col_offset)
        for name in _params(node.args):
            scope.bind(name, start, None, ())
        return _Ctx(scope, (), False, False, False, ctx.file_guard_if, node)

    push_block(tree.body, _Ctx(module, (), False, False, False, False, None))
    while stack:
        node, ctx = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            name_node = node
            assert isinstance(name_node, ast.Name)
            if name_node.id == "__file__":
                if isinstance(name_node.ctx, ast.Load):
                    facts.file_uses.append(FileUse(name_node, ctx.file_guard_try or ctx.file_guard_if, ctx.scope))
                else:
                    ctx.scope.bind("__file__", (name_node.lineno, name_node.col_offset), None, ctx.block)
            continue
        if kind is ast.Call:
            call = node
            assert isinstance(call, ast.Call)
            leaf = _call_leaf(call.func)
            # Calls of imported names too: `from langgraph.prebuilt import ToolNode as TN; TN(...)`.
            if leaf in _RECORDED_CALLS or (isinstance(call.func, ast.Name) and call.func.id in facts.aliases):
                facts.calls.append(CallFact(call, None, _site(ctx)))
            if isinstance(call.func, ast.Name):
                facts.local_calls.setdefault(call.func.id, []).append(CallFact(call, call.func.id, _site(ctx)))
            elif leaf in MODEL_CALL_METHODS and isinstance(call.func, ast.Attribute):
                facts.model_calls.append(CallFact(call, None, _site(ctx)))
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            function = node
            assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            ctx.scope.functions[function.name] = function
            ctx.scope.bind(function.name, _end(function), None, ctx.block)
            inner = push_function(function, ctx)
            push_block(function.body, inner)
            for child in (*function.decorator_list, *function.args.defaults, *(d for d in function.args.kw_defaults if d is not None)):
                stack.append((child, ctx))
            continue
        elif kind is ast.Lambda:
            lam = node
            assert isinstance(lam, ast.Lambda)
            stack.append((lam.body, push_function(lam, ctx)))
            continue
        elif kind is ast.ClassDef:
            cls = node
            assert isinstance(cls, ast.ClassDef)
            ctx.scope.bind(cls.name, _end(cls), None, ctx.block)
            facts.class_defs.append(cls)
            push_block(cls.body, ctx._replace(scope=Scope("class", ctx.scope, cls)))
            for child in (*cls.decorator_list, *cls.bases, *(k.value for k in cls.keywords)):
                stack.append((child, ctx))
            continue
        elif kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
            scope = Scope("comprehension", ctx.scope, node)
            inner_ctx = ctx._replace(scope=scope)
            for generator in node.generators:  # type: ignore[attr-defined]
                _bind_target(generator.target, None, inner_ctx, (0, 0))
            for part in ast.iter_child_nodes(node):
                stack.append((part, inner_ctx))
            continue
        elif kind is ast.Try or kind.__name__ == "TryStar":
            handlers: list[ast.ExceptHandler] = node.handlers  # type: ignore[attr-defined]
            caught: set[str] = set()
            for handler in handlers:
                caught |= _exception_names(handler)
            body_ctx = ctx._replace(
                in_try=ctx.in_try or bool(handlers),
                import_guard=ctx.import_guard or bool(caught & _IMPORT_ERRORS),
                file_guard_try=ctx.file_guard_try or bool(caught & _NAME_ERRORS),
            )
            push_block(node.finalbody, ctx)  # type: ignore[attr-defined]
            push_block(node.orelse, ctx)  # type: ignore[attr-defined]
            for handler in reversed(handlers):
                stack.append((handler, ctx))
            push_block(node.body, body_ctx)  # type: ignore[attr-defined]
            continue
        elif kind is ast.ExceptHandler:
            handler_node = node
            assert isinstance(handler_node, ast.ExceptHandler)
            if handler_node.name:
                ctx.scope.bind(handler_node.name, (handler_node.lineno, handler_node.col_offset), None, ctx.block)
            push_block(handler_node.body, ctx)
            if handler_node.type is not None:
                stack.append((handler_node.type, ctx))
            continue
        elif kind is ast.If:
            branch = node
            assert isinstance(branch, ast.If)
            polarity = _guard_polarity(branch.test)
            body_ctx, else_ctx = ctx, ctx
            if polarity > 0:
                body_ctx = body_ctx._replace(file_guard_if=True)
            elif polarity < 0:
                else_ctx = else_ctx._replace(file_guard_if=True)
            if _is_type_checking(branch.test):
                body_ctx = body_ctx._replace(import_guard=True)
            push_block(branch.orelse, else_ctx)
            push_block(branch.body, body_ctx)
            stack.append((branch.test, ctx))
            continue
        elif kind is ast.IfExp:
            expression = node
            assert isinstance(expression, ast.IfExp)
            polarity = _guard_polarity(expression.test)
            stack.append((expression.orelse, ctx._replace(file_guard_if=True) if polarity < 0 else ctx))
            stack.append((expression.body, ctx._replace(file_guard_if=True) if polarity > 0 else ctx))
            stack.append((expression.test, ctx))
            continue
        elif kind is ast.BoolOp:
            boolean = node
            assert isinstance(boolean, ast.BoolOp)
            pending: list[tuple[ast.AST, _Ctx]] = []
            current = ctx
            for value in boolean.values:
                pending.append((value, current))
                polarity = _guard_polarity(value)
                if (isinstance(boolean.op, ast.And) and polarity > 0) or (isinstance(boolean.op, ast.Or) and polarity < 0):
                    current = current._replace(file_guard_if=True)
            stack.extend(reversed(pending))
            continue
        elif kind is ast.Import or kind is ast.ImportFrom:
            _record_import(facts, node, ctx)  # type: ignore[arg-type]
            continue
        elif kind is ast.Assign:
            assign = node
            assert isinstance(assign, ast.Assign)
            end = _end(assign)
            for target in assign.targets:
                _bind_target(target, assign.value if isinstance(target, (ast.Name, ast.Tuple, ast.List)) else None, ctx, end)
                if isinstance(target, (ast.Attribute, ast.Subscript)):
                    facts._path_targets.append((target, assign.value, assign, _site(ctx)))
        elif kind is ast.AnnAssign:
            annotated = node
            assert isinstance(annotated, ast.AnnAssign)
            if annotated.value is not None:
                _bind_target(annotated.target, annotated.value, ctx, _end(annotated))
        elif kind is ast.AugAssign:
            augmented = node
            assert isinstance(augmented, ast.AugAssign)
            target = augmented.target
            if isinstance(target, ast.Name):
                combined = ast.BinOp(left=ast.Name(id=target.id, ctx=ast.Load()), op=augmented.op, right=augmented.value)
                ast.copy_location(combined, augmented)
                ast.copy_location(combined.left, augmented)
                ctx.scope.bind(target.id, _end(augmented), combined, ctx.block)
            elif isinstance(target, ast.Attribute):
                facts._path_targets.append((target, augmented.value, augmented, _site(ctx)))
        elif kind is ast.NamedExpr:
            walrus = node
            assert isinstance(walrus, ast.NamedExpr)
            scope = ctx.scope
            while scope.kind == "comprehension" and scope.parent is not None:
                scope = scope.parent
            scope.bind(walrus.target.id, _end(walrus), walrus.value, ctx.block)
        elif kind is ast.For or kind is ast.AsyncFor:
            loop = node
            assert isinstance(loop, (ast.For, ast.AsyncFor))
            _bind_target(loop.target, None, ctx, _end(loop.target))
        elif kind is ast.With or kind is ast.AsyncWith:
            with_node = node
            assert isinstance(with_node, (ast.With, ast.AsyncWith))
            for item in with_node.items:
                if item.optional_vars is not None:
                    _bind_target(item.optional_vars, None, ctx, _end(item))
        # Everything else: visit the children (in source order: the stack is last in, first out), statement lists
        # as blocks. Expression contexts (Load/Store) and plain values are never pushed.
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in ("ctx", "type_comment"))
        for field_name in reversed(fields):
            field_value = getattr(node, field_name, None)
            if isinstance(field_value, list):
                if field_value and isinstance(field_value[0], ast.stmt):
                    push_block(field_value, ctx)
                else:
                    for element in reversed(field_value):
                        if isinstance(element, ast.AST) and type(element) not in _LEAVES:
                            stack.append((element, ctx))
            elif isinstance(field_value, ast.AST) and type(field_value) not in _LEAVES:
                stack.append((field_value, ctx))

    for i, recorded in enumerate(facts.calls):
        facts.calls[i] = CallFact(recorded.node, facts.qualname(recorded.node.func), recorded.site)
    facts.calls.sort(key=lambda c: c.at)
    facts.model_calls.sort(key=lambda c: c.at)
    if facts.file_uses:
        # `__file__` assigned, or a parameter of that name, is an ordinary variable from then on.
        facts.file_uses = [u for u in facts.file_uses if not _bound_before(u)]
    _collect_path_entries(facts)
    return facts


def _bound_before(use: FileUse) -> bool:
    """A use of ``__file__`` after the code bound the name itself (then it is an ordinary variable)."""
    return _last_binding(use.scope, "__file__", (use.node.lineno, use.node.col_offset)) is not None


def _record_import(facts: ModuleFacts, node: ast.Import | ast.ImportFrom, ctx: _Ctx) -> None:
    end = _end(node)
    if isinstance(node, ast.Import):
        for alias in node.names:
            local = alias.asname or alias.name.split(".", 1)[0]
            facts.aliases[local] = alias.name if alias.asname else local
            ctx.scope.bind(local, end, None, ctx.block)
            facts.imports.append(ImportFact(alias.name, 0, (), node, ctx.import_guard))
        return
    module = node.module or ""
    names = tuple(a.name for a in node.names)
    for alias in node.names:
        if alias.name == "*":
            continue
        local = alias.asname or alias.name
        prefix = "." * node.level + module
        facts.aliases[local] = f"{prefix}.{alias.name}" if module or node.level else alias.name
        ctx.scope.bind(local, end, None, ctx.block)
    facts.imports.append(ImportFact(module, node.level, names, node, ctx.import_guard))


_PATH_METHODS = {"sys.path.insert": 1, "sys.path.append": 0, "sys.path.extend": 0, "site.addsitedir": 0}


def _collect_path_entries(facts: ModuleFacts) -> None:
    entries: list[PathEntry] = []
    for call in facts.calls:
        index = _PATH_METHODS.get(call.name or "")
        if index is None:
            continue
        args = call.node.args
        if index >= len(args):
            continue
        argument = args[index]
        if call.name == "sys.path.extend":
            entries.extend(_list_entries(facts, argument, call.node, call.site))
        else:
            entries.append(PathEntry(argument, facts.call_value(call, argument), call.node, call.site))
    for target, value, statement, site in facts._path_targets:
        base = target.value if isinstance(target, ast.Subscript) else target
        if isinstance(base, ast.Attribute) and facts.qualname(base) == "sys.path":
            entries.extend(_list_entries(facts, value, statement, site))
    entries.sort(key=lambda e: e.at)
    facts.path_entries = entries


def _list_entries(facts: ModuleFacts, node: ast.expr, statement: ast.AST, site: Site) -> list[PathEntry]:
    """The folders of a list expression (``[a, b] + sys.path``): literal elements, anything else unknown."""
    at = (getattr(statement, "lineno", 1), getattr(statement, "col_offset", 0))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [PathEntry(e, facts.value(e, site, at), statement, site) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _list_entries(facts, node.left, statement, site) + _list_entries(facts, node.right, statement, site)
    if isinstance(node, ast.Attribute) and facts.qualname(node) == "sys.path":
        return []
    return [PathEntry(node, None, statement, site)]


def facts_of(source: PythonSource) -> ModuleFacts:
    """The facts of ``source``, computed once (they are kept on the source, which the per-run cache holds)."""
    facts = source.facts
    if not isinstance(facts, ModuleFacts):
        facts = _extract(source)
        source.facts = facts
    return facts
