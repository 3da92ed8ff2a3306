"""Find a bundle, read its root file and its includes, and merge them into one located tree."""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dab_guard.bundle.located import YMap, file_id
from dab_guard.bundle.merge import merge_into
from dab_guard.bundle.reader import DISK, FileReader
from dab_guard.bundle.yamlread import Limits, Prescan, Problem, YamlDocument, read_yaml
from dab_guard.finding import Loc, Severity
from dab_guard.parallel import map_forked

ROOT_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")
CONFIG_SUFFIXES = (".yml", ".yaml", ".json")


class BundleError(Exception):
    """The input cannot be used at all (no bundle, unreadable path): exit status 2."""


@dataclass
class SourceFile:
    rel: str  # relative to the bundle root, with "/"
    path: Path
    text: str
    doc: YamlDocument


@dataclass
class Bundle:
    """Every configuration file of a bundle, merged (before targets are applied)."""

    root_dir: Path
    root_file: str
    files: dict[str, SourceFile]
    config: YMap
    problems: list[Problem] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)  # the bounds it was read with; Python files are read with them too
    reader: FileReader = field(default=DISK, repr=False, compare=False)  # how its files were read (and Python files are)

    @property
    def name(self) -> str | None:
        bundle = self.config.get("bundle")
        name = bundle.get("name") if isinstance(bundle, dict) else None
        return name if isinstance(name, str) else None

    def target_names(self) -> list[str]:
        targets = self.config.get("targets")
        if not isinstance(targets, dict):
            targets = self.config.get("environments")
        if isinstance(targets, dict) and targets:
            return list(targets)
        return ["default"]

    def default_target(self) -> str | None:
        """The target the CLI picks when none is named: the only one, else the one marked ``default: true``;
        None when that is ambiguous (the CLI then asks for one)."""
        names = self.target_names()
        if len(names) == 1:
            return names[0]
        targets = self.config.get("targets")
        if not isinstance(targets, dict):
            targets = self.config.get("environments")
        marked = [n for n in names if isinstance(targets, dict) and isinstance(targets.get(n), dict) and targets[n].get("default") is True]
        return marked[0] if len(marked) == 1 else None


def find_root(path: Path | None, cwd: Path) -> tuple[Path, Path]:
    """The bundle folder and its root configuration file, for a PATH argument or the working directory."""
    if path is None:
        # As the CLI walks (bundle/root.go): each name in turn, from here up to the filesystem root, so a
        # databricks.yml above wins over a bundle.yml here.
        for name in ROOT_NAMES:
            for folder in (cwd, *cwd.parents):
                if (folder / name).is_file():
                    return folder, folder / name
        raise BundleError(f"no bundle found: none of {', '.join(ROOT_NAMES)} in {cwd} or any folder above it")
    if not path.exists():
        raise BundleError(f"{path}: no such file or directory")
    if path.is_dir():
        found = [path / name for name in ROOT_NAMES if (path / name).is_file()]
        if not found:
            raise BundleError(f"{path}: no bundle here (none of {', '.join(ROOT_NAMES)})")
        return path, found[0]
    if not path.is_file():
        raise BundleError(f"{path}: not a file or folder")
    return path.parent, path


class Unreadable(Exception):
    """A file that exists but that dab-guard will not read as YAML text: too large, not text, not a regular file.

    ``line`` and ``column`` point into the file (1-based); ``line`` 0 means the problem is the file as a whole.
    """

    def __init__(self, message: str, line: int = 0, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def read_text(path: Path, max_bytes: int) -> str:
    """The text of the regular file ``path``, at most ``max_bytes`` long; OSError when it cannot be opened.

    The size is checked before anything is read and the read itself is bounded, so a huge file costs nothing. The
    file is opened without blocking, so a named pipe or a device posing as a ``.yml`` file cannot hang the run.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("not a regular file")
        size = info.st_size
        data = handle.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise Unreadable(
            f"YAML too large to check: {max(size, len(data))} bytes, more than {max_bytes}"
            " (raise max-file-bytes under [tool.dab-guard.limits] to check it)",
            1,
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # YAML allows UTF-16 with a byte order mark, and the CLI's YAML reader accepts it.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-16 text, although it starts with a UTF-16 byte order mark", 1) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise Unreadable(f"not UTF-8 text: byte 0x{data[exc.start]:02x} is not valid here", line, column) from None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return os.path.relpath(path, root).replace(os.sep, "/")


# --- Go filepath.Match semantics for include globs ---------------------------------------------------------------

_GLOB_META = set("*?[\\")


def has_glob(pattern: str) -> bool:
    return any(c in _GLOB_META for c in pattern)


@lru_cache(maxsize=256)
def _segment_regex(segment: str) -> re.Pattern[str]:
    """Translate one path segment of a Go glob (``*`` never crosses ``/`` and matches dotfiles)."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1  # "**" is just "*" in Go
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(segment):
            i += 1
            out.append(re.escape(segment[i]))
        elif c == "[":
            end = segment.find("]", i + 2)
            if end == -1:
                raise ValueError("unterminated [ in glob")
            body = segment[i + 1 : end]
            body = "^" + body[1:].replace("\\", "\\\\") if body.startswith("^") else body.replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


MAX_GLOB_PATHS = 100_000  # paths one include pattern may reach; a real bundle has a few hundred files


class GlobTooWide(ValueError):
    """A pattern that reaches more paths than any bundle has: the message is the whole finding."""


def go_glob(root: Path, pattern: str) -> list[Path]:
    """Files and folders under ``root`` matching ``pattern`` segment by segment, sorted like Go's filepath.Glob."""
    current = [root]
    for segment in pattern.split("/"):
        if segment in ("", "."):
            continue
        following: list[Path] = []
        if not has_glob(segment):
            # lexists, as Go's Lstat: a broken or looping symbolic link still matches, and is reported when read.
            following = [p / segment for p in current if os.path.lexists(p / segment) or segment == ".."]
        else:
            regex = _segment_regex(segment)
            for folder in current:
                try:
                    names = sorted(os.listdir(folder))
                except OSError:
                    continue
                following.extend(folder / name for name in names if regex.match(name))
                if len(following) > MAX_GLOB_PATHS:
                    # `*/*/*/...` through folder links to `.` multiplies at every segment: stop, rather than hang.
                    raise GlobTooWide(f"include '{pattern}' reaches more than {MAX_GLOB_PATHS} paths (a symbolic link to a parent folder?)")
        current = following
        if not current:
            break
    return [p for p in current if p != root]


# --- Loading ---------------------------------------------------------------------------------------------------


_DEFAULT_LIMITS = Limits()


def load_bundle(
    path: Path | None,
    cwd: Path | None = None,
    limits: Limits = _DEFAULT_LIMITS,
    workers: int = 1,
    prescan: Prescan | None = None,
    reader: FileReader = DISK,
) -> Bundle:
    """Read the root file and its includes, and merge them in order (root first).

    ``prescan`` tells, for a scalar's text, whether it could take part in a credential finding; each file notes
    whether any of its scalars could (``YamlDocument.may_hold_secrets``). Without it every file may.

    With ``workers`` above 1, a large set of included files is parsed by that many processes (see
    :func:`read_yaml_files`). ``reader`` may stand other texts in for files and reuse documents it read before.
    """
    cwd = cwd or Path.cwd()
    root_dir, root_path = find_root(path, cwd)
    root_dir = root_dir.resolve()
    root_path = root_path.resolve()
    problems: list[Problem] = []
    if root_path.name in ROOT_NAMES:
        # The CLI refuses a bundle folder with more than one root file, however the folder was found (a PATH, or
        # walking up); a root file given by another name (databricks.yml.example) is not such a folder's.
        present = [name for name in ROOT_NAMES if (root_dir / name).is_file()]
        if len(present) > 1:
            other = next(name for name in present if name != root_path.name)
            problems.append(
                Problem("DG004", f"several root files ({', '.join(present)}); the Databricks CLI refuses this", Loc(other, 1, 1))
            )
    root_rel = _rel(root_path, root_dir)
    try:
        root_text = _read_text(reader, root_path, limits.max_file_bytes)
    except OSError as exc:
        raise BundleError(f"{root_path}: cannot read: {exc.strerror or exc}") from None
    except Unreadable as exc:
        if not exc.line:
            raise BundleError(f"{root_path}: cannot read: {exc}") from None
        root_text = ""
        root_doc = YamlDocument(None, [Problem("DG001", str(exc), Loc(root_rel, exc.line, exc.column))])
    else:
        root_doc = _checked_root(reader.yaml(root_text, root_rel, limits, prescan), root_rel)
    files = {root_rel: SourceFile(root_rel, root_path, root_text, root_doc)}
    problems.extend(root_doc.problems)
    # The merged tree is a new mapping: merging copies each container of a file before changing it (see
    # merge_into), so that the documents read stay as they were and a reader may hand them out again.
    config = YMap()
    owned = {id(config)}
    if isinstance(root_doc.value, YMap):
        merge_into(config, root_doc.value, owned)

    resource_index: dict[str, tuple[str, Loc | None]] = {}
    _index_resources(config, resource_index, None)
    for rel, included in _includes(root_dir, root_rel, config, limits, problems, workers, prescan, reader):
        if rel in files:
            continue
        files[rel] = included
        problems.extend(included.doc.problems)
        value = included.doc.value
        if not isinstance(value, YMap):
            continue
        if "include" in value:
            problems.append(
                Problem("DG004", "'include' only works in the root configuration file; it is ignored here", value.key_locs["include"], Severity.WARNING)
            )
        _index_resources(value, resource_index, problems)
        merge_into(config, value, owned)
    return Bundle(root_dir, root_rel, files, config, problems, limits, reader)


def _read_text(reader: FileReader, path: Path, max_bytes: int) -> str:
    """The reader's text for ``path`` when it has one, else the file's (:func:`read_text`)."""
    text = reader.text(path)
    return read_text(path, max_bytes) if text is None else text


def _checked_root(doc: YamlDocument, rel: str) -> YamlDocument:
    if doc.value is not None and not isinstance(doc.value, YMap):
        doc.problems.append(Problem("DG002", "the configuration must be a mapping at the top level", Loc(rel, 1, 1)))
        doc.value = None
    return doc


def _includes(
    root_dir: Path,
    root_rel: str,
    config: YMap,
    limits: Limits,
    problems: list[Problem],
    workers: int = 1,
    prescan: Prescan | None = None,
    reader: FileReader = DISK,
) -> list[tuple[str, SourceFile]]:
    entries = config.get("include")
    if entries is None:
        return []
    if not isinstance(entries, list):
        return []  # the schema rule reports the wrong type
    out: list[tuple[str, SourceFile]] = []
    # As the CLI does, a root file name is never read as an include (`include: ["*.yml"]` must not read
    # databricks.yml again, nor a databricks.yml beside a root file given by another name).
    seen: set[str] = {root_rel, *ROOT_NAMES}
    seen_real: set[Path] = {(root_dir / root_rel).resolve()}
    # Includes may leave the bundle folder (`../shared/*.yml`) and are read wherever they are, as the CLI reads them:
    # reading runs nothing, and no report prints a credential it finds there. Only regular files are read.
    for i, entry in enumerate(entries):
        loc = entries.item_locs[i] if hasattr(entries, "item_locs") else Loc(root_rel, 1, 1)
        loc = loc or Loc(root_rel, 1, 1)
        if not isinstance(entry, str):
            continue
        if os.path.isabs(entry) or entry.startswith("/"):
            problems.append(Problem("DG004", f"include '{entry}' is absolute; includes must be relative to the bundle root", loc))
            continue
        try:
            matches = go_glob(root_dir, entry)
        except GlobTooWide as exc:
            problems.append(Problem("DG004", str(exc), loc))
            continue
        except ValueError as exc:
            problems.append(Problem("DG004", f"include '{entry}' is not a valid glob: {exc}", loc))
            continue
        # Every match is kept, as Go's filepath.Glob returns them: the CLI refuses a folder (or a broken or looping
        # symbolic link) that a glob matches, so each is reported below rather than silently skipped.
        if not matches:
            if has_glob(entry):
                problems.append(Problem("DG004", f"include '{entry}' matches no file", loc, Severity.WARNING))
            else:
                problems.append(Problem("DG004", f"include '{entry}': no such file", loc))
            continue
        for match in sorted(matches):
            rel = _rel(match, root_dir)
            if rel in seen:
                continue
            seen.add(rel)
            if not reader.include(rel):
                continue
            try:
                real = match.resolve(strict=True)
            except FileNotFoundError:
                problems.append(Problem("DG004", f"include '{entry}': {rel} does not exist (a broken symbolic link?)", loc))
                continue
            except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
                problems.append(Problem("DG004", f"include '{entry}': {rel} is a symbolic link loop", loc))
                continue
            if real in seen_real:
                continue  # the same file reached through a symbolic link
            seen_real.add(real)
            if match.is_dir():
                problems.append(Problem("DG004", f"include '{entry}' names a folder ({rel}), not a YAML or JSON file", loc))
                continue
            if not match.name.endswith(CONFIG_SUFFIXES):
                problems.append(Problem("DG004", f"include '{entry}' matches {rel}, which is not a .yml, .yaml or .json file", loc))
                continue
            try:
                text = _read_text(reader, real, limits.max_file_bytes)
            except OSError as exc:
                problems.append(Problem("DG004", f"cannot read included file {rel}: {exc.strerror or exc}", loc))
                continue
            except Unreadable as exc:
                if not exc.line:
                    problems.append(Problem("DG004", f"cannot read included file {rel}: {exc}", loc))
                    continue
                text = ""
                doc = YamlDocument(None, [Problem("DG001", str(exc), Loc(rel, exc.line, exc.column))])
                out.append((rel, SourceFile(rel, match, text, doc)))
                continue
            out.append((rel, SourceFile(rel, match, text, _UNREAD)))
    unread = [source for _, source in out if source.doc is _UNREAD]
    if reader is DISK:
        docs = read_yaml_files([(s.text, s.rel) for s in unread], limits, workers, prescan)
    else:
        docs = [reader.yaml(s.text, s.rel, limits, prescan) for s in unread]
    for source, doc in zip(unread, docs, strict=True):
        if doc.value is not None and not isinstance(doc.value, YMap):
            doc.problems.append(Problem("DG002", "an included file must be a mapping at the top level", Loc(source.rel, 1, 1)))
            doc.value = None
        source.doc = doc
    return out


_UNREAD = YamlDocument(None, [])  # a placeholder while an included file waits to be parsed with the others

# Below this much text, parsing takes a few milliseconds: not worth a second process.
_PARALLEL_TEXT = 256 * 1024


def read_yaml_files(files: list[tuple[str, str]], limits: Limits, workers: int, prescan: Prescan | None = None) -> list[YamlDocument]:
    """:func:`read_yaml` of each (text, rel), in order; split between ``workers`` processes when there is much text.

    A worker returns its documents pickled (they unpickle in a tenth of the time they take to read); positions
    name files by number, so every name is numbered here, before the fork, for the workers to use the same numbers.
    """
    if workers <= 1 or len(files) < 2 or sum(len(text) for text, _ in files) < _PARALLEL_TEXT:
        return [read_yaml(text, rel, limits, prescan) for text, rel in files]
    for _, rel in files:
        file_id(rel)
    size = -(-len(files) // workers)  # ceiling: contiguous shares of files, one per process
    shares = [files[start : start + size] for start in range(0, len(files), size)]
    read = map_forked(lambda share: [read_yaml(text, rel, limits, prescan) for text, rel in share], shares, workers)
    return [doc for share in read for doc in share]


def _index_resources(
    added: YMap, index: dict[str, tuple[str, Loc | None]], problems: list[Problem] | None
) -> None:
    """Record the resources a file defines; with ``problems``, report those another file defined already.

    The CLI rejects a resource key defined in two files (target overrides are not definitions).
    """
    resources = added.get("resources")
    if not isinstance(resources, YMap):
        return
    for kind, group in resources.items():
        if not isinstance(group, YMap):
            continue
        for name in group:
            loc = group.key_locs.get(name)
            if name in index and problems is not None:
                first_kind, first = index[name]
                where = f" (first defined at {first})" if first else ""
                problems.append(
                    Problem("DG005", f"resource '{name}' is defined twice: {first_kind}.{name}{where} and {kind}.{name}", loc or Loc("", 1, 1))
                )
            else:
                index[name] = (kind, loc)


def config_value(config: YMap, *keys: str) -> Any:
    node: Any = config
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node
