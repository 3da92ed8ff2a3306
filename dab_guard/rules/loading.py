"""Rules about reading the bundle: YAML syntax, includes, duplicates, references and variable values (DG001,
DG004-DG006, DG010)."""

from __future__ import annotations

from collections.abc import Iterator

from dab_guard.bundle.resolve import Target
from dab_guard.finding import Report, Severity
from dab_guard.rules.base import ProblemRule


class YamlSyntax(ProblemRule):
    """
    ## What it does
    Reports YAML that cannot be read: syntax errors, custom tags such as `!Ref`, keys that are not strings, files
    that are not UTF-8 text, and files past dab-guard's size, nesting or alias-expansion limits. Also reports a
    Python file a job runs (its script or notebook, `%run` notebooks, imported bundle modules, code models) that
    cannot be parsed: a syntax error, a NUL byte, broken notebook JSON, nesting too deep, a file over the size limit.

    ## Why it matters
    The Databricks CLI refuses such a file before doing anything else, and a half-read file hides every other
    mistake in it. A Python file that does not parse fails the job run after the cluster has started.

    ## Example
    ```yaml
    resources:
      jobs:
        train:
          name: train
         tasks: []      # indentation breaks the mapping
    ```

    ## Fix
    Correct the YAML at the reported line and column. Use `${var.name}` instead of custom tags.
    """

    id = "DG001"
    name = "yaml-syntax"
    severity = Severity.ERROR
    summary = "YAML (or Python) that cannot be parsed"
    source = "The Databricks CLI reads bundle files with go-yaml v3 and rejects unknown tags."

    def check(self, target: Target) -> Iterator[Report]:
        yield from super().check(target)
        # Python files a job runs that cannot be parsed (syntax errors, NUL bytes, broken notebook JSON).
        from dab_guard.jobs.program import max_file_bytes, syntax_reports

        yield from syntax_reports(target, max_file_bytes(self.settings))


class Include(ProblemRule):
    """
    ## What it does
    Checks the `include` list of the root configuration: absolute paths, entries that match nothing, matches that are
    not `.yml`, `.yaml` or `.json` files, and `include` written in an included file (which the CLI ignores). Also
    reports a folder that holds more than one root file (`databricks.yml`, `databricks.yaml`, `bundle.yml`,
    `bundle.yaml`), and matches that cannot be read: broken or looping symbolic links, folders, named pipes and
    devices, files it cannot open. An include outside the bundle folder (`../shared/*.yml`) is read, as the CLI reads
    it.

    ## Why it matters
    A mistyped include silently drops every job defined in the files it was meant to match; the deploy then
    succeeds and the job is simply missing.

    ## Example
    ```yaml
    include:
      - resources/*.yaml    # the files are named *.yml: nothing matches
      - /abs/path/jobs.yml  # absolute paths are refused
    ```

    ## Fix
    Use paths relative to the bundle root. Globs follow Go's `filepath.Match`: `*` never crosses `/`, and `**` is
    the same as `*`.
    """

    id = "DG004"
    name = "include"
    severity = Severity.ERROR
    summary = "include entries that are absolute, match nothing or match non-YAML files"
    source = "The Databricks CLI's include semantics (Go filepath.Glob, root file only)."


class Duplicate(ProblemRule):
    """
    ## What it does
    Reports a mapping key written twice in the same mapping, and a resource key defined in two files.

    ## Why it matters
    For a duplicate key the CLI silently keeps the last value, so an edit to the first one has no effect. A resource
    defined twice makes the CLI refuse the bundle.

    ## Example
    ```yaml
    new_cluster:
      spark_version: 16.4.x-cpu-ml-scala2.12
      num_workers: 0
      spark_version: 15.4.x-scala2.12   # this one wins
    ```

    ## Fix
    Keep one of the keys. Define each resource in one file and change it per target under `targets:`.
    """

    id = "DG005"
    name = "duplicate"
    severity = Severity.ERROR
    summary = "duplicate mapping keys and resources defined twice"
    source = "go-yaml keeps the last of duplicate keys; the CLI rejects duplicate resource keys."


class Reference(ProblemRule):
    """
    ## What it does
    Checks `${...}` references: variables that are not declared, namespaces the CLI does not know (such as
    `${target.cluster_id}` or `${DATABRICKS_HOST}`), reference cycles between variables (a circle through a complex
    value is only a warning: the CLI gives up after 11 rounds and leaves it unresolved), paths into a complex variable
    that do not exist or pass a plain value or another reference, complex values interpolated into strings, and
    references in the workspace fields that configure authentication (`host`, `profile`, `azure_tenant_id`...), which
    the CLI uses as written (an error for `host` and `profile`, with which it cannot connect).

    ## Why it matters
    The CLI leaves an unresolvable reference as literal text or fails the deploy; either way the job does not get the
    value that was meant.

    ## Example
    ```yaml
    variables:
      catalog:
        default: main
    resources:
      jobs:
        train:
          name: train-${var.catalgo}   # typo
    ```

    ## Fix
    Declare the variable under `variables:` or correct the name (dab-guard suggests the closest one). Environment
    variables are passed as `BUNDLE_VAR_<name>` and read with `${var.<name>}`.
    """

    id = "DG006"
    name = "reference"
    severity = Severity.ERROR
    summary = "undefined variables, unknown reference namespaces and reference cycles"
    source = "The CLI's variable resolution (var, bundle, workspace, resources, artifacts)."


class VariableValue(ProblemRule):
    """
    ## What it does
    Reports a variable that has no value in a target (no `default`, no value under the target, no `--var`, no
    `BUNDLE_VAR_<name>`, nothing in `.databricks/bundle/<target>/variable-overrides.json`), and a variables file
    the Databricks CLI refuses: not JSON, not a JSON object, or a value whose kind does not fit the variable (a
    mapping or list for a variable that is not `type: complex`, or a plain value for one that is).

    ## Why it matters
    The CLI stops with "no value assigned to required variable" before it deploys anything, whether or not the
    variable is used; a variables file it cannot read stops it the same way. CI that passes the value with `--var`
    or `BUNDLE_VAR_<name>` is fine: give dab-guard the same value.

    ## Example
    ```yaml
    variables:
      catalog:
        description: the Unity Catalog catalog   # no default
    targets:
      dev:
        default: true                            # and no value here either
    ```

    ## Fix
    Give the variable a `default`, a value under each target (`targets.dev.variables.catalog: dev`), or pass it
    (`--var catalog=dev`, `BUNDLE_VAR_catalog=dev`). In a variables file, write one JSON object of names and values.
    """

    id = "DG010"
    name = "variable-value"
    severity = Severity.ERROR
    summary = "variables with no value in a target, and variables files the CLI cannot use"
    source = "The CLI's variable assignment (mutator/set_variables.go): a required variable must get a value."
