"""What a string expression holds, as far as constants tell: ``os.path.join(BASE, "tools")`` -> ``/Workspace/x/tools``.

Values are plain strings. Parts that cannot be known offline are written as :data:`UNKNOWN`, so that a prefix or the
number of dots of a name can still be judged (``f"/Workspace/Users/{user}/x"`` starts with ``/Workspace/``). Paths
relative to the running file are written from :data:`SCRIPT` (its ``__file__``), :data:`SCRIPT_DIR` (its folder) or
:data:`CWD` (the working directory), so a code-model path can be followed back to a bundle file.

Names are looked up the way Python binds them, in simple cases: the last assignment before the use in the same
function, then the enclosing functions, then the module. A name bound in a branch that does not enclose the use, a
loop variable, a parameter or anything imported is unknown.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from dab_guard.python.argv import NO_INPUTS, ArgSpec, Passed, TaskInputs, arg_spec, parse_command_line
from dab_guard.python.argv import UNKNOWN as UNKNOWN  # the marker of a part not known offline

SCRIPT = "\x02"
SCRIPT_DIR = "\x03"
CWD = "\x04"
MARKERS = (SCRIPT, SCRIPT_DIR, CWD)
_MAX_DEPTH = 60
_PERCENT_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")

Position = tuple[int, int]  # (line, column) in the Python text
# The dotted name an expression refers to through the module's imports (``os.path.join``), or None.
QualnameFn = Callable[[ast.expr], "str | None"]
_PARSE_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"})
_GROUP_METHODS = frozenset({"add_argument_group", "add_mutually_exclusive_group"})
_WIDGET_CALLS = frozenset({"dbutils.widgets.get", "dbutils.widgets.getArgument", "getArgument"})
_ENV_CALLS = frozenset({"os.getenv", "os.environ.get"})
MethodCall = tuple[ast.Call, "Scope", Position, tuple[int, ...]]  # a call, its scope, position and blocks


@dataclass
class Binding:
    """A name bound in a scope: ``value`` is the assigned expression, or None when not a plain assignment."""

    end: Position  # where the binding takes effect (the end of its statement)
    value: ast.expr | None
    block: tuple[int, ...]  # the statement blocks that enclose it (see Scope)


@dataclass
class Scope:
    """A module, function, lambda, class or comprehension scope and the names bound in it."""

    kind: str  # module, function, class, comprehension
    parent: Scope | None
    node: ast.AST | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)

    def bind(self, name: str, end: Position, value: ast.expr | None, block: tuple[int, ...]) -> None:
        self.bindings.setdefault(name, []).append(Binding(end, value, block))

    def lookup_parent(self) -> Scope | None:
        """The next scope a name is looked up in (class bodies are skipped from inside their methods)."""
        parent = self.parent
        while parent is not None and parent.kind == "class" and self.kind != "class":
            parent = parent.parent
        return parent


def display(value: str | None) -> str:
    """A value as a message shows it: unknown parts as ``{…}``, paths relative to the running file spelled out."""
    text = value or ""
    return (
        text.replace(UNKNOWN, "{…}")
        .replace(SCRIPT_DIR, "<folder of __file__>")
        .replace(SCRIPT, "__file__")
        .replace(CWD, "<working directory>")
    )


def is_known(value: str | None) -> bool:
    return value is not None and UNKNOWN not in value and not any(m in value for m in MARKERS)


def joined(parts: list[str | None]) -> str | None:
    """``os.path.join`` on values (an unknown part stays UNKNOWN; an absolute part restarts the path)."""
    out = ""
    for part in parts:
        text = UNKNOWN if part is None else part
        if not out or text.startswith("/") or text[:1] in MARKERS:
            out = text
        elif out.endswith("/"):
            out += text
        else:
            out += "/" + text
    return _only_unknown(out)


def dirname(value: str) -> str:
    if value == SCRIPT:
        return SCRIPT_DIR
    if value in (SCRIPT_DIR, CWD) or value.endswith("/.."):
        return value + "/.."
    head = posixpath.dirname(value.rstrip("/") or "/")
    return head or "."


def _only_unknown(value: str) -> str | None:
    return None if not value.replace(UNKNOWN, "") else value


def _const_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool):
        return str(node.value)
    return None


class CodeIndex(Protocol):
    """What the evaluator asks of a module beyond one expression: the scope of a function, and method calls."""

    def scope_of(self, node: ast.AST) -> Scope | None: ...

    def function_named(self, name: str, scope: Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None: ...

    def method_calls(self, method: str) -> list[MethodCall]: ...

    def rebinds_attribute(self, name: str, attribute: str) -> bool: ...

    def calls_to(self, name: str) -> list[MethodCall]: ...


@dataclass(frozen=True)
class Traced:
    """A value and the values from the job it was built from (empty when it comes from the code alone)."""

    value: str | None
    origins: tuple[Passed, ...] = ()

    def came_from(self) -> str:
        """`` (from `--schema` of task `log_model`, resources/x.job.yml:25)``, or "" when nothing came from the job."""
        if not self.origins:
            return ""
        seen: list[str] = []
        for origin in self.origins:
            text = origin.describe()
            if text not in seen:
                seen.append(text)
        return f" (from {'; '.join(seen)})"


class Evaluator:
    """Evaluates string expressions of one module. ``qualname`` names what a call refers to (``os.path.join``).

    With ``inputs`` (the values one task hands its code) and ``index`` (the module's functions and calls), reads of
    ``sys.argv``, ``argparse`` results, ``dbutils.widgets`` and the environment take the task's values; each value
    read is remembered in ``used`` so a finding can say where it came from.
    """

    def __init__(self, qualname: QualnameFn, inputs: TaskInputs = NO_INPUTS, index: CodeIndex | None = None) -> None:
        self.qualname = qualname
        self.inputs = inputs
        self.index = index
        self.used: list[Passed] = []
        self.asked = False  # whether an evaluation read (or tried to read) what a task passes
        self._active: set[int] = set()
        self._parsed: dict[int, dict[str, Passed | None] | None] = {}

    def traced(self, node: ast.expr | None, scope: Scope, at: Position, block: tuple[int, ...] = ()) -> Traced:
        """The value of ``node`` and the job values it was built from."""
        self.used = []
        value = self.value(node, scope, at, block)
        return Traced(value, tuple(self.used) if value is not None else ())

    def value(self, node: ast.expr | None, scope: Scope, at: Position, block: tuple[int, ...] = (), depth: int = 0) -> str | None:
        """The value of ``node`` evaluated at position ``at`` in ``scope``, or None when nothing of it is known."""
        if node is None or depth > _MAX_DEPTH:
            return None
        key = id(node)
        if key in self._active:
            return None  # a name defined through itself
        self._active.add(key)
        try:
            return self._value(node, scope, at, block, depth + 1)
        finally:
            self._active.discard(key)

    def _value(self, node: ast.expr, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.name(node.id, scope, at, block, depth)
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for piece in node.values:
                if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                    parts.append(piece.value)
                elif isinstance(piece, ast.FormattedValue) and piece.format_spec is None and piece.conversion in (-1, 115):
                    inner = _const_text(piece.value) or self.value(piece.value, scope, at, block, depth)
                    parts.append(UNKNOWN if inner is None else inner)
                else:
                    parts.append(UNKNOWN)
            return _only_unknown("".join(parts))
        if isinstance(node, ast.BinOp):
            return self._binop(node, scope, at, block, depth)
        if isinstance(node, ast.Call):
            return self._call(node, scope, at, block, depth)
        if isinstance(node, ast.Attribute):
            if node.attr == "parent":
                inner = self.value(node.value, scope, at, block, depth)
                return None if inner is None else dirname(inner)
            self.asked = True  # `args.schema` may be an argparse result
            if isinstance(node.value, ast.Name) and self.index is not None and self.index.rebinds_attribute(node.value.id, node.attr):
                return None  # `args.schema = ...` (or setattr, vars(args)) somewhere: the parsed word may not be it
            if self.inputs.argv is not None:
                namespace = self._namespace(node.value, scope, at, block)
                if namespace is not None:
                    return self._read(namespace.get(node.attr))
            return None
        if isinstance(node, ast.Subscript):
            return self._subscript(node, scope, at, block, depth)
        return None

    def _read(self, passed: Passed | None) -> str | None:
        """A value the job passes, remembered as used; None when nothing of it is known."""
        self.asked = True
        if passed is None or not passed.known:
            return None
        self.used.append(passed)
        return passed.text

    def _subscript(self, node: ast.Subscript, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        index = node.slice
        key = index.value if isinstance(index, ast.Constant) else None
        if isinstance(node.value, (ast.Tuple, ast.List)):
            if isinstance(key, int) and not isinstance(key, bool) and -len(node.value.elts) <= key < len(node.value.elts):
                element = node.value.elts[key]
                return None if isinstance(element, ast.Starred) else self.value(element, scope, at, block, depth)
            return None
        name = self.qualname(node.value)
        if name == "sys.argv" and isinstance(key, int) and not isinstance(key, bool):
            self.asked = True
            argv = self.inputs.argv
            if argv is None or key == 0:
                return None  # sys.argv[0] is the script's path on the cluster
            position = key - 1 if key > 0 else len(argv) + key
            return self._read(argv[position]) if 0 <= position < len(argv) else None
        if name == "os.environ" and isinstance(key, str):
            return self._read(self.inputs.env.get(key))
        return None

    # --- argparse ------------------------------------------------------------------------------------------------

    def _follow(self, node: ast.expr, scope: Scope, at: Position, block: tuple[int, ...]) -> tuple[ast.expr, Scope, Position, tuple[int, ...]] | None:
        """Through plain names to the expression last bound to them."""
        for _ in range(10):
            if not isinstance(node, ast.Name):
                return node, scope, at, block
            found = self.binding(node.id, scope, at, block)
            if found is None:
                return None
            binding, bound_in = found
            if binding.value is None:
                passed = self._argument_passed(node.id, binding, bound_in)
                if passed is None:
                    return None
                node, scope, at, block = passed
                continue
            scope = bound_in
            node, at, block = binding.value, binding.end, binding.block
        return None

    def _argument_passed(self, name: str, binding: Binding, scope: Scope) -> tuple[ast.expr, Scope, Position, tuple[int, ...]] | None:
        """For a parameter of a function the module calls exactly once (``main(parser.parse_args())``), the argument
        that call passes it, where the call is; None for anything else."""
        function = scope.node
        if self.index is None or scope.kind != "function" or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        if binding.end != (function.lineno, function.col_offset) or len(scope.bindings.get(name, [])) != 1:
            return None  # not the parameter itself, or reassigned in the function
        calls = self.index.calls_to(function.name)
        if len(calls) != 1:
            return None
        call, call_scope, call_at, call_block = calls[0]
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return None
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        given = next((k.value for k in call.keywords if k.arg == name), None)
        if given is None and name in positional and positional.index(name) < len(call.args):
            given = call.args[positional.index(name)]
        return (given, call_scope, call_at, call_block) if given is not None else None

    def _returned(self, call: ast.Call, scope: Scope) -> tuple[ast.expr, Scope, Position, tuple[int, ...]] | None:
        """What a local function returns (its one ``return``), in the function's scope, when the call passes nothing
        but the command line on (no argument, None, ``sys.argv[1:]``, a parameter that defaults to None)."""
        if self.index is None or not isinstance(call.func, ast.Name):
            return None
        if not all(self._is_command_line(arg, scope) for arg in (*call.args, *(k.value for k in call.keywords))):
            return None
        function = self.index.function_named(call.func.id, scope)
        inner = self.index.scope_of(function) if function is not None else None
        if function is None or inner is None:
            return None
        returns = [n for n in ast.walk(function) if isinstance(n, ast.Return)]
        if len(returns) != 1 or returns[0] not in function.body or returns[0].value is None:
            return None
        result = returns[0]
        return result.value, inner, (result.lineno, result.col_offset), (id(function.body),)  # type: ignore[return-value]

    def _namespace(self, node: ast.expr, scope: Scope, at: Position, block: tuple[int, ...], depth: int = 0) -> dict[str, Passed | None] | None:
        """What the ``argparse`` parse that ``node`` holds the result of sets, from the task's command line."""
        followed = self._follow(node, scope, at, block)
        if followed is None or depth > 5:
            return None
        node, scope, at, block = followed
        position: object = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            position, node = node.slice.value, node.value  # args, extras = parser.parse_known_args()
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _PARSE_METHODS:
            known_only = "known" in func.attr
            if (position == 0) != known_only:
                return None  # parse_known_args gives (namespace, extras); the others the namespace itself
            return self._parse(node, scope, at, block, known_only)
        if isinstance(func, ast.Name) and position is None:
            # `get_args()` or `get_args(argv)` passing the command line on; `get_args(["--x", "y"])` parses that list.
            returned = self._returned(node, scope)
            return self._namespace(*returned, depth + 1) if returned is not None else None
        return None

    def _parse(self, call: ast.Call, scope: Scope, at: Position, block: tuple[int, ...], known_only: bool) -> dict[str, Passed | None] | None:
        if id(call) in self._parsed:
            return self._parsed[id(call)]
        self._parsed[id(call)] = None
        argv = self.inputs.argv
        parser = self._parser(call, scope, at, block)
        if argv is None or parser is None or not self._reads_command_line(call, scope):
            return None
        specs = self._arguments(parser)
        if specs is None:
            return None
        keywords = {k.arg: k.value for k in parser.keywords if k.arg}
        if any(k.arg is None for k in parser.keywords) or "parents" in keywords:
            return None
        if "prefix_chars" in keywords and _const_text(keywords["prefix_chars"]) != "-":
            return None
        abbrev = keywords.get("allow_abbrev")
        help_flag = keywords.get("add_help")
        result = parse_command_line(
            specs,
            argv,
            known_only=known_only,
            allow_abbrev=not (isinstance(abbrev, ast.Constant) and abbrev.value is False),
            add_help=not (isinstance(help_flag, ast.Constant) and help_flag.value is False),
        )
        self._parsed[id(call)] = result
        return result

    def _parser(self, call: ast.Call, scope: Scope, at: Position, block: tuple[int, ...]) -> ast.Call | None:
        """The ``argparse.ArgumentParser(...)`` call a ``parser.parse_args()`` call is made on."""
        if not isinstance(call.func, ast.Attribute):
            return None
        followed = self._follow(call.func.value, scope, at, block)
        if followed is not None and isinstance(followed[0], ast.Call) and self.qualname(followed[0].func) != "argparse.ArgumentParser":
            returned = self._returned(followed[0], followed[1])  # `build_parser().parse_args()`
            followed = self._follow(*returned) if returned is not None else None
        if followed is None:
            return None
        node = followed[0]
        if isinstance(node, ast.Call) and self.qualname(node.func) == "argparse.ArgumentParser":
            return node
        return None

    def _receiver_is(self, parser: ast.Call, node: ast.expr, scope: Scope, at: Position, block: tuple[int, ...], groups: bool) -> bool:
        followed = self._follow(node, scope, at, block)
        if followed is None:
            return False
        found = followed[0]
        if found is parser:
            return True
        if groups and isinstance(found, ast.Call) and isinstance(found.func, ast.Attribute) and found.func.attr in _GROUP_METHODS:
            return self._receiver_is(parser, found.func.value, *followed[1:], groups=False)
        return False

    def _arguments(self, parser: ast.Call) -> list[ArgSpec] | None:
        """The arguments declared on ``parser`` (and its groups); None when it has sub-commands or an unreadable one."""
        if self.index is None:
            return None
        for call, scope, at, block in self.index.method_calls("add_subparsers"):
            if isinstance(call.func, ast.Attribute) and self._receiver_is(parser, call.func.value, scope, at, block, groups=False):
                return None
        specs: list[ArgSpec] = []
        for call, scope, at, block in self.index.method_calls("add_argument"):
            if not isinstance(call.func, ast.Attribute) or not self._receiver_is(parser, call.func.value, scope, at, block, groups=True):
                continue
            spec = arg_spec(call)
            if spec is None:
                return None
            specs.append(spec)
        return specs

    def _reads_command_line(self, call: ast.Call, scope: Scope) -> bool:
        """Whether ``parse_args(...)`` parses the process's command line: no argument, None, ``sys.argv[1:]``, or a
        parameter of the enclosing function that defaults to None (``def main(argv=None)``)."""
        keyword = next((k.value for k in call.keywords if k.arg == "args"), None)
        given = call.args[0] if call.args else keyword
        return given is None or self._is_command_line(given, scope)

    def _is_command_line(self, given: ast.expr, scope: Scope) -> bool:
        """None, ``sys.argv[1:]``, or a parameter of the enclosing function that defaults to None."""
        if isinstance(given, ast.Constant) and given.value is None:
            return True
        if isinstance(given, ast.Subscript) and self.qualname(given.value) == "sys.argv" and isinstance(given.slice, ast.Slice):
            lower, upper = given.slice.lower, given.slice.upper
            return isinstance(lower, ast.Constant) and lower.value == 1 and upper is None and given.slice.step is None
        if isinstance(given, ast.Name) and isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if len(scope.bindings.get(given.id, [])) != 1:
                return False  # reassigned in the function
            arguments = scope.node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
            pairs = [*zip(positional, defaults, strict=True), *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)]
            return any(arg.arg == given.id and isinstance(default, ast.Constant) and default.value is None for arg, default in pairs)
        return False

    def _binop(self, node: ast.BinOp, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        left = self.value(node.left, scope, at, block, depth)
        if isinstance(node.op, ast.Mod) and left is not None:
            return self._percent(left, node.right, scope, at, block, depth)
        right = self.value(node.right, scope, at, block, depth)
        if left is None and right is None:
            return None
        if isinstance(node.op, ast.Add):
            return _only_unknown((UNKNOWN if left is None else left) + (UNKNOWN if right is None else right))
        if isinstance(node.op, ast.Div):  # pathlib: Path(a) / "b"
            return joined([left, right])
        return None

    def _percent(self, template: str, right: ast.expr, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        """``"%s/src" % base``: plain ``%s`` fields take the known values of the operands, the others stay unknown."""
        operands = right.elts if isinstance(right, ast.Tuple) else [right]
        values = [None if isinstance(e, ast.Starred) else self.value(e, scope, at, block, depth) for e in operands]
        index = 0

        def field_value(match: re.Match[str]) -> str:
            nonlocal index
            text = match.group(0)
            if text == "%%":
                return "%"
            value = values[index] if index < len(values) and "(" not in text and "*" not in text else None
            index += 1
            return value if value is not None and text == "%s" else UNKNOWN

        return _only_unknown(_PERCENT_RE.sub(field_value, template))

    def _call(self, node: ast.Call, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        func = node.func
        if any(isinstance(a, ast.Starred) for a in node.args):
            return None
        name = self.qualname(func)
        args = node.args
        if name in ("os.path.join", "posixpath.join"):
            return joined([self.value(a, scope, at, block, depth) for a in args]) if args else None
        if name in ("os.path.dirname", "posixpath.dirname") and len(args) == 1:
            inner = self.value(args[0], scope, at, block, depth)
            return None if inner is None else dirname(inner)
        if name in ("os.path.abspath", "os.path.realpath", "os.path.normpath", "os.fspath", "str") and len(args) == 1:
            inner = self.value(args[0], scope, at, block, depth)
            if name == "os.path.normpath" and is_known(inner) and inner is not None:
                return posixpath.normpath(inner)
            return inner
        if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"):
            return joined([self.value(a, scope, at, block, depth) for a in args]) if args else "."
        if name in ("os.getcwd", "pathlib.Path.cwd"):
            return CWD
        if (name in _WIDGET_CALLS or name in _ENV_CALLS) and args:
            key = _const_text(args[0]) if isinstance(args[0], ast.Constant) and isinstance(args[0].value, str) else None
            if key is None:
                return None
            # A default (``getenv("X", "dev")``) is not the value: a run can set it; only what the job passes is.
            return self._read((self.inputs.widgets if name in _WIDGET_CALLS else self.inputs.env).get(key))
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method in ("resolve", "absolute", "as_posix") and not args:
                return self.value(func.value, scope, at, block, depth)
            if method == "joinpath":
                base = self.value(func.value, scope, at, block, depth)
                return joined([base, *(self.value(a, scope, at, block, depth) for a in args)])
            if method == "format":
                template = self.value(func.value, scope, at, block, depth)
                return None if template is None else self._format(template, node, scope, at, block, depth)
            if method == "join" and len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
                separator = self.value(func.value, scope, at, block, depth)
                if separator is not None and is_known(separator):
                    items = [self.value(e, scope, at, block, depth) for e in args[0].elts]
                    return _only_unknown(separator.join(UNKNOWN if i is None else i for i in items))
        return None

    def _format(self, template: str, node: ast.Call, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        positional = [self.value(a, scope, at, block, depth) for a in node.args]
        named = {k.arg: self.value(k.value, scope, at, block, depth) for k in node.keywords if k.arg}
        counter = 0

        def field_value(match: re.Match[str]) -> str:
            nonlocal counter
            inner = match.group(1)
            if inner.startswith("{"):
                return "{"
            key = inner.split("!", 1)[0].split(":", 1)[0]
            value: str | None
            if key == "":
                value = positional[counter] if counter < len(positional) else None
                counter += 1
            elif key.isdigit():
                index = int(key)
                value = positional[index] if index < len(positional) else None
            else:
                value = named.get(key)
            return UNKNOWN if value is None else value

        text = re.sub(r"\{(\{|[^{}]*)\}", field_value, template.replace("}}", "\x00"))
        return _only_unknown(text.replace("\x00", "}"))

    def binding(self, name: str, scope: Scope, at: Position, block: tuple[int, ...]) -> tuple[Binding, Scope] | None:
        """The binding of ``name`` a use at ``at`` sees, and its scope; None when it cannot be told."""
        current: Scope | None = scope
        innermost = True
        while current is not None:
            bindings = current.bindings.get(name)
            if bindings:
                if innermost:
                    before = [b for b in bindings if b.end <= at]
                    if not before:
                        return None  # used before it is bound here
                    chosen = before[-1]
                    # A binding in a branch that does not enclose the use may not have happened.
                    if len(bindings) > 1 and chosen.block != block[: len(chosen.block)]:
                        return None
                else:
                    chosen = bindings[-1]  # functions run after the code around them has bound their names
                    if len(bindings) > 1 and any(b.block != chosen.block for b in bindings):
                        return None
                return chosen, current
            current = current.lookup_parent()
            innermost = False
        return None

    def name(self, name: str, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
        found = self.binding(name, scope, at, block)
        if found is None:
            return SCRIPT if name == "__file__" and not _bound_anywhere(name, scope) else None
        chosen, current = found
        return self.value(chosen.value, current, chosen.end, chosen.block, depth)



def _bound_anywhere(name: str, scope: Scope) -> bool:
    current: Scope | None = scope
    while current is not None:
        if name in current.bindings:
            return True
        current = current.lookup_parent()
    return False
