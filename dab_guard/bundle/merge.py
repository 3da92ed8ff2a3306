"""Merging configuration trees the way the Databricks CLI does.

Maps merge recursively, sequences concatenate, scalars replace and null never overrides. Lists of named things
(job clusters, tasks, job parameters, pipeline clusters) are then merged by their key. Nothing here mutates its
inputs: the loaded files are shared by every target.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from dab_guard.bundle.located import YMap, YSeq, copy_entry
from dab_guard.finding import Loc

_C = TypeVar("_C", YMap, YSeq)

PURE_REFERENCE = re.compile(r"\$\{[^{}]+\}")


@dataclass(frozen=True)
class MergeConflict:
    """A mapping or list merged with a reference, which the CLI refuses ("cannot merge string with sequence"); the
    override's value is kept."""

    path: tuple[str, ...]
    loc: Loc | None  # where the override writes it
    base_kind: str
    override_kind: str


def kind_word(value: Any) -> str:
    """The CLI's word for a value's kind."""
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "sequence"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def _refuses_merge(base: Any, override: Any) -> bool:
    """Whether the CLI fails to merge these: a mapping or list and a ``${...}`` reference, which its loading keeps
    (a plain value where a mapping belongs it drops with a warning first: acceptance/bundle/override/
    merge-string-map, against variables/issue_2436)."""
    if base is None or override is None or isinstance(base, (dict, list)) == isinstance(override, (dict, list)):
        return False
    scalar = override if isinstance(base, (dict, list)) else base
    # Only a value that is one whole reference is kept where a mapping or list belongs (libs/dyn/convert/normalize).
    return isinstance(scalar, str) and PURE_REFERENCE.fullmatch(scalar.strip()) is not None


def merge(base: Any, override: Any, conflicts: list[MergeConflict] | None = None, path: tuple[str, ...] = ()) -> Any:
    """``override`` merged over ``base``; with ``conflicts``, each container met by a value of another kind is
    recorded there."""
    if override is None:
        return base
    if isinstance(base, YMap) and isinstance(override, YMap):
        result = YMap()
        for key in base:
            copy_entry(result, base, key)
        for key, value in override.items():
            if key in base and value is None:
                continue
            if key in base and isinstance(base[key], YMap) and isinstance(value, YMap):
                # A merged map keeps the position where it was first written; its new keys keep theirs.
                result.put_at(key, merge(base[key], value, conflicts, (*path, key)), base)
            elif key in base and isinstance(base[key], YSeq) and isinstance(value, YSeq):
                result.put_at(key, merge(base[key], value, conflicts, (*path, key)), base)
            else:
                existing = base.get(key)
                if conflicts is not None and _refuses_merge(existing, value):
                    conflicts.append(MergeConflict((*path, key), override.key_loc(key) or override.val_loc(key), kind_word(existing), kind_word(value)))
                copy_entry(result, override, key)
        return result
    if isinstance(base, YSeq) and isinstance(override, YSeq):
        seq = YSeq()
        for source in (base, override):
            for i, item in enumerate(source):
                seq.add_at(item, source, i, source.note(i))
        return seq
    return override


def merge_into(base: YMap, override: YMap, owned: set[int] | None = None) -> None:
    """Merge ``override`` into ``base`` in place; for trees the caller owns (the files of one bundle, read once).

    Merging the includes of a large bundle one by one with :func:`merge` would copy the growing tree each time.
    With ``owned`` (the ids of the containers the caller made), a container of ``base`` that is not one of them (it
    came from a file) is copied before it changes, once, so that the files' own trees are never changed.
    """
    for key, value in override.items():
        if value is None and key in base:
            continue
        current = base.get(key)
        if isinstance(current, YMap) and isinstance(value, YMap):
            if owned is not None and id(current) not in owned:
                current = _own(base, key, _map_copy(current), owned)
            merge_into(current, value, owned)
        elif isinstance(current, YSeq) and isinstance(value, YSeq):
            if owned is not None and id(current) not in owned:
                current = _own(base, key, _seq_copy(current), owned)
            for i, item in enumerate(value):
                current.add_at(item, value, i, value.note(i))
        else:
            copy_entry(base, override, key)


def _map_copy(value: YMap) -> YMap:
    copy = YMap()
    for key in value:
        copy_entry(copy, value, key)
    return copy


def _seq_copy(value: YSeq) -> YSeq:
    copy = YSeq()
    for i, item in enumerate(value):
        copy.add_at(item, value, i, value.note(i))
    return copy


def _own(base: YMap, key: str, copy: _C, owned: set[int]) -> _C:
    """``copy`` put in place of ``base[key]`` (same positions and note), and recorded as the caller's."""
    copy_entry(base, base, key, copy, use_value=True)
    owned.add(id(copy))
    return copy


def merge_by_key(items: YSeq, key_of: Callable[[Any], str | None]) -> YSeq:
    """Items with the same key merged into the first of them, which keeps its position in the list.

    A list without a repeated key is returned as it is (not copied), so that targets keep sharing it.
    """
    keys = [key_of(item) if isinstance(item, YMap) else None for item in items]
    named = [key for key in keys if key is not None]
    if len(set(named)) == len(named):
        return items
    result = YSeq()
    index_of: dict[str, int] = {}
    for i, item in enumerate(items):
        key = key_of(item) if isinstance(item, YMap) else None
        if key is None or key not in index_of:
            if key is not None:
                index_of[key] = len(result)
            result.add_at(item, items, i, items.note(i))
            continue
        at = index_of[key]
        result[at] = merge(result[at], item)
    return result


def _field(name: str, lower: bool = False, default: str | None = None) -> Callable[[Any], str | None]:
    def key_of(item: Any) -> str | None:
        value = item.get(name, default)
        if not isinstance(value, str):
            return default if value is None else str(value)
        return value.lower() if lower else value

    return key_of


def _rebuild(parent: YMap, key: str, value: Any) -> YMap:
    result = YMap()
    for k in parent:
        copy_entry(result, parent, k, value if k == key else None, use_value=k == key)
    return result


def _replace(parent: YMap, changed: dict[str, YMap]) -> YMap:
    result = YMap()
    for k in parent:
        copy_entry(result, parent, k, changed.get(k), use_value=k in changed)
    return result


def merge_named_lists(config: YMap) -> YMap:
    """Merge job clusters, tasks and job parameters by key, and pipeline clusters by label."""
    resources = config.get("resources")
    if not isinstance(resources, YMap):
        return config
    new_resources = resources
    jobs = resources.get("jobs")
    if isinstance(jobs, YMap):
        changed_jobs: dict[str, YMap] = {}
        for name, job in jobs.items():
            if not isinstance(job, YMap):
                continue
            new_job = job
            for field, key_of in (
                # An entry without its key has the key "" to the CLI, and merges with any other such entry.
                ("job_clusters", _field("job_cluster_key", default="")),
                ("tasks", _field("task_key", default="")),
                ("parameters", _field("name")),
            ):
                items = new_job.get(field)
                if isinstance(items, YSeq) and len(items) > 1:
                    merged = merge_by_key(items, key_of)
                    if merged is not items:
                        new_job = _rebuild(new_job, field, merged)
            if new_job is not job:
                changed_jobs[name] = new_job
        if changed_jobs:
            new_resources = _rebuild(new_resources, "jobs", _replace(jobs, changed_jobs))
    pipelines = resources.get("pipelines")
    if isinstance(pipelines, YMap):
        changed_pipelines: dict[str, YMap] = {}
        for name, pipeline in pipelines.items():
            if isinstance(pipeline, YMap) and isinstance(pipeline.get("clusters"), YSeq) and len(pipeline["clusters"]) > 1:
                clusters = merge_by_key(pipeline["clusters"], _field("label", lower=True, default="default"))
                if clusters is not pipeline["clusters"]:
                    changed_pipelines[name] = _rebuild(pipeline, "clusters", clusters)
        if changed_pipelines:
            new_resources = _rebuild(new_resources, "pipelines", _replace(pipelines, changed_pipelines))
    if new_resources is resources:
        return config
    return _rebuild(config, "resources", new_resources)
