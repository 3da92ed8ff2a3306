"""pre-commit support: from the changed files pre-commit passes, the bundle roots to validate, each once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from dab_guard.bundle.loader import ROOT_NAMES
from dab_guard.repo import work_tree_root


def bundle_root_of(file: Path, cwd: Path) -> Path | None:
    """The nearest folder at or above ``file`` that holds a bundle root file, without leaving its repository.

    The search stops at the git work tree root holding the file (else at ``cwd`` when the file lies under it), so a
    stray ``databricks.yml`` above the repository is never picked up.
    """
    absolute = Path(os.path.abspath(cwd / file))
    start = absolute if absolute.is_dir() else absolute.parent
    ceiling = work_tree_root(start)
    if ceiling is None:
        cwd_abs = Path(os.path.abspath(cwd))
        ceiling = cwd_abs if start == cwd_abs or cwd_abs in start.parents else start
    for folder in (start, *start.parents):
        if any((folder / name).is_file() for name in ROOT_NAMES):
            return folder
        if folder == ceiling:
            break
    return None


def bundle_roots(files: Iterable[Path], cwd: Path) -> list[Path]:
    """Each bundle root that holds one of ``files``, once, in the order first seen (paths as given: relative to cwd)."""
    roots: dict[Path, None] = {}
    cwd_abs = Path(os.path.abspath(cwd))
    for file in files:
        root = bundle_root_of(file, cwd)
        if root is None:
            continue
        try:
            shown = root.relative_to(cwd_abs)
        except ValueError:
            shown = root
        roots.setdefault(shown, None)
    return list(roots)
