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

UNKNOWN = "\x01"
SCRIPT = "\x02"
SCRIPT_DIR = "\x03"
CWD = "\x04"
MARKERS = (SCRIPT, SCRIPT_DIR, CWD)
_MAX_DEPTH = 60
_PERCENT_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")

Position = tuple[int, int]  # (line, column) in the Python text
# The dotted name an expression refers to through the module's imports (``os.path.join``), or None.
QualnameFn = Callable[[ast.expr], "str | None"]


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


class Evaluator:
    """Evaluates string expressions of one module. ``qualname`` names what a call refers to (``os.path.join``)."""

    def __init__(self, qualname: QualnameFn) -> None:
        self.qualname = qualname
        self._active: set[int] = set()

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
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.value(node.value, scope, at, block, depth)
            return None if inner is None else dirname(inner)
        return None

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

    def name(self, name: str, scope: Scope, at: Position, block: tuple[int, ...], depth: int) -> str | None:
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
                return self.value(chosen.value, current, chosen.end, chosen.block, depth)
            current = current.lookup_parent()
            innermost = False
        return SCRIPT if name == "__file__" else None

