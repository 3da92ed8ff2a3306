"""Targets share what they resolve alike, and only that: a value that differs between targets is never shared, and a
finding in a shared value is still reported for every target that has it."""

from __future__ import annotations

from pathlib import Path

from dab_guard.config import Settings
from dab_guard.engine import Run, validate
from tests.files import write_dedented

BUNDLE = """
bundle:
  name: sharing
variables:
  catalog:
    default: main
  workers:
    default: 2
targets:
  dev:
    default: true
    mode: development
  prod:
    mode: production
    workspace:
      root_path: /Workspace/Shared/.bundle/sharing/prod
{prod_variables}
resources:
  jobs:
    etl:
      name: etl-${{bundle.target}}
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: 16.4.x-cpu-ml-scala2.12
            node_type_id: i3.xlarge
            num_workers: ${{var.workers}}
            data_security_mode: SINGLE_USER
      tasks:
        - task_key: load
          job_cluster_key: main
          spark_python_task:
            python_file: ./{script}
            parameters: ["--catalog", "${{var.catalog}}"]
"""


def _bundle(tmp_path: Path, prod_variables: str = "", script: str = "load.py") -> Path:
    write_dedented(tmp_path, {"databricks.yml": BUNDLE.format(prod_variables=prod_variables, script=script), "load.py": "print('load')\n"})
    return tmp_path


def _job(result: Run, target: str) -> dict[str, object]:
    job: dict[str, object] = result.resolved[target].config["resources"]["jobs"]["etl"]
    return job


def test_values_resolved_alike_are_one_object_in_both_targets(tmp_path: Path) -> None:
    result = validate(_bundle(tmp_path))
    dev, prod = _job(result, "dev"), _job(result, "prod")
    assert dev["name"] == "etl-dev" and prod["name"] == "etl-prod"
    assert dev["tasks"] is prod["tasks"]
    assert dev["job_clusters"] is prod["job_clusters"]


def test_a_variable_set_for_one_target_is_not_shared(tmp_path: Path) -> None:
    prod_variables = "    variables:\n      catalog: prod_catalog\n"
    result = validate(_bundle(tmp_path, prod_variables))
    dev, prod = _job(result, "dev"), _job(result, "prod")
    assert dev["tasks"] is not prod["tasks"]
    assert dev["tasks"][0]["spark_python_task"]["parameters"] == ["--catalog", "main"]  # type: ignore[index]
    assert prod["tasks"][0]["spark_python_task"]["parameters"] == ["--catalog", "prod_catalog"]  # type: ignore[index]
    assert dev["job_clusters"] is prod["job_clusters"]  # no reference to the catalog there


def test_a_value_equal_in_text_but_not_in_type_is_not_shared(tmp_path: Path) -> None:
    prod_variables = "    variables:\n      workers: '2'\n"
    result = validate(_bundle(tmp_path, prod_variables))
    dev, prod = _job(result, "dev"), _job(result, "prod")
    assert dev["job_clusters"] is not prod["job_clusters"]


def test_a_schema_finding_in_a_shared_value_names_every_target(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    text = (bundle / "databricks.yml").read_text().replace("          job_cluster_key: main\n          spark", "          job_cluster_key: main\n          max_retries: many\n          spark")
    (bundle / "databricks.yml").write_text(text)
    result = validate(bundle, settings=Settings(select=["DG002"]))
    assert [(f.rule, f.path, f.targets) for f in result.findings] == [("DG002", "resources.jobs.etl.tasks[0].max_retries", ("dev", "prod"))]


def test_a_schema_finding_in_one_target_only_names_that_target(tmp_path: Path) -> None:
    prod_variables = "    variables:\n      workers: two\n"
    result = validate(_bundle(tmp_path, prod_variables), settings=Settings(select=["DG002"]))
    assert [(f.path, f.targets) for f in result.findings] == [("resources.jobs.etl.job_clusters[0].new_cluster.num_workers", ("prod",))]


def test_a_missing_file_shared_by_both_targets_names_both(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, script="missing.py")
    line = next(n for n, text in enumerate((bundle / "databricks.yml").read_text().splitlines(), 1) if "python_file" in text)
    result = validate(bundle, settings=Settings(select=["DG007"]))
    assert [(f.rule, f.line, f.targets) for f in result.findings] == [("DG007", line, ("dev", "prod"))]


def test_a_negative_zero_is_not_shared_with_a_zero(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
            bundle: {name: zero}
            variables:
              y: {default: 0.0}
              x: {default: "${var.y}"}
            targets:
              a: {default: true, variables: {y: 0.0}}
              b: {variables: {y: -0.0}}
            resources:
              jobs:
                j:
                  name: j
                  tasks:
                    - task_key: t
                      existing_cluster_id: abc
                      spark_python_task: {python_file: ./x.py}
                      timeout_seconds: ${var.x}
            """,
            "x.py": "print('x')\n",
        },
    )
    result = validate(tmp_path)
    a = result.resolved["a"].config["resources"]["jobs"]["j"]["tasks"][0]["timeout_seconds"]
    b = result.resolved["b"].config["resources"]["jobs"]["j"]["tasks"][0]["timeout_seconds"]
    assert (repr(a), repr(b)) == ("0.0", "-0.0")


def test_put_with_one_position_keeps_the_other() -> None:
    from dab_guard.bundle.located import YMap
    from dab_guard.finding import Loc

    node = YMap()
    node.put("k", 1, Loc("a.yml", 1, 1), Loc("a.yml", 1, 4))
    node.put("k", 2, None, Loc("b.yml", 7, 3))
    assert (node.key_locs["k"], node.val_locs["k"]) == (Loc("a.yml", 1, 1), Loc("b.yml", 7, 3))
    node.put("k", 3, Loc("c.yml", 2, 2), None)
    assert (node.key_locs["k"], node.val_locs["k"]) == (Loc("c.yml", 2, 2), Loc("b.yml", 7, 3))
