"""The cluster iterator and the task package facts the compute rules (DG101-DG107) are built on."""

from __future__ import annotations

from pathlib import Path

from dab_guard.bundle.clusters import ClusterKind, TaskRef, iter_clusters, iter_job_tasks, iter_jobs
from dab_guard.bundle.libraries import task_pip_packages
from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import Target, resolve_target
from dab_guard.config import Settings
from dab_guard.engine import validate

BUNDLE = """
bundle:
  name: clusters
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: shared
          new_cluster: {spark_version: 16.4.x-cpu-ml-scala2.12, num_workers: 1}
        - job_cluster_key: unused
          new_cluster: {spark_version: 16.4.x-scala2.12, num_workers: 1}
      tasks:
        - task_key: a
          job_cluster_key: shared
          notebook_task: {notebook_path: /Workspace/a}
        - task_key: loop
          for_each_task:
            inputs: "[1]"
            task:
              task_key: inner
              job_cluster_key: shared
              notebook_task: {notebook_path: /Workspace/a}
        - task_key: own
          new_cluster: {spark_version: 15.4.x-scala2.12, num_workers: 1}
          notebook_task: {notebook_path: /Workspace/a}
        - task_key: on_all_purpose
          existing_cluster_id: ${resources.clusters.interactive.id}
          notebook_task: {notebook_path: /Workspace/a}
        - task_key: from_lookup
          new_cluster: ${var.looked_up}
          notebook_task: {notebook_path: /Workspace/a}
  clusters:
    interactive:
      spark_version: 16.4.x-scala2.12
  pipelines:
    etl:
      name: etl
      clusters:
        - num_workers: 1
        - label: maintenance
          num_workers: 1
variables:
  looked_up:
    lookup:
      cluster: some-cluster
"""


def _target(tmp_path: Path, text: str = BUNDLE) -> Target:
    (tmp_path / "databricks.yml").write_text(text, encoding="utf-8")
    bundle = load_bundle(tmp_path)
    return resolve_target(bundle, "default", env={})


def test_every_cluster_with_its_kind_path_and_tasks(tmp_path: Path) -> None:
    clusters = list(iter_clusters(_target(tmp_path)))
    summary = [(c.kind, c.label, tuple(t.key for t in c.tasks)) for c in clusters]
    assert summary == [
        (ClusterKind.JOB_CLUSTER, "shared", ("a", "inner")),
        (ClusterKind.JOB_CLUSTER, "unused", ()),
        (ClusterKind.TASK_CLUSTER, "own", ("own",)),
        (ClusterKind.ALL_PURPOSE, "interactive", ("on_all_purpose",)),
        (ClusterKind.PIPELINE, "default", ()),
        (ClusterKind.PIPELINE, "maintenance", ()),
    ]
    assert clusters[0].path == ("resources", "jobs", "train", "job_clusters", 0, "new_cluster")
    assert clusters[2].at("spark_version") == ("resources", "jobs", "train", "tasks", 2, "new_cluster", "spark_version")
    assert clusters[0].runs_ml_runtime is True and clusters[2].runs_ml_runtime is False


def test_task_packages_from_pypi_wheels_and_nested_requirements(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "requirements.txt").write_text(
        "--index-url https://example.invalid/simple\n-r common.txt\nLangGraph>=0.3 ; python_version > '3.9'\n",
        encoding="utf-8",
    )
    (tmp_path / "src" / "common.txt").write_text("# shared\nmlflow[databricks]>=2.21  # pinned\n", encoding="utf-8")
    (tmp_path.parent / "outside.txt").write_text("secret-package\n", encoding="utf-8")
    target = _target(
        tmp_path,
        """
bundle: {name: libs}
resources:
  jobs:
    j:
      name: j
      tasks:
        - task_key: t
          notebook_task: {notebook_path: /Workspace/a}
          libraries:
            - pypi: {package: "databricks_agents==0.16"}
            - whl: /Volumes/main/libs/databricks_langchain-0.5.0-py3-none-any.whl
            - whl: ./dist/*.whl
            - requirements: src/requirements.txt
            - requirements: ../outside.txt
            - requirements: /Workspace/Shared/requirements.txt
""",
    )
    (task,) = _tasks(target)
    packages = task_pip_packages(target, task)
    assert [(p.name, p.where) for p in packages] == [
        ("databricks-agents", "pypi library"),
        ("databricks-langchain", "wheel"),
        ("mlflow", "requirements file src/common.txt"),
        ("langgraph", "requirements file src/requirements.txt"),
    ]


def _tasks(target: Target) -> list[TaskRef]:
    return [ref for path, job in iter_jobs(target) for ref in iter_job_tasks(path, job)]


def test_a_finding_seen_in_several_targets_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        """
bundle: {name: t}
resources:
  jobs:
    j:
      name: j
      job_clusters:
        - job_cluster_key: c
          new_cluster: {spark_version: 16.4.x-ml-scala2.12, node_type_id: i3.xlarge, num_workers: 1, data_security_mode: SINGLE_USER}
      tasks:
        - task_key: t
          job_cluster_key: c
          notebook_task: {notebook_path: /Workspace/a}
targets:
  dev: {default: true}
  prod: {}
""",
        encoding="utf-8",
    )
    findings = [f for f in validate(tmp_path, env={}).findings if f.rule == "DG102"]
    assert [(f.line, f.targets) for f in findings] == [(9, ("dev", "prod"))]
    assert findings[0].path == "resources.jobs.j.job_clusters[0].new_cluster.spark_version"
    assert "16.4.x-cpu-ml-scala2.12" in findings[0].message


def test_a_snapshot_runtime_is_named_as_a_build_not_as_a_release(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: snap\nresources:\n  clusters:\n    dev:\n"
        "      spark_version: 18.x-snapshot-scala2.13\n      num_workers: 1\n      data_security_mode: SINGLE_USER\n",
        encoding="utf-8",
    )
    (finding,) = validate(tmp_path, settings=Settings(select=["DG103"])).findings
    # "Runtime 18.x is not LTS (LTS: ..., 18.x)" would contradict itself.
    assert finding.message.startswith("'18.x-snapshot-scala2.13' is a snapshot build, not a long-term-support release")
