"""Rules that need the workspace (DG301-DG307): they run with ``dab-guard validate --online``.

Offline they are silent, except DG306, which also evaluates cluster policies whose definitions the configuration
maps to local JSON files (``[tool.dab-guard.cluster-policies]``). Workspace facts come from
``self.settings.online`` (:class:`dab_guard.workspace.session.OnlineSession`); a fact that could not be fetched is
None and the rule says nothing about it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dab_guard.bundle.clusters import ClusterKind, ClusterSpec, TaskRef, iter_clusters, iter_job_tasks, iter_jobs
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.bundle.runtime import RuntimeKey
from dab_guard.config import ConfigError, Settings
from dab_guard.finding import Report, Severity
from dab_guard.jobs.scripts import Mention, ScriptFacts, task_script_facts
from dab_guard.rules.base import Rule
from dab_guard.rules.clusters import (
    AUTO_MODE,
    DEDICATED_MODES,
    OLDEST_SUPPORTED_MAJOR,
    PYDANTIC_V1_ML_RELEASE,
    AccessMode,
    Runtime,
    _wrong_mode_reason,
    cluster_runs_model_code,
)
from dab_guard.workspace.facts import MISSING, WorkspaceFacts
from dab_guard.workspace.lookups import lookup_spec
from dab_guard.workspace.policy import PolicyError, effective_definition, evaluate, parse_definition
from dab_guard.workspace.session import OnlineSession

_VAR_RE = re.compile(r"^\$\{var\.([A-Za-z0-9_-]+)\}$")


class WorkspaceRule(Rule):
    """A rule that reads workspace facts (only with ``--online``)."""

    def facts(self, target: Target) -> WorkspaceFacts | None:
        online = self.settings.online
        return online.facts_for(target) if isinstance(online, OnlineSession) else None


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def _closest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    return f"; closest: {', '.join(close)}" if close else ""


def _first_at(target: Target, seen: set[tuple[object, str]], report: Report) -> bool:
    """Whether ``report`` is the first with its message at its place: clusters that share one YAML anchor or one
    complex variable are written once, so they are reported there once."""
    key = (target.locate(report.path)[0] or report.path, report.message)
    if key in seen:
        return False
    seen.add(key)
    return True


# --- DG301 --------------------------------------------------------------------------------------------------------


class SparkVersionAvailable(WorkspaceRule):
    """
    ## What it does
    With `--online`, checks that each cluster's `spark_version` is one the workspace offers
    (`databricks clusters spark-versions`), and suggests the closest keys it does offer.

    ## Why it matters
    A well-formed key can still be unknown to the workspace (a retired release, another cloud's flavour such as
    `-aarch64-` on Azure). The job fails only when its cluster is created: `Invalid spark version`.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 13.1.x-cpu-ml-scala2.12   # retired: no longer offered
    ```

    ## Fix
    Use one of the keys the message suggests, or pick one from `databricks clusters spark-versions`.
    """

    id = "DG301"
    name = "spark-version-available"
    severity = Severity.ERROR
    summary = "spark_version the workspace does not offer (--online)"
    source = "Guide, 'Always validate the spark version first' (databricks clusters spark-versions)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[object, str]] = set()
        for cluster in iter_clusters(target):
            version = cluster.spark_version if cluster.kind is not ClusterKind.PIPELINE else None
            if version is None or RuntimeKey.parse(version).family != "dbr":
                continue  # custom images and other families are not in the list
            facts = self.facts(target)
            offered = facts.spark_versions() if facts is not None else None
            if facts is None or offered is None:
                return
            keys = [v["key"] for v in offered]
            if version not in keys:
                report = Report(
                    f"spark_version '{version}' is not offered by {facts.connection.host}{_closest(version, keys)}",
                    cluster.at("spark_version"),
                )
                if _first_at(target, seen, report):
                    yield report


# --- DG302 --------------------------------------------------------------------------------------------------------


class NodeTypeAvailable(WorkspaceRule):
    """
    ## What it does
    With `--online`, checks that `node_type_id` and `driver_node_type_id` name node types the workspace offers
    (`databricks clusters list-node-types`), with the closest offered types.

    ## Why it matters
    Node types differ per cloud and region (`i3.xlarge` exists on AWS only). An unknown type is refused when the
    cluster is created, after the deploy succeeded.

    ## Example
    ```yaml
    new_cluster:
      node_type_id: Standard_DS3_v2   # an Azure type, in an AWS workspace
    ```

    ## Fix
    Use a node type of the workspace's cloud, or an instance pool.
    """

    id = "DG302"
    name = "node-type-available"
    severity = Severity.ERROR
    summary = "node_type_id / driver_node_type_id the workspace does not offer (--online)"
    source = "Guide, 'Standard Job Cluster Configuration' (node_type_id)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[object, str]] = set()
        for cluster in iter_clusters(target):
            for key in ("node_type_id", "driver_node_type_id"):
                node_type = _known(cluster.get(key))
                if node_type is None:
                    continue
                facts = self.facts(target)
                offered = facts.node_types() if facts is not None else None
                if facts is None or offered is None:
                    return
                ids = [n["id"] for n in offered if n.get("id")]
                if node_type in ids:
                    continue
                report = Report(f"{key} '{node_type}' is not offered by {facts.connection.host}{_closest(node_type, ids)}", cluster.at(key))
                if _first_at(target, seen, report):
                    yield report


# --- DG303 --------------------------------------------------------------------------------------------------------


class PoolExists(WorkspaceRule):
    """
    ## What it does
    With `--online`, checks that `instance_pool_id` and `driver_instance_pool_id` name pools of the workspace. Warns
    when the cluster names a node type other than the pool's, or a runtime the pool does not preload.

    ## Why it matters
    A missing pool fails the cluster at start. A runtime the pool does not preload gives up most of what a pool is
    for: the start stays at minutes instead of seconds.

    ## Example
    ```yaml
    new_cluster:
      instance_pool_id: 0101-120000-abcd-pool-xyz   # deleted pool
    ```

    ## Fix
    Use an existing pool (a `lookup: {instance_pool: NAME}` variable keeps the id right per workspace) and the runtime
    it preloads.
    """

    id = "DG303"
    name = "pool-exists"
    severity = Severity.ERROR
    summary = "instance pools that do not exist, or that do not match the cluster (--online)"
    source = "Guide, 'Standard Job Cluster Configuration' (instance pools cut start time to about 30 s)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[object, str]] = set()
        for cluster in iter_clusters(target):
            for key, node_key in (("instance_pool_id", "node_type_id"), ("driver_instance_pool_id", "driver_node_type_id")):
                pool_id = _known(cluster.get(key))
                if pool_id is None:
                    continue
                facts = self.facts(target)
                pools = facts.instance_pools() if facts is not None else None
                if facts is None or pools is None:
                    return
                pool = next((p for p in pools if p.get("id") == pool_id), None)
                if pool is None:
                    reports = [Report(f"{key} '{pool_id}': no such instance pool in {facts.connection.host}", cluster.at(key))]
                else:
                    reports = list(self._mismatch(cluster, pool, node_key, worker=key == "instance_pool_id"))
                yield from (report for report in reports if _first_at(target, seen, report))

    @staticmethod
    def _mismatch(cluster: ClusterSpec, pool: dict[str, Any], node_key: str, worker: bool) -> Iterator[Report]:
        name = pool.get("name") or pool.get("id")
        node_type = _known(cluster.get(node_key))
        if node_type and pool.get("node_type_id") and node_type != pool["node_type_id"]:
            yield Report(
                f"{node_key} '{node_type}' differs from pool '{name}', whose nodes are {pool['node_type_id']}: the "
                "cluster gets the pool's node type",
                cluster.at(node_key),
                Severity.WARNING,
            )
        preloaded = pool.get("preloaded_spark_versions") or []
        version = cluster.spark_version
        if worker and preloaded and version and version not in preloaded:
            yield Report(
                f"pool '{name}' preloads {', '.join(preloaded)}, not {version}: the cluster cannot use the preloaded "
                "runtime and starts slowly",
                cluster.at("spark_version"),
                Severity.WARNING,
            )


# --- DG304 --------------------------------------------------------------------------------------------------------


def declared_schemas(target: Target) -> set[tuple[str, str]]:
    """(catalog, schema) of ``resources.schemas`` the bundle itself creates."""
    out: set[tuple[str, str]] = set()
    resources = target.config.get("resources")
    schemas = resources.get("schemas") if isinstance(resources, YMap) else None
    for spec in schemas.values() if isinstance(schemas, YMap) else ():
        if isinstance(spec, YMap):
            catalog, name = _known(spec.get("catalog_name")), _known(spec.get("name"))
            if catalog and name:
                out.add((catalog, name))
    return out


def model_destinations(target: Target) -> Iterator[tuple[str, str, str, Mention]]:
    """(catalog, schema, model name, where) for every Unity Catalog model the target's jobs register or create."""
    for job_path, job in iter_jobs(target):
        for ref in iter_job_tasks(job_path, job):
            facts = task_script_facts(target, ref)
            for mention in facts.registrations if facts else []:
                catalog, schema, _ = mention.value.split(".")
                yield catalog, schema, mention.value, mention
    resources = target.config.get("resources")
    models = resources.get("registered_models") if isinstance(resources, YMap) else None
    for key, spec in models.items() if isinstance(models, YMap) else ():
        if isinstance(spec, YMap):
            model_catalog, model_schema = _known(spec.get("catalog_name")), _known(spec.get("schema_name"))
            if model_catalog and model_schema:
                path = ("resources", "registered_models", key, "schema_name")
                full = f"{model_catalog}.{model_schema}"
                yield model_catalog, model_schema, f"{full}.{spec.get('name', key)}", Mention(full, None, path)


def missing_schemas(target: Target, facts: WorkspaceFacts) -> list[tuple[str, str, bool, Mention]]:
    """(catalog, schema, catalog exists, first mention) for each destination schema the workspace lacks."""
    declared = declared_schemas(target)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, bool, Mention]] = []
    for catalog, schema, _, mention in model_destinations(target):
        if (catalog, schema) in declared or (catalog, schema) in seen:
            continue
        seen.add((catalog, schema))
        catalog_ok = facts.catalog_exists(catalog)
        if catalog_ok is None:
            continue
        if not catalog_ok:
            out.append((catalog, schema, False, mention))
            continue
        schema_ok = facts.schema_exists(f"{catalog}.{schema}")
        if schema_ok is False:
            out.append((catalog, schema, True, mention))
    return out


def _report_at(message: str, mention: Mention, severity: Severity | None = None) -> Report:
    message += mention.origin  # where the job passes the value the code builds the name from
    if mention.loc is not None:
        return Report(message, mention.yaml_path, severity, at=mention.loc)
    return Report(message, mention.yaml_path, severity)


class UcSchemaExists(WorkspaceRule):
    """
    ## What it does
    With `--online`, checks that the Unity Catalog catalog and schema each job registers models to exist: names
    passed as `registered_model_name=`, to `mlflow.register_model` or `databricks.agents.deploy` in the task's
    script or notebook (with the values the job passes it: parameters, widgets, environment variables), and
    `resources.registered_models`. Schemas the bundle declares under `resources.schemas`
    count as existing.

    ## Why it matters
    Registration comes at the end of a run: a missing schema fails it with `RESOURCE_DOES_NOT_EXIST` after the
    cluster start and the training, 5 to 10 minutes in.

    ## Example
    ```python
    mlflow.pyfunc.log_model(..., registered_model_name="main.agents_dev.support_bot")  # no schema agents_dev
    ```

    ## Fix
    Create it (`dab-guard preflight --create-missing-schemas`, or `databricks schemas create agents_dev main`), or
    declare it in the bundle under `resources.schemas`.
    """

    id = "DG304"
    name = "uc-schema-exists"
    severity = Severity.ERROR
    summary = "Unity Catalog catalog or schema a job registers models to does not exist (--online)"
    source = "Guide, 'Verify Catalog and Schema Exist Before Registration' (6) and RESOURCE_DOES_NOT_EXIST."

    def check(self, target: Target) -> Iterator[Report]:
        facts = self.facts(target)
        if facts is None:
            return
        for catalog, schema, catalog_ok, mention in missing_schemas(target, facts):
            if not catalog_ok:
                message = f"catalog '{catalog}' does not exist in {facts.connection.host} (models go to {catalog}.{schema}); create it or use another catalog"
            else:
                message = (
                    f"schema '{catalog}.{schema}' does not exist in {facts.connection.host}: registration fails with "
                    "RESOURCE_DOES_NOT_EXIST; run `dab-guard preflight --create-missing-schemas` or declare it under resources.schemas"
                )
            yield _report_at(message, mention)


# --- DG305 --------------------------------------------------------------------------------------------------------


class EndpointType(WorkspaceRule):
    """
    ## What it does
    With `--online`, finds each serving endpoint the bundle deploys to (a `model_serving_endpoints` resource, the
    `endpoint_name` of an `agents.deploy(...)` call in a job's script, or the name `agents.deploy` derives from the
    model name: `agents_<catalog>-<schema>-<model>`) and, when it already exists, compares its type with the new
    model's. The existing endpoint is an agent endpoint when its `task` starts with `agent/`; the new model is an
    agent when the script logs a `ChatAgent`, `ResponsesAgent` or `ChatModel` (or a model with `task="agent/..."`).

    ## Why it matters
    An endpoint's type is fixed when it is created. Deploying the other type fails at the very end of the job with
    `Agent endpoint cannot be updated to serve non-agent models or vice-versa`.

    ## Example
    ```python
    mlflow.pyfunc.log_model(python_model=Forecaster(), registered_model_name=MODEL)   # not an agent
    agents.deploy(MODEL, version, endpoint_name="support-bot")   # support-bot serves an agent today
    ```

    ## Fix
    Delete the existing endpoint (`databricks serving-endpoints delete NAME`) and redeploy, or deploy to a new
    endpoint name.
    """

    id = "DG305"
    name = "endpoint-type"
    severity = Severity.ERROR
    summary = "serving endpoint that exists with the other type (agent vs non-agent) (--online)"
    source = "Guide, 'Endpoint Type Locking (databricks.agents.deploy())'."

    def check(self, target: Target) -> Iterator[Report]:
        if self.facts(target) is None:
            return  # offline: reading every script for nothing would cost more than the whole offline run
        scripts: list[ScriptFacts] = []
        for job_path, job in iter_jobs(target):
            for ref in iter_job_tasks(job_path, job):
                found = task_script_facts(target, ref)
                if found is not None:
                    scripts.append(found)
        agent_models: dict[str, bool] = {}
        for script in scripts:
            if script.logs_agent is not None:
                for mention in script.registrations:
                    agent_models.setdefault(mention.value, script.logs_agent)
        wanted: list[tuple[str, bool, Mention]] = []
        for script in scripts:
            for mention, model in script.deploys:
                is_agent = script.logs_agent if script.logs_agent is not None else agent_models.get(model or "")
                if is_agent is not None:
                    wanted.append((mention.value, is_agent, mention))
        for name, is_agent, mention in self._resource_endpoints(target, agent_models):
            wanted.append((name, is_agent, mention))
        seen: set[tuple[str, object]] = set()
        for name, is_agent, mention in wanted:
            place = mention.loc or mention.yaml_path  # one script run by several tasks is one finding
            if (name, place) in seen:
                continue
            seen.add((name, place))
            facts = self.facts(target)
            existing = facts.serving_endpoint(name) if facts is not None else None
            if facts is None or existing is None or existing == MISSING:
                continue
            task = existing.get("task")
            existing_agent = isinstance(task, str) and task.startswith("agent/")
            if existing_agent == is_agent:
                continue
            old = f"an agent endpoint (task {task})" if existing_agent else f"a non-agent endpoint (task {task or 'none'})"
            new = "an agent" if is_agent else "a model that is not an agent"
            yield _report_at(
                f"serving endpoint '{name}' already exists in {facts.connection.host} as {old}, and this deploys {new} to it: "
                "it fails with 'Agent endpoint cannot be updated to serve non-agent models or vice-versa'; delete the "
                "endpoint and redeploy",
                mention,
            )

    @staticmethod
    def _resource_endpoints(target: Target, agent_models: dict[str, bool]) -> Iterator[tuple[str, bool, Mention]]:
        resources = target.config.get("resources")
        endpoints = resources.get("model_serving_endpoints") if isinstance(resources, YMap) else None
        for key, spec in endpoints.items() if isinstance(endpoints, YMap) else ():
            name = _known(spec.get("name")) if isinstance(spec, YMap) else None
            config = spec.get("config") if isinstance(spec, YMap) else None
            if name is None or not isinstance(config, YMap):
                continue
            for section, field_name in (("served_entities", "entity_name"), ("served_models", "model_name")):
                entities = config.get(section)
                for entity in entities if isinstance(entities, YSeq) else ():
                    model = _known(entity.get(field_name)) if isinstance(entity, YMap) else None
                    if model is not None and model in agent_models:
                        yield name, agent_models[model], Mention(name, None, ("resources", "model_serving_endpoints", key, "name"))
                        break


# --- DG306 --------------------------------------------------------------------------------------------------------

_CLUSTER_TYPES = {
    ClusterKind.JOB_CLUSTER: "job",
    ClusterKind.TASK_CLUSTER: "job",
    ClusterKind.ALL_PURPOSE: "all-purpose",
    ClusterKind.PIPELINE: "dlt",
}


class ClusterPolicy(WorkspaceRule):
    """
    ## What it does
    Evaluates each cluster against the cluster policy its `policy_id` names: `fixed`, `forbidden`, `allowlist`,
    `blocklist`, `regex`, `range`, `unlimited` limitations, `isOptional` and `defaultValue`, on attribute paths such
    as `spark_version`, `autoscale.max_workers`, `spark_conf.spark.master` or `custom_tags.team`. A policy built from
    a policy family is the family's definition with the policy's overrides. An attribute that any type but `fixed`
    and `forbidden` limits is required: leaving it out is reported unless the policy marks it `isOptional`, or gives
    it a `defaultValue` and the cluster sets `apply_policy_default_values: true` (without that flag the workspace
    applies only `fixed` values).

    Definitions come from the workspace (`--online`), or offline from local JSON files named in the configuration,
    so a platform team can enforce its policies in CI without a workspace login:

    ```toml
    [tool.dab-guard.cluster-policies]
    "ml-jobs-policy" = "policies/ml-jobs.json"        # policy id or name -> definition as the UI shows it
    ```

    A cluster whose `policy_id` is a `lookup: {cluster_policy: NAME}` variable is matched offline by that name.

    ## Why it matters
    The CLI passes `policy_id` through without checking. A cluster that breaks its policy is refused when the job
    starts it (`Validation failed for ...`), after the deploy succeeded.

    ## Example
    ```yaml
    new_cluster:
      policy_id: ${var.ml_policy}
      spark_version: 15.4.x-cpu-ml-scala2.12   # the policy allows 16.4.x-cpu-ml-scala2.12 only
    ```

    ## Fix
    Change the value as the message says, or leave the attribute out where the policy fixes it.
    """

    id = "DG306"
    name = "cluster-policy"
    severity = Severity.ERROR
    summary = "clusters that break their cluster policy (workspace or local policy definitions)"
    source = "Cluster policy definitions; the CLI passes policy_id through unchecked."

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._local: dict[str, dict[str, dict[str, Any]]] = {}

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            found = self._definition(target, cluster)
            if found is None:
                continue
            label, definition = found
            for violation in evaluate(definition, cluster.spec, _CLUSTER_TYPES.get(cluster.kind)):
                path = cluster.at(*violation.path) if violation.path else cluster.at("policy_id")
                yield Report(f"{cluster.describe()} breaks cluster policy '{label}': {violation.message}", path)

    def _definition(self, target: Target, cluster: ClusterSpec) -> tuple[str, dict[str, dict[str, Any]]] | None:
        raw = cluster.get("policy_id")
        local = self.settings.cluster_policies
        policy_id = _known(raw)
        if policy_id is None:
            # Offline, a lookup variable still names the policy: match that name against the local definitions.
            match = _VAR_RE.match(raw.strip()) if isinstance(raw, str) else None
            spec, _ = lookup_spec(target, match.group(1)) if match else (None, "")
            name = _known(spec.get("cluster_policy")) if spec is not None else None
            return (name, self._load_local(target, name)) if name and name in local else None
        if policy_id in local:
            return policy_id, self._load_local(target, policy_id)
        facts = self.facts(target)
        policies = facts.cluster_policies() if facts is not None else None
        policy = next((p for p in policies or [] if p.get("id") == policy_id), None)
        if facts is None or policy is None:
            return None
        label = policy.get("name") or policy_id
        if label in local:
            return label, self._load_local(target, label)
        family_id = policy.get("policy_family_id")
        family = facts.policy_family(family_id) if family_id else None
        if family_id and family is None and not policy.get("definition"):
            return None
        try:
            definition = effective_definition(
                policy.get("definition"), family.get("definition") if family else None, policy.get("policy_family_definition_overrides")
            )
        except PolicyError:
            return None
        return label, definition

    def _load_local(self, target: Target, key: str) -> dict[str, dict[str, Any]]:
        if key in self._local:
            return self._local[key]
        raw_path = Path(self.settings.cluster_policies[key]).expanduser()
        base = Path(self.settings.source).parent if self.settings.source else target.bundle.root_dir
        path = raw_path if raw_path.is_absolute() else base / raw_path
        where = f"cluster-policies.\"{key}\" ({path})"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
        except RecursionError:
            raise ConfigError(f"{where}: nested too deeply to be a policy definition") from None
        except ValueError as exc:
            raise ConfigError(f"{where}: not valid JSON: {exc}") from None
        try:
            # The file holds the definition object; a whole policy as the API returns it is accepted too.
            if isinstance(data, dict) and isinstance(data.get("definition"), str):
                definition = parse_definition(data["definition"], where)
            else:
                definition = parse_definition(data, where)
        except PolicyError as exc:
            raise ConfigError(str(exc)) from None
        self._local[key] = definition
        return definition


# --- DG307 --------------------------------------------------------------------------------------------------------


class ExistingCluster(WorkspaceRule):
    """
    ## What it does
    With `--online`, looks up each `existing_cluster_id` a job task runs on and applies DG101 (access mode) and
    DG103 (runtime) to the running cluster: a task that logs or registers models, or an ML runtime, needs dedicated
    (`SINGLE_USER`) access; a runtime below 14.x, 15.4 LTS ML with `databricks-langchain`, and model code on a
    non-ML runtime are reported as DG103 reports them. An id that names no cluster is an error too.

    ## Why it matters
    Nothing in the bundle shows how an existing cluster is configured; the job fails on it exactly as it would on a
    badly configured job cluster.

    ## Example
    ```yaml
    tasks:
      - task_key: register
        existing_cluster_id: 0101-120000-shared1   # a shared (USER_ISOLATION) cluster
        spark_python_task: {python_file: ../src/log_model.py}
    ```

    ## Fix
    Run the task on a job cluster with `data_security_mode: SINGLE_USER` and an ML runtime, or point it at a
    dedicated cluster.
    """

    id = "DG307"
    name = "existing-cluster"
    severity = Severity.ERROR
    summary = "existing_cluster_id clusters whose access mode or runtime breaks DG101/DG103 (--online)"
    source = "Guide, 'If a compatible cluster is already running, use existing_cluster_id' with constraints 4 and the runtime matrix."

    def check(self, target: Target) -> Iterator[Report]:
        by_cluster: dict[str, list[TaskRef]] = {}
        for job_path, job in iter_jobs(target):
            for ref in iter_job_tasks(job_path, job):
                cluster_id = _known(ref.task.get("existing_cluster_id"))
                if cluster_id is not None:
                    by_cluster.setdefault(cluster_id, []).append(ref)
        for cluster_id, refs in by_cluster.items():
            facts = self.facts(target)
            found = facts.cluster(cluster_id) if facts is not None else None
            if facts is None or found is None:
                continue
            # A target's cluster_id puts every task on one cluster from one line: one finding there, not one per task.
            places = list({target.locate(p)[0] or p: p for p in ((*ref.path, "existing_cluster_id") for ref in refs)}.values())
            if found == MISSING:
                for place in places:
                    yield Report(f"existing_cluster_id '{cluster_id}': no such cluster in {facts.connection.host}", place)
                continue
            spec = YMap()
            for key in ("spark_version", "data_security_mode"):
                if found.get(key):
                    spec[key] = found[key]
            cluster = ClusterSpec(("resources",), spec, ClusterKind.ALL_PURPOSE, found.get("name") or cluster_id, cluster_id, tuple(refs))
            problems = list(self._problems(target, cluster))
            for place in places:
                for message, severity in problems:
                    yield Report(f"existing cluster '{cluster.owner}' ({cluster_id}) {message}", place, severity)

    @staticmethod
    def _problems(target: Target, cluster: ClusterSpec) -> Iterator[tuple[str, Severity | None]]:
        mode = cluster.get("data_security_mode")
        why = AccessMode._why_dedicated(target, cluster) or _registers_models(target, cluster)
        if why is not None:
            if mode is None:
                yield f"{why} but has no access mode: Unity Catalog calls fail with PERMISSION_DENIED; use a SINGLE_USER cluster", None
            elif mode == AUTO_MODE:
                yield f"{why} and leaves the access mode to Databricks (DATA_SECURITY_MODE_AUTO); model registration needs SINGLE_USER", Severity.INFO
            elif mode not in DEDICATED_MODES:
                reason = _wrong_mode_reason(mode)
                if reason is not None:
                    yield f"{why}, but its data_security_mode {mode} is {reason}: use a SINGLE_USER cluster", None
        runtime = cluster.runtime
        if runtime is None or runtime.family != "dbr" or runtime.major is None:
            return
        if runtime.major < OLDEST_SUPPORTED_MAJOR:
            yield f"runs Databricks Runtime {runtime.describe()}, older than 14.x; use 16.4 LTS or later", None
            return
        if runtime.ml and runtime.version == PYDANTIC_V1_ML_RELEASE:
            clash = Runtime._pydantic_clash(target, cluster)
            if clash is not None:
                yield (
                    f"runs 15.4 LTS ML (pydantic v1, compiled) and task '{clash[0].key}' installs {clash[1].requirement}, "
                    "which needs pydantic v2: its imports fail; use 16.4 LTS ML",
                    None,
                )
        if not runtime.ml:
            use = cluster_runs_model_code(target, cluster)
            if use is not None:
                yield f"runs {runtime.describe()}, not Databricks Runtime ML, but task '{use.task.key}' {use.evidence}", Severity.WARNING


def _registers_models(target: Target, cluster: ClusterSpec) -> str | None:
    """Why the cluster needs dedicated access when a task's script registers Unity Catalog models."""
    for ref in cluster.tasks:
        facts = task_script_facts(target, ref)
        if facts is not None and facts.registrations:
            return f"runs task '{ref.key}', which registers {facts.registrations[0].value} to Unity Catalog"
    return None
