"""The bundles below a folder that is none itself (a repository of several bundles: ``bundles/a``, ``bundles/b``).

A bundle root is a folder with one of the root file names; the folders inside a bundle are its own, so the search
does not go into them. It passes over ``.git``, virtual environments, ``node_modules``, ``.databricks`` and what the
``.gitignore`` files met on the way ignore (the patterns git uses: ``*``, ``**``, ``?``, ``[...]``, a leading or inner
``/`` anchoring, a trailing ``/`` for folders only, ``!`` to take a path back). Nothing is run, not even git.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dab_guard.bundle.loader import ROOT_NAMES

SKIPPED = frozenset({".git", ".venv", "venv", "node_modules", ".databricks", "__pycache__", ".tox", ".mypy_cache"})
MAX_FOLDERS = 100_000  # folders looked at, at most: a repository has a few thousand


@dataclass(frozen=True)
class _Pattern:
    base: str  # the folder of the .gitignore, relative to the search root ("" at the root)
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def find_bundles(folder: Path) -> list[Path]:
    """Every bundle root below ``folder``, not inside another bundle, in path order."""
    found: list[Path] = []
    patterns: list[_Pattern] = []
    seen = 0
    for current, subfolders, files in os.walk(folder):
        seen += 1
        if seen > MAX_FOLDERS:
            break
        here = Path(current)
        rel = here.relative_to(folder).as_posix()
        rel = "" if rel == "." else rel
        if here != folder and any(name in files for name in ROOT_NAMES):
            found.append(here)
            subfolders[:] = []  # the bundle's folders are its own
            continue
        if ".gitignore" in files:
            patterns.extend(_read_gitignore(here / ".gitignore", rel))
        kept = []
        for name in sorted(subfolders):
            path = f"{rel}/{name}" if rel else name
            if name in SKIPPED or os.path.islink(here / name) or _ignored(patterns, path, True):
                continue
            kept.append(name)
        subfolders[:] = kept
    return found


def _read_gitignore(path: Path, base: str) -> list[_Pattern]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    patterns = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        patterns.append(_Pattern(base, _regex(line, anchored), negated, folders_only))
    return patterns


@lru_cache(maxsize=1024)
def _regex(pattern: str, anchored: bool) -> re.Pattern[str]:
    """A gitignore pattern as a regex on a path relative to its .gitignore's folder."""
    parts = []
    for i, segment in enumerate(pattern.split("/")):
        if segment == "**":
            parts.append("(?:.*/)?" if i < len(pattern.split("/")) - 1 else ".*")
            continue
        parts.append(fnmatch.translate(segment).removesuffix("\\Z").replace(".*", "[^/]*") + ("/" if i < len(pattern.split("/")) - 1 else ""))
    body = "".join(parts)
    return re.compile(("" if anchored else "(?:.*/)?") + body + r"(?:/.*)?\Z", re.DOTALL)


def _ignored(patterns: list[_Pattern], path: str, is_folder: bool) -> bool:
    ignored = False
    for pattern in patterns:
        if pattern.base and not path.startswith(pattern.base + "/"):
            continue
        rel = path[len(pattern.base) + 1 :] if pattern.base else path
        if pattern.folders_only and not is_folder:
            continue
        if pattern.regex.match(rel):
            ignored = not pattern.negated
    return ignored
