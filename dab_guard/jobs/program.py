"""What a job task runs, followed from its entry point: notebooks it ``%run``s, bundle modules they import, and the
code models its ``log_model`` calls name, with the packages it installs and the MLflow version it runs.

Everything is computed once per resolved target and shared by the rules.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dab_guard.bundle.clusters import ClusterKind, ClusterSpec, TaskRef, iter_clusters, iter_job_tasks
from dab_guard.bundle.libraries import PipPackage, task_pip_packages
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.bundle.runtime import RuntimeKey
from dab_guard.cache import per_object
from dab_guard.config import Settings
from dab_guard.finding import Loc, PathParts, Report
from dab_guard.jobs.files import EntryPoint, cache_for, entry_points, job_named
from dab_guard.jobs.inputs import task_inputs
from dab_guard.python.argv import NO_INPUTS, TaskInputs
from dab_guard.python.facts import CallFact, LogModel, ModuleFacts, Registration, facts_of
from dab_guard.python.pip import (
    LATEST_MINOR,
    Requirement,
    Version,
    installed_version,
    normalise,
    parse_requirement,
    parse_version,
)
from dab_guard.python.sources import PythonSource, SourceCache, module_file, notebook_file
from dab_guard.python.values import CWD, MARKERS, SCRIPT, SCRIPT_DIR, UNKNOWN, Traced, display

_MAX_FILES = 300  # bundle modules followed per task: bounded work on huge repositories
_MAX_RUNS = 50

# The MLflow each LTS Databricks Runtime ML ships (release notes of each runtime).
RUNTIME_ML_MLFLOW: dict[tuple[int, int], Version] = {
    (14, 3): (2, 9, 2),
    (15, 4): (2, 13, 1),
    (16, 4): (2, 21, 3),
    (17, 3): (3, 0, 1),
}
RUNTIME_18_ML_MLFLOW: Version = (3, 8, 1)
# Distributions whose current releases require MLflow 3 (Requires-Dist of databricks-agents 1.13: mlflow-skinny>=3.11.1;
# databricks-langchain 0.22: mlflow>=3.0.0; databricks-openai 0.18: mlflow>=3.10.1). Installed without a pin, pip
# replaces a runtime's MLflow 2 with the newest 3.x; pinned to a release, what that release requires is not known.
MLFLOW_3_DEPENDENTS = frozenset({"databricks-agents", "databricks-langchain", "databricks-openai"})


def _folder(rel: str) -> str:
    return posixpath.dirname(rel)


# --- the program of a task ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class CodeModel:
    """A code model a ``log_model`` call names, and the bundle file it was followed to (when it could be)."""

    log: LogModel
    owner: PythonSource  # the file with the log_model call
    rel: str | None
    files: list[PythonSource] = field(default_factory=list)  # the model file, then the bundle modules it imports


@dataclass(slots=True)
class TaskProgram:
    entry: EntryPoint
    runs: list[PythonSource]  # the entry point, then the notebooks it %runs (one namespace, one process)
    modules: list[PythonSource]  # bundle modules imported from ``runs``, transitively
    code_models: list[CodeModel]
    search: list[str] = field(default_factory=list)  # bundle folders ``import`` searches (relative to the root)
    inputs_of: Callable[[], TaskInputs] | None = field(default=None, repr=False, compare=False)
    _inputs: TaskInputs | None = field(default=None, repr=False, compare=False)
    _sources: list[PythonSource] | None = field(default=None, repr=False, compare=False)
    _dab_guard_cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # see per_object

    @property
    def ref(self) -> TaskRef:
        return self.entry.task

    @property
    def path(self) -> PathParts:
        return self.entry.task.path

    @property
    def inputs(self) -> TaskInputs:
        """The values the task hands its code (command line, widgets, environment), worked out when first asked."""
        if self._inputs is None:
            self._inputs = _as_the_code_sees_them(self.inputs_of() if self.inputs_of is not None else NO_INPUTS, self)
        return self._inputs

    def sources(self) -> list[PythonSource]:
        """Every file the task runs or imports at log time, each once."""
        if self._sources is None:
            seen: set[int] = set()  # by identity: a %%writefile body shares the name of its notebook
            out: list[PythonSource] = []
            for source in (*self.runs, *self.modules, *(f for model in self.code_models for f in model.files)):
                if id(source) not in seen:
                    seen.add(id(source))
                    out.append(source)
            self._sources = out
        return self._sources

    def parsed(self) -> Iterator[tuple[PythonSource, ModuleFacts]]:
        """Every file of :meth:`sources` that parsed, with its facts."""
        for source in self.sources():
            if source.tree is not None:
                yield source, facts_of(source)

    def run_facts(self) -> list[ModuleFacts]:
        return [facts_of(s) for s in self.runs if s.tree is not None]


def _as_the_code_sees_them(inputs: TaskInputs, program: TaskProgram) -> TaskInputs:
    """What the task passes, less what its own code changes before reading it: a rewritten ``sys.argv``, environment
    variables it sets, widgets of a notebook ``%run`` with arguments. Those stay unknown."""
    if inputs is NO_INPUTS:
        return inputs
    argv, widgets, env = inputs.argv, inputs.widgets, inputs.env
    for source in program.sources():
        if source.tree is None and not source.magics:
            continue
        rewrites = facts_of(source).input_rewrites
        if rewrites.argv:
            argv = None
        if rewrites.all_env:
            env = {}
        elif rewrites.env_keys:
            env = {k: v for k, v in env.items() if k not in rewrites.env_keys}
        if rewrites.run_arguments:
            widgets = {}
    if (argv, widgets, env) == (inputs.argv, inputs.widgets, inputs.env):
        return inputs
    return TaskInputs(argv, widgets, env, inputs.spark_conf)


def _resolve_import(
    cache: SourceCache, source: PythonSource, facts: ModuleFacts, search: list[str], written: dict[str, PythonSource]
) -> Iterator[str]:
    for fact in facts.imports:
        names = fact.loaded()
        folders = search
        if fact.level:
            base = _folder(source.rel)
            for _ in range(fact.level - 1):
                base = _folder(base)
            folders = [base]
        for name in names:
            found = module_file(cache, folders, name)
            if found is None and written:
                path = name.replace(".", "/") + ".py"
                found = next((k for k in (f"{d}/{path}" if d else path for d in folders) if k in written), None)
            if found is not None:
                yield found


def _written_files(entry: EntryPoint, runs: list[PythonSource]) -> dict[str, PythonSource]:
    """The files the task's notebooks write with ``%%writefile``, by path: relative to the bundle root when written
    relative to the working directory (the entry notebook's folder), else the absolute path as written."""
    out: dict[str, PythonSource] = {}
    for run in runs:
        for written in run.written:
            if written.append or UNKNOWN in written.path or written.path.startswith(("$", "~")):
                continue  # appended pieces are not a whole file; a variable or home folder is not known
            if written.path.startswith("/"):
                key = posixpath.normpath(written.path)
            else:
                key = posixpath.normpath(posixpath.join(_folder(entry.rel), written.path))
                if key.startswith("../") or key == "..":
                    continue
            out[key] = written.source  # a later write replaces the file
    return out


def _closure(
    cache: SourceCache, starts: Iterable[PythonSource], search: list[str], exclude: set[str], written: dict[str, PythonSource] | None = None
) -> list[PythonSource]:
    """The bundle modules ``starts`` import, directly or not (``exclude``: files already accounted for). A module a
    notebook writes with ``%%writefile`` (``written``) stands for the file of that name, which it overwrites."""
    written = written or {}
    seen = set(exclude)
    queue = [s for s in starts]
    for s in queue:
        seen.add(s.rel)
    out: list[PythonSource] = []
    while queue and len(out) < _MAX_FILES:
        source = queue.pop(0)
        if source.tree is None:
            continue
        for rel in _resolve_import(cache, source, facts_of(source), search, written):
            if rel in seen:
                continue
            seen.add(rel)
            module = written.get(rel) or cache.source(rel)
            if module is not None:
                out.append(module)
                queue.append(module)
    return out


def workspace_file_prefixes(target: Target) -> list[str]:
    """Where the bundle's files land in the workspace (``workspace.file_path``), with and without ``/Workspace``.

    Without ``file_path`` or ``root_path`` the CLI's default applies: ``~/.bundle/<bundle name>/<target>/files``,
    ``~`` being ``/Workspace/Users/<current user>``. A reference left in a prefix (the current user's name) stands
    for one path segment: see :func:`_strip_prefix`.
    """
    workspace = target.config.get("workspace")
    workspace = workspace if isinstance(workspace, YMap) else YMap()
    value = workspace.get("file_path")
    if not isinstance(value, str):
        root = workspace.get("root_path")
        if not isinstance(root, str):
            bundle = target.config.get("bundle")
            name = bundle.get("name") if isinstance(bundle, YMap) else None
            if not isinstance(name, str) or not name or is_unknown(name):
                return []
            root = f"~/.bundle/{name}/{target.name}"
        value = f"{root}/files"
    if value.startswith("~/"):
        value = "/Workspace/Users/${workspace.current_user.userName}/" + value[2:]
    if not value.startswith("/"):
        return []
    value = value.rstrip("/")
    other = value[len("/Workspace") :] if value.startswith("/Workspace/") else "/Workspace" + value
    return [value, other]


def _strip_prefix(text: str, prefix: str) -> str | None:
    """``text`` without the folder ``prefix`` and its slash, or None when it is not under it.

    A ``${...}`` reference in the prefix (``/Workspace/Users/${workspace.current_user.userName}/...``) matches one
    whole path segment: the user's name holds no slash.
    """
    if "${" not in prefix:
        return text[len(prefix) + 1 :] if text.startswith(prefix + "/") else None
    pattern = "".join(
        "[^/]+" if piece.startswith("${") else re.escape(piece) for piece in re.split(r"(\$\{[^}]*\})", prefix) if piece
    )
    match = re.match(pattern + "/", text)
    return text[match.end() :] if match else None


def follow_path(value: str | None, owner: str, entry: str, copies: list[tuple[str, str]], prefixes: list[str]) -> str | None:
    """The bundle file (relative to the root) a runtime path value names, when it can be told."""
    if value is None or UNKNOWN in value:
        return None
    text = value
    marked = text[:1] in MARKERS
    if text.startswith(SCRIPT):
        text = owner + text[1:]
    text = text.replace(SCRIPT_DIR, _folder(owner) or ".").replace(CWD, _folder(entry) or ".")
    if any(m in text for m in MARKERS):
        return None
    if text.startswith("/"):
        for src, dst in copies:
            if text == dst or text.startswith(dst + "/"):
                text = src + text[len(dst) :]
                break
        for prefix in prefixes:
            rest = _strip_prefix(text, prefix)
            if rest is not None:
                text = rest
                break
        else:
            return None
    elif not marked:
        # A relative path is relative to the working directory: the running notebook's or script's folder.
        text = posixpath.join(_folder(entry), text)
    text = posixpath.normpath(text)
    if text.startswith("../") or text in ("..", ".") or text.startswith("/"):
        return None
    return text


def _search_dirs(entry: EntryPoint, runs: list[PythonSource], prefixes: list[str]) -> list[str]:
    """Where ``import x`` looks in the bundle: the entry point's folder, folders put on sys.path, the bundle root."""
    dirs = [_folder(entry.rel)]
    for run in runs:
        facts = facts_of(run)
        for path_entry in facts.path_entries:
            folder = follow_path(path_entry.value, run.rel, entry.rel, facts.copies, prefixes)
            if folder is not None and folder not in dirs:
                dirs.append(folder)
    if "" not in dirs:
        dirs.append("")
    return dirs


# What a program is made of, apart from the task that runs it: the same for every task that runs that file.
_Parts = tuple[list[PythonSource], list[PythonSource], list[CodeModel], list[str]]


def _build(target: Target, entry: EntryPoint, cache: SourceCache) -> TaskProgram | None:
    # Many tasks run one script (five tasks of a job, the same job in every target); its imports are followed once
    # for each place the bundle's files are deployed to.
    prefixes = workspace_file_prefixes(target)
    built: dict[tuple[str, bool, tuple[str, ...]], _Parts | None] = per_object(cache, "programs", dict)
    key = (entry.rel, entry.notebook, tuple(prefixes))
    if key not in built:
        built[key] = _parts(entry, cache, prefixes)
    parts = built[key]
    if parts is None:
        return None

    def inputs() -> TaskInputs:
        placed = _cluster_index(target).get(entry.task.path)
        return task_inputs(target, entry.task, placed[0] if placed else None)

    return TaskProgram(entry, *parts, inputs_of=inputs)


def _parts(entry: EntryPoint, cache: SourceCache, prefixes: list[str]) -> _Parts | None:
    source = cache.source(entry.rel)
    if source is None:
        return None
    runs = [source]
    index = 0
    while index < len(runs) and len(runs) < _MAX_RUNS:
        current = runs[index]
        index += 1
        if current.tree is None and not current.magics:
            continue
        for _, written in facts_of(current).run_magics:
            rel = notebook_file(cache, _folder(current.rel), written)
            if rel is not None and all(r.rel != rel for r in runs):
                included = cache.source(rel)
                if included is not None:
                    runs.append(included)
    search = _search_dirs(entry, runs, prefixes)
    written_files = _written_files(entry, runs)
    modules = _closure(cache, runs, search, set(), written_files)
    code_models: list[CodeModel] = []
    known = {s.rel for s in (*runs, *modules)}
    for owner in (*runs, *modules):
        facts = facts_of(owner)
        for log in facts.log_models:
            if log.code_model_path is None:
                continue
            rel = follow_path(log.code_model_path, owner.rel, entry.rel, facts.copies, prefixes)
            model = CodeModel(log, owner, rel)
            # A file the notebook wrote with %%writefile replaces the bundle file of that name.
            model_source = written_files.get(rel or "") or written_files.get(posixpath.normpath(log.code_model_path))
            if model_source is None and rel is not None and rel.endswith(".py"):
                model_source = cache.source(rel)
            if model_source is not None:
                model.files = [model_source, *_closure(cache, [model_source], [_folder(rel or ""), ""], known, written_files)]
            code_models.append(model)
    return runs, modules, code_models, search


def max_file_bytes(settings: Settings | None) -> int | None:
    """The ``limits.max-file-bytes`` setting, which bounds Python files as it bounds YAML files."""
    return settings.limits.get("max-file-bytes") if settings is not None else None


def programs(target: Target, max_bytes: int | None = None) -> list[TaskProgram]:
    """The program of every task that runs a local Python file or notebook, in configuration order."""

    def build() -> list[TaskProgram]:
        cache = cache_for(target.bundle, max_bytes)
        out: list[TaskProgram] = []
        for entry in entry_points(target):
            program = _build(target, entry, cache)
            if program is not None:
                out.append(program)
        return out

    return per_object(target, "python-programs", build)


def program_for(target: Target, ref: TaskRef) -> TaskProgram | None:
    by_path = per_object(target, "python-programs-by-path", lambda: {program.path: program for program in programs(target)})
    return by_path.get(ref.path)


def first_at(seen: set[tuple[str, int, int]], loc: Loc) -> bool:
    """True the first time a position is reported (a file run by several tasks is reported once)."""
    mark = (loc.file, loc.line, loc.col)
    if mark in seen:
        return False
    seen.add(mark)
    return True


def syntax_reports(target: Target, max_bytes: int | None = None) -> Iterator[Report]:
    """DG001 for every file a task runs (or imports at log time) that cannot be read or parsed; each file once."""
    seen: set[str] = set()
    for program in programs(target, max_bytes):
        for source in program.sources():
            problem = source.problem
            if problem is None or source.rel in seen:
                continue
            seen.add(source.rel)
            yield Report(problem.message, path=program.path, at=Loc(source.rel, problem.line, problem.col))


# --- compute and installed packages ------------------------------------------------------------------------------


def _cluster_index(target: Target) -> dict[PathParts, tuple[ClusterSpec, RuntimeKey | None]]:
    def build() -> dict[PathParts, tuple[ClusterSpec, RuntimeKey | None]]:
        index: dict[PathParts, tuple[ClusterSpec, RuntimeKey | None]] = {}
        for cluster in iter_clusters(target):
            if cluster.kind is ClusterKind.PIPELINE:
                continue
            runtime = cluster.runtime  # parsed once per cluster, not once per task
            for ref in cluster.tasks:
                index.setdefault(ref.path, (cluster, runtime))
        return index

    return per_object(target, "python-task-clusters", build)


def task_cluster(target: Target, ref: TaskRef) -> ClusterSpec | None:
    found = _cluster_index(target).get(ref.path)
    return found[0] if found is not None else None


def task_runtime(target: Target, ref: TaskRef) -> RuntimeKey | None:
    found = _cluster_index(target).get(ref.path)
    return found[1] if found is not None else None


@dataclass(frozen=True, slots=True)
class Installed:
    """A package the task installs, and where that is written."""

    requirement: Requirement
    where: str  # for messages: "pypi library", "%pip install at src/nb.py:3"
    path: PathParts  # bundle path of the library entry (the task's entry point for code installs)
    rel: str | None = None  # for code installs: the file and the Python-text line of the install
    line: int = 0
    upgrade: bool = False

    @property
    def name(self) -> str:
        return self.requirement.name


@dataclass
class TaskInstalls:
    packages: list[Installed] = field(default_factory=list)
    # Why the task may have packages dab-guard cannot list (a wheel, a requirements file in the workspace, init
    # scripts, an all-purpose cluster's libraries). Code installs that cannot be read are kept by file and line.
    opaque: list[str] = field(default_factory=list)
    code_opaque: list[tuple[str, int, str]] = field(default_factory=list)


def _yaml_installs(target: Target, ref: TaskRef, out: TaskInstalls) -> None:
    for package in task_pip_packages(target, ref):
        if package.where == "wheel":
            out.opaque.append(f"installs the wheel {package.requirement}, whose dependencies are not known offline")
            continue
        requirement = parse_requirement(package.requirement) or Requirement(package.name, (), package.requirement)
        out.packages.append(Installed(requirement, package.where, package.path))
    libraries = ref.task.get("libraries")
    if isinstance(libraries, YSeq):
        for i, library in enumerate(libraries):
            if not isinstance(library, YMap):
                continue
            pypi = library.get("pypi")
            if isinstance(pypi, YMap) and is_unknown(pypi.get("package")):
                out.opaque.append("installs a PyPI package named by a reference")
            requirements = library.get("requirements")
            if isinstance(requirements, str):
                local = target.local_path((*ref.path, "libraries", i, "requirements"), requirements)
                if local is None or not cache_for(target.bundle).is_file(local.as_posix()):
                    out.opaque.append(f"installs the requirements file {requirements}, which cannot be read offline")
            if library.get("egg"):
                out.opaque.append("installs an egg, whose dependencies are not known offline")
    environment_key = ref.task.get("environment_key")
    job = job_named(target, ref.job)
    if isinstance(environment_key, str) and job is not None:
        environments = job.get("environments")
        if isinstance(environments, YSeq):
            for i, environment in enumerate(environments):
                if not isinstance(environment, YMap) or environment.get("environment_key") != environment_key:
                    continue
                spec = environment.get("spec")
                dependencies = spec.get("dependencies") if isinstance(spec, YMap) else None
                if not isinstance(dependencies, YSeq):
                    continue
                for j, dependency in enumerate(dependencies):
                    path = ("resources", "jobs", ref.job, "environments", i, "spec", "dependencies", j)
                    if not isinstance(dependency, str) or is_unknown(dependency):
                        out.opaque.append("installs an environment dependency named by a reference")
                        continue
                    parsed = parse_requirement(dependency)
                    if parsed is None:
                        out.opaque.append(f"installs {dependency} (environment dependency), which cannot be read offline")
                    else:
                        out.packages.append(Installed(parsed, "environment dependency", path))
    if not any(ref.task.get(k) for k in ("job_cluster_key", "new_cluster", "existing_cluster_id", "environment_key")):
        out.opaque.append("runs on serverless compute without an environment of the job, so its packages are set elsewhere")
    cluster = task_cluster(target, ref)
    if cluster is not None:
        if cluster.kind is ClusterKind.ALL_PURPOSE:
            out.opaque.append(f"runs on {cluster.describe()}, whose installed libraries are not in the bundle")
        if cluster.get("init_scripts"):
            out.opaque.append(f"{cluster.describe()} runs init scripts, which may install packages")
        if cluster.policy_id:
            out.opaque.append(f"{cluster.describe()} uses a cluster policy, which may install libraries")
    elif isinstance(ref.task.get("existing_cluster_id"), str):
        out.opaque.append("runs on an existing cluster, whose installed libraries are not in the bundle")


def task_installs(target: Target, program: TaskProgram) -> TaskInstalls:
    """The packages a task installs: task libraries, its environment's dependencies, and pip installs in its code."""

    def build() -> TaskInstalls:
        out = TaskInstalls()
        _yaml_installs(target, program.ref, out)
        for run in program.runs:
            for command in facts_of(run).pip_commands:
                if command.magic and not program.entry.notebook:
                    continue  # a spark_python_task runs "# MAGIC %pip" lines of a notebook export as comments
                where = f"{'%pip install' if command.magic else 'pip install'} at {run.loc(command.line).file}:{run.loc(command.line).line}"
                for requirement in command.install.requirements:
                    out.packages.append(Installed(requirement, where, program.entry.value_path, run.rel, command.line, command.install.upgrade))
                if command.install.opaque:
                    out.code_opaque.append((run.rel, command.line, command.install.opaque))
        return out

    return per_object(program, "python-installs", build)


# --- the MLflow a task runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MlflowVersion:
    version: Version
    source: str  # "Databricks Runtime 16.4 LTS ML", "mlflow>=3 (pypi library)", "the mlflow-version setting"

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def text(self) -> str:
        if len(self.version) > 1 and self.version[1] >= 999:
            return f"{self.version[0]}.x"
        return ".".join(str(p) for p in self.version)


def runtime_mlflow(runtime: RuntimeKey | None) -> Version | None:
    """The MLflow a Databricks Runtime ML release ships, for the LTS releases dab-guard knows."""
    if runtime is None or not runtime.ml or runtime.version is None:
        return None
    if runtime.major is not None and runtime.major == 18:
        return RUNTIME_18_ML_MLFLOW
    return RUNTIME_ML_MLFLOW.get(runtime.version)


def task_mlflow(target: Target, program: TaskProgram, setting: str | None) -> MlflowVersion | None:
    """The MLflow version the task runs: the ``mlflow-version`` setting, else the runtime's own MLflow changed by any
    explicit ``mlflow`` install of the task, or by an install of a package that requires MLflow 3
    (:data:`MLFLOW_3_DEPENDENTS`). None when it cannot be told."""
    if setting:
        parsed = parse_version(setting)
        return MlflowVersion(parsed, "the mlflow-version setting") if parsed else None
    runtime = task_runtime(target, program.ref)
    version = runtime_mlflow(runtime)
    source = f"Databricks Runtime {runtime.describe()}" if runtime is not None and version is not None else ""
    packages = task_installs(target, program).packages
    for installed in packages:
        if installed.name not in ("mlflow", "mlflow-skinny"):
            continue
        after = installed_version(version, installed.requirement, installed.upgrade)
        if after != version:
            version, source = after, f"{installed.requirement.text} ({installed.where})"
    held = any(installed.name in ("mlflow", "mlflow-skinny") and _pinned(installed.requirement) for installed in packages)
    if version is not None and version[0] < 3 and not held:
        for installed in packages:
            if installed.name not in MLFLOW_3_DEPENDENTS:
                continue
            if _pinned(installed.requirement):
                return None  # an older release of it may still accept MLflow 2: the version cannot be told
            version = (3, LATEST_MINOR)
            source = f"{installed.requirement.text} ({installed.where}), which requires mlflow>=3"
            break
    if version is None:
        return None
    return MlflowVersion(version, source)


def _pinned(requirement: Requirement) -> bool:
    """Whether a requirement holds a package to a release or below a bound (so not simply "the newest")."""
    return any(op in ("==", "===", "<", "<=", "~=") for op, _ in requirement.specs)


# --- Unity Catalog names -------------------------------------------------------------------------------------------


def name_parts(value: str | None) -> int | None:
    """How many dot-separated parts a model name has (None: not known at all).

    In ``f"{catalog}.{schema}.model"`` each unknown part is taken to be one name: a catalog or schema name holds no
    dot.
    """
    if value is None:
        return None
    return value.count(".") + 1


def is_uc_name(value: str | None) -> bool:
    return name_parts(value) == 3


def traced_value(program: TaskProgram, facts: ModuleFacts, call: CallFact, node: ast.expr | None) -> Traced:
    """The value of an argument of ``call`` with what the task hands its code, and where that came from."""
    if node is None:
        return Traced(None)
    same = facts.task_independent(call, node)
    return same if same is not None else facts.traced(call, node, program.inputs)


def registered_name(program: TaskProgram, facts: ModuleFacts, log: LogModel) -> Traced:
    """The ``registered_model_name=`` of a log_model call, as the task runs it."""
    return traced_value(program, facts, log.call, log.registered_name.value if log.registered_name is not None else None)


def registration_name(program: TaskProgram, facts: ModuleFacts, registration: Registration) -> Traced:
    """The model name of an ``mlflow.register_model`` call, as the task runs it."""
    return traced_value(program, facts, registration.call, registration.name)


def uc_registry_reason(target: Target, program: TaskProgram, facts: ModuleFacts, call: CallFact, setting: str | None = None) -> str | None:
    """Why the registry a registration at ``call`` uses is Unity Catalog; None when it is not (or cannot be told).

    ``set_registry_uri("databricks-uc")`` before it gives "" (the code says so); else ``MLFLOW_REGISTRY_URI`` of the
    task's environment; else MLflow 3's own default on Databricks (``databricks-uc``) when the task runs MLflow 3.
    """
    if facts.registry_is_uc(call):
        return ""
    sources = [s for s in program.sources() if s.tree is not None]
    if any(facts_of(s).registry_uris or facts_of(s).input_rewrites.registry for s in sources):
        return None  # the code sets another registry, or one that cannot be told
    # MLflow takes MLFLOW_REGISTRY_URI, then the Spark setting, then its default.
    for setting_name, found in (
        ("MLFLOW_REGISTRY_URI", program.inputs.env.get("MLFLOW_REGISTRY_URI")),
        ("spark.mlflow.modelRegistryUri", program.inputs.spark_conf.get("spark.mlflow.modelRegistryUri")),
    ):
        if found is not None:
            if not found.text.startswith("databricks-uc"):
                return None
            return f"{setting_name} is {display(found.text)!r} ({found.describe()})"
    version = task_mlflow(target, program, setting)
    if version is None or version.major < 3:
        return None
    return f"MLflow {version.text} ({version.source}) registers to Unity Catalog unless told otherwise"


def uc_registry(target: Target, program: TaskProgram, facts: ModuleFacts, call: CallFact, setting: str | None = None) -> bool:
    """Whether the registry a registration at ``call`` uses is Unity Catalog (see :func:`uc_registry_reason`)."""
    return uc_registry_reason(target, program, facts, call, setting) is not None


def log_registers_to_uc(target: Target, program: TaskProgram, facts: ModuleFacts, log: LogModel, setting: str | None = None) -> bool:
    """Whether a log_model call registers its model to Unity Catalog."""
    if log.registered_name is None:
        return False
    return is_uc_name(registered_name(program, facts, log).value) or uc_registry(target, program, facts, log.call, setting)


def module_registers_to_uc(target: Target, program: TaskProgram, facts: ModuleFacts, setting: str | None = None) -> bool:
    """``mlflow.register_model`` with a Unity Catalog name (or to a Unity Catalog registry, see :func:`uc_registry`)."""
    return any(
        is_uc_name(registration_name(program, facts, r).value) or uc_registry(target, program, facts, r.call, setting)
        for r in facts.registrations
    )


# --- the cluster rules' questions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelUse:
    """What the code a task runs does with models, and the evidence (``src/log_model.py:12 calls ...``)."""

    logs_models: bool = False
    registers_to_uc: bool = False
    runs_agents: bool = False
    evidence: str = ""

    @property
    def any(self) -> bool:
        return self.logs_models or self.registers_to_uc or self.runs_agents


# Imports that mean a task runs agents. Plain langchain is not one: data jobs use it to split text too.
AGENT_IMPORTS = ("langgraph", "databricks_langchain", "databricks.agents", "databricks_openai")


def task_uses_models(target: Target, job_path: PathParts, task: YMap) -> ModelUse:
    """Whether task ``task`` of the job at ``job_path`` logs models, registers them to Unity Catalog or runs agents.

    Read from the Python the task runs (its entry point, ``%run`` notebooks, and the bundle modules they import).
    Unknown (no local entry point, a file that does not parse) is ``ModelUse()``: nothing is claimed.
    """
    job = _job_at(target, job_path)
    if job is None:
        return ModelUse()
    for ref in iter_job_tasks(job_path, job):
        if ref.task is task:
            return model_use(target, ref)
    return ModelUse()


def _job_at(target: Target, job_path: PathParts) -> YMap | None:
    node: object = target.config
    for part in job_path:
        node = node.get(part) if isinstance(node, dict) and isinstance(part, str) else None
    return node if isinstance(node, YMap) else None


def model_use(target: Target, ref: TaskRef) -> ModelUse:
    """What the code of task ``ref`` does with models (empty when the task runs no local Python)."""
    program = program_for(target, ref)
    if program is None:
        return ModelUse()
    logs = registers = agents = False
    evidence: list[str] = []
    for source in (*program.runs, *program.modules):
        if source.tree is None:
            continue
        facts = facts_of(source)
        for log in facts.log_models:
            where = source.loc_of(log.call.node)
            if not logs:
                evidence.append(f"calls {log.call.name} in {where.file}:{where.line}")
            logs = True
            if not registers and log_registers_to_uc(target, program, facts, log):
                registers = True
                evidence.append(f"registers the model to Unity Catalog ({where.file}:{where.line})")
        for registration in facts.registrations:
            if not registers and (
                is_uc_name(registration_name(program, facts, registration).value) or uc_registry(target, program, facts, registration.call)
            ):
                where = source.loc_of(registration.call.node)
                registers = True
                evidence.append(f"registers a model to Unity Catalog with mlflow.register_model in {where.file}:{where.line}")
        for deploy in facts.deploys:
            if not agents:
                where = source.loc_of(deploy.node)
                evidence.append(f"deploys an agent with databricks.agents.deploy in {where.file}:{where.line}")
            agents = registers = True
        if not agents:
            for fact in facts.imports:
                if fact.guarded:
                    continue
                hit = next((n for n in fact.loaded() for p in AGENT_IMPORTS if n == p or n.startswith(p + ".")), None)
                if hit is not None:
                    where = source.loc_of(fact.node)
                    evidence.append(f"imports {hit} in {where.file}:{where.line}")
                    agents = True
                    break
    if not (logs or registers or agents):
        return ModelUse()
    return ModelUse(logs, registers, agents, ", ".join(evidence))


def task_notebook_packages(target: Target, ref: TaskRef) -> list[PipPackage]:
    """The packages the code of task ``ref`` installs itself (``%pip install`` cells, ``pip install`` subprocesses)."""
    program = program_for(target, ref)
    if program is None:
        return []
    return [
        PipPackage(normalise(p.name), p.requirement.text, p.path, p.where)
        for p in task_installs(target, program).packages
        if p.rel is not None
    ]


def installed_package_names(installs: TaskInstalls) -> set[str]:
    return {normalise(p.name) for p in installs.packages}
