"""Rules about the shape of the configuration: values that do not fit the schema and unknown keys (DG002, DG003).

Both rules share one pass over each resolved target (cached per target): the merged configuration is checked
against dab-guard's schema, and so is the target's own entry under ``targets`` for what the merge does not carry
(``default``, ``mode``, ``variables``, and keys the CLI does not know there).
"""

from __future__ import annotations

import difflib
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dab_guard.bundle.loader import Bundle
from dab_guard.bundle.located import YMap, locate
from dab_guard.bundle.resolve import Target, target_section
from dab_guard.cache import per_object
from dab_guard.edits import rename_key
from dab_guard.finding import Fix, Loc, Report, Severity
from dab_guard.rules.base import ProblemRule, Rule
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
    return _without_typo_requirements(found)


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
            if item.issue.kind == "unknown":
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
