"""`dab-guard fix`: apply the fixes rules offer, as text edits, without disturbing anything else.

One way through: validate every target -> keep the fixes of the chosen findings -> drop those that one target would
want and another not -> drop conflicting edits -> apply the edits to the text that was read -> check every changed
file still parses -> write each file atomically, unless it changed since it was read.

A fix changes written text, and written text can serve more than one place: a value in the root file that several
targets inherit, a YAML anchor, a variable's default. Each fix names the written values it changes (its anchors);
it is applied only when every use of each anchor, in every target, has a finding with the very same fix. So a
fix for ``prod`` never changes what ``dev`` deploys unless ``dev`` needs the same change.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.reader import DISK, FileReader
from dab_guard.bundle.resolve import Target, apply_target
from dab_guard.bundle.yamlread import read_yaml
from dab_guard.config import Settings
from dab_guard.edits import PYTHON_BREAKS, YAML_BREAKS, SourceText, digest
from dab_guard.engine import FoundFix, Run, validate
from dab_guard.finding import Fix, TextEdit
from dab_guard.output import write_atomic
from dab_guard.rules.base import Rule

# The sections of a target that deploy something; unknown top-level keys (often a home for YAML anchors) are not uses.
_SECTIONS = ("bundle", "workspace", "artifacts", "resources", "sync", "permissions", "presets", "experimental", "scripts", "run_as")
_VAR_RE = re.compile(r"\$\{var(?:iables)?\.([A-Za-z0-9_-]+)")
_PYTHON_SUFFIXES = (".py", ".ipynb")


@dataclass
class FileChange:
    """One file's text before and after the fixes."""

    rel: str
    path: Path  # the file written (a symbolic link's target)
    data: bytes  # the bytes the edits were made on
    before: str
    after: str


@dataclass
class FixPlan:
    changes: list[FileChange] = field(default_factory=list)
    applied: list[FoundFix] = field(default_factory=list)  # one per distinct fix
    suggested: list[FoundFix] = field(default_factory=list)  # suggested fixes left out (no --unsafe-fixes)
    messages: list[str] = field(default_factory=list)


def plan_fixes(result: Run, *, unsafe: bool = False, targets: Sequence[str] = ()) -> FixPlan:
    """What the fixes of ``result`` change, file by file; nothing is written.

    ``result`` must hold every target of the bundle, so that a fix is checked against all of them; ``targets``
    limits which targets' findings are fixed.
    """
    plan = FixPlan()
    if not result.fixes:
        return plan
    uses = {name: _uses(target) for name, target in result.resolved.items()}
    offered: dict[str, Counter[tuple[tuple[TextEdit, ...], str]]] = {name: Counter() for name in result.resolved}
    for found in result.fixes:
        for anchor in found.fix.anchors:
            offered[found.target][(found.fix.edits, anchor)] += 1

    chosen: dict[tuple[TextEdit, ...], FoundFix] = {}
    seen: set[tuple[TextEdit, ...]] = set()  # each distinct fix is judged once, whichever targets offer it
    for found in sorted(result.fixes, key=lambda f: (f.finding, f.target)):
        edits = found.fix.edits
        if not edits or edits in seen or (targets and found.target not in targets):
            continue
        seen.add(edits)
        elsewhere = _unfixed_use(found.fix, uses, offered)
        if elsewhere is not None:
            plan.messages.append(f"{_where(found)}: not fixed: {elsewhere}")
        elif not found.fix.safe and not unsafe:
            plan.suggested.append(found)
        else:
            chosen[edits] = found

    root = result.bundle.root_dir.resolve()
    texts: dict[str, tuple[Path, bytes, str] | None] = {}
    kept: list[FoundFix] = []
    for found in chosen.values():
        problem: str | None = None
        for edit in found.fix.edits:
            if edit.file not in texts:
                try:
                    texts[edit.file] = _read(root, edit.file, result.bundle.reader)
                except _Refused as exc:
                    texts[edit.file] = None
                    plan.messages.append(f"{edit.file}: not fixed: {exc}")
            read = texts[edit.file]
            if read is None:
                problem = problem or ""  # already reported for the file
            elif edit.basis and digest(read[1]) != edit.basis:
                problem = f"{edit.file} changed since it was read; run dab-guard fix again"
        if problem is None:
            kept.append(found)
        elif problem:
            plan.messages.append(f"{_where(found)}: not fixed: {problem}")

    kept = _without_conflicts(kept, plan.messages)
    by_file: dict[str, list[TextEdit]] = {}
    for found in kept:
        for edit in found.fix.edits:
            by_file.setdefault(edit.file, [])
            if edit not in by_file[edit.file]:
                by_file[edit.file].append(edit)
    broken: list[str] = []
    for rel in sorted(by_file):
        read = texts[rel]
        assert read is not None
        path, data, text = read
        try:
            after = _apply(SourceText(rel, text, digest(data), _breaks(rel)), by_file[rel])
        except ValueError as exc:  # an edit outside the text: a rule's mistake, never a half-applied file
            broken.append(f"{rel}: {exc}")
            continue
        if after != text:
            plan.changes.append(FileChange(rel, path, data, text, after))
    broken.extend(problem for change in plan.changes if (problem := _parse_problem(change)) is not None)
    if broken:
        plan.messages.extend(f"nothing fixed: {problem}" for problem in broken)
        plan.changes, plan.applied = [], []
        return plan
    plan.applied = kept
    return plan


def _where(found: FoundFix) -> str:
    f = found.finding
    return f"{f.file}:{f.line}:{f.column}: {f.rule}"


class _Refused(Exception):
    pass


def _read(root: Path, rel: str, reader: FileReader = DISK) -> tuple[Path, bytes, str]:
    """The real path, bytes and text of file ``rel`` of the bundle (the reader's text standing in for it, as the
    run read it); _Refused when it must not or cannot be edited."""
    if os.path.isabs(rel) or rel.startswith("../") or rel == "..":
        raise _Refused("it lies outside the bundle folder")
    try:
        path = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        raise _Refused("it cannot be read") from None
    if not path.is_relative_to(root):
        raise _Refused("it lies outside the bundle folder")
    text = reader.text(path)
    if text is not None:
        return path, text.encode("utf-8"), text
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Refused(f"it cannot be read: {exc.strerror or exc}") from None
    try:
        return path, data, data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("it is not UTF-8 text") from None


def _breaks(rel: str) -> re.Pattern[str]:
    return PYTHON_BREAKS if rel.endswith(_PYTHON_SUFFIXES) else YAML_BREAKS


# --- who uses what: fixes must agree across targets -----------------------------------------------------------------


def _uses(target: Target) -> Counter[str]:
    """How many times the target uses each written key, value and variable value (the anchors fixes name)."""
    counts: Counter[str] = Counter()
    stack: list[Any] = []
    for key in _SECTIONS:
        if key in target.config:
            _count_entry(counts, target.config, key)
            stack.append(target.config[key])
    while stack:
        node = stack.pop()
        if isinstance(node, YMap):
            for key, value in node.items():
                _count_entry(counts, node, key)
                stack.append(value)
        elif isinstance(node, YSeq):
            for i, value in enumerate(node):
                loc = node.item_locs[i]
                if loc is not None:
                    counts[f"value@{loc}"] += 1
                stack.append(value)
    # A variable's value is used wherever `${var.NAME}` is written, before substitution, also inside other variables.
    raw = apply_target(target.bundle, target.name)
    raw_stack: list[Any] = [raw[key] for key in _SECTIONS if key in raw]
    raw_stack.extend(variable.value for variable in target.variables.values())
    while raw_stack:
        node = raw_stack.pop()
        if isinstance(node, str):
            for name in _VAR_RE.findall(node):
                variable = target.variables.get(name)
                if variable is not None and variable.value_loc is not None:
                    counts[f"var:{name}@{variable.value_loc}"] += 1
        elif isinstance(node, dict):
            raw_stack.extend(node.values())
        elif isinstance(node, list):
            raw_stack.extend(node)
    return counts


def _count_entry(counts: Counter[str], node: YMap, key: str) -> None:
    key_loc = node.key_locs.get(key)
    if key_loc is not None:
        counts[f"key@{key_loc}"] += 1
    val_loc = node.val_locs.get(key)
    if val_loc is not None:
        counts[f"value@{val_loc}"] += 1


def _unfixed_use(fix: Fix, uses: dict[str, Counter[str]], offered: dict[str, Counter[tuple[tuple[TextEdit, ...], str]]]) -> str | None:
    """Why the fix would change a use that does not ask for it (None when every use asks for the same fix)."""
    for name, counts in uses.items():
        for anchor in fix.anchors:
            wanted = offered[name][(fix.edits, anchor)]
            if counts[anchor] > wanted:
                what = _anchor_text(anchor)
                if wanted == 0:
                    return f"{what} also serves target '{name}', which does not need this change"
                return f"{what} also serves another place in target '{name}' that does not need this change"
    return None


def _anchor_text(anchor: str) -> str:
    kind, _, where = anchor.partition("@")
    if kind.startswith("var:"):
        return f"the value of ${{var.{kind[4:]}}} at {where}"
    return f"the text at {where}"


# --- edits --------------------------------------------------------------------------------------------------------


def _span(text: SourceText, edit: TextEdit) -> tuple[int, int]:
    return text.offset(edit.start_line, edit.start_col), text.offset(edit.end_line, edit.end_col)


def _without_conflicts(fixes: list[FoundFix], messages: list[str]) -> list[FoundFix]:
    """Drop every fix with an edit that overlaps a different edit of another fix (neither wins).

    Insertions of whole lines at the same place are not a conflict: they go in one after the other (two rules
    adding keys to one mapping).
    """
    kept = list(fixes)
    while True:
        edits = [(owner, edit) for owner, found in enumerate(kept) for edit in found.fix.edits]
        clash: set[int] = set()
        for x, (owner_a, edit_a) in enumerate(edits):
            for owner_b, edit_b in edits[x + 1 :]:
                if owner_a != owner_b and edit_a != edit_b and edit_a.file == edit_b.file and _overlap(edit_a, edit_b):
                    clash.update((owner_a, owner_b))
        if not clash:
            return kept
        for owner in sorted(clash):
            messages.append(f"{_where(kept[owner])}: not fixed: its edit overlaps the fix of another finding")
        kept = [found for owner, found in enumerate(kept) if owner not in clash]


def _overlap(a: TextEdit, b: TextEdit) -> bool:
    a_start, a_end = (a.start_line, a.start_col), (a.end_line, a.end_col)
    b_start, b_end = (b.start_line, b.start_col), (b.end_line, b.end_col)
    if a_start == a_end and b_start == b_end:  # two insertions
        whole_lines = a_start[1] == 1 and a.new_text.endswith("\n") and b.new_text.endswith("\n")
        return a_start == b_start and not whole_lines
    if a_start == a_end:
        return b_start <= a_start < b_end
    if b_start == b_end:
        return a_start <= b_start < a_end
    return a_start < b_end and b_start < a_end


def _apply(text: SourceText, edits: list[TextEdit]) -> str:
    """``text`` with ``edits`` made, from the last to the first (insertions at one place keep their order)."""
    spans = [(_span(text, edit), order, edit) for order, edit in enumerate(edits)]
    out = text.text
    for (start, end), _, edit in sorted(spans, key=lambda item: (item[0], item[1]), reverse=True):
        out = out[:start] + edit.new_text + out[end:]
    return out


def _parse_problem(change: FileChange) -> str | None:
    """Why the fixed file no longer reads as well as before (None when it does)."""
    if change.rel.endswith(_PYTHON_SUFFIXES):
        from dab_guard.python.sources import parse_source

        before = parse_source(change.rel, change.before.encode("utf-8"))
        after = parse_source(change.rel, change.after.encode("utf-8"))
        if before.tree is not None and after.tree is None:
            reason = after.problem.message if after.problem else "it does not parse"
            return f"{change.rel} would no longer parse as Python ({reason})"
        return None
    before_doc = read_yaml(change.before, change.rel)
    after_doc = read_yaml(change.after, change.rel)
    worse = (before_doc.value is not None and after_doc.value is None) or _reading_problems(after_doc.problems) > _reading_problems(before_doc.problems)
    if worse:
        first = next((p for p in after_doc.problems if p.rule in ("DG001", "DG005")), None)
        reason = f"{first.message} at line {first.loc.line}" if first else "it does not parse"
        return f"{change.rel} would no longer parse as YAML ({reason})"
    return None


def _reading_problems(problems: Sequence[Any]) -> int:
    return sum(1 for problem in problems if problem.rule in ("DG001", "DG005"))


# --- output -------------------------------------------------------------------------------------------------------


def unified_diff(changes: Sequence[FileChange], mask: Callable[[str], str] | None = None) -> str:
    """The changes as one unified diff, paths relative to the bundle root with ``a/`` and ``b/`` prefixes.

    ``mask`` hides credentials that context lines would otherwise print (a masked line cannot be applied as a
    patch, which is the lesser harm).
    """
    out: list[str] = []
    for change in changes:
        before, after = _lines(change.before), _lines(change.after)
        for line in difflib.unified_diff(before, after, f"a/{change.rel}", f"b/{change.rel}"):
            out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    text = "".join(out)
    return mask(text) if mask is not None else text


def _lines(text: str) -> list[str]:
    """Lines with their own endings (CRLF stays CRLF in the diff)."""
    lines: list[str] = []
    start = 0
    for match in PYTHON_BREAKS.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def write_changes(plan: FixPlan) -> list[FileChange]:
    """Write each changed file atomically, unless its bytes changed since the plan read them; the files written."""
    written: list[FileChange] = []
    for change in plan.changes:
        try:
            current = change.path.read_bytes()
        except OSError as exc:
            plan.messages.append(f"{change.rel}: not fixed: it cannot be read: {exc.strerror or exc}")
            continue
        if current != change.data:
            plan.messages.append(f"{change.rel}: not fixed: it changed since it was read; run dab-guard fix again")
            continue
        write_atomic(change.path, change.after)
        written.append(change)
    return written


# --- the command --------------------------------------------------------------------------------------------------


@dataclass
class FixOutcome:
    plan: FixPlan
    written: list[FileChange]
    result: Run | None = None  # the validation the plan came from

    def fixed_count(self) -> int:
        files = {change.rel for change in self.written}
        return sum(1 for found in self.plan.applied if any(edit.file in files for edit in found.fix.edits))

    def summary(self, unsafe_hint: bool = True) -> Iterator[str]:
        if self.written:
            count, files = self.fixed_count(), len(self.written)
            yield f"fixed {count} finding{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}"
        if self.plan.suggested and unsafe_hint:
            n = len(self.plan.suggested)
            yield (
                f"{n} more fix{'es are' if n != 1 else ' is'} only suggested: see {'them' if n != 1 else 'it'} with "
                "`dab-guard fix --diff --unsafe-fixes`, apply with --unsafe-fixes"
            )


def run_fix(
    path: Path | None,
    *,
    settings: Settings,
    targets: Sequence[str] = (),
    variables: dict[str, str] | None = None,
    unsafe: bool = False,
    write: bool = True,
    cwd: Path | None = None,
    extra_rules: Sequence[type[Rule]] = (),
) -> FixOutcome:
    """Plan the fixes of the bundle at ``path`` (checked in every target) and, with ``write``, make them."""
    result = validate(path, settings=settings, variables=variables, cwd=cwd, extra_rules=extra_rules, fixes=True)
    if targets:
        from dab_guard.engine import choose_targets

        choose_targets(result.bundle, targets)  # an unknown target is a usage error, as in validate
    plan = plan_fixes(result, unsafe=unsafe, targets=targets)
    written = write_changes(plan) if write else []
    return FixOutcome(plan, written, result)


def describe_suggested(plan: FixPlan) -> Iterator[str]:
    for found in plan.suggested:
        yield f"{_where(found)}: suggested fix (apply with --unsafe-fixes): {found.fix.description}"

