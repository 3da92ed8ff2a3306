"""One resolved target as plain JSON, in the shape ``databricks bundle validate -o json`` prints.

The parts dab-guard resolves are given as the CLI gives them: the target merged in, references substituted, values
converted to the type the configuration schema gives them (``spark_conf`` values are strings, ``num_workers`` an
integer), unknown fields and resource fields that are "" dropped (a field written with no value is null), local paths
given from the bundle root, the repairs the CLI makes itself (``node_type_id`` beside an instance pool,
``served_models`` as ``served_entities``), what development mode and presets change (``bundle.presets``), the
defaults and permissions it fills in (``bundle.permissions``), and ``variables`` with each one's ``value``. What only
the workspace knows (the deploying user, workspace paths, ids) is left out, or left as its ``${...}`` text.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from dab_guard.bundle.loader import go_glob, has_glob
from dab_guard.bundle.located import YMap, YSeq, file_of
from dab_guard.bundle.permissions import CURRENT_USER, apply_permissions
from dab_guard.bundle.presets import apply_presets, capture_uc_dependencies, each_resource
from dab_guard.bundle.resolve import Target
from dab_guard.schema import bundle_schema

# Sections the CLI drops once the configuration is loaded: includes are read and targets merged in.
_LOADING_ONLY = ("include", "targets", "environments")


def render_target(target: Target, deployer: str = CURRENT_USER) -> dict[str, Any]:
    """The resolved configuration of ``target`` as JSON-ready dicts, lists and scalars; ``deployer`` is the deploying
    identity where it is known (offline it is not: the ``${workspace.current_user.userName}`` reference)."""
    schema = bundle_schema()
    out: dict[str, Any] = {}
    for key in sorted(target.config):
        if key in _LOADING_ONLY or key == "variables":
            continue
        value = _normalized(target.config[key], _property(schema, schema, key), schema, (key,))
        if value is not _DROP:
            out[key] = value
    _inline_alert_files(target, out)
    _expand_pipeline_globs(target, out)
    capture_uc_dependencies(out)
    apply_presets(out)  # before the defaults, as the CLI applies them
    _defaults(out)
    _parent_paths(out)
    _run_as(out)
    apply_permissions(out, deployer)
    out = _without_empty(out)
    # The CLI names the target it resolved (``environment`` is the older name it still prints).
    bundle = out.setdefault("bundle", {})
    if isinstance(bundle, dict):
        bundle.setdefault("target", target.name)
        bundle.setdefault("environment", target.name)
        out["bundle"] = {k: bundle[k] for k in sorted(bundle)}
    variables = _variables(target)
    if variables:
        out["variables"] = variables
    return out


# What the CLI fills in where a resource leaves it out (resourcemutator's defaults, as the Terraform provider's):
# a path into the resource, with "*" for every list item; the last part is set when its parent is there.
_DEFAULTS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("volumes", ("volume_type",), "MANAGED"),
    ("jobs", ("name",), "Untitled"),
    ("jobs", ("max_concurrent_runs",), 1),
    ("jobs", ("schedule", "pause_status"), "UNPAUSED"),
    ("jobs", ("trigger", "pause_status"), "UNPAUSED"),
    ("jobs", ("continuous", "pause_status"), "UNPAUSED"),
    ("jobs", ("queue",), {"enabled": True}),
    ("jobs", ("tasks", "*", "dbt_task", "schema"), "default"),
    ("jobs", ("tasks", "*", "for_each_task", "task", "dbt_task", "schema"), "default"),
    ("jobs", ("job_clusters", "*", "new_cluster", "workload_type", "clients", "notebooks"), True),
    ("jobs", ("job_clusters", "*", "new_cluster", "workload_type", "clients", "jobs"), True),
    ("jobs", ("edit_mode",), "UI_LOCKED"),
    ("jobs", ("format",), "MULTI_TASK"),
    ("jobs", ("deployment",), {"kind": "BUNDLE", "metadata_file_path": "${workspace.state_path}/metadata.json"}),
    ("pipelines", ("edition",), "ADVANCED"),
    ("pipelines", ("channel",), "CURRENT"),
    ("pipelines", ("deployment",), {"kind": "BUNDLE", "metadata_file_path": "${workspace.state_path}/metadata.json"}),
    ("sql_warehouses", ("auto_stop_mins",), 120),
    ("sql_warehouses", ("enable_photon",), True),
    ("sql_warehouses", ("max_num_clusters",), 1),
    ("sql_warehouses", ("spot_instance_policy",), "COST_OPTIMIZED"),
    ("apps", ("description",), ""),
    ("clusters", ("autotermination_minutes",), 60),
    ("clusters", ("workload_type", "clients", "notebooks"), True),
    ("clusters", ("workload_type", "clients", "jobs"), True),
)


def _defaults(out: dict[str, Any]) -> None:
    resources = out.get("resources")
    if not isinstance(resources, dict):
        return
    for kind, path, value in _DEFAULTS:
        for resource in each_resource(resources, kind):
            _set_default(resource, path, value)


def _set_default(node: Any, path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
        if isinstance(node, dict) and path[0] not in node:
            node[path[0]] = json.loads(json.dumps(value))  # a copy: every resource gets its own
        return
    if path[0] == "*":
        for item in node if isinstance(node, list) else ():
            _set_default(item, path[1:], value)
    elif isinstance(node, dict) and path[0] in node:
        _set_default(node[path[0]], path[1:], value)


def _expand_pipeline_globs(target: Target, out: dict[str, Any]) -> None:
    """A pipeline library whose notebook or file path is a local glob is one library per file it matches, as the CLI
    expands it (acceptance/bundle/paths/pipeline_globs); one that matches nothing stays (DG007 reports it)."""
    resources = out.get("resources")
    for pipeline in each_resource(resources, "pipelines") if isinstance(resources, dict) else ():
        libraries = pipeline.get("libraries")
        if not isinstance(libraries, list):
            continue
        expanded: list[Any] = []
        for library in libraries:
            kind = next((k for k in ("notebook", "file") if isinstance(library, dict) and isinstance(library.get(k), dict)), None)
            pattern = library[kind].get("path") if kind else None
            if not isinstance(pattern, str) or not has_glob(pattern) or pattern.startswith(("/", "..")) or "://" in pattern or "${" in pattern:
                expanded.append(library)
                continue
            try:
                matches = [m for m in go_glob(target.bundle.root_dir, pattern) if m.is_file()]
            except ValueError:
                matches = []
            if not matches:
                expanded.append(library)
                continue
            for match in matches:
                expanded.append({**library, kind: {**library[kind], "path": match.relative_to(target.bundle.root_dir).as_posix()}})
        pipeline["libraries"] = expanded


def _run_as(out: dict[str, Any]) -> None:
    """The bundle's ``run_as`` is each job's and pipeline's that sets none, as the CLI passes it down
    (acceptance/bundle/run_as)."""
    run_as = out.get("run_as")
    resources = out.get("resources")
    if not isinstance(run_as, dict) or not run_as or not isinstance(resources, dict):
        return
    for kind in ("jobs", "pipelines"):
        for entry in each_resource(resources, kind):
            if not entry.get("run_as"):
                entry["run_as"] = dict(run_as)


def _parent_paths(out: dict[str, Any]) -> None:
    """Dashboards, Genie spaces and alerts as the CLI completes them: ``parent_path`` defaults to ``workspace.resource_path``
    and is made a workspace path (``/Workspace`` + it), and a dashboard's ``embed_credentials`` defaults to false
    (acceptance/bundle/validate/dashboard_defaults, genie_space_defaults)."""
    resources = out.get("resources")
    workspace = out.get("workspace")
    default = workspace.get("resource_path") if isinstance(workspace, dict) else None
    if not isinstance(resources, dict):
        return
    for kind in ("dashboards", "genie_spaces", "alerts"):
        for entry in each_resource(resources, kind):
            if kind == "dashboards":
                entry.setdefault("embed_credentials", False)
            parent = entry.get("parent_path", default if isinstance(default, str) else "${workspace.resource_path}")
            if isinstance(parent, str) and "${" not in parent and parent != "/Workspace" and not parent.startswith("/Workspace/"):
                parent = "/Workspace" + (f"/{parent.lstrip('/')}" if parent.strip("/") else "")
            entry["parent_path"] = parent


def _inline_alert_files(target: Target, out: dict[str, Any]) -> None:
    """An alert with ``file_path`` gets the fields of its ``.dbalert.json`` (``query_lines`` as ``query_text``), as the
    CLI prints it."""
    alerts = target.config.get("resources", {}).get("alerts") if isinstance(target.config.get("resources"), dict) else None
    rendered = out.get("resources", {}).get("alerts") if isinstance(out.get("resources"), dict) else None
    if not isinstance(alerts, YMap) or not isinstance(rendered, dict):
        return
    for name, alert in alerts.items():
        value = alert.get("file_path") if isinstance(alert, YMap) else None
        if not isinstance(value, str) or not isinstance(rendered.get(name), dict):
            continue
        parts = ("resources", "alerts", name, "file_path")
        path = target.local_file(parts, value, file_of(alert, "file_path"))
        try:
            content = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            continue
        if not isinstance(content, dict):
            continue
        entry = rendered[name]
        for key, field in content.items():
            if key.endswith("_lines") and isinstance(field, list):
                # `query_lines`, `custom_description_lines`...: the text, a line each.
                entry.setdefault(key.removesuffix("_lines") + ("_text" if key == "query_lines" else ""), "".join(f"{line}\n" for line in field))
            else:
                entry.setdefault(key, field)
        rendered[name] = {k: entry[k] for k in sorted(entry)}  # file_path is already given from the bundle root


def _variables(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(target.variables):
        var = target.variables[name]
        entry: dict[str, Any] = {}
        definition: dict[str, Any] = var.definition or {}
        for key in ("default", "description", "lookup", "type"):
            if key in definition and definition[key] is not None:
                entry[key] = _plain(definition[key])
        if var.source in ("default", "target") and var.resolved is not None:
            entry["default"] = _plain(var.resolved)  # a target's value replaces the default, as the CLI merges it
        if var.source != "none" and not (var.source == "lookup" and var.value is None):
            entry["value"] = _plain(var.resolved)
        out[name] = {k: entry[k] for k in sorted(entry)}
    return out


_DROP = object()
_EMPTY = "\x00empty"  # a resource field written as "", dropped after the defaults


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v != _EMPTY}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# Fields the CLI keeps when they are "" (every other field of a resource is dropped then: its Go type omits it).
_EMPTY_KEPT = {
    ("apps", "description"), ("jobs", "task_key"), ("jobs", "job_cluster_key"), ("dashboards", "parent_path"),
    ("genie_spaces", "parent_path"), ("volumes", "volume_type"),
}  # fmt: skip
# What the CLI renames when it reads the deprecated `served_models` of a serving endpoint as `served_entities`.
_SERVED_MODEL_FIELDS = {"model_name": "entity_name", "model_version": "entity_version"}


def _normalized(value: Any, node: dict[str, Any] | None, schema: dict[str, Any], path: tuple[str, ...]) -> Any:
    """``value`` converted as the CLI converts a configuration value to its schema's type.

    As the CLI does: a key the schema does not know is dropped (the CLI warns "unknown field" and leaves it out), and
    so is a resource field that is "" (a map entry keeps it: ``tags: {branch: ""}``).
    """
    node = _deref(node, schema)
    if isinstance(value, dict):
        value = _repaired(value, path)
        properties = node.get("properties") if isinstance(node, dict) else None
        # Resources are typed by the CLI; the top-level sections also hold what a target moved there (bundle.mode).
        closed = path[:1] == ("resources",) and isinstance(properties, dict) and node is not None and node.get("additionalProperties") is False
        out: dict[str, Any] = {}
        for key in sorted(value):
            if closed and isinstance(properties, dict) and key not in properties:
                continue
            if key == "root_path" and path[1:2] == ("pipelines",) and value[key] == "" and isinstance(value, YMap):
                out[key] = _from_root(".", file_of(value, key))  # "" is the folder of the file that writes it
                continue
            if value[key] == "" and closed and (*path[1:2], key) not in _EMPTY_KEPT:
                out[key] = _EMPTY  # written as "": left out once the defaults are in (which do not replace it)
                continue
            if path[:1] == ("resources",) and isinstance(value[key], str) and value[key] and isinstance(value, YMap) and _is_path(key, path):
                out[key] = _from_root(value[key], file_of(value, key))
                continue
            if path[:1] == ("resources",) and key == "dependencies" and isinstance(value[key], YSeq):
                out[key] = [_dependency_from_root(item, loc.file if loc else None) for item, loc in zip(value[key], value[key].item_locs, strict=False)]
                continue
            item = _normalized(value[key], _property(node, schema, key), schema, (*path, key))
            if item is not _DROP:
                out[key] = item
        if path[:2] == ("resources", "jobs") and len(path) == 3 and isinstance(out.get("tasks"), list):
            # The CLI prints a job's tasks in the order of their keys.
            out["tasks"] = sorted(out["tasks"], key=lambda task: str(task.get("task_key", "")) if isinstance(task, dict) else "")
        return out
    if isinstance(value, list):
        items = node.get("items") if isinstance(node, dict) and isinstance(node.get("items"), dict) else None
        return [v for v in (_normalized(item, items, schema, path) for item in value) if v is not _DROP]
    if value is None:
        return None  # the CLI prints a field written without a value as null
    types = _types(node)
    if not types or (isinstance(value, str) and "${" in value):
        return value
    # The schema accepts any scalar where the CLI takes a string (YAML writes `true` or `4` unquoted), so a field whose
    # first type is "string" is a string field; elsewhere "string" only admits a `${...}` reference.
    if types[0] == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else _number_text(value)
    if isinstance(value, str):
        if "boolean" in types and value.lower() in _BOOLEANS:
            return _BOOLEANS[value.lower()]
        if "integer" in types:
            try:
                return int(value)
            except ValueError:
                pass
        if "number" in types:
            try:
                return float(value)
            except ValueError:
                pass
        return value
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    return value


def _number_text(value: Any) -> Any:
    """A number as the CLI writes it into a string field (``2.5``, ``4``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, (int, float)) else value


_BOOLEANS = {"true": True, "false": False}


# Fields that hold a local path, which the CLI gives from the bundle root (or as a workspace path under
# ${workspace.file_path}, which starts at the same root): written relative to the YAML file that holds them.
_PATH_KEYS = frozenset(
    ("notebook_path", "python_file", "project_directory", "requirements", "source_code_path", "file_path", "root_path",
     "command_path")
)  # fmt: skip


def _is_path(key: str, path: tuple[str, ...]) -> bool:
    """Whether the field ``key`` of the mapping at ``path`` is a local path the CLI gives from the bundle root (a
    pipeline's `jar` or `whl` library it leaves as written)."""
    if key in ("whl", "jar"):
        return path[1:2] == ("jobs",)
    if key == "path":
        return path[-1:] in (("notebook",), ("file",))
    if key == "include":
        return path[-1:] == ("glob",)
    return key in _PATH_KEYS


def _from_root(text: str, file: str | None) -> str:
    """A local path written in ``file`` as the CLI gives it, from the bundle root; other values as they are."""
    if not text or text.startswith(("/", "${")) or "://" in text or ":" in text.split("/")[0] or file is None:
        return text
    rebased = posixpath.normpath(posixpath.join(posixpath.dirname(file), text))
    return rebased


def _dependency_from_root(item: Any, file: str | None) -> Any:
    """An environment dependency that is a local file (``./dist/x.whl``, ``-r requirements.txt``) given from the
    bundle root; a package requirement (``pandas==2.2``) as it is."""
    if not isinstance(item, str):
        return item
    flag = re.match(r"^(-r|-e|--requirement|--editable)\s+", item)
    rest = item[flag.end():] if flag else item
    quote = rest[:1] if rest[:1] in "'\"" and rest.endswith(rest[:1]) and len(rest) > 1 else ""
    bare = rest[1:-1] if quote else rest
    if not (flag or bare.startswith(("./", "../")) or bare.endswith((".whl", ".txt"))) or "${" in bare:
        return item
    return (flag.group(0) if flag else "") + quote + _from_root(bare, file) + quote


def _repaired(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """What the CLI itself changes in a mapping before it prints it: ``node_type_id`` (and the driver's) beside an
    instance pool is dropped, and a serving endpoint's ``served_models`` becomes ``served_entities``."""
    if value.get("instance_pool_id") is not None and ("node_type_id" in value or "driver_node_type_id" in value):
        value = {k: v for k, v in value.items() if k not in ("node_type_id", "driver_node_type_id")}
    elif "driver_instance_pool_id" in value and value.get("instance_pool_id") is None and "spark_version" in value:
        value = {k: v for k, v in value.items() if k != "driver_instance_pool_id"}  # no driver pool without a worker pool
    if path[:2] == ("resources", "jobs") and len(path) == 4 and path[3] in ("tasks", "job_clusters"):
        # A task or job cluster written without its key has the key "" for the CLI, which it prints.
        key = "task_key" if path[3] == "tasks" else "job_cluster_key"
        if key not in value:
            value = {**value, key: ""}
    if path[:2] == ("resources", "model_serving_endpoints") and len(path) == 4 and path[3] == "config":
        served = value.get("served_models")
        if isinstance(served, list) and "served_entities" not in value:
            entities = [{_SERVED_MODEL_FIELDS.get(k, k): v for k, v in model.items()} if isinstance(model, dict) else model for model in served]
            value = {**{k: v for k, v in value.items() if k != "served_models"}, "served_entities": entities}
    return value


def _types(node: dict[str, Any] | None) -> tuple[str, ...]:
    if not isinstance(node, dict):
        return ()
    kind = node.get("type")
    if isinstance(kind, str):
        return (kind,)
    if isinstance(kind, list):
        return tuple(t for t in kind if isinstance(t, str))
    return ()


def _deref(node: dict[str, Any] | None, schema: dict[str, Any]) -> dict[str, Any] | None:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return None
        node = schema.get("$defs", {}).get(ref[len("#/$defs/"):])
        seen += 1
    if isinstance(node, dict) and "anyOf" in node:
        for option in node["anyOf"]:
            option = _deref(option, schema)
            if isinstance(option, dict) and option.get("type") not in (None, "string"):
                return option
    return node


def _property(node: dict[str, Any] | None, schema: dict[str, Any], key: str) -> dict[str, Any] | None:
    node = _deref(node, schema)
    if not isinstance(node, dict):
        return None
    properties = node.get("properties")
    if isinstance(properties, dict) and key in properties:
        found = properties[key]
        return found if isinstance(found, dict) else None
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None
