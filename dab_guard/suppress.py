"""Inline suppression comments.

YAML: ``# dab-guard: ignore[DG104]`` (ids comma-separated; a bare ``ignore`` means every rule) at the end of the
finding's line, or alone on the line above it. Python: ``# noqa: DG201`` (ids comma-separated) on the finding's line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALL = "*"

_YAML_RE = re.compile(r"#\s*dab-guard:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_NOQA_RE = re.compile(r"#\s*noqa:\s*((?:DG\d+[\s,]*)+)", re.IGNORECASE)


def _ids(text: str | None) -> set[str]:
    if not text:
        return {ALL}
    return {part.strip().upper() for part in re.split(r"[\s,]+", text) if part.strip()}


def yaml_suppressions(text: str) -> dict[int, set[str]]:
    """Line number (1-based) -> rule ids suppressed on that line."""
    out: dict[int, set[str]] = {}
    if "dab-guard:" not in text:
        return out
    for number, line in enumerate(text.splitlines(), start=1):
        match = _YAML_RE.search(line)
        if not match:
            continue
        ids = _ids(match.group(1))
        # A comment alone on its line covers the next line; one after content covers its own line.
        target = number + 1 if line[: match.start()].strip() == "" else number
        out.setdefault(target, set()).update(ids)
    return out


def python_suppressions(lines: Iterable[tuple[int, str]]) -> dict[int, set[str]]:
    """From (line, comment text) pairs, as ``tokenize`` gives them: line -> rule ids suppressed."""
    out: dict[int, set[str]] = {}
    for number, comment in lines:
        match = _NOQA_RE.search(comment)
        if match:
            out.setdefault(number, set()).update(_ids(match.group(1)))
    return out


def is_suppressed(table: dict[int, set[str]], line: int, rule_id: str) -> bool:
    ids = table.get(line)
    return bool(ids) and (ALL in ids or rule_id in ids)  # type: ignore[operator]
