"""Findings: the plain values every rule produces and every reporter consumes."""

from __future__ import annotations

import dataclasses
import enum
import posixpath
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple


class Severity(enum.IntEnum):
    """How much a finding matters; ordered so that ``max()`` gives the worst."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or info)") from None


class Loc(NamedTuple):
    """A position in a source file: the path relative to the bundle root (with ``/``), 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# A bundle path as rules build it: keys and list indices from the root of the resolved configuration.
PathParts = tuple[str | int, ...]


@lru_cache(maxsize=4096)
def _plain_key(part: str) -> bool:
    """Whether a key can be written after a dot (letters, digits, ``_`` and ``-``)."""
    return bool(part) and all(c.isalnum() or c in "_-" for c in part)


def format_path(parts: PathParts) -> str:
    """``("resources", "jobs", "x", "tasks", 0)`` -> ``resources.jobs.x.tasks[0]``."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _plain_key(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f'["{part}"]')
    return "".join(out)


@dataclass(frozen=True, order=True)
class TextEdit:
    """Replace the text between two positions of a file with ``new_text`` (start == end: an insertion).

    Positions are those of :class:`Loc` (1-based line and column, in characters), on the text of the file as it
    was read; the end is exclusive. ``basis`` is the SHA-256 of that file's bytes, so an edit is never applied to
    a file that has changed since.
    """

    file: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    new_text: str
    basis: str = ""


@dataclass(frozen=True)
class Fix:
    """How `dab-guard fix` repairs one finding: text edits, described as data and applied by ``dab_guard.fix``.

    ``safe`` fixes make the change the user clearly intended; the others are only suggested (``--unsafe-fixes``).
    ``anchors`` name the written values the edits change (``key@file:line:col``, ``value@...``,
    ``var:NAME@...``); a fix is applied only when every use of them, in every target, asks for the same edits.
    """

    description: str
    edits: tuple[TextEdit, ...]
    safe: bool = True
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """What a rule yields: a message about a bundle path, or about an explicit source position.

    The engine turns a report into a :class:`Finding` by locating the path in the loaded YAML.
    """

    message: str
    path: PathParts = ()
    severity: Severity | None = None  # None: the rule's default
    at: Loc | None = None  # an explicit position (Python files, raw YAML problems)
    on_key: bool = False  # point at the key of the last path element instead of its value
    fix: Fix | None = None  # the edit that repairs it, when there is one right answer


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, located and attributed to the targets it was seen in."""

    file: str
    line: int
    column: int
    rule: str
    name: str = field(compare=False)
    severity: Severity = field(compare=False)
    message: str = field(compare=False)
    path: str = field(default="", compare=False)
    targets: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.label,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "targets": list(self.targets),
        }


def shown_from(folder: str, finding: Finding) -> Finding:
    """``finding`` with its file shown from the folder that holds the bundle (``bundles/a`` + ``databricks.yml``)."""
    if not folder or folder == "." or not finding.file or finding.file.startswith("<"):
        return finding
    return dataclasses.replace(finding, file=posixpath.normpath(posixpath.join(folder, finding.file)))
