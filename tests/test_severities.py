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


# --- DG002: missing required fields ------------------------------------------------------------------------------


def test_a_model_without_name_is_a_warning(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/models/missing_name shows, the CLI only warns ('required field "name" is not
    set') about a model without a name, and deploys it."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: models
                resources:
                  models:
                    unnamed:
                      description: no name here
            """
        },
    )
    found = _found(root, "DG002")
    assert [(rule, path, severity) for rule, path, severity, _ in found] == [
        ("DG002", "resources.models.unnamed", Severity.WARNING)
    ]
    assert "missing required field 'name'" in found[0][3] and "only warns" in found[0][3]


def test_a_quality_monitor_and_an_artifact_file_without_required_fields_are_warnings(tmp_path: Path) -> None:
    """As acceptance/bundle/resource_deps/implicit_deps_quality_monitor (assets_dir) and validate/required
    (artifacts files[].source) show, the CLI only warns about those missing fields."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: monitor
                artifacts:
                  lib:
                    files:
                      - {}
                resources:
                  quality_monitors:
                    watch:
                      table_name: main.sales.orders
                      output_schema_name: main.monitoring
            """
        },
    )
    assert _severities(root, "DG002") == {
        ("DG002", "resources.quality_monitors.watch"): Severity.WARNING,
        ("DG002", "artifacts.lib.files[0]"): Severity.WARNING,
    }


def test_a_volume_without_catalog_and_schema_stays_an_error(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/volume_defaults and validate/required show, the CLI only warns about a volume
    without catalog_name, schema_name or name at validate time; Unity Catalog creates no volume without them, so the
    deploy fails: an error, whose message says that the CLI only warns."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: volumes
                resources:
                  volumes:
                    landing:
                      name: landing
                  schemas:
                    raw:
                      catalog_name: main
                      name: raw
            """
        },
    )
    found = _found(root, "DG002")
    assert {(path, severity) for _, path, severity, _ in found} == {("resources.volumes.landing", Severity.ERROR)}
    messages = sorted(message for *_, message in found)
    assert len(messages) == 2
    assert "'catalog_name'" in messages[0] and "'schema_name'" in messages[1]
    assert all("only warns about it at validate time, but the deploy fails" in m for m in messages)


def test_a_task_without_task_key_is_a_warning(tmp_path: Path) -> None:
    """As acceptance/bundle/variables/complex-with-var-reference shows, the CLI accepts a task whose task_key is not
    set (it sets it to "" when it merges tasks by key), without a word: a warning that says so, not an error."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: no_key
                variables:
                  libraries:
                    type: complex
                    default:
                      - pypi:
                          package: requests==2.32.3
                resources:
                  jobs:
                    one:
                      name: one
                      tasks:
                        - libraries: ${var.libraries}
                          notebook_task:
                            notebook_path: /Workspace/Shared/one
                      job_clusters:
                        - new_cluster:
                            spark_version: 16.4.x-scala2.12
                            num_workers: 1
            """
        },
    )
    found = _found(root, "DG002")
    assert {(path, severity) for _, path, severity, _ in found} == {
        ("resources.jobs.one.tasks[0]", Severity.WARNING),
        ("resources.jobs.one.job_clusters[0]", Severity.WARNING),
    }
    assert all('sets it to ""' in message for *_, message in found)


def test_a_nested_for_each_task_without_task_key_is_a_warning(tmp_path: Path) -> None:
    """As acceptance/bundle/paths/nominal shows, the CLI warns ('required field "task_key" is not set') about the
    inner task of a for_each_task without a task_key."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: loop
                resources:
                  jobs:
                    loop:
                      name: loop
                      tasks:
                        - task_key: outer
                          for_each_task:
                            inputs: "[1, 2]"
                            task:
                              notebook_task:
                                notebook_path: /Workspace/Shared/inner
            """
        },
    )
    assert _severities(root, "DG002") == {("DG002", "resources.jobs.loop.tasks[0].for_each_task.task"): Severity.WARNING}


def test_the_fields_the_cli_itself_requires_are_errors(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/dashboard_required_name, dashboard_required_warehouse_id and
    sql_warehouse_required_name show, the CLI refuses a dashboard without display_name or warehouse_id and a SQL
    warehouse whose name is missing or blank ('sql_warehouse name is required'): errors, one per mistake, from
    DG013 (DG002 says nothing more). A complete one gives none."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: required
                resources:
                  dashboards:
                    unnamed:
                      warehouse_id: "0123456789012345"
                      serialized_dashboard: "{}"
                    complete:
                      display_name: Sales
                      warehouse_id: "0123456789012345"
                      serialized_dashboard: "{}"
                  sql_warehouses:
                    blank:
                      name: "   "
                      cluster_size: 2X-Small
                    named:
                      name: reports
                      cluster_size: 2X-Small
            """
        },
    )
    assert not _found(root, "DG002")
    found = _found(root, "DG013")
    assert {(path, severity) for _, path, severity, _ in found} == {
        ("resources.dashboards.unnamed", Severity.ERROR),
        ("resources.sql_warehouses.blank", Severity.ERROR),
    }
    assert all("the Databricks CLI requires" in message for *_, message in found)


# --- DG002: enumerations -----------------------------------------------------------------------------------------


def test_a_value_outside_an_enumeration_is_an_error_that_says_the_cli_only_warns(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/enum and validate/secret_scope_invalid_permission_level show, the CLI only warns
    ('invalid value ... for enum field') at validate time; the API refuses the value at deploy, so the error stays
    and says so. An empty value is a warning: the CLI's default engine drops it (validate/volume_defaults)."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: enums
                resources:
                  jobs:
                    job:
                      name: job
                      tasks:
                        - task_key: t
                          run_if: SOMETIMES
                          notebook_task:
                            notebook_path: /Workspace/Shared/t
                  secret_scopes:
                    scope:
                      name: scope
                      permissions:
                        - level: fuzz_level
                          group_name: users
                  volumes:
                    files:
                      catalog_name: main
                      schema_name: raw
                      name: files
                      volume_type: ""
            """
        },
    )
    found = _found(root, "DG002")
    assert {(path, severity) for _, path, severity, _ in found} == {
        ("resources.jobs.job.tasks[0].run_if", Severity.ERROR),
        ("resources.secret_scopes.scope.permissions[0].level", Severity.ERROR),
        ("resources.volumes.files.volume_type", Severity.WARNING),
    }
    errors = [message for _, _, severity, message in found if severity is Severity.ERROR]
    assert all("only warns about it at validate time, but the API refuses the value at deploy" in m for m in errors)


# --- DG002: alerts read from a .dbalert.json ---------------------------------------------------------------------

_ALERT_FILE = """
    {
      "evaluation": {"comparison_operator": "EQUAL", "source": {"name": "1", "aggregation": "MAX"}},
      "query_lines": ["select 2"],
      "schedule": {"quartz_cron_schedule": "0 0 * * * ?", "timezone_id": "UTC"}
    }
"""

_ALERT_BUNDLE = """
    bundle:
      name: alerts
    include:
      - resources/*.yml
"""

_ALERT_YAML = """
    resources:
      alerts:
        orders:
          warehouse_id: "0123456789012345"
          display_name: orders
          file_path: ./orders.dbalert.json
"""


def test_an_alert_file_supplies_the_required_fields(tmp_path: Path) -> None:
    """As acceptance/bundle/resources/alerts/with_file_run_from_subdir shows, the CLI reads an alert's evaluation,
    query (query_lines) and schedule from the .dbalert.json its file_path names, relative to the YAML file that
    wrote it: nothing is missing."""
    root = write_dedented(
        tmp_path,
        {"databricks.yml": _ALERT_BUNDLE, "resources/alert.yml": _ALERT_YAML, "resources/orders.dbalert.json": _ALERT_FILE},
    )
    assert _found(root, "DG002", "DG007") == []


def test_an_alert_file_that_lacks_a_field_or_is_missing_is_still_reported(tmp_path: Path) -> None:
    """The same bundle as acceptance/bundle/resources/alerts/with_file_run_from_subdir, with a .dbalert.json without
    a schedule (still missing: an error, since the alerts API creates no alert without one, although the CLI only
    warns), and without the file (DG007's error, not DG002's)."""
    without_schedule = _ALERT_FILE.replace(',\n      "schedule": {"quartz_cron_schedule": "0 0 * * * ?", "timezone_id": "UTC"}', "")
    root = write_dedented(
        tmp_path / "partial",
        {"databricks.yml": _ALERT_BUNDLE, "resources/alert.yml": _ALERT_YAML, "resources/orders.dbalert.json": without_schedule},
    )
    found = _found(root, "DG002", "DG007")
    assert [(rule, path, severity) for rule, path, severity, _ in found] == [("DG002", "resources.alerts.orders", Severity.ERROR)]
    assert "'schedule'" in found[0][3] and "the deploy fails without it" in found[0][3]

    # The file next to the root, not next to the YAML file that names it: not found.
    root = write_dedented(
        tmp_path / "misplaced",
        {"databricks.yml": _ALERT_BUNDLE, "resources/alert.yml": _ALERT_YAML, "orders.dbalert.json": _ALERT_FILE},
    )
    found = _found(root, "DG002", "DG007")
    assert [(rule, path, severity) for rule, path, severity, _ in found] == [
        ("DG007", "resources.alerts.orders.file_path", Severity.ERROR)
    ]


def test_what_the_cli_refuses_in_an_alert_read_from_a_file_is_an_error(tmp_path: Path) -> None:
    """As acceptance/bundle/resources/alerts/with_file_not_allowed_field_error and
    with_file_variable_interpolation_error show, the CLI refuses another field than warehouse_id, display_name,
    file_path, permissions and lifecycle beside file_path, and a ${...} reference in the .dbalert.json."""
    yaml = _ALERT_YAML + '          query_text: "select 3"\n'
    root = write_dedented(
        tmp_path / "field",
        {"databricks.yml": _ALERT_BUNDLE, "resources/alert.yml": yaml, "resources/orders.dbalert.json": _ALERT_FILE},
    )
    assert _severities(root, "DG002") == {("DG002", "resources.alerts.orders.query_text"): Severity.ERROR}
    referencing = _ALERT_FILE.replace('"select 2"', '"select ${var.limit}"')
    root = write_dedented(
        tmp_path / "reference",
        {"databricks.yml": _ALERT_BUNDLE, "resources/alert.yml": _ALERT_YAML, "resources/orders.dbalert.json": referencing},
    )
    assert _severities(root, "DG002") == {("DG002", "resources.alerts.orders.file_path"): Severity.ERROR}


# --- DG002: served_models ----------------------------------------------------------------------------------------


def test_served_models_is_a_deprecation_warning(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/model_serving_conversion shows, the CLI reads served_models as served_entities
    (warning 'Using served_models is deprecated') and accepts the endpoint: a warning, and no required field of the
    old form is missing (scale_to_zero_enabled is optional in served_entities)."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: serving
                resources:
                  model_serving_endpoints:
                    endpoint:
                      name: endpoint
                      config:
                        served_models:
                          - model_name: my-model
                            model_version: "1"
            """
        },
    )
    result = validate(root, env={})
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    found = _found(root, "DG002")
    assert [(path, severity) for _, path, severity, _ in found] == [
        ("resources.model_serving_endpoints.endpoint.config.served_models", Severity.WARNING)
    ]
    assert "deprecated" in found[0][3]


def test_served_models_beside_served_entities_is_an_error(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/model_serving_both_fields_error shows, the CLI refuses served_models together
    with served_entities ('Cannot use both served_models and served_entities')."""
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: serving
                resources:
                  model_serving_endpoints:
                    endpoint:
                      name: endpoint
                      config:
                        served_models:
                          - model_name: my-model
                            model_version: "1"
                            scale_to_zero_enabled: true
                        served_entities:
                          - entity_name: my-entity
                            entity_version: "2"
            """
        },
    )
    found = _found(root, "DG002")
    assert [(path, severity) for _, path, severity, _ in found] == [
        ("resources.model_serving_endpoints.endpoint.config.served_models", Severity.ERROR)
    ]


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
