"""Rules about what jobs (and the other resources that name local files) need to run.

DG007 local files that do not exist, DG008 the task graph of a job, DG108 queueing of one-run-at-a-time jobs.
"""

from __future__ import annotations

import difflib
import enum
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from dab_guard.bundle.loader import GlobTooWide, go_glob
from dab_guard.bundle.located import YMap, YSeq, file_at, file_of
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.cache import per_object
from dab_guard.edits import add_to_value, replace_scalar, written_value
from dab_guard.finding import Fix, PathParts, Report, Severity
from dab_guard.rules.base import Rule

# --- shared helpers ----------------------------------------------------------------------------------------------


def section(config: Any, *keys: str) -> Any:
    """``config[k1][k2]...`` or None when a step is missing or not a mapping."""
    node = config
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def resources_of(target: Target, kind: str) -> Iterator[tuple[str, YMap]]:
    """``(name, definition)`` of every resource of one kind (``jobs``, ``pipelines``...) in the resolved target."""
    group = section(target.config, "resources", kind)
    if isinstance(group, YMap):
        for name, value in group.items():
            if isinstance(value, YMap):
                yield name, value


def job_tasks(job: YMap) -> Iterator[tuple[PathParts, YMap, bool]]:
    """``(path inside the job, task, nested)`` for every task, and the task of each ``for_each_task``."""
    tasks = job.get("tasks")
    if not isinstance(tasks, YSeq):
        return
    for i, task in enumerate(tasks):
        if not isinstance(task, YMap):
            continue
        yield ("tasks", i), task, False
        inner = section(task, "for_each_task", "task")
        if isinstance(inner, YMap):
            yield ("tasks", i, "for_each_task", "task"), inner, True


def known_str(value: Any) -> str | None:
    """``value`` when it is a string dab-guard knows offline, else None."""
    return value if isinstance(value, str) and not is_unknown(value) else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- DG007 missing-file ------------------------------------------------------------------------------------------


class Kind(enum.Enum):
    FILE = "file"
    NOTEBOOK = "notebook"
    FOLDER = "folder"
    GLOB = "glob"  # a pipeline glob: the folder part before the first wildcard must exist
    LIBRARY = "library"  # a wheel or jar: may be built by the deploy; may live outside the bundle root
    ANY = "any"  # a file or a folder (``pip install -e ./pkg``)


# The CLI's notebook extensions (libs/notebook): a local notebook path must carry one of them.
NOTEBOOK_EXTENSIONS = (".py", ".ipynb", ".sql", ".scala", ".r")
_GLOB_CHARS = re.compile(r"[*?\[]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ARCHIVE = re.compile(r"\.(whl|jar|tar\.gz|tgz|zip|egg)$", re.IGNORECASE)
_PIP_FLAG_PATH = re.compile(r"^(-r|-e|--requirement|--editable)[\s=]+(\S.*)$")


@dataclass(frozen=True)
class PathUse:
    """A local path written in the configuration, and what it must be."""

    parts: PathParts
    value: str
    kind: Kind
    label: str  # how the user knows the field: "python_file", "libraries[].whl"...
    file: str | None = None  # the file that wrote it, when known where the use is found (see Target.local_path)


def _task_paths(base: PathParts, task: YMap) -> Iterator[PathUse]:
    def git(sub: Any) -> bool:
        return isinstance(sub, YMap) and sub.get("source") == "GIT"

    notebook = task.get("notebook_task")
    if isinstance(notebook, YMap) and not git(notebook) and isinstance(notebook.get("notebook_path"), str):
        yield PathUse(
            (*base, "notebook_task", "notebook_path"), notebook["notebook_path"], Kind.NOTEBOOK, "notebook_path", file_of(notebook, "notebook_path")
        )
    python = task.get("spark_python_task")
    if isinstance(python, YMap) and not git(python) and isinstance(python.get("python_file"), str):
        yield PathUse(
            (*base, "spark_python_task", "python_file"), python["python_file"], Kind.FILE, "python_file", file_of(python, "python_file")
        )
    dbt = task.get("dbt_task")
    if isinstance(dbt, YMap) and not git(dbt) and isinstance(dbt.get("project_directory"), str):
        yield PathUse((*base, "dbt_task", "project_directory"), dbt["project_directory"], Kind.FOLDER, "project_directory")
    sql_file = section(task, "sql_task", "file")
    if isinstance(sql_file, YMap) and not git(sql_file) and isinstance(sql_file.get("path"), str):
        yield PathUse((*base, "sql_task", "file", "path"), sql_file["path"], Kind.FILE, "sql_task.file.path")
    libraries = task.get("libraries")
    if isinstance(libraries, YSeq):
        for i, library in enumerate(libraries):
            if not isinstance(library, YMap):
                continue
            for key, kind in (("whl", Kind.LIBRARY), ("jar", Kind.LIBRARY), ("requirements", Kind.FILE)):
                if isinstance(library.get(key), str):
                    yield PathUse((*base, "libraries", i, key), library[key], kind, f"libraries[].{key}")


def _dependency_paths(base: PathParts, dependencies: Any) -> Iterator[PathUse]:
    """Local entries of an environment's pip ``dependencies`` (``./dist/x.whl``, ``-r requirements.txt``)."""
    if not isinstance(dependencies, YSeq):
        return
    for i, dep in enumerate(dependencies):
        if not isinstance(dep, str) or is_unknown(dep):
            continue
        text = dep.strip()
        flag = _PIP_FLAG_PATH.match(text)
        if flag:
            kind = Kind.FILE if flag.group(1) in ("-r", "--requirement") else Kind.ANY
            yield PathUse((*base, i), flag.group(2).strip(), kind, f"dependencies ({flag.group(1)})")
        elif text.startswith("-"):
            continue  # another pip option (--index-url ...)
        elif text.startswith(".") or (_ARCHIVE.search(text) and " " not in text and "@" not in text):
            # The CLI treats entries starting with "." as local; a bare package name or specifier is PyPI.
            path = re.sub(r"\[[^\]]*\]$", "", text)  # "./dist/pkg.whl[extra]": extras are not part of the path
            kind = Kind.LIBRARY if _ARCHIVE.search(path) else Kind.ANY
            yield PathUse((*base, i), path, kind, "dependencies")


def path_uses(target: Target) -> Iterator[PathUse]:
    """Every local path the CLI uploads or checks, in the resolved target."""
    for name, job in resources_of(target, "jobs"):
        if job.get("git_source") is not None:
            continue  # task paths are in the Git repository, not on this machine
        base: PathParts = ("resources", "jobs", name)
        for rel, task, _nested in job_tasks(job):
            yield from _task_paths((*base, *rel), task)
        environments = job.get("environments")
        if isinstance(environments, YSeq):
            for i, environment in enumerate(environments):
                deps = section(environment, "spec", "dependencies")
                yield from _dependency_paths((*base, "environments", i, "spec", "dependencies"), deps)
    for name, pipeline in resources_of(target, "pipelines"):
        base = ("resources", "pipelines", name)
        libraries = pipeline.get("libraries")
        if isinstance(libraries, YSeq):
            for i, library in enumerate(libraries):
                for key, field, kind in (("notebook", "path", Kind.NOTEBOOK), ("file", "path", Kind.FILE), ("glob", "include", Kind.GLOB)):
                    value = section(library, key, field)
                    if isinstance(value, str):
                        yield PathUse((*base, "libraries", i, key, field), value, kind, f"libraries[].{key}.{field}")
        if isinstance(pipeline.get("root_path"), str):
            yield PathUse((*base, "root_path"), pipeline["root_path"], Kind.FOLDER, "root_path")
        yield from _dependency_paths((*base, "environment", "dependencies"), section(pipeline, "environment", "dependencies"))
    for name, app in resources_of(target, "apps"):
        if isinstance(app.get("source_code_path"), str):
            yield PathUse(("resources", "apps", name, "source_code_path"), app["source_code_path"], Kind.FOLDER, "source_code_path")
    for kind_name in ("dashboards", "alerts"):
        for name, resource in resources_of(target, kind_name):
            if isinstance(resource.get("file_path"), str):
                yield PathUse(("resources", kind_name, name, "file_path"), resource["file_path"], Kind.FILE, "file_path")


def _ups(path: PurePosixPath) -> int:
    """How many folders above the bundle root a normalised relative path starts."""
    count = 0
    for part in path.parts:
        if part != "..":
            break
        count += 1
    return count


class MissingFile(Rule):
    """
    ## What it does
    Checks that every local path the bundle names exists: `spark_python_task.python_file` (a plain file, not a notebook),
    `notebook_task.notebook_path`, `sql_task.file.path`, `dbt_task.project_directory`, task `libraries`
    (`whl`, `jar`, `requirements`), local job environment dependencies (`./dist/pkg.whl`, `-r requirements.txt`),
    pipeline libraries (`notebook.path`, `file.path`, `glob.include`: a glob in a notebook or file path must match
    something, and a file path must not name a notebook) and `root_path`, app `source_code_path`,
    dashboard and alert `file_path`. A relative path is resolved against the folder of the YAML file that wrote it
    (for a value that comes from a variable: the file that uses the variable), as the Databricks CLI does. Workspace,
    Volumes and DBFS paths, URLs, values not known offline, and tasks whose code comes from Git are skipped. Wheels and
    jars are skipped when the bundle builds artifacts (an `artifacts` section, or a `setup.py` the CLI builds
    automatically) or when the path is a glob. A path that leaves the bundle root (and `sync.paths`) is reported,
    never followed. A pipeline `glob.include` whose folder (the part before the first wildcard) is missing is only a
    warning: the CLI deploys it without looking at what it matches.

    Also checks the `files` of each artifact that has no `build` command: a `source` glob that matches no file, or
    that is not a valid glob (Go's `filepath.Match` syntax, as the CLI reads it). An artifact with a `build` command is
    skipped: its files are expanded only after the build, by `databricks bundle deploy`.

    ## Why it matters
    The CLI refuses to deploy a bundle whose files are missing, and a file that only exists in someone's checkout
    fails the first CI deploy. A local notebook path also needs its extension: `./src/train` does not find
    `./src/train.py`.

    ## Example
    ```yaml
    # resources/train.job.yml
    tasks:
      - task_key: train
        spark_python_task:
          python_file: src/train.py      # resolved as resources/src/train.py, which does not exist
    ```

    ## Fix
    Write the path relative to the YAML file that holds it (`../src/train.py`), add the notebook's extension, or
    create the file.
    """

    id = "DG007"
    name = "missing-file"
    severity = Severity.ERROR
    summary = "a referenced local file or folder does not exist"
    source = (
        "The Databricks CLI resolves local paths relative to the file that defines them and fails the deploy when one "
        "is missing or outside the sync root (bundle/config/mutator/translate_paths.go)."
    )

    def check(self, target: Target) -> Iterator[Report]:
        root = target.bundle.root_dir
        builds = self._builds_artifacts(target)
        allowed_ups = self._sync_ups(target)
        problems: dict[tuple[PurePosixPath, Kind, str, str], str | None] = per_object(target.bundle, "path-problems", dict)
        for use in path_uses(target):
            value = use.value.strip()
            if not value or is_unknown(value) or _SCHEME.match(value) or value.startswith("/"):
                continue
            if use.kind is Kind.LIBRARY and (builds or _GLOB_CHARS.search(value)):
                continue  # built by `databricks bundle deploy`, or matched only after the build
            if use.kind is not Kind.GLOB and _GLOB_CHARS.search(value):
                if use.parts[:2] == ("resources", "pipelines") and use.kind in (Kind.NOTEBOOK, Kind.FILE):
                    yield from self._pipeline_glob(target, use, value)
                continue
            rel = target.local_path(use.parts, value, use.file)
            if rel is None:
                continue
            if use.kind is Kind.GLOB:
                rel = self._glob_base(rel)
                if rel is None:
                    continue
            ups = _ups(rel)
            if ups > allowed_ups:
                if use.kind is Kind.LIBRARY:
                    continue  # the CLI uploads libraries from anywhere; dab-guard does not look outside the bundle
                yield Report(
                    f"{use.label} '{use.value}' points outside the bundle root (to {rel}); the Databricks CLI only "
                    "deploys files under the bundle root or sync.paths",
                    use.parts,
                )
                continue
            # Five tasks run one script, every target names it again: look at each file once per run.
            key = (rel, use.kind, use.label, use.value)
            if key in problems:
                message = problems[key]
            else:
                message = problems[key] = self._problem(root / rel, rel, use)
            if message and use.kind is Kind.GLOB:
                # The CLI does not look at what a pipeline glob matches: it deploys a glob whose folder is missing
                # (acceptance/bundle/paths/pipelines_glob_include_and_root_path), and the pipeline then finds no
                # source files there. A warning, not a failed deploy.
                message = (
                    f"{message}; the Databricks CLI deploys the glob without checking it, and the pipeline finds no "
                    "source files there"
                )
                yield Report(message, use.parts, severity=Severity.WARNING)
            elif message:
                yield Report(message, use.parts)
            elif use.kind is Kind.FILE and use.label in _FILE_NOT_NOTEBOOK and is_notebook_source(root / rel):
                yield Report(_got_notebook(use, rel), use.parts)
        yield from _artifact_files(target)

    @staticmethod
    def _pipeline_glob(target: Target, use: PathUse, value: str) -> Iterator[Report]:
        """A pipeline library's notebook or file path may be a glob: the CLI expands it and refuses one that matches
        nothing, or (for a file) that matches a notebook (acceptance/bundle/paths/invalid_pipeline_globs and
        pipeline_expected_file_got_notebook)."""
        folder = posixpath.dirname(use.file or file_at(target.config, use.parts) or "")
        pattern = posixpath.normpath(posixpath.join(folder, value))
        if pattern.startswith("../") or go_pattern_error(pattern):
            return
        root = target.bundle.root_dir
        try:
            matches = [m for m in go_glob(root, pattern) if m.is_file()]
        except (GlobTooWide, ValueError):
            return
        noun = "notebook" if use.kind is Kind.NOTEBOOK else "file"
        if not matches:
            yield Report(f"{use.label} '{use.value}' matches no {noun} (the Databricks CLI: {noun} {pattern} not found)", use.parts)
            return
        if use.kind is Kind.FILE:
            for match in matches:
                if is_notebook_source(match):
                    rel = PurePosixPath(match.relative_to(root).as_posix())
                    yield Report(_got_notebook(use, rel), use.parts)
                    return

    @staticmethod
    def _builds_artifacts(target: Target) -> bool:
        artifacts = target.config.get("artifacts")
        if isinstance(artifacts, dict) and artifacts:
            return True
        # Without an artifacts section the CLI builds a wheel from a setup.py in the bundle root by itself.
        return (target.bundle.root_dir / "setup.py").is_file()

    @staticmethod
    def _sync_ups(target: Target) -> int:
        """How far above the bundle root the sync root reaches (``sync.paths: [..]`` widens it)."""
        paths = section(target.config, "sync", "paths")
        ups = 0
        if isinstance(paths, YSeq):
            for i, entry in enumerate(paths):
                if isinstance(entry, str) and not is_unknown(entry):
                    rel = target.local_path(("sync", "paths", i), entry)
                    if rel is not None:
                        ups = max(ups, _ups(rel))
        return ups

    @staticmethod
    def _glob_base(rel: PurePosixPath) -> PurePosixPath | None:
        """The part of a glob before its first wildcard (``src/etl/**`` -> ``src/etl``); None for a bare glob."""
        fixed: list[str] = []
        for part in rel.parts:
            if _GLOB_CHARS.search(part):
                break
            fixed.append(part)
        if not fixed or fixed == [".."] * len(fixed):
            return None
        return PurePosixPath(*fixed)

    @staticmethod
    def _problem(full: os.PathLike[str], rel: PurePosixPath, use: PathUse) -> str | None:
        try:
            is_file = os.path.isfile(full)
            is_dir = os.path.isdir(full)
        except (OSError, ValueError):  # a name too long or with a NUL byte: nothing there to deploy either
            is_file = is_dir = False
        written = f"{use.label} '{use.value}'"
        if use.kind is Kind.FOLDER:
            if is_dir:
                return None
            return f"{written} is a file, not a folder ({rel})" if is_file else f"{written} not found: no folder {rel}"
        if use.kind in (Kind.ANY, Kind.GLOB):
            return None if is_file or is_dir else f"{written} not found: nothing at {rel}"
        if is_file:
            return None
        if is_dir:
            return f"{written} is a folder, not a file ({rel})"
        if use.kind is Kind.NOTEBOOK and rel.suffix.lower() not in NOTEBOOK_EXTENSIONS:
            for ext in NOTEBOOK_EXTENSIONS:
                try:
                    found = os.path.isfile(f"{os.fspath(full)}{ext}")
                except (OSError, ValueError):
                    found = False
                if found:
                    return (
                        f"{written} not found: a local notebook path needs its extension "
                        f"(did you mean '{use.value}{ext}'?)"
                    )
            return f"{written} not found: no {rel} (a local notebook path needs its extension: {', '.join(NOTEBOOK_EXTENSIONS)})"
        if use.kind is Kind.LIBRARY:
            return f"{written} not found: no file {rel} (build it before deploying, or declare its build under artifacts)"
        return f"{written} not found: no file {rel}"


# File paths the CLI refuses to take a notebook for ("expected a file ... but got a notebook").
_FILE_NOT_NOTEBOOK = ("python_file", "libraries[].file.path")
_NOTEBOOK_HEADERS = {
    ".py": "# Databricks notebook source", ".sql": "-- Databricks notebook source",
    ".scala": "// Databricks notebook source", ".r": "# Databricks notebook source",
}  # fmt: skip


def is_notebook_source(path: os.PathLike[str]) -> bool:
    """Whether the file is a notebook to Databricks: a Jupyter notebook, or source whose first line is the export
    header (``# Databricks notebook source``)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".ipynb":
        return True
    header = _NOTEBOOK_HEADERS.get(suffix)
    if header is None:
        return False
    try:
        with open(path, "rb") as handle:
            first = handle.read(len(header) + 8)
    except OSError:
        return False
    return first.lstrip(b"\xef\xbb\xbf").startswith(header.encode())


def _got_notebook(use: PathUse, rel: PurePosixPath) -> str:
    return (
        f"{use.label} '{use.value}' is a notebook ({rel}), where the Databricks CLI expects a plain file: use the"
        " notebook form of the setting instead (notebook_task, or a pipeline `notebook` library)"
    )


def go_pattern_error(pattern: str) -> bool:
    """Whether Go's ``filepath.Match`` refuses ``pattern`` (ErrBadPattern): an unclosed or empty ``[...]``, a range
    with a missing end, an unescaped ``-`` or ``]`` where a character is expected, a trailing ``\\``."""

    def escaped(i: int) -> int:
        """The index after one class character starting at ``i``, or -1 when there is none."""
        if i >= len(pattern) or pattern[i] in "-]":
            return -1
        if pattern[i] == "\\":
            return i + 2 if i + 1 < len(pattern) else -1
        return i + 1

    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 >= len(pattern):
                return True
            i += 2
        elif c == "[":
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                i += 1
            ranges = 0
            while True:
                if i < len(pattern) and pattern[i] == "]" and ranges > 0:
                    i += 1
                    break
                i = escaped(i)
                if i < 0:
                    return True
                if i < len(pattern) and pattern[i] == "-":
                    i = escaped(i + 1)
                    if i < 0:
                        return True
                ranges += 1
        else:
            i += 1
    return False


def _artifact_files(target: Target) -> Iterator[Report]:
    """``artifacts.<name>.files[].source`` that matches nothing or is not a glob, as ``bundle validate`` reports it.

    The CLI expands these globs at validate time only for an artifact without ``build``
    (bundle/artifacts/prepare.go); with a build command it expands them after building, at deploy, so a file the
    build writes is not missing (acceptance/bundle/artifacts/build_and_files): such artifacts are skipped.
    """
    artifacts = target.config.get("artifacts")
    if not isinstance(artifacts, YMap):
        return
    root = target.bundle.root_dir
    for name, artifact in artifacts.items():
        if not isinstance(artifact, YMap) or artifact.get("build") not in (None, ""):
            continue
        files = artifact.get("files")
        if not isinstance(files, YSeq):
            continue
        # Sources are relative to the file that defines the artifact, not to the bundle root.
        folder = os.path.dirname(file_at(target.config, ("artifacts", name)) or "")
        for i, entry in enumerate(files):
            source = entry.get("source") if isinstance(entry, YMap) else None
            if not isinstance(source, str) or not source or is_unknown(source):
                continue
            parts: PathParts = ("artifacts", name, "files", i, "source")
            if go_pattern_error(source):
                yield Report(f"artifacts.{name}.files[{i}].source '{source}': syntax error in pattern", parts)
                continue
            if source.startswith("/"):
                continue  # an absolute path: dab-guard does not look outside the bundle
            pattern = os.path.normpath(os.path.join(folder, source)).replace(os.sep, "/")
            if pattern == ".." or pattern.startswith("../"):
                continue
            try:
                matches = go_glob(root, pattern)
            except GlobTooWide:
                continue
            if not matches:
                yield Report(
                    f"artifacts.{name}.files[{i}].source '{source}': no matching files (relative to the folder of "
                    f"the file that defines the artifact: {pattern}); the Databricks CLI refuses it",
                    parts,
                )


# --- DG008 task-graph --------------------------------------------------------------------------------------------

COMPUTE_TASK_TYPES = ("spark_python_task", "python_wheel_task", "spark_jar_task", "spark_submit_task", "dbt_task")
COMPUTE_KEYS = ("job_cluster_key", "environment_key", "existing_cluster_id", "new_cluster")


def _keys_of(items: Any, field: str) -> tuple[dict[str, int], bool]:
    """``{key: index}`` of a list of named entries, and whether every key is known offline."""
    keys: dict[str, int] = {}
    complete = True
    if items is None:
        return keys, True
    if not isinstance(items, YSeq):
        return keys, False
    for i, item in enumerate(items):
        key = known_str(item.get(field)) if isinstance(item, YMap) else None
        if key is None:
            complete = False
        elif key not in keys:
            keys[key] = i
    return keys, complete


def _cycles(order: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, as ``[a, b, ..., a]``, starting at the member that comes first in ``order``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in order:
        if start in index:
            continue
        # Tarjan's algorithm, iterative so a long chain of tasks cannot exhaust the recursion limit.
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            if child < len(successors):
                work.append((node, child + 1))
                succ = successors[child]
                if succ not in index:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, []):
                    components.append(component)
    position = {name: i for i, name in enumerate(order)}
    cycles: list[list[str]] = []
    for component in components:
        members = set(component)
        first = min(component, key=position.__getitem__)
        cycles.append(_walk_cycle(first, members, edges))
    return sorted(cycles, key=lambda c: position[c[0]])


def _walk_cycle(first: str, members: set[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest path ``first -> ... -> first`` inside one strongly connected component."""
    previous: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for succ in edges.get(node, []):
                if succ == first:
                    chain = [node]
                    while chain[-1] != first:
                        chain.append(previous[chain[-1]])
                    return [*reversed(chain), first]
                if succ in members and succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    return [first, first]  # pragma: no cover - a component always has a cycle through its first member


class TaskGraph(Rule):
    """
    ## What it does
    Checks how the tasks of each job fit together: a `job_cluster_key` or `environment_key` that the job does not
    define, a `depends_on` naming a task that does not exist, a dependency cycle, and a compute task
    (`spark_python_task`, `python_wheel_task`, `spark_jar_task`, `spark_submit_task`, `dbt_task`) with no compute or
    with more than one of `job_cluster_key`, `environment_key`, `existing_cluster_id` and `new_cluster`. Tasks inside
    a `for_each_task` are checked too. It warns about a job cluster that no task uses. Misspelled keys get a
    did-you-mean. A notebook task without compute runs on serverless and is fine; so is a Python script, wheel, jar or
    dbt task with only an `environment_key`. An `environment_key` beside a single cluster is left to DG107
    (`serverless`), so that one mistake gives one finding.

    ## Why it matters
    The Jobs API rejects such a job when the bundle deploys, or the run fails at once: a task with no compute cannot
    start, and a cycle never does. A misspelled `depends_on` is the most common cause.

    ## Example
    ```yaml
    tasks:
      - task_key: log_model
        job_cluster_key: ml
        spark_python_task: {python_file: ../src/log_model.py}
      - task_key: deploy
        depends_on:
          - task_key: log_modle        # no such task
        job_cluster_key: ml
        environment_key: default       # a second kind of compute
        spark_python_task: {python_file: ../src/deploy.py}
    ```

    ## Fix
    Correct the key (dab-guard suggests the closest one), define the job cluster or environment under the job, and
    give each compute task exactly one of `job_cluster_key`, `environment_key`, `existing_cluster_id`, `new_cluster`.
    """

    id = "DG008"
    name = "task-graph"
    severity = Severity.ERROR
    summary = "undefined cluster/environment keys, missing or cyclic dependencies, tasks without (or with two) compute"
    source = "Jobs API task rules: each compute task needs exactly one compute; keys and depends_on must name what the job defines."

    def check(self, target: Target) -> Iterator[Report]:
        bundle_section = target.config.get("bundle")
        overridden = isinstance(bundle_section, dict) and bool(bundle_section.get("cluster_id") or bundle_section.get("compute_id"))
        for name, job in resources_of(target, "jobs"):
            yield from self._check_job(("resources", "jobs", name), name, job, overridden)

    def _check_job(self, base: PathParts, name: str, job: YMap, overridden: bool) -> Iterator[Report]:
        tasks = job.get("tasks")
        if tasks is not None and not isinstance(tasks, YSeq):
            return  # a variable holds the tasks: nothing to check offline
        clusters, clusters_known = _keys_of(job.get("job_clusters"), "job_cluster_key")
        environments, environments_known = _keys_of(job.get("environments"), "environment_key")
        task_keys, tasks_known = _keys_of(tasks, "task_key")
        used_clusters: set[str] = set()
        cluster_refs_known = True
        for rel, task, _nested in job_tasks(job):
            path = (*base, *rel)
            label = known_str(task.get("task_key")) or "?"
            cluster_key = task.get("job_cluster_key")
            if cluster_key is not None:
                cluster = known_str(cluster_key)
                if cluster is None:
                    cluster_refs_known = False
                else:
                    used_clusters.add(cluster)
                    if clusters_known and cluster not in clusters:
                        where = f"; the job defines {_listing(clusters)}" if clusters else "; the job has no job_clusters"
                        yield Report(
                            f"task '{label}' uses job_cluster_key '{cluster}', which job '{name}' does not define"
                            f"{did_you_mean(cluster, clusters)}{where}",
                            (*path, "job_cluster_key"),
                        )
            environment = known_str(task.get("environment_key"))
            if environment is not None and environments_known and environment not in environments:
                where = f"; the job defines {_listing(environments)}" if environments else "; the job has no environments"
                yield Report(
                    f"task '{label}' uses environment_key '{environment}', which job '{name}' does not define"
                    f"{did_you_mean(environment, environments)}{where}",
                    (*path, "environment_key"),
                )
            yield from self._compute(path, label, task)
        if tasks_known and isinstance(tasks, YSeq):
            yield from self._dependencies(base, tasks, task_keys)
        if clusters_known and cluster_refs_known and not overridden and isinstance(tasks, YSeq):
            for cluster, i in clusters.items():
                if cluster not in used_clusters:
                    yield Report(
                        f"job cluster '{cluster}' of job '{name}' is not used by any task",
                        (*base, "job_clusters", i, "job_cluster_key"),
                        severity=Severity.WARNING,
                    )

    @staticmethod
    def _compute(path: PathParts, label: str, task: YMap) -> Iterator[Report]:
        kind = next((k for k in COMPUTE_TASK_TYPES if task.get(k) is not None), None)
        if kind is None:
            return
        present = [k for k in COMPUTE_KEYS if task.get(k) is not None]
        if not present:
            yield Report(
                f"task '{label}' is a {kind} without compute: set one of job_cluster_key, existing_cluster_id, "
                "new_cluster, or environment_key (serverless)",
                (*path, kind),
                on_key=True,
            )
        elif len(present) > 1 and not (len(present) == 2 and "environment_key" in present):
            # environment_key beside one cluster is DG107's (serverless) finding; reporting it twice says nothing more.
            yield Report(
                f"task '{label}' sets {' and '.join(present)}; a task runs on exactly one of job_cluster_key, "
                "environment_key, existing_cluster_id, new_cluster",
                (*path, present[1]),
                on_key=True,
            )

    @staticmethod
    def _dependencies(base: PathParts, tasks: YSeq, task_keys: dict[str, int]) -> Iterator[Report]:
        edges: dict[str, list[str]] = {}
        dep_paths: dict[tuple[str, str], PathParts] = {}
        order: list[str] = []
        for i, task in enumerate(tasks):
            if not isinstance(task, YMap):
                continue
            key = known_str(task.get("task_key"))
            if key is None or task_keys.get(key) != i:
                continue
            order.append(key)
            depends_on = task.get("depends_on")
            if not isinstance(depends_on, YSeq):
                continue
            for j, dep in enumerate(depends_on):
                other = known_str(dep.get("task_key")) if isinstance(dep, YMap) else None
                if other is None:
                    continue
                dep_path = (*base, "tasks", i, "depends_on", j, "task_key")
                if other not in task_keys:
                    yield Report(
                        f"task '{key}' depends on '{other}', which is not a task of this job{did_you_mean(other, task_keys)}",
                        dep_path,
                    )
                    continue
                edges.setdefault(key, []).append(other)
                dep_paths.setdefault((key, other), dep_path)
        for cycle in _cycles(order, edges):
            yield Report(
                f"dependency cycle: {' -> '.join(cycle)} (each task depends on the next); the Jobs API rejects it",
                dep_paths[(cycle[0], cycle[1])],
            )


def _listing(keys: dict[str, int]) -> str:
    names = [f"'{k}'" for k in keys]
    return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")


# --- DG108 queue -------------------------------------------------------------------------------------------------


class Queue(Rule):
    """
    ## What it does
    Reports a job that allows one run at a time (`max_concurrent_runs` unset or 1) while its `queue` is switched off.
    The Databricks CLI turns queueing on for every job that has no `queue` section, so only an explicit
    `queue: {enabled: false}` (or a `queue` without `enabled: true`) is reported. Jobs of a development target, which
    the CLI lets run 4 at a time, and jobs covered by `presets.jobs_max_concurrent_runs` above 1 are fine.

    ## Why it matters
    A second trigger while a run is active (a schedule overlapping a slow run, two deploys, a retry from CI) fails at
    once with `MAX_CONCURRENT_RUNS_REACHED` instead of waiting its turn.

    ## Example
    ```yaml
    resources:
      jobs:
        log_model:
          max_concurrent_runs: 1
          queue:
            enabled: false
    ```

    ## Fix
    Set `queue: {enabled: true}` (or remove the `queue` section), or raise `max_concurrent_runs` if runs may overlap.

    `dab-guard fix --unsafe-fixes` sets `enabled: true` where `enabled` is written (or adds it to the `queue`
    mapping). Only suggested: switching queueing off may have been deliberate.
    """

    id = "DG108"
    name = "queue"
    severity = Severity.INFO
    summary = "a one-run-at-a-time job with queueing switched off"
    source = (
        "Guide troubleshooting: MAX_CONCURRENT_RUNS_REACHED when a previous run is still active; the CLI enables "
        "queueing for jobs without a queue section (bundle/config/mutator/default_queueing.go)."
    )
    fix = "suggested"

    def check(self, target: Target) -> Iterator[Report]:
        for name, job in resources_of(target, "jobs"):
            queue = job.get("queue")
            if not isinstance(queue, YMap):
                continue  # no queue section (or a variable): the CLI enables queueing
            enabled = queue.get("enabled")
            if enabled is True or is_unknown(enabled):
                continue
            runs = self._max_runs(target, job)
            if runs is None or runs > 1:
                continue
            base: PathParts = ("resources", "jobs", name, "queue")
            yield Report(
                f"job '{name}' allows one run at a time and queueing is off: a second trigger fails with "
                "MAX_CONCURRENT_RUNS_REACHED instead of waiting; set queue.enabled: true",
                (*base, "enabled") if "enabled" in queue else base,
                on_key="enabled" not in queue,
                fix=self._enable_queue(target, job, queue),
            )

    @staticmethod
    def _enable_queue(target: Target, job: YMap, queue: YMap) -> Fix | None:
        anchors: tuple[str, ...]
        if "enabled" in queue:
            written = written_value(target, queue, "enabled")
            edit = replace_scalar(target.bundle, written.loc, "true") if written else None
            anchors = (written.anchor,) if written else ()
        else:
            where = job.key_locs.get("queue")
            change = add_to_value(target.bundle, where, [("enabled", "true")]) if where else None
            edit, anchors = (change.edit, change.anchors) if change else (None, ())
        if edit is None:
            return None
        return Fix("set queue.enabled: true", (edit,), safe=False, anchors=anchors)

    @staticmethod
    def _max_runs(target: Target, job: YMap) -> int | None:
        """The job's effective max_concurrent_runs, or None when unknown."""
        runs = job.get("max_concurrent_runs")
        if isinstance(runs, bool) or (runs is not None and not isinstance(runs, int)):
            return None
        if runs:
            return runs
        # Unset (or 0): presets, then development mode (4 runs), then the API default of 1.
        preset = section(target.config, "presets", "jobs_max_concurrent_runs")
        if isinstance(preset, int) and not isinstance(preset, bool) and preset > 0:
            return preset
        if preset is not None and not isinstance(preset, int):
            return None
        return 4 if target.mode == "development" else 1
