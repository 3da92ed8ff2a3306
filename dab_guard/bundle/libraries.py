"""The Python packages a job task installs, as far as the YAML and the files it names tell.

Sources: the task's ``libraries`` (``pypi.package``, the distribution name of a ``whl`` file, and the lines of a
local ``requirements`` file). Workspace and volume paths cannot be read offline and give nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from dab_guard.bundle.clusters import TaskRef
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.finding import PathParts

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_REQUIREMENTS_BYTES = 1_000_000
_MAX_NESTING = 3


@dataclass(frozen=True)
class PipPackage:
    name: str  # normalised as pip compares names: lower case, runs of "-_." as "-"
    requirement: str  # as written
    path: PathParts  # the library entry that brings it in
    where: str  # for messages: "pypi library" or "requirements file src/requirements.txt"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def task_pip_packages(target: Target, ref: TaskRef) -> list[PipPackage]:
    libraries = ref.task.get("libraries")
    if not isinstance(libraries, YSeq):
        return []
    found: list[PipPackage] = []
    for i, library in enumerate(libraries):
        if not isinstance(library, YMap):
            continue
        path = (*ref.path, "libraries", i)
        pypi = library.get("pypi")
        if isinstance(pypi, YMap):
            package = pypi.get("package")
            if isinstance(package, str) and not is_unknown(package):
                match = _NAME_RE.match(package)
                if match:
                    found.append(
                        PipPackage(
                            normalise(match.group(1)), package.strip(), (*path, "pypi", "package"), "pypi library"
                        )
                    )
        wheel = library.get("whl")
        if (
            isinstance(wheel, str)
            and not is_unknown(wheel)
            and wheel.endswith(".whl")
            and not any(c in wheel for c in "*?[")
        ):
            # A wheel file name starts with its distribution name: databricks_langchain-0.5.0-py3-none-any.whl
            dist = PurePosixPath(wheel).name.split("-", 1)[0]
            if dist:
                found.append(PipPackage(normalise(dist), PurePosixPath(wheel).name, (*path, "whl"), "wheel"))
        requirements = library.get("requirements")
        if isinstance(requirements, str):
            rel = target.local_path((*path, "requirements"), requirements)
            if rel is not None:
                for name, line, source in _requirements(target.bundle.root_dir, rel, 0):
                    found.append(PipPackage(name, line, (*path, "requirements"), f"requirements file {source}"))
    return found


def _requirements(root: Path, rel: PurePosixPath, depth: int) -> list[tuple[str, str, PurePosixPath]]:
    """(normalised name, line, file) for each requirement of a local file, following ``-r`` a few levels deep."""
    base = root.resolve()
    path = (base / rel).resolve()
    if base not in path.parents or not path.is_file():
        return []  # outside the bundle, or missing (DG007 reports missing files)
    try:
        stat = path.stat()
    except OSError:
        return []
    if stat.st_size > _MAX_REQUIREMENTS_BYTES:
        return []
    out: list[tuple[str, str, PurePosixPath]] = []
    for raw in _lines(str(path), stat.st_mtime_ns, stat.st_size):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")) and depth < _MAX_NESTING:
            nested = re.sub(r"^(-r|--requirement)[ =]?", "", line).strip()
            if nested and not nested.startswith("/"):
                nested_rel = PurePosixPath(os.path.normpath(str(rel.parent / nested)))
                out.extend(_requirements(root, nested_rel, depth + 1))
            continue
        if line.startswith("-"):
            continue  # options: --index-url, -e, -c ...
        match = _NAME_RE.match(line)
        if match and "://" not in line.split(";", 1)[0].split("@", 1)[0]:
            out.append((normalise(match.group(1)), line, rel))
    return out


@lru_cache(maxsize=64)
def _lines(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The lines of a file, read once per version of it (several rules ask about the same task)."""
    try:
        return tuple(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()
