"""DG111 plaintext-secret, and the guarantee that no report in any format ever shows a credential.

Credential-shaped values are assembled at run time, so that this repository never holds one that a secret scanner
would flag.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dab_guard.bundle.located import YMap
from dab_guard.bundle.yamlread import read_yaml
from dab_guard.cli import main
from dab_guard.config import Settings
from dab_guard.engine import validate
from dab_guard.formatters import FORMATTERS
from dab_guard.secrets import Masker, find_secrets, literal_secret, mask_shapes, secret_kind, secret_name
from tests.files import write_dedented

HEX = "0123456789abcdef" * 2
B64 = "QWxhZGRpbjpvcGVuIHNlc2FtZQ"  # 26 characters of base64

SHAPED: dict[str, str] = {
    "a Databricks personal access token": "dapi" + HEX,
    "a Databricks OAuth secret": "dose" + HEX,
    "an AWS access key id": "AKIA" + "Z7Q2X4C6V8B1N3M5",
    "a GitHub token": "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5",
    "a private key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n",
    "an Azure client secret": "Ab1" + "8Q~" + "x7Yz.Wv_Ut-Sr~Qp6On5Ml4Kj3Ih2Gf1E",
    "an Azure storage account key": (B64 * 4)[:86] + "==",
    "an Azure shared access signature": "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2031-01-01T00:00:00Z&sig=" + "Zm9vYmFyYmF6cXV4" * 2 + "%3D",
    "an OpenAI API key": "sk-proj-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3",
    "a Hugging Face token": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
    "a Google API key": "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "a password in a URL": "postgresql://etl:pg-Pass-9931@db.internal:5432/sales",
}


def secrets_of(yaml_text: str) -> list[tuple[str, str, str]]:
    """(path, name, kind) of each credential ``find_secrets`` sees in a YAML document."""
    doc = read_yaml(textwrap.dedent(yaml_text).lstrip("\n"), "databricks.yml")
    assert isinstance(doc.value, YMap) and not doc.problems, doc.problems
    found = sorted(find_secrets(doc.value), key=lambda s: (s.loc or (0,)) )
    return [(".".join(str(p) for p in s.path), s.name, s.kind) for s in found]


# --- recognising credentials ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value"), list(SHAPED.items()), ids=list(SHAPED))
def test_each_credential_shape_is_recognised_under_any_key(kind: str, value: str) -> None:
    assert secret_kind(value) == kind
    assert secret_kind(f"prefix {value} suffix") == kind
    assert literal_secret("description", value) == kind
    assert value.replace("\\n", "") not in mask_shapes(f"echo {value} here")


@pytest.mark.parametrize(
    "value",
    [
        "dapi" + HEX[:31],  # one hex digit short
        "xdapi" + HEX,  # part of a longer word
        "16.4.x-cpu-ml-scala2.12",
        "sk-learn-model-training-pipeline-v2-abcdefgh",
        "https://example.cloud.databricks.com/api/2.0/jobs",
        "https://${var.user}:{{secrets/scope/key}}@example.com",
        "s3://bucket/AKIA/not-a-key",
        "/Volumes/main/ml/models",
    ],
)
def test_values_that_only_look_like_credentials(value: str) -> None:
    assert secret_kind(value) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("password", "password"),
        ("db_password", "password"),
        ("--password", "password"),
        ("WAREHOUSE_PASSWD", "password"),
        ("HF_TOKEN", "token"),
        ("databricks.token", "token"),
        ("client_secret", "secret"),
        ("clientSecret", "secret"),
        ("OPENAI_API_KEY", "API key"),
        ("openai_api_key_plaintext", "API key"),
        ("apiKey", "API key"),
        ("spark.hadoop.fs.s3a.secret.key", "secret key"),
        ("aws_secret_access_key", "secret key"),
        ("private_key", "private key"),
        ("fs.azure.account.key.lake.dfs.core.windows.net", "account key"),
        ("fs.azure.account.oauth2.client.secret.lake.dfs.core.windows.net", "client secret"),
        ("fs.azure.sas.container.lake.blob.core.windows.net", "shared access signature"),
        ("credentials", "credential"),
        # not credentials
        ("secret_scope", None),
        ("token_limit", None),
        ("max_tokens", None),
        ("TOKENIZERS_PARALLELISM", None),
        ("task_key", None),
        ("job_cluster_key", None),
        ("private_key_id", None),
        ("spark.databricks.passthrough.token.enabled", None),
        ("password_file", None),
    ],
)
def test_key_names_that_hold_credentials(name: str, kind: str | None) -> None:
    assert secret_name(name) == kind


@pytest.mark.parametrize(
    "value",
    ["{{secrets/scope/key}}", "Bearer {{secrets/scope/key}}", "${var.password}", "", "   ", "<your password>", "changeme", "xxxxxxxx",
     "/dbfs/keys/sa.json", "./keys/sa.json", "dbfs:/keys/sa.json", "https://vault.example.com/v1/secret"],
)
def test_references_placeholders_and_paths_are_not_credentials(value: str) -> None:
    assert literal_secret("password", value) is None


def test_where_credentials_are_found() -> None:
    found = secrets_of(
        """
        variables:
          db_password:
            default: hunter2-xyz
          plain: {default: just-a-value}
        targets:
          dev:
            variables:
              db_password: dev-pass-1
              hf_token:
                default: hf-dev-1
        resources:
          jobs:
            j:
              parameters:
                - {name: api_key, default: job-key-1}
                - {name: catalog, default: main}
              tasks:
                - task_key: t
                  spark_python_task:
                    python_file: x.py
                    parameters: ["--password=pw-1", "--token", "tok-1", "--catalog", "main", "user_secret=s-1"]
                  notebook_task:
                    base_parameters: {smtp_password: mail-1, table: t}
          apps:
            app:
              config:
                env:
                  - {name: SERVICE_TOKEN, value: app-tok-1}
        """
    )
    assert found == [
        ("variables.db_password.default", "db_password", "a password"),
        ("targets.dev.variables.db_password", "db_password", "a password"),
        ("targets.dev.variables.hf_token.default", "hf_token", "a token"),
        ("resources.jobs.j.parameters.0.default", "api_key", "an API key"),
        ("resources.jobs.j.tasks.0.spark_python_task.parameters.0", "--password", "a password"),
        ("resources.jobs.j.tasks.0.spark_python_task.parameters.2", "--token", "a token"),
        ("resources.jobs.j.tasks.0.spark_python_task.parameters.5", "user_secret", "a secret"),
        ("resources.jobs.j.tasks.0.notebook_task.base_parameters.smtp_password", "smtp_password", "a password"),
        ("resources.apps.app.config.env.0.value", "SERVICE_TOKEN", "a token"),
    ]


def test_a_key_beside_its_secret_scope_names_a_key_in_the_scope() -> None:
    assert not secrets_of(
        """
        a: ["--secret-scope", "ml", "--secret-key", "token"]
        b: {secret_scope: ml, secret_key: token}
        """
    )


def test_the_masker_hides_values_and_their_shortened_echoes() -> None:
    value = "correct-horse-battery-staple-and-more"
    mask = Masker([value, "abc"])
    assert mask(f"got '{value[:20]}...' and {value}") == "got '***...' and ***"
    assert mask("abc stays: too short to mask without mangling words") == "abc stays: too short to mask without mangling words"
    assert mask(f"a token {SHAPED['a Databricks personal access token']} here") == "a token *** here"


# --- the rule through the engine -------------------------------------------------------------------------------


HEAD = "bundle:\n  name: leaky\nworkspace:\n  host: https://example.cloud.databricks.com\n"


def leaky_bundle(root: Path) -> tuple[Path, list[str]]:
    """A bundle with every kind of credential, some of them echoed by other rules' messages."""
    password = "Pa55-word-only-known-by-its-key"
    values = [*SHAPED.values(), password, "hunter2-target-override", "tok-in-args-991"]
    conf = "\n".join(f"              key_{i}: {json.dumps(v)}" for i, v in enumerate(SHAPED.values()))
    write_dedented(
        root,
        {
            "databricks.yml": HEAD
            + f"""
variables:
  db_password:
    default: {password}
  cli_token:
    description: given with --var
resources:
  jobs:
    leaky:
      name: leaky
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: {SHAPED["a Databricks personal access token"]}
            node_type_id: i3.xlarge
            num_workers: 1
            data_security_mode: ${{var.db_password}}
            spark_conf:
{conf}
      tasks:
        - task_key: t
          job_cluster_key: main
          depends_on: [{{task_key: "{SHAPED["a GitHub token"]}"}}]
          spark_python_task:
            python_file: {SHAPED["an AWS access key id"]}.py
            parameters: ["--token", "tok-in-args-991", "--cli", "${{var.cli_token}}"]
targets:
  dev:
    variables:
      db_password: hunter2-target-override
  prod:
    mode: production
"""
        },
    )
    return root, values


@pytest.mark.parametrize("fmt", sorted(FORMATTERS))
def test_no_report_format_ever_contains_a_credential(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    root, values = leaky_bundle(tmp_path)
    given = "cli-given-secret-4471"
    code = main(["validate", str(root), "--format", fmt, "--var", f"cli_token={given}"])
    out, err = capsys.readouterr()
    assert code == 1 and out
    for value in [*values, given]:
        for piece in {value, value.replace("\\n", "\n"), value[:16]}:
            assert piece not in out, f"{fmt} shows {piece!r}"
            assert piece not in err


@pytest.mark.parametrize("fmt", sorted(FORMATTERS))
def test_no_report_file_ever_contains_a_credential(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    root, values = leaky_bundle(tmp_path / "bundle")
    given = "cli-given-secret-4471"
    reports = tmp_path / "reports"
    reports.mkdir()
    argv = ["validate", str(root), "--format", fmt, "--output", str(reports / f"output.{fmt}"), "--var", f"cli_token={given}"]
    for other in sorted(FORMATTERS):
        argv += ["--report", f"{other}={reports / f'report.{other}'}"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    files = sorted(reports.iterdir())
    assert len(files) == len(FORMATTERS) + 1
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert "DG111" in text or "plaintext-secret" in text, f"{file.name} has no DG111 finding"
        for value in [*values, given]:
            for piece in {value, value.replace("\\n", "\n"), value[:16]}:
                assert piece not in text, f"{file.name} shows {piece!r}"
                assert piece not in err


def test_other_rules_messages_never_echo_a_credential(tmp_path: Path) -> None:
    root, values = leaky_bundle(tmp_path)
    result = validate(root)
    others = [f for f in result.findings if f.rule != "DG111"]
    # The same values make other rules speak: a spark_version, an enum, a file name, a task name.
    assert {"DG102", "DG002"} <= {f.rule for f in others}, [(f.rule, f.message) for f in others]
    for finding in result.findings:
        for value in values:
            assert value[:16] not in finding.message and value[:16] not in finding.path


def test_dg111_names_the_key_and_the_targets(tmp_path: Path) -> None:
    root, _ = leaky_bundle(tmp_path)
    result = validate(root, settings=Settings(select=["DG111"]))
    by_path = {f.path: f for f in result.findings}
    override = by_path["targets.dev.variables.db_password"]
    assert override.targets == ("dev",) and "'db_password' holds a password" in override.message
    assert by_path["variables.db_password.default"].targets == ("dev", "prod")
    token = by_path["resources.jobs.leaky.job_clusters[0].new_cluster.spark_conf.key_0"]
    assert "'key_0' holds a Databricks personal access token in plain text" in token.message
    assert (token.file, token.line) == ("databricks.yml", 23)
    assert "'--token' holds a token" in by_path["resources.jobs.leaky.tasks[0].spark_python_task.parameters[1]"].message


def test_dg111_can_be_suppressed_on_its_line(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD
            + "variables:\n  db_password:\n    default: local-only-password  # dab-guard: ignore[DG111]\n"
            + "  api_token:\n    default: another-token-value\n"
        },
    )
    found = [(f.line, f.rule) for f in validate(tmp_path, settings=Settings(select=["DG111"])).findings]
    assert found == [(9, "DG111")]


def test_a_schema_message_never_echoes_a_value_dg111_considers_secret(tmp_path: Path) -> None:
    # The password is a credential only by the name of the variable that holds it; the schema rule would quote it
    # where it lands in a field that wants a number or one of a few words.
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD
            + """
variables:
  warehouse_password:
    default: Tr0ub4dor-and-3
resources:
  jobs:
    j:
      name: j
      max_concurrent_runs: ${var.warehouse_password}
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: 16.4.x-scala2.12
            num_workers: 1
            node_type_id: i3.xlarge
            data_security_mode: ${var.warehouse_password}
"""
        },
    )
    result = validate(tmp_path)
    schema = [f for f in result.findings if f.rule == "DG002"]
    assert len(schema) == 2, [(f.rule, f.message) for f in result.findings]
    assert all("Tr0ub4dor" not in f.message and "***" in f.message for f in schema), [f.message for f in schema]




def test_the_clis_resolved_configuration_is_masked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With --resolved, values may come from the environment of the CLI run: whatever the JSON holds counts.
    password = "Pw-resolved-from-env-77"
    cluster = {"spark_version": "16.4.x-scala2.12", "num_workers": 1, "node_type_id": "i3.xlarge",
               "data_security_mode": password, "spark_conf": {"spark.datasource.password": password}}
    task = {"task_key": "a", "new_cluster": cluster, "spark_python_task": {"python_file": "/Workspace/a.py"}}
    resolved = {"bundle": {"name": "r", "target": "dev"}, "workspace": {"host": "https://example.cloud.databricks.com"},
                "resources": {"jobs": {"j": {"name": "j", "tasks": [task]}}}}
    (tmp_path / "resolved.json").write_text(json.dumps(resolved), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "--resolved", "resolved.json", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1
    assert any(f["rule"] == "DG002" and "***" in f["message"] for f in json.loads(out)["findings"]), out
    assert password not in out


def test_fix_diff_never_prints_a_credential_in_its_context_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = "Hunter2-Plaintext-99"
    root = write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD
            + f"""
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: 16.4.x-ml-scala2.12
            spark_conf:
              spark.datasource.password: {password}
            num_workers: 1
            node_type_id: i3.xlarge
            data_security_mode: SINGLE_USER
"""
        },
    )
    code = main(["fix", str(root), "--diff"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "+            spark_version: 16.4.x-cpu-ml-scala2.12" in out  # the fix is shown
    assert "spark.datasource.password" in out  # with its context line...
    assert password not in out and password not in err  # ...masked
