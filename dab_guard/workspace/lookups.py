"""Resolve ``lookup`` variables against the workspace, as ``databricks bundle deploy`` does, so rules see real ids.

```yaml
variables:
  pool_id:
    lookup:
      instance_pool: "ml-pool"     # -> the id of the pool named ml-pool
```

A lookup whose name matches nothing (or more than one object) fails the deploy; it becomes a DG006 finding at the
lookup. When the workspace cannot be asked, the variable stays unknown and rules stay silent about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dab_guard.bundle.located import YMap
from dab_guard.bundle.resolve import Target, is_unknown, target_section
from dab_guard.bundle.yamlread import Problem
from dab_guard.finding import Loc
from dab_guard.workspace.facts import LOOKUP_KINDS, WorkspaceFacts

_WHAT = {
    "instance_pool": "instance pool",
    "cluster_policy": "cluster policy",
    "cluster": "all-purpose cluster",
    "warehouse": "SQL warehouse",
    "service_principal": "service principal",
    "metastore": "metastore",
    "job": "job",
    "pipeline": "pipeline",
    "alert": "alert",
    "dashboard": "dashboard",
    "query": "query",
}


@dataclass(frozen=True)
class LookupRequest:
    variable: str
    kind: str
    name: str
    loc: Loc | None


def lookup_spec(target: Target, variable: str) -> tuple[YMap | None, str]:
    """The ``lookup`` mapping that applies to ``variable`` in ``target`` (a target override wins) and its origin."""
    _, targets = target_section(target.bundle)
    own = targets.get(target.name) if targets else None
    overrides = own.get("variables") if isinstance(own, YMap) else None
    override = overrides.get(variable) if isinstance(overrides, YMap) else None
    if isinstance(override, YMap) and isinstance(override.get("lookup"), YMap):
        return override["lookup"], "target"
    root = target.bundle.config.get("variables")
    definition = root.get(variable) if isinstance(root, YMap) else None
    if isinstance(definition, YMap) and isinstance(definition.get("lookup"), YMap):
        return definition["lookup"], "root"
    return None, ""


def lookup_requests(target: Target) -> list[LookupRequest]:
    """The lookups ``target`` needs: variables whose value comes from a ``lookup`` (not overridden by a value)."""
    out: list[LookupRequest] = []
    for name, variable in target.variables.items():
        if variable.source != "lookup":
            continue
        spec, _ = lookup_spec(target, name)
        if spec is None:
            continue
        kinds = [k for k in spec if k in LOOKUP_KINDS]
        if len(kinds) != 1:
            continue
        kind = kinds[0]
        value = spec[kind]
        if not isinstance(value, str) or not value or is_unknown(value):
            continue  # the CLI refuses references inside a lookup; dab-guard has nothing to ask
        out.append(LookupRequest(name, kind, value, spec.val_locs.get(kind) or spec.key_locs.get(kind)))
    return out


def resolve_lookups(target: Target, facts: WorkspaceFacts) -> dict[str, Any]:
    """Variable name -> resolved id, or a DG006 :class:`Problem` when the workspace has no single match."""
    out: dict[str, Any] = {}
    for request in lookup_requests(target):
        ids = facts.named(request.kind, request.name)
        if ids is None:
            continue
        what = _WHAT.get(request.kind, request.kind)
        loc = request.loc or Loc(target.bundle.root_file, 1, 1)
        if len(ids) == 1:
            out[request.variable] = ids[0]
        elif not ids:
            out[request.variable] = Problem(
                "DG006", f"lookup of variable '{request.variable}': no {what} named '{request.name}' in {facts.connection.host}", loc
            )
        else:
            out[request.variable] = Problem(
                "DG006", f"lookup of variable '{request.variable}': {len(ids)} {what}s are named '{request.name}'; the deploy cannot choose", loc
            )
    return out
