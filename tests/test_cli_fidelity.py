"""Resolution and offline errors as the Databricks CLI gives them.

Each test is built from what one of the CLI's own acceptance tests shows (``acceptance/bundle/<folder>`` of the
databricks/cli repository, named in its docstring): the bundles here are our own, written to show the same
behaviour. ``dab-guard render`` gives the resolved configuration in the shape of ``databricks bundle validate -o
json``, so most tests read it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dab_guard.bundle.loader import load_bundle
from dab_guard.cli import main
from dab_guard.engine import Run, validate
from dab_guard.render import render_target
from tests.files import write_dedented

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"


def rendered(root: Path, target: str | None = None, **kwargs: Any) -> dict[str, Any]:
    result = validate(root, targets=[target] if target else [], env={}, **kwargs)
    return render_target(result.resolved[target or result.targets[0]])


def findings(result: Run, rule: str) -> list[tuple[str, int, str, str]]:
    return [(f.file, f.line, f.severity.label, f.message) for f in result.findings if f.rule == rule]


def errors(result: Run) -> list[str]:
    return [f"{f.rule} {f.file}:{f.line} {f.message}" for f in result.findings if f.severity.label == "error"]


# --- complex variables ----------------------------------------------------------------------------------------


def test_a_complex_value_written_directly_under_a_target_replaces_the_default(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex: a target gives a complex variable its value without a ``default:``
    wrapper; the CLI accepts it and the value replaces the default whole (fields are not merged)."""
    write_dedented(tmp_path, {"databricks.yml": f"""
        bundle: {{name: complex_target}}
        workspace: {{host: {HOST}}}
        variables:
          cluster:
            type: complex
            default: {{spark_version: 15.4.x-scala2.12, num_workers: 2, policy_id: p-1}}
        resources:
          jobs:
            train:
              name: train
              job_clusters:
                - job_cluster_key: main
                  new_cluster: ${{var.cluster}}
        targets:
          dev:
            default: true
          prod:
            variables:
              cluster:
                spark_version: 16.4.x-scala2.12
                num_workers: 4
    """})
    result = validate(tmp_path, env={})
    assert not [f for f in result.findings if f.rule in ("DG002", "DG003", "DG006")]
    prod = render_target(result.resolved["prod"])
    assert prod["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"] == {"spark_version": "16.4.x-scala2.12", "num_workers": 4}
    assert prod["variables"]["cluster"]["value"] == {"spark_version": "16.4.x-scala2.12", "num_workers": 4}
    dev = render_target(result.resolved["dev"])
    assert dev["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"]["policy_id"] == "p-1"


def test_a_variable_value_key_is_its_value(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex-within-complex: ``value:`` in a definition is the variable's value, and a
    complex value may refer to another complex variable."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: value_key}
        variables:
          conf:
            type: complex
            value: {spark.executor.memory: 4g}
          cluster:
            type: complex
            value:
              num_workers: 2
              spark_conf: ${var.conf}
        resources:
          clusters:
            c: ${var.cluster}
    """})
    result = validate(tmp_path, env={})
    assert not errors(result)
    cluster = render_target(result.resolved["default"])["resources"]["clusters"]["c"]
    assert cluster == {"num_workers": 2, "spark_conf": {"spark.executor.memory": "4g"}, "autotermination_minutes": 60}


def test_fields_of_complex_variables_may_refer_to_each_other(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex-cross-ref: ``a.a_2`` refers to ``b.b_2`` while ``b.b_1`` refers to
    ``a.a_1``; the CLI resolves both, there is no cycle."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: cross_ref}
        variables:
          a:
            default: {a_1: 500, a_2: "${var.b.b_2}"}
          b:
            default: {b_1: "${var.a.a_1}", b_2: 2.5}
    """})
    result = validate(tmp_path, env={})
    assert not findings(result, "DG006")
    variables = render_target(result.resolved["default"])["variables"]
    assert variables["a"]["value"] == {"a_1": 500, "a_2": 2.5}
    assert variables["b"]["value"] == {"b_1": 500, "b_2": 2.5}


@pytest.mark.parametrize(
    "definitions",
    [
        "a:\n  default: {hello: '${var.b}'}\nb:\n  default: {hello: '${var.a}'}\n",  # variables/complex-cycle
        "a:\n  default: {hello: '${var.a}'}\n",  # variables/complex-cycle-self
    ],
    ids=["two", "self"],
)
def test_a_circle_through_a_complex_value_is_the_clis_too_deep_warning(tmp_path: Path, definitions: str) -> None:
    """acceptance/bundle/variables/complex-cycle and complex-cycle-self: the CLI substitutes the mapping round after
    round, then gives up with the warning "references are too deep"; validate succeeds."""
    indented = "".join(f"  {line}\n" for line in definitions.splitlines())
    (tmp_path / "databricks.yml").write_text(f"bundle: {{name: cycle}}\nvariables:\n{indented}", encoding="utf-8")
    result = validate(tmp_path, env={})
    assert not errors(result)
    [(file, line, severity, message)] = findings(result, "DG006")
    assert (file, severity) == ("databricks.yml", "warning") and line in (4, 6)
    assert "too deep" in message


def test_a_circle_of_plain_references_is_an_error(tmp_path: Path) -> None:
    """acceptance/bundle/variables/cycle: ``a: ${var.b}``, ``b: ${var.a}`` is "cycle detected in field resolution"."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: cycle}
        variables:
          a:
            default: ${var.b}
          b:
            default: ${var.a}
        resources:
          jobs:
            j: {name: "${var.a}"}
    """})
    result = validate(tmp_path, env={})
    [(file, line, severity, message)] = findings(result, "DG006")
    assert (file, severity) == ("databricks.yml", "error") and line in (4, 6) and "cycle" in message


def test_indexing_past_a_reference_or_a_scalar_is_an_error(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex-transitive-deeper: ``${var.catalog.name}`` where the value of
    ``catalog`` is the reference ``${var.catalog_1}`` is "expected a map to index"; indexing a plain string is an
    error too."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: deeper}
        variables:
          catalog_1:
            default: {name: hive_metastore}
          catalog:
            default: ${var.catalog_1}
          plain:
            default: main
        resources:
          jobs:
            j:
              name: "${var.catalog.name}"
              description: "${var.plain.field}"
    """})
    result = validate(tmp_path, env={})
    messages = {line: message for _, line, severity, message in findings(result, "DG006") if severity == "error"}
    assert set(messages) == {12, 13}
    assert "expected a map to index" in messages[12]
    assert "not a mapping" in messages[13]


# --- references -------------------------------------------------------------------------------------------------


def test_variable_names_outside_ascii_resolve(tmp_path: Path) -> None:
    """acceptance/bundle/variables/unicode_reference: ``${var.变量}`` is a reference like any other."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: unicode}
        variables:
          变量:
            default: hello
        resources:
          jobs:
            foo: {name: "${var.变量}"}
    """})
    assert rendered(tmp_path)["resources"]["jobs"]["foo"]["name"] == "hello"


def test_a_reference_spelt_by_another_resolves_per_target(tmp_path: Path) -> None:
    """acceptance/bundle/variables/var_in_var: ``${var.foo_${var.tail}}`` names ``foo_x`` or ``foo_y`` by target."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: var_in_var}
        variables:
          foo_x: {default: from x}
          foo_y: {default: from y}
          tail: {default: x}
          final: {default: "${var.foo_${var.tail}}"}
        targets:
          target_x: {variables: {tail: x}}
          target_y: {variables: {tail: y}}
    """})
    assert rendered(tmp_path, "target_x")["variables"]["final"]["value"] == "from x"
    assert rendered(tmp_path, "target_y")["variables"]["final"]["value"] == "from y"


# --- merging after substitution ------------------------------------------------------------------------------------


def test_job_clusters_merge_by_key_after_variables_are_substituted(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex-simple and override/job_cluster_var: a target's job cluster whose key (or
    whole ``new_cluster``) comes from a variable merges with the cluster of the same key once substituted."""
    write_dedented(tmp_path, {"databricks.yml": f"""
        bundle: {{name: merge_after}}
        workspace: {{host: {HOST}}}
        variables:
          key: {{default: main}}
          cluster:
            type: complex
            default: {{node_type_id: i3.2xlarge, num_workers: 2}}
        resources:
          jobs:
            j:
              name: j
              job_clusters:
                - job_cluster_key: main
                  new_cluster:
                    spark_version: 15.4.x-scala2.12
                    node_type_id: i3.xlarge
        targets:
          dev:
            resources:
              jobs:
                j:
                  job_clusters:
                    - job_cluster_key: ${{var.key}}
                      new_cluster: ${{var.cluster}}
    """})
    clusters = rendered(tmp_path, "dev")["resources"]["jobs"]["j"]["job_clusters"]
    assert clusters == [
        {"job_cluster_key": "main", "new_cluster": {"node_type_id": "i3.2xlarge", "num_workers": 2, "spark_version": "15.4.x-scala2.12"}}
    ]


# --- variable values (DG010) ---------------------------------------------------------------------------------------


def test_a_required_variable_without_a_value_is_an_error_only_in_targets_that_leave_it_empty(tmp_path: Path) -> None:
    """acceptance/bundle/variables/vanilla and env_overrides: "no value assigned to required variable b" in the
    target that gives none; a value from BUNDLE_VAR_b or --var is enough."""
    write_dedented(tmp_path, {"databricks.yml": f"""
        bundle: {{name: required}}
        workspace: {{host: {HOST}}}
        variables:
          a: {{default: abc}}
          b:
            description: required variable
        targets:
          dev: {{default: true, variables: {{b: given}}}}
          prod: {{}}
    """})
    result = validate(tmp_path, env={})
    [finding] = [f for f in result.findings if f.rule == "DG010"]
    assert (finding.file, finding.line, finding.targets) == ("databricks.yml", 5, ("prod",))
    assert "no value assigned to required variable b" in finding.message
    assert not [f for f in validate(tmp_path, env={"BUNDLE_VAR_b": "x"}).findings if f.rule == "DG010"]
    assert not [f for f in validate(tmp_path, env={}, variables={"b": "x"}).findings if f.rule == "DG010"]


def test_a_complex_variable_is_not_taken_from_the_environment(tmp_path: Path) -> None:
    """The CLI's variable assignment refuses BUNDLE_VAR_<name> for a complex variable (mutator/set_variables.go, as
    acceptance/bundle/variables/complex shows complex values come from the configuration)."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: complex_env}
        variables:
          cluster:
            type: complex
            default: {num_workers: 1}
    """})
    [(file, line, severity, message)] = findings(validate(tmp_path, env={"BUNDLE_VAR_cluster": "x"}), "DG010")
    assert (file, line, severity) == ("databricks.yml", 3, "error") and "complex" in message


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        ("foo", "is not JSON", 1),
        ('["foo"]', "must be a JSON object", 1),
        ('{"cluster_key": {"a": 1}}', "cluster_key is not of type complex", 1),
        ('{\n  "cluster": "small"\n}', "cluster is of type complex", 2),
    ],
    ids=["not-json", "not-an-object", "complex-for-plain", "plain-for-complex"],
)
def test_a_variables_file_the_cli_refuses(tmp_path: Path, text: str, words: str, line: int) -> None:
    """acceptance/bundle/variables/file-defaults: invalid JSON, a file that is not an object, and values of the wrong
    kind stop the CLI; the finding points into the file."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: file_defaults}
        variables:
          cluster: {type: complex, default: {node_type_id: x}}
          cluster_key: {default: main}
    """})
    overrides = tmp_path / ".databricks" / "bundle" / "default" / "variable-overrides.json"
    overrides.parent.mkdir(parents=True)
    overrides.write_text(text, encoding="utf-8")
    [(file, at, severity, message)] = findings(validate(tmp_path, env={}), "DG010")
    assert (file, at, severity) == (".databricks/bundle/default/variable-overrides.json", line, "error")
    assert words in message


def test_the_variables_file_gives_values_the_configuration_lacks(tmp_path: Path) -> None:
    """acceptance/bundle/variables/file-defaults: the file's values fill variables without a default, a target's
    value loses to the file, and --var wins over both."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: file_values}
        variables:
          cluster: {type: complex}
          cluster_key:
        targets:
          default: {default: true, variables: {cluster_key: from_target}}
    """})
    overrides = tmp_path / ".databricks" / "bundle" / "default" / "variable-overrides.json"
    overrides.parent.mkdir(parents=True)
    overrides.write_text(json.dumps({"cluster": {"node_type_id": "i3.xlarge"}, "cluster_key": "from_file"}), encoding="utf-8")
    variables = rendered(tmp_path)["variables"]
    assert variables["cluster"]["value"] == {"node_type_id": "i3.xlarge"}
    assert variables["cluster_key"]["value"] == "from_file"
    assert rendered(tmp_path, variables={"cluster_key": "flag"})["variables"]["cluster_key"]["value"] == "flag"


def test_a_variable_given_twice_with_var_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """acceptance/bundle/variables/arg-repeat: ``--var a=one --var a=two`` fails ("already been assigned")."""
    write_dedented(tmp_path, {"databricks.yml": "bundle: {name: repeat}\nvariables:\n  a: {default: x}\n"})
    token = "dapi" + "0123456789abcdef0123456789abcdef"
    assert main(["validate", str(tmp_path), "--var", "a=one", "--var", f"a={token}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--var a=..." in err and "already given a value" in err
    assert token not in err and "one" not in err.replace("one of", "")


# --- dab-guard render ---------------------------------------------------------------------------------------------


def test_render_prints_one_target_as_the_cli_shapes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """acceptance/bundle/variables/complex (out.dev.json): values are converted to the schema's types (a
    ``spark_conf`` value is a string, ``num_workers`` from a string variable an integer), ``targets`` and ``include``
    are gone, and each variable shows its ``value``."""
    write_dedented(tmp_path, {
        "databricks.yml": f"""
            bundle: {{name: render_me}}
            include: [resources/*.yml]
            workspace: {{host: {HOST}}}
            variables:
              workers: {{default: "4"}}
            targets:
              dev: {{default: true}}
              prod: {{}}
        """,
        "resources/job.yml": """
            resources:
              jobs:
                train:
                  name: train
                  job_clusters:
                    - job_cluster_key: main
                      new_cluster:
                        spark_version: 16.4.x-cpu-ml-scala2.12
                        num_workers: ${var.workers}
                        spark_conf: {spark.speculation: true}
        """,
    })
    assert main(["render", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "targets" not in out and "include" not in out
    assert out["bundle"]["target"] == "dev"
    cluster = out["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"]
    assert cluster["num_workers"] == 4
    assert cluster["spark_conf"] == {"spark.speculation": "true"}
    assert out["variables"]["workers"] == {"default": "4", "value": "4"}
    assert main(["render", str(tmp_path), "-t", "prod"]) == 0
    assert json.loads(capsys.readouterr().out)["bundle"]["target"] == "prod"


def test_render_needs_a_target_when_the_cli_would_ask_for_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI picks the only target or the one marked default, and otherwise asks (select_default_target)."""
    write_dedented(tmp_path, {"databricks.yml": "bundle: {name: two}\ntargets:\n  a: {}\n  b: {}\n"})
    assert load_bundle(tmp_path).default_target() is None
    assert main(["render", str(tmp_path)]) == 2
    assert "name one with -t" in capsys.readouterr().err
    assert main(["render", str(tmp_path), "-t", "nope"]) == 2


def test_render_masks_credentials_and_reports_loading_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What is unknown offline stays as its ``${...}`` text; a credential written in the bundle is never printed;
    a bundle with loading errors still renders, with exit 1 and one line on stderr."""
    token = "dapi" + "0123456789abcdef0123456789abcdef"
    write_dedented(tmp_path, {"databricks.yml": f"""
        bundle: {{name: masked}}
        variables:
          needed:
            description: no value
        resources:
          jobs:
            j:
              name: ${{resources.jobs.other.id}}
              tasks:
                - task_key: t
                  spark_python_task: {{python_file: x.py}}
                  new_cluster:
                    spark_env_vars: {{DATABRICKS_TOKEN: {token}}}
    """})
    assert main(["render", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert token not in captured.out and token not in captured.err
    job = json.loads(captured.out)["resources"]["jobs"]["j"]
    assert job["name"] == "${resources.jobs.other.id}"
    assert captured.err.count("\n") == 1 and "DG010" in captured.err


def test_job_clusters_without_a_key_merge_as_the_key_empty(tmp_path: Path) -> None:
    """acceptance/bundle/variables/complex-simple: a job cluster without ``job_cluster_key`` in the root and one in
    the target merge into one (the CLI's key is ""), the target's ``new_cluster`` from a variable over the root's."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: no_key}
        variables:
          cluster:
            type: complex
            value: {node_type_id: Standard_DS3_v2, num_workers: 2}
        resources:
          jobs:
            job1:
              job_clusters:
                - new_cluster: {node_type_id: random, spark_version: 13.3.x-scala2.12}
        targets:
          dev:
            resources:
              jobs:
                job1:
                  job_clusters:
                    - new_cluster: ${var.cluster}
    """})
    [cluster] = rendered(tmp_path, "dev")["resources"]["jobs"]["job1"]["job_clusters"]
    assert cluster["new_cluster"] == {"node_type_id": "Standard_DS3_v2", "num_workers": 2, "spark_version": "13.3.x-scala2.12"}


def test_render_leaves_out_what_the_cli_leaves_out_and_repairs_what_it_repairs(tmp_path: Path) -> None:
    """acceptance/bundle/empty_string_variable and empty_string_dropped (a resource field that is "" is dropped, a
    map entry keeps it), validate/complex-within-complex (an unknown field is dropped), resources/jobs/
    instance_pool_and_node_type (``node_type_id`` beside a pool is dropped) and validate/model_serving_conversion
    (``served_models`` is printed as ``served_entities``)."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: repairs}
        variables:
          policy: {default: ""}
        resources:
          clusters:
            c:
              spark_version: 15.4.x-scala2.12
              num_workers: 1
              policy_id: ${var.policy}
              instance_pool_id: pool-1
              node_type_id: i3.xlarge
              custom_tags: {branch: ""}
              not_a_field: 1
          model_serving_endpoints:
            e:
              name: e
              config:
                served_models:
                  - {model_name: m, model_version: "1", scale_to_zero_enabled: true}
    """})
    resources = rendered(tmp_path)["resources"]
    assert resources["clusters"]["c"] == {
        "spark_version": "15.4.x-scala2.12", "num_workers": 1, "instance_pool_id": "pool-1", "custom_tags": {"branch": ""},
        "autotermination_minutes": 60,  # the CLI's default for a cluster
    }
    assert resources["model_serving_endpoints"]["e"]["config"] == {
        "served_entities": [{"entity_name": "m", "entity_version": "1", "scale_to_zero_enabled": True}]
    }


def test_a_variable_that_holds_an_unresolved_reference_is_substituted_as_text(tmp_path: Path) -> None:
    """acceptance/bundle/variables/resolve-resources-fields: ``b: "this is ${var.a}"`` with ``a:
    ${resources.schemas.foo.name}`` becomes the CLI's "this is ${resources.schemas.foo.name}"; rules still see an
    unknown value."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: partial}
        variables:
          a: {default: "${resources.schemas.foo.name}"}
          b: {default: "this is ${var.a}"}
        resources:
          schemas:
            foo: {catalog_name: main, name: foo}
            bar: {catalog_name: main, name: bar, comment: "${var.b}"}
    """})
    out = rendered(tmp_path)
    assert out["variables"]["b"]["value"] == "this is ${resources.schemas.foo.name}"
    assert out["resources"]["schemas"]["bar"]["comment"] == "this is ${resources.schemas.foo.name}"


@pytest.mark.parametrize(
    ("workspace", "severity"),
    [("host: ${var.host}", "error"), ("profile: ${var.profile}", "error"), ("azure_tenant_id: ${var.tenant}", "warning")],
    ids=["host", "profile", "tenant"],
)
def test_references_in_authentication_fields(tmp_path: Path, workspace: str, severity: str) -> None:
    """acceptance/bundle/variables/host: the CLI connects with workspace.host (and the other fields that configure
    authentication) before it substitutes references; with the host or the profile it cannot connect at all."""
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: auth}\nvariables:\n  host: {default: x}\n  profile: {default: x}\n  tenant: {default: x}\n"
        f"workspace:\n  {workspace}\n",
        encoding="utf-8",
    )
    [(file, line, found, message)] = findings(validate(tmp_path, env={}), "DG006")
    assert (file, line, found) == ("databricks.yml", 7, severity)
    assert "does not substitute references" in message


def test_development_and_production_mode_rules(tmp_path: Path) -> None:
    """acceptance/bundle/presets/preset_vs_dev_mode: development refuses presets.trigger_pause_status: UNPAUSED;
    the same preset in production, or PAUSED in development, is fine."""
    write_dedented(tmp_path, {"databricks.yml": f"""
        bundle: {{name: modes}}
        workspace: {{host: {HOST}}}
        targets:
          dev:
            mode: development
            presets: {{trigger_pause_status: UNPAUSED}}
          dev_paused:
            mode: development
            presets: {{trigger_pause_status: PAUSED}}
          prod:
            mode: production
            workspace: {{root_path: /Workspace/Shared/.bundle/modes}}
            presets: {{trigger_pause_status: UNPAUSED}}
    """})
    dg009 = [(f.line, f.targets) for f in validate(tmp_path, env={}).findings if f.rule == "DG009"]
    assert dg009 == [(6, ("dev",))]


def test_a_bundle_or_workspace_field_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """acceptance/bundle/variables/reference-typo (non-var-multiple): ``${workspace.stot_path}`` is "reference does
    not exist", with the closest field; computed fields (``${workspace.current_user.userName}``, ``${bundle.target}``)
    and fields the configuration leaves unset are fine."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: typo}
        resources:
          jobs:
            one:
              name: ${workspace.stot_path}
              description: ${workspace.current_user.userName} ${bundle.target} ${workspace.file_path} ${bundle.git.branch}
              tags: {bad: "${bundle.nmae}"}
    """})
    found = findings(validate(tmp_path, env={}), "DG006")
    assert [(line, severity) for _, line, severity, _ in found] == [(5, "error"), (7, "error")]
    assert "did you mean ${workspace.state_path}?" in found[0][3]
    assert "did you mean ${bundle.name}?" in found[1][3]


def test_a_reference_to_a_resource_the_bundle_does_not_define(tmp_path: Path) -> None:
    """acceptance/bundle/resource_deps (non_existent_field, missing_map_key): the deploy resolves
    ``${resources.<kind>.<key>...}`` and fails on one the bundle does not define; one it defines is left to the
    deploy (validate prints it as written)."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: refs}
        resources:
          volumes:
            bar: {catalog_name: main, schema_name: s, name: bar}
            foo:
              catalog_name: main
              name: foo
              schema_name: ${resources.volumes.bar.schema_name}
              comment: ${resources.volumes.baz.name}
              storage_location: ${resources.volume.bar.name}
    """})
    found = findings(validate(tmp_path, env={}), "DG006")
    assert [(line, severity) for _, line, severity, _ in found] == [(9, "error"), (10, "error")]
    assert "no volumes 'baz'" in found[0][3] and "did you mean resources.volumes.'bar'" in found[0][3]
    assert "no resources of the kind 'volume'" in found[1][3] and "did you mean 'volumes'" in found[1][3]
    assert rendered(tmp_path)["resources"]["volumes"]["foo"]["schema_name"] == "${resources.volumes.bar.schema_name}"


def test_a_genie_space_with_both_a_file_and_an_inline_definition(tmp_path: Path) -> None:
    """acceptance/bundle/validate/genie_space_file_path_and_inline: "both file_path and serialized_space are set"."""
    write_dedented(tmp_path, {
        "databricks.yml": """
            bundle: {name: genie}
            resources:
              genie_spaces:
                both:
                  title: Both
                  warehouse_id: abc
                  file_path: ./space.geniespace.json
                  serialized_space: {version: 1}
                file_only:
                  title: File
                  warehouse_id: abc
                  file_path: ./space.geniespace.json
        """,
        "space.geniespace.json": "{}\n",
    })
    found = findings(validate(tmp_path, env={}), "DG002")
    assert [(line, severity) for _, line, severity, _ in found] == [(8, "error")]


def test_references_in_script_content_are_reported_once(tmp_path: Path) -> None:
    """acceptance/bundle/run/scripts/no-interpolation: the CLI refuses ``${...}`` in a script's content; that is
    DG015's finding, and the reference is not also reported as an unknown namespace."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: scripts}
        scripts:
          one:
            content: echo ${FOO}
    """})
    result = validate(tmp_path, env={})
    assert [(f.rule, f.line) for f in result.findings if f.rule in ("DG006", "DG015")] == [("DG015", 4)]


def test_render_inlines_an_alert_file_and_orders_tasks_by_key(tmp_path: Path) -> None:
    """acceptance/bundle/resources/alerts/with_file_run_from_subdir: the fields of the ``.dbalert.json`` are the
    alert's (``query_lines`` as ``query_text``) and ``file_path`` is given from the bundle root;
    validate/immutable_workspace_paths: a job's tasks are printed in the order of their keys."""
    write_dedented(tmp_path, {
        "databricks.yml": """
            bundle: {name: alerts}
            include: [resources/*.yml]
            resources:
              jobs:
                j:
                  name: j
                  tasks:
                    - {task_key: b_second, notebook_task: {notebook_path: /Workspace/Shared/n}}
                    - {task_key: a_first, notebook_task: {notebook_path: /Workspace/Shared/n}}
        """,
        "resources/alert.yml": """
            resources:
              alerts:
                a:
                  display_name: a
                  warehouse_id: "0123456789012345"
                  file_path: ./a.dbalert.json
        """,
        "resources/a.dbalert.json": json.dumps({"query_lines": ["select 1", "from t"], "custom_summary": "from the file"}),
    })
    out = rendered(tmp_path)
    alert = out["resources"]["alerts"]["a"]
    assert alert["query_text"] == "select 1\nfrom t\n"
    assert alert["custom_summary"] == "from the file"
    assert alert["file_path"] == "resources/a.dbalert.json"
    assert [t["task_key"] for t in out["resources"]["jobs"]["j"]["tasks"]] == ["a_first", "b_second"]


def test_a_target_list_over_a_reference_is_refused(tmp_path: Path) -> None:
    """acceptance/bundle/variables/issue_2436: a target's list of tasks over ``tasks: ${var.job_tasks}`` is "cannot
    merge string with sequence"; a plain string where a mapping belongs is only dropped with a warning by the CLI
    (override/merge-string-map), so it is no DG009."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: kinds}
        variables:
          tasks:
            type: complex
            default: [{task_key: a, notebook_task: {notebook_path: /Workspace/Shared/a}}]
        resources:
          jobs:
            j: {name: j, tasks: "${var.tasks}"}
          clusters:
            c: hello
        targets:
          dev:
            resources:
              jobs:
                j:
                  tasks: [{task_key: b, notebook_task: {notebook_path: /Workspace/Shared/b}}]
              clusters:
                c: {spark_version: 15.4.x-scala2.12}
    """})
    found = [(f.line, f.message) for f in validate(tmp_path, env={}).findings if f.rule == "DG009"]
    assert [line for line, _ in found] == [16]
    assert "cannot merge string with sequence" in found[0][1]


def test_render_gives_run_as_permissions_and_parent_paths_as_the_cli_does(tmp_path: Path) -> None:
    """acceptance/bundle/run_as (the bundle's run_as is each job's and pipeline's that sets none),
    validate/permissions and permissions_overlap (the bundle's permissions given to each resource in its own
    levels, one entry per principal at its highest level, the deploying identity made owner) and
    validate/dashboard_defaults (parent_path from workspace.resource_path, under /Workspace)."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: computed}
        workspace: {resource_path: /foo/bar}
        run_as: {service_principal_name: 00000000-0000-0000-0000-000000000001}
        permissions:
          - {level: CAN_RUN, group_name: operators}
        resources:
          jobs:
            own:
              name: own
              run_as: {user_name: someone@example.com}
              permissions:
                - {level: CAN_VIEW, user_name: viewer@example.com}
                - {level: CAN_MANAGE_RUN, user_name: viewer@example.com}
            inherited: {name: inherited}
          dashboards:
            d: {display_name: d, warehouse_id: w, parent_path: already-set}
            e: {display_name: e, warehouse_id: w}
    """})
    out = rendered(tmp_path)
    jobs = out["resources"]["jobs"]
    assert jobs["own"]["run_as"] == {"user_name": "someone@example.com"}
    assert jobs["inherited"]["run_as"] == {"service_principal_name": "00000000-0000-0000-0000-000000000001"}
    assert jobs["own"]["permissions"] == [
        {"level": "CAN_MANAGE_RUN", "user_name": "viewer@example.com"},
        {"level": "CAN_MANAGE_RUN", "group_name": "operators"},
        {"level": "IS_OWNER", "user_name": "${workspace.current_user.userName}"},
    ]
    dashboards = out["resources"]["dashboards"]
    assert dashboards["d"]["parent_path"] == "/Workspace/already-set"
    assert dashboards["e"]["parent_path"] == "/Workspace/foo/bar"
    assert dashboards["e"]["embed_credentials"] is False


def test_a_volume_path_reference_is_known_offline(tmp_path: Path) -> None:
    """acceptance/bundle/resource_deps/computed_volume_path and volume_path_contains_id: the CLI computes
    ``${resources.volumes.<key>.volume_path}`` from the volume's fields; one not known offline stays a reference."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: volumes}
        resources:
          volumes:
            bar: {catalog_name: main, schema_name: s, name: bar}
            baz: {catalog_name: main, schema_name: s, name: "${resources.schemas.x.name}"}
            foo: {catalog_name: main, schema_name: s, name: foo, comment: "${resources.volumes.bar.volume_path}"}
            qux: {catalog_name: main, schema_name: s, name: qux, comment: "${resources.volumes.baz.volume_path}"}
          schemas:
            x: {catalog_name: main, name: x}
    """})
    volumes = rendered(tmp_path)["resources"]["volumes"]
    assert volumes["foo"]["comment"] == "/Volumes/main/s/bar"
    assert volumes["qux"]["comment"] == "/Volumes/main/s/${resources.schemas.x.name}"


def test_a_read_only_field_is_one_finding(tmp_path: Path) -> None:
    """validate/reserved_deployment_fields and resources/volumes/set-volume-path: DG012 reports the field; DG003 does
    not call it unknown as well."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: ro}
        resources:
          volumes:
            raw: {catalog_name: main, schema_name: s, name: raw, volume_path: /Volumes/main/s/raw}
          jobs:
            j: {name: j, deployment: {kind: BUNDLE, deployment_id: abc}}
    """})
    found = [(f.rule, f.line) for f in validate(tmp_path, env={}).findings if f.rule in ("DG003", "DG012")]
    assert found == [("DG012", 4), ("DG012", 6)]


def test_render_fills_in_the_clis_defaults_and_gives_paths_from_the_bundle_root(tmp_path: Path) -> None:
    """acceptance/bundle/validate/volume_defaults, resources/sql_warehouses and variables/complex (the defaults the
    CLI fills in where nothing is written, not where "" is), paths/nominal and libraries/outside_of_bundle_root (a
    local path written in resources/x.yml is given from the bundle root)."""
    write_dedented(tmp_path, {
        "databricks.yml": "bundle: {name: defaults}\ninclude: [resources/*.yml]\n",
        "resources/x.yml": """
            resources:
              jobs:
                j:
                  tasks:
                    - task_key: t
                      spark_python_task: {python_file: ../src/main.py}
                      libraries: [{whl: ../dist/a.whl}]
                  environments:
                    - environment_key: e
                      spec: {client: "2", dependencies: ["-r ../requirements.txt", "pandas==2.2", ../dist/b.whl]}
                unnamed:
                  name: ""
                  tasks: [{task_key: t, notebook_task: {notebook_path: /Workspace/Shared/n}}]
              volumes:
                v: {catalog_name: main, schema_name: s, name: v}
              sql_warehouses:
                w: {name: w, cluster_size: Small}
        """,
    })
    resources = rendered(tmp_path)["resources"]
    job = resources["jobs"]["j"]
    assert (job["name"], job["max_concurrent_runs"], job["queue"]) == ("Untitled", 1, {"enabled": True})
    assert job["tasks"][0]["spark_python_task"]["python_file"] == "src/main.py"
    assert job["tasks"][0]["libraries"] == [{"whl": "dist/a.whl"}]
    assert job["environments"][0]["spec"]["dependencies"] == ["-r requirements.txt", "pandas==2.2", "dist/b.whl"]
    assert "name" not in resources["jobs"]["unnamed"]  # written as "": dropped, not given the default
    assert resources["volumes"]["v"]["volume_type"] == "MANAGED"
    assert resources["sql_warehouses"]["w"]["auto_stop_mins"] == 120


def test_review_regressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A volume whose name refers to its own volume_path is no crash; a string that is more than one reference is no
    merge error (the CLI drops it with a warning, acceptance/bundle/override/merge-string-map); `--var` without "="
    does not repeat what was typed (it may be a credential)."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: regressions}
        variables:
          t: {type: complex, default: [{task_key: a, notebook_task: {notebook_path: /x}}]}
        resources:
          volumes:
            self: {catalog_name: main, schema_name: s, name: "${resources.volumes.self.volume_path}"}
          jobs:
            j: {name: j, tasks: "x${var.t}"}
        targets:
          dev:
            resources:
              jobs:
                j:
                  tasks: [{task_key: b, notebook_task: {notebook_path: /y}}]
    """})
    result = validate(tmp_path, env={})
    assert not [f for f in result.findings if f.rule == "DG009"]
    assert "${resources.volumes.self.volume_path}" in rendered(tmp_path)["resources"]["volumes"]["self"]["name"]  # unknown
    token = "dapi" + "0123456789abcdef0123456789abcdef"
    with pytest.raises(SystemExit) as stopped:  # argparse stops the command (exit 2), with one line
        main(["validate", str(tmp_path), "--var", f"token:{token}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "expected NAME=VALUE" in err and token not in err


def test_render_expands_pipeline_globs_and_names_a_service_principal_deployer(tmp_path: Path) -> None:
    """acceptance/bundle/paths/pipeline_globs (a local notebook or file glob is one library per file; a jar glob
    stays), resources/permissions/jobs/current_can_manage_run (a deployer that is a service principal's
    application id is named as one)."""
    write_dedented(tmp_path, {
        "databricks.yml": "bundle: {name: globs}\ninclude: [resources/*.yml]\n",
        "resources/p.yml": """
            resources:
              pipelines:
                p:
                  name: p
                  libraries:
                    - notebook: {path: ../notebooks/*}
                    - jar: "*/*.jar"
              jobs:
                j: {name: j, permissions: [{level: CAN_VIEW, group_name: g}]}
        """,
        "notebooks/a.py": "# Databricks notebook source\n",
        "notebooks/b.py": "# Databricks notebook source\n",
    })
    result = validate(tmp_path, env={})
    out = render_target(result.resolved["default"], deployer="6e4e8d52-0a2a-4a0c-9c43-1f6d2b1e1a11")
    assert out["resources"]["pipelines"]["p"]["libraries"] == [
        {"notebook": {"path": "notebooks/a.py"}}, {"notebook": {"path": "notebooks/b.py"}}, {"jar": "*/*.jar"}
    ]
    assert out["resources"]["jobs"]["j"]["permissions"][-1] == {
        "level": "IS_OWNER", "service_principal_name": "6e4e8d52-0a2a-4a0c-9c43-1f6d2b1e1a11"
    }


def test_render_applies_development_mode_and_presets(tmp_path: Path) -> None:
    """acceptance/bundle/validate/presets_tags, presets_max_concurrent_runs, experimental/skip_name_prefix_for_schema,
    quality_monitor and resource_deps/implicit_deps_volume: development mode prefixes names ("[dev <user>] ", and
    "dev_<user>_" for Unity Catalog names), tags, pauses schedules, puts pipelines in development and allows 4 runs;
    a schema the bundle defines is referred to, so a volume lands in the prefixed schema."""
    write_dedented(tmp_path, {"databricks.yml": """
        bundle: {name: modes}
        resources:
          jobs:
            j: {name: nightly, schedule: {quartz_cron_expression: "0 0 1 * * ?", timezone_id: UTC}}
          pipelines:
            p: {name: etl, continuous: true}
          schemas:
            s: {catalog_name: main, name: landing}
          volumes:
            v: {catalog_name: main, schema_name: landing, name: raw}
        targets:
          dev: {mode: development, default: true}
          custom: {presets: {name_prefix: "[team] ", tags: {owner: data}, jobs_max_concurrent_runs: 2}}
    """})
    dev = rendered(tmp_path, "dev")["resources"]
    user = "${workspace.current_user.short_name}"
    assert dev["jobs"]["j"]["name"] == f"[dev {user}] nightly"
    assert dev["jobs"]["j"]["tags"] == {"dev": user}
    assert dev["jobs"]["j"]["schedule"]["pause_status"] == "PAUSED"
    assert dev["jobs"]["j"]["max_concurrent_runs"] == 4
    assert dev["pipelines"]["p"]["development"] is True and "continuous" not in dev["pipelines"]["p"]
    assert dev["schemas"]["s"]["name"] == f"dev_{user}_landing"
    assert dev["volumes"]["v"]["schema_name"] == "${resources.schemas.s.name}"
    custom = rendered(tmp_path, "custom")["resources"]
    assert custom["jobs"]["j"]["name"] == "[team] nightly"
    assert custom["jobs"]["j"]["tags"] == {"owner": "data"}
    assert custom["jobs"]["j"]["max_concurrent_runs"] == 2
    assert custom["jobs"]["j"]["schedule"]["pause_status"] == "UNPAUSED"  # the CLI's default, no preset
    assert custom["schemas"]["s"]["name"] == "team_landing"
