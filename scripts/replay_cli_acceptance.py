"""Replay the Databricks CLI's own bundle acceptance tests against dab-guard, and count where the two disagree.

The CLI's repository (databricks/cli) keeps, under ``acceptance/bundle/**``, a ``script`` of ``databricks bundle
validate ...`` calls per test and the exact ``output.txt`` they printed, with ``-o json`` outputs of the resolved
configuration. This script reads those folders (it never runs the CLI), runs dab-guard in-process on the same bundle
with the same target, ``--var`` values and environment, and counts:

- false errors: calls the CLI accepts where a loading rule (DG001-DG009) gives an error, or dab-guard refuses the
  bundle (exit 2);
- missed errors: calls where the CLI prints ``Error:`` and dab-guard gives no error at all (each one printed, with
  the CLI's message, so that those which need a workspace can be told apart);
- resolved configuration: for calls whose JSON the test recorded, ``dab-guard render`` of the same target, passed
  through the same ``jq`` filter, compared with it (what only the CLI computes is left out: see ``_CLI_ONLY``).

Usage (``jq`` must be on PATH for the JSON comparison)::

    git -C CLI_CHECKOUT archive HEAD acceptance | tar -x -C /tmp/cli
    .venv/bin/python scripts/replay_cli_acceptance.py /tmp/cli/acceptance/bundle [--verbose] [--only SUBSTRING]

It is a measuring tool for developers, not part of the test suite: the tests hold fixtures of our own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from dab_guard.bundle.loader import ROOT_NAMES, BundleError, load_bundle
from dab_guard.engine import validate
from dab_guard.render import render_target

LOADING_RULES = {f"DG00{i}" for i in range(1, 10)} | {f"DG01{i}" for i in range(0, 10)}
# Commands in a script that change the test folder before a later validate call: such calls are not replayed.
_MUTATING = re.compile(r"^\s*(?:trace\s+)?(?:cp|mv|rm|mkdir|touch|echo .*>|cat .*>|sed -i|envsubst|update_file|git|ln|chmod|printf .*>|cd)\b")
_SKIP_WORDS = ("uv run", "bundle run", "--help", "benchmark.py", "DATABRICKS_BUNDLE_ROOT", "--include-locations", "$(", "`")


@dataclass
class Call:
    test: str
    folder: Path
    line: str
    args: list[str]
    env: dict[str, str]
    expect_error: bool
    pipeline: str  # what the JSON is piped through ("" for none)
    redirect: str  # the file the JSON is written to ("" for stdout)
    section: str | None = None  # what the CLI printed for this call
    targets: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    json_out: bool = False
    repeated_var: bool = False  # `dab-guard --var` refuses a name given twice, as the CLI does (exit 2)
    test_folder: Path | None = None  # the test's folder (``folder`` is where the call runs: after `cd`, `withdir`)
    prepared: list[tuple[Path, Path]] = field(default_factory=list)  # `envsubst < a > b` the script ran before
    service_principal: bool = False  # the test deploys as a service principal (IsServicePrincipal in test.toml)


def sections(output: str) -> list[tuple[str | None, str]]:
    """The output split at each ``>>> command`` header: (header, text after it)."""
    parts: list[tuple[str | None, str]] = []
    header: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith(">>> "):
            parts.append((header, "\n".join(lines)))
            header, lines = line[4:], []
        else:
            lines.append(line)
    parts.append((header, "\n".join(lines)))
    return parts


def script_lines(text: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def split_command(line: str) -> tuple[str, str, str]:
    """(command, pipeline, redirect) of a script line."""
    command, pipeline, redirect = line, "", ""
    if "|" in line:
        command, _, pipeline = line.partition("|")
    target = pipeline or command
    match = re.search(r"(?<![0-9&])>\s*(\S+)", target)
    if match:
        redirect = match.group(1)
        target = target[: match.start()] + target[match.end():]
        if pipeline:
            pipeline = target
        else:
            command = target
    command = re.sub(r"2>\s*\S+", "", command)
    pipeline = re.sub(r"2>\s*\S+", "", pipeline)
    return command.strip(), pipeline.strip(), redirect


def parse_call(test: str, folder: Path, line: str, assignments: dict[str, str]) -> Call | None:
    command, pipeline, redirect = split_command(line)
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    env: dict[str, str] = {}
    expect_error = False
    cwd = folder
    i = 0
    while i < len(words) and words[i] != "$CLI":
        word = words[i]
        if word in ("trace",):
            pass
        elif word == "musterr":
            expect_error = True
        elif word == "errcode":
            pass
        elif word == "withdir" and i + 1 < len(words):
            cwd = folder / words[i + 1]
            i += 1
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            name, _, value = word.partition("=")
            env[name] = value
        else:
            return None
        i += 1
    if words[i + 1 : i + 3] != ["bundle", "validate"]:
        return None
    args = words[i + 3 :]
    call = Call(test, cwd, line, args, env, expect_error, pipeline, redirect)
    j = 0
    while j < len(args):
        arg = args[j]
        if arg in ("-t", "--target") and j + 1 < len(args):
            call.targets.append(args[j + 1])
            j += 1
        elif arg.startswith("--target="):
            call.targets.append(arg.split("=", 1)[1])
        elif (arg == "--var" and j + 1 < len(args)) or arg.startswith("--var="):
            name, _, value = (args[j + 1] if arg == "--var" else arg[6:]).partition("=")
            call.repeated_var = call.repeated_var or name in call.variables
            call.variables[name] = value
            j += 1 if arg == "--var" else 0
        elif arg in ("-o", "--output") and j + 1 < len(args):
            call.json_out = args[j + 1] == "json"
            j += 1
        elif arg == "--strict":
            return None  # warnings as errors: not comparable
        elif arg.startswith("-"):
            return None
        j += 1
    if any("$" in value for value in call.variables.values()) or any("$" in t for t in call.targets):
        return None
    for name, value in assignments.items():
        call.pipeline = call.pipeline.replace(f"${name}", shlex.quote(value)).replace(f"${{{name}}}", shlex.quote(value))
    return call


def header_of(call: Call) -> str:
    """The ``>>>`` line ``trace`` prints for the call: the words after the last ``trace``."""
    command, _, _ = split_command(call.line)
    words = shlex.split(command)
    header = words[len(words) - words[::-1].index("trace") :] if "trace" in words else words
    return " ".join(header).replace("$CLI", "[CLI]")


def calls_of(folder: Path, root: Path, skipped: Counter[str] | None = None) -> list[Call]:
    """The validate calls of a test that can be replayed; ``skipped`` counts the others, by reason."""
    skipped = skipped if skipped is not None else Counter()
    script = (folder / "script").read_text(encoding="utf-8", errors="replace")
    output_path = folder / "output.txt"
    output = output_path.read_text(encoding="utf-8", errors="replace") if output_path.exists() else ""
    lines = script_lines(script)
    assignments: dict[str, str] = {}
    calls: list[Call] = []
    mutated = False
    cwd = folder
    prepared: list[tuple[Path, Path]] = []
    exports: dict[str, str] = {}
    for line in lines:
        assign = re.match(r"^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$", line)
        if assign and "$CLI" not in line:
            with contextlib.suppress(ValueError):
                assignments[assign.group(1)] = " ".join(shlex.split(assign.group(2)))
            continue
        exported = re.match(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$", line)
        if exported and not mutated:
            exports[exported.group(1)] = exported.group(2).strip("'\"")  # for the calls that follow
            continue
        cd = re.match(r"^cd\s+([\w./-]+)\s*$", line)
        if cd and not mutated:
            cwd = (cwd / cd.group(1)).resolve()  # later calls run there, in the test's own folder
            continue
        subst = re.match(r"^(?:trace\s+)?envsubst\s*<\s*([\w./-]+)\s*>\s*([\w./-]+)\s*$", line)
        if subst and not mutated:
            prepared.append((cwd / subst.group(1), cwd / subst.group(2)))  # done on the copy, before the call
            continue
        if "$CLI bundle validate" in line:
            if mutated:
                skipped["skipped: an earlier command of the script changes the files"] += 1
            elif any(word in line for word in _SKIP_WORDS):
                skipped["skipped: not a plain validate call (uv run, bundle run, --help, $(...))"] += 1
            else:
                call = parse_call(folder.relative_to(root).as_posix(), cwd, line, assignments)
                if call is None:
                    skipped["skipped: options or words the replay does not take (--strict, loops, $VAR targets)"] += 1
                else:
                    call.test_folder = folder
                    call.prepared = list(prepared)
                    call.service_principal = _deploys_as_service_principal(folder, root)
                    call.env = {**exports, **call.env}
                    calls.append(call)
            continue
        if re.search(r"\$CLI\s+bundle\s+(deploy|plan|summary|destroy|run|open|debug)\b", line) or re.search(r"\$CLI\s+(?!bundle\b)", line):
            continue  # talks to the workspace; the bundle's files stay as they are
        if "$CLI" in line or _MUTATING.match(line) or line.startswith(("for ", "while ", "if ", "source", ". ")):
            mutated = mutated or "bundle validate" not in line
    # Match each call with what the CLI printed: its traced header, or the whole output for a lone untraced call.
    parts = sections(output)
    used: set[int] = set()
    validate_lines = [line for line in lines if "bundle validate" in line]
    first_output = next((line for line in lines if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*=", line)), None)
    for call in calls:
        if "trace" in shlex.split(split_command(call.line)[0]):
            wanted = header_of(call)
            for index, (header, text) in enumerate(parts):
                if index not in used and header is not None and " ".join(header.split()) == wanted:
                    used.add(index)
                    call.section = text
                    break
        elif len(validate_lines) == 1 and len(lines) == 1 and len(parts) == 1:
            call.section = parts[0][1]
        elif call.line == first_output and parts[0][0] is None and 0 not in used and len(parts) > 1:
            # The script's first command, untraced: what it printed stands before the first traced command.
            used.add(0)
            call.section = parts[0][1]
    return calls


def cli_errors(text: str) -> list[str]:
    return [line[len("Error: "):] for line in text.splitlines() if line.startswith("Error: ")]


def cli_failed(call: Call) -> bool:
    """Whether the CLI refused this call: ``musterr``, an ``Error:`` line, or (for ``errcode``) a nonzero exit code.
    A plain call's section may end with the exit code of a later command of the script: that one is not counted."""
    text = call.section or ""
    code = re.search(r"^Exit code: (\d+)", text, re.MULTILINE)
    counted = "errcode" in split_command(call.line)[0].split()
    return call.expect_error or bool(cli_errors(text)) or bool(counted and code and code.group(1) != "0")


def json_values(text: str) -> list[Any]:
    """The JSON values printed in a section, skipping the diagnostics around them."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped[:1] in '{["' or stripped.startswith(("null", "true", "false")) or stripped[:1].isdigit() or stripped[:1] == "-":
            rest = "".join(lines[i:])
            try:
                value, end = decoder.raw_decode(rest.lstrip())
            except ValueError:
                i += 1
                continue
            values.append(value)
            consumed = rest.lstrip()[:end]
            i += max(1, consumed.count("\n") + 1)
            continue
        i += 1
    return values


def _portable(pipeline: str) -> str:
    """The filter for jq 1.6 too: ``pick(.a)`` of one top-level key is ``{a: .a}``."""
    return re.sub(r"pick\(\.([a-z_]+)\)", r"{\1: .\1}", pipeline)


def _run_jq(pipeline: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", _portable(pipeline)], input=text, capture_output=True, text=True, timeout=30)


def through(pipeline: str, value: Any) -> list[Any] | None:
    if not pipeline:
        return [value]
    done = _run_jq(pipeline, json.dumps(value))
    if done.returncode != 0:
        return None
    return json_values(done.stdout)


def replayable(pipeline: str) -> bool:
    """Whether this machine's ``jq`` compiles the filter (exit status 3 is a compile error: an unknown builtin, or a
    variable of the test's environment); a filter that fails on dab-guard's output is a difference instead."""
    if not pipeline:
        return True
    if not pipeline.startswith("jq") or shutil.which("jq") is None:
        return False
    return _run_jq(pipeline, "null").returncode != 3


# What only the CLI computes (a key the CLI printed and dab-guard's render does not have is left out of the
# comparison when its path matches one of these): workspace paths, deployment metadata, defaults the CLI fills in
# for resources, the git facts, and permissions or names a deployment mode adds.
_CLI_ONLY = [
    r"^bundle\.(git|terraform|uuid|engine|deployment)\b",
    r"^workspace\.(current_user|root_path|file_path|artifact_path|state_path|resource_path)$",
    r"^resources\.[a-z_]+\.[^.]+\.(url|id|modified_status)$",
    r"^sync(\.|$)",  # the CLI's default sync paths
    # Values the CLI computes from others, or fills in, that dab-guard's rendering leaves out.
    r"^resources\.pipelines\.[^.]+\.clusters\[\d+\]\.label$",
    r"^resources\.volumes\.[^.]+\.volume_path$",
    r"new_cluster\.num_workers$",
    r"^artifacts\.[^.]+\.(path|files|dynamic_version)$",
]


# Tag values the CLI normalizes per cloud, which dab-guard's rendering gives as written (a dev tag's value is the
# user's short name, a reference in dab-guard's rendering).
_MODE_PRESETS = re.compile(r"(\.(custom_tags)\.[^.]+$)")
_mode_presets_apply = False
_name_prefix = ""  # the target's presets.name_prefix
_file_path = ""  # the target's workspace.file_path, when the configuration sets it


def _cli_only(path: str) -> bool:
    """Whether a field only the CLI printed (dab-guard's rendering has none) is one only the CLI computes."""
    if _mode_presets_apply and _MODE_PRESETS.search(path):
        return True
    return any(re.search(pattern, path) for pattern in _CLI_ONLY)


def _prefixed(ours: Any, theirs: Any) -> bool:
    """``theirs`` is ``ours`` with the development mode's ``[dev <user>] `` prefix or the presets' name prefix."""
    if not isinstance(ours, str) or not ours or not isinstance(theirs, str):
        return False
    # Development mode: "[dev <user>] " before names, "dev_<user>_" before Unity Catalog names.
    if re.fullmatch(r"(\[dev (?:\[USERNAME\]|[^\]\[]+)\] |dev_(?:\[USERNAME\]|[a-z0-9_]+)_)" + re.escape(ours), theirs):
        return True
    if not _name_prefix:
        return False
    # presets.name_prefix, as written before names, and lowered to a Unity Catalog name before those.
    uc_prefix = re.sub(r"[^a-z0-9_]+", "_", _name_prefix.lower()).strip("_") + "_"
    return _PLACEHOLDER.sub("x", theirs) in (_PLACEHOLDER.sub("x", _name_prefix + ours), _PLACEHOLDER.sub("x", uc_prefix + ours))


_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")


def _workspace_text(value: Any) -> bool:
    """A value the CLI rewrote to a workspace path, or that its tests replaced by a placeholder (``[NODE_TYPE_ID]``,
    ``[UUID]``, ``[TEST_TMP_DIR]``)."""
    return isinstance(value, str) and ("/Workspace/" in value or "${workspace." in value or _PLACEHOLDER.search(value) is not None)


def _same_text(ours: Any, theirs: str) -> bool:
    """Whether ``ours`` is the value the CLI printed as ``theirs``: equal where the CLI's tests put a placeholder
    (``[UUID]``, ``[NODE_TYPE_ID]``; ``[USERNAME]`` is the tests' deploying user, or dab-guard's reference to it),
    where dab-guard leaves a ``${workspace.*}`` reference for a workspace path, or a local path from the bundle root
    that the CLI made a path under ``${workspace.file_path}``."""
    if not isinstance(ours, str) or not ours:
        return False
    flag = re.match(r"^(-r|-e|--requirement|--editable)\s+", theirs)
    if flag and ours.startswith(flag.group(0)):
        return _same_text(ours[len(flag.group(0)):], theirs[len(flag.group(0)):])  # a pip flag before a path
    user = f"(?:{re.escape(_deployer)}|\\$\\{{workspace\\.current_user\\.[a-zA-Z_]+\\}})"
    if _PLACEHOLDER.search(theirs):
        pattern = "".join(
            (user if part == "[USERNAME]" else ".+") if _PLACEHOLDER.fullmatch(part) else _workspace_refs(part)
            for part in re.split(r"(\[[A-Z][A-Z0-9_]*\])", theirs)
        )
        if re.fullmatch(pattern, ours):
            return True
    if "${workspace." in ours and ("/Workspace" in theirs or "[USERNAME]" in theirs):
        # A workspace path only the workspace knows (the deploying user's folder) stays a reference in dab-guard's.
        pattern = "".join("/.+" if part.startswith("${workspace.") else re.escape(part) for part in re.split(r"(\$\{workspace\.[^}]+\})", ours))
        if re.fullmatch(pattern.removeprefix("/"), theirs.removeprefix("/")) or re.fullmatch(pattern, theirs):
            return True
    if not ours.startswith("/") and not theirs.startswith("/") and "${" not in ours and os.path.normpath(ours) == os.path.normpath(theirs):
        return True  # `dist/*.whl` printed as `./dist/*.whl`
    if theirs.startswith(("/Workspace/", "${workspace.")) and not ours.startswith(("/", "${")) and "://" not in ours:
        # A local path, from the bundle root, that the CLI made a workspace path: <file_path>/<the same path>.
        tail = os.path.normpath(ours)
        if _sync_root is not None and _bundle_folder is not None:
            # sync.paths reaching above the bundle: the workspace's files start at that folder.
            tail = os.path.relpath(os.path.normpath(_bundle_folder / tail), _sync_root)
        root = _file_path or "/files"  # workspace.file_path when the configuration sets it
        if tail == ".":
            return theirs.endswith(root)
        notebook = re.sub(r"\.(ipynb|py|sql|scala|r)$", "", tail, flags=re.IGNORECASE)
        return any(theirs.endswith(f"{root}/{t}") for t in {tail, notebook})
    if theirs.startswith("[TEST_TMP_DIR]/") and not ours.startswith("/"):
        return theirs == "[TEST_TMP_DIR]/" + os.path.normpath(ours)  # a local path the CLI made absolute
    return False


def _workspace_refs(text: str) -> str:
    return re.escape(text)


_RESOURCE_REFERENCE = re.compile(r"\$\{(resources\.[^{}]+)\}")


def _implicit_references(theirs: str, ours: Any, root: dict[str, Any]) -> bool:
    """The CLI writes a value that equals another resource's field as a reference to it (implicit dependencies:
    ``catalog_name: ${resources.catalogs.main.name}``); it is the same value when that field, in dab-guard's
    rendering, gives ``ours``."""
    if not isinstance(ours, str) or not _RESOURCE_REFERENCE.search(theirs):
        return False

    def value_of(match: re.Match[str]) -> str:
        node: Any = root
        for part in match.group(1).split("."):
            if not isinstance(node, dict) or part not in node:
                return match.group(0)
            node = node[part]
        return str(node) if not isinstance(node, (dict, list)) else match.group(0)

    return _RESOURCE_REFERENCE.sub(value_of, theirs) == ours


def differences(ours: Any, theirs: Any, path: str = "", prefix: str = "", root: dict[str, Any] | None = None) -> list[str]:
    """Where ``ours`` (dab-guard) differs from ``theirs`` (the CLI), CLI-only facts aside; ``root`` is dab-guard's
    whole rendering, for the references the CLI writes in place of values."""
    where = f"{prefix}{path}" if path else prefix or "."
    if _mode_presets_apply and _MODE_PRESETS.search(where.strip(".")) and not isinstance(theirs, (dict, list)):
        return []  # what the deployment mode or presets change
    if ours is None and isinstance(theirs, dict) and _all_cli_only(theirs, where.strip(".")):
        return []  # a section only the CLI fills in (the workspace paths)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in theirs:
                if not (_mode_presets_apply and _MODE_PRESETS.search(f"{prefix}{sub}".lstrip("."))):
                    out.append(f"{prefix}{sub}: only in dab-guard")
            elif key not in ours:
                if not _all_cli_only(theirs[key], f"{prefix}{sub}".lstrip(".")):
                    out.append(f"{prefix}{sub}: only in the CLI ({json.dumps(theirs[key])[:80]})")
            else:
                out.extend(differences(ours[key], theirs[key], sub, prefix, root))
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} items, the CLI has {len(theirs)}"]
        out = []
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            out.extend(differences(a, b, f"{path}[{i}]", prefix, root))
        return out
    if ours == WORKSPACE_ONLY:
        return []
    last = re.split(r"[.\[]", where.strip("."))[-1]
    if _mode_presets_apply and last in ("name", "display_name", "cluster_name") and _prefixed(ours, theirs):
        return []  # a prefix the deployment mode or presets.name_prefix adds
    if isinstance(theirs, str) and _same_text(ours, theirs):
        return []
    if isinstance(theirs, str) and root is not None and _implicit_references(theirs, ours, root):
        return []
    if ours != theirs or type(ours) is not type(theirs):
        return [f"{where}: dab-guard {json.dumps(ours)[:80]}, the CLI {json.dumps(theirs)[:80]}"]
    return []


def recorded_text(call: Call) -> list[str]:
    """What a ``jq -r`` filter printed for the CLI: the section's lines, diagnostics and blank lines aside."""
    lines: list[str] = []
    in_diagnostic = False
    for line in (call.section or "").splitlines():
        if line.startswith(("Warning:", "Error:", "Recommendation:", "Info:", "Exit code:")):
            in_diagnostic = True
            continue
        if not line.strip():
            in_diagnostic = False
            continue
        if not in_diagnostic:
            lines.append(line)
    return lines


def recorded_json(call: Call) -> list[Any] | None:
    if call.redirect:
        path = call.folder / call.redirect
        if not path.exists():
            path = Path(os.path.normpath(call.folder / call.redirect))
        try:
            return [json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError):
            return None
    if call.section is None:
        return None
    values = json_values(call.section)
    return values or None


# The identity the CLI's tests deploy as (their outputs show it as `[USERNAME]`): what a workspace would tell.
TEST_USER = "tester@databricks.com"
TEST_SERVICE_PRINCIPAL = "6e4e8d52-0a2a-4a0c-9c43-1f6d2b1e1a11"  # the identity of a test with IsServicePrincipal
_deployer = TEST_USER
_sync_root: Path | None = None  # where the workspace file path starts, when sync.paths reaches above the bundle
_bundle_folder: Path | None = None
# Values for the environment variables the CLI's tests substitute into their templates (their environment sets every
# one); the outputs show each as a placeholder (`[UNIQUE_NAME]`), which any value matches.
_TEST_ENV = {
    "UNIQUE_NAME": "uniquename", "NODE_TYPE_ID": "i3.xlarge", "DEFAULT_SPARK_VERSION": "15.4.x-scala2.12",
    "TEST_DEFAULT_WAREHOUSE_ID": "0123456789abcdef",
    "TEST_INSTANCE_POOL_ID": "pool-0123", "SCHEMA_NAME": "schemaname",
}  # fmt: skip


def _deploys_as_service_principal(folder: Path, root: Path) -> bool:
    """``IsServicePrincipal = true`` in the test's test.toml or a parent folder's."""
    for candidate in (folder, *folder.parents):
        toml = candidate / "test.toml"
        if toml.is_file() and re.search(r"^IsServicePrincipal\s*=\s*true", toml.read_text(errors="replace"), re.MULTILINE):
            return True
        if candidate == root:
            break
    return False


def _envsubst(source: Path, written: Path, deployer: str = TEST_USER) -> None:
    if not source.is_file():
        return
    text = source.read_text(encoding="utf-8", errors="replace")
    values = {**_TEST_ENV, "CURRENT_USER_NAME": deployer}
    text = re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: values.get(m.group(1), m.group(1).lower()), text)
    written.write_text(text, encoding="utf-8")


def bundle_root(folder: Path) -> Path | None:
    for name in ROOT_NAMES:
        if (folder / name).is_file():
            return folder
    return None


def replay(call: Call, stats: Counter[str], verbose: bool, report: list[str]) -> None:
    if bundle_root(call.folder) is None and not any(w.parent == call.folder and w.name in ROOT_NAMES for _, w in call.prepared):
        stats["skipped: no bundle root in the folder (templated test)"] += 1
        return
    if call.section is None and not call.redirect:
        stats["skipped: what the CLI printed is not recorded for this call"] += 1
        return
    stats["replayed"] += 1
    env = {"HOME": "/nonexistent", **call.env}
    # Tests run in a copy of their folder; so do we, so that nothing here changes the CLI's files.
    with tempfile.TemporaryDirectory() as tmp:
        # The whole test folder is copied, so that includes outside the bundle folder are there too.
        test_folder = call.test_folder or call.folder
        shutil.copytree(test_folder, Path(tmp) / "t", symlinks=True)
        copy = Path(tmp) / "t" / call.folder.relative_to(test_folder) if call.folder.is_relative_to(test_folder) else Path(tmp) / "t"
        for source, written in call.prepared:
            _envsubst(
                Path(tmp) / "t" / source.relative_to(test_folder), Path(tmp) / "t" / written.relative_to(test_folder),
                TEST_SERVICE_PRINCIPAL if call.service_principal else TEST_USER,
            )
        try:
            if call.repeated_var:
                raise BundleError("a variable given twice with --var")
            targets = call.targets
            if not targets:
                chosen = load_bundle(copy, copy).default_target()
                if chosen is None:
                    raise BundleError("several targets, none marked default: the CLI asks for one")
                targets = [chosen]
            result = validate(copy, targets=targets, variables=call.variables or None, cwd=copy, env=env)
            exit_2 = None
        except BundleError as exc:
            result, exit_2 = None, str(exc)
        except Exception as exc:  # a crash is the worst outcome: report it loudly
            stats["CRASH"] += 1
            report.append(f"CRASH {call.test}: {call.line}: {type(exc).__name__}: {exc}")
            return
        cli_error = cli_failed(call) if call.section is not None else False
        errors = [] if result is None else [f for f in result.findings if f.severity.label == "error"]
        loading = [f for f in errors if f.rule in LOADING_RULES]
        if not cli_error and call.section is not None:
            stats["CLI accepts"] += 1
            if exit_2 is not None or loading:
                stats["false error (CLI accepts, loading rule error or exit 2)"] += 1
                what = exit_2 if exit_2 is not None else "; ".join(f"{f.rule} {f.file}:{f.line} {f.message}" for f in loading[:3])
                report.append(f"FALSE {call.test}: {' '.join(call.args)}: {what}")
        elif cli_error:
            stats["CLI errors"] += 1
            # Caught only by a rule about loading or configuration (DG001-DG019): an unrelated error elsewhere in the
            # bundle does not count as agreeing with the CLI.
            if exit_2 is None and not loading:
                stats["missed (CLI error, no DG001-DG019 error from dab-guard)"] += 1
                report.append(f"MISSED {call.test}: {' '.join(call.args)}: {' | '.join(cli_errors(call.section or ''))[:300]}")
        if call.json_out and not cli_error and result is not None and result.targets:
            target = result.resolved[result.targets[0]]
            global _mode_presets_apply, _name_prefix, _file_path
            _mode_presets_apply = target.mode is not None or bool(target.config.get("presets"))
            presets = target.config.get("presets")
            prefix = presets.get("name_prefix") if isinstance(presets, dict) else None
            _name_prefix = prefix if isinstance(prefix, str) else ""
            workspace = target.config.get("workspace")
            file_path = workspace.get("file_path") if isinstance(workspace, dict) else None
            _file_path = file_path if isinstance(file_path, str) and "${" not in file_path else ""
            global _deployer, _sync_root, _bundle_folder
            _deployer = TEST_SERVICE_PRINCIPAL if call.service_principal else TEST_USER
            _bundle_folder = copy
            sync = target.config.get("sync")
            paths = sync.get("paths") if isinstance(sync, dict) else None
            ups = max((len(re.match(r"^(\.\./)*", p + "/").group(0)) // 3 for p in paths if isinstance(p, str)), default=0) if isinstance(paths, list) else 0
            _sync_root = copy.joinpath(*[".."] * ups).resolve() if ups else None
            lookups = {name for name, var in target.variables.items() if var.source == "lookup"}
            whole = _with_lookups_marked(render_target(target, _deployer), lookups)
            if not replayable(call.pipeline):
                stats["json: filter not replayable"] += 1
                return
            if re.match(r"^jq\s+(-r|--raw-output)\b", call.pipeline) and not call.redirect and call.section is not None:
                # Text lines, not JSON: compared as lines.
                done = _run_jq(call.pipeline, json.dumps(whole))
                stats["json: compared"] += 1
                ours_lines, theirs_lines = done.stdout.splitlines(), recorded_text(call)
                same = len(ours_lines) == len(theirs_lines) and all(a == b or _same_text(a, b) for a, b in zip(ours_lines, theirs_lines, strict=True))
                if done.returncode == 0 and same:
                    stats["json: equal"] += 1
                else:
                    stats["json: differs"] += 1
                    first = next((f"{a!r} vs the CLI's {b!r}" for a, b in zip(ours_lines, theirs_lines, strict=False) if a != b and not _same_text(a, b)), f"{len(ours_lines)} lines, the CLI printed {len(theirs_lines)}")
                    report.append(f"JSON {call.test}: {' '.join(call.args)} {call.pipeline}: {first}")
                return
            theirs = recorded_json(call)
            if theirs is None:
                stats["json: not recorded"] += 1
                return
            ours = through(call.pipeline, whole)
            if ours is None:
                # The CLI's output went through this filter; ours does not: a difference of shape.
                stats["json: compared"] += 1
                stats["json: differs"] += 1
                report.append(f"JSON {call.test}: {' '.join(call.args)} {call.pipeline}: the filter fails on dab-guard's output")
                return
            stats["json: compared"] += 1
            diffs: list[str] = []
            if len(ours) != len(theirs):
                diffs.append(f"{len(ours)} values, the CLI printed {len(theirs)}")
            else:
                mapped = re.match(r"""^jq\s+'\.([a-z_.]+)\s*\|\s*map_values\(\.([a-z_]+)\)'\s*$""", call.pipeline)
                # `jq '.resources.jobs, .resources.volumes'`: one path per value printed.
                several = re.match(r"""^jq\s+'(\.[a-z_.]+(\s*,\s*\.[a-z_.]+)+)'\s*$""", call.pipeline)
                prefixes = [p.strip()[1:] + "." for p in several.group(1).split(",")] if several else [_prefix(call.pipeline)]
                for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                    if mapped and isinstance(a, dict) and isinstance(b, dict):
                        # `.resources.jobs | map_values(.tags)`: each entry is the field of one resource.
                        for key in sorted(set(a) | set(b)):
                            diffs.extend(differences(a.get(key), b.get(key), prefix=f"{mapped.group(1)}.{key}.{mapped.group(2)}.", root=whole))
                    else:
                        diffs.extend(differences(a, b, prefix=prefixes[index] if index < len(prefixes) else "", root=whole))
            if diffs:
                stats["json: differs"] += 1
                report.append(f"JSON {call.test}: {' '.join(call.args)} {call.pipeline}: " + "; ".join(diffs[:4]))
            else:
                stats["json: equal"] += 1
    if verbose:
        report.append(f"ok {call.test}: {' '.join(call.args)}")


def _prefix(pipeline: str) -> str:
    """The configuration path a ``jq .a.b`` filter selects (also quoted, or followed by another filter), so CLI-only
    paths are recognised below it."""
    match = re.match(r"""^jq\s+['"]?\.([a-z_.\[\]0-9]+)['"]?\s*(\||$)""", pipeline)
    return f"{match.group(1).replace('[]', '.*')}." if match else ""


# What only a workspace can tell (a lookup variable's value), shown in dab-guard's rendering for the comparison, as
# the CLI's tests show their own placeholders.
WORKSPACE_ONLY = "[WORKSPACE_LOOKUP]"


def _with_lookups_marked(rendered: dict[str, Any], lookups: set[str]) -> dict[str, Any]:
    variables = rendered.get("variables")
    if not isinstance(variables, dict):
        return rendered
    marked = {name: ({**entry, "value": WORKSPACE_ONLY} if name in lookups and "value" not in entry else entry) for name, entry in variables.items()}
    return {**rendered, "variables": marked}


def _all_cli_only(value: Any, path: str) -> bool:
    """Whether every value below ``path`` (a subtree only the CLI printed) is one only the CLI computes."""
    if _cli_only(path):
        return True
    if isinstance(value, dict) and value:
        return all(_all_cli_only(v, f"{path}.{k}") for k, v in value.items())
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("acceptance", type=Path, help="the CLI's acceptance/bundle folder")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--only", default="", help="replay only tests whose folder contains this")
    args = parser.parse_args()
    root = args.acceptance.resolve()
    stats: Counter[str] = Counter()
    report: list[str] = []
    tests = sorted({p.parent for p in root.rglob("script") if "bundle validate" in p.read_text(errors="replace")})
    for folder in tests:
        if args.only and args.only not in folder.relative_to(root).as_posix():
            continue
        stats["tests"] += 1
        skipped: Counter[str] = Counter()
        for call in calls_of(folder, root, skipped):
            stats["calls"] += 1
            replay(call, stats, args.verbose, report)
        stats.update(skipped)
    for line in report:
        print(line)
    print()
    for key in sorted(stats):
        print(f"{stats[key]:5d}  {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
