"""Rules about classic compute: access mode, runtime keys and versions, pools, single node, serverless (DG101-DG107).

Every rule reads clusters through :func:`dab_guard.bundle.clusters.iter_clusters` and stays silent on values that are
unknown offline (``${...}``). A ``policy_id`` may supply any field the cluster leaves out, so a missing field on a
cluster with a policy is reported only where the guide makes it mandatory (DG101, as a warning that names the policy).

Two facts come from the code a task runs, not from its YAML: whether it logs or registers models (DG101, DG103) and
which packages it installs (DG103). :func:`task_model_code` and :func:`task_installed_packages` are where the
Python analysis of ``dab_guard.python`` adds what it finds in entry scripts and notebooks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from dab_guard.bundle.clusters import ClusterKind, ClusterSpec, TaskRef, iter_clusters, iter_job_tasks, iter_jobs
from dab_guard.bundle.libraries import PipPackage, task_pip_packages
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.bundle.runtime import SCALA_213_ONLY_FROM, RuntimeKey
from dab_guard.edits import (
    NewEntry,
    add_entries,
    add_to_value,
    mapping_key,
    remove_entry,
    replace_string,
    sibling_key,
    written_value,
)
from dab_guard.finding import Fix, Report, Severity
from dab_guard.jobs.program import task_notebook_packages, task_uses_models
from dab_guard.rules.base import Rule

# --- facts about the code a task runs ------------------------------------------------------------------------------

# Packages whose presence means the task works with agents and Unity Catalog models. Plain `mlflow` or `langchain`
# are not on the list: data jobs install them for tracking or text splitting too.
AGENT_PACKAGES = {
    "databricks-agents": "to deploy agents from Unity Catalog models",
    "databricks-langchain": "to build Databricks agents",
    "langgraph": "to build agent graphs",
    "openai-agents": "to build agents",
}
UC_MODEL_PACKAGES = frozenset({"databricks-agents"})


@dataclass(frozen=True)
class ModelCodeUse:
    """Why dab-guard believes a task logs or registers models, or runs agents."""

    task: TaskRef
    evidence: str  # completes "task 'x' ...": "installs databricks-agents (pypi library) to deploy agents ..."
    registers_to_uc: bool  # registers models to (or deploys models from) Unity Catalog
    logs_models: bool = False
    runs_agents: bool = False


def task_installed_packages(target: Target, ref: TaskRef) -> list[PipPackage]:
    """The packages a task installs.

    The task's ``libraries``, then what its own code installs (``%pip install`` cells of its notebook, ``pip
    install`` through ``subprocess``), read by ``dab_guard.python``.
    """
    return [*task_pip_packages(target, ref), *task_notebook_packages(target, ref)]


def task_model_code(target: Target, ref: TaskRef) -> ModelCodeUse | None:
    """Whether a task logs or registers models, or runs agents, and why dab-guard thinks so.

    First the code the task runs (``dab_guard.python``): its entry point (``spark_python_task.python_file``,
    ``notebook_task.notebook_path``), ``%run`` notebooks and imported bundle modules calling
    ``mlflow.<flavor>.log_model``, ``mlflow.register_model``, passing ``registered_model_name``, setting the registry
    to ``databricks-uc``, calling ``databricks.agents.deploy`` or importing agent libraries; then the packages it
    installs.
    """
    code = task_uses_models(target, ref.path[:3], ref.task)
    if code.any:
        return ModelCodeUse(ref, code.evidence, code.registers_to_uc, code.logs_models, code.runs_agents)
    for package in task_installed_packages(target, ref):
        why = AGENT_PACKAGES.get(package.name)
        if why is not None:
            return ModelCodeUse(
                ref,
                f"installs {package.requirement} ({package.where}) {why}",
                registers_to_uc=package.name in UC_MODEL_PACKAGES,
                runs_agents=True,
            )
    return None


def cluster_runs_model_code(target: Target, cluster: ClusterSpec) -> ModelCodeUse | None:
    """The first task on ``cluster`` that logs or registers models, or runs agents (None when none is known to)."""
    for ref in cluster.tasks:
        use = task_model_code(target, ref)
        if use is not None:
            return use
    return None


def _user_text(use: ModelCodeUse) -> str:
    return f"task '{use.task.key}' {use.evidence}"


# --- DG101 --------------------------------------------------------------------------------------------------------

DEDICATED_MODES = frozenset({"SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED"})
AUTO_MODE = "DATA_SECURITY_MODE_AUTO"
_WRONG_MODE_REASONS = {
    "NONE": "no isolation, and no Unity Catalog at all",
    "USER_ISOLATION": "standard (shared) access, which Databricks Runtime ML and model registration do not support",
    "DATA_SECURITY_MODE_STANDARD": "standard (shared) access, which Databricks Runtime ML and model registration do not support",
}


def _wrong_mode_reason(mode: str) -> str | None:
    if mode in _WRONG_MODE_REASONS:
        return _WRONG_MODE_REASONS[mode]
    if mode.startswith("LEGACY_"):
        return "a legacy mode without Unity Catalog (deprecated since Databricks Runtime 15.0)"
    return None


class AccessMode(Rule):
    """
    ## What it does
    Checks `data_security_mode` on every classic cluster: job clusters, a task's `new_cluster` (also inside
    `for_each_task`) and `resources.clusters`. A cluster that runs Databricks Runtime ML (an `-ml-` runtime key or
    `use_ml_runtime: true`), or runs a task that registers models to Unity Catalog, must use dedicated access:
    `SINGLE_USER` (the same as `DATA_SECURITY_MODE_DEDICATED`). Leaving the mode out, or choosing `NONE`, a
    `LEGACY_*` mode, `USER_ISOLATION` or `DATA_SECURITY_MODE_STANDARD`, is an error; `DATA_SECURITY_MODE_AUTO` is
    reported as info. Any other classic cluster without `data_security_mode` gets a warning.

    A cluster with a `policy_id` may get its mode from the policy. For an ML cluster that leaves the mode out, the
    finding is then a warning that names the policy; for other clusters it is not reported.

    ## Why it matters
    Without dedicated access, `mlflow.register_model()` fails only when the job runs, after the cluster has started,
    with `PERMISSION_DENIED: Access denied to clusters that don't have Unity Catalog enabled`.

    ## Example
    ```yaml
    job_clusters:
      - job_cluster_key: ml
        new_cluster:
          spark_version: 16.4.x-cpu-ml-scala2.12
          node_type_id: i3.xlarge
          num_workers: 2          # no data_security_mode
    ```

    ## Fix
    Add `data_security_mode: SINGLE_USER` to the cluster (and `single_user_name` if the job should not run as its
    owner).

    `dab-guard fix` adds `data_security_mode: SINGLE_USER` as a new line of a block-style cluster that needs
    dedicated access and has no mode and no policy (safe). Replacing a mode that is written (`USER_ISOLATION`,
    `DATA_SECURITY_MODE_AUTO`, ...) or adding one beside a cluster policy is only suggested (`--unsafe-fixes`).
    Clusters that do not need dedicated access get no fix: shared access may be what they are for.
    """

    id = "DG101"
    name = "access-mode"
    severity = Severity.ERROR
    summary = "ML and model-registering clusters without dedicated (SINGLE_USER) access mode"
    source = "Guide, 'Unity Catalog Requires SINGLE_USER Access Mode' (4) and the pre-job checklist."
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            if cluster.kind is ClusterKind.PIPELINE:
                continue  # pipelines take their access mode from the pipeline, not from a cluster field
            mode = cluster.get("data_security_mode")
            if is_unknown(mode) or (mode is not None and not isinstance(mode, str)):
                continue
            why = self._why_dedicated(target, cluster)
            if why is None:
                if mode is None and cluster.policy_id is None:
                    yield Report(
                        f"{cluster.describe()} has no data_security_mode: its access mode is then left to defaults that "
                        "may have no Unity Catalog; set SINGLE_USER (or USER_ISOLATION for a shared cluster)",
                        cluster.at("data_security_mode"),
                        Severity.WARNING,
                    )
                continue
            if mode is None:
                if cluster.policy_id is not None:
                    policy = (
                        "its cluster policy"
                        if is_unknown(cluster.policy_id)
                        else f"cluster policy '{cluster.policy_id}'"
                    )
                    yield Report(
                        f"{cluster.describe()} {why} but sets no data_security_mode; unless {policy} fixes it to "
                        "SINGLE_USER, Unity Catalog calls fail with PERMISSION_DENIED: set data_security_mode: SINGLE_USER",
                        cluster.at("data_security_mode"),
                        Severity.WARNING,
                        fix=_add_dedicated_mode(target, cluster, safe=False),
                    )
                else:
                    yield Report(
                        f"{cluster.describe()} {why} but sets no data_security_mode: Unity Catalog calls such as "
                        "mlflow.register_model fail with PERMISSION_DENIED; set data_security_mode: SINGLE_USER",
                        cluster.at("data_security_mode"),
                        fix=_add_dedicated_mode(target, cluster, safe=True),
                    )
            elif mode == AUTO_MODE:
                yield Report(
                    f"{cluster.describe()} {why} and leaves the access mode to Databricks (DATA_SECURITY_MODE_AUTO); "
                    "Unity Catalog model registration needs dedicated access: say SINGLE_USER",
                    cluster.at("data_security_mode"),
                    Severity.INFO,
                    fix=_replace_mode(target, cluster),
                )
            elif mode not in DEDICATED_MODES:
                reason = _wrong_mode_reason(mode)
                if reason is not None:
                    yield Report(
                        f"data_security_mode {mode} is {reason}; {cluster.describe()} {why}: use SINGLE_USER",
                        cluster.at("data_security_mode"),
                        fix=_replace_mode(target, cluster),
                    )

    @staticmethod
    def _why_dedicated(target: Target, cluster: ClusterSpec) -> str | None:
        """Why the cluster needs dedicated access ("runs 16.4 ML LTS"), or None."""
        if cluster.get("use_ml_runtime") is True:
            return "runs Databricks Runtime ML (use_ml_runtime: true)"
        runtime = cluster.runtime
        if runtime is not None and runtime.ml:
            return f"runs {runtime.describe()}"
        use = cluster_runs_model_code(target, cluster)
        if use is not None and use.registers_to_uc:
            return f"runs task '{use.task.key}', which {use.evidence}"
        return None


def _add_dedicated_mode(target: Target, cluster: ClusterSpec, safe: bool) -> Fix | None:
    """``data_security_mode: SINGLE_USER`` as a new line of the mapping that makes the cluster ML (the one holding
    ``spark_version`` or ``use_ml_runtime``, so a target's override gets it, not every target), block style only."""
    reason = "use_ml_runtime" if cluster.get("use_ml_runtime") is True else "spark_version" if cluster.runtime and cluster.runtime.ml else None
    where = cluster.spec.key_locs.get(reason) if reason else None
    where = where or mapping_key(cluster.spec)
    change = add_entries(target.bundle, where, [("data_security_mode", "SINGLE_USER")], flow=False) if where else None
    if change is None:
        return None
    return Fix("add data_security_mode: SINGLE_USER", (change.edit,), safe=safe, anchors=change.anchors)


def _replace_mode(target: Target, cluster: ClusterSpec) -> Fix | None:
    """The written access mode replaced by SINGLE_USER: the user chose it, so this is only suggested."""
    written = written_value(target, cluster.spec, "data_security_mode")
    edit = replace_string(target.bundle, written.loc, "SINGLE_USER") if written else None
    if written is None or edit is None:
        return None
    return Fix("data_security_mode: SINGLE_USER", (edit,), safe=False, anchors=(written.anchor,))


# --- DG102 --------------------------------------------------------------------------------------------------------


class SparkVersion(Rule):
    """
    ## What it does
    Checks that `spark_version` is a Databricks Runtime key: `16.4.x-cpu-ml-scala2.12`, `15.4.x-gpu-ml-scala2.12`,
    `17.3.x-scala2.13`, `16.4.x-photon-scala2.12`, `14.3.x-aarch64-scala2.12`. It reports `-ml-` without `-cpu-` or
    `-gpu-`, Scala 2.12 on Databricks Runtime 17 or later (which ship Scala 2.13 only), a missing Scala suffix or
    `.x`, display-name words such as `LTS`, and parts out of order, and gives the corrected key where there is one.
    Custom images (`custom:...`), `client.*` and `dlt:*` keys are accepted as they are.

    ## Why it matters
    An invalid key is only rejected when the job starts (`Invalid spark version 16.4.x-ml-scala2.12`), after the
    deploy has succeeded.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 16.4.x-ml-scala2.12   # missing -cpu-
    ```

    ## Fix
    Use the key the message gives (`16.4.x-cpu-ml-scala2.12`), or pick one from
    `databricks clusters spark-versions | grep cpu-ml`.

    `dab-guard fix` writes the corrected key where the value is written (a target override, a variable's value),
    keeping its quotes. It is safe when the key keeps every part the user wrote and only gains `-cpu-` before
    `-ml-`, moves to Scala 2.13 on Databricks Runtime 17 or later, is lower-cased or has its parts reordered; any
    other correction (a missing Scala version, display-name words, `16.4` for `16.4.x`) is only suggested.
    """

    id = "DG102"
    name = "spark-version"
    severity = Severity.ERROR
    summary = "spark_version values that are not Databricks Runtime keys"
    source = (
        "Guide, 'Standard Job Cluster Configuration' (-cpu- in the key) and troubleshooting 'Invalid spark version'."
    )
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            if cluster.kind is ClusterKind.PIPELINE:
                continue
            runtime = cluster.runtime
            if runtime is None or runtime.valid:
                continue
            yield Report(spark_version_message(runtime), cluster.at("spark_version"), fix=_corrected_key(target, cluster, runtime))


def _corrected_key(target: Target, cluster: ClusterSpec, runtime: RuntimeKey) -> Fix | None:
    if runtime.corrected is None:
        return None
    written = written_value(target, cluster.spec, "spark_version")
    edit = replace_string(target.bundle, written.loc, runtime.corrected) if written else None
    if written is None or edit is None:
        return None
    return Fix(f"spark_version: {runtime.corrected}", (edit,), safe=_keeps_every_part(runtime), anchors=(written.anchor,))


def _keeps_every_part(runtime: RuntimeKey) -> bool:
    """Whether the correction only adds ``cpu`` to an ML key, moves Scala to 2.13 where only 2.13 exists, lower-cases
    or reorders: nothing the user wrote is dropped and nothing is guessed."""
    corrected = runtime.corrected
    tokens = [t for t in re.split(r"[\s_\-]+", runtime.text.strip().lower()) if t]
    if corrected is None or not tokens or runtime.scala is None or runtime.channel is not None:
        return False
    fixed = corrected.split("-")
    if tokens[0] != fixed[0]:
        return False  # the release itself changed (16.4 -> 16.4.x)
    expected = [t for t in tokens if not t.startswith("scala")] + [f"scala{runtime.scala}"]
    if runtime.ml and not (runtime.cpu or runtime.gpu):
        expected.append("cpu")
    if runtime.major is not None and runtime.major >= SCALA_213_ONLY_FROM:
        expected = [t if not t.startswith("scala") else "scala2.13" for t in expected]
    return sorted(expected) == sorted(fixed)


def spark_version_message(runtime: RuntimeKey) -> str:
    text = runtime.text
    if runtime.family == "unrecognised":
        return (
            f"'{text}' is not a runtime key (keys look like 16.4.x-cpu-ml-scala2.12; "
            "`databricks clusters spark-versions` lists the workspace's)"
        )
    problems = list(runtime.problems)
    reason = "it reads like a display name" if len(problems) > 2 else "; ".join(problems)
    message = f"'{text}' is not a runtime key: {reason}"
    if runtime.corrected:
        return f"{message}; use {runtime.corrected}"
    if runtime.cpu and not runtime.ml and runtime.version is not None:
        release = f"{runtime.major}.{runtime.minor}.x"
        scala = runtime.scala or "2.12"
        return f"{message}; use {release}-cpu-ml-scala{scala} (ML) or {release}-scala{scala}"
    return message


# --- DG103 --------------------------------------------------------------------------------------------------------

OLDEST_SUPPORTED_MAJOR = 14
PYDANTIC_V1_ML_RELEASE = (15, 4)
PYDANTIC_V2_PACKAGES = frozenset({"databricks-langchain"})


class Runtime(Rule):
    """
    ## What it does
    Checks the Databricks Runtime release of each cluster: below 14.x is an error; Databricks Runtime 15.4 LTS ML
    with `databricks-langchain` installed (task `libraries`, a requirements file) is an error; a non-ML runtime for a
    job that logs models or runs agents is a warning; a release that is not LTS (14.3, 15.4, 16.4, 17.3 and 18.x
    are) is info.

    ## Why it matters
    The job-runner constraints hold for Databricks Runtime 14.x and later. 15.4 LTS ML ships pydantic v1 as a
    compiled build; installing `databricks-langchain` upgrades pydantic to v2 and the imports then fail with
    `cannot import name 'model_validator' from 'pydantic'`. Standard runtimes lack the ML libraries that model
    logging expects. A non-LTS runtime leaves support within months.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 15.4.x-cpu-ml-scala2.12
    # and a task on it:
    libraries:
      - pypi: {package: databricks-langchain}
    ```

    ## Fix
    Use 16.4 LTS ML (`16.4.x-cpu-ml-scala2.12`) for model logging and agent jobs, and an LTS release elsewhere.
    """

    id = "DG103"
    name = "runtime"
    severity = Severity.ERROR
    summary = "runtimes below 14.x, 15.4 ML with databricks-langchain, non-ML runtimes for model jobs, non-LTS"
    source = (
        "Guide, compatibility (Databricks Runtime 14.x+) and 'Runtime Compatibility Matrix' (15.4 LTS ML, pydantic v1)."
    )

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            if cluster.kind is ClusterKind.PIPELINE:
                continue
            runtime = cluster.runtime
            if runtime is None or runtime.family != "dbr" or runtime.major is None:
                continue
            where = cluster.at("spark_version")
            if runtime.major < OLDEST_SUPPORTED_MAJOR:
                yield Report(
                    f"Databricks Runtime {runtime.describe()} is older than 14.x, the oldest release the job-runner "
                    "constraints hold for; use 16.4 LTS or later",
                    where,
                )
                continue
            ml = cluster.runs_ml_runtime
            if ml and runtime.version == PYDANTIC_V1_ML_RELEASE:
                clash = self._pydantic_clash(target, cluster)
                if clash is not None:
                    yield Report(
                        f"Databricks Runtime 15.4 LTS ML ships pydantic v1 as a compiled build, and task "
                        f"'{clash[0].key}' installs {clash[1].requirement} ({clash[1].where}), which needs pydantic v2: "
                        "its imports fail; use 16.4.x-cpu-ml-scala2.12",
                        where,
                    )
            if ml is False:
                use = cluster_runs_model_code(target, cluster)
                if use is not None:
                    yield Report(
                        f"{cluster.describe()} runs {runtime.describe()}, not Databricks Runtime ML, but "
                        f"{_user_text(use)}; use an ML runtime such as 16.4.x-cpu-ml-scala2.12",
                        where,
                        Severity.WARNING,
                    )
            if runtime.valid and runtime.lts is False:
                # A snapshot of 18.x is no 18.x release: name the build, not a version the message calls LTS.
                build = {"snapshot": "a snapshot build", "rc": "a release candidate"}.get(runtime.channel or "")
                what = f"'{runtime.text}' is {build}," if build else f"Databricks Runtime {runtime.describe()} is"
                yield Report(
                    f"{what} not a long-term-support release (LTS: 14.3, 15.4, "
                    "16.4, 17.3, 18.x): it leaves support within months; pin an LTS release for jobs",
                    where,
                    Severity.INFO,
                )

    @staticmethod
    def _pydantic_clash(target: Target, cluster: ClusterSpec) -> tuple[TaskRef, PipPackage] | None:
        for ref in cluster.tasks:
            for package in task_installed_packages(target, ref):
                if package.name in PYDANTIC_V2_PACKAGES:
                    return ref, package
        return None


# --- DG104 --------------------------------------------------------------------------------------------------------


class Pool(Rule):
    """
    ## What it does
    Reports `instance_pool_id` together with `node_type_id` or `driver_node_type_id`, and `driver_instance_pool_id`
    without `instance_pool_id`, on every cluster (jobs, `resources.clusters`, pipelines).

    ## Why it matters
    With a pool, the node type is the pool's. The Clusters and Jobs APIs refuse both (`The field 'node_type_id'
    cannot be supplied when an instance pool ID is provided`), so the Databricks CLI repairs job and
    `resources.clusters` specs before the deploy: it drops `node_type_id` and `driver_node_type_id` beside
    `instance_pool_id`, and `driver_instance_pool_id` without `instance_pool_id` (its JobClustersFixups, the terraform
    provider's ModifyRequestOnInstancePool; acceptance/bundle/resources/jobs/instance_pool_and_node_type deploys such
    a job). The deploy works, but the cluster does not get what the YAML shows: on those clusters this is a
    warning. A pipeline cluster is not repaired that way, and the API refuses it: an error there (a driver pool
    without a worker pool is refused when the cluster starts: `Worker must use a pool if driver uses a pool`).

    ## Example
    ```yaml
    new_cluster:
      instance_pool_id: 0101-120000-abcd-pool-xyz
      node_type_id: i3.xlarge     # dropped by the CLI: the node type is the pool's
    ```

    ## Fix
    Keep `instance_pool_id` and remove `node_type_id` / `driver_node_type_id` (use `driver_instance_pool_id` for a
    different driver); add `instance_pool_id` next to `driver_instance_pool_id`.

    `dab-guard fix` deletes the `node_type_id` / `driver_node_type_id` line (with its end-of-line comment), which is
    what the CLI already does at deploy time (safe). It leaves the key alone in a flow mapping, on a `- ` line,
    and where deleting a target's override would bring back a node type written for every target.
    """

    id = "DG104"
    name = "pool"
    severity = Severity.ERROR
    summary = "instance_pool_id with a node type, or a driver pool without a worker pool"
    source = (
        "Guide, 'Standard Job Cluster Configuration' (speed optimisation with instance_pool_id); Jobs API pool rules."
    )
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            # The CLI repairs job and all-purpose cluster specs at deploy (see the documentation), not pipeline ones.
            repaired = cluster.kind is not ClusterKind.PIPELINE
            severity = Severity.WARNING if repaired else None
            if cluster.has("instance_pool_id"):
                consequence = (
                    "the Databricks CLI drops {key} at deploy, so the cluster does not get the node type written here"
                    if repaired
                    else "the API refuses both ('node_type_id cannot be supplied when an instance pool ID is provided')"
                )
                if cluster.has("node_type_id"):
                    yield Report(
                        f"node_type_id beside instance_pool_id on {cluster.describe()}: the node type comes from the "
                        f"pool; {consequence.format(key='node_type_id')}: remove it",
                        cluster.at("node_type_id"),
                        severity=severity,
                        fix=_remove_key(target, cluster, "node_type_id"),
                    )
                if cluster.has("driver_node_type_id"):
                    yield Report(
                        f"driver_node_type_id beside instance_pool_id on {cluster.describe()}: a pool cluster's driver "
                        f"comes from the pool too; {consequence.format(key='driver_node_type_id')}: remove "
                        "driver_node_type_id, or give the driver its own pool with driver_instance_pool_id",
                        cluster.at("driver_node_type_id"),
                        severity=severity,
                        fix=_remove_key(target, cluster, "driver_node_type_id"),
                    )
            elif cluster.has("driver_instance_pool_id") and cluster.policy_id is None:
                consequence = (
                    "the Databricks CLI drops driver_instance_pool_id at deploy, so the driver does not come from the pool"
                    if repaired
                    else "the cluster is refused when it starts ('Worker must use a pool if driver uses a pool')"
                )
                yield Report(
                    f"driver_instance_pool_id without instance_pool_id on {cluster.describe()}: a driver from a pool "
                    f"needs workers from a pool; {consequence}; add instance_pool_id",
                    cluster.at("driver_instance_pool_id"),
                    severity=severity,
                )


def _remove_key(target: Target, cluster: ClusterSpec, key: str) -> Fix | None:
    """The line of ``key`` deleted, unless the same key is also written for every target (deleting a target's
    override would bring that value back)."""
    key_loc = cluster.spec.key_locs.get(key)
    change = remove_entry(target.bundle, key_loc) if key_loc else None
    if change is None:
        return None
    untargeted = _untargeted_spec(target, cluster)
    if untargeted is not None and key in untargeted and untargeted.key_locs.get(key) != key_loc:
        return None
    return Fix(f"remove {key}", (change.edit,), anchors=change.anchors)


def _untargeted_spec(target: Target, cluster: ClusterSpec) -> YMap | None:
    """The same cluster in the configuration without any target applied (None when no such cluster is there)."""
    from dab_guard.bundle.resolve import apply_target
    from dab_guard.cache import per_object

    bundle = target.bundle
    node: Any = per_object(bundle, "untargeted-config", lambda: apply_target(bundle, "\x00"))
    for part in cluster.path:
        if isinstance(part, str) and isinstance(node, YMap):
            node = node.get(part)
        elif isinstance(part, int) and isinstance(node, YSeq) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node if isinstance(node, YMap) else None


# --- DG105 --------------------------------------------------------------------------------------------------------


class PoolAdvice(Rule):
    """
    ## What it does
    Points out job clusters (`job_clusters` and a task's `new_cluster`) that take no nodes from an instance pool.
    Clusters with a `policy_id` are left alone (the policy may set the pool), and so are job clusters no task uses.

    ## Why it matters
    Each run of a job cluster waits for new cloud VMs, about 4 minutes; idle instances from a pool start it in
    about 30 seconds. On a job that fails and is re-run while debugging, that is most of the wait.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 16.4.x-cpu-ml-scala2.12
      node_type_id: i3.xlarge
    ```

    ## Fix
    Create an instance pool of the node type and set `instance_pool_id` (and drop `node_type_id`, DG104), for
    example through a `lookup: {instance_pool: <name>}` variable.
    """

    id = "DG105"
    name = "pool-advice"
    severity = Severity.INFO
    summary = "job clusters without an instance pool (start ~4 min instead of ~30 s)"
    source = "Guide, 'Speed optimization' (a pool cuts cluster start from ~4 min to ~30 s)."

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            if not cluster.is_job_compute or not cluster.tasks or cluster.policy_id is not None:
                continue
            if cluster.has("instance_pool_id"):
                continue
            yield Report(
                f"{cluster.describe()} takes no nodes from an instance pool: each run waits about 4 minutes for new "
                "VMs, against about 30 s from a pool (instance_pool_id)",
                cluster.path,
            )


# --- DG106 --------------------------------------------------------------------------------------------------------

SINGLE_NODE_PROFILE = "singleNode"


class SingleNode(Rule):
    """
    ## What it does
    Checks the size of each cluster. Unless the cluster is declared single-node the new way (`kind: CLASSIC_PREVIEW`
    with `is_single_node: true`, for which Databricks fills in the rest), it reports:
    - `num_workers: 0` without all three of `spark_conf.spark.master: local[*]`,
      `spark_conf.spark.databricks.cluster.profile: singleNode` and `custom_tags.ResourceClass: SingleNode`;
    - a job cluster with neither `num_workers` nor `autoscale` (the CLI sends `num_workers: 0`);
    - the `singleNode` profile on a cluster with workers or autoscale;
    - `autoscale.min_workers` above `autoscale.max_workers` (on every cluster, pipelines included).

    A cluster with a `policy_id` may get the single-node settings from the policy; missing settings are then not
    reported.

    ## Why it matters
    The API refuses a zero-worker cluster that is not a complete single-node cluster, or starts one whose Spark jobs
    never get an executor; either way the run fails after the deploy succeeded.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 16.4.x-cpu-ml-scala2.12
      node_type_id: i3.xlarge
      num_workers: 0            # no spark.master, profile or ResourceClass
    ```

    ## Fix
    Add the three settings of the guide's single-node template, or use `kind: CLASSIC_PREVIEW` with
    `is_single_node: true`, or give the cluster workers.

    For `num_workers: 0`, `dab-guard fix` adds the missing settings (safe): into the cluster's `spark_conf` and
    `custom_tags` when they exist (block or flow style), or as new `spark_conf:` / `custom_tags:` blocks. It changes
    no value that is written (a `spark.master` that is not `local[...]` stays for you to decide), and has no fix for
    a cluster without a size or with a bad autoscale range, where the intended size is unknown.
    """

    id = "DG106"
    name = "single-node"
    severity = Severity.ERROR
    summary = "incomplete single-node clusters, job clusters with no size, bad autoscale ranges"
    source = "Guide, 'Standard Job Cluster Configuration' (num_workers 0 with spark.master, profile and ResourceClass)."
    fix = "safe"

    def check(self, target: Target) -> Iterator[Report]:
        for cluster in iter_clusters(target):
            yield from self._autoscale(cluster)
            if cluster.kind is ClusterKind.PIPELINE or cluster.single_node_new_way:
                continue
            yield from self._size(target, cluster)

    @staticmethod
    def _autoscale(cluster: ClusterSpec) -> Iterator[Report]:
        autoscale = cluster.get("autoscale")
        if not isinstance(autoscale, YMap):
            return
        low, high = autoscale.get("min_workers"), autoscale.get("max_workers")
        if _is_int(low) and _is_int(high) and low > high:
            yield Report(
                f"autoscale.min_workers ({low}) is above max_workers ({high}) on {cluster.describe()}",
                cluster.at("autoscale", "min_workers"),
            )

    def _size(self, target: Target, cluster: ClusterSpec) -> Iterator[Report]:
        workers = cluster.get("num_workers")
        autoscale = cluster.get("autoscale")
        if is_unknown(workers):
            return
        conf = _single_node_settings(cluster)
        if conf is None:
            return  # spark_conf or custom_tags not known offline
        profile = conf["profile"]
        if profile == SINGLE_NODE_PROFILE and ((_is_int(workers) and workers > 0) or autoscale is not None):
            size = f"num_workers: {workers}" if workers is not None else "autoscale"
            yield Report(
                f"{cluster.describe()} uses the singleNode profile with {size}: a single-node cluster has no workers; "
                "remove the profile or set num_workers: 0",
                cluster.at("spark_conf", "spark.databricks.cluster.profile"),
            )
            return
        if workers is None and autoscale is None:
            if not cluster.is_job_compute or cluster.policy_id is not None:
                return
            missing = _missing_single_node(conf)
            if not missing:
                return  # a complete single-node cluster: the CLI's num_workers 0 is what it means
            hint = ""
            if cluster.get("is_single_node") is True:
                hint = " (is_single_node only works with kind: CLASSIC_PREVIEW)"
            yield Report(
                f"{cluster.describe()} sets neither num_workers nor autoscale{hint}: the CLI sends num_workers: 0 and "
                "the API refuses a zero-worker cluster that is not single-node; set num_workers or autoscale",
                cluster.at("num_workers"),
            )
            return
        if workers == 0 and _is_int(workers) and autoscale is None and cluster.policy_id is None:
            missing = _missing_single_node(conf)
            if missing:
                hint = ""
                if cluster.get("is_single_node") is True:
                    hint = "; is_single_node only works with kind: CLASSIC_PREVIEW"
                yield Report(
                    f"num_workers: 0 on {cluster.describe()} without {_and_list(missing)}: a single-node cluster needs "
                    f"all three (or kind: CLASSIC_PREVIEW with is_single_node: true){hint}",
                    cluster.at("num_workers"),
                    fix=_add_single_node(target, cluster, conf),
                )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _single_node_settings(cluster: ClusterSpec) -> dict[str, Any] | None:
    """The three single-node settings as written (None when a map holding them is not known offline)."""
    spark_conf = cluster.get("spark_conf")
    custom_tags = cluster.get("custom_tags")
    if is_unknown(spark_conf) or is_unknown(custom_tags):
        return None
    spark_conf = spark_conf if isinstance(spark_conf, dict) else {}
    custom_tags = custom_tags if isinstance(custom_tags, dict) else {}
    values = {
        "master": spark_conf.get("spark.master"),
        "profile": spark_conf.get("spark.databricks.cluster.profile"),
        "resource_class": custom_tags.get("ResourceClass"),
    }
    if any(is_unknown(v) for v in values.values()):
        return None
    return values


# The guide's single-node settings as YAML text: (map, key, value, the key in ``_single_node_settings``).
_SINGLE_NODE_ENTRIES = (
    ("spark_conf", "spark.master", '"local[*]"', "master"),
    ("spark_conf", "spark.databricks.cluster.profile", SINGLE_NODE_PROFILE, "profile"),
    ("custom_tags", "ResourceClass", "SingleNode", "resource_class"),
)


def _add_single_node(target: Target, cluster: ClusterSpec, conf: dict[str, Any]) -> Fix | None:
    """The missing single-node settings added beside ``num_workers: 0``, where it is written (into the
    ``spark_conf`` / ``custom_tags`` there, or as new ones that merge with those written elsewhere).

    Only settings that are not written at all are added; a written value that is wrong stays for the user.
    """
    missing = _missing_single_node(conf)
    wanted: dict[str, list[NewEntry]] = {}
    for section, key, text, name in _SINGLE_NODE_ENTRIES:
        if not any(m.startswith(f"{section}.{key}:") for m in missing):
            continue
        if conf[name] is not None or (cluster.get(section) is not None and not isinstance(cluster.get(section), YMap)):
            return None  # written, but not what a single-node cluster needs: the user decides
        wanted.setdefault(section, []).append((key, text))
    workers = cluster.spec.key_locs.get("num_workers")
    if not wanted or workers is None:
        return None
    changes = []
    new_sections: list[NewEntry] = []
    for section, entries in wanted.items():
        written = sibling_key(target.bundle, workers, section)
        if written is None:
            new_sections.append((section, entries))
            continue
        changes.append(add_to_value(target.bundle, written, entries))
    if new_sections:
        changes.append(add_entries(target.bundle, workers, new_sections, flow=False))
    if any(change is None for change in changes):
        return None
    added = ", ".join(f"{section}.{key}" for section, entries in wanted.items() for key, _ in entries)
    return Fix(
        f"add {added}",
        tuple(change.edit for change in changes if change),
        anchors=tuple(anchor for change in changes if change for anchor in change.anchors),
    )


def _missing_single_node(conf: dict[str, Any]) -> list[str]:
    missing: list[str] = []
    master = conf["master"]
    if not (isinstance(master, str) and master.startswith("local")):
        missing.append("spark_conf.spark.master: local[*]")
    if conf["profile"] != SINGLE_NODE_PROFILE:
        missing.append("spark_conf.spark.databricks.cluster.profile: singleNode")
    if conf["resource_class"] != "SingleNode":
        missing.append("custom_tags.ResourceClass: SingleNode")
    return missing


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- DG107 --------------------------------------------------------------------------------------------------------

_CLUSTER_FIELDS = ("job_cluster_key", "new_cluster", "existing_cluster_id")


class Serverless(Rule):
    """
    ## What it does
    Reports a pipeline with `serverless: true` that also lists `clusters`, and a job task that has an
    `environment_key` (serverless compute) together with a cluster (`job_cluster_key`, `new_cluster` or
    `existing_cluster_id`), also inside `for_each_task`.

    ## Why it matters
    Serverless compute is managed by Databricks: a serverless pipeline refuses cluster settings, and a task runs
    either on serverless compute with an environment or on a cluster, never both. The deploy or the run fails.

    ## Example
    ```yaml
    tasks:
      - task_key: train
        job_cluster_key: ml
        environment_key: default
    ```

    ## Fix
    Choose one: remove `environment_key` (and install packages with the task's `libraries`), or remove the cluster.
    For a serverless pipeline, remove `clusters`.
    """

    id = "DG107"
    name = "serverless"
    severity = Severity.ERROR
    summary = "serverless pipelines with clusters, tasks with both an environment and a cluster"
    source = (
        "Databricks serverless compute: environments are for serverless tasks; serverless pipelines own their compute."
    )

    def check(self, target: Target) -> Iterator[Report]:
        resources = target.config.get("resources")
        pipelines = resources.get("pipelines") if isinstance(resources, YMap) else None
        if isinstance(pipelines, YMap):
            for name, pipeline in pipelines.items():
                if not isinstance(pipeline, YMap) or pipeline.get("serverless") is not True:
                    continue
                clusters = pipeline.get("clusters")
                if isinstance(clusters, YSeq) and clusters:
                    yield Report(
                        f"pipeline '{name}' is serverless and also lists clusters: serverless pipelines manage their "
                        "own compute; remove clusters (or serverless: true)",
                        ("resources", "pipelines", name, "clusters"),
                        on_key=True,
                    )
        for job_path, job in iter_jobs(target):
            for ref in iter_job_tasks(job_path, job):
                environment = ref.task.get("environment_key")
                if environment is None or environment == "":
                    continue
                used = [field for field in _CLUSTER_FIELDS if ref.task.get(field) not in (None, "")]
                if used:
                    yield Report(
                        f"task '{ref.key}' has environment_key (serverless compute) and {used[0]} (a cluster): a task "
                        "runs on one or the other; remove environment_key or the cluster",
                        (*ref.path, "environment_key"),
                    )
