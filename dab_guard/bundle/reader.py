"""How a run reads a bundle's files: from disk, or with an editor's unsaved texts standing in for some of them.

The command line always reads the disk (:data:`DISK`). The language server passes a subclass that overlays the
texts of open documents and reuses what it parsed before, keyed by content, so that one edit re-parses one file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dab_guard.bundle.yamlread import Limits, Prescan, YamlDocument, read_yaml

_T = TypeVar("_T")


class FileReader:
    """Reads every file from disk and parses it afresh."""

    def text(self, path: Path) -> str | None:
        """The text standing in for the file at ``path`` (absolute, symbolic links resolved); None: read the disk."""
        return None

    def yaml(self, text: str, rel: str, limits: Limits, prescan: Prescan | None = None) -> YamlDocument:
        """``text`` (of bundle file ``rel``) read as YAML (``prescan``: see :func:`read_yaml`). The document is never
        changed by the loader, so a subclass may return one it read before from the same text."""
        return read_yaml(text, rel, limits, prescan)

    def python(self, rel: str, data: bytes, parse: Callable[[str, bytes], _T]) -> _T:
        """``parse(rel, data)``: a Python file parsed; a subclass may return what it parsed before from the same bytes."""
        return parse(rel, data)

    def include(self, rel: str) -> bool:
        """Whether to read the included file ``rel`` (a server checks a few files of a large bundle at a time)."""
        return True


DISK = FileReader()
