"""Read and parse Python files of a folder, each once per run (which files a bundle runs or syncs: :mod:`dab_guard.jobs.files`).

Three kinds of file are read:

- scripts (``.py``),
- notebooks in Databricks source format (``.py`` whose first line is ``# Databricks notebook source``): cells are
  separated by ``# COMMAND ----------`` and magics are written ``# MAGIC %pip install ...``,
- Jupyter notebooks (``.ipynb``): the code cells, in order.

Every file becomes one Python text that ``ast`` parses. Magic lines (``%pip``, ``%run``, ``!pip`` ...) are blanked,
not deleted, so that a ``.py`` file's line numbers stay those of the file. For ``.ipynb`` the Python text holds only
the code cells; :meth:`PythonSource.loc` maps a position back into the JSON file: the line and column where that
character of the cell's source is written (inside the ``"source"`` string), so a finding points at the code in the
notebook file itself.

A file that cannot be read or parsed (a syntax error, a NUL byte, text that is not UTF-8, nesting too deep for the
parser, a file larger than the size limit, broken notebook JSON) keeps ``tree = None`` and one
:class:`SourceProblem` at the position of the error; it never raises.
"""

from __future__ import annotations

import ast
import enum
import io
import json
import json.decoder
import json.scanner
import posixpath
import re
import tokenize
import warnings
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dab_guard.finding import Loc

NOTEBOOK_HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "# COMMAND ----------"
MAGIC_PREFIX = "# MAGIC"
PYTHON_SUFFIXES = (".py", ".ipynb")
# Folders that are never deployed code (tools' environments and build output), whatever .gitignore says.
SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "build", "dist", "__pycache__", ".databricks", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
# A cell whose first line is one of these magics is not Python at all.
_OTHER_LANGUAGE_MAGICS = frozenset({"md", "md-sandbox", "sql", "scala", "r", "sh", "fs", "python3"})
# Cell magics (``%%name``) whose body is still the notebook's Python; the body of any other one is not.
_PYTHON_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun"})
_NOT_PYTHON = "%%"  # the language of a cell whose body belongs to a cell magic (%%bash, %%html ...)
_WRITEFILE = "writefile"
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_MAGIC_RE = re.compile(r"^\s*([%!])(%?)([A-Za-z_][\w-]*)\s*(.*)$")
# How a user lifts a limit that a real file reaches (as for YAML files).
_RAISE = " (raise {} under [tool.dab-guard.limits] to check it)"


# --- positions ---------------------------------------------------------------------------------------------------


class SourceKind(enum.Enum):
    SCRIPT = "script"
    NOTEBOOK = "notebook"  # Databricks source format
    IPYNB = "ipynb"


@dataclass(frozen=True)
class Magic:
    """One magic command of a notebook: ``%pip install x`` is ``Magic(line, "pip", "install x")``."""

    line: int  # line of the Python text (for .py files, of the file)
    command: str  # pip, conda, run, restart_python, sh ...
    args: str
    shell: bool = False  # written ``!pip ...``


@dataclass(frozen=True)
class SourceProblem:
    """Why a file could not be parsed, at a position of the file itself (1-based line and column)."""

    message: str
    line: int
    col: int


class _NotebookLines:
    """Maps lines of the Python text of an ``.ipynb`` back to the JSON file.

    For each Python line: the offset in the JSON text just after the opening quote of the ``source`` string that
    holds the line, and how many decoded characters of that string come before the line.
    """

    def __init__(self, raw: str, starts: list[tuple[int, int]]) -> None:
        self.raw = raw
        self.starts = starts
        self._newlines: list[int] | None = None

    def position(self, line: int, col: int) -> tuple[int, int]:
        """(line, column) in the JSON file of column ``col`` (1-based, characters) of Python line ``line``."""
        if not self.starts:
            return 1, 1
        index = min(max(line, 1), len(self.starts)) - 1
        string_start, before = self.starts[index]
        offset = _raw_offset(self.raw, string_start, before + max(col, 1) - 1)
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.raw)]
        number = bisect_right(self._newlines, offset - 1)
        line_start = self._newlines[number - 1] + 1 if number else 0
        return number + 1, offset - line_start + 1


def _raw_offset(raw: str, start: int, decoded: int) -> int:
    """The offset in JSON text of decoded character ``decoded`` of the string whose body starts at ``start``."""
    i, n, end = start, 0, len(raw)
    while n < decoded and i < end:
        c = raw[i]
        if c == '"':
            break
        if c == "\\" and i + 1 < end:
            if raw[i + 1] == "u":
                code = int(raw[i + 2 : i + 6], 16) if re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]) else 0
                # A surrogate pair is two escapes but one decoded character.
                i += 12 if 0xD800 <= code < 0xDC00 and raw[i + 6 : i + 8] == "\\u" else 6
            else:
                i += 2
        else:
            i += 1
        n += 1
    return i


class PythonSource:
    """One file as Python: its text (magics blanked), its tree (None when it does not parse) and its magics."""

    __slots__ = ("_lines", "_notebook", "_shifts", "facts", "kind", "magics", "problem", "rel", "skipped", "text", "tree", "written")

    def __init__(
        self,
        rel: str,
        kind: SourceKind,
        text: str,
        tree: ast.Module | None,
        problem: SourceProblem | None = None,
        magics: tuple[Magic, ...] = (),
        notebook: _NotebookLines | None = None,
        skipped: str | None = None,
        shifts: dict[int, int] | None = None,
    ) -> None:
        self.rel = rel
        self.kind = kind
        self.text = text
        self.tree = tree
        self.problem = problem
        self.magics = magics
        self.skipped = skipped  # why a readable file is not analysed (a notebook in another language)
        self._notebook = notebook
        self._shifts = shifts or {}  # columns taken by a "# MAGIC " prefix on lines kept as Python
        self._lines: list[str] | None = None
        self.facts: Any = None  # the ModuleFacts of this file, filled in by dab_guard.python.facts
        self.written: tuple[WrittenFile, ...] = ()  # files the notebook's %%writefile cells write

    @property
    def is_notebook(self) -> bool:
        return self.kind is not SourceKind.SCRIPT

    def line_text(self, line: int) -> str:
        if self._lines is None:
            self._lines = _LINE_SPLIT.split(self.text)
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""

    def loc(self, line: int, col_offset: int = 0) -> Loc:
        """The file position of Python line ``line``, column ``col_offset`` as ``ast`` gives it (0-based UTF-8 bytes)."""
        text = self.line_text(line)
        col = col_offset + 1
        if col_offset and not text.isascii():
            col = len(text.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore")) + 1
        if self._notebook is not None:
            line, col = self._notebook.position(line, col)
        elif self._shifts:
            col += self._shifts.get(line, 0)
        return Loc(self.rel, line, col)

    def loc_of(self, node: ast.AST) -> Loc:
        return self.loc(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


@dataclass(frozen=True)
class WrittenFile:
    """A file a notebook writes with a ``%%writefile path`` cell (how agent notebooks write ``agent.py``).

    The cell's body is no code of the notebook; it is the code of the file, kept as a source of its own whose
    positions are those of the notebook (findings point at the cell).
    """

    path: str  # as written: relative to the working directory (the notebook's folder), or absolute
    append: bool  # ``%%writefile -a``: adds to the file
    source: PythonSource


def _written_source(rel: str, template: PythonSource, bodies: dict[int, str], shifts: dict[int, int] | None = None) -> PythonSource:
    """The body of a %%writefile cell (Python-text line -> code) as a source at the notebook's positions."""
    count = template.text.count("\n") + 1
    lines = [bodies.get(number, "") for number in range(1, count + 1)]
    text = "\n".join(lines)
    mapper = template._notebook
    tree, problem = _parse(text, rel, mapper.position if mapper is not None else None)
    if problem is not None and shifts and problem.line in shifts and mapper is None:
        problem = SourceProblem(problem.message, problem.line, problem.col + shifts[problem.line])
    return PythonSource(rel, SourceKind.SCRIPT, text, tree, problem, notebook=mapper, shifts=shifts)


def _writefile_target(args: str) -> tuple[str, bool] | None:
    """``%%writefile -a agent.py`` -> ("agent.py", True); None when no path is given."""
    words = args.split()
    append = any(w in ("-a", "--append") for w in words)
    paths = [w.strip("'\"") for w in words if not w.startswith("-")]
    return (paths[-1], append) if paths else None


# --- reading and parsing -----------------------------------------------------------------------------------------


def _position_of(data: bytes, index: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, index) + 1
    start = data.rfind(b"\n", 0, index) + 1
    return line, len(data[start:index].decode("utf-8", errors="replace")) + 1


def _too_large(limit: int) -> SourceProblem:
    return SourceProblem(f"more than {limit} bytes of Python code: not analysed{_RAISE.format('max-python-bytes')}", 1, 1)


def parse_source(rel: str, data: bytes, max_python_bytes: int | None = None) -> PythonSource:
    """Read ``data`` (the bytes of file ``rel``) as a script, a source-format notebook or an ``.ipynb``.

    Python text longer than ``max_python_bytes`` is not parsed (a problem instead): ``ast`` needs about half a second
    of CPU per MiB, and that much code in one file is generated or hostile, not job code.
    """
    if rel.lower().endswith(".ipynb"):
        return _parse_ipynb(rel, data, max_python_bytes)
    kind = SourceKind.SCRIPT
    if max_python_bytes is not None and len(data) > max_python_bytes:
        first_line = data[:256].removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r ")
        kind = SourceKind.NOTEBOOK if first_line == NOTEBOOK_HEADER.encode() else kind
        return PythonSource(rel, kind, "", None, _too_large(max_python_bytes))
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position_of(data, nul)
        return PythonSource(rel, kind, "", None, SourceProblem("a NUL byte in a Python file: it cannot be parsed", line, col))
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except SyntaxError as exc:  # a bad coding cookie
        return PythonSource(rel, kind, "", None, SourceProblem(f"cannot read the file: {exc.msg}", exc.lineno or 1, 1))
    except UnicodeDecodeError as exc:
        line, col = _position_of(data, exc.start)
        return PythonSource(rel, kind, "", None, SourceProblem(f"not {exc.encoding} text (byte {exc.start})", line, col))
    except LookupError as exc:
        return PythonSource(rel, kind, "", None, SourceProblem(f"cannot read the file: {exc}", 1, 1))
    magics: tuple[Magic, ...] = ()
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r ")
    if first == NOTEBOOK_HEADER:
        kind = SourceKind.NOTEBOOK
        text, magics, shifts, cells = _blank_source_magics(text)
        tree, problem = _parse(text, rel)
        if problem is not None and problem.line in shifts:
            problem = SourceProblem(problem.message, problem.line, problem.col + shifts[problem.line])
        notebook = PythonSource(rel, kind, text, tree, problem, magics, shifts=shifts)
        notebook.written = tuple(
            WrittenFile(path, append, _written_source(rel, notebook, bodies, shifts)) for path, append, bodies in cells
        )
        return notebook
    tree, problem = _parse(text, rel)
    return PythonSource(rel, kind, text, tree, problem, magics)


def _parse(text: str, rel: str, where: Callable[[int, int], tuple[int, int]] | None = None) -> tuple[ast.Module | None, SourceProblem | None]:
    try:
        with warnings.catch_warnings():
            # The user's code is read, not run: an invalid escape or a comparison with a literal is not ours to print.
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=rel), None
    except SyntaxError as exc:
        line, col = exc.lineno or 1, exc.offset or 1
        if where is not None:
            line, col = where(line, col)
        return None, SourceProblem(f"Python syntax error: {exc.msg}", line, max(col, 1))
    except (RecursionError, MemoryError):
        return None, SourceProblem("Python code nested too deeply to parse", 1, 1)
    except ValueError as exc:
        return None, SourceProblem(f"cannot parse the file: {exc}", 1, 1)


def _split_magic(line: str) -> tuple[str, str, bool] | None:
    """``%pip install x`` -> ("pip", "install x", False); ``!pip ...`` -> ("pip", ..., True); None for Python."""
    match = _MAGIC_RE.match(line)
    if not match:
        return None
    sigil, double, command, args = match.groups()
    if sigil == "!" and double:
        return None
    return command.lower(), args.strip(), sigil == "!"


def _join_continued(lines: list[str], i: int, first: str) -> tuple[str, int]:
    """A magic line ending with a backslash continues on the next line(s); (joined text, index of the last line)."""
    text = first
    while text.endswith("\\") and i + 1 < len(lines):
        i += 1
        text = text[:-1] + " " + lines[i].strip()
    return text, i


def _blank_source_magics(text: str) -> tuple[str, tuple[Magic, ...], dict[int, int], list[tuple[str, bool, dict[int, str]]]]:
    """A source-format notebook with its ``# MAGIC`` lines (and bare ``%``/``!`` lines) blanked, and its magics.

    A cell that opens with a line magic (``%pip install x`` then ``dbutils.library.restartPython()``) is exported
    with every line behind ``# MAGIC``; its lines that are not magics are Python and run, so they are kept, without
    the prefix. The third value maps those lines to how many columns the prefix took. A cell that opens with a cell
    magic (``%%writefile agent.py``, ``%%bash``) is no Python of the notebook, except for ``%%capture`` and the
    timers; the fourth value holds the bodies of ``%%writefile`` cells: (path, append, line -> code).
    """
    lines = text.split("\n")
    # What a line says once its "# MAGIC" prefix is taken off (continuations of a magic are MAGIC lines too).
    contents = [ln[len(MAGIC_PREFIX) :].strip() if ln.startswith(MAGIC_PREFIX) else ln.rstrip("\r") for ln in lines]
    magics: list[Magic] = []
    shifts: dict[int, int] = {}
    written: list[tuple[str, bool, dict[int, str]]] = []
    cell_language: str | None = None  # the magic that opens the current cell, if it opens with one
    cell_open = True
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        if line.startswith(CELL_SEPARATOR) or (i == 0 and line.lstrip("\ufeff") == NOTEBOOK_HEADER):
            cell_language, cell_open = None, True
            i += 1
            continue
        is_magic_line = line.startswith(MAGIC_PREFIX)
        content = contents[i].strip() if is_magic_line else line
        if not content.strip():
            if is_magic_line:
                lines[i] = ""
            i += 1
            continue
        # A bare magic must start the line; an indented "%" is Python (a continued expression).
        parsed = _split_magic(content) if content[:1] in ("%", "!") else None
        if cell_open:
            cell_open = False
            cell_language = parsed[0] if parsed is not None and is_magic_line and not parsed[2] else None
            if cell_language is not None and content.startswith("%%") and cell_language not in _PYTHON_CELL_MAGICS:
                target = _writefile_target(parsed[1]) if cell_language == _WRITEFILE and parsed is not None else None
                if target is not None:
                    written.append((target[0], target[1], {}))
                else:
                    cell_language = _NOT_PYTHON
                lines[i] = ""
                i += 1
                continue
        if cell_language == _WRITEFILE and written:
            if is_magic_line:
                code = line[len(MAGIC_PREFIX) :]
                code = code[1:] if code.startswith(" ") else code
                written[-1][2][i + 1] = code
                shifts[i + 1] = len(line) - len(code)
                lines[i] = ""
            i += 1
            continue
        if not is_magic_line and parsed is None:
            i += 1
            continue
        if parsed is None and cell_language and cell_language not in _OTHER_LANGUAGE_MAGICS and cell_language != _NOT_PYTHON:
            code = line[len(MAGIC_PREFIX) :]
            code = code[1:] if code.startswith(" ") else code
            lines[i] = code
            shifts[i + 1] = len(line) - len(code)
            i += 1
            continue
        last = i
        if parsed is not None and cell_language not in _OTHER_LANGUAGE_MAGICS and cell_language != _NOT_PYTHON:
            joined, last = _join_continued(contents, i, content.strip())
            again = _split_magic(joined) or parsed
            magics.append(Magic(i + 1, again[0], again[1], again[2]))
        for k in range(i, last + 1):
            lines[k] = ""
        i = last + 1
    return "\n".join(lines), tuple(magics), shifts, written


class _JsonString(str):
    """A decoded JSON string that remembers where its body starts in the JSON text."""

    start: int


def _load_json_with_offsets(raw: str) -> Any:
    decoder = json.JSONDecoder()

    def parse_string(s: str, end: int, strict: bool = True) -> tuple[str, int]:
        value, after = json.decoder.scanstring(s, end, strict)  # type: ignore[attr-defined]
        located = _JsonString(value)
        located.start = end
        return located, after

    decoder.parse_string = parse_string  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(raw)


def _ipynb_language(document: dict[str, Any]) -> str | None:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    databricks = metadata.get("application/vnd.databricks.v1+notebook")
    if isinstance(databricks, dict) and isinstance(databricks.get("language"), str):
        return str(databricks["language"]).lower()
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return str(section[field]).lower()
    return None


def _parse_ipynb(rel: str, data: bytes, max_python_bytes: int | None = None) -> PythonSource:
    kind = SourceKind.IPYNB
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position_of(data, exc.start)
        return PythonSource(rel, kind, "", None, SourceProblem(f"notebook is not UTF-8 text (byte {exc.start})", line, col))
    try:
        document = _load_json_with_offsets(raw)
    except json.JSONDecodeError as exc:
        return PythonSource(rel, kind, "", None, SourceProblem(f"notebook is not valid JSON: {exc.msg}", exc.lineno, exc.colno))
    except (RecursionError, MemoryError):
        return PythonSource(rel, kind, "", None, SourceProblem("notebook JSON nested too deeply to read", 1, 1))
    except ValueError as exc:
        return PythonSource(rel, kind, "", None, SourceProblem(f"notebook is not valid JSON: {exc}", 1, 1))
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return PythonSource(rel, kind, "", None, SourceProblem("not a notebook: no list of cells", 1, 1))
    language = _ipynb_language(document)
    if language is not None and language not in ("python", "python3"):
        return PythonSource(rel, kind, "", None, skipped=f"a {language} notebook")
    out: list[str] = []
    starts: list[tuple[int, int]] = []
    magics: list[Magic] = []
    written: list[tuple[str, bool, dict[int, str]]] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        pieces = [source] if isinstance(source, str) else source if isinstance(source, list) else []
        cell_lines: list[tuple[str, int, int]] = []  # (text without newline, string start, decoded offset)
        for piece in pieces:
            if not isinstance(piece, str):
                continue
            start = getattr(piece, "start", 0)
            offset = 0
            for part in piece.splitlines(keepends=True) or [""]:
                body = part.rstrip("\r\n")
                cell_lines.append((body, start, offset))
                offset += len(part)
        if not cell_lines:
            continue
        first = _split_magic(cell_lines[0][0]) if cell_lines[0][0][:1] in ("%", "!") else None
        cell_magic = first is not None and cell_lines[0][0].startswith("%%") and first[0] not in _PYTHON_CELL_MAGICS
        whole_cell_magic = first is not None and (first[0] in _OTHER_LANGUAGE_MAGICS or cell_magic)
        target = _writefile_target(first[1]) if first is not None and cell_magic and first[0] == _WRITEFILE else None
        body_lines: dict[int, str] | None = None
        if target is not None:
            body_lines = {}
            written.append((target[0], target[1], body_lines))
        k = 0
        while k < len(cell_lines):
            body, start, offset = cell_lines[k]
            number = len(out) + 1
            parsed = None if whole_cell_magic else (_split_magic(body) if body[:1] in ("%", "!") else None)
            if whole_cell_magic:
                if body_lines is not None and k > 0:
                    body_lines[number] = body
                out.append("")
                starts.append((start, offset))
            elif parsed:
                joined, last = _join_continued([c[0] for c in cell_lines], k, body.strip())
                again = _split_magic(joined) or parsed
                magics.append(Magic(number, again[0], again[1], again[2]))
                for j in range(k, last + 1):
                    out.append("")
                    starts.append((cell_lines[j][1], cell_lines[j][2]))
                k = last
            else:
                out.append(body)
                starts.append((start, offset))
            k += 1
    text = "\n".join(out) + "\n"
    if max_python_bytes is not None and len(text.encode("utf-8")) > max_python_bytes:
        # Only the code cells count: outputs (images, tables) are never parsed.
        return PythonSource(rel, kind, "", None, _too_large(max_python_bytes))
    mapper = _NotebookLines(raw, starts)
    tree, problem = _parse(text, rel, mapper.position)
    notebook = PythonSource(rel, kind, text, tree, problem, tuple(magics), mapper)
    notebook.written = tuple(WrittenFile(path, append, _written_source(rel, notebook, bodies)) for path, append, bodies in written)
    return notebook


# --- the per-bundle file cache -----------------------------------------------------------------------------------


@dataclass
class _Entry:
    stamp: tuple[int, int]  # (mtime_ns, size)
    data: bytes | None  # None: too large, or unreadable (``error`` says why)
    source: PythonSource | None = None
    error: str | None = None


class SourceReader(Protocol):
    """What may stand in for the disk when a file is read (a language server's open documents)."""

    def text(self, path: Path) -> str | None:
        """The text standing in for the file at ``path`` (absolute, symbolic links resolved); None: read the disk."""
        ...

    def python(self, rel: str, data: bytes, parse: Callable[[str, bytes], PythonSource]) -> PythonSource:
        """``parse(rel, data)``, or what was parsed before from the same bytes."""
        ...


class SourceCache:
    """Files of one bundle, each read once and parsed at most once per run (keyed by path, mtime and size)."""

    def __init__(self, root: Path, max_bytes: int, max_python_bytes: int, reader: SourceReader | None = None) -> None:
        self.root = root
        # None: the disk. Else what may stand an editor's text in for a file, and reuse what it parsed before.
        self.reader = reader
        self.resolved_root = root.resolve()
        self.max_bytes = max_bytes
        self.max_python_bytes = max_python_bytes
        self._entries: dict[str, _Entry] = {}
        self._exists: dict[str, bool] = {}
        self.modules: dict[tuple[tuple[str, ...], str], str | None] = {}  # (search folders, module) -> file
        self.trusted = False  # take the files read as they are, without checking the disk again (carried_over)

    def is_file(self, rel: str) -> bool:
        """Whether ``rel`` is a file inside the bundle root (symlinks may not lead out of it)."""
        known = self._exists.get(rel)
        if known is not None:
            return known
        result = False
        if rel and not rel.startswith("../") and rel != ".." and not rel.startswith("/"):
            path = self.root / rel
            try:
                if path.is_file():
                    real = path.resolve()
                    result = real == self.resolved_root or self.resolved_root in real.parents
            except (OSError, ValueError):
                result = False
        self._exists[rel] = result
        return result

    def data(self, rel: str) -> bytes | None:
        """The bytes of file ``rel``; None when missing, outside the root, unreadable or over the size limit."""
        entry = self._entry(rel)
        return entry.data if entry is not None else None

    def source(self, rel: str) -> PythonSource | None:
        """File ``rel`` parsed; None when it is not a file of the bundle. Problems come back inside the source."""
        entry = self._entry(rel)
        if entry is None:
            return None
        if entry.source is None:
            if entry.data is None:
                why = entry.error or f"file larger than {self.max_bytes} bytes: not analysed{_RAISE.format('max-file-bytes')}"
                entry.source = PythonSource(
                    rel, SourceKind.IPYNB if rel.endswith(".ipynb") else SourceKind.SCRIPT, "", None, SourceProblem(why, 1, 1)
                )
            else:
                data = entry.data
                if self.reader is None:
                    entry.source = parse_source(rel, data, self.max_python_bytes)
                else:
                    entry.source = self.reader.python(rel, data, lambda name, data: parse_source(name, data, self.max_python_bytes))
        return entry.source

    def _entry(self, rel: str) -> _Entry | None:
        if not self.is_file(rel):
            return None
        entry = self._entries.get(rel)
        if entry is not None and self.trusted:
            return entry
        path = self.root / rel
        try:
            stat = path.stat()
        except (OSError, ValueError):
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if entry is not None and entry.stamp == stamp:
            return entry
        data: bytes | None = None
        error: str | None = None
        text = self.reader.text(path.resolve()) if self.reader is not None else None
        if text is not None:
            # A lone surrogate (an editor's half-decoded byte) makes bytes that are not UTF-8: the parse reports it.
            data = text.encode("utf-8", errors="surrogatepass")
            entry = self._entries[rel] = _Entry(stamp, data if len(data) <= self.max_bytes else None)
            return entry
        if stat.st_size <= self.max_bytes:
            try:
                with path.open("rb") as handle:
                    data = handle.read(self.max_bytes + 1)  # a file growing after the stat stays bounded too
            except OSError as exc:  # permissions, or deleted since it was listed: the job would fail on it too
                error = f"cannot read the file: {exc.strerror or exc}"
            except ValueError:
                return None
            if data is not None and len(data) > self.max_bytes:
                data = None
        entry = _Entry(stamp, data, error=error)
        self._entries[rel] = entry
        return entry

    def carried_over(self, changed: Iterable[str]) -> SourceCache:
        """A cache for another load of the same bundle that takes the files this one read as they were, except the
        ``changed`` ones (a language server between two full checks, which read the disk again)."""
        dropped = set(changed)
        copy = SourceCache(self.root, self.max_bytes, self.max_python_bytes, self.reader)
        copy._entries = {rel: entry for rel, entry in self._entries.items() if rel not in dropped}
        copy._exists = dict(self._exists)
        copy.modules = dict(self.modules)
        copy.trusted = True
        return copy


def notebook_file(cache: SourceCache, folder: str, written: str) -> str | None:
    """The notebook a ``%run`` names (relative to the running notebook's folder, extension optional)."""
    if not written or written.startswith(("/", "$", "{")) or "://" in written:
        return None
    base = posixpath.normpath(posixpath.join(folder, written))
    if base.startswith("../") or base == "..":
        return None
    candidates = [base] if base.lower().endswith(PYTHON_SUFFIXES) else [base + ".py", base + ".ipynb"]
    for candidate in candidates:
        if cache.is_file(candidate):
            return candidate
    return None


def module_file(cache: SourceCache, search: Iterable[str], module: str) -> str | None:
    """The bundle file that ``import module`` loads, searching the folders ``search`` (relative to the root)."""
    if not module:
        return None
    key = (tuple(search), module)
    if key in cache.modules:
        return cache.modules[key]
    found: str | None = None
    path = module.replace(".", "/")
    for folder in key[0]:
        base = f"{folder}/{path}" if folder not in ("", ".") else path
        if cache.is_file(base + ".py"):
            found = base + ".py"
            break
        if cache.is_file(base + "/__init__.py"):
            found = base + "/__init__.py"
            break
    cache.modules[key] = found
    return found


def iter_sources(cache: SourceCache, rels: Iterable[str], wanted: Callable[[bytes], bool] | None = None) -> Iterator[PythonSource]:
    """The parsed sources of ``rels``; with ``wanted``, only files whose bytes pass it are parsed at all."""
    for rel in rels:
        if wanted is not None:
            data = cache.data(rel)
            if data is None or not wanted(data):
                continue
        source = cache.source(rel)
        if source is not None:
            yield source
