"""Every classic cluster a resolved target defines, with where it is and which tasks run on it.

Rules about compute read clusters through :func:`iter_clusters` instead of walking the configuration themselves, so
they all agree on what a cluster is:

- ``resources.jobs.<job>.job_clusters[i].new_cluster`` (a shared job cluster; the tasks naming its
  ``job_cluster_key`` run on it),
- ``resources.jobs.<job>.tasks[i].new_cluster``, also inside ``for_each_task.task``,
- ``resources.clusters.<name>`` (an all-purpose cluster; tasks reach it with
  ``existing_cluster_id: ${resources.clusters.<name>.id}``),
- ``resources.pipelines.<pipeline>.clusters[i]`` (a pipeline cluster: no ``spark_version`` or
  ``data_security_mode`` of its own, the pipeline's channel and catalog decide those).

A cluster whose whole spec is an unresolved ``${...}`` is not yielded: nothing can be said about it offline.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target, is_unknown
from dab_guard.bundle.runtime import RuntimeKey
from dab_guard.cache import per_object
from dab_guard.finding import PathParts


class ClusterKind(enum.Enum):
    JOB_CLUSTER = "job cluster"
    TASK_CLUSTER = "task cluster"
    ALL_PURPOSE = "all-purpose cluster"
    PIPELINE = "pipeline cluster"


@dataclass(frozen=True, slots=True)
class TaskRef:
    """A job task (or the task inside a ``for_each_task``) and its bundle path."""

    path: PathParts
    task: YMap
    job: str

    @property
    def key(self) -> str:
        key = self.task.get("task_key")
        return key if isinstance(key, str) else f"#{self.path[-1]}"


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """One cluster specification of a target."""

    path: PathParts  # to the spec mapping itself (``...new_cluster``, ``resources.clusters.x``, ``clusters[0]``)
    spec: YMap
    kind: ClusterKind
    owner: str  # the job, pipeline or cluster resource key
    label: str  # job_cluster_key, task_key, cluster resource key, or pipeline cluster label
    tasks: tuple[TaskRef, ...] = ()  # the tasks that run on it (none for pipeline clusters)

    def at(self, *keys: str | int) -> PathParts:
        """The bundle path of a field of this spec (reports on a missing field land on the spec's key)."""
        return (*self.path, *keys)

    def get(self, key: str) -> Any:
        return self.spec.get(key)

    def has(self, key: str) -> bool:
        """Whether the field is set to something (an unresolved reference counts: it will hold a value)."""
        value = self.spec.get(key)
        return value is not None and value != ""

    @property
    def is_job_compute(self) -> bool:
        """A cluster a job run creates for itself (what the CLI serialises as a job cluster)."""
        return self.kind in (ClusterKind.JOB_CLUSTER, ClusterKind.TASK_CLUSTER)

    @property
    def policy_id(self) -> str | None:
        """The cluster policy, when one is named (its value may be unknown offline)."""
        value = self.spec.get("policy_id")
        return value if isinstance(value, str) and value else None

    @property
    def spark_version(self) -> str | None:
        """The written ``spark_version`` when it is known offline (numbers, a YAML slip, come back as text)."""
        value = self.spec.get("spark_version")
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str) and value and not is_unknown(value):
            return value
        return None

    @property
    def runtime(self) -> RuntimeKey | None:
        version = self.spark_version
        return RuntimeKey.parse(version) if version is not None else None

    @property
    def is_classic_preview(self) -> bool:
        return self.spec.get("kind") == "CLASSIC_PREVIEW"

    @property
    def single_node_new_way(self) -> bool:
        """``kind: CLASSIC_PREVIEW`` with ``is_single_node: true``: Databricks fills in the single-node settings."""
        return self.is_classic_preview and self.spec.get("is_single_node") is True

    @property
    def runs_ml_runtime(self) -> bool | None:
        """Whether the cluster runs Databricks Runtime ML; None when that is not known offline."""
        ml_flag = self.spec.get("use_ml_runtime")
        if ml_flag is True:
            return True
        runtime = self.runtime
        if runtime is not None and runtime.ml:
            return True
        if is_unknown(ml_flag):
            return None
        if runtime is not None:
            return False
        # No known spark_version: unknown when it is a reference or when a policy may supply it.
        return False if self.spec.get("spark_version") is None and not self.policy_id else None

    def describe(self) -> str:
        """How a message names this cluster: ``job cluster 'ml' of job 'train'``."""
        if self.kind is ClusterKind.JOB_CLUSTER:
            return f"job cluster '{self.label}' of job '{self.owner}'"
        if self.kind is ClusterKind.TASK_CLUSTER:
            return f"the new_cluster of task '{self.label}' in job '{self.owner}'"
        if self.kind is ClusterKind.ALL_PURPOSE:
            return f"cluster '{self.owner}'"
        return f"pipeline '{self.owner}' cluster '{self.label}'"


def iter_job_tasks(job_path: PathParts, job: YMap) -> Iterator[TaskRef]:
    """Every task of a job, followed by the task inside it when it is a ``for_each_task``."""
    tasks = job.get("tasks")
    if not isinstance(tasks, YSeq):
        return
    job_name = str(job_path[-1])
    for i, task in enumerate(tasks):
        if isinstance(task, YMap):
            yield from _task_and_nested(job_name, (*job_path, "tasks", i), task)


def _task_and_nested(job: str, path: PathParts, task: YMap) -> Iterator[TaskRef]:
    yield TaskRef(path, task, job)
    for_each = task.get("for_each_task")
    if isinstance(for_each, YMap) and isinstance(for_each.get("task"), YMap):
        yield from _task_and_nested(job, (*path, "for_each_task", "task"), for_each["task"])


def iter_jobs(target: Target) -> Iterator[tuple[PathParts, YMap]]:
    jobs = _resource_group(target, "jobs")
    for name, job in jobs.items():
        if isinstance(job, YMap):
            yield ("resources", "jobs", name), job


def iter_clusters(target: Target) -> Iterator[ClusterSpec]:
    """Every cluster spec of the target, in the order the configuration lists them."""
    # Most compute rules ask for every target: the configuration is walked once per target.
    return iter(per_object(target, "clusters", lambda: tuple(_find_clusters(target))))


def _find_clusters(target: Target) -> Iterator[ClusterSpec]:
    all_tasks: list[TaskRef] = []
    for job_path, job in iter_jobs(target):
        tasks = list(iter_job_tasks(job_path, job))
        all_tasks.extend(tasks)
        job_name = str(job_path[-1])
        job_clusters = job.get("job_clusters")
        if isinstance(job_clusters, YSeq):
            for i, entry in enumerate(job_clusters):
                if not isinstance(entry, YMap) or not isinstance(entry.get("new_cluster"), YMap):
                    continue
                key = entry.get("job_cluster_key")
                key_text = key if isinstance(key, str) else f"#{i}"
                users = tuple(t for t in tasks if isinstance(key, str) and t.task.get("job_cluster_key") == key)
                yield ClusterSpec(
                    (*job_path, "job_clusters", i, "new_cluster"),
                    entry["new_cluster"],
                    ClusterKind.JOB_CLUSTER,
                    job_name,
                    key_text,
                    users,
                )
        for ref in tasks:
            spec = ref.task.get("new_cluster")
            if isinstance(spec, YMap):
                yield ClusterSpec((*ref.path, "new_cluster"), spec, ClusterKind.TASK_CLUSTER, job_name, ref.key, (ref,))
    for name, spec in _resource_group(target, "clusters").items():
        if isinstance(spec, YMap):
            reference = f"${{resources.clusters.{name}.id}}"
            users = tuple(t for t in all_tasks if _stripped(t.task.get("existing_cluster_id")) == reference)
            yield ClusterSpec(("resources", "clusters", name), spec, ClusterKind.ALL_PURPOSE, name, name, users)
    for name, pipeline in _resource_group(target, "pipelines").items():
        clusters = pipeline.get("clusters") if isinstance(pipeline, YMap) else None
        if not isinstance(clusters, YSeq):
            continue
        for i, spec in enumerate(clusters):
            if isinstance(spec, YMap):
                label = spec.get("label")
                label_text = label if isinstance(label, str) else "default"
                yield ClusterSpec(
                    ("resources", "pipelines", name, "clusters", i), spec, ClusterKind.PIPELINE, name, label_text
                )


def _resource_group(target: Target, kind: str) -> YMap:
    resources = target.config.get("resources")
    group = resources.get(kind) if isinstance(resources, YMap) else None
    return group if isinstance(group, YMap) else YMap()


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
