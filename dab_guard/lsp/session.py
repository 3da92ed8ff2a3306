"""One bundle as the language server checks it: the editor's unsaved texts over the disk, and what can be reused.

A *full* check loads every file and runs every rule on every target, as ``dab-guard validate`` does; it is the
baseline. Between two full checks an edit is checked *quickly*, on a slice of the bundle: the root file and the files
the edit touches (an included YAML file, or the files defining the jobs that run an edited script, with the files
defining the resources they refer to). The findings of that slice that belong to what changed (findings in the edited
files, or under the resources those files define or run) replace the baseline's; every other finding is the
baseline's. An edit of the root file inside ``targets.<name>`` sections only checks those targets again, on the whole
bundle, and keeps every other target's findings. Edits whose reach a slice cannot see (the rest of the root file:
variables, includes; a resource key two files define, a module imported by scripts) are checked in full at once. What a slice may still miss (a rule that compares the
edited resources with others, a script that jobs of other files run too) lasts only until edits pause: then a full
check follows and replaces it.

What makes either fast: every YAML file is parsed once per text (the reader keeps each document by its text), every
Python file once per content (its facts ride on the parsed source), and the slice's rules run on a handful of jobs.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dab_guard.bundle.loader import Bundle, BundleError, load_bundle
from dab_guard.bundle.located import YMap, plain
from dab_guard.bundle.reader import FileReader
from dab_guard.bundle.yamlread import Limits, Prescan, YamlDocument, read_yaml
from dab_guard.config import Settings, load_settings
from dab_guard.engine import RULE_NAMES, Run, limits_from, validate
from dab_guard.finding import Finding, format_path
from dab_guard.fix import FixPlan, plan_fixes
from dab_guard.jobs.files import cache_for, entry_points, use_cache
from dab_guard.secrets import could_take_part

_T = TypeVar("_T")
# A slice bigger than this is no quicker than a full check of a large bundle's worth of its files.
MAX_SLICE_FILES = 40
# Rules whose findings a slice never replaces: DG113 reports in the repository's shell scripts, Makefiles and CI files,
# which are neither edited through the slice nor under a resource. A slice leaves them out rather than read them all.
_NOT_IN_SLICES = ("DG113",)
_RESOURCE_REFERENCE = re.compile(r"\$\{resources\.([^.}\s]+)\.([^.}\s\[]+)")


class CachingReader(FileReader):
    """The editor's texts over the disk, and every document parsed kept by its text until a full load drops it."""

    def __init__(self) -> None:
        self.texts: dict[Path, str] = {}  # the open documents' texts for this run, by resolved path
        self.interrupt: Callable[[], None] | None = None  # called as files are read (see BundleSession.stop)
        self.only: set[str] | None = None  # the included files a slice reads (None: all of them)
        self._yaml: dict[tuple[str, str, Limits, bool], YamlDocument] = {}
        self._python: dict[tuple[str, bytes], Any] = {}
        self._used: set[Any] = set()
        self._lock = threading.Lock()

    def text(self, path: Path) -> str | None:
        return self.texts.get(path)

    def yaml(self, text: str, rel: str, limits: Limits, prescan: Prescan | None = None) -> YamlDocument:
        key = (rel, text, limits, prescan is not None)  # the pre-scan only sets may_hold_secrets
        doc = self._yaml.get(key)
        if doc is None:
            doc = self._yaml[key] = read_yaml(text, rel, limits, prescan)
        self._used.add(key)
        return doc

    def python(self, rel: str, data: bytes, parse: Callable[[str, bytes], _T]) -> _T:
        key = (rel, data)
        source = self._python.get(key)
        if source is None:
            source = self._python[key] = parse(rel, data)
        self._used.add(key)
        return source

    def include(self, rel: str) -> bool:
        if self.interrupt is not None:
            self.interrupt()
        return self.only is None or rel in self.only

    def start_full(self) -> None:
        self._used = set()

    def drop_unused(self) -> None:
        """Forget what the last full load did not use (old texts of edited files), so memory stays bounded."""
        self._yaml = {k: v for k, v in self._yaml.items() if k in self._used}
        self._python = {k: v for k, v in self._python.items() if k in self._used}


def _prefix(kind: str, name: str) -> str:
    return format_path(("resources", kind, name))


def _under(path: str, prefixes: set[str]) -> bool:
    """Whether the bundle path ``path`` lies in one of the resources ``prefixes`` names."""
    for prefix in prefixes:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] in ".["):
            return True
    return False


def _defined(doc: YamlDocument | None) -> set[tuple[str, str]]:
    """The (kind, name) of each resource a file defines."""
    value = doc.value if doc is not None else None
    resources = value.get("resources") if isinstance(value, YMap) else None
    if not isinstance(resources, YMap):
        return set()
    return {(kind, name) for kind, group in resources.items() if isinstance(group, YMap) for name in group}


def _only_resources(doc: YamlDocument | None) -> bool:
    """A file that defines resources and nothing else: what it changes cannot reach another file's resources."""
    value = doc.value if doc is not None else None
    return value is None or (isinstance(value, YMap) and set(value) <= {"resources"})


@dataclass
class Part:
    """Findings published from one check, with the check's result (where their fixes come from)."""

    result: Run
    findings: list[Finding]
    whole: bool  # a full check (its fixes were weighed against every target)


@dataclass
class Baseline:
    """The last full check and what the quick checks need to know of it."""

    result: Run
    texts: dict[Path, str]  # the editor texts it was made with
    resources_of: dict[str, set[tuple[str, str]]]  # YAML file -> the resources it defines
    files_of: dict[str, set[str]]  # resource name -> the files that define it
    runners: dict[str, set[tuple[str, str]]]  # entry-point script -> the jobs whose tasks run it


@dataclass
class Outcome:
    findings: list[Finding]
    parts: list[Part]
    quick: bool
    error: str | None = None  # why the bundle could not be checked at all (no usable root file)
    superseded: bool = False  # a full check stopped because an edit came in: nothing to publish


class Superseded(Exception):
    """Raised inside a full check that an edit made out of date (see ``BundleSession.stop``)."""


@dataclass
class BundleSession:
    """One bundle of the workspace. Not thread-safe: the server runs every check of a bundle in one worker."""

    root_dir: Path
    online: bool = False
    reader: CachingReader = field(default_factory=CachingReader)
    # Set (from another thread) when an edit makes the full check under way out of date: the check stops at the
    # next file it reads or rule it runs, so the edit's quick check need not wait for it.
    stop: threading.Event = field(default_factory=threading.Event)
    baseline: Baseline | None = None
    parts: list[Part] = field(default_factory=list)
    _plans: dict[tuple[int, bool], FixPlan] = field(default_factory=dict)

    # --- settings ---------------------------------------------------------------------------------------------

    def settings(self) -> Settings:
        settings = load_settings(self.root_dir, rules=RULE_NAMES)
        settings.jobs = 1  # no forked workers from inside a server with threads
        return settings

    # --- checks -----------------------------------------------------------------------------------------------

    def check(self, texts: Mapping[Path, str], changed: Iterable[Path] = (), full: bool = False) -> Outcome:
        """Check the bundle with ``texts`` standing in for files; quickly when ``changed`` allows and not ``full``."""
        texts = dict(texts)
        # Workspace facts are asked by a full check only: online, every check is one.
        if not full and not self.online and self.baseline is not None:
            quick = self._quick(texts)
            if quick is not None:
                return quick
        return self._full(texts)

    def _full(self, texts: dict[Path, str]) -> Outcome:
        self.reader.texts = texts
        self.reader.only = None
        self.reader.start_full()
        try:
            settings = self.settings()
            self.reader.interrupt = self._interrupt if self.baseline is not None else None
            bundle = load_bundle(self.root_dir, self.root_dir, limits_from(settings), 1, could_take_part, self.reader)
            result = self._validate(bundle, settings)
        except Superseded:
            return Outcome([], [], False, superseded=True)  # the last baseline stays: quick checks go on from it
        except BundleError as exc:
            self.baseline = None
            self.parts = []
            return Outcome([], [], False, str(exc))
        finally:
            self.reader.interrupt = None
        self.reader.drop_unused()
        self.baseline = _baseline(result, texts)
        self.parts = [Part(result, list(result.findings), True)]
        self._plans = {}
        return Outcome(list(result.findings), self.parts, False)

    def _validate(self, bundle: Bundle, settings: Settings) -> Run:
        if self.online:
            from dab_guard.lsp.online import validate_online

            return validate_online(bundle, settings)
        return validate(None, settings=settings, bundle=bundle, fixes=True, interrupt=self._interrupt if self.baseline is not None else None)

    def _interrupt(self) -> None:
        if self.stop.is_set():
            raise Superseded

    def _quick(self, texts: dict[Path, str]) -> Outcome | None:
        """The slice check of what changed since the baseline, or None when only a full check can be trusted."""
        base = self.baseline
        assert base is not None
        bundle = base.result.bundle
        root = bundle.root_dir
        changed = {p for p in set(texts) | set(base.texts) if texts.get(p) != base.texts.get(p)}
        if not changed:
            self.parts = [Part(base.result, list(base.result.findings), True)]
            self._plans = {}
            return Outcome(list(base.result.findings), self.parts, True)
        rels: set[str] = set()
        for path in changed:
            try:
                rels.add(path.relative_to(root).as_posix())
            except ValueError:
                return None  # an include outside the bundle folder, or a file of another bundle
        slice_files: set[str] = set()
        prefixes: set[str] = set()
        limits = bundle.limits
        if rels == {bundle.root_file}:
            return self._targets_only(texts, base)
        for rel in rels:
            if rel.endswith((".yml", ".yaml", ".json")):
                if rel == bundle.root_file or rel not in bundle.files:
                    return None  # the root file reaches everything; a file not included yet changes the includes
                old = bundle.files[rel].doc
                new_text = texts.get(root / rel)
                new = self.reader.yaml(new_text, rel, limits) if new_text is not None else None
                if new is None or not (_only_resources(old) and _only_resources(new)):
                    return None
                names = _defined(old) | _defined(new)
                for _, name in _defined(new):
                    if base.files_of.get(name, {rel}) - {rel}:
                        return None  # defined in another file too: a duplicate only the whole bundle shows
                if any(f.rule == "DG005" and f.file == rel for f in base.result.findings):
                    return None
                slice_files.add(rel)
                prefixes.update(_prefix(kind, name) for kind, name in names)
                for _kind, name in set(_RESOURCE_REFERENCE.findall(new_text or "")):
                    slice_files.update(base.files_of.get(name, ()))
            elif rel in base.runners:
                for kind, name in base.runners[rel]:
                    prefixes.add(_prefix(kind, name))
                    slice_files.update(base.files_of.get(name, ()))
            else:
                return None  # a module imported by scripts, a requirements file: who depends on it is not known here
        slice_files.discard(bundle.root_file)
        if len(slice_files) > MAX_SLICE_FILES:
            return None
        self.reader.texts = texts
        self.reader.only = slice_files
        self.reader.interrupt = None
        try:
            settings = self.settings()
            settings.ignore.extend(_NOT_IN_SLICES)
            part_bundle = load_bundle(root, root, limits_from(settings), 1, could_take_part, self.reader)
            # Python files as the full check read them, but for the edited ones (no file read or parsed again).
            use_cache(part_bundle, cache_for(bundle).carried_over(rels))
            result = validate(None, settings=settings, bundle=part_bundle, fixes=True)
        except BundleError:
            return None
        finally:
            self.reader.only = None

        def affected(finding: Finding) -> bool:
            return finding.file in rels or _under(finding.path, prefixes)

        kept = [f for f in base.result.findings if not affected(f)]
        fresh = [f for f in result.findings if affected(f)]
        self.parts = [Part(base.result, kept, True), Part(result, fresh, False)]
        self._plans = {}
        return Outcome(sorted([*kept, *fresh]), self.parts, True)

    def _targets_only(self, texts: dict[Path, str], base: Baseline) -> Outcome | None:
        """An edit of the root file inside ``targets.<name>`` sections only: those targets are checked again, every
        other target keeps its findings from the last full check (moved down or up by the lines the edit added or
        removed, where they are in the root file below it). None: the edit reaches more than those targets."""
        bundle = base.result.bundle
        rel = bundle.root_file
        path = bundle.root_dir / rel
        old_text = base.texts.get(path, bundle.files[rel].text)
        new_text = texts.get(path)
        if new_text is None:
            return None
        old_doc, new_doc = bundle.files[rel].doc, self.reader.yaml(new_text, rel, bundle.limits, could_take_part)
        if new_doc.problems or not isinstance(old_doc.value, YMap) or not isinstance(new_doc.value, YMap):
            return None
        old_targets, new_targets = old_doc.value.get("targets"), new_doc.value.get("targets")
        if not isinstance(old_targets, YMap) or not isinstance(new_targets, YMap) or list(old_targets) != list(new_targets):
            return None  # targets added, removed or reordered
        rest_old = {k: plain(v) for k, v in old_doc.value.items() if k != "targets"}
        rest_new = {k: plain(v) for k, v in new_doc.value.items() if k != "targets"}
        if rest_old != rest_new:
            return None
        edited = [name for name in new_targets if plain(old_targets[name]) != plain(new_targets[name])]
        others = [name for name in base.result.targets if name not in edited]
        if not edited or not others:
            return None
        old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=False)) if a != b), min(len(old_lines), len(new_lines)))
        shift = len(new_lines) - len(old_lines)
        self.reader.texts = texts
        self.reader.only = None
        self.reader.interrupt = None
        try:
            settings = self.settings()
            loaded = load_bundle(bundle.root_dir, bundle.root_dir, limits_from(settings), 1, could_take_part, self.reader)
            use_cache(loaded, cache_for(bundle).carried_over(()))
            result = validate(None, settings=settings, targets=edited, bundle=loaded, fixes=True)
        except BundleError:
            return None

        def moved(finding: Finding) -> Finding:
            if finding.file == rel and finding.line > first and shift:
                return dataclasses.replace(finding, line=finding.line + shift)
            return finding

        kept: dict[tuple[str, int, int, str, str], Finding] = {}
        for finding in base.result.findings:
            still = tuple(t for t in finding.targets if t not in edited)
            if still:
                shown = moved(dataclasses.replace(finding, targets=still) if still != finding.targets else finding)
                kept[(shown.file, shown.line, shown.column, shown.rule, shown.message)] = shown
        fresh: list[Finding] = []
        for finding in result.findings:
            key = (finding.file, finding.line, finding.column, finding.rule, finding.message)
            same = kept.pop(key, None)
            if same is None:
                fresh.append(finding)
            else:  # seen in an unchanged target too: one finding for all of them, in the bundle's order of targets
                seen = set(same.targets) | set(finding.targets)
                fresh.append(dataclasses.replace(finding, targets=tuple(t for t in base.result.targets if t in seen)))
        self.parts = [Part(base.result, list(kept.values()), True), Part(result, fresh, False)]
        self._plans = {}
        return Outcome(sorted([*kept.values(), *fresh]), self.parts, True)

    # --- fixes ------------------------------------------------------------------------------------------------

    def fixes_for(self, finding: Finding) -> list[tuple[str, list[Any], bool]]:
        """The fixes `dab-guard fix` would make for ``finding``: (description, edits, safe), safe ones first."""
        out: list[tuple[str, list[Any], bool]] = []
        for index, part in enumerate(self.parts):
            if not any(_same(finding, f) for f in part.findings):
                continue
            for unsafe in (False, True):
                key = (index, unsafe)
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._plans[key] = plan_fixes(part.result, unsafe=unsafe)
                for found in plan.applied:
                    if not _same(found.finding, finding) or (unsafe and found.fix.safe):
                        continue
                    if not part.whole and any(anchor.startswith("var:") for anchor in found.fix.anchors):
                        continue  # a variable serves files the slice did not read: only a full check may weigh it
                    out.append((found.fix.description, list(found.fix.edits), found.fix.safe))
        return out


def _same(a: Finding, b: Finding) -> bool:
    return (a.file, a.line, a.column, a.rule, a.message) == (b.file, b.line, b.column, b.rule, b.message)


def _all(parts: list[Part]) -> list[Finding]:
    return sorted(f for part in parts for f in part.findings)


def _baseline(result: Run, texts: dict[Path, str]) -> Baseline:
    bundle = result.bundle
    resources_of = {rel: _defined(source.doc) for rel, source in bundle.files.items()}
    files_of: dict[str, set[str]] = {}
    for rel, defined in resources_of.items():
        for _, name in defined:
            files_of.setdefault(name, set()).add(rel)
    runners: dict[str, set[tuple[str, str]]] = {}
    for target in result.resolved.values():
        for entry in entry_points(target):
            path = entry.task.path
            if len(path) >= 3 and isinstance(path[1], str) and isinstance(path[2], str):
                runners.setdefault(entry.rel, set()).add((path[1], path[2]))
    return Baseline(result, texts, resources_of, files_of, runners)
