"""Credentials written into the bundle in plain text (DG111)."""

from __future__ import annotations

from collections.abc import Iterator

from dab_guard.bundle.resolve import Target
from dab_guard.finding import Report, Severity
from dab_guard.rules.base import Rule
from dab_guard.secrets import target_secrets


class PlaintextSecret(Rule):
    """
    ## What it does
    Finds credentials written into the bundle's files: Databricks personal access tokens (`dapi...`) and OAuth
    secrets, AWS access key ids, Azure storage keys, SAS tokens and client secrets, private keys, GitHub, OpenAI,
    Anthropic, Hugging Face and Slack tokens, URLs with a password in them, and any value held by a key named like a
    password, secret, token, API key or credential, wherever it is: in `spark_conf`, `spark_env_vars`, `base_parameters`, task
    parameters (`--password=...`, `["--token", "..."]`), job parameters' defaults, serving endpoints' environment
    variables, and variables' defaults (at the top level or in a target). The finding names the key, never the value,
    and no report dab-guard writes contains the value.

    A value is not a credential when it is a secret reference (`{{secrets/scope/key}}`), a `${...}` reference, empty,
    a placeholder such as `<your token>`, or a path.

    ## Why it matters
    Everything in a bundle is committed to git, copied into the workspace under the bundle's files, and visible in
    the job's settings to everyone who can view the job. A credential written there has leaked.

    ## Example
    ```yaml
    resources:
      jobs:
        ingest:
          job_clusters:
            - job_cluster_key: main
              new_cluster:
                spark_conf:
                  spark.hadoop.fs.s3a.secret.key: Xq3+pasted-secret-key-EXAMPLE
    ```

    ## Fix
    Store the credential in a secret scope (`databricks secrets put-secret my-scope s3-secret-key`) and refer to it:
    `spark.hadoop.fs.s3a.secret.key: "{{secrets/my-scope/s3-secret-key}}"`. In task code read it with
    `dbutils.secrets.get("my-scope", "s3-secret-key")`. For a variable, drop the default and pass the value at deploy
    time with `--var` or `BUNDLE_VAR_<name>`. Then revoke the credential that was committed: it stays in the git
    history.
    """

    id = "DG111"
    name = "plaintext-secret"
    severity = Severity.ERROR
    summary = "a credential written into the bundle instead of {{secrets/scope/key}}"
    source = "Databricks secret management: credentials belong in secret scopes, referenced as {{secrets/scope/key}}."

    def check(self, target: Target) -> Iterator[Report]:
        for secret in target_secrets(target):
            what = f"'{secret.name}'"
            if secret.name.startswith("item "):
                what = f"list {secret.name}"
            yield Report(
                f"{what} holds {secret.kind} in plain text; store it in a secret scope and write"
                " {{secrets/<scope>/<key>}} (or pass it with --var), then revoke it",
                path=secret.path,
                at=secret.loc,
            )
