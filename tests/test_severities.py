"""Severities that follow what the Databricks CLI and the deploy do: no error where the CLI deploys the bundle.

Each case is modelled on one of the CLI's acceptance tests (acceptance/bundle/** of databricks/cli), named in its
docstring, with the case next to it where dab-guard must still give an error.
"""

from __future__ import annotations

from pathlib import Path

from dab_guard.engine import validate
from dab_guard.finding import Severity
from tests.files import write_dedented


def _found(root: Path, *rules: str) -> list[tuple[str, str, Severity, str]]:
    """(rule, path, severity, message) of the findings of ``rules``."""
    result = validate(root, env={})
    return [(f.rule, f.path, f.severity, f.message) for f in result.findings if f.rule in rules]


def _severities(root: Path, *rules: str) -> dict[tuple[str, str], Severity]:
    return {(rule, path): severity for rule, path, severity, _ in _found(root, *rules)}


# --- DG104 -------------------------------------------------------------------------------------------------------

_POOLS = """
    bundle:
      name: pools
    resources:
      jobs:
        job:
          name: job
          tasks:
            - task_key: t
              new_cluster:
                spark_version: 16.4.x-scala2.12
                num_workers: 1
                data_security_mode: SINGLE_USER
                node_type_id: i3.xlarge
                instance_pool_id: 0101-120000-abcd-pool-xyz
              notebook_task:
                notebook_path: /Workspace/Shared/t
      clusters:
        shared:
          cluster_name: shared
          spark_version: 16.4.x-scala2.12
          num_workers: 1
          data_security_mode: SINGLE_USER
          node_type_id: i3.xlarge
          driver_instance_pool_id: 0101-120000-abcd-pool-xyz
      pipelines:
        etl:
          name: etl
          catalog: main
          schema: etl
          clusters:
            - label: default
              instance_pool_id: 0101-120000-abcd-pool-xyz
              node_type_id: i3.xlarge
              num_workers: 1
"""


def test_a_node_type_beside_a_pool_is_a_warning_where_the_cli_drops_it(tmp_path: Path) -> None:
    """As acceptance/bundle/resources/jobs/instance_pool_and_node_type shows, the CLI drops node_type_id beside
    instance_pool_id on a job cluster and the deploy works: a warning (the safe fix stays). Its fixups drop a driver
    pool without a worker pool too. A pipeline cluster is not repaired: still an error."""
    root = write_dedented(tmp_path, {"databricks.yml": _POOLS})
    found = _found(root, "DG104")
    assert {(path, severity) for _, path, severity, _ in found} == {
        ("resources.jobs.job.tasks[0].new_cluster.node_type_id", Severity.WARNING),
        ("resources.clusters.shared.driver_instance_pool_id", Severity.WARNING),
        ("resources.pipelines.etl.clusters[0].node_type_id", Severity.ERROR),
    }
    result = validate(root, env={}, fixes=True)
    assert {found.finding.path for found in result.fixes if found.finding.rule == "DG104"} == {
        "resources.jobs.job.tasks[0].new_cluster.node_type_id",
        "resources.pipelines.etl.clusters[0].node_type_id",
    }


# --- DG007 -------------------------------------------------------------------------------------------------------


def test_a_pipeline_glob_whose_folder_is_missing_is_a_warning(tmp_path: Path) -> None:
    """As acceptance/bundle/paths/pipelines_glob_include_and_root_path shows, the CLI deploys a glob.include whose
    folder does not exist (src/pipeline_one/a/b/c/**) without a word: a warning, not an error. A missing root_path
    folder stays an error."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: globs
                include:
                  - resources/*.yml
            """,
            "resources/pipeline.yml": """
                resources:
                  pipelines:
                    present:
                      name: present
                      root_path: ../src/etl
                      libraries:
                        - glob:
                            include: ../src/etl/deep/er/**
                    absent:
                      name: absent
                      root_path: ../src/nowhere
                      libraries:
                        - glob:
                            include: ../src/etl/**
            """,
            "src/etl/.gitkeep": "",
        },
    )
    found = _found(root, "DG007")
    assert {(path, severity) for _, path, severity, _ in found} == {
        ("resources.pipelines.present.libraries[0].glob.include", Severity.WARNING),
        ("resources.pipelines.absent.root_path", Severity.ERROR),
    }
