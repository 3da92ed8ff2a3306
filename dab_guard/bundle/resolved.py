"""A target read from the CLI's own resolved configuration (``databricks bundle validate -o json``).

The CLI prints one target, fully resolved: ``lookup`` variables have their values, resources defined in Python are
there, ``targets`` is gone and local paths are already rewritten to workspace paths
(``/Workspace/Users/.../.bundle/<name>/<target>/files/src/train.py``). Rules run on it unchanged.

Positions: where a local bundle is known and the same bundle path exists in its YAML (the same target resolved from
the local files; list items matched by ``task_key``, ``job_cluster_key`` and the like, since the CLI may reorder
them), a finding points at that YAML. Otherwise it points into the JSON file itself (at the nearest key that exists
there), and for input with no positions at line 1 of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dab_guard.bundle.loader import Bundle, BundleError
from dab_guard.bundle.located import YMap, YSeq, locate
from dab_guard.bundle.resolve import Target, Variable, is_unknown
from dab_guard.bundle.yamlread import Limits, read_yaml
from dab_guard.finding import Loc, PathParts

STDIN_NAME = "<stdin>"

# Keys that name a list item, so that the CLI's item and the local one can be matched whatever their order.
_ITEM_KEYS = ("task_key", "job_cluster_key", "environment_key", "label", "name", "key")
_WORKSPACE_PREFIXES = ("/Workspace", "/Volumes", "/dbfs", "dbfs:", "/Users", "/Shared", "/Repos")


@dataclass
class ResolvedTarget(Target):
    """One target as the CLI resolved it. ``local`` is the same target resolved from the local YAML, if any."""

    source: str = STDIN_NAME  # what findings located in the JSON itself name as their file
    local: Target | None = None

    def locate(self, parts: PathParts, on_key: bool = False) -> tuple[Loc | None, str | None]:
        if self.local is not None:
            local_parts = local_path_of(self.config, self.local.config, parts)
            if local_parts is not None:
                return self.local.locate(local_parts, on_key)
        loc, _ = locate(self.config, parts, on_key)
        return (loc or Loc(self.source, 1, 1)), None

    def local_path(self, parts: PathParts, value: str, file: str | None = None) -> PurePosixPath | None:
        """A path the CLI left local, relative to the local bundle root; None for workspace paths and without one.

        The CLI has already made local paths absolute or relative to the bundle root, so the YAML file that wrote a
        value no longer matters (``file`` is not used); paths it rewrote to workspace paths are not local files any more.
        """
        if self.local is None or not value or is_unknown(value) or "://" in value:
            return None
        if value.startswith(_WORKSPACE_PREFIXES):
            return None
        if value.startswith("/"):
            try:
                value = PurePosixPath(value).relative_to(self.bundle.root_dir.as_posix()).as_posix()
            except ValueError:
                return None  # a local path outside the bundle: not something dab-guard can resolve
        normal = os.path.normpath(value).replace(os.sep, "/")
        return PurePosixPath(normal)


def local_path_of(resolved: Any, local: Any, parts: PathParts) -> PathParts | None:
    """``parts`` (a path in the resolved configuration) as a path in the local configuration.

    List indices are translated by the item's key (``task_key`` ...). The path is cut at the first list item that has
    no local counterpart; None when not even the resource (``resources.<kind>.<name>``) or top-level section exists
    locally.
    """
    anchor = 3 if parts[:1] == ("resources",) else 1
    out: list[str | int] = []
    for part in parts:
        if isinstance(part, str):
            if not isinstance(local, dict) or part not in local:
                if len(out) < min(anchor, len(parts)):
                    return None
                out.append(part)  # a key missing locally: the locator points at its parent, as for YAML
                return tuple(out) + tuple(parts[len(out) :])
            out.append(part)
            resolved = resolved.get(part) if isinstance(resolved, dict) else None
            local = local[part]
        else:
            if not isinstance(local, list) or not isinstance(resolved, list) or not 0 <= part < len(resolved):
                break
            index = _matching_index(resolved[part], local, part, len(resolved))
            if index is None:
                break
            out.append(index)
            resolved, local = resolved[part], local[index]
    if len(out) < min(anchor, len(parts)):
        return None
    return tuple(out)


def _matching_index(item: Any, local: list[Any], index: int, resolved_length: int) -> int | None:
    if isinstance(item, dict):
        for key in _ITEM_KEYS:
            wanted = item.get(key)
            if isinstance(wanted, str):
                for i, candidate in enumerate(local):
                    if isinstance(candidate, dict) and candidate.get(key) == wanted:
                        return i
                return None
    # Items without a naming key (libraries, depends_on entries): trust the position when the lengths agree.
    return index if len(local) == resolved_length else None


def read_resolved(text: str, source: str, limits: Limits | None = None) -> YMap:
    """The resolved configuration, with positions in the JSON text. Raises BundleError when it is not one."""
    limits = limits or Limits()
    if len(text.encode("utf-8", errors="replace")) > limits.max_file_bytes:
        raise BundleError(f"{source}: larger than {limits.max_file_bytes} bytes")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BundleError(f"{source}: not JSON ({exc}); expected the output of `databricks bundle validate -o json`") from None
    except RecursionError:
        raise BundleError(f"{source}: JSON nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("bundle"), dict):
        raise BundleError(f"{source}: no 'bundle' section; expected the output of `databricks bundle validate -o json`")
    # JSON is YAML: reading it with the YAML reader gives every value its line and column in the file.
    doc = read_yaml(text, source, limits)
    if isinstance(doc.value, YMap) and not doc.problems:
        return doc.value
    tree = _positionless(data, 0, limits.max_depth, source)
    assert isinstance(tree, YMap)
    return tree


def _positionless(value: Any, depth: int, max_depth: int, source: str) -> Any:
    if depth > max_depth:
        raise BundleError(f"{source}: nested deeper than {max_depth} levels")
    if isinstance(value, dict):
        out = YMap()
        for key, item in value.items():
            out.put(str(key), _positionless(item, depth + 1, max_depth, source), None, None)
        return out
    if isinstance(value, list):
        seq = YSeq()
        for item in value:
            seq.add(_positionless(item, depth + 1, max_depth, source), None)
        return seq
    return value


def target_name(config: YMap, source: str) -> str:
    section = config.get("bundle")
    name = section.get("target") or section.get("environment") if isinstance(section, dict) else None
    if not isinstance(name, str) or not name:
        raise BundleError(f"{source}: no bundle.target; expected the output of `databricks bundle validate -o json`")
    return name


def variables_of(config: YMap) -> dict[str, Variable]:
    """The CLI's variables, each with the value it resolved (``lookup`` ones included)."""
    out: dict[str, Variable] = {}
    section = config.get("variables")
    if not isinstance(section, YMap):
        return out
    for name, definition in section.items():
        if not isinstance(definition, YMap):
            continue
        value = definition.get("value", definition.get("default"))
        loc = definition.val_locs.get("value") or definition.val_locs.get("default")
        out[name] = Variable(name, definition, section.key_locs.get(name), "cli", value, loc)
    return out


# Fields the CLI computes and prints but that are not part of the configuration a user writes (its schema leaves
# them out): removed before the rules run, so that they are not reported as unknown. "*" matches any key.
CLI_COMPUTED: tuple[tuple[str, ...], ...] = (
    ("bundle", "target"),
    ("bundle", "environment"),
    ("bundle", "git", "bundle_root_path"),
    ("bundle", "git", "actual_branch"),
    ("bundle", "git", "inferred"),
    ("bundle", "git", "commit"),
    ("workspace", "current_user"),
    ("variables", "*", "value"),
    ("resources", "*", "*", "deployment"),
    ("resources", "jobs", "*", "edit_mode"),
    ("resources", "jobs", "*", "format"),
)


def _drop(node: Any, pattern: tuple[str, ...]) -> None:
    if not isinstance(node, YMap) or not pattern:
        return
    head, rest = pattern[0], pattern[1:]
    keys = list(node) if head == "*" else [head] if head in node else []
    for key in keys:
        if rest:
            _drop(node[key], rest)
        else:
            node.forget(key)


def resolved_target(config: YMap, source: str, bundle: Bundle, local: Target | None) -> ResolvedTarget:
    """The CLI's target ready for the rules; ``bundle`` is the local bundle, or one made of the JSON alone."""
    name = target_name(config, source)
    variables = variables_of(config)
    for pattern in CLI_COMPUTED:
        _drop(config, pattern)
    return ResolvedTarget(name, bundle, config, variables, [], source, local)


def standalone_bundle(config: YMap, source: str, root_dir: Path, limits: Limits | None = None) -> Bundle:
    """A bundle that is nothing but the resolved configuration (no local files found)."""
    return Bundle(root_dir, source, {}, config, [], limits or Limits())
