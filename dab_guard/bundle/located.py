"""Plain Python containers that remember where each of their keys and values was written.

``YMap`` is a ``dict`` and ``YSeq`` a ``list``, so rules read them like any parsed YAML; the positions ride along
in slots and survive merging and variable substitution.
"""

from __future__ import annotations

from typing import Any

from dab_guard.finding import Loc, PathParts


class YMap(dict[str, Any]):
    """A mapping with the position of each key and each value."""

    __slots__ = ("key_locs", "notes", "val_locs")

    def __init__(self) -> None:
        super().__init__()
        self.key_locs: dict[str, Loc] = {}
        self.val_locs: dict[str, Loc] = {}
        self.notes: dict[str, str] | None = None  # why a value is what it is (e.g. "from ${var.x}")

    def put(self, key: str, value: Any, key_loc: Loc | None, val_loc: Loc | None, note: str | None = None) -> None:
        self[key] = value
        if key_loc is not None:
            self.key_locs[key] = key_loc
        if val_loc is not None:
            self.val_locs[key] = val_loc
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[key] = note

    def note(self, key: str) -> str | None:
        return self.notes.get(key) if self.notes else None


class YSeq(list[Any]):
    """A sequence with the position of each item."""

    __slots__ = ("item_locs", "notes")

    def __init__(self) -> None:
        super().__init__()
        self.item_locs: list[Loc | None] = []
        self.notes: dict[int, str] | None = None

    def add(self, value: Any, loc: Loc | None, note: str | None = None) -> None:
        self.append(value)
        self.item_locs.append(loc)
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[len(self) - 1] = note

    def note(self, index: int) -> str | None:
        return self.notes.get(index) if self.notes else None


def copy_entry(dst: YMap, src: YMap, key: str, value: Any = None, use_value: bool = False) -> None:
    """Copy ``src[key]`` (or ``value``) into ``dst`` with the key's and value's positions."""
    dst.put(
        key,
        value if use_value else src[key],
        src.key_locs.get(key),
        src.val_locs.get(key),
        src.note(key),
    )


def locate(root: Any, parts: PathParts, on_key: bool = False) -> tuple[Loc | None, str | None]:
    """The position of the value at ``parts`` (or of its key), and a note on where it came from.

    A path that leaves the tree (a missing key) is located at the deepest key that exists, so that a finding such as
    "this cluster has no data_security_mode" points at the cluster.
    """
    node = root
    best: Loc | None = None
    note: str | None = None
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if isinstance(node, YMap) and isinstance(part, str) and part in node:
            key_loc = node.key_locs.get(part)
            val_loc = node.val_locs.get(part)
            note = node.note(part) or note
            child = node[part]
            if i == last and not on_key and not isinstance(child, (YMap, YSeq)):
                best = val_loc or key_loc or best
            else:
                best = key_loc or val_loc or best
            node = child
        elif isinstance(node, YSeq) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_locs[part] or best
            note = node.note(part) or note
            node = node[part]
        else:
            break
    return best, note


def plain(value: Any) -> Any:
    """A deep copy of located containers as ordinary dicts and lists (for JSON Schema and output)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
