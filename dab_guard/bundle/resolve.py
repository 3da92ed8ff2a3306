"""Apply a target to the merged configuration and substitute ``${...}`` references, as the CLI does.

What cannot be known offline (``lookup`` variables, ``${resources.*}``, ``${workspace.current_user.*}``, a variable
with no value) stays as the literal ``${...}`` text: rules treat such strings as unknown and stay silent.
"""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from dab_guard.bundle.loader import Bundle
from dab_guard.bundle.located import YMap, YSeq, copy_entry, file_at, locate
from dab_guard.bundle.merge import MergeConflict, merge, merge_named_lists
from dab_guard.bundle.yamlread import Problem
from dab_guard.finding import Loc, PathParts, Severity

# The CLI's own reference syntax (libs/dyn/dynvar): ${a.b[0].c}, each name of letters and digits of any script
# (``\p{L}+([-_]*[\p{L}\p{N}]+)*``; ``[^\W\d_]`` is a letter and ``[^\W_]`` a letter or digit in Python's ``re``).
_NAME = r"[^\W\d_]+(?:[-_]*[^\W_]+)*"
REFERENCE_RE = re.compile(rf"\$\{{({_NAME}(?:\.{_NAME}(?:\[[0-9]+\])*)*(?:\[[0-9]+\])*)\}}")
_PART_RE = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")

# Target sections merged into the root (config.Root.MergeTargetOverrides); the rest replace. A target has no
# `experimental` or `scripts`: the CLI drops them as unknown fields (DG003), so they are not merged either.
_MERGED_SECTIONS = ("bundle", "workspace", "artifacts", "resources", "sync", "permissions", "presets")
_REPLACED_SECTIONS = ("run_as",)
# The top-level sections of the configuration (the CLI's config.Root); it drops any other key when it loads a file.
CONFIG_SECTIONS = frozenset(
    ("artifacts", "bundle", "environments", "experimental", "include", "permissions", "presets", "python", "resources",
     "run_as", "scripts", "sync", "targets", "variables", "workspace")
)  # fmt: skip
_KNOWN_NAMESPACES = ("var", "variables", "bundle", "workspace", "resources", "artifacts")
# The fields ``${bundle.x}`` and ``${workspace.x}`` may name: the configuration's, and those the CLI computes.
_SECTION_FIELDS = {
    "bundle": frozenset(
        ("name", "cluster_id", "compute_id", "databricks_cli_version", "deployment", "engine", "git", "uuid", "target",
         "environment", "mode", "terraform")
    ),
    "workspace": frozenset(
        ("host", "profile", "auth_type", "metadata_service_url", "client_id", "google_service_account", "azure_resource_id",
         "azure_workspace_resource_id", "azure_use_msi", "azure_client_id", "azure_tenant_id", "azure_environment",
         "azure_login_app_id", "account_id", "workspace_id", "experimental_is_unified_host", "current_user", "root_path",
         "file_path", "artifact_path", "state_path", "resource_path", "snapshot_path")
    ),
}  # fmt: skip
# The CLI substitutes references in rounds (a substituted value may hold references of its own, or a reference may
# be spelt by others: ``${var.foo_${var.tail}}``) and gives up after this many, with a warning.
MAX_ROUNDS = 11


def is_unknown(value: Any) -> bool:
    """True for a value that still holds a reference dab-guard cannot resolve offline."""
    return isinstance(value, str) and "${" in value


@dataclass
class Variable:
    name: str
    definition: YMap | None  # the merged definition (default, lookup, type, description)
    loc: Loc | None  # where the variable is declared
    source: str  # "--var", "environment", "overrides file", "target", "default", "lookup" or "none"
    value: Any = None
    value_loc: Loc | None = None
    resolved: Any = None  # the value with its own references substituted (None when it has no value)


@dataclass
class Target:
    """One target, fully resolved: what rules check."""

    name: str
    bundle: Bundle
    config: YMap
    variables: dict[str, Variable]
    problems: list[Problem] = field(default_factory=list)

    @property
    def mode(self) -> str | None:
        mode = self.config.get("bundle", {}).get("mode") if isinstance(self.config.get("bundle"), dict) else None
        return mode if isinstance(mode, str) else None

    def locate(self, parts: PathParts, on_key: bool = False) -> tuple[Loc | None, str | None]:
        return locate(self.config, parts, on_key)

    def local_path(self, parts: PathParts, value: str, file: str | None = None) -> PurePosixPath | None:
        """A local path value resolved against the folder of the file that wrote it (relative to the bundle root).

        ``file``, when the caller knows it (``file_of`` the value's mapping), saves looking the path up.
        None for workspace paths, URLs, and values that are not known offline.
        """
        if is_unknown(value) or not value or value.startswith(("/Workspace", "/Volumes", "/dbfs", "dbfs:", "/Users", "/Shared", "/Repos")):
            return None
        if "://" in value or value.startswith("/"):
            return None
        if file is None:
            file = file_at(self.config, parts)
        return _joined(posixpath.dirname(file) if file else "", value)


    def local_file(self, parts: PathParts, value: str, file: str | None = None) -> Path | None:
        """The file a local path value names, when it lies inside the bundle folder (see :meth:`local_path`)."""
        rel = self.local_path(parts, value, file)
        if rel is None or rel.parts[:1] == ("..",):
            return None
        return self.bundle.root_dir / rel


@lru_cache(maxsize=8192)
def _joined(folder: str, value: str) -> PurePosixPath:
    return PurePosixPath(posixpath.normpath(posixpath.join(folder, value)))


def target_section(bundle: Bundle) -> tuple[str | None, YMap | None]:
    for key in ("targets", "environments"):
        section = bundle.config.get(key)
        if isinstance(section, YMap):
            return key, section
    return None, None


def apply_target(bundle: Bundle, name: str, merge_lists: bool = True, conflicts: list[MergeConflict] | None = None) -> YMap:
    """The root configuration with target ``name`` merged in, before references are substituted; with
    ``merge_lists``, job clusters, tasks and parameters merged by key too (the CLI merges them after it substitutes
    references, as :func:`resolve_target` does)."""
    base = YMap()
    for key in bundle.config:
        if key not in ("targets", "environments"):
            copy_entry(base, bundle.config, key)
    _, targets = target_section(bundle)
    target = targets.get(name) if targets else None
    if isinstance(target, YMap):
        for key in _MERGED_SECTIONS:
            if key in target and target[key] is not None:
                if key in base:
                    base.put_at(key, merge(base[key], target[key], conflicts, (key,)), base)
                else:
                    copy_entry(base, target, key)
        for key in _REPLACED_SECTIONS:
            if key in target and target[key] is not None:
                copy_entry(base, target, key)
        # Target fields that land under "bundle".
        moved = {k: k for k in ("mode", "compute_id", "cluster_id")}
        if "git" in target:
            moved["git"] = "git"
        extras = YMap()
        for key in moved:
            if key in target and target[key] is not None:
                copy_entry(extras, target, key)
        if extras:
            bundle_section = base.get("bundle") if isinstance(base.get("bundle"), YMap) else YMap()
            base.put_at("bundle", merge(bundle_section, extras), base)
    return merge_named_lists(base) if merge_lists else base


class _Resolver:
    def __init__(
        self,
        bundle: Bundle,
        target_name: str,
        config: YMap,
        overrides: dict[str, str],
        env: dict[str, str],
        lookups: Mapping[str, str | Problem] | None = None,
    ) -> None:
        self.bundle = bundle
        self.target_name = target_name
        self.config = config
        self.overrides = overrides
        self.env = env
        self.problems: list[Problem] = []
        self.variables: dict[str, Variable] = {}
        self.resolving: list[tuple[tuple[str, tuple[str | int, ...]], bool]] = []  # (variable, field), via a container
        self.resolved: dict[tuple[str, tuple[str | int, ...]], Any] = {}
        self.failed: set[tuple[str, tuple[str | int, ...]]] = set()  # fields in a circle of references
        self.cycles: set[frozenset[str]] = set()
        self.shared: SharedSubstitutions | None = None
        self._notes: dict[str, str] = {}  # one note text per variable, not one per use
        self.as_written: set[tuple[int, str]] = set()  # (id of a mapping, key) whose text is never substituted
        self.volume_paths: set[str] = set()  # volumes whose path is being computed (a path may not need itself)
        self.file_override_locs: dict[str, Loc] = {}  # where the variables file gives each value
        self.file_overrides = self._overrides_file()
        self._declare_variables()
        self._apply_lookups(lookups or {})

    # --- variables --------------------------------------------------------------------------------------------

    def _overrides_file(self) -> dict[str, Any]:
        """The values of ``.databricks/bundle/<target>/variable-overrides.json``; the CLI refuses a file that is not
        a JSON object (as it does, the file is read only when it exists)."""
        rel = f".databricks/bundle/{self.target_name}/variable-overrides.json"
        path = self.bundle.root_dir / rel
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a folder, unreadable, not UTF-8
            self.problems.append(Problem("DG010", f"cannot read the variables file {rel}: {exc}", Loc(rel, 1, 1)))
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.problems.append(Problem("DG010", f"the variables file {rel} is not JSON: {exc.msg}", Loc(rel, exc.lineno, exc.colno)))
            return {}
        except RecursionError:
            self.problems.append(Problem("DG010", f"the variables file {rel} is nested too deeply to read", Loc(rel, 1, 1)))
            return {}
        if not isinstance(data, dict):
            self.problems.append(
                Problem("DG010", f"the variables file {rel} must be a JSON object of variable names and values (the CLI: invalid format)", Loc(rel, 1, 1))
            )
            return {}
        self.file_override_locs = {name: _json_key_loc(text, name, rel) for name in data}
        return data

    def _declare_variables(self) -> None:
        root_vars = self.bundle.config.get("variables")
        root_vars = root_vars if isinstance(root_vars, YMap) else YMap()
        _, targets = target_section(self.bundle)
        target = targets.get(self.target_name) if targets else None
        target_vars = target.get("variables") if isinstance(target, YMap) else None
        target_vars = target_vars if isinstance(target_vars, YMap) else YMap()
        for name, definition in root_vars.items():
            definition = definition if isinstance(definition, YMap) else None
            var = Variable(name, definition, root_vars.key_locs.get(name), "none")
            if definition is not None:
                if definition.get("default") is not None:
                    var.source, var.value, var.value_loc = "default", definition["default"], definition.val_locs.get("default")
                elif "lookup" in definition:
                    var.source = "lookup"
            elif root_vars[name] is not None:
                var.source, var.value, var.value_loc = "default", root_vars[name], root_vars.val_locs.get(name)
            if name in target_vars:
                override = target_vars[name]
                complex_type = definition is not None and definition.get("type") == "complex"
                if isinstance(override, YMap) and not complex_type and ("default" in override or "lookup" in override):
                    if "default" in override:
                        var.source, var.value, var.value_loc = "target", override["default"], override.val_locs.get("default")
                    else:
                        var.source, var.value, var.value_loc = "lookup", None, None
                elif isinstance(override, YMap) and complex_type and set(override) <= {"default", "description", "type"} and "default" in override:
                    var.source, var.value, var.value_loc = "target", override["default"], override.val_locs.get("default")
                elif override is not None:
                    var.source, var.value, var.value_loc = "target", override, target_vars.val_locs.get(name)
            self._assign(var, definition)
            self.variables[name] = var

    def _assign(self, var: Variable, definition: YMap | None) -> None:
        """Give ``var`` its value from the first that has one, in the CLI's order (mutator/set_variables.go):
        ``--var`` (or a ``value`` written in the definition), ``BUNDLE_VAR_<name>``, a lookup, the variables file,
        then the default (which a target's value has replaced). None of them is an error."""
        name = var.name
        complex_type = definition is not None and definition.get("type") == "complex"
        env_key = f"BUNDLE_VAR_{name}"
        rel = f".databricks/bundle/{self.target_name}/variable-overrides.json"
        if name in self.overrides:
            var.source, var.value, var.value_loc = "--var", self.overrides[name], None
        elif definition is not None and definition.get("value") is not None:
            var.source, var.value, var.value_loc = "default", definition["value"], definition.val_locs.get("value")
        elif env_key in self.env:
            if complex_type:
                self.problems.append(
                    Problem("DG010", f"{env_key} is set, but {name} is a complex variable, which the CLI does not take from the environment", var.loc or Loc(self.bundle.root_file, 1, 1))
                )
            var.source, var.value, var.value_loc = "environment", self.env[env_key], None
        elif var.source == "lookup":
            return
        elif self.file_overrides.get(name) is not None:
            var.source, var.value, var.value_loc = "overrides file", self.file_overrides[name], None
            if complex_type != isinstance(var.value, (dict, list)):
                self.problems.append(
                    Problem(
                        "DG010",
                        f"variable {name} is of type complex, but its value in {rel} is not a complex value"
                        if complex_type
                        else f"variable {name} is not of type complex, but its value in {rel} is a complex value",
                        self.file_override_locs.get(name) or Loc(rel, 1, 1),
                    )
                )
        if var.value is None:
            var.source = "none"
            self.problems.append(
                Problem(
                    "DG010",
                    f"no value assigned to required variable {name}: give it a default, a value under the target,"
                    f" --var {name}=..., the environment variable {env_key} or"
                    " .databricks/bundle/<target>/variable-overrides.json",
                    var.loc or Loc(self.bundle.root_file, 1, 1),
                )
            )

    def _apply_lookups(self, lookups: Mapping[str, str | Problem]) -> None:
        """Values of ``lookup`` variables found online (``--online``): known from here on, source still "lookup".

        A lookup the workspace could not answer with one object arrives as the problem to report instead.
        """
        for name, found in lookups.items():
            var = self.variables.get(name)
            if var is None or var.source != "lookup":
                continue
            if isinstance(found, Problem):
                self.problems.append(found)
            else:
                var.value = found

    def variable_value(self, name: str, loc: Loc, parts: tuple[str | int, ...] = (), ref: str = "") -> tuple[bool, Any]:
        """(known, value) of variable ``name`` or of the field ``parts`` of it, its own references substituted.

        As the CLI does, a field is looked up in the value as written and only that field is substituted, so two
        complex variables may refer to each other's fields. A circle of references through plain strings is an
        error; one through a complex value is substituted round after round by the CLI until it gives up with a
        warning, leaving the references as they are.
        """
        var = self.variables[name]
        if var.source == "none" or (var.source == "lookup" and var.value is None):
            return False, None
        key = (name, parts)
        if key in self.resolved:
            return True, self.resolved[key]
        value, value_loc = var.value, var.value_loc or loc
        for i, part in enumerate(parts):
            if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value_loc = (value.item_loc(part) if isinstance(value, YSeq) else None) or value_loc
                value = value[part]
                continue
            if isinstance(value, dict) and part in value:
                value_loc = (value.val_loc(str(part)) if isinstance(value, YMap) else None) or value_loc
                value = value[part]
                continue
            where = f"var.{name}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[:i])
            if isinstance(value, (dict, list)):
                self.problems.append(Problem("DG006", f"reference does not exist: ${{{ref}}} (no '{part}' in the value of {where})", loc))
            elif is_unknown(value):
                self.problems.append(
                    Problem("DG006", f"${{{ref}}}: {where} is the reference '{value}' where a mapping is needed; the Databricks CLI does not look through it (\"expected a map to index\")", loc)
                )
            else:
                self.problems.append(Problem("DG006", f"${{{ref}}}: {where} is {_kind(value)}, not a mapping, so it has no field '{part}'", loc))
            return False, None
        container = isinstance(value, (dict, list))
        for index, (earlier, _) in enumerate(self.resolving):
            if earlier != key:
                continue
            members = self.resolving[index:]
            self.failed.update(member for member, _ in members)  # none of the circle resolves
            names = [f"var.{n}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in ps) for (n, ps), _ in members]
            circle = frozenset(names)
            if circle not in self.cycles:
                self.cycles.add(circle)
                if container or any(through for _, through in members):
                    self.problems.append(
                        Problem("DG006", f"variable references go round in a circle through a complex value ({' -> '.join([*names, names[0]])}); the Databricks CLI stops after {MAX_ROUNDS} rounds (\"references are too deep\") and leaves them unresolved", var.value_loc or var.loc or loc, Severity.WARNING)
                    )
                else:
                    self.problems.append(Problem("DG006", f"variable reference cycle: {' -> '.join([*names, names[0]])}", var.value_loc or var.loc or loc))
            return False, None
        self.resolving.append((key, container))
        try:
            value = self.substitute(value, value_loc)
        finally:
            self.resolving.pop()
        if key in self.failed:
            return False, None
        if not _contains_unknown(value):
            self.resolved[key] = value
        # A value that still holds references dab-guard cannot resolve offline (``${resources.*}``, a lookup) is
        # substituted as it is, as the CLI substitutes it: the text it leaves is the CLI's, and rules see it unknown.
        return True, value

    # --- references -------------------------------------------------------------------------------------------

    def lookup(self, ref: str, loc: Loc) -> tuple[bool, Any, str | None]:
        """(known, value, note) of one reference such as ``var.x`` or ``workspace.root_path``."""
        parts = list(_reference_parts(ref))
        head = parts[0]
        if head == "var" or (head == "variables" and len(parts) >= 3 and parts[2] == "value"):
            name = str(parts[1]) if len(parts) > 1 else ""
            rest = parts[2:] if head == "var" else parts[3:]
            if name not in self.variables:
                hint = _did_you_mean(name, self.variables)
                self.problems.append(Problem("DG006", f"reference to undefined variable '{name}' in ${{{ref}}}{hint}", loc))
                return False, None, None
            known, value = self.variable_value(name, loc, tuple(rest), ref)
            var = self.variables[name]
            note = self._notes.get(var.name)
            if note is None:
                note = self._notes[var.name] = _value_note(var, self.target_name)
            if not known:
                return False, None, note
            return True, value, note
        if head == "variables":
            return False, None, None
        if head in ("bundle", "workspace") and len(parts) > 1 and str(parts[1]) not in _SECTION_FIELDS[str(head)]:
            # The CLI resolves these against its typed configuration: a field it does not have is an error.
            fields = sorted(_SECTION_FIELDS[str(head)])
            close = difflib.get_close_matches(str(parts[1]), fields, n=1, cutoff=0.6)
            hint = f" (did you mean ${{{head}.{close[0]}}}?)" if close else ""
            self.problems.append(Problem("DG006", f"reference does not exist: ${{{ref}}}{hint}", loc))
            return False, None, None
        if head == "bundle":
            if parts[1:2] in (["target"], ["environment"]):
                return True, self.target_name, None
            return self._walk(self.config.get("bundle"), parts[1:], None)
        if head == "workspace":
            return self._workspace(parts[1:], ref, loc)
        if head == "resources":
            self._check_resource_reference(parts, ref, loc)
            if len(parts) == 4 and parts[1] == "volumes" and parts[3] == "volume_path":
                return self._volume_path(str(parts[2]), loc)
            return False, None, None  # ids, URLs and names are the workspace's: known at deploy
        if head == "artifacts":
            return self._walk(self.config.get("artifacts"), parts[1:], None)
        hint = _did_you_mean(str(head), _KNOWN_NAMESPACES)
        self.problems.append(Problem("DG006", f"unknown reference namespace '{head}' in ${{{ref}}}{hint}", loc))
        return False, None, None

    def _check_resource_reference(self, parts: list[str | int], ref: str, loc: Loc) -> None:
        """``${resources.<kind>.<key>...}`` must name a resource the bundle defines: the deploy resolves it, and fails
        on one that is not there. Resources defined in Python are not known offline, so then nothing is said."""
        if len(parts) < 3 or self._python_resources():
            return
        kind, key = str(parts[1]), str(parts[2])
        resources = self.config.get("resources")
        group = resources.get(kind) if isinstance(resources, YMap) else None
        if isinstance(group, dict) and key in group:
            return
        if isinstance(group, dict):
            hint = _did_you_mean(key, group).replace("did you mean '", f"did you mean resources.{kind}.'")
            where = f"no {kind} '{key}'{hint}"
        else:
            kinds = list(resources) if isinstance(resources, YMap) else []
            where = f"no resources of the kind '{kind}'" + _did_you_mean(kind, kinds)
        self.problems.append(
            Problem("DG006", f"${{{ref}}} names a resource the bundle does not define ({where}); the deploy fails when it resolves the reference", loc)
        )

    def _volume_path(self, key: str, loc: Loc) -> tuple[bool, Any, str | None]:
        """``${resources.volumes.<key>.volume_path}``, which the CLI computes from the volume's own fields before any
        deploy (``/Volumes/<catalog>/<schema>/<name>``); a field not known offline stays a reference in it."""
        resources = self.config.get("resources")
        volumes = resources.get("volumes") if isinstance(resources, YMap) else None
        volume = volumes.get(key) if isinstance(volumes, YMap) else None
        if not isinstance(volume, YMap) or key in self.volume_paths:
            return False, None, None  # none, or a volume whose fields refer to its own path (through others)
        self.volume_paths.add(key)
        try:
            names = []
            for key_name in ("catalog_name", "schema_name", "name"):
                value = volume.get(key_name)
                value = self.substitute(value, volume.val_loc(key_name) or loc) if isinstance(value, str) else value
                if not isinstance(value, str):
                    return False, None, None
                names.append(value)  # a field not known offline stays a reference in the path, as the CLI leaves it
        finally:
            self.volume_paths.discard(key)
        return True, "/Volumes/" + "/".join(names), None

    def _python_resources(self) -> bool:
        for section in ("python", "experimental"):
            value = self.bundle.config.get(section)
            if isinstance(value, YMap) and (value.get("resources") or value.get("python") or value.get("pydabs")):
                return True
        return False

    def _workspace(self, parts: list[str | int], ref: str, loc: Loc) -> tuple[bool, Any, str | None]:
        workspace = self.config.get("workspace")
        workspace = workspace if isinstance(workspace, YMap) else YMap()
        if not parts or parts[0] == "current_user":
            return False, None, None
        key = str(parts[0])
        if key in workspace and workspace[key] is not None:
            value = self.substitute(workspace[key], workspace.val_locs.get(key) or loc)
            if isinstance(value, str) and value.startswith("~"):
                # The CLI expands "~" to the deploying user's home folder, which is not known offline.
                return False, None, None
            return self._walk(value, parts[1:], None)
        name = self.config.get("bundle", {}).get("name") if isinstance(self.config.get("bundle"), dict) else None
        defaults = {
            "root_path": f"~/.bundle/{name}/{self.target_name}" if isinstance(name, str) else None,
            "file_path": "${workspace.root_path}/files",
            "artifact_path": "${workspace.root_path}/artifacts",
            "state_path": "${workspace.root_path}/state",
            "resource_path": "${workspace.root_path}/resources",
        }
        default = defaults.get(key)
        if default is None:
            return False, None, None
        value = self.substitute(default, loc)
        if isinstance(value, str) and value.startswith("~"):
            # "~" is the deploying user's home folder, which is not known offline.
            return False, None, None
        return (not is_unknown(value)), value, None

    def _walk(self, value: Any, rest: list[str | int], note: str | None) -> tuple[bool, Any, str | None]:
        """(known, value, note) of the field ``rest`` of a section; a field that is not there is not known offline."""
        for part in rest:
            found = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            found = found or (isinstance(value, dict) and part in value)
            if not found:
                return False, None, note
            value = value[part]
        if is_unknown(value):
            return False, None, note
        return True, value, note

    def substitute(self, value: Any, loc: Loc | None) -> Any:
        """``value`` with every known reference replaced; containers are rebuilt, never mutated."""
        if isinstance(value, str):
            if "${" not in value:
                return value
            new, _ = self._substitute_string(value, loc or Loc("", 1, 1))
            return new
        if isinstance(value, YMap):
            return self._substitute_map(value)
        if isinstance(value, YSeq):
            return self._substitute_seq(value)
        if isinstance(value, dict):
            return {k: self.substitute(v, loc) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v, loc) for v in value]
        return value

    # --- sharing what targets resolve alike ---------------------------------------------------------------------
    # Another target may already have substituted this very mapping or list to the same values (the variables it
    # uses have the same values there). Its result is then used again rather than an equal copy: targets share the
    # memory, and checks that key their work on a value's identity do it once for all targets.

    def _earlier(self, value: YMap | YSeq, changed: Mapping[Any, tuple[Any, str | None]]) -> YMap | YSeq | None:
        if self.shared is None:
            return None
        for source, earlier_changed, result in self.shared.by_source.get(id(value), ()):
            if source is value and _same_changes(earlier_changed, changed):
                return result  # type: ignore[no-any-return]
        return None

    def _remember(self, value: YMap | YSeq, changed: Mapping[Any, tuple[Any, str | None]], result: YMap | YSeq) -> None:
        if self.shared is not None:
            self.shared.by_source.setdefault(id(value), []).append((value, changed, result))

    def _substitute_map(self, value: YMap) -> YMap:
        # Copy on write: a map without references is shared, not copied, so resolving a target costs little.
        changed: dict[str, tuple[Any, str | None]] | None = None
        for key, item in value.items():
            if isinstance(item, str):
                if "${" not in item or (id(value), key) in self.as_written:
                    continue
                loc = value.val_loc(key) or value.key_loc(key)
                new, note = self._substitute_string(item, loc or Loc("", 1, 1))
            elif isinstance(item, (YMap, YSeq)):
                new, note = self._substitute_map(item) if isinstance(item, YMap) else self._substitute_seq(item), None
            elif isinstance(item, (dict, list)):
                new, note = self.substitute(item, value.val_locs.get(key)), None
            else:
                continue
            if new is not item:
                if changed is None:
                    changed = {}
                changed[key] = (new, note)
        if changed is None:
            return value
        earlier = self._earlier(value, changed)
        if isinstance(earlier, YMap):
            return earlier
        result = YMap()
        self._remember(value, changed, result)
        for key in value:
            if key in changed:
                new, note = changed[key]
                result.put_at(key, new, value, note or value.note(key))
            else:
                copy_entry(result, value, key)
        return result

    def _substitute_seq(self, value: YSeq) -> YSeq:
        changed: dict[int, tuple[Any, str | None]] | None = None
        for i, item in enumerate(value):
            if isinstance(item, str):
                if "${" not in item:
                    continue
                new, note = self._substitute_string(item, value.item_loc(i) or Loc("", 1, 1))
            elif isinstance(item, YMap):
                new, note = self._substitute_map(item), None
            elif isinstance(item, YSeq):
                new, note = self._substitute_seq(item), None
            else:
                continue
            if new is not item:
                if changed is None:
                    changed = {}
                changed[i] = (new, note)
        if changed is None:
            return value
        earlier = self._earlier(value, changed)
        if isinstance(earlier, YSeq):
            return earlier
        result = YSeq()
        self._remember(value, changed, result)
        for i, item in enumerate(value):
            if i in changed:
                new, note = changed[i]
                result.add_at(new, value, i, note or value.note(i))
            else:
                result.add_at(item, value, i, value.note(i))
        return result

    def _substitute_string(self, text: str, loc: Loc) -> tuple[Any, str | None]:
        value, note = self._substitute_once(text, loc)
        if "${" not in REFERENCE_RE.sub("", text):
            return value, note  # no reference spelt by others: one round substitutes all there is
        rounds = 1
        while isinstance(value, str) and value is not text and "${" in value and rounds < MAX_ROUNDS:
            # The substitution spelt a new reference (``${var.foo_${var.tail}}`` gives ``${var.foo_x}``): the CLI
            # resolves it in its next round.
            again, more = self._substitute_once(value, loc)
            if again is value:
                break
            value, note = again, "; ".join(n for n in (note, more) if n) or None
            rounds += 1
        return value, note

    def _substitute_once(self, text: str, loc: Loc) -> tuple[Any, str | None]:
        matches = list(REFERENCE_RE.finditer(text))
        if not matches:
            return text, None
        if len(matches) == 1 and matches[0].group(0) == text:
            known, value, note = self.lookup(matches[0].group(1), loc)
            return (value, note) if known else (text, None)
        notes: list[str] = []

        def replace(match: re.Match[str]) -> str:
            known, value, note = self.lookup(match.group(1), loc)
            if not known:
                return match.group(0)
            if isinstance(value, (dict, list)):
                self.problems.append(Problem("DG006", f"${{{match.group(1)}}} is a complex value and cannot be part of a string", loc))
                return match.group(0)
            if note:
                notes.append(note)
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else str(value)

        new_text = REFERENCE_RE.sub(replace, text)
        return (text if new_text == text else new_text), ("; ".join(notes) or None)


@lru_cache(maxsize=4096)
def _reference_parts(ref: str) -> tuple[str | int, ...]:
    """``var.x.a[0]`` -> ``("var", "x", "a", 0)``."""
    return tuple(int(m.group(2)) if m.group(2) else m.group(1) for m in _PART_RE.finditer(ref))


def _json_key_loc(text: str, name: str, rel: str) -> Loc:
    """Where ``"name":`` is written in a JSON object's text (its first occurrence), 1-based."""
    match = re.search(re.escape(json.dumps(name)) + r"\s*:", text)
    if match is None:
        return Loc(rel, 1, 1)
    line = text.count("\n", 0, match.start()) + 1
    return Loc(rel, line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string"


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return is_unknown(value)
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


class SharedSubstitutions:
    """What the targets resolved so far substituted, for the next target to reuse; dropped once all are resolved.

    ``by_source``: id(source) -> (source, its changed entries, the result), one per distinct result. The source is
    kept so that no other object can take its id while the table lives.
    """

    def __init__(self) -> None:
        self.by_source: dict[int, list[tuple[Any, Mapping[Any, tuple[Any, str | None]], Any]]] = {}


def _same_changes(a: Mapping[Any, tuple[Any, str | None]], b: Mapping[Any, tuple[Any, str | None]]) -> bool:
    """Whether two substitutions of one value give the same result: equal scalars (of the same type, so 1 is not
    True), the very same containers (themselves shared by this rule, bottom up), and the same notes."""
    if a.keys() != b.keys():
        return False
    for key, (new_a, note_a) in a.items():
        new_b, note_b = b[key]
        if note_a != note_b:
            return False
        if new_a is new_b:
            continue
        if isinstance(new_a, (dict, list)) or type(new_a) is not type(new_b) or new_a != new_b:
            return False
        if isinstance(new_a, float) and repr(new_a) != repr(new_b):  # -0.0 == 0.0, but a report shows them apart
            return False
    return True


def _value_note(var: Variable, target_name: str) -> str:
    """Where a substituted value comes from: the variable's definition, and where its value was set when that is
    not the definition's default (a finding points at the variable's use, which shows neither)."""
    note = f"value of ${{var.{var.name}}}" + (f" defined at {var.loc}" if var.loc else "")
    if var.source == "target":
        note += f", set for target '{target_name}'" + (f" at {var.value_loc}" if var.value_loc else "")
    elif var.source == "--var":
        note += f", set with --var {var.name}=..."
    elif var.source == "environment":
        note += f", set by the environment variable BUNDLE_VAR_{var.name}"
    elif var.source == "overrides file":
        note += f", set in .databricks/bundle/{target_name}/variable-overrides.json"
    return note


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def resolve_target(
    bundle: Bundle,
    name: str,
    overrides: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    lookups: Mapping[str, str | Problem] | None = None,
    shared: SharedSubstitutions | None = None,
) -> Target:
    """Target ``name`` merged into the root, every known reference substituted.

    ``lookups`` holds the values of ``lookup`` variables resolved online (or the problem that prevented one).
    Targets resolved with the same ``shared`` share the values they resolve alike.
    """
    conflicts: list[MergeConflict] = []
    config = apply_target(bundle, name, merge_lists=False, conflicts=conflicts)
    resolver = _Resolver(bundle, name, config, overrides or {}, dict(os.environ) if env is None else env, lookups)
    for conflict in conflicts:
        resolver.problems.append(
            Problem(
                "DG009",
                f"target '{name}' sets {'.'.join(conflict.path)} to a {conflict.override_kind} where the configuration has a"
                f" {conflict.base_kind}; the Databricks CLI refuses to merge them (\"cannot merge {conflict.base_kind} with"
                f" {conflict.override_kind}\")",
                conflict.loc or Loc(bundle.root_file, 1, 1),
            )
        )
    resolver.problems.extend(_references_in_auth_fields(config, resolver.as_written))
    scripts = config.get("scripts")
    if isinstance(scripts, YMap):
        # The CLI refuses references in a script's content (DG015 says so) rather than substituting them.
        resolver.as_written.update((id(script), "content") for script in scripts.values() if isinstance(script, YMap))
    resolver.shared = shared
    resolved = _substitute_sections(resolver, config)
    # As the CLI does, job clusters, tasks and parameters are merged by key once references are substituted, so a
    # key (or a whole entry) that comes from a variable merges with the entry it names.
    resolved = merge_named_lists(resolved)
    resolved = _apply_cluster_override(resolved)
    for var in resolver.variables.values():
        if var.value is not None:
            var.resolved = resolver.substitute(var.value, var.value_loc or var.loc)
    return Target(name, bundle, resolved, resolver.variables, resolver.problems)


# The workspace fields that configure authentication, with the environment variable that sets each one instead. The
# CLI connects with them before it substitutes any reference (validate/interpolation_in_auth_config.go).
AUTH_FIELDS = {
    "host": "DATABRICKS_HOST", "profile": "DATABRICKS_CONFIG_PROFILE", "auth_type": "DATABRICKS_AUTH_TYPE",
    "metadata_service_url": "DATABRICKS_METADATA_SERVICE_URL", "client_id": "DATABRICKS_CLIENT_ID",
    "google_service_account": "DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "azure_resource_id": "DATABRICKS_AZURE_RESOURCE_ID",
    "azure_use_msi": "ARM_USE_MSI", "azure_client_id": "ARM_CLIENT_ID", "azure_tenant_id": "ARM_TENANT_ID",
    "azure_environment": "ARM_ENVIRONMENT", "azure_login_app_id": "DATABRICKS_AZURE_LOGIN_APP_ID",
    "account_id": "DATABRICKS_ACCOUNT_ID", "workspace_id": "DATABRICKS_WORKSPACE_ID",
}  # fmt: skip


def _references_in_auth_fields(config: YMap, as_written: set[tuple[int, str]]) -> list[Problem]:
    """A reference in a field that configures authentication is used as its text: the CLI warns, and with the host
    or the profile it cannot connect at all (``parse "https://${var.host}": invalid character``). Such fields are
    added to ``as_written``: they keep their text, and their references are not reported again."""
    workspace = config.get("workspace")
    if not isinstance(workspace, YMap):
        return []
    problems = []
    for key, variable in AUTH_FIELDS.items():
        value = workspace.get(key)
        if isinstance(value, str) and REFERENCE_RE.search(value):
            as_written.add((id(workspace), key))
            fatal = key in ("host", "profile")
            problems.append(
                Problem(
                    "DG006",
                    f"workspace.{key} is '{value}', but the Databricks CLI does not substitute references in the fields"
                    f" that configure authentication" + (": it cannot connect to the workspace" if fatal else "")
                    + f"; set the {variable} environment variable to choose it at deploy time",
                    workspace.val_loc(key) or workspace.key_loc(key) or Loc("", 1, 1),
                    Severity.ERROR if fatal else Severity.WARNING,
                )
            )
    return problems


def _substitute_sections(resolver: _Resolver, config: YMap) -> YMap:
    """The configuration with references substituted in every section the CLI knows.

    Other top-level keys (those that only hold YAML anchors, or typos DG003 reports) stay as written: the CLI drops
    them when it loads a file, before it resolves anything, so a reference in them is never resolved in a target
    that does not use it.
    """
    if all(key in CONFIG_SECTIONS for key in config):
        return resolver._substitute_map(config)
    known = YMap()
    for key in config:
        if key in CONFIG_SECTIONS:
            copy_entry(known, config, key)
    substituted = resolver._substitute_map(known)
    result = YMap()
    for key in config:
        copy_entry(result, substituted if key in CONFIG_SECTIONS else config, key)
    return result


def _apply_cluster_override(config: YMap) -> YMap:
    """``cluster_id`` on a development target runs every job task on that existing cluster (the CLI's override)."""
    bundle = config.get("bundle")
    if not isinstance(bundle, YMap):
        return config
    cluster_id = bundle.get("cluster_id") or bundle.get("compute_id")
    if not isinstance(cluster_id, str) or is_unknown(cluster_id) or bundle.get("mode") != "development":
        return config
    resources = config.get("resources")
    jobs = resources.get("jobs") if isinstance(resources, YMap) else None
    if not isinstance(jobs, YMap):
        return config
    loc = bundle.val_locs.get("cluster_id") or bundle.val_locs.get("compute_id")
    compute_keys = ("job_cluster_key", "new_cluster", "existing_cluster_id", "environment_key")
    new_jobs = YMap()
    for name, job in jobs.items():
        tasks = job.get("tasks") if isinstance(job, YMap) else None
        if not isinstance(job, YMap) or not isinstance(tasks, YSeq):
            copy_entry(new_jobs, jobs, name)
            continue
        new_tasks = YSeq()
        for i, task in enumerate(tasks):
            if isinstance(task, YMap) and any(k in task for k in compute_keys):
                new_task = YMap()
                for key in task:
                    if key not in compute_keys:
                        copy_entry(new_task, task, key)
                new_task.put("existing_cluster_id", cluster_id, loc, loc, "from the target's cluster_id")
                task = new_task
            new_tasks.add_at(task, tasks, i, tasks.note(i))
        new_job = YMap()
        for key in job:
            copy_entry(new_job, job, key, new_tasks if key == "tasks" else None, use_value=key == "tasks")
        copy_entry(new_jobs, jobs, name, new_job, use_value=True)
    assert isinstance(resources, YMap)
    new_resources = YMap()
    for key in resources:
        copy_entry(new_resources, resources, key, new_jobs if key == "jobs" else None, use_value=key == "jobs")
    result = YMap()
    for key in config:
        copy_entry(result, config, key, new_resources if key == "resources" else None, use_value=key == "resources")
    return result
