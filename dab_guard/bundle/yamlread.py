"""Read one YAML file the way the Databricks CLI does, keeping every position.

The CLI reads YAML with go-yaml v3 and its own scalar rules: YAML 1.2 scalars (``yes``/``on``/``off`` stay strings,
``0755`` is the decimal 755), anchors, aliases and ``<<`` merge keys, string keys only, no custom tags. PyYAML only
composes the node graph here (with libyaml when it is installed, and no implicit type resolution); the conversion
to values and positions is ours, so nothing in a file can construct a Python object.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from dab_guard.bundle.located import YMap, YSeq, file_id, pack
from dab_guard.finding import Loc, Severity

_DEFAULT_SCALAR_TAG = BaseResolver.DEFAULT_SCALAR_TAG
_DEFAULT_TAGS: dict[type, str] = {
    ScalarNode: BaseResolver.DEFAULT_SCALAR_TAG,
    SequenceNode: BaseResolver.DEFAULT_SEQUENCE_TAG,
    MappingNode: BaseResolver.DEFAULT_MAPPING_TAG,
}

try:  # libyaml's parser and composer, several times faster than the pure-Python one
    from yaml._yaml import CParser as _CParser

    class _ComposeLoader(_CParser, BaseResolver):  # type: ignore[misc,unused-ignore]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            BaseResolver.__init__(self)

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            # Untagged nodes get their kind's default tag; scalars are typed later by YAML 1.2 rules. This skips
            # PyYAML's resolver machinery, called once per node.
            return _DEFAULT_TAGS.get(kind, _DEFAULT_SCALAR_TAG)

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    HAVE_LIBYAML = False


class _PyComposeLoader(Reader, Scanner, Parser, Composer, BaseResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_YAML_TAGS = "tag:yaml.org,2002:"
# The standard tags a file may carry; anything else (``!Ref``, ``!!python/object/apply:os.system``) is refused.
_KNOWN_TAGS = frozenset(
    _YAML_TAGS + kind for kind in ("str", "int", "float", "bool", "null", "timestamp", "binary", "map", "seq", "merge")
)

_INT_RE = re.compile(r"[-+]?[0-9]+\Z")
_OCT_RE = re.compile(r"0o[0-7]+\Z")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_INF = frozenset((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"))
_NEG_INF = frozenset(("-.inf", "-.Inf", "-.INF"))
_NAN = frozenset((".nan", ".NaN", ".NAN"))


def resolve_plain(text: str) -> Any:
    """A plain (unquoted) scalar under the YAML 1.2 core schema, as the CLI reads it."""
    if not text:
        return None
    first = text[0]
    if first in "~nN" and text in _NULLS:
        return None
    if first in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if first.isdigit() or first in "-+.":
        if _INT_RE.match(text):
            # The CLI trims leading zeros so that 0755 is 755, not octal.
            sign = -1 if text[0] == "-" else 1
            digits = text.lstrip("+-").lstrip("0") or "0"
            return sign * int(digits)
        if _OCT_RE.match(text):
            return int(text[2:], 8)
        if _HEX_RE.match(text):
            return int(text[2:], 16)
        if _FLOAT_RE.match(text):
            return float(text)
        if text in _INF:
            return math.inf
        if text in _NEG_INF:
            return -math.inf
        if text in _NAN:
            return math.nan
    return text


@dataclass(frozen=True)
class Limits:
    """Bounds that no real bundle reaches, so hostile input costs bounded time and memory."""

    max_file_bytes: int = 16 * 1024 * 1024
    # Values produced from one file, aliases expanded. A million is ten times the largest bundle file seen, and keeps
    # the parsed tree of one file under about a gigabyte.
    max_nodes: int = 1_000_000
    max_depth: int = 200
    # Python text (a script, or a notebook's code cells) parsed with ``ast``: parsing costs about half a second of CPU
    # per MiB, and hand-written job code stays far below this.
    max_python_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """Something wrong with the text of a file, found while reading it."""

    rule: str
    message: str
    loc: Loc
    severity: Severity = Severity.ERROR


# How a user lifts a limit that a real file reaches.
_RAISE = " (raise {} under [tool.dab-guard.limits] to check it)"


class _LimitHit(Exception):
    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.node = node


# Whether a scalar's text could take part in a credential finding (the scanner's quick test, handed in by the caller).
Prescan = Callable[[str], bool]


@dataclass
class YamlDocument:
    """The result of reading one file: its value (``None`` when unreadable), anchors-only keys, and problems."""

    value: Any
    problems: list[Problem]
    anchor_keys: frozenset[str] = frozenset()  # top-level keys whose value carries a YAML anchor
    # False when the loader's pre-scan found no scalar that could take part in a credential finding.
    may_hold_secrets: bool = True


_INTERNED_LENGTH = 120


class _Converter:
    def __init__(self, file: str, text: str, limits: Limits, prescan: Prescan | None) -> None:
        self.file = file
        self.text = text
        self.limits = limits
        self.problems: list[Problem] = []
        self.count = 0
        self.file_id = file_id(file)
        self.prescan = prescan
        self.may_hold_secrets = prescan is None  # nothing to tell by: every file may hold one

    def loc(self, node: Node) -> Loc:
        mark = node.start_mark
        return Loc(self.file, mark.line + 1, mark.column + 1)

    def code(self, node: Node) -> int | None:
        """The node's position packed (see dab_guard.bundle.located), or None when it does not fit."""
        mark = node.start_mark
        return pack(self.file_id, mark.line + 1, mark.column + 1)

    def convert(self, node: Node, depth: int) -> Any:
        self.count += 1
        if self.count > self.limits.max_nodes:
            raise _LimitHit(
                f"more than {self.limits.max_nodes} values after expanding aliases (an alias bomb?){_RAISE.format('max-nodes')}", node
            )
        if depth > self.limits.max_depth:
            raise _LimitHit(f"nesting deeper than {self.limits.max_depth} levels{_RAISE.format('max-depth')}", node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, SequenceNode):
            seq = YSeq()
            self.check_tag(node, "seq")
            for item in node.value:
                code = self.code(item)
                if code is None:
                    seq.add(self.convert(item, depth + 1), self.loc(item))
                else:
                    seq.add_packed(self.convert(item, depth + 1), code)
            return seq
        raise _LimitHit(f"unsupported YAML node {type(node).__name__}", node)  # pragma: no cover

    def check_tag(self, node: Node, kind: str) -> None:
        tag = node.tag or ""
        if tag in _KNOWN_TAGS or tag in ("!", "?"):
            return
        self.problems.append(Problem("DG001", f"unknown tag {tag} (the Databricks CLI rejects custom tags)", self.loc(node)))

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        text = node.value
        if len(text) <= _INTERNED_LENGTH:
            text = sys.intern(text)  # the same values recur in every job of a big bundle: keep one copy of each
        if not self.may_hold_secrets and self.prescan is not None and self.prescan(text):
            self.may_hold_secrets = True
        if tag == _STR:
            # A plain scalar has no style: None from PyYAML's parser, "" from libyaml's.
            return resolve_plain(text) if not node.style else text
        if tag not in _KNOWN_TAGS:
            self.check_tag(node, "scalar")
            return text
        kind = tag[len(_YAML_TAGS):]
        value = resolve_plain(text)
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "null" and value is None:
            return None
        if kind in ("str", "timestamp", "binary"):
            return text
        self.problems.append(Problem("DG001", f"cannot read {text!r} as !!{kind}", self.loc(node)))
        return text

    def mapping(self, node: MappingNode, depth: int) -> YMap:
        self.check_tag(node, "map")
        result = YMap()
        merged: list[tuple[Node, Any]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style:
                if merged:
                    self.problems.append(
                        Problem("DG005", "a second '<<' merge key in the same mapping (the Databricks CLI crashes on it); merge a list instead: <<: [*a, *b]", self.loc(key_node))
                    )
                merged.append((value_node, self.convert(value_node, depth + 1)))
                continue
            key = self.key(key_node)
            if key is None:
                continue
            if key in result:
                first = result.key_locs[key]
                self.problems.append(
                    Problem(
                        "DG005",
                        f"duplicate key '{key}' (first at line {first.line}); the Databricks CLI silently keeps the last",
                        self.loc(key_node),
                        Severity.WARNING,  # the CLI accepts the file and deploys the last value: a mistake, not a failure
                    )
                )
                del result[key]
            key_code, val_code = self.code(key_node), self.code(value_node)
            if key_code is None or val_code is None:
                result.put(key, self.convert(value_node, depth + 1), self.loc(key_node), self.loc(value_node))
            else:
                result.put_packed(key, self.convert(value_node, depth + 1), key_code, val_code)
        if merged:
            result = self.apply_merge(result, merged)
        return result

    def key(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode):
            if isinstance(node.value, str) and len(node.value) <= _INTERNED_LENGTH:
                node.value = sys.intern(node.value)
            if not self.may_hold_secrets and self.prescan is not None and self.prescan(str(node.value)):
                self.may_hold_secrets = True
            if node.tag not in _KNOWN_TAGS:
                self.check_tag(node, "key")
                return str(node.value)
            # The CLI accepts string keys (and a plain null, read as text); a key such as 1, 1.5 or true is an error.
            typed = resolve_plain(node.value) if node.tag == _STR and not node.style else None
            if node.tag in (_INT, _FLOAT, _BOOL) or (typed is not None and not isinstance(typed, str)):
                self.problems.append(
                    Problem("DG001", f"the key {node.value} is not a string (the Databricks CLI refuses it); quote it", self.loc(node))
                )
            return str(node.value)
        self.problems.append(Problem("DG001", "mapping keys must be strings", self.loc(node)))
        return None

    def apply_merge(self, own: YMap, merged: list[tuple[Node, Any]]) -> YMap:
        """``<<`` merge keys: the mapping's own keys win, then earlier merged mappings over later ones."""
        sources: list[YMap] = []
        for node, value in merged:
            if isinstance(value, YMap):
                sources.append(value)
            elif isinstance(value, YSeq) and all(isinstance(v, YMap) for v in value):
                sources.extend(value)
            else:
                self.problems.append(Problem("DG001", "a << merge key needs a mapping or a list of mappings", self.loc(node)))
        result = YMap()
        for source in sources:
            for key in source:
                if key not in result and key not in own:
                    result.put(key, source[key], source.key_locs.get(key), source.val_locs.get(key))
        for key in own:
            result.put(key, own[key], own.key_locs.get(key), own.val_locs.get(key))
        return result


def _loader(text: str) -> _ComposeLoader | _PyComposeLoader:
    return _ComposeLoader(text) if HAVE_LIBYAML else _PyComposeLoader(text)


def compose_node(text: str) -> Node | None:
    """The node graph of ``text`` (tags only from the text, no implicit typing); raises ``yaml.YAMLError``."""
    loader = _loader(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return,unused-ignore]
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def _node_bound(text: str) -> int:
    """An upper bound on the number of nodes ``text`` composes to, counted at C speed.

    Every node past the root needs an indicator: a mapping entry ``:`` or ``?`` (two nodes), a block item ``-``, a
    flow separator ``,`` or a flow opening ``[`` / ``{`` (a collection and its first entry).
    """
    indicators = sum(text.count(c) for c in ":?-,[{")
    return 1 + 3 * indicators


def _count_nodes(text: str, cap: int) -> int:
    """The number of nodes in ``text`` (an alias counts once), stopping past ``cap``; parse errors end the count.

    Only events are produced, one at a time, so a file full of tiny values costs time but no memory.
    """
    loader = _loader(text)
    count = 0
    node_events = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
    try:
        while count <= cap and loader.check_event():
            if isinstance(loader.get_event(), node_events):
                count += 1
    except (yaml.YAMLError, RecursionError):
        pass
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()
    return count


def _alias_problem(root: Node, limits: Limits) -> tuple[str, Node] | None:
    """Why the node graph cannot be expanded (an alias cycle, or too many values once aliases are expanded).

    The composer shares one node per anchor, so "billion laughs" is a small graph; its expanded size is summed
    bottom-up, once per distinct node, without building anything. Iterative: the graph can be deep.
    """
    cap = limits.max_nodes
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path from the root
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children: list[Node]
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            children = []
        if finished:
            open_nodes.discard(key)
            sizes[key] = min(cap + 1, 1 + sum(sizes[id(c)] for c in children))
            if sizes[key] > cap:
                message = f"more than {cap} values after expanding aliases (an alias bomb?){_RAISE.format('max-nodes')}"
                return f"YAML too large to check: {message}", node
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return "an alias refers to a value that contains it (a cycle)", child
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def read_yaml(text: str, file: str, limits: Limits = Limits(), prescan: Prescan | None = None) -> YamlDocument:
    """Parse ``text`` (the contents of ``file``) into located values and problems; never raises on bad input.

    ``prescan`` (the credential scanner's quick test of one scalar's text) sets ``may_hold_secrets``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return YamlDocument(None, [Problem("DG001", "the file contains a NUL byte; it is not YAML text", Loc(file, line, 1))])
    if len(text) > limits.max_file_bytes:
        return YamlDocument(None, [Problem("DG001", f"YAML too large to check: more than {limits.max_file_bytes} bytes{_RAISE.format('max-file-bytes')}", Loc(file, 1, 1))])
    # Composing builds every node at once; count them first when the text could hold more than the limit allows.
    if _node_bound(text) > limits.max_nodes and _count_nodes(text, limits.max_nodes) > limits.max_nodes:
        message = f"YAML too large to check: more than {limits.max_nodes} values{_RAISE.format('max-nodes')}"
        return YamlDocument(None, [Problem("DG001", message, Loc(file, 1, 1))])
    try:
        node = compose_node(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(file, mark.line + 1, mark.column + 1) if mark else Loc(file, 1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.context}: {exc.problem}" if "while" not in exc.context else f"{exc.problem} ({exc.context})"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            what += "; YAML cannot be indented with tabs"
        return YamlDocument(None, [Problem("DG001", f"invalid YAML: {what}", loc)])
    except yaml.YAMLError as exc:
        return YamlDocument(None, [Problem("DG001", f"invalid YAML: {_one_line(str(exc))}", Loc(file, 1, 1))])
    except RecursionError:
        return YamlDocument(None, [Problem("DG001", "YAML nested too deeply to read", Loc(file, 1, 1))])
    if node is None:
        return YamlDocument(None, [])
    converter = _Converter(file, text, limits, prescan)
    if "&" in text:  # no anchor, no alias
        expansion = _alias_problem(node, limits)
        if expansion is not None:
            message, at = expansion
            return YamlDocument(None, [Problem("DG001", message, converter.loc(at))])
    try:
        value = converter.convert(node, 0)
    except _LimitHit as exc:
        return YamlDocument(None, [*converter.problems, Problem("DG001", f"YAML too large to check: {exc}", converter.loc(exc.node))])
    except RecursionError:
        return YamlDocument(None, [*converter.problems, Problem("DG001", "YAML nested too deeply to read", Loc(file, 1, 1))])
    anchors: set[str] = set()
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            index = value_node.start_mark.index
            if isinstance(key_node, ScalarNode) and text[index : index + 1] == "&":
                anchors.add(key_node.value)
    return YamlDocument(value, converter.problems, frozenset(anchors), converter.may_hold_secrets)


def _one_line(text: str) -> str:
    return " ".join(text.split())
