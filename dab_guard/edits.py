"""Text edits for `dab-guard fix`: where a value is written, and the smallest change of text that repairs it.

Rules describe their fixes with these helpers; ``dab_guard.fix`` applies them. Every helper works on the text of
a file as it was read, at the positions the loader recorded (``YMap.key_locs`` / ``val_locs``, ``ast`` nodes), and
returns None when it cannot make the change without guessing: a value built from several pieces, a flow mapping
it would have to reflow, a file that is not part of the bundle. A declined fix leaves the finding to the user.

YAML nodes are composed again (never constructed) to learn where a value ends and how a mapping is written; the
result is kept per loaded file.
"""

from __future__ import annotations

import ast
import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dab_guard.bundle.loader import Bundle, SourceFile
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import REFERENCE_RE, Target
from dab_guard.bundle.yamlread import compose_node, resolve_plain
from dab_guard.cache import per_object
from dab_guard.finding import Loc, TextEdit
from dab_guard.jobs.files import cache_for
from dab_guard.python.sources import PythonSource

# Line breaks as each reader counts them: YAML (PyYAML and libyaml) also breaks at NEL, LS and PS; Python does not.
YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
PYTHON_BREAKS = re.compile(r"\r\n|\r|\n")
BOM = "\ufeff"

# A value that YAML reads back as the same string when written without quotes, in block and in flow context.
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*\Z")

_STR_TAG = "tag:yaml.org,2002:str"

# Working out fixes costs a second parse of the files with findings: only `dab-guard fix` asks for it.
_COLLECTING: ContextVar[bool] = ContextVar("dab_guard_collecting_fixes", default=False)


@contextmanager
def collecting_fixes(enabled: bool = True) -> Iterator[None]:
    """While active (and ``enabled``), the helpers below build edits; otherwise they decline at once."""
    token = _COLLECTING.set(enabled)
    try:
        yield
    finally:
        _COLLECTING.reset(token)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SourceText:
    """The text of one file with its line starts, in the coordinates of :class:`Loc`.

    Readers do not count a leading byte order mark, so on line 1 a column is shifted past it.
    """

    def __init__(self, rel: str, text: str, basis: str, breaks: re.Pattern[str] = YAML_BREAKS) -> None:
        self.rel = rel
        self.text = text
        self.basis = basis
        self.bom = 1 if text.startswith(BOM) else 0
        self.starts = [0, *(m.end() for m in breaks.finditer(text))]
        first = breaks.search(text)
        self.newline = first.group(0) if first else "\n"

    def offset(self, line: int, col: int) -> int:
        """The index in :attr:`text` of 1-based (``line``, ``col``); ValueError when it is not in the text."""
        if not 1 <= line <= len(self.starts) or col < 1:
            raise ValueError(f"{self.rel}:{line}:{col} is not in the file")
        index = self.starts[line - 1] + col - 1 + (self.bom if line == 1 else 0)
        if index > self.line_end(line, with_break=True):
            raise ValueError(f"{self.rel}:{line}:{col} is not in the file")
        return index

    def position(self, index: int) -> tuple[int, int]:
        """(line, col) of index ``index``."""
        line = bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1 - (self.bom if line == 1 else 0)

    def line_end(self, line: int, with_break: bool = False) -> int:
        """The index just past line ``line`` (with its line break, or before it)."""
        end_with = self.starts[line] if line < len(self.starts) else len(self.text)
        if with_break:
            return end_with
        end = end_with
        while end > self.starts[line - 1] and self.text[end - 1] in "\r\n\x85\u2028\u2029":
            end -= 1
        return end

    def edit(self, start: int, end: int, new_text: str) -> TextEdit:
        start_line, start_col = self.position(start)
        end_line, end_col = self.position(end)
        return TextEdit(self.rel, start_line, start_col, end_line, end_col, new_text, self.basis)


# --- YAML ---------------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    mapping: MappingNode
    key: ScalarNode
    value: Node


@dataclass(frozen=True)
class Change:
    """A text edit and the anchors of what it changes (see :class:`dab_guard.finding.Fix`)."""

    edit: TextEdit
    anchors: tuple[str, ...]


class YamlText:
    """One YAML file of the bundle: its text and its composed nodes, indexed by where they start."""

    def __init__(self, source: SourceText, root: Node | None) -> None:
        self.source = source
        self.entries: dict[tuple[int, int], _Entry] = {}  # key position -> its mapping entry
        self.scalars: dict[tuple[int, int], ScalarNode] = {}
        self.holder: dict[int, _Entry] = {}  # id of a value node -> the entry it is the value of
        self.shared: set[int] = set()  # ids of nodes reached more than once (anchored and aliased)
        seen: set[int] = set()
        stack = [root] if root is not None else []
        while stack:
            node = stack.pop()
            if id(node) in seen:
                self.shared.add(id(node))
                continue
            seen.add(id(node))
            if isinstance(node, ScalarNode):
                self.scalars.setdefault((node.start_mark.line + 1, node.start_mark.column + 1), node)
            elif isinstance(node, MappingNode):
                for key, value in node.value:
                    if isinstance(key, ScalarNode):
                        entry = _Entry(node, key, value)
                        self.entries[(key.start_mark.line + 1, key.start_mark.column + 1)] = entry
                        self.holder.setdefault(id(value), entry)
                    stack.extend((key, value))
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)

    def index(self, mark: yaml.Mark) -> int:
        return self.source.offset(mark.line + 1, mark.column + 1)

    def loc(self, node: Node) -> Loc:
        return Loc(self.source.rel, node.start_mark.line + 1, node.start_mark.column + 1)

    def key_anchors(self, mapping: MappingNode) -> tuple[str, ...]:
        """Anchors for every key of ``mapping``: a target uses the mapping when it uses any of them."""
        return tuple(key_anchor(self.loc(key)) for key, _ in mapping.value if isinstance(key, ScalarNode) and not _is_merge_key(key))

    def has_shared(self, node: Node) -> bool:
        """Whether ``node`` or a node inside it is anchored and used again elsewhere."""
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in self.shared:
                return True
            if isinstance(current, MappingNode):
                stack.extend(n for pair in current.value for n in pair)
            elif isinstance(current, SequenceNode):
                stack.extend(current.value)
        return False


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "<<" and not node.style


def yaml_text(bundle: Bundle, rel: str) -> YamlText | None:
    """The composed text of configuration file ``rel`` (None when it is not a YAML file of the bundle)."""
    source = bundle.files.get(rel)
    if not _COLLECTING.get() or source is None or not source.text or rel.endswith(".json"):
        return None
    return per_object(source, "fix-yaml-text", lambda: _compose(source))


def _compose(source: SourceFile) -> YamlText | None:
    text = source.text[1:] if source.text.startswith(BOM) else source.text
    try:  # the reader's own composer, so positions and tags are the loader's
        root = compose_node(text)
    except (yaml.YAMLError, RecursionError):
        return None
    return YamlText(SourceText(source.rel, source.text, digest(source.text.encode("utf-8"))), root)


def _at(loc: Loc) -> tuple[int, int]:
    return (loc.line, loc.col)


def _end_line(doc: YamlText, node: Node, fallback: int) -> int:
    """The last line that holds text of ``node`` (block collections end where the next token starts)."""
    if isinstance(node, ScalarNode):
        if node.start_mark.index == node.end_mark.index:
            return fallback  # an empty value: `key:` with nothing after it
        if node.style in ("|", ">"):
            end = doc.index(node.end_mark)
            text = doc.source.text
            while end > 0 and text[end - 1] in " \t\r\n\x85\u2028\u2029":
                end -= 1
            return doc.source.position(max(end - 1, 0))[0]
        return node.end_mark.line + 1
    if getattr(node, "flow_style", False):
        return node.end_mark.line + 1
    if isinstance(node, MappingNode) and node.value:
        key, value = node.value[-1]
        return _end_line(doc, value, key.end_mark.line + 1)
    if isinstance(node, SequenceNode) and node.value:
        return _end_line(doc, node.value[-1], node.value[-1].start_mark.line + 1)
    return max(node.start_mark.line + 1, fallback)


def _is_comment_or_blank(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


def quoted_like(node: ScalarNode, value: str) -> str:
    """``value`` written in the quoting style of ``node`` (plain only when it reads back as the same string)."""
    if node.style == "'":
        return "'" + value.replace("'", "''") + "'"
    if node.style == '"' or not (_PLAIN_SAFE.match(value) and resolve_plain(value) == value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def replace_scalar(bundle: Bundle, loc: Loc, new_text: str) -> TextEdit | None:
    """Replace the one-line scalar that starts at ``loc`` with ``new_text`` (YAML text, already quoted)."""
    doc = yaml_text(bundle, loc.file)
    node = doc.scalars.get(_at(loc)) if doc else None
    if doc is None or node is None or node.style in ("|", ">") or node.start_mark.line != node.end_mark.line:
        return None
    return doc.source.edit(doc.index(node.start_mark), doc.index(node.end_mark), new_text)


def replace_string(bundle: Bundle, loc: Loc, value: str) -> TextEdit | None:
    """Replace the string scalar at ``loc`` with ``value``, quoted as it was."""
    doc = yaml_text(bundle, loc.file)
    node = doc.scalars.get(_at(loc)) if doc else None
    if node is None:
        return None
    return replace_scalar(bundle, loc, quoted_like(node, value))


def remove_entry(bundle: Bundle, key_loc: Loc) -> Change | None:
    """Delete the lines of the block mapping entry whose key starts at ``key_loc`` (with its end-of-line comment).

    When the entry is the only one of its mapping, the entry holding that mapping goes instead (a target override
    ``new_cluster: {node_type_id: x}`` loses its ``new_cluster:`` too), up to a mapping that keeps other keys.
    Declined in a flow mapping, when the key shares its line with something else (``- key: v``), in a mapping with a
    ``<<`` merge key (the merged value would come back), and for text that an alias elsewhere uses.
    """
    doc = yaml_text(bundle, key_loc.file)
    entry = doc.entries.get(_at(key_loc)) if doc else None
    if doc is None or entry is None:
        return None
    anchors = [key_anchor(key_loc)]
    while len(entry.mapping.value) < 2:
        parent = doc.holder.get(id(entry.mapping))
        if parent is None:
            return None
        entry = parent
        anchors.append(key_anchor(doc.loc(entry.key)))
    mapping = entry.mapping
    if mapping.flow_style or any(_is_merge_key(key) for key, _ in mapping.value) or doc.has_shared(entry.value):
        return None
    source = doc.source
    first = entry.key.start_mark.line + 1
    if source.text[source.starts[first - 1] : doc.index(entry.key.start_mark)].strip():
        return None
    last = _end_line(doc, entry.value, first)
    after = source.text[doc.index(entry.value.end_mark) : source.line_end(last)] if entry.value.end_mark.line + 1 == last else ""
    if not _is_comment_or_blank(after):
        return None
    return Change(source.edit(source.starts[first - 1], source.line_end(last, with_break=True), ""), tuple(anchors))


# An entry to add: ``(key, value)`` where the value is YAML text for a scalar, or nested entries for a mapping.
NewEntry = tuple[str, "str | Sequence[NewEntry]"]


def add_entries(bundle: Bundle, key_loc: Loc, entries: Sequence[NewEntry], flow: bool = True) -> Change | None:
    """Add ``entries`` at the end of the mapping that holds the key written at ``key_loc``.

    A block mapping gets new lines with its own indentation and line endings; a flow mapping (with ``flow``) gets
    ``, key: value`` after its last value. Declined when one of the keys is already written there.
    """
    doc = yaml_text(bundle, key_loc.file)
    entry = doc.entries.get(_at(key_loc)) if doc else None
    if doc is None or entry is None:
        return None
    edit = _add_to_mapping(doc, entry.mapping, entries, flow)
    return Change(edit, doc.key_anchors(entry.mapping)) if edit else None


def add_to_value(bundle: Bundle, key_loc: Loc, entries: Sequence[NewEntry]) -> Change | None:
    """Add ``entries`` to the mapping that is the value of the key written at ``key_loc`` (``spark_conf:``, or
    ``queue: {}``); None when that value is not a mapping written there."""
    doc = yaml_text(bundle, key_loc.file)
    entry = doc.entries.get(_at(key_loc)) if doc else None
    if doc is None or entry is None or not isinstance(entry.value, MappingNode):
        return None
    edit = _add_to_mapping(doc, entry.value, entries, True)
    return Change(edit, (key_anchor(key_loc), *doc.key_anchors(entry.value))) if edit else None


def rename_key(bundle: Bundle, key_loc: Loc, old: str, new: str) -> Change | None:
    """Rename the key written at ``key_loc`` from ``old`` to ``new``, quoted as it was; None when the mapping
    already has ``new`` or the key there is not ``old``."""
    doc = yaml_text(bundle, key_loc.file)
    entry = doc.entries.get(_at(key_loc)) if doc else None
    if doc is None or entry is None or entry.key.value != old or entry.key.start_mark.line != entry.key.end_mark.line:
        return None
    if any(isinstance(key, ScalarNode) and key.value == new for key, _ in entry.mapping.value):
        return None
    text = quoted_like(entry.key, new)
    return Change(doc.source.edit(doc.index(entry.key.start_mark), doc.index(entry.key.end_mark), text), (key_anchor(key_loc),))


def sibling_key(bundle: Bundle, key_loc: Loc, name: str) -> Loc | None:
    """Where key ``name`` is written in the mapping that holds the key at ``key_loc`` (None when it is not)."""
    doc = yaml_text(bundle, key_loc.file)
    entry = doc.entries.get(_at(key_loc)) if doc else None
    if doc is None or entry is None:
        return None
    for key, _ in entry.mapping.value:
        if isinstance(key, ScalarNode) and key.value == name and not _is_merge_key(key):
            return doc.loc(key)
    return None


def _add_to_mapping(doc: YamlText, mapping: MappingNode, entries: Sequence[NewEntry], flow: bool) -> TextEdit | None:
    written = {key.value for key, _ in mapping.value if isinstance(key, ScalarNode)}
    if any(key in written for key, _ in entries):
        return None
    source = doc.source
    if mapping.flow_style:
        if not flow:
            return None
        text = ", ".join(_flow_entry(key, value) for key, value in entries)
        if not mapping.value:
            opening = doc.index(mapping.start_mark)
            if source.text[opening : opening + 1] != "{":
                return None
            return source.edit(opening + 1, opening + 1, text)
        end = doc.index(mapping.value[-1][1].end_mark)
        return source.edit(end, end, ", " + text)
    if not mapping.value:
        return None
    first_key = mapping.value[0][0]
    indent = first_key.start_mark.column
    last_key, last_value = mapping.value[-1]
    last = _end_line(doc, last_value, last_key.start_mark.line + 1)
    step = _indent_step(doc, mapping, indent)
    newline = source.newline
    lines = "".join(_block_entry(key, value, " " * indent, " " * step, newline) for key, value in entries)
    end = source.line_end(last, with_break=True)
    if end == source.line_end(last):  # the file's last line, without a line break
        return source.edit(end, end, newline + lines[: -len(newline)])
    return source.edit(end, end, lines)


def _indent_step(doc: YamlText, mapping: MappingNode, indent: int) -> int:
    """How far the file indents a nested block mapping: as in this mapping's nested mappings, else as this mapping
    sits under its own key (a 4-space file stays 4-space), else 2."""
    for _, value in mapping.value:
        if isinstance(value, MappingNode) and not value.flow_style and value.value:
            step: int = value.value[0][0].start_mark.column - indent
            if step > 0:
                return step
    parent = doc.holder.get(id(mapping))
    if parent is not None and not parent.mapping.flow_style:
        step = indent - parent.key.start_mark.column
        if step > 0:
            return step
    return 2


def _block_entry(key: str, value: str | Sequence[NewEntry], indent: str, step: str, newline: str) -> str:
    if isinstance(value, str):
        return f"{indent}{key}: {value}{newline}"
    return f"{indent}{key}:{newline}" + "".join(_block_entry(k, v, indent + step, step, newline) for k, v in value)


def _flow_entry(key: str, value: str | Sequence[NewEntry]) -> str:
    if isinstance(value, str):
        return f"{key}: {value}"
    return f"{key}: {{" + ", ".join(_flow_entry(k, v) for k, v in value) + "}"


@dataclass(frozen=True)
class Written:
    """Where a scalar value of the resolved configuration is written, and the anchor that names it."""

    loc: Loc
    anchor: str


def written_value(target: Target, container: YMap | YSeq, key: str | int) -> Written | None:
    """Where the scalar ``container[key]`` is written as it is: at its own position, or at the definition of the
    variable it is ``${var.NAME}`` of (a default or a target's value). None when it is built from several pieces,
    comes from outside the bundle's YAML (``--var``, the environment) or no longer reads as the value.
    """
    if isinstance(container, YMap) and isinstance(key, str):
        loc = container.val_locs.get(key)
    elif isinstance(container, YSeq) and isinstance(key, int) and 0 <= key < len(container):
        loc = container.item_locs[key]
    else:
        return None
    value = container[key]  # type: ignore[index]
    if loc is None or isinstance(value, (dict, list)):
        return None
    doc = yaml_text(target.bundle, loc.file)
    node = doc.scalars.get(_at(loc)) if doc else None
    if node is None:
        return None
    anchor = f"value@{loc}"  # as fix.py counts the uses of a written value
    if "${" in node.value:
        match = REFERENCE_RE.fullmatch(node.value)
        parts = match.group(1).split(".") if match else []
        if len(parts) != 2 or parts[0] != "var" or "[" in parts[1]:
            return None
        variable = target.variables.get(parts[1])
        if variable is None or variable.source not in ("default", "target") or variable.value_loc is None:
            return None
        loc = variable.value_loc
        doc = yaml_text(target.bundle, loc.file)
        node = doc.scalars.get(_at(loc)) if doc else None
        if node is None or "${" in node.value:
            return None
        anchor = f"var:{parts[1]}@{loc}"
    written = resolve_plain(node.value) if not node.style and node.tag == _STR_TAG else node.value
    if written != value or type(written) is not type(value):
        return None
    return Written(loc, anchor)


def mapping_key(spec: YMap) -> Loc | None:
    """The position of the first key of ``spec`` as written: a key of the mapping it was first written as."""
    for key in spec:
        loc = spec.key_locs.get(key)
        if loc is not None:
            return loc
    return None


def key_anchor(loc: Loc) -> str:
    return f"key@{loc}"


# --- Python -------------------------------------------------------------------------------------------------------


class PythonText:
    """A Python file (script, source notebook or ``.ipynb``) as read for the rules, to edit at ``ast`` positions."""

    def __init__(self, source: PythonSource, data: bytes) -> None:
        self.source = source
        self.basis = digest(data)

    def loc(self, line: int, col_offset: int) -> Loc:
        return self.source.loc(line, col_offset)

    def edit(self, start: tuple[int, int], end: tuple[int, int], new_text: str) -> TextEdit | None:
        """Replace the text between two ``ast`` positions ((line, UTF-8 column offset)) with ``new_text``."""
        if self.source.rel.endswith(".ipynb") and any(c in new_text for c in '"\\\n\r\t'):
            return None  # inside a JSON string it would need escaping
        first, last = self.loc(*start), self.loc(*end)
        return TextEdit(self.source.rel, first.line, first.col, last.line, last.col, new_text, self.basis)


def python_text(target: Target, source: PythonSource) -> PythonText | None:
    """The file behind ``source`` as the rules read it (None when it is no longer there)."""
    if not _COLLECTING.get() or source.tree is None:
        return None
    data = cache_for(target.bundle).data(source.rel)
    if data is None:
        return None
    return PythonText(source, data)


def end_of(node: ast.AST) -> tuple[int, int]:
    line: int = getattr(node, "end_lineno", None) or 1
    col: int = getattr(node, "end_col_offset", None) or 0
    return line, col


def start_of(node: ast.AST) -> tuple[int, int]:
    line: int = getattr(node, "lineno", 1)
    col: int = getattr(node, "col_offset", 0)
    return line, col


def add_keyword(text: PythonText, call: ast.Call, keyword: str) -> TextEdit | None:
    """Add ``keyword`` (``name=value``) as the last argument of ``call``, keeping its layout.

    Declined for a call whose only argument is a bare generator expression (``f(x for x in y)``), which cannot take
    another argument without parentheses.
    """
    arguments: list[ast.AST] = [*call.args, *call.keywords]
    if any(isinstance(arg, ast.GeneratorExp) for arg in call.args):
        return None
    if not arguments:
        end_line, end_col = end_of(call)
        if text.source.line_text(end_line).encode("utf-8")[end_col - 1 : end_col] != b")":
            return None
        return text.edit((end_line, end_col - 1), (end_line, end_col - 1), keyword)
    last = max(arguments, key=end_of)
    return text.edit(end_of(last), end_of(last), f", {keyword}")
