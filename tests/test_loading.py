"""Loading a bundle as the Databricks CLI does: every behaviour of issue 2's "Loading" list, through the engine
(``dab_guard.engine.validate``) and through the command line (``dab_guard.cli.main``)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from dab_guard.bundle.loader import BundleError
from dab_guard.bundle.resolve import Target
from dab_guard.cli import main
from dab_guard.config import Settings
from dab_guard.engine import Run, validate
from dab_guard.finding import Loc
from tests.files import write_dedented

# --- helpers -----------------------------------------------------------------------------------------------------


def resolved(result: Run, target: str | None = None) -> Target:
    return result.resolved[target or result.targets[0]]


def config(root: Path, target: str | None = None, **kwargs: Any) -> Any:
    """The resolved configuration of one target."""
    result = validate(root, **kwargs)
    return resolved(result, target).config


def only(rule: str) -> Settings:
    return Settings(select=[rule])


def found(result: Run, rule: str) -> list[tuple[str, int, int]]:
    return [(f.file, f.line, f.column) for f in result.findings if f.rule == rule]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


JOB = """
    resources:
      jobs:
        train:
          name: train
          tasks:
            - task_key: train
              notebook_task:
                notebook_path: /Workspace/Shared/train
"""


# --- 1. finding the bundle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml"])
def test_a_folder_finds_any_of_the_four_root_names(tmp_path: Path, name: str) -> None:
    write_dedented(tmp_path, {name: "bundle:\n  name: rooted\n"})
    result = validate(tmp_path)
    assert result.bundle.root_file == name
    assert result.bundle_name == "rooted"


def test_an_explicit_root_file_may_have_any_name(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"my bundle.example": "bundle:\n  name: example\n", "databricks.yml": "bundle:\n  name: other\n"})
    result = validate(tmp_path / "my bundle.example")
    assert result.bundle_name == "example"
    assert result.bundle.root_dir == tmp_path.resolve()


def test_without_a_path_the_bundle_is_found_walking_up(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: above\n", "src/pkg/module.py": "x = 1\n"})
    result = validate(None, cwd=tmp_path / "src" / "pkg")
    assert result.bundle_name == "above"


def test_the_cli_walks_up_from_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: above\n", "src/notes.txt": "x\n"})
    monkeypatch.chdir(tmp_path / "src")
    code, out, _ = run(capsys, "validate", "--format", "json", "--select", "DG0")
    assert code == 0
    assert json.loads(out)["bundle"] == "above"


def test_several_root_files_in_one_folder_are_a_finding(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: a\n", "bundle.yml": "bundle:\n  name: b\n"})
    result = validate(tmp_path, settings=only("DG004"))
    assert [f.file for f in result.findings] == ["bundle.yml"]
    assert "several root files" in result.findings[0].message


def test_no_bundle_is_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError):
        validate(tmp_path / "empty")
    code, out, err = run(capsys, "validate", str(tmp_path / "empty"))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("dab-guard: ")
    code, _, err = run(capsys, "validate", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in err and "Traceback" not in err


# --- 2. YAML as go-yaml v3 reads it ------------------------------------------------------------------------------


def test_yaml_1_2_scalars(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: scalars
                variables:
                  words: {default: [yes, no, on, off, y, n]}
                  octal_like: {default: 0755}
                  octal: {default: 0o17}
                  hex: {default: 0x1F}
                  nothing: {default: ~}
                  boolean: {default: true}
                  quoted: {default: "true"}
                  number: {default: 1.5}
            """
        },
    )
    variables = resolved(validate(tmp_path)).variables
    assert variables["words"].value == ["yes", "no", "on", "off", "y", "n"]
    assert variables["octal_like"].value == 755
    assert variables["octal"].value == 15
    assert variables["hex"].value == 31
    assert variables["nothing"].value is None
    assert variables["boolean"].value is True
    assert variables["quoted"].value == "true"
    assert variables["number"].value == 1.5


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: anchors
                cluster_defaults: &defaults
                  spark_version: 16.4.x-cpu-ml-scala2.12
                  num_workers: 1
                tags: &tags
                  team: ml
                resources:
                  jobs:
                    train:
                      name: train
                      tags: *tags
                      job_clusters:
                        - job_cluster_key: main
                          new_cluster:
                            <<: [*defaults, {node_type_id: i3.xlarge, num_workers: 9}]
                            num_workers: 2
            """
        },
    )
    job = config(tmp_path)["resources"]["jobs"]["train"]
    assert job["tags"] == {"team": "ml"}
    # The mapping's own keys win over merged ones; earlier merged mappings win over later ones.
    assert job["job_clusters"][0]["new_cluster"] == {
        "spark_version": "16.4.x-cpu-ml-scala2.12",
        "num_workers": 2,
        "node_type_id": "i3.xlarge",
    }


def test_keys_are_strings(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: keys
                resources:
                  jobs:
                    train:
                      name: train
                      tags:
                        1: one
                        true: yes
                        ? [a, b]
                        : composite
            """
        },
    )
    result = validate(tmp_path)
    # go-yaml reads `1` and `true` as an int and a bool, and the CLI refuses keys that are not strings.
    assert found(result, "DG001") == [("databricks.yml", 8, 9), ("databricks.yml", 9, 9), ("databricks.yml", 10, 11)]


def test_positions_are_1_based_for_keys_and_values(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: positions\nworkspace:\n  host: https://example.cloud.databricks.com\n"})
    target = resolved(validate(tmp_path))
    assert target.config.key_locs["bundle"] == Loc("databricks.yml", 1, 1)
    assert target.config["bundle"].val_locs["name"] == Loc("databricks.yml", 2, 9)
    assert target.locate(("workspace", "host")) == (Loc("databricks.yml", 4, 9), None)
    assert target.locate(("workspace", "host"), on_key=True) == (Loc("databricks.yml", 4, 3), None)
    # A key that does not exist is located at the deepest key that does.
    assert target.locate(("workspace", "profile"))[0] == Loc("databricks.yml", 3, 1)


# --- 3. includes and merging -------------------------------------------------------------------------------------


def _job_names(root: Path) -> list[str]:
    return list(config(root)["resources"]["jobs"])


def _job_file(name: str) -> str:
    return f"resources:\n  jobs:\n    {name}:\n      name: {name}\n"


def test_a_star_never_crosses_a_slash(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: globs\ninclude:\n  - resources/*.yml\n",
            "resources/top.yml": _job_file("top"),
            "resources/nested/deep.yml": _job_file("deep"),
        },
    )
    assert _job_names(tmp_path) == ["top"]


def test_a_double_star_is_a_single_star(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: globs\ninclude:\n  - resources/**/*.yml\n",
            "resources/top.yml": _job_file("top"),
            "resources/one/level.yml": _job_file("level"),
            "resources/one/two/deeper.yml": _job_file("deeper"),
        },
    )
    assert _job_names(tmp_path) == ["level"]


def test_a_star_matches_dotfiles_and_matches_are_sorted(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: globs\ninclude:\n  - resources/*.yml\n",
            "resources/b.yml": _job_file("b") + "workspace:\n  host: https://b.example.com\n",
            "resources/a.yml": _job_file("a") + "workspace:\n  host: https://a.example.com\n",
            "resources/.hidden.yml": _job_file("hidden"),
        },
    )
    merged = config(tmp_path)
    assert list(merged["resources"]["jobs"]) == ["hidden", "a", "b"]
    assert merged["workspace"]["host"] == "https://b.example.com"  # the last file in sorted order wins


def test_a_file_matched_twice_is_read_once(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: once\ninclude:\n  - resources/*.yml\n  - resources/train.yml\n",
            "resources/train.yml": _job_file("train") + "permissions:\n  - level: CAN_VIEW\n    group_name: users\n",
        },
    )
    result = validate(tmp_path)
    assert found(result, "DG005") == []
    assert len(resolved(result).config["permissions"]) == 1


def test_only_yaml_and_json_files_are_included(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: kinds\ninclude:\n  - resources/*\n",
            "resources/a.json": json.dumps({"resources": {"jobs": {"from_json": {"name": "j"}}}}),
            "resources/b.yaml": _job_file("from_yaml"),
            "resources/notes.txt": "not configuration\n",
        },
    )
    result = validate(tmp_path, settings=only("DG004"))
    assert list(resolved(result).config["resources"]["jobs"]) == ["from_json", "from_yaml"]
    assert [f.message for f in result.findings] == [
        "include 'resources/*' matches resources/notes.txt, which is not a .yml, .yaml or .json file"
    ]


def test_merge_maps_recursively_concatenate_sequences_replace_scalars_never_null(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: merging
                include:
                  - more.yml
                workspace:
                  host: https://root.example.com
                  root_path: /Workspace/Shared/root
                permissions:
                  - level: CAN_VIEW
                    group_name: users
                resources:
                  jobs:
                    first:
                      name: first
            """,
            "more.yml": """
                workspace:
                  host: https://include.example.com
                  root_path: null
                permissions:
                  - level: CAN_MANAGE
                    group_name: admins
                resources:
                  jobs:
                    second:
                      name: second
            """,
        },
    )
    merged = config(tmp_path)
    assert list(merged["resources"]["jobs"]) == ["first", "second"]
    assert [p["group_name"] for p in merged["permissions"]] == ["users", "admins"]
    assert merged["workspace"]["host"] == "https://include.example.com"
    assert merged["workspace"]["root_path"] == "/Workspace/Shared/root"


# --- 4. targets --------------------------------------------------------------------------------------------------

TARGETS = """
    bundle:
      name: targets
    workspace:
      host: https://root.example.com
      root_path: /Workspace/Shared/root
    run_as:
      user_name: someone@example.com
    variables:
      catalog:
        default: main
      pool:
        default: pool-root
      settings:
        type: complex
        default:
          a: 1
          b: 2
    resources:
      jobs:
        train:
          name: train
          max_concurrent_runs: 1
          tags:
            owner: ml
    targets:
      dev:
        default: true
      prod:
        mode: production
        cluster_id: 0101-000000-abcdefgh
        workspace:
          host: https://prod.example.com
        run_as:
          service_principal_name: 6f0c6e5e-0000-0000-0000-000000000000
        variables:
          catalog: prod_catalog
          pool:
            default: pool-prod
          settings:
            a: 3
        resources:
          jobs:
            train:
              max_concurrent_runs: 2
              tags:
                env: prod
"""


def test_a_target_merges_sections_and_replaces_others(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": TARGETS})
    prod = config(tmp_path, "prod")
    assert prod["workspace"] == {"host": "https://prod.example.com", "root_path": "/Workspace/Shared/root"}
    assert prod["resources"]["jobs"]["train"]["max_concurrent_runs"] == 2
    assert prod["resources"]["jobs"]["train"]["tags"] == {"owner": "ml", "env": "prod"}
    assert prod["run_as"] == {"service_principal_name": "6f0c6e5e-0000-0000-0000-000000000000"}
    assert prod["bundle"]["mode"] == "production"
    assert prod["bundle"]["cluster_id"] == "0101-000000-abcdefgh"
    dev = config(tmp_path, "dev")
    assert dev["run_as"] == {"user_name": "someone@example.com"}
    assert "mode" not in dev["bundle"]


def test_target_variables_shorthand_default_and_complex_replace(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": TARGETS})
    result = validate(tmp_path)
    prod, dev = resolved(result, "prod").variables, resolved(result, "dev").variables
    assert (prod["catalog"].value, prod["catalog"].source) == ("prod_catalog", "target")
    assert prod["pool"].value == "pool-prod"
    assert prod["settings"].value == {"a": 3}  # a complex value replaces, it does not merge
    assert (dev["catalog"].value, dev["catalog"].source) == ("main", "default")
    assert dev["settings"].value == {"a": 1, "b": 2}


def test_legacy_environments_are_targets(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: legacy
                workspace:
                  host: https://root.example.com
                environments:
                  staging:
                    workspace:
                      host: https://staging.example.com
            """
        },
    )
    result = validate(tmp_path)
    assert result.targets == ["staging"]
    assert resolved(result).config["workspace"]["host"] == "https://staging.example.com"
    assert "environments" not in resolved(result).config


def test_no_targets_means_one_target_named_default(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: plain\n" + textwrap.dedent(JOB)})
    result = validate(tmp_path)
    assert result.targets == ["default"]
    assert config(tmp_path)["resources"]["jobs"]["train"]["name"] == "train"


def test_named_lists_merge_by_key(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: named
                resources:
                  jobs:
                    train:
                      name: train
                      parameters:
                        - name: catalog
                          default: main
                      job_clusters:
                        - job_cluster_key: small
                          new_cluster: {num_workers: 1, node_type_id: i3.xlarge}
                        - job_cluster_key: big
                          new_cluster: {num_workers: 8}
                      tasks:
                        - task_key: train
                          job_cluster_key: small
                          notebook_task: {notebook_path: /Workspace/Shared/train}
                  pipelines:
                    etl:
                      name: etl
                      clusters:
                        - num_workers: 1
                          node_type_id: i3.xlarge
                        - label: maintenance
                          num_workers: 1
                targets:
                  prod:
                    resources:
                      jobs:
                        train:
                          parameters:
                            - name: catalog
                              default: prod
                          job_clusters:
                            - job_cluster_key: extra
                              new_cluster: {num_workers: 2}
                            - job_cluster_key: small
                              new_cluster: {num_workers: 4}
                          tasks:
                            - task_key: train
                              job_cluster_key: big
                      pipelines:
                        etl:
                          clusters:
                            - label: Default
                              num_workers: 3
            """
        },
    )
    prod = config(tmp_path, "prod")
    job = prod["resources"]["jobs"]["train"]
    # Merged into the first entry with the key, which keeps its position.
    assert [c["job_cluster_key"] for c in job["job_clusters"]] == ["small", "big", "extra"]
    assert job["job_clusters"][0]["new_cluster"] == {"num_workers": 4, "node_type_id": "i3.xlarge"}
    assert len(job["tasks"]) == 1 and job["tasks"][0]["job_cluster_key"] == "big"
    assert job["tasks"][0]["notebook_task"] == {"notebook_path": "/Workspace/Shared/train"}
    assert job["parameters"] == [{"name": "catalog", "default": "prod"}]
    # Pipeline clusters merge by lower-cased label; a missing label is "default".
    clusters = prod["resources"]["pipelines"]["etl"]["clusters"]
    assert len(clusters) == 2
    assert (clusters[0]["num_workers"], clusters[0]["node_type_id"]) == (3, "i3.xlarge")


# --- 5. references -----------------------------------------------------------------------------------------------

REFERENCES = """
    bundle:
      name: refs
    variables:
      catalog:
        default: main
      cluster:
        type: complex
        default:
          spark_version: 16.4.x-cpu-ml-scala2.12
          init_scripts: [first.sh, second.sh]
      pool:
        lookup:
          instance_pool: ml-pool
    resources:
      jobs:
        train:
          name: train-${bundle.name}-${bundle.target}-${bundle.environment}
          tags:
            catalog: ${var.catalog}
            runtime: ${var.cluster.spark_version}
            script: ${var.cluster.init_scripts[1]}
            pool: ${var.pool}
            job_id: ${resources.jobs.train.id}
            user: ${workspace.current_user.userName}
            root: ${workspace.root_path}
    targets:
      dev:
        default: true
      prod:
        workspace:
          root_path: /Workspace/Shared/.bundle/${bundle.name}/${bundle.target}
        variables:
          catalog: prod_catalog
"""


def test_references_are_substituted(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": REFERENCES})
    job = config(tmp_path, "prod")["resources"]["jobs"]["train"]
    assert job["name"] == "train-refs-prod-prod"
    assert job["tags"]["catalog"] == "prod_catalog"
    assert job["tags"]["runtime"] == "16.4.x-cpu-ml-scala2.12"
    assert job["tags"]["script"] == "second.sh"
    assert job["tags"]["root"] == "/Workspace/Shared/.bundle/refs/prod"


def test_what_is_unknown_offline_stays_unknown(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": REFERENCES})
    result = validate(tmp_path)
    tags = resolved(result, "dev").config["resources"]["jobs"]["train"]["tags"]
    assert tags["pool"] == "${var.pool}"
    assert tags["job_id"] == "${resources.jobs.train.id}"
    assert tags["user"] == "${workspace.current_user.userName}"
    # The default root_path is under the deploying user's home (~/.bundle/refs/dev): not known offline.
    assert tags["root"] == "${workspace.root_path}"
    assert found(result, "DG006") == []


def test_variable_precedence(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": REFERENCES})

    def catalog(**kwargs: Any) -> Any:
        return config(tmp_path, "prod", **kwargs)["resources"]["jobs"]["train"]["tags"]["catalog"]

    assert catalog(env={}) == "prod_catalog"
    assert catalog(env={"BUNDLE_VAR_catalog": "from_env"}) == "from_env"
    assert catalog(env={"BUNDLE_VAR_catalog": "from_env"}, variables={"catalog": "from_flag"}) == "from_flag"
    assert config(tmp_path, "dev", env={})["resources"]["jobs"]["train"]["tags"]["catalog"] == "main"


def test_var_flag_and_environment_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: flags
                variables:
                  runtime:
                    default: 16.4.x-cpu-ml-scala2.12
                resources:
                  jobs:
                    train:
                      name: train
                      tags:
                        marker: ${var.runtime}
                      tasks:
                        - task_key: t
                          job_cluster_key: ${var.runtime}
                          notebook_task: {notebook_path: /Workspace/Shared/x}
            """
        },
    )
    monkeypatch.setenv("BUNDLE_VAR_runtime", "from_env")
    _, out, _ = run(capsys, "validate", str(tmp_path), "--format", "json", "--select", "DG008")
    assert "'from_env'" in json.loads(out)["findings"][0]["message"]
    _, out, _ = run(capsys, "validate", str(tmp_path), "--format", "json", "--select", "DG008", "--var", "runtime=from_flag")
    assert "'from_flag'" in json.loads(out)["findings"][0]["message"]


# --- 6. paths relative to the file that defines them -------------------------------------------------------------


def test_paths_are_relative_to_the_yaml_file_that_wrote_them(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: paths
                include:
                  - resources/*.yml
                variables:
                  script:
                    default: ../src/from_variable.py
                targets:
                  dev:
                    default: true
                  prod:
                    resources:
                      jobs:
                        train:
                          tasks:
                            - task_key: train
                              spark_python_task:
                                python_file: src/prod.py
            """,
            "resources/train.yml": """
                resources:
                  jobs:
                    train:
                      name: train
                      tasks:
                        - task_key: train
                          existing_cluster_id: abc
                          spark_python_task:
                            python_file: ../src/train.py
                        - task_key: other
                          existing_cluster_id: abc
                          spark_python_task:
                            python_file: ${var.script}
            """,
        },
    )
    result = validate(tmp_path, settings=only("DG007"))
    path = ("resources", "jobs", "train", "tasks", 0, "spark_python_task", "python_file")
    dev, prod = resolved(result, "dev"), resolved(result, "prod")
    assert dev.local_path(path, dev.config["resources"]["jobs"]["train"]["tasks"][0]["spark_python_task"]["python_file"]) == PurePosixPath("src/train.py")
    assert prod.local_path(path, "src/prod.py") == PurePosixPath("src/prod.py")
    # A value from a variable is relative to the file that uses the variable (the CLI's rule).
    var_path = ("resources", "jobs", "train", "tasks", 1, "spark_python_task", "python_file")
    assert dev.local_path(var_path, "../src/from_variable.py") == PurePosixPath("src/from_variable.py")
    assert dev.local_path(path, "/Workspace/Shared/train.py") is None
    assert dev.local_path(path, "${workspace.file_path}/train.py") is None
    missing = {(f.file, f.line, f.targets) for f in result.findings}
    assert missing == {
        ("resources/train.yml", 9, ("dev",)),
        ("resources/train.yml", 13, ("dev", "prod")),
        ("databricks.yml", 18, ("prod",)),
    }


# --- 7. targets to check, dedup, and where findings point --------------------------------------------------------

DUPLICATES = """
    bundle:
      name: dedup
    variables:
      cluster:
        description: the cluster key, misspelled
        default: mian
    resources:
      jobs:
        train:
          name: train
          job_clusters:
            - job_cluster_key: main
              new_cluster: {num_workers: 1}
          tasks:
            - task_key: a
              job_cluster_key: ${var.cluster}
              spark_python_task: {python_file: /Workspace/Shared/a.py}
            - task_key: b
              job_cluster_key: main
              spark_python_task: {python_file: /Workspace/Shared/b.py}
            - task_key: c
              job_cluster_key: main
              spark_python_task: {python_file: /Workspace/Shared/c.py}
    targets:
      dev:
        default: true
      staging: {}
      prod:
        resources:
          jobs:
            train:
              tasks:
                - task_key: b
                  job_cluster_key: mani
"""


def test_a_finding_in_several_targets_is_reported_once_naming_them(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": DUPLICATES})
    result = validate(tmp_path, settings=only("DG008"))
    assert [(f.line, f.targets) for f in result.findings] == [(16, ("dev", "staging", "prod")), (34, ("prod",))]


def test_target_option_restricts_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": DUPLICATES})
    result = validate(tmp_path, settings=only("DG008"), targets=["dev", "staging"])
    assert result.targets == ["dev", "staging"]
    assert [(f.line, f.targets) for f in result.findings] == [(16, ("dev", "staging"))]
    code, out, _ = run(capsys, "validate", str(tmp_path), "-t", "prod", "--format", "json", "--select", "DG008")
    assert code == 1
    report = json.loads(out)
    assert report["targets"] == ["prod"]
    assert {f["line"] for f in report["findings"]} == {16, 34}
    code, _, err = run(capsys, "validate", str(tmp_path), "-t", "qa")
    assert code == 2 and "unknown target qa" in err


def test_findings_point_at_the_override_and_the_variable_use(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": DUPLICATES})
    findings = validate(tmp_path, settings=only("DG008")).findings
    from_variable, from_override = findings
    assert (from_variable.line, from_variable.column) == (16, 28)  # where ${var.cluster} is used
    assert "value of ${var.cluster} defined at databricks.yml:4:3" in from_variable.message
    assert (from_override.file, from_override.line, from_override.column) == ("databricks.yml", 34, 32)
    assert from_override.path == "resources.jobs.train.tasks[1].job_cluster_key"


# --- the command line --------------------------------------------------------------------------------------------

BROKEN = """
    bundle:
      name: cli
    include:
      - resources/*.yml
    targets:
      dev:
        default: true
        workspace:
          host: https://dev.example.com
      prod:
        workspace:
          host: https://prod.example.com
"""

BROKEN_JOB = """
    resources:
      jobs:
        train:
          name: train
          job_clusters:
            - job_cluster_key: main
              new_cluster: {num_workers: 1}
            - job_cluster_key: unused
              new_cluster: {num_workers: 1}
          tasks:
            - task_key: b
              depends_on:
                - task_key: missing
              job_cluster_key: main
              notebook_task: {notebook_path: /Workspace/Shared/b}
            - task_key: a
              job_cluster_key: main
              notebook_task: {notebook_path: ../src/a.py}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return write_dedented(tmp_path, {"databricks.yml": BROKEN, "resources/job.yml": BROKEN_JOB})


def test_json_report_shape_and_order(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(broken), "--format", "json", "--select", "DG007,DG008")
    assert code == 1 and err == ""
    report = json.loads(out)
    assert set(report) == {"version", "bundle", "targets", "findings", "summary"}
    assert (report["version"], report["bundle"], report["targets"]) == (1, "cli", ["dev", "prod"])
    assert report["summary"] == {"error": 2, "warning": 1, "info": 0}
    for finding in report["findings"]:
        assert set(finding) == {"rule", "name", "severity", "message", "file", "line", "column", "path", "targets"}
        assert isinstance(finding["line"], int) and finding["line"] >= 1 and finding["column"] >= 1
        assert finding["targets"] == ["dev", "prod"]
    keys = [(f["file"], f["line"], f["column"], f["rule"]) for f in report["findings"]]
    assert keys == sorted(keys)
    assert [(f["rule"], f["severity"], f["line"]) for f in report["findings"]] == [
        ("DG008", "warning", 8),
        ("DG008", "error", 13),
        ("DG007", "error", 18),
    ]
    assert report["findings"][1]["path"] == "resources.jobs.train.tasks[0].depends_on[0].task_key"
    assert report["findings"][0]["name"] == "task-graph"


def test_text_report(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(broken), "--select", "DG008")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("resources/job.yml:8:28: DG008 [warning] job cluster 'unused'")
    assert lines[0].endswith("(targets: dev, prod)")
    assert lines[-1] == "Found 1 error, 1 warning, 0 infos (bundle cli, targets dev, prod)."


def test_exit_codes_and_strict(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = ("--select", "DG007,DG008")
    assert run(capsys, "validate", str(broken), *mine)[0] == 1
    assert run(capsys, "validate", str(broken), *mine, "--strict")[0] == 1
    # Fix both errors: the unused job cluster is only a warning, which fails the run with --strict only.
    write_dedented(broken, {"resources/job.yml": BROKEN_JOB.replace("missing", "a"), "src/a.py": "print(1)\n"})
    code, out, _ = run(capsys, "validate", str(broken), *mine)
    assert code == 0 and "1 warning" in out
    assert run(capsys, "validate", str(broken), *mine, "--strict")[0] == 1
    assert run(capsys, "validate", str(broken), "--select", "DG007")[0] == 0


def test_bad_option_is_exit_2(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(broken), "--format", "yaml"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_select_and_ignore(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rules(*options: str) -> set[str]:
        _, out, _ = run(capsys, "validate", str(broken), "--format", "json", *options)
        return {f["rule"] for f in json.loads(out)["findings"]}

    assert rules() >= {"DG007", "DG008"}
    assert rules("--select", "DG007") == {"DG007"}
    assert rules("--select", "task-graph") == {"DG008"}
    assert rules("--select", "DG007,DG008", "--ignore", "DG008") == {"DG007"}
    assert rules("--select", "DG00", "--ignore", "DG007,DG008") & {"DG007", "DG008"} == set()
    assert "DG008" not in rules("--ignore", "DG008")


def test_configuration_in_pyproject(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(broken, {"pyproject.toml": '[project]\nname = "x"\n\n[tool.dab-guard]\nselect = ["DG008"]\nseverity = {DG008 = "info"}\n'})
    code, out, _ = run(capsys, "validate", str(broken), "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {("DG008", "info")}


def test_configuration_in_dab_guard_toml_with_per_file_ignores(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(broken, {".dab-guard.toml": 'select = ["DG007", "DG008"]\n[per-file-ignores]\n"resources/*.yml" = ["DG008"]\n'})
    _, out, _ = run(capsys, "validate", str(broken), "--format", "json")
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"DG007"}


def test_an_unknown_configuration_key_is_exit_2(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(broken, {".dab-guard.toml": 'selct = ["DG008"]\n'})
    code, out, err = run(capsys, "validate", str(broken))
    assert code == 2 and out == ""
    assert "unknown configuration key(s): selct" in err and err.count("\n") == 1


def test_suppression_comments(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = BROKEN_JOB.replace(
        "- job_cluster_key: unused", "- job_cluster_key: unused # dab-guard: ignore[DG007, DG008]"
    ).replace(
        "            - task_key: b\n              depends_on:\n",
        "            - task_key: b\n              depends_on:\n                # dab-guard: ignore[DG008]\n",
    )
    write_dedented(broken, {"resources/job.yml": job})
    _, out, _ = run(capsys, "validate", str(broken), "--format", "json", "--select", "DG007,DG008")
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["DG007"]
    # A suppression for another rule does not hide the finding; a bare ignore hides every rule.
    job = job.replace("notebook_path: ../src/a.py}", "notebook_path: ../src/a.py} # dab-guard: ignore[DG104]")
    write_dedented(broken, {"resources/job.yml": job})
    _, out, _ = run(capsys, "validate", str(broken), "--format", "json", "--select", "DG007,DG008")
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["DG007"]
    write_dedented(broken, {"resources/job.yml": job.replace("ignore[DG104]", "ignore")})
    code, out, _ = run(capsys, "validate", str(broken), "--format", "json", "--select", "DG007,DG008")
    assert json.loads(out)["findings"] == [] and code == 0


def test_colour_only_on_a_terminal_and_never_with_no_color(
    broken: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\033[" in run(capsys, "validate", str(broken), "--select", "DG008")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run(capsys, "validate", str(broken), "--select", "DG008")[1]
    monkeypatch.delenv("NO_COLOR")
    assert "\033[" not in run(capsys, "validate", str(broken), "--select", "DG008", "--format", "json")[1]


def test_unparseable_yaml_is_a_finding_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: [unclosed\n"})
    code, out, err = run(capsys, "validate", str(tmp_path), "--format", "json")
    assert code == 1 and "Traceback" not in err
    # Only the syntax error: rules about a configuration that could not be read stay silent.
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["DG001"]



# --- finding the bundle as the CLI does (bundle/root.go, config/filename.go) -----------------------------------


def test_walking_up_tries_each_root_name_in_turn(tmp_path: Path) -> None:
    # The CLI looks for databricks.yml from here to the filesystem root before it looks for databricks.yaml, and so
    # on: a databricks.yml above wins over a bundle.yml here.
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n  name: above\n", "sub/bundle.yml": "bundle:\n  name: here\n"})
    result = validate(None, cwd=tmp_path / "sub")
    assert result.bundle_name == "above"
    assert result.bundle.root_dir == tmp_path.resolve()


def test_several_root_files_are_a_finding_however_the_folder_is_found(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yaml": "bundle:\n  name: a\n", "bundle.yml": "bundle:\n  name: b\n", "src/x.py": ""})
    walked = validate(None, cwd=tmp_path / "src", settings=only("DG004"))
    assert [(f.file, f.line) for f in walked.findings] == [("bundle.yml", 1)]
    named = validate(tmp_path / "bundle.yml", settings=only("DG004"))
    assert [f.file for f in named.findings] == ["databricks.yaml"]  # the other root file, not the one read
    # A root file given by another name is not that folder's root file: the CLI never sees it.
    write_dedented(tmp_path, {"bundle.example": "bundle:\n  name: example\n"})
    assert validate(tmp_path / "bundle.example", settings=only("DG004")).findings == []


# --- includes: what the CLI's glob reads, and what it refuses (loader/process_root_includes.go) -------------------


def test_a_glob_never_reads_a_root_file_as_an_include(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml.example": "bundle:\n  name: example\ninclude:\n  - '*.yml'\n",
            "databricks.yml": "bundle:\n  name: other\n",
            "bundle.yml": "bundle:\n  name: third\n",
            "jobs.yml": _job_file("train"),
        },
    )
    result = validate(tmp_path / "databricks.yml.example")
    assert result.bundle_name == "example"
    assert sorted(result.bundle.files) == ["databricks.yml.example", "jobs.yml"]


def test_a_folder_a_glob_matches_is_a_finding(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: folders\ninclude:\n  - resources/*\n",
            "resources/a.yml": _job_file("a"),
            "resources/nested/b.yml": _job_file("b"),
        },
    )
    result = validate(tmp_path, settings=only("DG004"))
    # Go's filepath.Glob returns folders too, and the CLI refuses what is not a YAML or JSON file.
    assert [(f.line, f.severity.label, f.message) for f in result.findings] == [
        (4, "error", "include 'resources/*' names a folder (resources/nested), not a YAML or JSON file")
    ]
    assert list(resolved(result).config["resources"]["jobs"]) == ["a"]


# --- references: what stays unknown offline -------------------------------------------------------------------


def test_a_workspace_path_under_the_home_folder_is_unknown(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: home
                workspace:
                  root_path: ~/.bundle/${bundle.name}/${bundle.target}
                resources:
                  jobs:
                    train:
                      name: train
                      tasks:
                        - task_key: train
                          existing_cluster_id: abc
                          notebook_task:
                            notebook_path: ${workspace.root_path}/files/train
                        - task_key: score
                          existing_cluster_id: abc
                          spark_python_task:
                            python_file: ${workspace.file_path}/score.py
            """
        },
    )
    result = validate(tmp_path)
    tasks = resolved(result).config["resources"]["jobs"]["train"]["tasks"]
    # The CLI expands "~" to the deploying user's home, which is not known offline: no local path to check.
    assert tasks[0]["notebook_task"]["notebook_path"] == "${workspace.root_path}/files/train"
    assert tasks[1]["spark_python_task"]["python_file"] == "${workspace.file_path}/score.py"
    assert found(result, "DG007") == []


def test_references_in_a_top_level_key_the_cli_drops_are_not_resolved(tmp_path: Path) -> None:
    # The CLI drops unknown top-level keys (such as one that only holds an anchor) when it loads a file; a reference
    # in one is only resolved, and only wrong, in the targets that use the anchor.
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: anchors
                x-job: &job
                  train:
                    name: train-${var.missing}
                targets:
                  dev:
                    resources:
                      jobs:
                        <<: *job
                  prod: {}
            """
        },
    )
    result = validate(tmp_path, settings=only("DG006"))
    assert [(f.line, f.targets) for f in result.findings] == [(5, ("dev",))]


def test_the_variable_note_says_where_the_value_was_set(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": DUPLICATES.replace("      prod:\n", "      prod:\n        variables:\n          cluster: mian2\n")})
    findings = validate(tmp_path, settings=only("DG008"), env={}).findings
    by_target = {f.targets: f.message for f in findings if f.line == 16}
    assert by_target[("dev", "staging")].endswith("(value of ${var.cluster} defined at databricks.yml:4:3)")
    assert "defined at databricks.yml:4:3, set for target 'prod' at databricks.yml:30:16" in by_target[("prod",)]
    env_note = validate(tmp_path, settings=only("DG008"), env={"BUNDLE_VAR_cluster": "x"}, targets=["dev"]).findings[0].message
    assert "set by the environment variable BUNDLE_VAR_cluster" in env_note
    flag_note = validate(tmp_path, settings=only("DG008"), variables={"cluster": "x"}, targets=["dev"]).findings[0].message
    assert "set with --var cluster=..." in flag_note and "'x'" in flag_note


def test_the_overrides_file_sits_between_the_environment_and_the_target(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": REFERENCES,
            ".databricks/bundle/prod/variable-overrides.json": json.dumps({"catalog": "from_file", "pool": "pool-from-file"}),
        },
    )

    def tags(**kwargs: Any) -> Any:
        return config(tmp_path, "prod", **kwargs)["resources"]["jobs"]["train"]["tags"]

    assert tags(env={})["catalog"] == "from_file"
    assert tags(env={"BUNDLE_VAR_catalog": "from_env"})["catalog"] == "from_env"
    # The CLI resolves a lookup variable before it reads the file: its value stays unknown offline.
    assert tags(env={})["pool"] == "${var.pool}"


def test_var_for_an_undeclared_or_complex_variable_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": REFERENCES})
    code, out, err = run(capsys, "validate", str(tmp_path), "--var", "catalgo=x")
    assert (code, out) == (2, "")
    assert err == "dab-guard: --var catalgo=...: the bundle declares no variable 'catalgo' (did you mean 'catalog'?)\n"
    code, _, err = run(capsys, "validate", str(tmp_path), "--var", "cluster=x")
    assert code == 2 and "complex variable" in err and err.count("\n") == 1
    assert run(capsys, "validate", str(tmp_path), "--var", "catalog=x", "--select", "DG006")[0] == 0


# --- configuration: a typo is an error, never a silent no-op --------------------------------------------------


def test_severity_takes_rule_ids_or_names_and_refuses_others(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(broken, {".dab-guard.toml": 'select = ["DG008"]\nseverity = { task-graph = "info" }\n'})
    code, out, _ = run(capsys, "validate", str(broken), "--format", "json")
    assert code == 0 and {f["severity"] for f in json.loads(out)["findings"]} == {"info"}
    write_dedented(broken, {".dab-guard.toml": 'severity = { DG999 = "info" }\n'})
    code, out, err = run(capsys, "validate", str(broken))
    assert (code, out) == (2, "") and "severity.DG999: no rule has this id or name" in err


@pytest.mark.parametrize(
    ("toml", "argv", "expected"),
    [
        ('select = ["DG12"]\n', [], "select: 'DG12' matches no rule"),
        ('ignore = ["acess-mode"]\n', [], "ignore: 'acess-mode' matches no rule"),
        ('[per-file-ignores]\n"resources/*.yml" = ["DG0008"]\n', [], "'DG0008' matches no rule"),
        ("", ["--select", "DG007,DG12"], "--select: 'DG12' matches no rule"),
        ("", ["--ignore", "task-grahp"], "--ignore: 'task-grahp' matches no rule"),
    ],
)
def test_a_selector_that_matches_no_rule_is_exit_2(
    broken: Path, capsys: pytest.CaptureFixture[str], toml: str, argv: list[str], expected: str
) -> None:
    write_dedented(broken, {".dab-guard.toml": toml})
    code, out, err = run(capsys, "validate", str(broken), *argv)
    assert (code, out) == (2, "")
    assert expected in err and err.count("\n") == 1


def test_a_bad_option_is_one_line_on_stderr(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--format", "yaml"], ["--var", "novalue"], ["--no-such-option"]):
        with pytest.raises(SystemExit) as exc:
            main(["validate", str(broken), *argv])
        out, err = capsys.readouterr()
        assert exc.value.code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("dab-guard"), err


def test_an_empty_no_color_leaves_colour_on(
    broken: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value turns colour off
    assert "\033[" in run(capsys, "validate", str(broken), "--select", "DG008")[1]


def test_a_target_has_no_experimental_or_scripts_section_to_merge(tmp_path: Path) -> None:
    # The CLI's target has neither field: it drops them (DG003 reports them), so no rule may act on their contents.
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: hooks
                experimental:
                  scripts:
                    predeploy: echo root
                targets:
                  dev:
                    experimental:
                      scripts:
                        predeploy: echo target
                        pre_deploy: echo typo
            """
        },
    )
    result = validate(tmp_path, settings=Settings(select=["DG003", "DG009"]))
    assert resolved(result).config["experimental"] == {"scripts": {"predeploy": "echo root"}}
    assert [(f.rule, f.line) for f in result.findings] == [("DG003", 8)]


def test_a_target_value_replaces_a_lookup_and_a_target_lookup_replaces_a_default(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": """
                bundle:
                  name: lookups
                variables:
                  pool:
                    lookup:
                      instance_pool: shared-pool
                  cluster:
                    default: 0101-000000-default
                resources:
                  jobs:
                    train:
                      name: train
                      tags:
                        pool: ${var.pool}
                        cluster: ${var.cluster}
                targets:
                  dev:
                    variables:
                      pool: pool-dev
                      cluster:
                        lookup:
                          cluster: dev-cluster
                  prod: {}
            """
        },
    )
    result = validate(tmp_path, env={})
    dev, prod = (resolved(result, name).config["resources"]["jobs"]["train"]["tags"] for name in ("dev", "prod"))
    assert dev == {"pool": "pool-dev", "cluster": "${var.cluster}"}
    assert prod == {"pool": "${var.pool}", "cluster": "0101-000000-default"}
