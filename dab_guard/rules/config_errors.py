"""Rules for configuration the Databricks CLI refuses offline (DG011-DG015).

Each rule mirrors one of the checks `databricks bundle validate` makes before it talks to the workspace. Where the
CLI's verdict depends on something only the workspace knows (the identity that deploys, the value of a `lookup`
variable), the rules stay silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import REFERENCE_RE, Target, is_unknown
from dab_guard.finding import Report, Severity
from dab_guard.rules.base import Rule
from dab_guard.rules.jobs import resources_of, section


def _missing(value: Any) -> bool:
    """A field the CLI reads as empty: absent, null, or an empty string. Values of another type count as missing
    too: the CLI drops them with a warning when it converts the configuration to its types."""
    return value is None or value == "" or isinstance(value, (dict, list, bool))


def _written(value: Any) -> bool:
    """A scalar value set in the configuration and known offline (a ``${...}`` that is not resolved yet may still
    turn out empty: stay silent on it)."""
    return value is not None and value != "" and not isinstance(value, (dict, list)) and not is_unknown(value)


# --- DG011 run-as ------------------------------------------------------------------------------------------------

_IDENTITIES = ("user_name", "service_principal_name")


class RunAs(Rule):
    """
    ## What it does
    Checks the top-level `run_as` section (after the target's own `run_as` replaces it):
    - a `run_as` that names no identity: `run_as: {}`, or `user_name` / `service_principal_name` set to `""`;
    - a `run_as` that sets both `user_name` and `service_principal_name`.

    An empty `run_as:` (null) is accepted, as the CLI accepts it, and so is a target that writes `run_as:` with no
    value (the top-level one then applies). The CLI also refuses model serving endpoints, quality monitors, apps and
    dashboards with `embed_credentials: true` when `run_as` differs from the identity that deploys; that identity
    is not known offline, so dab-guard does not report those.

    ## Why it matters
    The Databricks CLI refuses both before it deploys anything: every job of the bundle runs as the `run_as`
    identity, and it must be exactly one user or one service principal.

    ## Example
    ```yaml
    run_as:
      user_name: alice@example.com
      service_principal_name: 1f0a6b0c-0000-4000-8000-000000000000   # both: refused
    targets:
      prod:
        run_as:
          service_principal_name: ""                                  # neither: refused
    ```

    ## Fix
    Keep exactly one of `user_name` and `service_principal_name`, with a value, or remove `run_as` to run as the
    identity that deploys.
    """

    id = "DG011"
    name = "run-as"
    severity = Severity.ERROR
    summary = "a run_as section with no identity, or with both user_name and service_principal_name"
    source = "The Databricks CLI's run_as validation (bundle/config/mutator/resourcemutator/run_as.go)."

    def check(self, target: Target) -> Iterator[Report]:
        run_as = target.config.get("run_as")
        if not isinstance(run_as, YMap):
            return  # null (accepted), a ${var} holding the section, or a wrong type (DG002 says so)
        given = [key for key in _IDENTITIES if not _missing(run_as.get(key))]
        # Point at the first field written, as the CLI points at the start of the section's value.
        first = next(iter(run_as), None)
        path = ("run_as", first) if first is not None else ("run_as",)
        if not given:
            yield Report(
                "run_as section must specify exactly one identity: neither service_principal_name nor user_name is "
                "set; the Databricks CLI refuses it (remove run_as to run as the identity that deploys)",
                path,
            )
        elif all(_written(run_as.get(key)) for key in _IDENTITIES):
            # Both known: a ${var} that is still unresolved may yet be empty, and then one identity is left.
            yield Report(
                "run_as section cannot specify both user_name and service_principal_name; the Databricks CLI refuses "
                "it: keep one",
                path,
            )


# --- DG012 read-only-field ---------------------------------------------------------------------------------------


class ReadOnlyField(Rule):
    """
    ## What it does
    Reports fields the Databricks CLI computes or manages itself, set in the configuration:
    - `deployment.deployment_id` and `deployment.version_id` of a job or a pipeline;
    - `idempotency_token` of a job run (`resources.job_runs`);
    - `etag` of a dashboard or a Genie space;
    - `volume_path` of a volume.

    ## Why it matters
    The CLI refuses the bundle: it sets these fields on every deploy (or computes `volume_path` from the catalog,
    schema and name), so a value written by hand would be overwritten or, for an idempotency token, would stay
    reserved after the run is deleted and break the next deploy. An etag copied from an exported dashboard is the
    usual way in.

    ## Example
    ```yaml
    resources:
      dashboards:
        sales:
          display_name: Sales
          warehouse_id: 0123456789abcdef
          etag: "80611980"            # computed by the workspace
      volumes:
        raw:
          catalog_name: main
          schema_name: landing
          name: raw
          volume_path: /Volumes/main/landing/raw   # computed by the CLI
    ```

    ## Fix
    Remove the field. Refer to the computed value with `${resources.volumes.raw.volume_path}` where it is needed.
    """

    id = "DG012"
    name = "read-only-field"
    severity = Severity.ERROR
    summary = "a computed or CLI-managed field (deployment_id, version_id, idempotency_token, etag, volume_path) is set"
    source = (
        "The Databricks CLI's validate_deployment_fields, validate_job_run_idempotency_token, "
        "validate_dashboard_etags, validate_genie_space_etags and initialize_volume_paths."
    )

    def check(self, target: Target) -> Iterator[Report]:
        for kind in ("jobs", "pipelines"):
            for name, resource in resources_of(target, kind):
                deployment = resource.get("deployment")
                for field in ("deployment_id", "version_id"):
                    if isinstance(deployment, YMap) and _written(deployment.get(field)):
                        yield Report(
                            f"{field} must not be set in bundle configuration: the Databricks CLI manages it and "
                            "refuses a value written by hand",
                            ("resources", kind, name, "deployment", field),
                        )
        for name, run in resources_of(target, "job_runs"):
            if _written(run.get("idempotency_token")):
                yield Report(
                    "idempotency_token must not be set in bundle configuration: the Databricks CLI sets it on each "
                    "run-now request and refuses a value written by hand",
                    ("resources", "job_runs", name, "idempotency_token"),
                )
        for kind, label in (("dashboards", "dashboard"), ("genie_spaces", "genie space")):
            for name, resource in resources_of(target, kind):
                if _written(resource.get("etag")):
                    yield Report(
                        f"{label} '{name}' has an etag set; etags are kept by the workspace and must not be set in "
                        "bundle configuration (the Databricks CLI refuses it)",
                        ("resources", kind, name, "etag"),
                    )
        for name, volume in resources_of(target, "volumes"):
            if _written(volume.get("volume_path")):
                yield Report(
                    f"resources.volumes.{name}.volume_path is computed and read-only: the Databricks CLI refuses a "
                    f"value; use ${{resources.volumes.{name}.volume_path}} to refer to it",
                    ("resources", "volumes", name, "volume_path"),
                )


# Where DG012 reports a field the CLI manages: (resource kind, field); `deployment` is the jobs' and pipelines'
# section that holds deployment_id and version_id (the CLI fills it in and accepts it written).
_READ_ONLY = {
    ("jobs", "deployment"), ("pipelines", "deployment"), ("job_runs", "idempotency_token"), ("dashboards", "etag"),
    ("genie_spaces", "etag"), ("volumes", "volume_path"),
}  # fmt: skip


def is_read_only(path: tuple[str | int, ...]) -> bool:
    """Whether ``path`` is a field DG012 is about (``resources.volumes.x.volume_path``...): DG003 leaves it alone."""
    return len(path) == 4 and path[0] == "resources" and (path[1], path[3]) in _READ_ONLY


# --- DG013 required-resource-field -------------------------------------------------------------------------------

# The resource kinds whose schema has `grants` (the CLI drops `grants` elsewhere as an unknown field: DG003).
GRANT_KINDS = (
    "catalogs", "external_locations", "registered_models", "schemas", "secrets", "vector_search_indexes", "volumes",
)  # fmt: skip
_PRINCIPAL_FIELDS = ("user_name", "group_name", "service_principal_name")


def _blank(value: Any) -> bool:
    """Missing for the CLI (see ``_missing``) or only whitespace; a ``${...}`` is not blank (it may be set)."""
    return _missing(value) or (isinstance(value, str) and not value.strip())


class RequiredResourceField(Rule):
    """
    ## What it does
    Reports resource fields the Databricks CLI requires although the API schema marks them optional:
    - a resource or an artifact written with no definition at all (`my_job:` and nothing under it, in every file
      and the target);
    - a dashboard without `display_name` or without `warehouse_id`;
    - a SQL warehouse (`resources.sql_warehouses`) without a `name` (or with only spaces);
    - a grant (of a catalog, schema, volume, registered model, external location, secret or vector search index)
      without `principal`, or with no `privileges`;
    - a secret scope permission that names no `user_name`, `group_name` or `service_principal_name`.

    ## Why it matters
    The CLI refuses the bundle at validate time, before anything is created: the backend would reject such a
    resource half-way through the deploy, or (for a grant without privileges) plan the same change on every deploy.

    ## Example
    ```yaml
    resources:
      schemas:
        landing:
          catalog_name: main
          name: landing
          grants:
            - principal: data-engineers
              privileges: []          # no privileges
      secret_scopes:
        keys:
          name: keys
          permissions:
            - level: READ             # no principal
    ```

    ## Fix
    Set the field: give every dashboard a `display_name` and a `warehouse_id`, every SQL warehouse a `name`, every
    grant a `principal` and at least one privilege, every secret scope permission its principal.
    """

    id = "DG013"
    name = "required-resource-field"
    severity = Severity.ERROR
    summary = "a dashboard, SQL warehouse, grant or secret scope permission without a field the CLI requires"
    source = "The Databricks CLI's validate:required (bundle/config/validate/required.go)."

    def check(self, target: Target) -> Iterator[Report]:
        yield from self._undefined(target)
        yield from self._dashboards(target)
        yield from self._warehouses(target)
        yield from self._grants(target)
        yield from self._secret_scopes(target)

    @staticmethod
    def _undefined(target: Target) -> Iterator[Report]:
        """A resource key whose value is null once files and target are merged (validate:AllResourcesHaveValues), and
        an artifact with nothing under it ("Artifact not properly configured")."""
        artifacts = target.config.get("artifacts")
        if isinstance(artifacts, YMap):
            for name, value in artifacts.items():
                if value is None:
                    yield Report(
                        f"artifact {name} has no properties (the CLI: Artifact not properly configured): give it a"
                        " `build` command, a `path` or `files`",
                        ("artifacts", name),
                        on_key=True,
                    )
        resources = target.config.get("resources")
        if not isinstance(resources, YMap):
            return
        for kind, group in resources.items():
            if not isinstance(group, YMap):
                continue
            for name, value in group.items():
                if value is None:
                    yield Report(
                        f"{kind.removesuffix('s')} {name} is not defined: the resource has no fields, and the CLI "
                        "refuses it",
                        ("resources", kind, name),
                        on_key=True,
                    )

    @staticmethod
    def _dashboards(target: Target) -> Iterator[Report]:
        for name, dashboard in resources_of(target, "dashboards"):
            for field in ("display_name", "warehouse_id"):
                if _missing(dashboard.get(field)):
                    yield Report(
                        f"dashboard '{name}' has no {field}: the Databricks CLI requires it",
                        ("resources", "dashboards", name),
                        on_key=True,
                    )

    @staticmethod
    def _warehouses(target: Target) -> Iterator[Report]:
        for name, warehouse in resources_of(target, "sql_warehouses"):
            if _blank(warehouse.get("name")):
                yield Report(
                    f"sql_warehouse '{name}' has no name: the Databricks CLI requires one (spaces only do not count)",
                    ("resources", "sql_warehouses", name),
                    on_key=True,
                )

    @staticmethod
    def _grants(target: Target) -> Iterator[Report]:
        for kind in GRANT_KINDS:
            for name, resource in resources_of(target, kind):
                grants = resource.get("grants")
                if not isinstance(grants, YSeq):
                    continue
                for i, grant in enumerate(grants):
                    if not isinstance(grant, YMap):
                        continue
                    path = ("resources", kind, name, "grants", i)
                    if _missing(grant.get("principal")):
                        yield Report(f"grant {i} of {kind}.{name} has no principal: the Databricks CLI requires it", path)
                    privileges = grant.get("privileges")
                    if privileges is None or (isinstance(privileges, list) and not privileges):
                        yield Report(
                            f"grant {i} of {kind}.{name} has no privileges: the Databricks CLI requires at least one "
                            "(the workspace drops a principal with none, so the deploy would never settle)",
                            path,
                        )

    @staticmethod
    def _secret_scopes(target: Target) -> Iterator[Report]:
        for name, scope in resources_of(target, "secret_scopes"):
            permissions = scope.get("permissions")
            if not isinstance(permissions, YSeq):
                continue
            for i, permission in enumerate(permissions):
                if not isinstance(permission, YMap):
                    continue
                if all(_missing(permission.get(field)) for field in _PRINCIPAL_FIELDS):
                    yield Report(
                        f"permission {i} of secret scope '{name}' names no principal: set one of user_name, "
                        "group_name or service_principal_name (the Databricks CLI requires it)",
                        ("resources", "secret_scopes", name, "permissions", i),
                    )


# --- DG014 volume-workspace-path ---------------------------------------------------------------------------------

# In the CLI's order: once root_path is refused it reports nothing more (the other paths derive from it).
_WORKSPACE_PATHS = ("root_path", "file_path", "state_path", "resource_path")


class VolumeWorkspacePath(Rule):
    """
    ## What it does
    Reports `workspace.root_path`, `workspace.file_path`, `workspace.state_path` or `workspace.resource_path` under
    `/Volumes/`.

    ## Why it matters
    The Databricks CLI refuses it: bundle files, deployment state and resource metadata live in the workspace file
    system. Only `workspace.artifact_path` (where built wheels and jars are uploaded) may be a Unity Catalog volume.

    ## Example
    ```yaml
    workspace:
      root_path: /Workspace/Shared/.bundle/${bundle.name}
      file_path: /Volumes/main/default/files      # refused
      artifact_path: /Volumes/main/default/libs   # allowed
    ```

    ## Fix
    Keep those paths under `/Workspace` (or leave them to their defaults under `root_path`); put only
    `artifact_path` in a volume.
    """

    id = "DG014"
    name = "volume-workspace-path"
    severity = Severity.ERROR
    summary = "workspace root_path, file_path, state_path or resource_path in /Volumes"
    source = "The Databricks CLI's validate:volume-path (bundle/config/validate/validate_volume_path.go)."

    def check(self, target: Target) -> Iterator[Report]:
        workspace = target.config.get("workspace")
        if not isinstance(workspace, YMap):
            return
        for field in _WORKSPACE_PATHS:
            value = workspace.get(field)
            # A reference later in the value does not change where it starts.
            if not isinstance(value, str) or not value.startswith("/Volumes/"):
                continue
            yield Report(
                f"workspace.{field} {value} starts with /Volumes; only workspace.artifact_path can be in /Volumes "
                "(the Databricks CLI refuses it)",
                ("workspace", field),
            )
            if field == "root_path":
                return


# --- DG015 scripts -----------------------------------------------------------------------------------------------

# The namespaces the CLI resolves before a script runs; the others are only known after the deploy.
_SCRIPT_ENV_NAMESPACES = ("bundle", "workspace", "var", "variables")


class Scripts(Rule):
    """
    ## What it does
    Checks the top-level `scripts` section (commands for `databricks bundle run <name>`):
    - a script without `content`, or with empty content;
    - `${...}` in `content`, which the CLI refuses (a shell's `$NAME` or `${NAME:-x}` is fine);
    - an `env` value that refers to something other than `${bundle.*}`, `${workspace.*}` or `${var.*}`
      (`${resources.*}` is only known after the deploy);
    - a script whose key is also the key of a resource, or a script defined in two files.

    ## Why it matters
    The Databricks CLI refuses the whole bundle, not only `bundle run` of that script: `validate` and `deploy` fail
    too. Script keys share one namespace with resource keys because `bundle run <key>` must find one thing.

    ## Example
    ```yaml
    scripts:
      train:                       # also resources.jobs.train
        content: python train.py --catalog ${var.catalog}   # ${...} in content
      smoke:                       # no content
    resources:
      jobs:
        train:
          name: train
    ```

    ## Fix
    Give each script a key of its own and a `content`. Pass bundle values through `env` and use them as shell
    variables:
    ```yaml
    scripts:
      train_locally:
        env:
          CATALOG: ${var.catalog}
        content: python train.py --catalog "$CATALOG"
    ```
    """

    id = "DG015"
    name = "scripts"
    severity = Severity.ERROR
    summary = "a script with no content, ${...} in its content or env, or a key shared with a resource"
    source = (
        "The Databricks CLI's validate:scripts and validate:unique_resource_keys "
        "(bundle/config/validate/scripts.go, unique_resource_keys.go)."
    )

    def check(self, target: Target) -> Iterator[Report]:
        # The raw configuration: a target cannot hold scripts, and the CLI checks the content as written, before
        # references are resolved. These findings are the same in every target (the engine keeps one).
        scripts = target.bundle.config.get("scripts")
        if not isinstance(scripts, YMap):
            return
        for key in sorted(scripts):
            yield from self._script(key, scripts[key])
        yield from self._clashes(target, scripts)

    @staticmethod
    def _script(key: str, script: Any) -> Iterator[Report]:
        content = script.get("content") if isinstance(script, YMap) else None
        if content is None or content == "":
            yield Report(
                f"script '{key}' has no content: the Databricks CLI refuses it",
                ("scripts", key, "content") if isinstance(script, YMap) and "content" in script else ("scripts", key),
                on_key=not isinstance(script, YMap) or "content" not in script,
            )
            return
        if isinstance(content, str):
            found = REFERENCE_RE.search(content)
            if found:
                yield Report(
                    f"found {found.group(0)} in script {key}.content: ${{...}} is not supported in script content; "
                    f"declare it under scripts.{key}.env (MY_VAR: {found.group(0)}) and use $MY_VAR in the content",
                    ("scripts", key, "content"),
                )
        env = script.get("env") if isinstance(script, YMap) else None
        if not isinstance(env, YMap):
            return
        for name in sorted(env):
            value = env[name]
            if not isinstance(value, str):
                continue
            for ref in REFERENCE_RE.finditer(value):
                if ref.group(1).split(".", 1)[0] not in _SCRIPT_ENV_NAMESPACES:
                    yield Report(
                        f"{ref.group(0)} cannot be used in scripts.{key}.env.{name}: only ${{bundle.*}}, "
                        "${workspace.*} and ${var.*} are resolved before a script runs",
                        ("scripts", key, "env", name),
                    )

    @staticmethod
    def _clashes(target: Target, scripts: YMap) -> Iterator[Report]:
        resource_keys: dict[str, str] = {}
        resources = target.bundle.config.get("resources")
        if isinstance(resources, YMap):
            for kind, group in resources.items():
                if isinstance(group, YMap):
                    for name in group:
                        resource_keys.setdefault(name, f"resources.{kind}.{name}")
        for key in scripts:
            if key in resource_keys:
                yield Report(
                    f"script '{key}' has the same key as {resource_keys[key]}: resources and scripts share one set of "
                    "keys (for `bundle run`), and the Databricks CLI refuses both",
                    ("scripts", key),
                    on_key=True,
                )
        # The merged section keeps one position per key: the files themselves tell a script written twice. Merging
        # adopts a file's mappings into the merged tree (and the root file's tree is the merged one), so a file's
        # `scripts` may hold keys other files added: each file counts only the keys written in it.
        seen: dict[str, str] = {}
        for rel, source in target.bundle.files.items():
            own = section(source.doc.value, "scripts")
            if not isinstance(own, YMap):
                continue
            for key in own:
                loc = own.key_locs.get(key)
                if loc is None or loc.file != rel:
                    continue
                if key in seen:
                    yield Report(
                        f"script '{key}' is defined in {seen[key]} and again in {rel}; the Databricks CLI refuses a "
                        "script defined in two files",
                        at=loc,
                    )
                else:
                    seen[key] = rel
