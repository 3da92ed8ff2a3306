"""What a workspace holds, asked at most once per run and cached per workspace for a short time.

Each fact is plain JSON data reduced to the fields the checks read (never a credential, never a cluster's
``spark_conf`` or environment), so the cache file holds nothing secret. Every request runs under the run's
:class:`~dab_guard.workspace.client.Budget`; the first failure that is not "this object does not exist" ends all
further requests of the run and is kept as :attr:`WorkspaceFacts.error`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from dab_guard.workspace.client import Budget, Connection, WorkspaceError, build_client, known_secrets, redact

if TYPE_CHECKING:  # pragma: no cover
    from databricks.sdk import WorkspaceClient

T = TypeVar("T")

CACHE_TTL_SECONDS = 600
CACHE_VERSION = 1
# Returned by a fact about one named object that the workspace says does not exist.
MISSING: dict[str, Any] = {"__missing__": True}


def cache_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/dab-guard`` or ``~/.cache/dab-guard``."""
    base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "dab-guard"


class FactCache:
    """One JSON file per workspace (host and profile), entries expiring after :data:`CACHE_TTL_SECONDS`.

    With ``read=False`` (``--no-cache``) nothing is taken from the file, but what is fetched still refreshes it, so
    that a later run does not see facts older than this one's (a schema ``preflight`` just created, for example).
    """

    def __init__(self, folder: Path, connection: Connection, ttl: float = CACHE_TTL_SECONDS, read: bool = True) -> None:
        key = hashlib.sha256(f"{connection.host}|{connection.profile or ''}".encode()).hexdigest()[:24]
        self.path = folder / "workspace" / f"{key}.json"
        self.host = connection.host
        self.ttl = ttl
        self.entries: dict[str, Any] = self._read()
        self.reading = read
        self.dirty = False

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # a damaged cache is an empty one
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or data.get("host") != self.host:
            return {}
        entries = data.get("facts")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> tuple[bool, Any]:
        entry = self.entries.get(key) if self.reading else None
        if not isinstance(entry, dict) or not isinstance(entry.get("at"), (int, float)):
            return False, None
        if time.time() - entry["at"] > self.ttl:
            return False, None
        return True, entry.get("value")

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = {"at": time.time(), "value": value}
        self.dirty = True

    def save(self) -> None:
        """Write the file readable by its owner only (0600, folder 0700), atomically; a failure is not an error."""
        if not self.dirty:
            return
        now = time.time()
        fresh = {k: v for k, v in self.entries.items() if isinstance(v, dict) and now - v.get("at", 0) <= self.ttl}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".facts-", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"version": CACHE_VERSION, "host": self.host, "facts": fresh}, out)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self.dirty = False


class Failure:
    """The first workspace failure of a run, shared by every workspace of it: after one, nothing more is asked."""

    def __init__(self) -> None:
        self.error: WorkspaceError | None = None


class WorkspaceFacts:
    """The facts of one workspace. Methods return None when the fact could not be fetched (see :attr:`error`)."""

    def __init__(
        self,
        connection: Connection,
        budget: Budget,
        cache: FactCache | None = None,
        verbose: bool = False,
        failure: Failure | None = None,
        client_factory: Callable[[Connection, Budget, bool], WorkspaceClient] = build_client,
    ) -> None:
        self.connection = connection
        self.budget = budget
        self.cache = cache
        self.verbose = verbose
        self.failure = failure or Failure()
        self.requests = 0  # SDK calls made (cache hits excluded); tests read it
        self._memo: dict[str, Any] = {}
        self._client: WorkspaceClient | None = None
        self._client_factory = client_factory

    @property
    def error(self) -> WorkspaceError | None:
        return self.failure.error

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _fact(self, key: str, fetch: Callable[[WorkspaceClient], T], missing_ok: bool = False) -> T | None:
        """The fact ``key``: from this run's memory, the cache, or one bounded call of ``fetch``."""
        if key in self._memo:
            return cast(T, self._memo[key])
        value: Any
        if self.cache is not None:
            hit, value = self.cache.get(key)
            if hit:
                self._memo[key] = value
                return cast(T, value)
        if self.error is not None:
            return None
        try:
            value = self._bounded(key, fetch)
        except _Missing:
            if not missing_ok:
                return None
            value = MISSING
        except WorkspaceError as exc:
            if self.failure.error is None:
                self.failure.error = exc
            return None
        self._memo[key] = value
        if self.cache is not None:
            self.cache.put(key, value)
        return cast(T, value)

    def _bounded(self, what: str, fetch: Callable[[WorkspaceClient], T]) -> T:
        """Run the SDK call in a helper thread so the run's deadline holds even if the SDK's own bounds do not."""
        remaining = self.budget.remaining()
        if remaining <= 0:
            raise WorkspaceError(f"{self.connection.label} did not answer within {self.budget.seconds:g} s")
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                if self._client is None:
                    self._client = self._client_factory(self.connection, self.budget, self.verbose)
                self.requests += 1
                box["value"] = fetch(self._client)
            except BaseException as exc:
                box["error"] = exc

        worker = threading.Thread(target=call, name=f"dab-guard {what}", daemon=True)
        worker.start()
        worker.join(remaining)
        if worker.is_alive():
            raise WorkspaceError(f"{self.connection.label} did not answer within {self.budget.seconds:g} s")
        if "error" in box:
            raise self._translate(what, box["error"])
        return box["value"]  # type: ignore[no-any-return]

    def _translate(self, what: str, exc: BaseException) -> Exception:
        if isinstance(exc, WorkspaceError):
            return exc
        from databricks.sdk.errors.base import DatabricksError
        from databricks.sdk.errors.platform import InvalidParameterValue, NotFound, PermissionDenied, Unauthenticated

        secrets = known_secrets(os.environ)
        where = self.connection.label
        if isinstance(exc, NotFound) or (isinstance(exc, InvalidParameterValue) and "does not exist" in str(exc).lower()):
            return _Missing()  # e.g. clusters/get answers 400 "Cluster ... does not exist"
        if isinstance(exc, Unauthenticated):
            return WorkspaceError(f"{where} refused the credentials (401 unauthenticated): {_line(exc)}", secrets)
        if isinstance(exc, PermissionDenied):
            return WorkspaceError(f"{where} denied access to {what} (403): {_line(exc)}", secrets)
        if isinstance(exc, DatabricksError):
            return WorkspaceError(f"{where} failed on {what}: {_line(exc)}", secrets)
        if isinstance(exc, TimeoutError):  # the SDK's retry budget ran out; its cause is the last failure
            import requests

            cause = exc.__cause__
            if isinstance(cause, requests.ConnectionError) and not isinstance(cause, requests.Timeout):
                return WorkspaceError(f"cannot reach {where}: connection failed", secrets)
            return WorkspaceError(f"{where} did not answer within {self.budget.seconds:g} s", secrets)
        if isinstance(exc, OSError):  # requests' connection errors are OSErrors
            return WorkspaceError(f"cannot reach {where}: {_line(exc)}", secrets)
        return WorkspaceError(f"{where}: {what} failed: {_line(exc)}", secrets)

    def save(self) -> None:
        if self.cache is not None:
            self.cache.save()

    # --- facts ------------------------------------------------------------------------------------------------

    def spark_versions(self) -> list[dict[str, Any]] | None:
        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            return [{"key": v.key, "name": v.name} for v in (w.clusters.spark_versions().versions or []) if v.key]

        return self._fact("spark_versions", fetch)

    def node_types(self) -> list[dict[str, Any]] | None:
        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            return [{"id": n.node_type_id, "deprecated": bool(n.is_deprecated)} for n in (w.clusters.list_node_types().node_types or [])]

        return self._fact("node_types", fetch)

    def instance_pools(self) -> list[dict[str, Any]] | None:
        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            return [
                {
                    "id": p.instance_pool_id,
                    "name": p.instance_pool_name,
                    "node_type_id": p.node_type_id,
                    "preloaded_spark_versions": list(p.preloaded_spark_versions or []),
                }
                for p in w.instance_pools.list()
            ]

        return self._fact("instance_pools", fetch)

    def cluster_policies(self) -> list[dict[str, Any]] | None:
        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            return [
                {
                    "id": p.policy_id,
                    "name": p.name,
                    "definition": p.definition,
                    "policy_family_id": p.policy_family_id,
                    "policy_family_definition_overrides": p.policy_family_definition_overrides,
                }
                for p in w.cluster_policies.list()
            ]

        return self._fact("cluster_policies", fetch)

    def policy_family(self, family_id: str) -> dict[str, Any] | None:
        def fetch(w: WorkspaceClient) -> dict[str, Any]:
            family = w.policy_families.get(family_id)
            return {"id": family.policy_family_id, "name": family.name, "definition": family.definition}

        found = self._fact(f"policy_family:{family_id}", fetch, missing_ok=True)
        return None if found is MISSING else found

    def clusters(self) -> list[dict[str, Any]] | None:
        """All-purpose clusters (UI and API), as the CLI lists them for ``lookup: cluster``."""

        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            from databricks.sdk.service.compute import ClusterSource, ListClustersFilterBy

            sources = [ClusterSource.API, ClusterSource.UI]
            return [_cluster_fact(c) for c in w.clusters.list(filter_by=ListClustersFilterBy(cluster_sources=sources))]

        return self._fact("clusters", fetch)

    def cluster(self, cluster_id: str) -> dict[str, Any] | None:
        """One cluster by id, or :data:`MISSING`."""
        return self._fact(f"cluster:{cluster_id}", lambda w: _cluster_fact(w.clusters.get(cluster_id)), missing_ok=True)

    def catalog_exists(self, name: str) -> bool | None:
        found = self._fact(f"catalog:{name}", lambda w: {"name": w.catalogs.get(name).name}, missing_ok=True)
        return None if found is None else found != MISSING

    def schema_exists(self, full_name: str) -> bool | None:
        found = self._fact(f"schema:{full_name}", lambda w: {"name": w.schemas.get(full_name).full_name}, missing_ok=True)
        return None if found is None else found != MISSING

    def serving_endpoint(self, name: str) -> dict[str, Any] | None:
        """``{"name", "task"}`` of an existing endpoint, :data:`MISSING`, or None when unknown."""

        def fetch(w: WorkspaceClient) -> dict[str, Any]:
            endpoint = w.serving_endpoints.get(name)
            return {"name": endpoint.name, "task": endpoint.task}

        return self._fact(f"serving_endpoint:{name}", fetch, missing_ok=True)

    def named(self, kind: str, name: str) -> list[str] | None:
        """Ids of the objects of ``kind`` (a lookup kind) named ``name``; None when unknown."""
        listed = {"instance_pool": self.instance_pools, "cluster_policy": self.cluster_policies, "cluster": self.clusters}
        if kind in listed:
            # Answered from the list the checks need anyway, so the workspace is asked once.
            items = listed[kind]()
            return None if items is None else [str(item["id"]) for item in items if item.get("name") == name and item.get("id")]
        fetch = _NAMED.get(kind)
        if fetch is None:
            return None
        found = self._fact(f"named:{kind}:{name}", lambda w: fetch(w, name))
        return found if isinstance(found, list) else None

    # --- writes (preflight) -----------------------------------------------------------------------------------

    def create_schema(self, catalog: str, schema: str) -> str:
        """Create ``catalog.schema``; returns its full name. Raises WorkspaceError."""
        if self.error is not None:
            raise self.error
        try:
            created = self._bounded(f"creating schema {catalog}.{schema}", lambda w: w.schemas.create(name=schema, catalog_name=catalog))
        except _Missing:
            raise WorkspaceError(f"cannot create schema {catalog}.{schema}: {self.connection.host} has no catalog {catalog}") from None
        full_name = created.full_name or f"{catalog}.{schema}"
        self._memo[f"schema:{full_name}"] = {"name": full_name}
        if self.cache is not None:
            self.cache.put(f"schema:{full_name}", {"name": full_name})
        return full_name


class _Missing(Exception):
    """The workspace answered that the object does not exist."""


def _line(exc: BaseException) -> str:
    return redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, known_secrets(os.environ))


def _cluster_fact(cluster: Any) -> dict[str, Any]:
    mode = cluster.data_security_mode
    return {
        "id": cluster.cluster_id,
        "name": cluster.cluster_name,
        "spark_version": cluster.spark_version,
        "data_security_mode": mode.value if mode is not None else None,
        "state": cluster.state.value if cluster.state is not None else None,
    }


def _by_name(items: Any, name_of: Callable[[Any], Any], id_of: Callable[[Any], Any], name: str) -> list[str]:
    return [str(id_of(item)) for item in items if name_of(item) == name and id_of(item) is not None]


def _named_warehouse(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.warehouses.list(), lambda x: x.name, lambda x: x.id, name)


def _named_service_principal(w: WorkspaceClient, name: str) -> list[str]:
    principals = w.service_principals.list(filter=f'displayName eq "{name}"')
    return _by_name(principals, lambda p: p.display_name, lambda p: p.application_id, name)


def _named_metastore(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.metastores.list(), lambda m: m.name, lambda m: m.metastore_id, name)


def _named_job(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.jobs.list(name=name), lambda j: j.settings.name if j.settings else None, lambda j: j.job_id, name)


def _named_pipeline(w: WorkspaceClient, name: str) -> list[str]:
    escaped = name.replace("'", "''")
    return _by_name(w.pipelines.list_pipelines(filter=f"name LIKE '{escaped}'"), lambda p: p.name, lambda p: p.pipeline_id, name)


def _named_alert(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.alerts.list(), lambda a: a.display_name, lambda a: a.id, name)


def _named_dashboard(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.dashboards.list(), lambda d: d.name, lambda d: d.id, name)


def _named_query(w: WorkspaceClient, name: str) -> list[str]:
    return _by_name(w.queries.list(), lambda q: q.display_name, lambda q: q.id, name)


# Lookup kind -> how its objects are found by name (the id each returns is the one the CLI substitutes). Instance
# pools, cluster policies and clusters come from the lists in WorkspaceFacts.
_NAMED: dict[str, Callable[[WorkspaceClient, str], list[str]]] = {
    "warehouse": _named_warehouse,
    "service_principal": _named_service_principal,
    "metastore": _named_metastore,
    "job": _named_job,
    "pipeline": _named_pipeline,
    "alert": _named_alert,
    "dashboard": _named_dashboard,
    "query": _named_query,
}
LOOKUP_KINDS = ("instance_pool", "cluster_policy", "cluster", *_NAMED)
