"""The Python files a bundle runs and syncs: each task's entry point, the files a deploy syncs, and one file cache per
loaded bundle.

Entry points are the ``spark_python_task`` scripts and ``notebook_task`` notebooks that are files of the bundle; the
synced files follow the CLI's sync rules (``.gitignore`` files, ``sync.include`` / ``sync.exclude``).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dab_guard.bundle.clusters import TaskRef, iter_job_tasks, iter_jobs
from dab_guard.bundle.loader import ROOT_NAMES, Bundle
from dab_guard.bundle.located import YMap, YSeq, file_of
from dab_guard.bundle.reader import DISK
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.cache import per_object
from dab_guard.finding import PathParts
from dab_guard.python.sources import PYTHON_SUFFIXES, SKIPPED_DIRS, SourceCache


def cache_for(bundle: Bundle, max_bytes: int | None = None) -> SourceCache:
    """The file cache of ``bundle`` (one per loaded bundle, so one per run), bounded by the bundle's limits."""
    limit = max_bytes if max_bytes is not None else bundle.limits.max_file_bytes
    reader = bundle.reader if bundle.reader is not DISK else None
    return per_object(bundle, "python-sources", lambda: SourceCache(bundle.root_dir, limit, bundle.limits.max_python_bytes, reader))


def use_cache(bundle: Bundle, cache: SourceCache) -> None:
    """Make ``cache`` the file cache of ``bundle``, before any rule asks :func:`cache_for` for it."""
    per_object(bundle, "python-sources", lambda: cache)


# --- entry points ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """The file a task runs: a ``spark_python_task`` script or a ``notebook_task`` notebook."""

    rel: str
    notebook: bool  # run as a notebook (``__file__`` undefined, magics run)
    task: TaskRef
    value_path: PathParts  # the bundle path of ``python_file`` / ``notebook_path``


def job_named(target: Target, name: str) -> YMap | None:
    """The job ``resources.jobs.<name>`` of the target, when it is a mapping."""
    resources = target.config.get("resources")
    jobs = resources.get("jobs") if isinstance(resources, YMap) else None
    job = jobs.get(name) if isinstance(jobs, YMap) else None
    return job if isinstance(job, YMap) else None


def task_entry(target: Target, ref: TaskRef, cache: SourceCache | None = None) -> EntryPoint | None:
    """The local Python file (or notebook) ``ref`` runs, when it is a file of the bundle."""
    cache = cache or cache_for(target.bundle)
    job = job_named(target, ref.job)
    has_git_source = job is not None and isinstance(job.get("git_source"), YMap)
    for task_type, key, notebook in (("spark_python_task", "python_file", False), ("notebook_task", "notebook_path", True)):
        section = ref.task.get(task_type)
        if not isinstance(section, YMap):
            continue
        value = section.get(key)
        source = section.get("source")
        # With git_source on the job a task's paths are in the Git repository unless the task says WORKSPACE.
        if not isinstance(value, str) or is_unknown(value) or source == "GIT" or (has_git_source and source != "WORKSPACE"):
            return None
        path = (*ref.path, task_type, key)
        local = target.local_path(path, value, file_of(section, key))
        if local is None:
            return None
        rel = local.as_posix()
        if not rel.lower().endswith(PYTHON_SUFFIXES) or not cache.is_file(rel):
            return None
        return EntryPoint(rel, notebook or rel.lower().endswith(".ipynb"), ref, path)
    return None


def entry_points(target: Target) -> list[EntryPoint]:
    """Every task of every job that runs a local Python file or notebook, in configuration order."""

    def build() -> list[EntryPoint]:
        cache = cache_for(target.bundle)
        found: list[EntryPoint] = []
        for job_path, job in iter_jobs(target):
            for ref in iter_job_tasks(job_path, job):
                entry = task_entry(target, ref, cache)
                if entry is not None:
                    found.append(entry)
        return found

    return per_object(target, "python-entry-points", build)


# --- files the bundle syncs --------------------------------------------------------------------------------------


class _Pattern:
    """One gitignore pattern, relative to the folder of the file it comes from."""

    __slots__ = ("base", "dir_only", "negated", "regex")

    def __init__(self, base: str, text: str) -> None:
        self.base = base
        self.negated = text.startswith("!")
        if self.negated:
            text = text[1:]
        self.dir_only = text.endswith("/")
        text = text.rstrip("/")
        anchored = "/" in text
        text = text.lstrip("/")
        body = _glob_regex(text)
        self.regex = re.compile(("" if anchored else r"(?:.*/)?") + body + r"\Z")

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1 :]
        return self.regex.match(rel) is not None


def _glob_regex(pattern: str) -> str:
    """gitignore glob -> regex: ``*`` and ``?`` stay within a segment, ``**`` crosses segments."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append(r"(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append(r"/.*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(r".*")
            i += 2
            continue
        if c == "*":
            out.append(r"[^/]*")
        elif c == "?":
            out.append(r"[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _read_patterns(lines: Iterable[str], base: str) -> list[_Pattern]:
    patterns: list[_Pattern] = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        if not line or line.startswith("#"):
            continue
        patterns.append(_Pattern(base, line))
    return patterns


def _matched(patterns: Iterable[_Pattern], rel: str, is_dir: bool) -> bool | None:
    """True: ignored; False: re-included by a ``!`` pattern; None: no pattern says anything. Last match wins."""
    verdict: bool | None = None
    for pattern in patterns:
        if pattern.matches(rel, is_dir):
            verdict = not pattern.negated
    return verdict


def _string_list(value: Any) -> list[str] | None:
    """The strings of a YAML list; None when an entry is not known offline (a ``${...}`` reference)."""
    if not isinstance(value, (list, YSeq)):
        return []
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            continue
        if is_unknown(item):
            return None
        out.append(item)
    return out


def _clean(pattern: str) -> str:
    """Sync patterns are cleaned the way the CLI cleans them (``./src/*.py`` -> ``src/*.py``)."""
    cleaned = posixpath.normpath(pattern.replace("\\", "/"))
    return cleaned + "/" if pattern.endswith("/") and not cleaned.endswith("/") else cleaned


def synced_files(target: Target, suffixes: tuple[str, ...] = PYTHON_SUFFIXES, limit: int = 50_000) -> list[str]:
    """The files with ``suffixes`` that a deploy of ``target`` syncs, relative to the bundle root.

    Follows the CLI: every ``.gitignore`` under the synced paths (deeper files win, ``!`` re-includes), then
    ``sync.include`` adds files back and ``sync.exclude`` removes them (both gitignore patterns relative to the bundle
    root). ``.databricks`` is never synced. Folders of tools and builds (``.venv``, ``node_modules``, ``build``,
    ``dist`` ...) are skipped, and so are folders holding a bundle of their own (a ``databricks.yml``): their code is
    checked with that bundle. The walk never leaves the bundle root nor follows symlinked folders. With an
    unresolved reference in ``sync``, nothing is returned (the set cannot be known offline).
    """
    if not target.bundle.files:
        return []  # a resolved configuration with no local bundle: there is no local folder to walk
    sync = target.config.get("sync")
    sync = sync if isinstance(sync, YMap) else YMap()
    include = _string_list(sync.get("include"))
    exclude = _string_list(sync.get("exclude"))
    paths = _string_list(sync.get("paths")) if "paths" in sync else ["."]
    if include is None or exclude is None or paths is None:
        return []
    key = f"python-synced:{suffixes}:{tuple(paths)}:{tuple(include)}:{tuple(exclude)}"
    return per_object(target.bundle, key, lambda: _walk_synced(target.bundle.root_dir, paths, include, exclude, suffixes, limit))


def _walk_synced(root: Path, paths: list[str], include: list[str], exclude: list[str], suffixes: tuple[str, ...], limit: int) -> list[str]:
    include_patterns = _read_patterns((_clean(p) for p in include), "")
    exclude_patterns = _read_patterns((_clean(p) for p in exclude), "")
    found: list[str] = []
    seen: set[str] = set()

    def walk(folder: str, inherited: list[_Pattern], ignored: bool) -> None:
        if len(found) >= limit:
            return
        full = root / folder if folder else root
        patterns = inherited
        try:
            gitignore = (full / ".gitignore").read_text(encoding="utf-8", errors="replace") if (full / ".gitignore").is_file() else None
        except OSError:
            gitignore = None
        if gitignore is not None:
            patterns = [*inherited, *_read_patterns(gitignore.splitlines(), folder)]
        try:
            entries = sorted(os.scandir(full), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=True)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIPPED_DIRS:
                    continue
                dir_ignored = ignored or bool(_matched(patterns, rel, True))
                if dir_ignored and not include_patterns:
                    continue  # nothing can bring a file of an ignored folder back
                if _matched(exclude_patterns, rel, True):
                    continue
                if any(os.path.isfile(os.path.join(entry.path, name)) for name in ROOT_NAMES):
                    continue  # another bundle (a fixture, an example, a template): its code is checked with it
                walk(rel, patterns, dir_ignored)
            elif is_file and entry.name.lower().endswith(suffixes) and rel not in seen:
                file_ignored = ignored or bool(_matched(patterns, rel, False))
                if file_ignored and not _matched(include_patterns, rel, False):
                    continue
                if _matched(exclude_patterns, rel, False):
                    continue
                if entry.is_symlink():
                    try:
                        real = Path(entry.path).resolve()
                        if root.resolve() not in real.parents:
                            continue
                    except OSError:
                        continue
                seen.add(rel)
                found.append(rel)
                if len(found) >= limit:
                    return

    for start in paths:
        folder = posixpath.normpath(start.replace("\\", "/")) if start else "."
        if folder.startswith("/") or folder == ".." or folder.startswith("../"):
            continue  # never leave the bundle root
        folder = "" if folder == "." else folder
        if folder and not (root / folder).is_dir():
            continue
        # .gitignore files of the folders above a sync path still apply to it.
        inherited: list[_Pattern] = []
        parts = PurePosixPath(folder).parts if folder else ()
        for depth in range(len(parts)):
            above = "/".join(parts[:depth])
            gitignore = (root / above / ".gitignore") if above else root / ".gitignore"
            try:
                if gitignore.is_file():
                    inherited.extend(_read_patterns(gitignore.read_text(encoding="utf-8", errors="replace").splitlines(), above))
            except OSError:
                pass
        walk(folder, inherited, bool(folder) and bool(_matched(inherited, folder, True)))
    return found
