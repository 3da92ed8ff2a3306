"""How the repository's scripts and CI call the Databricks CLI (DG113).

The files read are shell scripts, Makefiles and CI configuration: everything under the bundle root, and, when the
bundle sits inside a bigger git work tree, the CI files at that tree's usual places. Reading is bounded (number of
folder entries, number and size of files), skips virtual environments and tool folders, and never runs anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from dab_guard.bundle.loader import ROOT_NAMES
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target
from dab_guard.bundle.yamlread import read_yaml
from dab_guard.finding import Loc, Report, Severity
from dab_guard.repo import work_tree_root
from dab_guard.rules.base import Rule

MAX_ENTRIES = 20_000  # folder entries looked at per scan
MAX_FILES = 300  # candidate files read per scan
MAX_FILE_BYTES = 512 * 1024

SKIPPED_DIRS = frozenset(
    {
        ".git", ".venv", "venv", "env", ".env", "node_modules", ".databricks", "__pycache__", ".tox", ".nox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".idea", ".vscode", "dist", "build",
        ".terraform", "target",
    }
)
# Folders of a git work tree (above the bundle) where CI configuration and deploy scripts usually live.
REPO_CI_DIRS = (".github/workflows", ".circleci", ".azure-pipelines", ".azuredevops", ".gitlab/ci", ".buildkite", "scripts", "ci")

SHELL, MAKE, GITHUB, CI = "shell", "make", "github", "ci"

_ENV_NAMES = ("DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE")
_ENV_RE = re.compile(r"\bDATABRICKS_(?:HOST|CONFIG_PROFILE)\b")
_ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_TOKEN_RE = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"']+(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"']*)*")
_SEPARATOR_RE = re.compile(r"&&|\|\||[;|&()`]|\$\(")
# Words that may come before the command word of a shell command (and YAML list dashes and keys in CI files).
_PREFIX_WORDS = frozenset({"-", "env", "sudo", "exec", "time", "command", "nohup", "if", "then", "do", "else", "elif", "!", "{", "while", "until"})
# Global and subcommand flags of the Databricks CLI that take a value, so that the value is not taken for a word.
_VALUE_FLAGS = frozenset(
    {
        "-p", "--profile", "-t", "--target", "-o", "--output", "--log-level", "--log-file", "--log-format", "--var",
        "--progress-format", "-l", "--language", "-f", "--format", "--file", "--cluster-id", "--compute-id",
    }
)


@dataclass(frozen=True)
class Command:
    """One call of the Databricks CLI found in a file."""

    words: tuple[str, ...]  # subcommand words, flags removed: ("bundle", "deploy")
    tokens: tuple[str, ...]  # every token after `databricks`, unquoted
    before: tuple[str, ...]  # tokens before `databricks` in the same command (inline VAR=value assignments)
    line: int
    col: int


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    return token.replace('"', "").replace("'", "")


def _strip_comment(line: str) -> str:
    """The line without a trailing shell comment (a ``#`` at the start of a word, outside quotes)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _is_cli(token: str) -> bool:
    name = _unquote(token).rsplit("/", 1)[-1]
    return name in ("databricks", "databricks.exe")


def _subcommand_words(tokens: list[str]) -> tuple[str, ...]:
    words: list[str] = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token.startswith("-"):
            skip = token in _VALUE_FLAGS
            continue
        words.append(token)
        if len(words) == 2:
            break
    return tuple(words)


def commands_in_line(text: str, line: int, first_col: int = 1) -> Iterator[Command]:
    """The Databricks CLI calls in one logical line of shell (``first_col`` is the column of ``text[0]``)."""
    code = _strip_comment(text)
    start = 0
    for segment in [*_SEPARATOR_RE.split(code)]:
        offset = code.find(segment, start)
        start = offset + len(segment) if offset >= 0 else start
        matches = list(_TOKEN_RE.finditer(segment))
        for i, match in enumerate(matches):
            if not _is_cli(match.group(0)):
                continue
            before = [m.group(0) for m in matches[:i]]
            if not all(b in _PREFIX_WORDS or b.endswith(":") or _ASSIGNMENT_RE.match(b) or b.lstrip("@-+") == "" for b in before):
                break  # `echo databricks bundle deploy`, a path argument...: not a call
            tokens = [_unquote(m.group(0)) for m in matches[i + 1 :]]
            yield Command(_subcommand_words(tokens), tuple(tokens), tuple(before), line, first_col + max(offset, 0) + match.start())
            break


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each shell line, continuation backslashes joined."""
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            first = number
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        yield first, " ".join(pending)
        pending = []
    if pending:
        yield first, " ".join(pending)


def option(tokens: tuple[str, ...], *names: str) -> str | None:
    """The value of the first of ``names`` (``-p x``, ``--profile x``, ``--profile=x``, ``-px``), or None."""
    for i, token in enumerate(tokens):
        for name in names:
            if token == name:
                return tokens[i + 1] if i + 1 < len(tokens) else ""
            if name.startswith("--") and token.startswith(name + "="):
                return token[len(name) + 1 :]
            if not name.startswith("--") and token.startswith(name) and len(token) > len(name):
                return token[len(name) :]
    return None


# --- what is wrong with a call ---------------------------------------------------------------------------------


def notebook_import(command: Command) -> str | None:
    """The .py file a `workspace import --language PYTHON` turns into a notebook, if this is such a call."""
    if command.words != ("workspace", "import"):
        return None
    language = option(command.tokens, "--language", "-l")
    if language is None or language.upper() != "PYTHON":
        return None
    fmt = option(command.tokens, "--format", "-f")
    if fmt is not None and fmt.upper() not in ("SOURCE", ""):
        return None  # AUTO and RAW keep a plain .py file a file
    # The local file is --file's value; the positional word is the workspace path, which may end in .py too.
    local = option(command.tokens, "--file")
    if local is not None:
        return local if local.endswith(".py") else None
    for token in command.tokens:
        if token.endswith(".py") and not token.startswith("-"):
            return token
    return None


def is_bundle_command(command: Command) -> bool:
    return command.words in (("bundle", "deploy"), ("bundle", "validate"))


def names_workspace(command: Command) -> bool:
    """The call itself says which workspace: ``--profile``/``-p``, or an inline ``DATABRICKS_HOST=...``."""
    if option(command.tokens, "--profile", "-p") is not None:
        return True
    return any(token.split("=", 1)[0] in _ENV_NAMES for token in command.before)


def target_of(command: Command) -> str | None:
    return option(command.tokens, "--target", "-t")


# --- reading files ---------------------------------------------------------------------------------------------


def kind_of(rel: PurePosixPath) -> str | None:
    """What a file is to DG113, from its path relative to the folder scanned."""
    name = rel.name
    parts = rel.parts
    lower = name.lower()
    if lower.endswith((".yml", ".yaml")):
        if len(parts) >= 3 and parts[-3:-1] == (".github", "workflows"):
            return GITHUB
        if lower.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")) or lower.startswith("azure-pipelines"):
            return CI
        if lower in ("bitbucket-pipelines.yml", ".drone.yml", ".travis.yml", "cloudbuild.yaml", "cloudbuild.yml"):
            return CI
        if any(p in (".circleci", ".azure-pipelines", ".azuredevops", ".buildkite", ".gitlab") for p in parts[:-1]):
            return CI
        return None
    if name.startswith("Jenkinsfile"):
        return CI
    if name in ("Makefile", "makefile", "GNUmakefile") or lower.endswith(".mk"):
        return MAKE
    if lower.endswith((".sh", ".bash", ".zsh", ".ksh")):
        return SHELL
    return None


def candidate_files(bundle_root: Path) -> list[tuple[Path, str]]:
    """(absolute path, kind) of every file DG113 reads for the bundle at ``bundle_root``, bounded."""
    found: dict[Path, str] = {}
    budget = [MAX_ENTRIES]
    _walk(bundle_root, bundle_root, found, budget, recursive=True)
    repo = work_tree_root(bundle_root)
    if repo is not None and repo != bundle_root:
        _walk(repo, repo, found, budget, recursive=False)
        for sub in REPO_CI_DIRS:
            if (repo / sub).is_dir():
                _walk(repo / sub, repo, found, budget, recursive=False)
    return sorted(found.items())[:MAX_FILES]


def _holds_other_bundle(folder: Path) -> bool:
    """A sub-folder with a root configuration file of its own is another bundle, checked when that one is."""
    return any((folder / name).is_file() for name in ROOT_NAMES)


def _walk(folder: Path, base: Path, found: dict[Path, str], budget: list[int], recursive: bool) -> None:
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                return
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive and entry.name not in SKIPPED_DIRS and not _holds_other_bundle(Path(entry.path)):
                        stack.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
            except OSError:
                continue
            path = Path(entry.path)
            kind = kind_of(PurePosixPath(path.relative_to(base).as_posix()))
            if kind is not None and path not in found:
                found[path] = kind


def read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


# --- the rule --------------------------------------------------------------------------------------------------


class CliUsage(Rule):
    """
    ## What it does
    Reads the repository's shell scripts, Makefiles and CI configuration (GitHub workflows, GitLab CI, Azure
    Pipelines, Jenkinsfiles, ...) for two ways of calling the Databricks CLI that go wrong:

    - `databricks workspace import --language PYTHON` on a `.py` file;
    - `databricks bundle deploy` or `databricks bundle validate` in CI with no workspace chosen: neither
      `--profile`/`-p`, nor `DATABRICKS_CONFIG_PROFILE` or `DATABRICKS_HOST` in the environment (of the step, the
      job or the whole workflow), while the bundle itself does not pin the target's `workspace.host` or
      `workspace.profile`.

    ## Why it matters
    `workspace import --language PYTHON` (format SOURCE, the default) creates a notebook, not a Python file. A job
    that runs it as a `spark_python_task` then fails with "Cannot read the python file", after a cluster start.

    A CI deploy with no workspace named goes wherever the runner's default configuration points, or fails late
    for want of a host.

    ## Example
    ```yaml
    # .github/workflows/deploy.yml
    jobs:
      deploy:
        runs-on: ubuntu-latest
        steps:
          - uses: databricks/setup-cli@main
          - run: databricks bundle deploy -t prod   # no DATABRICKS_HOST, no --profile
    ```

    ## Fix
    Upload files with `databricks workspace import-dir`, `databricks sync` or `databricks bundle deploy`. In CI, set
    `DATABRICKS_HOST` (with the credentials) in the step's or job's `env`, or pass `--profile`, or give every target
    its `workspace.host` in the bundle.
    """

    id = "DG113"
    name = "cli-usage"
    severity = Severity.WARNING
    summary = "scripts and CI that import .py files as notebooks or deploy without naming a workspace"
    source = (
        "Guide: `workspace import --language PYTHON` creates a notebook, not a file ('Cannot read the python file'); "
        "set the CLI profile explicitly (DATABRICKS_CONFIG_PROFILE) before running commands."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: dict[Path, list[Report]] = {}

    def check(self, target: Target) -> Iterator[Report]:
        if getattr(target, "local", True) is None:
            return  # --resolved without a local bundle: there is no repository to read
        root = target.bundle.root_dir
        if root not in self._seen:
            self._seen[root] = list(self._scan(target))
        yield from self._seen[root]

    def _scan(self, target: Target) -> Iterator[Report]:
        root = target.bundle.root_dir
        pinned = _pinned_targets(target)
        for path, kind in candidate_files(root):
            text = read_text(path)
            if text is None or "databricks" not in text:
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if kind == GITHUB:
                yield from _github_workflow(text, rel, pinned)
                continue
            env_set = kind == CI and any(_ENV_RE.search(_strip_comment(line)) for line in text.splitlines())
            for number, logical in _logical_lines(text):
                body = logical.lstrip("\t @-+") if kind == MAKE else logical
                col = len(logical) - len(body) + 1
                for command in commands_in_line(body, number, col):
                    yield from _problems(command, rel, kind == CI and not env_set, pinned)


def _problems(command: Command, rel: str, check_workspace: bool, pinned: _Pinned) -> Iterator[Report]:
    where = Loc(rel, command.line, command.col)
    imported = notebook_import(command)
    if imported is not None:
        yield Report(
            f"`databricks workspace import --language PYTHON` turns {imported} into a notebook, not a Python file: a "
            "job that runs it as a file fails with \"Cannot read the python file\"; use `databricks workspace "
            "import-dir`, `databricks sync` or `databricks bundle deploy`",
            at=where,
        )
    if check_workspace and is_bundle_command(command) and not names_workspace(command):
        wanted = target_of(command)
        if pinned.covers(wanted):
            return
        yield Report(
            f"`databricks {' '.join(command.words)}` in CI with neither --profile/-p, DATABRICKS_CONFIG_PROFILE nor "
            f"DATABRICKS_HOST set{pinned.why(wanted)}: the workspace it reaches depends on the runner's default "
            "configuration; set DATABRICKS_HOST in the step's or job's env, or pass --profile",
            at=where,
        )


@dataclass(frozen=True)
class _Pinned:
    """Which targets of the bundle name their workspace themselves (``workspace.host`` or ``workspace.profile``)."""

    targets: dict[str, bool]
    default: str | None

    def covers(self, wanted: str | None) -> bool:
        if wanted is not None and wanted in self.targets:
            return self.targets[wanted]
        if wanted is None and self.default is not None:
            return self.targets.get(self.default, False)
        # A target dab-guard cannot tell (`-t ${{ matrix.env }}`, or no default): every target must be pinned.
        return bool(self.targets) and all(self.targets.values())

    def why(self, wanted: str | None) -> str:
        name = wanted if wanted is not None and wanted in self.targets else self.default if wanted is None else None
        if name is not None:
            return f", and target '{name}' sets no workspace.host"
        return ""


def _has_workspace(section: Any) -> bool:
    if isinstance(section, str):
        return True  # a variable holds the whole section
    if not isinstance(section, dict):
        return False
    return any(isinstance(section.get(key), str) and section.get(key) for key in ("host", "profile"))


def _pinned_targets(target: Target) -> _Pinned:
    config = target.bundle.config
    root_pinned = _has_workspace(config.get("workspace"))
    section = config.get("targets")
    if not isinstance(section, dict):
        section = config.get("environments")
    targets: dict[str, bool] = {}
    default: str | None = None
    if isinstance(section, dict) and section:
        for name, body in section.items():
            body = body if isinstance(body, dict) else {}
            targets[name] = root_pinned or _has_workspace(body.get("workspace"))
            if body.get("default") is True:
                default = name
        if default is None and len(targets) == 1:
            default = next(iter(targets))
    else:
        targets["default"] = root_pinned
        default = "default"
    return _Pinned(targets, default)


# --- GitHub workflows: env at workflow, job and step level -----------------------------------------------------


def _env_names(node: Any) -> set[str]:
    env = node.get("env") if isinstance(node, dict) else None
    return {key for key in env if isinstance(key, str)} if isinstance(env, dict) else set()


def _github_workflow(text: str, rel: str, pinned: _Pinned) -> Iterator[Report]:
    doc = read_yaml(text, rel)
    workflow = doc.value
    if not isinstance(workflow, YMap):
        return
    lines = text.splitlines()
    workflow_env = _env_names(workflow)
    jobs = workflow.get("jobs")
    if not isinstance(jobs, YMap):
        return
    for job in jobs.values():
        if not isinstance(job, YMap):
            continue
        env = workflow_env | _env_names(job)
        steps = job.get("steps")
        if not isinstance(steps, YSeq):
            continue
        exported = False  # set for later steps through $GITHUB_ENV
        for step in steps:
            if not isinstance(step, YMap):
                continue
            script = step.get("run")
            if not isinstance(script, str):
                continue
            step_env = env | _env_names(step)
            has_env = exported or any(name in step_env for name in _ENV_NAMES)
            start = (step.val_locs.get("run") or step.key_locs.get("run") or Loc(rel, 1, 1)).line
            script_lines = script.splitlines()
            cursor = start
            for index, logical in _logical_lines(script):
                if _ENV_RE.search(_strip_comment(logical)) and re.search(r"\bexport\b|=", logical):
                    has_env = True  # `export DATABRICKS_HOST=...` earlier in the same script
                number = _find_line(lines, cursor, script_lines[index - 1])
                cursor = number + 1 if number is not None else cursor
                number = number or start
                col = _cli_offset(lines[number - 1]) + 1 if number <= len(lines) else 1
                for command in commands_in_line(logical, number, 1):
                    yield from _problems(replace(command, col=col), rel, not has_env, pinned)
            if "GITHUB_ENV" in script and _ENV_RE.search(script):
                exported = True


def _cli_offset(line: str) -> int:
    match = re.search(r"(?<![\w./-])(?:[\w./-]*/)?databricks(?:\.exe)?\b", line)
    return match.start() if match else 0


def _find_line(lines: list[str], start: int, script_line: str) -> int | None:
    """The first file line from ``start`` on that holds ``script_line`` of a ``run:`` block (1-based)."""
    wanted = script_line.strip()
    if not wanted:
        return None
    for number in range(max(start, 1), len(lines) + 1):
        if wanted in lines[number - 1]:
            return number
    return None
