"""Configuration the Databricks CLI refuses offline (DG011-DG015, and artifact files in DG007): when it errors and
when it does not, as the CLI's own acceptance tests (acceptance/bundle/** of databricks/cli) show it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dab_guard.config import Settings
from dab_guard.engine import validate
from dab_guard.finding import Finding
from tests.files import write_files

# Four lines: the first line of a bundle's own text is line 5 of its databricks.yml.
HEAD = "bundle:\n  name: cli_errors\nworkspace:\n  host: https://adb-1234567890123456.7.azuredatabricks.net\n"


def _bundle(body: str) -> str:
    return HEAD + textwrap.dedent(body).lstrip("\n")


def _findings(root: Path, rule: str, files: dict[str, str], targets: tuple[str, ...] = ()) -> list[Finding]:
    write_files(root, files)
    return [f for f in validate(root, settings=Settings(select=[rule]), targets=targets).findings if f.rule == rule]


# --- DG011 run-as ------------------------------------------------------------------------------------------------


def test_a_null_run_as_is_accepted(tmp_path: Path) -> None:
    """As acceptance/bundle/run_as/empty_run_as shows, `run_as:` with no value validates; only an empty mapping
    (acceptance/bundle/run_as/empty_run_as_dict) is refused."""
    assert not _findings(tmp_path / "null", "DG011", {"databricks.yml": HEAD + "run_as:\n"})
    found = _findings(tmp_path / "dict", "DG011", {"databricks.yml": HEAD + "run_as: {}\n"})
    assert [(f.line, "exactly one identity" in f.message) for f in found] == [(5, True)]


def test_a_target_with_a_null_run_as_keeps_the_top_level_one(tmp_path: Path) -> None:
    """As acceptance/bundle/run_as/empty_override shows, a target's `run_as:` with no value leaves the top-level
    run_as in place: a valid top-level one stays valid, an invalid one is still refused in that target."""
    files = {
        "databricks.yml": _bundle(
            """
        run_as:
          user_name: ""
        targets:
          development:
            default: true
            run_as:
        """
        )
    }
    found = _findings(tmp_path, "DG011", files)
    assert [(f.line, f.targets) for f in found] == [(6, ("development",))]


def test_both_identities_are_refused_but_not_when_one_is_unresolved(tmp_path: Path) -> None:
    """As acceptance/bundle/run_as/invalid_both_sp_and_user shows, both identities are refused; a `${...}` that is
    not known offline may still resolve to "", so dab-guard stays silent on it."""
    both = HEAD + "run_as:\n  service_principal_name: sp\n  user_name: alice@example.com\n"
    assert [f.line for f in _findings(tmp_path / "both", "DG011", {"databricks.yml": both})] == [6]
    unknown = HEAD + "run_as:\n  service_principal_name: ${workspace.current_user.userName}\n  user_name: alice\n"
    assert not _findings(tmp_path / "unknown", "DG011", {"databricks.yml": unknown})


def test_a_model_serving_endpoint_with_run_as_is_not_judged_offline(tmp_path: Path) -> None:
    """acceptance/bundle/run_as/model_serving_different and model_serving_matching differ only in whether run_as is
    the identity that deploys, which is not known offline: dab-guard says nothing either way."""
    files = {
        "databricks.yml": _bundle(
            """
        run_as:
          service_principal_name: my_service_principal
        resources:
          model_serving_endpoints:
            foo:
              name: skynet
        """
        )
    }
    assert not _findings(tmp_path, "DG011", files)


# --- DG012 read-only-field ---------------------------------------------------------------------------------------


def test_read_only_fields_point_at_the_field(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/reserved_deployment_fields shows, deployment_id and version_id are refused
    (kind: BUNDLE is allowed), each at its own line."""
    files = {
        "databricks.yml": _bundle(
            """
        resources:
          jobs:
            my_job:
              name: my_job
              deployment:
                kind: BUNDLE
                deployment_id: dep-123
                version_id: ver-456
        """
        )
    }
    found = _findings(tmp_path, "DG012", files)
    assert [(f.line, f.message.split(" ")[0]) for f in found] == [(11, "deployment_id"), (12, "version_id")]


def test_a_read_only_field_set_in_a_target_is_reported_in_that_target(tmp_path: Path) -> None:
    """acceptance/bundle/resources/volumes/set-volume-path refuses volume_path; written in a target override it
    applies to that target only."""
    files = {
        "databricks.yml": _bundle(
            """
        resources:
          volumes:
            raw:
              catalog_name: main
              schema_name: landing
              name: raw
        targets:
          dev:
            default: true
          prod:
            resources:
              volumes:
                raw:
                  volume_path: /Volumes/main/landing/raw
        """
        )
    }
    found = _findings(tmp_path, "DG012", files)
    assert [(f.line, f.targets) for f in found] == [(18, ("prod",))]


# --- DG013 required-resource-field -------------------------------------------------------------------------------


def test_grants_on_a_resource_without_grants_are_not_checked(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/empty_resources/with_grants shows, `grants` on a job is dropped as an unknown
    field: nothing is required of it. On a schema (acceptance/bundle/resources/grants/schemas/empty_array) an empty
    privileges list is refused."""
    files = {
        "databricks.yml": _bundle(
            """
        resources:
          jobs:
            nightly:
              name: nightly
              grants:
                - privileges: []
          schemas:
            landing:
              catalog_name: main
              name: landing
              grants:
                - principal: data-engineers
                  privileges: []
        """
        )
    }
    found = _findings(tmp_path, "DG013", files)
    assert [(f.line, "no privileges" in f.message) for f in found] == [(16, True)]


def test_a_whitespace_sql_warehouse_name_is_missing(tmp_path: Path) -> None:
    """As acceptance/bundle/validate/sql_warehouse_required_name shows, a name of spaces counts as no name; a
    dashboard's display_name held by an unresolved variable is not judged."""
    files = {
        "databricks.yml": _bundle(
            """
        variables:
          title:
            lookup:
              dashboard: Sales
        resources:
          sql_warehouses:
            blank:
              name: "   "
          dashboards:
            sales:
              display_name: ${var.title}
              warehouse_id: abc
        """
        )
    }
    found = _findings(tmp_path, "DG013", files)
    assert [(f.line, "sql_warehouse 'blank'" in f.message) for f in found] == [(11, True)]


# --- DG014 volume-workspace-path ---------------------------------------------------------------------------------


def test_only_paths_under_volumes_are_refused(tmp_path: Path) -> None:
    """acceptance/bundle/volume_path/valid accepts a /Volumes artifact_path; invalid_root refuses root_path, after
    which the CLI says nothing about the other paths."""
    files = {
        "databricks.yml": HEAD
        + "  root_path: /Volumes/main/default/root\n"
        + "  file_path: /Volumes/main/default/files\n"
        + "  artifact_path: /Volumes/main/default/artifacts\n"
    }
    found = _findings(tmp_path, "DG014", files)
    assert [(f.line, "root_path" in f.message) for f in found] == [(5, True)]


# --- DG015 scripts -----------------------------------------------------------------------------------------------


def test_shell_variables_in_script_content_are_fine(tmp_path: Path) -> None:
    """acceptance/bundle/run/scripts/shell/envvar uses `$foo` in content; acceptance/bundle/run/scripts/
    no-interpolation refuses `${FOO}` (the CLI's reference syntax), but `${FOO:-x}` is not a reference."""
    files = {
        "databricks.yml": _bundle(
            """
        scripts:
          ok:
            content: echo $foo ${BAR:-default}
          refused:
            content: echo ${FOO}
        """
        )
    }
    found = _findings(tmp_path, "DG015", files)
    assert [(f.line, "${FOO}" in f.message) for f in found] == [(9, True)]


def test_a_script_and_a_resource_in_different_files_share_a_key(tmp_path: Path) -> None:
    """As acceptance/bundle/run/scripts/unique_keys/duplicate_resource_and_script_subconfigurations shows, the clash
    is refused wherever the two are written; the finding points at the script."""
    files = {
        "databricks.yml": HEAD + "include:\n  - '*.yml'\n",
        "resource.yml": "resources:\n  pipelines:\n    foo:\n      name: pipeline foo\n",
        "script.yml": "scripts:\n  foo:\n    content: echo hello\n",
    }
    found = _findings(tmp_path, "DG015", files)
    assert [(f.file, f.line, "resources.pipelines.foo" in f.message) for f in found] == [("script.yml", 2, True)]


def test_a_script_in_two_files_is_reported_once_in_the_second(tmp_path: Path) -> None:
    """As acceptance/bundle/run/scripts/unique_keys/duplicate_script_names_in_subconfiguration shows, a script
    written in two included files is refused (the merge would otherwise keep one silently)."""
    files = {
        "databricks.yml": HEAD + "include:\n  - '*.yml'\n",
        "script1.yml": "scripts:\n  foo:\n    content: echo bye\n",
        "script2.yml": "scripts:\n  foo:\n    content: echo hello\n  bar:\n    content: echo bar\n",
    }
    found = _findings(tmp_path, "DG015", files)
    assert [(f.file, f.line) for f in found] == [("script2.yml", 2)]


# --- DG007 artifact files ----------------------------------------------------------------------------------------


def test_artifact_globs_are_checked_once_the_files_exist(tmp_path: Path) -> None:
    """As acceptance/bundle/artifacts/globs_in_files shows, each source that matches nothing is refused, and the
    error goes away once a file matches."""
    files = {
        "databricks.yml": _bundle(
            """
        artifacts:
          test:
            files:
              - source: a*.txt
              - source: subdir/*.txt
        """
        )
    }
    found = _findings(tmp_path, "DG007", files)
    assert [f.line for f in found] == [8, 9]
    (tmp_path / "a1.txt").write_text("", encoding="utf-8")
    (tmp_path / "subdir").mkdir()
    (tmp_path / "subdir" / "hello.txt").write_text("", encoding="utf-8")
    assert not [f for f in validate(tmp_path, settings=Settings(select=["DG007"])).findings if f.rule == "DG007"]


def test_artifact_files_of_a_build_are_not_checked(tmp_path: Path) -> None:
    """As acceptance/bundle/artifacts/build_and_files shows, validate accepts a file the build command will write:
    the CLI expands such globs only after building, at deploy."""
    files = {
        "databricks.yml": _bundle(
            """
        artifacts:
          custom:
            build: touch built.txt
            files:
              - source: built.txt
              - source: "a[.txt"
        """
        )
    }
    assert not _findings(tmp_path, "DG007", files)


def test_a_malformed_glob_is_refused_even_above_the_root(tmp_path: Path) -> None:
    """As acceptance/bundle/artifacts/globs_invalid shows, a malformed pattern is refused whatever folder it names,
    `../a[.txt` included."""
    files = {
        "databricks.yml": _bundle(
            """
        artifacts:
          test:
            files:
              - source: "../a[.txt"
              - source: "./a[.txt"
        """
        )
    }
    found = _findings(tmp_path, "DG007", files)
    assert [(f.line, "syntax error in pattern" in f.message) for f in found] == [(8, True), (9, True)]
