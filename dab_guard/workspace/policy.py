"""Evaluate a Databricks cluster-policy definition against one cluster specification, locally.

A definition maps attribute paths (``spark_version``, ``autoscale.max_workers``, ``spark_conf.spark.master``,
``custom_tags.team``, ``init_scripts.*.workspace.destination``) to one limitation each:

- ``fixed`` (``value``): the cluster may omit the attribute (the policy fills it in) or repeat the value.
- ``forbidden``: the cluster must not set it.
- ``allowlist`` / ``blocklist`` (``values``), ``regex`` (``pattern``, anchored at both ends), ``range``
  (``minValue`` / ``maxValue``), ``unlimited``: *limiting* types. They make the attribute required unless
  ``isOptional`` is true, or a ``defaultValue`` fills it and the cluster asks for policy defaults
  (``apply_policy_default_values: true``). Without that flag the API applies only ``fixed`` values, and a limited
  attribute left out fails with "Validation failed for X, ... must be present" when the cluster is created.
- ``hidden`` only hides the field in the UI; it never relaxes a limitation.

Values dab-guard cannot know offline (``${...}``) are skipped, and so are limitations it cannot decide without the
workspace (``dbus_per_hour``, ``auto:`` runtime aliases): the evaluator never guesses.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dab_guard.bundle.resolve import is_unknown
from dab_guard.finding import PathParts

# Cluster attributes that are maps: everything after the first dot is one key, which may itself contain dots.
_MAP_ATTRIBUTES = ("spark_conf", "spark_env_vars", "custom_tags")
# Attributes whose value only the workspace can compute.
_UNDECIDABLE = ("dbus_per_hour",)
_LIMITING = ("allowlist", "blocklist", "regex", "range", "unlimited")
_KNOWN_TYPES = ("fixed", "forbidden", *_LIMITING)
# A limitation is an object of scalars and lists of scalars: anything nested deeper than this is not a policy.
_MAX_VALUE_DEPTH = 8
# Attributes that stand in for one another: a cluster sizes itself with one or the other, its node types come from
# its instance pools, and the API fills the driver's node type and pool from the workers' when they are left out.
# What the workspace then checks is not known here, so a missing attribute with one of these set is not reported.
_ALTERNATIVES = {
    "num_workers": ("autoscale",),
    "autoscale.min_workers": ("num_workers",),
    "autoscale.max_workers": ("num_workers",),
    "node_type_id": ("instance_pool_id",),
    "driver_node_type_id": ("node_type_id", "instance_pool_id", "driver_instance_pool_id"),
    "driver_instance_pool_id": ("instance_pool_id",),
}


class PolicyError(ValueError):
    """A policy definition that is not a JSON object of attribute -> limitation."""


@dataclass(frozen=True)
class Violation:
    """One way a cluster breaks a policy.

    ``path`` is the attribute's position inside the cluster specification (for locating the finding); for a missing
    attribute it is empty.
    """

    attribute: str
    path: PathParts
    message: str
    missing: bool = False


def parse_definition(raw: Any, where: str = "policy definition") -> dict[str, dict[str, Any]]:
    """A definition from its JSON text or object (the API returns it as a string)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except RecursionError:
            raise PolicyError(f"{where} is nested too deeply") from None
        except ValueError as exc:
            raise PolicyError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be a JSON object of attribute path -> limitation")
    definition = {str(k): dict(v) for k, v in raw.items() if isinstance(v, Mapping)}
    if any(_deeper_than(limitation, _MAX_VALUE_DEPTH) for limitation in definition.values()):
        # Limitation values are scalars or lists of scalars; comparing absurdly nested ones would exhaust the stack.
        raise PolicyError(f"{where} is nested too deeply")
    return definition


def _deeper_than(value: Any, depth: int) -> bool:
    """Whether ``value`` nests lists or objects more than ``depth`` levels (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level >= depth:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def effective_definition(definition: Any, family_definition: Any = None, overrides: Any = None) -> dict[str, dict[str, Any]]:
    """The definition a policy enforces: its family's definition with the policy's overrides, or its own."""
    if family_definition is not None:
        merged = parse_definition(family_definition, "policy family definition")
        if overrides:
            merged.update(parse_definition(overrides, "policy family overrides"))
        return merged
    return parse_definition(definition if definition is not None else {})


def evaluate(definition: Mapping[str, Mapping[str, Any]], cluster: Mapping[str, Any], cluster_type: str | None = None) -> list[Violation]:
    """Every limitation of ``definition`` that ``cluster`` breaks, in the definition's order."""
    out: list[Violation] = []
    for attribute, limitation in definition.items():
        out.extend(_check(attribute, limitation, cluster, cluster_type))
    return out


def _check(attribute: str, limitation: Mapping[str, Any], cluster: Mapping[str, Any], cluster_type: str | None) -> Iterator[Violation]:
    kind = limitation.get("type")
    if kind not in _KNOWN_TYPES or attribute in _UNDECIDABLE:
        return
    if attribute == "cluster_type":
        found: list[tuple[PathParts, Any]] = [((), cluster_type)] if cluster_type else []
        if not found:
            return
    else:
        found = list(_values_at(cluster, attribute))
    if not found:
        if _may_be_missing(attribute, limitation, cluster):
            return
        default = limitation.get("defaultValue")
        hint = f" (its default {_show(default)} applies only with apply_policy_default_values: true)" if default is not None else ""
        yield Violation(attribute, (), f"the policy requires {attribute}{hint}", missing=True)
        return
    for path, value in found:
        if is_unknown(value):
            continue
        problem = _judge(kind, limitation, value, attribute)
        if problem:
            yield Violation(attribute, path, problem)


def _may_be_missing(attribute: str, limitation: Mapping[str, Any], cluster: Mapping[str, Any]) -> bool:
    kind = limitation.get("type")
    if kind in ("fixed", "forbidden") or limitation.get("isOptional") is True:
        return True
    if limitation.get("defaultValue") is not None and cluster.get("apply_policy_default_values") is True:
        return True
    if "*" in attribute.split("."):
        return True  # a rule on every list item holds for an empty list
    return any(alt in cluster for alt in _ALTERNATIVES.get(attribute, ()))


def _judge(kind: Any, limitation: Mapping[str, Any], value: Any, attribute: str) -> str | None:
    """Why ``value`` breaks the limitation, or None."""
    shown = _show(value)
    if kind == "forbidden":
        return f"{attribute} is forbidden by the policy"
    if kind == "fixed":
        expected = limitation.get("value")
        if _is_alias(expected, attribute) or _same(value, expected):
            return None
        how = "remove it: the policy sets and hides it" if limitation.get("hidden") else "remove it or use the fixed value"
        return f"{attribute} is {shown}, but the policy fixes it to {_show(expected)} ({how})"
    if kind in ("allowlist", "blocklist"):
        values = limitation.get("values")
        if not isinstance(values, list) or any(_is_alias(v, attribute) for v in values):
            return None
        listed = any(_same(value, v) for v in values)
        if kind == "allowlist" and not listed:
            return f"{attribute} is {shown}, but the policy allows only {', '.join(_show(v) for v in values)}"
        if kind == "blocklist" and listed:
            return f"{attribute} is {shown}, which the policy blocks"
        return None
    if kind == "regex":
        pattern = limitation.get("pattern")
        if not isinstance(pattern, str):
            return None
        try:
            matched = re.fullmatch(pattern, _text(value)) is not None
        except re.error:
            return None  # a Java-only construct: cannot decide
        return None if matched else f"{attribute} is {shown}, which does not match the policy's pattern {pattern!r}"
    if kind == "range":
        number = _number(value)
        low, high = _number(limitation.get("minValue")), _number(limitation.get("maxValue"))
        if number is None:
            return f"{attribute} is {shown}, but the policy wants a number"
        if low is not None and number < low:
            return f"{attribute} is {shown}, below the policy's minimum {_show(limitation.get('minValue'))}"
        if high is not None and number > high:
            return f"{attribute} is {shown}, above the policy's maximum {_show(limitation.get('maxValue'))}"
        return None
    return None  # unlimited: any value


def _values_at(cluster: Mapping[str, Any], attribute: str) -> Iterator[tuple[PathParts, Any]]:
    """(path inside the cluster, value) for each value the attribute names; nothing when it is absent."""
    head, _, rest = attribute.partition(".")
    if head in _MAP_ATTRIBUTES and rest:
        section = cluster.get(head)
        if isinstance(section, Mapping) and rest in section:
            yield (head, rest), section[rest]
        return
    if head == "cluster_log_conf" and rest in ("type", "path"):
        conf = cluster.get("cluster_log_conf")
        if isinstance(conf, Mapping):
            for kind, target in conf.items():
                if rest == "type":
                    yield ("cluster_log_conf", kind), str(kind).upper()
                elif isinstance(target, Mapping) and "destination" in target:
                    yield ("cluster_log_conf", kind, "destination"), target["destination"]
        return
    yield from _walk(cluster, attribute.split("."), ())


def _walk(node: Any, parts: list[str], path: PathParts) -> Iterator[tuple[PathParts, Any]]:
    if not parts:
        yield path, node
        return
    part, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if part == "*":
            for i, item in enumerate(node):
                yield from _walk(item, rest, (*path, i))
        elif part.isdigit() and int(part) < len(node):
            yield from _walk(node[int(part)], rest, (*path, int(part)))
    elif isinstance(node, Mapping) and part in node and node[part] is not None:
        yield from _walk(node[part], rest, (*path, part))


def _is_alias(value: Any, attribute: str) -> bool:
    """Runtime aliases such as ``auto:latest-lts-ml`` name a version only the workspace knows."""
    return attribute == "spark_version" and isinstance(value, str) and value.startswith("auto:")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _same(value: Any, expected: Any) -> bool:
    """Policy values compare as their string forms; numbers also compare numerically (``4`` is ``"4.0"``)."""
    if _text(value) == _text(expected):
        return True
    a, b = _number(value), _number(expected)
    return a is not None and b is not None and a == b


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else _text(value)
