"""Where a bundle sits in its repository: the git work tree root, found without running git."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def work_tree_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git``, or None outside git.

    ``.git`` is a folder in a plain clone and a file in worktrees and submodules; both mark a work tree root.
    """
    folder = Path(os.path.abspath(start))
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


class RepoPaths:
    """Turns a finding's file (relative to the bundle root) into a path relative to the repository root.

    Outside git, paths stay relative to the bundle root. A file outside the repository keeps its bundle-relative
    form, and a name that is not a path (``<stdin>``) is left alone.
    """

    def __init__(self, bundle_root: Path) -> None:
        self.bundle_root = Path(os.path.abspath(bundle_root))
        self.root = work_tree_root(self.bundle_root) or self.bundle_root

    def relative(self, file: str) -> str:
        if not file or file.startswith("<"):
            return file
        absolute = os.path.normpath(os.path.join(self.bundle_root, file))
        try:
            rel = os.path.relpath(absolute, self.root)
        except ValueError:  # another drive on Windows
            return file
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return file
        return PurePosixPath(*Path(rel).parts).as_posix()
