"""The cluster-policy evaluator, one table per limitation type: (definition entry, cluster, expected violations)."""

from __future__ import annotations

from typing import Any

import pytest

from dab_guard.workspace.policy import PolicyError, effective_definition, evaluate, parse_definition

Case = tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, tuple[Any, ...]]]]


def _run(attribute: str, limitation: dict[str, Any], cluster: dict[str, Any], cluster_type: str | None = None) -> list[tuple[str, tuple[Any, ...]]]:
    return [(v.attribute, v.path) for v in evaluate({attribute: limitation}, cluster, cluster_type)]


FIXED: list[Case] = [
    ("runtime_engine", {"type": "fixed", "value": "PHOTON"}, {"runtime_engine": "PHOTON"}, []),
    ("runtime_engine", {"type": "fixed", "value": "PHOTON"}, {}, []),  # the policy fills it in
    ("runtime_engine", {"type": "fixed", "value": "PHOTON"}, {"runtime_engine": "STANDARD"}, [("runtime_engine", ("runtime_engine",))]),
    ("num_workers", {"type": "fixed", "value": 0}, {"num_workers": "0"}, []),  # numbers compare as numbers
    ("enable_elastic_disk", {"type": "fixed", "value": True}, {"enable_elastic_disk": "true"}, []),
    ("spark_conf.spark.master", {"type": "fixed", "value": "local[*]"}, {"spark_conf": {"spark.master": "local[4]"}}, [("spark_conf.spark.master", ("spark_conf", "spark.master"))]),
    ("spark_version", {"type": "fixed", "value": "auto:latest-lts-ml"}, {"spark_version": "15.4.x-cpu-ml-scala2.12"}, []),  # only the workspace knows
]

FORBIDDEN: list[Case] = [
    ("instance_pool_id", {"type": "forbidden", "hidden": True}, {}, []),
    ("instance_pool_id", {"type": "forbidden"}, {"instance_pool_id": "pool-1"}, [("instance_pool_id", ("instance_pool_id",))]),
    ("custom_tags.owner", {"type": "forbidden"}, {"custom_tags": {"team": "ml"}}, []),
]

ALLOWLIST: list[Case] = [
    ("data_security_mode", {"type": "allowlist", "values": ["SINGLE_USER"]}, {"data_security_mode": "SINGLE_USER"}, []),
    ("data_security_mode", {"type": "allowlist", "values": ["SINGLE_USER"]}, {"data_security_mode": "USER_ISOLATION"}, [("data_security_mode", ("data_security_mode",))]),
    ("data_security_mode", {"type": "allowlist", "values": ["SINGLE_USER"]}, {}, [("data_security_mode", ())]),  # limiting: required
    ("data_security_mode", {"type": "allowlist", "values": ["SINGLE_USER"], "isOptional": True}, {}, []),
    ("node_type_id", {"type": "allowlist", "values": ["i3.xlarge"], "defaultValue": "i3.xlarge"}, {}, [("node_type_id", ())]),
    ("node_type_id", {"type": "allowlist", "values": ["i3.xlarge"], "defaultValue": "i3.xlarge"}, {"apply_policy_default_values": True}, []),
    ("spark_version", {"type": "allowlist", "values": ["auto:latest-ml", "16.4.x-cpu-ml-scala2.12"]}, {"spark_version": "15.4.x-cpu-ml-scala2.12"}, []),
]

BLOCKLIST: list[Case] = [
    ("node_type_id", {"type": "blocklist", "values": ["p3.16xlarge"]}, {"node_type_id": "i3.xlarge"}, []),
    ("node_type_id", {"type": "blocklist", "values": ["p3.16xlarge"]}, {"node_type_id": "p3.16xlarge"}, [("node_type_id", ("node_type_id",))]),
    ("node_type_id", {"type": "blocklist", "values": ["p3.16xlarge"], "isOptional": True}, {}, []),
]

REGEX: list[Case] = [
    ("spark_version", {"type": "regex", "pattern": r"1[6-9]\.[0-9]+\.x-cpu-ml.*"}, {"spark_version": "16.4.x-cpu-ml-scala2.12"}, []),
    ("spark_version", {"type": "regex", "pattern": r"1[6-9]\.[0-9]+\.x-cpu-ml.*"}, {"spark_version": "15.4.x-cpu-ml-scala2.12"}, [("spark_version", ("spark_version",))]),
    # Anchored at both ends: a match inside the value is not enough.
    ("spark_version", {"type": "regex", "pattern": r"cpu-ml"}, {"spark_version": "16.4.x-cpu-ml-scala2.12"}, [("spark_version", ("spark_version",))]),
    ("custom_tags.team", {"type": "regex", "pattern": "[a-z]+"}, {"custom_tags": {"team": "ML"}}, [("custom_tags.team", ("custom_tags", "team"))]),
    ("init_scripts.*.workspace.destination", {"type": "regex", "pattern": "/Workspace/Shared/.*"},
     {"init_scripts": [{"workspace": {"destination": "/Workspace/Shared/a.sh"}}, {"workspace": {"destination": "/Users/me/b.sh"}}]},
     [("init_scripts.*.workspace.destination", ("init_scripts", 1, "workspace", "destination"))]),
    ("init_scripts.*.workspace.destination", {"type": "regex", "pattern": "/Workspace/Shared/.*"}, {}, []),  # no list item, nothing to break
    ("cluster_name", {"type": "regex", "pattern": "(unclosed"}, {"cluster_name": "x"}, []),  # undecidable pattern: silent
]

RANGE: list[Case] = [
    ("autoscale.max_workers", {"type": "range", "maxValue": 10}, {"autoscale": {"min_workers": 1, "max_workers": 8}}, []),
    ("autoscale.max_workers", {"type": "range", "maxValue": 10}, {"autoscale": {"min_workers": 1, "max_workers": 20}}, [("autoscale.max_workers", ("autoscale", "max_workers"))]),
    ("autotermination_minutes", {"type": "range", "minValue": 10, "maxValue": 120}, {"autotermination_minutes": 5}, [("autotermination_minutes", ("autotermination_minutes",))]),
    ("autotermination_minutes", {"type": "range", "minValue": 10}, {"autotermination_minutes": "60"}, []),
    ("autotermination_minutes", {"type": "range", "maxValue": 120}, {"autotermination_minutes": "soon"}, [("autotermination_minutes", ("autotermination_minutes",))]),
    # A single-node cluster sizes itself with num_workers: a limit on autoscale does not make autoscale required.
    ("autoscale.max_workers", {"type": "range", "maxValue": 10}, {"num_workers": 0}, []),
    ("num_workers", {"type": "range", "maxValue": 4}, {}, [("num_workers", ())]),
]

POOLS_AND_DRIVER: list[Case] = [
    # A pool supplies the node types, and the API copies the workers' node type and pool to the driver when the
    # cluster leaves them out: the policy's rule on the missing attribute is the workspace's to decide.
    ("node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"instance_pool_id": "pool-1"}, []),
    ("driver_node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"node_type_id": "i3.xlarge"}, []),
    ("driver_node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"instance_pool_id": "pool-1"}, []),
    ("driver_instance_pool_id", {"type": "regex", "pattern": "pool-.*"}, {"instance_pool_id": "pool-1"}, []),
    # Nothing stands in for them: still required.
    ("node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"num_workers": 1}, [("node_type_id", ())]),
    ("driver_node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"num_workers": 1}, [("driver_node_type_id", ())]),
    # A value the cluster does set is judged as usual.
    ("driver_node_type_id", {"type": "allowlist", "values": ["i3.xlarge"]}, {"node_type_id": "i3.xlarge", "driver_node_type_id": "p3.2xlarge"},
     [("driver_node_type_id", ("driver_node_type_id",))]),
]

UNLIMITED: list[Case] = [
    ("custom_tags.cost_center", {"type": "unlimited"}, {"custom_tags": {"cost_center": "42"}}, []),
    ("custom_tags.cost_center", {"type": "unlimited"}, {"custom_tags": {}}, [("custom_tags.cost_center", ())]),  # required
    ("autotermination_minutes", {"type": "unlimited", "defaultValue": 60, "isOptional": True}, {}, []),
]

HIDDEN_AND_VIRTUAL: list[Case] = [
    # hidden hides the field in the UI; it relaxes nothing.
    ("enable_local_disk_encryption", {"type": "fixed", "value": True, "hidden": True}, {"enable_local_disk_encryption": False},
     [("enable_local_disk_encryption", ("enable_local_disk_encryption",))]),
    ("cluster_type", {"type": "fixed", "value": "all-purpose"}, {}, [("cluster_type", ())]),  # evaluated with cluster_type "job"
    ("dbus_per_hour", {"type": "range", "maxValue": 1}, {"num_workers": 100}, []),  # only the workspace can compute it
    ("cluster_log_conf.type", {"type": "fixed", "value": "VOLUMES"}, {"cluster_log_conf": {"dbfs": {"destination": "dbfs:/logs"}}}, [("cluster_log_conf.type", ("cluster_log_conf", "dbfs"))]),
    ("spark_version", {"type": "allowlist", "values": ["16.4.x-cpu-ml-scala2.12"]}, {"spark_version": "${var.runtime}"}, []),  # unknown offline
    ("spark_version", {"type": "no-such-type"}, {"spark_version": "x"}, []),
]


@pytest.mark.parametrize(
    ("attribute", "limitation", "cluster", "expected"),
    [*FIXED, *FORBIDDEN, *ALLOWLIST, *BLOCKLIST, *REGEX, *RANGE, *POOLS_AND_DRIVER, *UNLIMITED, *HIDDEN_AND_VIRTUAL],
)
def test_limitation(attribute: str, limitation: dict[str, Any], cluster: dict[str, Any], expected: list[tuple[str, tuple[Any, ...]]]) -> None:
    cluster_type = "job" if attribute == "cluster_type" else None
    assert _run(attribute, limitation, cluster, cluster_type) == expected


def test_messages_say_what_the_policy_wants() -> None:
    definition = {
        "spark_version": {"type": "allowlist", "values": ["16.4.x-cpu-ml-scala2.12"]},
        "runtime_engine": {"type": "fixed", "value": "PHOTON", "hidden": True},
        "autoscale.max_workers": {"type": "range", "maxValue": 10},
        "node_type_id": {"type": "unlimited", "defaultValue": "i3.xlarge"},
    }
    cluster = {"spark_version": "15.4.x-cpu-ml-scala2.12", "runtime_engine": "STANDARD", "autoscale": {"max_workers": 50}}
    messages = [v.message for v in evaluate(definition, cluster)]
    assert messages == [
        'spark_version is "15.4.x-cpu-ml-scala2.12", but the policy allows only "16.4.x-cpu-ml-scala2.12"',
        'runtime_engine is "STANDARD", but the policy fixes it to "PHOTON" (remove it: the policy sets and hides it)',
        "autoscale.max_workers is 50, above the policy's maximum 10",
        'the policy requires node_type_id (its default "i3.xlarge" applies only with apply_policy_default_values: true)',
    ]


def test_family_definition_with_overrides() -> None:
    family = '{"spark_version": {"type": "fixed", "value": "16.4.x-scala2.12"}, "num_workers": {"type": "range", "maxValue": 2}}'
    overrides = {"spark_version": {"type": "allowlist", "values": ["16.4.x-cpu-ml-scala2.12"]}}
    definition = effective_definition(None, family, overrides)
    cluster = {"spark_version": "16.4.x-cpu-ml-scala2.12", "num_workers": 5}
    assert [v.attribute for v in evaluate(definition, cluster)] == ["num_workers"]
    # Without a family the policy's own definition applies.
    assert effective_definition('{"num_workers": {"type": "fixed", "value": 1}}') == {"num_workers": {"type": "fixed", "value": 1}}


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        42,
        "[" * 100_000 + "]" * 100_000,  # deeper than Python's recursion limit: json raises RecursionError
        '{"spark_version": {"type": "fixed", "value": ' + "[" * 500 + "]" * 500 + "}}",  # parses, but no limitation nests so
        {"x": {"type": "allowlist", "values": [[[[[[[[[["a"]]]]]]]]]]}},
    ],
    ids=["text", "array", "number", "recursion", "deep-value-text", "deep-value-object"],
)
def test_bad_definitions_are_refused(raw: Any) -> None:
    with pytest.raises(PolicyError):
        parse_definition(raw)

