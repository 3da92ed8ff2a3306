"""Find a bundle, read its root file and its includes, and merge them into one located tree."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dab_guard.bundle.located import YMap
from dab_guard.bundle.merge import merge
from dab_guard.bundle.yamlread import Limits, Problem, YamlDocument, read_yaml
from dab_guard.finding import Loc, Severity

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


def find_root(path: Path | None, cwd: Path) -> tuple[Path, Path]:
    """The bundle folder and its root configuration file, for a PATH argument or the working directory."""
    if path is None:
        for folder in (cwd, *cwd.parents):
            for name in ROOT_NAMES:
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


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


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
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def go_glob(root: Path, pattern: str) -> list[Path]:
    """Files and folders under ``root`` matching ``pattern`` segment by segment, sorted like Go's filepath.Glob."""
    current = [root]
    for segment in pattern.split("/"):
        if segment in ("", "."):
            continue
        following: list[Path] = []
        if not has_glob(segment):
            following = [p / segment for p in current if (p / segment).exists() or segment == ".."]
        else:
            regex = _segment_regex(segment)
            for folder in current:
                try:
                    names = sorted(os.listdir(folder))
                except OSError:
                    continue
                following.extend(folder / name for name in names if regex.match(name))
        current = following
        if not current:
            break
    return [p for p in current if p != root]


# --- Loading ---------------------------------------------------------------------------------------------------


def load_bundle(path: Path | None, cwd: Path | None = None, limits: Limits = Limits()) -> Bundle:
    """Read the root file and its includes, and merge them in order (root first)."""
    cwd = cwd or Path.cwd()
    root_dir, root_path = find_root(path, cwd)
    root_dir = root_dir.resolve()
    root_path = root_path.resolve()
    problems: list[Problem] = []
    if path is not None and path.is_dir():
        present = [name for name in ROOT_NAMES if (root_dir / name).is_file()]
        if len(present) > 1:
            problems.append(
                Problem("DG004", f"several root files ({', '.join(present)}); the Databricks CLI refuses this", Loc(present[1], 1, 1))
            )
    try:
        root_text = _read_text(root_path)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{root_path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    root_rel = _rel(root_path, root_dir)
    root_doc = _checked_root(read_yaml(root_text, root_rel, limits), root_rel)
    files = {root_rel: SourceFile(root_rel, root_path, root_text, root_doc)}
    problems.extend(root_doc.problems)
    config = root_doc.value if isinstance(root_doc.value, YMap) else YMap()

    for rel, included in _includes(root_dir, root_rel, config, limits, problems):
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
        _check_duplicate_resources(config, value, problems)
        config = merge(config, value)
    return Bundle(root_dir, root_rel, files, config, problems)


def _checked_root(doc: YamlDocument, rel: str) -> YamlDocument:
    if doc.value is not None and not isinstance(doc.value, YMap):
        doc.problems.append(Problem("DG002", "the configuration must be a mapping at the top level", Loc(rel, 1, 1)))
        doc.value = None
    return doc


def _includes(root_dir: Path, root_rel: str, config: YMap, limits: Limits, problems: list[Problem]) -> list[tuple[str, SourceFile]]:
    entries = config.get("include")
    if entries is None:
        return []
    if not isinstance(entries, list):
        return []  # the schema rule reports the wrong type
    out: list[tuple[str, SourceFile]] = []
    seen: set[str] = {root_rel}
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
        except ValueError as exc:
            problems.append(Problem("DG004", f"include '{entry}' is not a valid glob: {exc}", loc))
            continue
        matches = [m for m in matches if m.is_file()] if has_glob(entry) else matches
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
            if match.is_dir():
                problems.append(Problem("DG004", f"include '{entry}' names a folder ({rel}), not a file", loc))
                continue
            if not match.name.endswith(CONFIG_SUFFIXES):
                problems.append(Problem("DG004", f"include '{entry}' matches {rel}, which is not a .yml, .yaml or .json file", loc))
                continue
            try:
                text = _read_text(match)
            except (OSError, ValueError) as exc:
                problems.append(Problem("DG004", f"cannot read included file {rel}: {getattr(exc, 'strerror', None) or exc}", loc))
                continue
            doc = read_yaml(text, rel, limits)
            if doc.value is not None and not isinstance(doc.value, YMap):
                doc.problems.append(Problem("DG002", "an included file must be a mapping at the top level", Loc(rel, 1, 1)))
                doc.value = None
            out.append((rel, SourceFile(rel, match, text, doc)))
    return out


def _check_duplicate_resources(config: YMap, added: YMap, problems: list[Problem]) -> None:
    """A resource key defined in two files is an error in the CLI (target overrides are not definitions)."""
    old = config.get("resources")
    new = added.get("resources")
    if not isinstance(old, YMap) or not isinstance(new, YMap):
        return
    existing: dict[str, tuple[str, Loc | None]] = {}
    for kind, group in old.items():
        if isinstance(group, YMap):
            for name in group:
                existing[name] = (kind, group.key_locs.get(name))
    for kind, group in new.items():
        if not isinstance(group, YMap):
            continue
        for name in group:
            if name in existing:
                first_kind, first = existing[name]
                where = f" (first defined at {first})" if first else ""
                problems.append(
                    Problem("DG005", f"resource '{name}' is defined twice: {first_kind}.{name}{where} and {kind}.{name}", group.key_locs.get(name) or Loc("", 1, 1))
                )


def config_value(config: YMap, *keys: str) -> Any:
    node: Any = config
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node
