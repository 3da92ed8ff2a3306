"""Generate dab-guard's JSON Schema (draft 2020-12) of the Databricks bundle configuration.

The resources (jobs, pipelines, clusters, model serving endpoints, schemas, volumes, experiments, registered models,
apps, ...) come from the typed model of the ``databricks-bundles`` package: its dataclasses are walked with
``typing.get_type_hints``, enums become ``enum`` lists and the ``VariableOr[...]`` / ``VariableOrList`` /
``VariableOrDict`` wrappers become "or a ``${...}`` reference". The bundle-level sections that package does not
model (bundle, include, variables, targets, workspace, artifacts, sync, permissions, presets, run_as, experimental,
python, scripts) are written out below, after what the Databricks CLI accepts.

How values are typed follows the CLI's loader, which is more lenient than a strict JSON Schema:
- a string field also takes a number or a boolean (the CLI turns them into text);
- an integer, number or boolean field also takes a string the CLI can parse (``"3"``, ``"yes"``);
- every field that is not a string takes a string holding a ``${...}`` reference (objects, lists and maps too).

Re-run it after upgrading ``databricks-bundles`` (it needs the ``dev`` extra), from the repository root::

    .venv/bin/python scripts/generate_schema.py            # rewrites dab_guard/schema/bundle.schema.json
    .venv/bin/python scripts/generate_schema.py --check    # exit 1 when the committed file is out of date

then run ``tests/test_schema.py``: its conformance test names every property or enum value that the CLI's own
schema does not have; the package is often ahead of the CLI, so add those to ``NOT_IN_CLI`` below.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "dab_guard" / "schema" / "bundle.schema.json"

# --- scalar types, as the CLI's loader accepts them ------------------------------------------------------------

# A string that holds a ${...} reference: allowed wherever the value is not a string.
REFERENCE = r"\$\{[^{}]+\}"
STRING: dict[str, Any] = {"type": ["string", "number", "boolean"]}
INTEGER: dict[str, Any] = {"type": ["integer", "string"], "pattern": rf"^[-+]?[0-9]+$|{REFERENCE}"}
NUMBER: dict[str, Any] = {
    "type": ["number", "string"],
    "pattern": rf"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$|{REFERENCE}",
}
# The spellings the CLI reads as a boolean (go-yaml's YAML 1.1 words).
BOOLEAN: dict[str, Any] = {
    "type": ["boolean", "string"],
    "pattern": rf"^(true|false|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$|{REFERENCE}",
}
ANY: dict[str, Any] = {}

# --- where the package and the CLI differ ----------------------------------------------------------------------

# What the package models but the Databricks CLI (bundle schema of CLI v0.2xx / 1.13) does not accept: leaving them
# out keeps a typo from hiding behind a field the CLI would reject. "Class.field", "Enum.VALUE" or "resources.kind".
NOT_IN_CLI: frozenset[str] = frozenset(
    {
        # resource kinds
        "resources.cluster_policies",
        "resources.features",
        "resources.mcp_services",
        "resources.model_provider_services",
        "resources.model_services",
        # fields
        "Alert.custom_template_format",
        "AiRuntimeTask.priority_class",
        "AiRuntimeTask.unity_catalog_image_path",
        "AlertTask.parameters",
        "AmazonBedrockConfig.uc_service_credential_name",
        "Cluster.libraries",
        "ComputeSpec.provisioned_capacity_id",
        "Continuous.maintenance_window",
        "ContinuousTriggerConfiguration.maintenance_window",
        "Subscription.attachment",
        "Job.duration_target",
        "Job.environment_variables",
        "JobEmailNotifications.on_maintenance_complete",
        "JobEmailNotifications.on_maintenance_start",
        "JobRun.duration_target",
        "JobRunTrigger.on_file_change",
        "Environment.project_environment",
        "Transformer.avro_options",
        "Transformer.protobuf_options",
        "ConnectorOptions.rabbitmq_options",
        "NodeTypeFlexibility.aws_context_id",
        "Pipeline.parent_path",
        "RunAs.group_name",
        "SqlWarehouse.statement_timeout",
        "Task.environment_variables_key",
        "TaskEmailNotifications.on_maintenance_complete",
        "TaskEmailNotifications.on_maintenance_start",
        "WebhookNotifications.on_maintenance_complete",
        "WebhookNotifications.on_maintenance_start",
        # enum values
        "AppResourceUcSecurableUcSecurableType.MODEL_SERVICE",
        "Privilege.EXTERNAL_USE_LOCATION",
        "ComputeSpecAcceleratorType.GPU_8xB300",
        "HardwareAcceleratorType.GPU_1xH100",
        "HardwareAcceleratorType.GPU_8xB300",
        "TransformerFormat.AVRO",
        "TransformerFormat.PROTOBUF",
        "CreateWarehouseRequestWarehouseType.REALTIME",
    }
)

# Fields the package requires but the CLI does not (a jar task may name its jar without a main class).
NOT_REQUIRED: frozenset[str] = frozenset({"SparkJarTask.main_class_name"})

# Deprecated fields the CLI still accepts and the package no longer models: accepted as they are, unchecked.
# The per-task-type parameters a job run used to take; both places that start a run still accept them.
_RUN_PARAMS = (
    "dbt_commands",
    "jar_params",
    "notebook_params",
    "python_named_params",
    "python_params",
    "spark_submit_params",
    "sql_params",
)
CLI_DEPRECATED: dict[str, tuple[str, ...]] = {
    "JobRun": _RUN_PARAMS,
    "RunJobTask": _RUN_PARAMS,
    "Task": ("dbt_cloud_task",),
    "Pipeline": ("trigger",),
    "PipelineLibrary": ("whl",),
    "IngestionGatewayPipelineDefinition": ("connection_id",),
    "IngestionPipelineDefinitionWorkdayReportParameters": ("incremental", "report_parameters"),
    "OutlookOptions": ("folder_filter", "sender_filter", "subject_filter"),
}

# Resource kinds the CLI accepts that the package does not model yet: their names are checked, their bodies are not.
CLI_ONLY_RESOURCES: tuple[str, ...] = (
    "postgres_branches",
    "postgres_catalogs",
    "postgres_databases",
    "postgres_endpoints",
    "postgres_projects",
    "postgres_roles",
    "postgres_synced_tables",
)


# --- schema building blocks ------------------------------------------------------------------------------------


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A mapping with known keys (or a ${...} reference to one)."""
    out: dict[str, Any] = {
        "type": ["object", "string"],
        "pattern": REFERENCE,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = sorted(required)
    return out


def seq(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": ["array", "string"], "pattern": REFERENCE, "items": items}


def mapping(values: dict[str, Any]) -> dict[str, Any]:
    """A mapping of names chosen by the user to values."""
    return {"type": ["object", "string"], "pattern": REFERENCE, "additionalProperties": values}


def choice(values: list[str]) -> dict[str, Any]:
    return {"anyOf": [{"enum": values}, {"type": "string", "pattern": REFERENCE}]}


# --- the package's typed model ---------------------------------------------------------------------------------


class ModelWalker:
    """Turns the package's dataclasses and enums into ``$defs`` entries named ``<package>.<Class>``."""

    def __init__(self) -> None:
        from databricks.bundles.core._variable import Variable

        self.variable = Variable
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[type, str] = {}
        self.used_exclusions: set[str] = set()

    def name_of(self, cls: type) -> str:
        name = self.names.get(cls)
        if name is None:
            # databricks.bundles.jobs._models.task -> jobs.Task
            package = cls.__module__.split(".")[2]
            name = f"{package}.{cls.__name__}"
            self.names[cls] = name
        return name

    def schema_for(self, hint: Any) -> dict[str, Any]:
        origin = typing.get_origin(hint)
        if origin is typing.Union or origin is types.UnionType:
            options = [
                arg
                for arg in typing.get_args(hint)
                if arg is not type(None) and arg is not self.variable and typing.get_origin(arg) is not self.variable
            ]
            if len(options) != 1:
                raise TypeError(f"cannot express {hint!r}")
            return self.schema_for(options[0])
        if origin is list:
            (item,) = typing.get_args(hint)
            return seq(self.schema_for(item))
        if origin is dict:
            key, value = typing.get_args(hint)
            if key is not str:
                raise TypeError(f"mapping keys must be strings: {hint!r}")
            return mapping(self.schema_for(value))
        if hint is typing.Any:
            return ANY
        if hint is str:
            return STRING
        if hint is bool:
            return BOOLEAN
        if hint is int:
            return INTEGER
        if hint is float:
            return NUMBER
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return ref(self.enum_def(hint))
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return ref(self.class_def(hint))
        raise TypeError(f"unsupported type in the model: {hint!r}")

    def enum_def(self, cls: type[enum.Enum]) -> str:
        name = self.name_of(cls)
        if name not in self.defs:
            values = []
            for member in cls:
                if f"{cls.__name__}.{member.value}" in NOT_IN_CLI:
                    self.used_exclusions.add(f"{cls.__name__}.{member.value}")
                    continue
                values.append(str(member.value))
            self.defs[name] = choice(values)
        return name

    def class_def(self, cls: type) -> str:
        name = self.name_of(cls)
        if name in self.defs:
            return name
        self.defs[name] = {}  # placeholder: the model is recursive (a for_each_task holds a task)
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in dataclasses.fields(cls):
            key = f"{cls.__name__}.{field.name}"
            if key in NOT_IN_CLI:
                self.used_exclusions.add(key)
                continue
            properties[field.name] = self.schema_for(hints[field.name])
            no_default = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            if no_default:
                if key in NOT_REQUIRED:
                    self.used_exclusions.add(key)
                else:
                    required.append(field.name)
        for extra in CLI_DEPRECATED.get(cls.__name__, ()):
            properties[extra] = {"deprecated": True}
            self.used_exclusions.add(f"{cls.__name__}.{extra}")
        self.defs[name] = obj(properties, tuple(required))
        return name


def resource_sections(walker: ModelWalker) -> dict[str, Any]:
    from databricks.bundles.core._resource_type import _ResourceType

    kinds: dict[str, Any] = {}
    for resource_type in _ResourceType.all():
        kind = resource_type.plural_name
        if f"resources.{kind}" in NOT_IN_CLI:
            walker.used_exclusions.add(f"resources.{kind}")
            continue
        kinds[kind] = mapping(ref(walker.class_def(resource_type.resource_type)))
    for kind in CLI_ONLY_RESOURCES:
        kinds[kind] = mapping({"type": ["object", "string"], "pattern": REFERENCE})
    return kinds


def permission_levels(walker: ModelWalker) -> list[str]:
    """Every permission level the package's resources know: what a bundle-wide ``permissions`` entry may use.

    Secret scope ACLs have their own words (READ, WRITE, MANAGE), which bundle-wide permissions do not take.
    """
    levels: set[str] = set()
    for name, schema in walker.defs.items():
        if name.endswith("PermissionLevel") and "anyOf" in schema and not name.startswith("secret_scopes."):
            levels.update(schema["anyOf"][0]["enum"])
    return sorted(levels)


# --- the bundle-level sections the package does not model ------------------------------------------------------


def bundle_defs(walker: ModelWalker, resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    strings = seq(STRING)
    string_map = mapping(STRING)
    defs: dict[str, dict[str, Any]] = {
        "bundle.Bundle": obj(
            {
                "name": STRING,
                "uuid": STRING,
                "databricks_cli_version": STRING,
                "cluster_id": STRING,
                "compute_id": STRING,
                "engine": choice(["terraform", "direct"]),
                "git": ref("bundle.Git"),
                "deployment": obj(
                    {
                        "fail_on_active_runs": BOOLEAN,
                        "lock": obj({"enabled": BOOLEAN, "force": BOOLEAN}),
                    }
                ),
            },
            required=("name",),
        ),
        "bundle.Git": obj({"branch": STRING, "origin_url": STRING}),
        "bundle.Workspace": obj(
            {
                key: BOOLEAN if key in ("azure_use_msi", "experimental_is_unified_host") else STRING
                for key in (
                    "host",
                    "profile",
                    "auth_type",
                    "account_id",
                    "workspace_id",
                    "client_id",
                    "google_service_account",
                    "azure_client_id",
                    "azure_environment",
                    "azure_login_app_id",
                    "azure_tenant_id",
                    "azure_use_msi",
                    "azure_workspace_resource_id",
                    "experimental_is_unified_host",
                    "root_path",
                    "file_path",
                    "artifact_path",
                    "resource_path",
                    "state_path",
                )
            }
        ),
        "bundle.Artifact": obj(
            {
                "type": STRING,
                "build": STRING,
                "executable": STRING,
                "path": STRING,
                "dynamic_version": BOOLEAN,
                "files": seq(obj({"source": STRING}, required=("source",))),
            }
        ),
        "bundle.Sync": obj({"include": strings, "exclude": strings, "paths": strings}),
        "bundle.Permission": obj(
            {
                "level": choice(permission_levels(walker)),
                "user_name": STRING,
                "group_name": STRING,
                "service_principal_name": STRING,
            },
            required=("level",),
        ),
        "bundle.Presets": obj(
            {
                "name_prefix": STRING,
                "tags": string_map,
                "trigger_pause_status": STRING,
                "jobs_max_concurrent_runs": INTEGER,
                "pipelines_development": BOOLEAN,
                "source_linked_deployment": BOOLEAN,
                "artifacts_dynamic_version": BOOLEAN,
            }
        ),
        "bundle.Python": obj({"venv_path": STRING, "resources": strings, "mutators": strings}),
        "bundle.Experimental": obj(
            {
                "python": ref("bundle.Python"),
                "pydabs": {**obj({"enabled": BOOLEAN}), "deprecated": True},
                "scripts": string_map,
                "python_wheel_wrapper": BOOLEAN,
                "use_legacy_run_as": BOOLEAN,
                "skip_artifact_cleanup": BOOLEAN,
                "skip_name_prefix_for_schema": BOOLEAN,
                "immutable_folder": BOOLEAN,
                "record_deployment_history": BOOLEAN,
            }
        ),
        "bundle.Script": obj({"content": STRING, "env": string_map}, required=("content",)),
        "bundle.Lookup": obj(
            {
                key: STRING
                for key in (
                    "alert",
                    "cluster",
                    "cluster_policy",
                    "dashboard",
                    "instance_pool",
                    "job",
                    "metastore",
                    "notification_destination",
                    "pipeline",
                    "query",
                    "service_principal",
                    "warehouse",
                )
            }
        ),
        "bundle.Variable": {
            "type": "object",
            # `value` is what the CLI assigns; written in the configuration, it is the variable's value.
            "properties": {"default": ANY, "description": STRING, "lookup": ref("bundle.Lookup"), "type": STRING, "value": ANY},
            "additionalProperties": False,
        },
        "bundle.Resources": {
            "type": ["object", "string"],
            "pattern": REFERENCE,
            "properties": resources,
            "additionalProperties": False,
        },
    }
    # A target's variable: any value (shorthand for its default; a complex variable's mapping is written as it is) or
    # the variable's own mapping (`default`, `lookup`...). The CLI takes either, so any value is allowed here.
    defs["bundle.TargetVariable"] = ANY
    defs["bundle.Target"] = obj(
        {
            "default": BOOLEAN,
            "mode": STRING,
            "cluster_id": STRING,
            "compute_id": STRING,
            "bundle": ref("bundle.Bundle"),
            "workspace": ref("bundle.Workspace"),
            "artifacts": mapping(ref("bundle.Artifact")),
            "resources": ref("bundle.Resources"),
            "sync": ref("bundle.Sync"),
            "permissions": seq(ref("bundle.Permission")),
            "presets": ref("bundle.Presets"),
            "run_as": ref(walker.class_def(_job_run_as())),
            "variables": {"type": "object", "additionalProperties": ref("bundle.TargetVariable")},
            "git": ref("bundle.Git"),
        }
    )
    return defs


def _job_run_as() -> type:
    from databricks.bundles.jobs import JobRunAs

    return JobRunAs


def top_level(walker: ModelWalker) -> dict[str, Any]:
    return {
        "bundle": ref("bundle.Bundle"),
        "include": seq(STRING),
        "variables": {"type": "object", "additionalProperties": ref("bundle.Variable")},
        "workspace": ref("bundle.Workspace"),
        "artifacts": mapping(ref("bundle.Artifact")),
        "resources": ref("bundle.Resources"),
        "sync": ref("bundle.Sync"),
        "permissions": seq(ref("bundle.Permission")),
        "presets": ref("bundle.Presets"),
        "run_as": ref(walker.class_def(_job_run_as())),
        "experimental": ref("bundle.Experimental"),
        "python": ref("bundle.Python"),
        "scripts": mapping(ref("bundle.Script")),
        "targets": mapping(ref("bundle.Target")),
        "environments": {**mapping(ref("bundle.Target")), "deprecated": True},
    }


def build_schema() -> dict[str, Any]:
    from databricks.bundles.version import __version__

    walker = ModelWalker()
    resources = resource_sections(walker)
    properties = top_level(walker)
    defs = bundle_defs(walker, resources)
    defs.update(walker.defs)
    unused = NOT_IN_CLI | NOT_REQUIRED | {f"{c}.{f}" for c, fs in CLI_DEPRECATED.items() for f in fs}
    unused -= walker.used_exclusions
    if unused:
        # A stale entry would hide nothing; say so, so the lists stay true to the package.
        print(f"note: entries that match nothing in databricks-bundles {__version__}: {sorted(unused)}", file=sys.stderr)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            f"Generated by scripts/generate_schema.py from databricks-bundles {__version__}; do not edit. "
            "Strings with a ${...} reference are accepted wherever the value is not a string."
        ),
        "title": "Databricks Asset Bundle configuration (dab-guard)",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def render(schema: dict[str, Any]) -> str:
    """Deterministic text: one line per top-level property and per definition, compact inside."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    lines = ["{"]
    head = [(k, v) for k, v in schema.items() if k not in ("properties", "$defs")]
    for key, value in head:
        lines.append(f" {compact(key)}: {compact(value)},")
    lines.append(' "properties": {')
    props = sorted(schema["properties"].items())
    lines.extend(f"  {compact(k)}: {compact(v)}{',' if i < len(props) - 1 else ''}" for i, (k, v) in enumerate(props))
    lines.append(" },")
    lines.append(' "$defs": {')
    defs = sorted(schema["$defs"].items())
    lines.extend(f"  {compact(k)}: {compact(v)}{',' if i < len(defs) - 1 else ''}" for i, (k, v) in enumerate(defs))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write the schema (default: {OUTPUT})")
    parser.add_argument("--check", action="store_true", help="only compare with the file; exit 1 when it differs")
    args = parser.parse_args(argv)
    try:
        text = render(build_schema())
    except ImportError:
        print("databricks-bundles is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/generate_schema.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
