"""Rules about the shape of the configuration: values that do not fit the schema and unknown keys (DG002, DG003).

Both rules share one pass over each resolved target (cached per target): the merged configuration is checked
against dab-guard's schema, and so is the target's own entry under ``targets`` for what the merge does not carry
(``default``, ``mode``, ``variables``, and keys the CLI does not know there).
"""

from __future__ import annotations

import difflib
import json
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dab_guard.bundle.loader import Bundle
from dab_guard.bundle.located import YMap, file_of, locate
from dab_guard.bundle.resolve import Target, target_section
from dab_guard.cache import per_object
from dab_guard.edits import rename_key
from dab_guard.finding import Fix, Loc, Report, Severity
from dab_guard.rules.base import ProblemRule, Rule
from dab_guard.rules.config_errors import is_read_only
from dab_guard.schema.validate import SchemaChecker, SchemaIssue, checker

# Target keys that the merge carries into the resolved configuration, where they are checked.
_MERGED_TARGET_KEYS = frozenset(
    {"bundle", "workspace", "artifacts", "resources", "sync", "permissions", "presets", "run_as", "cluster_id", "compute_id", "git"}
)


@dataclass(frozen=True)
class _Located:
    issue: SchemaIssue
    at: Loc | None  # None: locate the issue's path in the resolved configuration
    severity: Severity | None = None  # None: the rule's


_cache: tuple[weakref.ref[Target], list[_Located]] | None = None


def schema_issues(target: Target) -> list[_Located]:
    """Every schema issue of ``target``, computed once for both rules."""
    global _cache
    if _cache is not None and _cache[0]() is target:
        return _cache[1]
    found = _collect(target, checker())
    _cache = (weakref.ref(target), found)
    return found


def _collect(target: Target, schema: SchemaChecker) -> list[_Located]:
    bundle = target.bundle
    known: dict[str, Any] = schema.schema.get("properties", {})
    found: list[_Located] = []
    view: dict[str, Any] = {}
    for key, value in target.config.items():
        if key in known:
            view[key] = value
        elif not _anchor_only(bundle, key):
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            found.append(_Located(SchemaIssue("unknown", (key,), f"unknown top-level key '{key}'{hint}", key), None))
    section = view.get("bundle")
    if isinstance(section, dict) and "mode" in section:
        # The target's `mode` lands in `bundle` (as in the CLI, whose Bundle keeps it internally); the schema has no
        # place for it there, and DG009 checks its value.
        view["bundle"] = {k: v for k, v in section.items() if k != "mode"}
    with schema.remembering(per_object(bundle, "schema-verdicts", dict)):
        issues = list(schema.issues(view))
    for issue in issues:
        if issue.kind == "unknown" and _holds_anchor(bundle, target.config, issue.path):
            continue
        if issue.kind == "invalid" and len(issue.path) == 1 and _anchor_only(bundle, str(issue.path[0])):
            # A known section used only to hold an anchor (mlops-stacks' `permissions: &permissions`): the CLI drops
            # the value with a warning, and nothing else is wrong with it.
            message = (
                f"{issue.message}; the CLI ignores this value with a warning (to only hold a YAML anchor, use a key"
                f" the CLI does not know, such as 'x-{issue.path[0]}')"
            )
            found.append(_Located(SchemaIssue("invalid", issue.path, message), None, Severity.WARNING))
            continue
        found.append(_Located(issue, None))
    found.extend(_target_entry(target, schema))
    found.extend(_served_models(target))
    found.extend(_alert_files(target))
    found.extend(_genie_spaces(target))
    return _judged(target, _without_typo_requirements(found))


# What an alert may set beside `file_path`: the CLI refuses the rest (acceptance/bundle/resources/alerts/
# with_file_not_allowed_field_error).
_ALERT_BESIDE_FILE = frozenset({"warehouse_id", "display_name", "file_path", "permissions", "lifecycle"})


def _alert_files(target: Target) -> Iterator[_Located]:
    """What the CLI refuses in an alert that reads its definition from a `.dbalert.json`: other fields in the YAML,
    and `${...}` references in the file (resources/alerts/with_file_variable_interpolation_error)."""
    for name, alert in _resources(target, "alerts"):
        file_path = alert.get("file_path")
        if not isinstance(file_path, str):
            continue
        base = ("resources", "alerts", name)
        for key in alert:
            if key not in _ALERT_BESIDE_FILE:
                message = (
                    f"{'.'.join((*base, str(key)))}: not allowed beside file_path; the Databricks CLI refuses it (only"
                    f" {', '.join(sorted(_ALERT_BESIDE_FILE))}): write it in the .dbalert.json"
                )
                yield _Located(SchemaIssue("invalid", (*base, key), message), None, Severity.ERROR)
        content = _alert_file(target, base, alert)
        if isinstance(content, dict) and "${" in json.dumps(content):
            message = (
                f"{'.'.join((*base, 'file_path'))}: the alert file {file_path} holds a ${{...}} reference; the"
                " Databricks CLI refuses references in a .dbalert.json: inline the alert in the YAML to use variables"
            )
            yield _Located(SchemaIssue("invalid", (*base, "file_path"), message), None, Severity.ERROR)


def _genie_spaces(target: Target) -> Iterator[_Located]:
    """A Genie space takes its definition from `file_path` or from `serialized_space`: the CLI refuses both
    (acceptance/bundle/validate/genie_space_file_path_and_inline)."""
    for name, space in _resources(target, "genie_spaces"):
        if space.get("file_path") is not None and space.get("serialized_space") is not None:
            path = ("resources", "genie_spaces", name, "serialized_space")
            message = (
                f"{'.'.join(path)}: set beside file_path; the Databricks CLI refuses both (\"specify only one\"):"
                " keep the definition in the file, or inline it and drop file_path"
            )
            yield _Located(SchemaIssue("invalid", path, message), None, Severity.ERROR)


def _resources(target: Target, kind: str) -> Iterator[tuple[str, YMap]]:
    resources = target.config.get("resources")
    group = resources.get(kind) if isinstance(resources, YMap) else None
    if isinstance(group, YMap):
        for name, value in group.items():
            if isinstance(value, YMap):
                yield str(name), value


_NOT_HERE = object()  # a workspace path, a value not known offline, or a path outside the bundle
_MISSING_FILE = object()


def _alert_file(target: Target, base: tuple[str | int, ...], alert: YMap) -> Any:
    """The parsed `.dbalert.json` the `file_path` of the alert at ``base`` names (relative to the YAML file that
    wrote it); ``_NOT_HERE`` or ``_MISSING_FILE`` when there is nothing to read, None when it is not JSON."""
    path = target.local_file((*base, "file_path"), alert["file_path"], file_of(alert, "file_path"))
    if path is None:
        return _NOT_HERE
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return _MISSING_FILE
    except (OSError, ValueError):
        return None


def _served_models(target: Target) -> Iterator[_Located]:
    """The CLI reads an endpoint's deprecated ``served_models`` as ``served_entities``, with a warning, and refuses
    both together (acceptance/bundle/validate/model_serving_conversion, model_serving_both_fields_error)."""
    endpoints = target.config.get("resources")
    endpoints = endpoints.get("model_serving_endpoints") if isinstance(endpoints, YMap) else None
    if not isinstance(endpoints, YMap):
        return
    for name, endpoint in endpoints.items():
        config = endpoint.get("config") if isinstance(endpoint, YMap) else None
        if not isinstance(config, YMap) or config.get("served_models") is None:
            continue
        path = ("resources", "model_serving_endpoints", str(name), "config", "served_models")
        if config.get("served_entities") is not None:
            message = (
                f"{'.'.join(path[:-1])}: served_models and served_entities together; the Databricks CLI refuses both"
                " ('Cannot use both served_models and served_entities'): move the models to served_entities"
            )
            yield _Located(SchemaIssue("invalid", path, message), None, Severity.ERROR)
        else:
            message = (
                f"{'.'.join(path)}: served_models is deprecated; the Databricks CLI reads it as served_entities, with"
                " a warning: write served_entities (entity_name, entity_version)"
            )
            yield _Located(SchemaIssue("invalid", path, message), None, Severity.WARNING)


def _target_entry(target: Target, schema: SchemaChecker) -> Iterator[_Located]:
    """The target's own entry: what the merge into the configuration does not carry."""
    bundle = target.bundle
    root = bundle.config
    top: dict[str, Any] = schema.schema.get("properties", {})
    for key in ("targets", "environments"):
        section = root.get(key)
        if section is not None and not isinstance(section, dict) and key in top:
            for issue in schema.issues(section, top[key], (key,)):
                yield _Located(issue, _at(root, issue))
    section_key, targets = target_section(bundle)
    entry = targets.get(target.name) if targets is not None and section_key is not None else None
    if entry is None or section_key is None:
        return
    view = {k: v for k, v in entry.items() if k not in _MERGED_TARGET_KEYS} if isinstance(entry, dict) else entry
    for issue in schema.issues(view, schema.definition("bundle.Target"), (section_key, target.name)):
        if issue.kind == "unknown" and _holds_anchor(bundle, root, issue.path):
            continue
        yield _Located(issue, _at(root, issue))


def _at(root: YMap, issue: SchemaIssue) -> Loc | None:
    loc, _ = locate(root, issue.path, on_key=issue.kind == "unknown")
    return loc


def _anchor_only(bundle: Bundle, key: str) -> bool:
    """A top-level key every file writes only to hold a YAML anchor (``x-defaults: &defaults ...``)."""
    first = bundle.config.key_locs.get(key)
    defined = False
    for rel, source in bundle.files.items():
        if rel == bundle.root_file:
            # The includes are merged into the root file's tree: it holds their keys too.
            writes = key in source.doc.anchor_keys or (first is not None and first.file == rel)
        else:
            writes = isinstance(source.doc.value, dict) and key in source.doc.value
        if writes:
            if key not in source.doc.anchor_keys:
                return False
            defined = True
    return defined


def _holds_anchor(bundle: Bundle, root: Any, path: tuple[str | int, ...]) -> bool:
    """Whether the value of the unknown key at ``path`` carries a YAML anchor, which the CLI lets pass anywhere."""
    container: Any = root
    for part in path[:-1]:
        try:
            container = container[part]
        except (KeyError, IndexError, TypeError):
            return False
    key = path[-1]
    if not isinstance(container, YMap) or not isinstance(key, str):
        return False
    loc = container.val_locs.get(key)
    source = bundle.files.get(loc.file) if loc else None
    if loc is None or source is None:
        return False
    lines = source.text.splitlines()
    if not 0 < loc.line <= len(lines):
        return False
    return lines[loc.line - 1][loc.col - 1 : loc.col] == "&"


def _without_typo_requirements(found: list[_Located]) -> list[_Located]:
    """A missing required key next to an unknown key that is its misspelling is one mistake: keep the DG003."""
    unknown_keys: dict[tuple[str | int, ...], list[str]] = {}
    for item in found:
        if item.issue.kind == "unknown":
            unknown_keys.setdefault(item.issue.path[:-1], []).append(item.issue.key)
    if not unknown_keys:
        return found
    kept = []
    for item in found:
        issue = item.issue
        if issue.kind == "missing" and difflib.get_close_matches(issue.key, unknown_keys.get(issue.path, []), n=1, cutoff=0.6):
            continue
        kept.append(item)
    return kept


# --- severities: the CLI only warns about missing required fields and values outside an enumeration ---------------

Pattern = tuple[str, ...]  # a path in the configuration; "*" matches any one key or index

# Required keys the CLI fills in itself, without a word: it merges a job's tasks by `task_key` and its job clusters by
# `job_cluster_key`, which sets a missing key to "" and makes one entry of all those without a key
# (acceptance/bundle/variables/complex-simple, complex-with-var-reference, resolve-field-within-complex).
_MERGE_KEYS: dict[Pattern, frozenset[str]] = {
    ("resources", "jobs", "*", "tasks", "*"): frozenset({"task_key"}),
    ("resources", "jobs", "*", "job_clusters", "*"): frozenset({"job_cluster_key"}),
}
# Required fields the deploy certainly needs although the CLI only warns at validate time: Unity Catalog creates no
# schema or volume without its name and the catalog (and schema) it lives in (acceptance/bundle/validate/required,
# validate/volume_defaults show the warnings), and the SQL alerts API creates no alert without its query, warehouse,
# evaluation and schedule (unless the alert's .dbalert.json gives them).
_DEPLOY_NEEDS: dict[Pattern, frozenset[str]] = {
    ("resources", "volumes", "*"): frozenset({"catalog_name", "schema_name", "name"}),
    ("resources", "schemas", "*"): frozenset({"catalog_name", "name"}),
    ("resources", "alerts", "*"): frozenset({"display_name", "evaluation", "query_text", "schedule", "warehouse_id"}),
}
# What an alert's `.dbalert.json` (its `file_path`) supplies for a required field: the field, or its `*_lines` form.
_ALERT_FILE_KEYS = {"query_text": ("query_text", "query_lines")}


def _matches(path: tuple[str | int, ...], pattern: Pattern) -> bool:
    return len(path) == len(pattern) and all(p == "*" or p == part for part, p in zip(path, pattern, strict=True))


def _listed(table: dict[Pattern, frozenset[str]], issue: SchemaIssue) -> bool:
    return any(issue.key in keys and _matches(issue.path, pattern) for pattern, keys in table.items())


def _judged(target: Target, found: list[_Located]) -> list[_Located]:
    """Each missing required field and each value outside an enumeration given the severity its consequence has
    (see the rule's documentation); other issues as they are."""
    judged: list[_Located] = []
    for item in found:
        issue = item.issue
        if item.severity is not None:
            judged.append(item)
        elif issue.kind == "missing":
            if _alert_file_supplies(target, issue) or _in_served_models(issue):
                continue
            if _listed(_MERGE_KEYS, issue):
                message = (
                    f"{issue.message}: the Databricks CLI sets it to \"\" without a warning, and merges every entry"
                    f" of the list without a {issue.key} into one"
                )
                judged.append(_Located(_reworded(issue, message), item.at, Severity.WARNING))
            elif _listed(_DEPLOY_NEEDS, issue):
                message = f"{issue.message}; the Databricks CLI only warns about it at validate time, but the deploy fails without it"
                judged.append(_Located(_reworded(issue, message), item.at, Severity.ERROR))
            else:
                message = f"{issue.message} (the Databricks CLI only warns about it)"
                judged.append(_Located(_reworded(issue, message), item.at, Severity.WARNING))
        elif issue.kind == "invalid" and issue.enum:
            if issue.enum_value == "":
                message = (
                    f"{issue.message}; the Databricks CLI only warns about it, and its default (terraform) engine drops"
                    " an empty value at deploy"
                )
                judged.append(_Located(_reworded(issue, message), item.at, Severity.WARNING))
            else:
                message = f"{issue.message}; the Databricks CLI only warns about it at validate time, but the API refuses the value at deploy"
                judged.append(_Located(_reworded(issue, message), item.at, Severity.ERROR))
        else:
            judged.append(item)
    return judged


def _in_served_models(issue: SchemaIssue) -> bool:
    """A field of a ``served_models`` entry: the CLI converts the entry into ``served_entities`` (whose fields are all
    optional) before it checks required fields."""
    return len(issue.path) > 5 and issue.path[1] == "model_serving_endpoints" and issue.path[4] == "served_models"


def _reworded(issue: SchemaIssue, message: str) -> SchemaIssue:
    return SchemaIssue(issue.kind, issue.path, message, issue.key, issue.enum_value, issue.enum)


def _alert_file_supplies(target: Target, issue: SchemaIssue) -> bool:
    """Whether the missing field of an alert comes from the `.dbalert.json` its `file_path` names (the CLI reads the
    alert from there: acceptance/bundle/resources/alerts/with_file_run_from_subdir). A file that is not there is
    DG007's to report, one that cannot be read here is not guessed at; one that is not a JSON mapping supplies
    nothing."""
    if not _matches(issue.path, ("resources", "alerts", "*")):
        return False
    alert = dict(_resources(target, "alerts")).get(str(issue.path[2]))
    if alert is None or not isinstance(alert.get("file_path"), str):
        return False
    content = _alert_file(target, issue.path, alert)
    if content is _NOT_HERE or content is _MISSING_FILE:
        # A workspace path, a value not known offline, a path outside the bundle, or no file: DG007's to report.
        return True
    if not isinstance(content, dict):
        return False
    return any(key in content for key in _ALERT_FILE_KEYS.get(issue.key, (issue.key,)))


class Schema(ProblemRule):
    """
    ## What it does
    Checks every value of each target's merged configuration against dab-guard's JSON Schema of the bundle
    configuration (`dab-guard schema` prints it): types (`num_workers: two`), enumerations
    (`data_security_mode: SINGEL_USER`), required fields (a task without `task_key`), and the shape of sections
    (a mapping where a list belongs). Values that still hold a `${...}` reference dab-guard cannot resolve offline
    are accepted, as the CLI accepts them.

    ## Why it matters
    The Databricks CLI often only warns about such values, or drops them, and the job then fails when it is
    created or run, minutes later, with an API error far from the line that caused it.

    Severities follow what the deploy does, since the CLI itself only warns about a missing required field
    (`required field "name" is not set`) and a value outside an enumeration (`invalid value ... for enum field`):

    - a missing required field is a warning, as in the CLI (acceptance/bundle/validate/required,
      validate/models/missing_name: a model deploys without `name`; resource_deps/implicit_deps_quality_monitor);
    - except the fields the deploy certainly needs, an error that says the CLI only warns: a volume's
      `catalog_name`, `schema_name` and `name`, a schema's `catalog_name` and `name` (validate/volume_defaults), an
      alert's `display_name`, `query_text`, `warehouse_id`, `evaluation` and `schedule`, where its `.dbalert.json` does
      not give them: the APIs create none of these without them;
    - a job task's `task_key` and a job cluster's `job_cluster_key` are warnings too, though the CLI says nothing:
      it sets them to "" when it merges tasks and clusters by key, so that all entries without a key become one
      (variables/complex-simple, complex-with-var-reference);
    - an alert's fields that its `file_path` `.dbalert.json` supplies are not missing (resources/alerts/with_file*);
      a missing file is DG007's; other fields beside `file_path`, and `${...}` references in the file, are errors,
      as in the CLI (alerts/with_file_not_allowed_field_error, with_file_variable_interpolation_error);
    - a value outside an enumeration stays an error, saying that the CLI only warns but the API refuses the value at
      deploy (validate/enum, validate/secret_scope_invalid_permission_level); an empty string is a warning, as the
      CLI's default engine drops it;
    - a dashboard's `display_name` and `warehouse_id` and a SQL warehouse's `name`, which the CLI refuses missing or
      blank, are DG013's (one finding for one mistake);
    - a model serving endpoint's deprecated `served_models` is a warning, as in the CLI, which reads it as
      `served_entities` (validate/model_serving_conversion), and an error beside `served_entities`, as in the CLI
      (validate/model_serving_both_fields_error).

    ## Example
    ```yaml
    job_clusters:
      - job_cluster_key: main
        new_cluster:
          num_workers: two                  # expected an integer
          data_security_mode: SINGEL_USER   # expected one of NONE, SINGLE_USER, ...
    ```

    ## Fix
    Use the type and the value the message names; the message suggests the closest allowed value.
    """

    id = "DG002"
    name = "schema"
    severity = Severity.ERROR
    summary = "values that do not fit the bundle configuration schema"
    source = "The Databricks CLI's bundle configuration schema (`databricks bundle schema`) and its loader's types."

    def check(self, target: Target) -> Iterator[Report]:
        yield from super().check(target)
        for item in schema_issues(target):
            if item.issue.kind != "unknown":
                yield Report(item.issue.message, path=item.issue.path, severity=item.severity, at=item.at)


class UnknownField(Rule):
    """
    ## What it does
    Reports keys the Databricks CLI does not know, with the closest known key: `spark_verison` in a cluster,
    `max_concurent_runs` in a job, an unknown section at the top level or in a target. Keys whose value only holds
    a YAML anchor (`x-defaults: &defaults ...`) are allowed, as the CLI allows them.

    ## Why it matters
    The CLI ignores an unknown key with a warning that is easy to miss, so the setting silently does not apply:
    a misspelt `spark_version` leaves the cluster without a runtime, a misspelt `data_security_mode` leaves it
    without Unity Catalog access.

    ## Example
    ```yaml
    new_cluster:
      spark_verison: 16.4.x-cpu-ml-scala2.12   # did you mean 'spark_version'?
    ```

    ## Fix
    Correct the key (dab-guard suggests the closest one) or remove it.

    `dab-guard fix --unsafe-fixes` renames the key to the suggested one, where it is written. Only suggested: the
    closest known key is a guess, and the key may belong to a newer CLI than dab-guard's schema.
    """

    id = "DG003"
    name = "unknown-field"
    severity = Severity.WARNING
    summary = "keys the bundle configuration does not know, with a did-you-mean"
    source = "The Databricks CLI warns 'unknown field' and ignores the key."
    fix = "suggested"

    def check(self, target: Target) -> Iterator[Report]:
        for item in schema_issues(target):
            if item.issue.kind == "unknown" and not is_read_only(item.issue.path):
                yield Report(item.issue.message, path=item.issue.path, at=item.at, on_key=True, fix=_rename(target, item))


_DID_YOU_MEAN = re.compile(r"\(did you mean '([^']+)'\?\)")


def _rename(target: Target, item: _Located) -> Fix | None:
    """The unknown key renamed to the one the message suggests (suggested only)."""
    match = _DID_YOU_MEAN.search(item.issue.message)
    old = item.issue.path[-1] if item.issue.path else None
    loc = item.at or target.locate(item.issue.path, on_key=True)[0]
    if match is None or not isinstance(old, str) or loc is None:
        return None
    change = rename_key(target.bundle, loc, old, match.group(1))
    if change is None:
        return None
    return Fix(f"rename {old} to {match.group(1)}", (change.edit,), safe=False, anchors=change.anchors)
