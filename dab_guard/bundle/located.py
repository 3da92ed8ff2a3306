"""Plain Python containers that remember where each of their keys and values was written.

``YMap`` is a ``dict`` and ``YSeq`` a ``list``, so rules read them like any parsed YAML; the positions ride along
in slots and survive merging and variable substitution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dab_guard.finding import Loc, PathParts

# Positions are packed into integers: a big bundle has hundreds of thousands of them, and a Loc tuple per key and per
# value cost more memory than the values themselves. One integer per mapping entry holds the key's and the value's
# position; each position is a file number (from the table below), a line and a column.
_FILES: list[str] = []
_FILE_IDS: dict[str, int] = {}
_COL_BITS = 24
_LINE_BITS = 32
_LOC_BITS = 80  # file number (24 bits) + line + column
_COL_MASK = (1 << _COL_BITS) - 1
_LINE_MASK = (1 << _LINE_BITS) - 1
_LOC_MASK = (1 << _LOC_BITS) - 1
_FILE_LIMIT = 1 << (_LOC_BITS - _LINE_BITS - _COL_BITS)
_NONE = 0  # no position (line 0 never occurs)


def file_id(file: str) -> int:
    """The number of a file name in the position table (stable for the life of the process)."""
    found = _FILE_IDS.get(file)
    if found is None:
        found = _FILE_IDS[file] = len(_FILES)
        _FILES.append(file)
    return found


def pack(file: int, line: int, col: int) -> int | None:
    """A position as one integer, or None when it does not fit (a line or column beyond what a file can hold)."""
    if 0 < line <= _LINE_MASK and 0 <= col <= _COL_MASK and file < _FILE_LIMIT:
        return (file << (_LINE_BITS + _COL_BITS)) | (line << _COL_BITS) | col
    return None


def _pack_loc(loc: Loc | None) -> int | None:
    if loc is None:
        return _NONE
    return pack(file_id(loc.file), loc.line, loc.col)


def _unpack(code: int) -> Loc | None:
    if not code:
        return None
    return Loc(_file(code), (code >> _COL_BITS) & _LINE_MASK, code & _COL_MASK)


def _file(code: int) -> str:
    """The file name of a packed position."""
    return _FILES[code >> (_LINE_BITS + _COL_BITS)]


def _stored(code: int | Loc | None) -> Loc | None:
    """A position as a list stores it (packed, or a Loc that did not pack), as a Loc."""
    return _unpack(code) if isinstance(code, int) else code


# A mapping entry's positions: both packed into one integer, or a pair of Locs when one does not pack.
_Pos = int | tuple[Loc | None, Loc | None]


def _pack_pair(key_loc: Loc | None, val_loc: Loc | None) -> _Pos:
    key_code = _pack_loc(key_loc)
    val_code = _pack_loc(val_loc)
    if key_code is None or val_code is None:
        return (key_loc, val_loc)
    return (key_code << _LOC_BITS) | val_code


def _key_loc(pos: _Pos | None) -> Loc | None:
    if pos is None:
        return None
    if isinstance(pos, int):
        return _unpack(pos >> _LOC_BITS)
    return pos[0]


def _val_loc(pos: _Pos | None) -> Loc | None:
    if pos is None:
        return None
    if isinstance(pos, int):
        return _unpack(pos & _LOC_MASK)
    return pos[1]


class _Locs:
    """A read view of one side (keys or values) of a YMap's positions, shaped like the dict it replaces."""

    __slots__ = ("_pos", "_side")

    def __init__(self, pos: dict[str, _Pos], side: Callable[[_Pos | None], Loc | None]) -> None:
        self._pos = pos
        self._side = side

    def get(self, key: str, default: Loc | None = None) -> Loc | None:
        found = self._side(self._pos.get(key))
        return default if found is None else found

    def __getitem__(self, key: str) -> Loc:
        found = self._side(self._pos.get(key))
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._side(self._pos.get(key)) is not None


class YMap(dict[str, Any]):
    """A mapping with the position of each key and each value."""

    __slots__ = ("_pos", "notes")

    def __init__(self) -> None:
        super().__init__()
        self._pos: dict[str, _Pos] = {}
        self.notes: dict[str, str] | None = None  # why a value is what it is (e.g. "from ${var.x}")

    @property
    def key_locs(self) -> _Locs:
        return _Locs(self._pos, _key_loc)

    @property
    def val_locs(self) -> _Locs:
        return _Locs(self._pos, _val_loc)

    def key_loc(self, key: str) -> Loc | None:
        return _key_loc(self._pos.get(key))

    def val_loc(self, key: str) -> Loc | None:
        return _val_loc(self._pos.get(key))

    def put(self, key: str, value: Any, key_loc: Loc | None, val_loc: Loc | None, note: str | None = None) -> None:
        """Set ``key``; a position given as None leaves the one already recorded for that side."""
        self[key] = value
        if key_loc is not None or val_loc is not None:
            if key_loc is None or val_loc is None:
                recorded = self._pos.get(key)
                key_loc = key_loc if key_loc is not None else _key_loc(recorded)
                val_loc = val_loc if val_loc is not None else _val_loc(recorded)
            self._pos[key] = _pack_pair(key_loc, val_loc)
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[key] = note

    def put_at(self, key: str, value: Any, source: YMap, note: str | None = None) -> None:
        """``put`` at the positions ``key`` has in ``source`` (copied as they are stored, without unpacking)."""
        self[key] = value
        pos = source._pos.get(key)
        if pos is not None:
            self._pos[key] = pos
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[key] = note

    def put_packed(self, key: str, value: Any, key_code: int, val_code: int) -> None:
        """``put`` with positions already packed (the reader's fast path)."""
        self[key] = value
        self._pos[key] = (key_code << _LOC_BITS) | val_code

    def forget(self, key: str) -> None:
        """Drop ``key`` with its positions and note."""
        self.pop(key, None)
        self._pos.pop(key, None)
        if self.notes:
            self.notes.pop(key, None)

    def note(self, key: str) -> str | None:
        return self.notes.get(key) if self.notes else None


class _ItemLocs:
    """A read view of a YSeq's item positions, shaped like the list it replaces."""

    __slots__ = ("_codes",)

    def __init__(self, codes: list[int | Loc | None]) -> None:
        self._codes = codes

    def __getitem__(self, index: int) -> Loc | None:
        return _stored(self._codes[index])  # an int index: a slice would give packed codes, so it is not offered

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[Loc | None]:
        for code in self._codes:
            yield _stored(code)


class YSeq(list[Any]):
    """A sequence with the position of each item."""

    __slots__ = ("_codes", "notes")

    def __init__(self) -> None:
        super().__init__()
        self._codes: list[int | Loc | None] = []
        self.notes: dict[int, str] | None = None

    @property
    def item_locs(self) -> _ItemLocs:
        return _ItemLocs(self._codes)

    def item_loc(self, index: int) -> Loc | None:
        return _stored(self._codes[index])

    def add(self, value: Any, loc: Loc | None, note: str | None = None) -> None:
        self.append(value)
        code = _pack_loc(loc)
        self._codes.append(code if code is not None else loc)
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[len(self) - 1] = note

    def add_at(self, value: Any, source: YSeq, index: int, note: str | None = None) -> None:
        """``add`` at the position of ``source``'s item ``index`` (copied as it is stored, without unpacking)."""
        self.append(value)
        self._codes.append(source._codes[index])
        if note is not None:
            if self.notes is None:
                self.notes = {}
            self.notes[len(self) - 1] = note

    def add_packed(self, value: Any, code: int) -> None:
        """``add`` with the position already packed (the reader's fast path)."""
        self.append(value)
        self._codes.append(code)

    def note(self, index: int) -> str | None:
        return self.notes.get(index) if self.notes else None


def copy_entry(dst: YMap, src: YMap, key: str, value: Any = None, use_value: bool = False) -> None:
    """Copy ``src[key]`` (or ``value``) into ``dst`` with the key's and value's positions."""
    dst[key] = value if use_value else src[key]
    pos = src._pos.get(key)
    if pos is not None:
        dst._pos[key] = pos
    note = src.note(key)
    if note is not None:
        if dst.notes is None:
            dst.notes = {}
        dst.notes[key] = note


def locate(root: Any, parts: PathParts, on_key: bool = False) -> tuple[Loc | None, str | None]:
    """The position of the value at ``parts`` (or of its key), and a note on where it came from.

    A path that leaves the tree (a missing key) is located at the deepest key that exists, so that a finding such as
    "this cluster has no data_security_mode" points at the cluster.
    """
    best, note = _locate(root, parts, on_key)
    return (_unpack(best) if isinstance(best, int) else best), note


def file_at(root: Any, parts: PathParts) -> str | None:
    """The file :func:`locate` would give for ``parts`` (without building the position)."""
    best, _ = _locate(root, parts, False)
    if isinstance(best, int):
        return _file(best) if best else None
    return best.file if best is not None else None


def file_of(container: YMap, key: str) -> str | None:
    """The file that wrote ``container[key]`` (as :func:`file_at` gives it for the path to that value), or None when
    the entry has no position of its own."""
    pos = container._pos.get(key)
    if pos is None:
        return None
    if isinstance(pos, int):
        code = (pos & _LOC_MASK) or (pos >> _LOC_BITS)
        return _file(code) if code else None
    loc = pos[1] or pos[0]
    return loc.file if loc is not None else None


def _locate(root: Any, parts: PathParts, on_key: bool) -> tuple[int | Loc | None, str | None]:
    # Positions stay packed on the way down; only the one returned is unpacked.
    node = root
    best: int | Loc | None = None
    note: str | None = None
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if isinstance(node, YMap) and isinstance(part, str) and part in node:
            pos = node._pos.get(part)
            if node.notes:
                note = node.notes.get(part) or note
            child = node[part]
            if pos is not None:
                if isinstance(pos, int):
                    key_side: int | Loc | None = pos >> _LOC_BITS
                    val_side: int | Loc | None = pos & _LOC_MASK
                else:
                    key_side, val_side = pos
                if i == last and not on_key and not isinstance(child, (YMap, YSeq)):
                    best = val_side or key_side or best
                else:
                    best = key_side or val_side or best
            node = child
        elif isinstance(node, YSeq) and isinstance(part, int) and 0 <= part < len(node):
            best = node._codes[part] or best
            if node.notes:
                note = node.notes.get(part) or note
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
