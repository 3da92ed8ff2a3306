"""A small Databricks workspace on 127.0.0.1 for the ``--online`` tests: real databricks-sdk, fake REST answers.

It answers the endpoints dab-guard's workspace checks call, with bodies shaped like the REST API's (the
databricks-sdk dataclasses' ``from_dict`` reads them), and can be told to fail: a status per path (``faults``), or
never answering at all (``hang``). What it holds is a :class:`WorkspaceState`, built in a test or read from a
fixture's ``workspace.json`` (see ``tests/expectations.py``).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN = "dapi-fake-0123456789abcdef-secret"


@dataclass
class WorkspaceState:
    spark_versions: list[str] = field(default_factory=lambda: ["16.4.x-cpu-ml-scala2.12", "16.4.x-scala2.12", "17.3.x-scala2.13"])
    node_types: list[str] = field(default_factory=lambda: ["i3.xlarge", "m5d.large"])
    instance_pools: list[dict[str, Any]] = field(default_factory=list)
    cluster_policies: list[dict[str, Any]] = field(default_factory=list)
    policy_families: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    catalogs: list[str] = field(default_factory=lambda: ["main"])
    schemas: list[str] = field(default_factory=lambda: ["main.default"])
    serving_endpoints: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> WorkspaceState:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)


class FakeWorkspace:
    """The server and what it saw. ``faults`` maps a path prefix to statuses returned in order before success."""

    def __init__(self, state: WorkspaceState | None = None) -> None:
        self.state = state or WorkspaceState()
        self.requests: list[tuple[str, str]] = []
        self.auth_headers: list[str | None] = []
        self.faults: dict[str, list[int]] = {}
        self.hang = False
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="fake-workspace", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def api_requests(self) -> list[tuple[str, str]]:
        """Requests other than the SDK's host-metadata probe."""
        return [r for r in self.requests if not r[1].startswith("/.well-known/")]

    def start(self) -> FakeWorkspace:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    # --- answers ---------------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        s = self.state
        if method == "GET" and path == "/.well-known/databricks-config":
            return 200, {"workspace_id": "1234567890", "cloud": "aws"}
        if method == "GET" and path == "/api/2.1/clusters/spark-versions":
            return 200, {"versions": [{"key": k, "name": k} for k in s.spark_versions]}
        if method == "GET" and path == "/api/2.1/clusters/list-node-types":
            return 200, {"node_types": [_node_type(n) for n in s.node_types]}
        if method == "GET" and path == "/api/2.0/instance-pools/list":
            return 200, {"instance_pools": s.instance_pools}
        if method == "GET" and path == "/api/2.0/policies/clusters/list":
            return 200, {"policies": [_policy(p) for p in s.cluster_policies]}
        if method == "GET" and path.startswith("/api/2.0/policy-families/"):
            family_id = path.rsplit("/", 1)[1]
            for family in s.policy_families:
                if family["policy_family_id"] == family_id:
                    return 200, _policy(family)
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Policy family {family_id} does not exist"}
        if method == "GET" and path == "/api/2.1/clusters/list":
            return 200, {"clusters": s.clusters}
        if method == "GET" and path == "/api/2.1/clusters/get":
            cluster_id = query.get("cluster_id", [""])[0]
            for cluster in s.clusters:
                if cluster["cluster_id"] == cluster_id:
                    return 200, cluster
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Cluster {cluster_id} does not exist"}
        if method == "GET" and path.startswith("/api/2.1/unity-catalog/catalogs/"):
            name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            if name in s.catalogs:
                return 200, {"name": name, "full_name": name}
            return 404, {"error_code": "CATALOG_DOES_NOT_EXIST", "message": f"Catalog '{name}' does not exist."}
        if method == "GET" and path.startswith("/api/2.1/unity-catalog/schemas/"):
            full_name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            if full_name in s.schemas:
                catalog, name = full_name.split(".", 1)
                return 200, {"name": name, "catalog_name": catalog, "full_name": full_name}
            return 404, {"error_code": "SCHEMA_DOES_NOT_EXIST", "message": f"Schema '{full_name}' does not exist."}
        if method == "POST" and path == "/api/2.1/unity-catalog/schemas":
            catalog, name = body.get("catalog_name"), body.get("name")
            if catalog not in s.catalogs:
                return 404, {"error_code": "CATALOG_DOES_NOT_EXIST", "message": f"Catalog '{catalog}' does not exist."}
            s.schemas.append(f"{catalog}.{name}")
            return 200, {"name": name, "catalog_name": catalog, "full_name": f"{catalog}.{name}"}
        if method == "GET" and path.startswith("/api/2.0/serving-endpoints/"):
            name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            for endpoint in s.serving_endpoints:
                if endpoint["name"] == name:
                    return 200, {"id": f"id-{name}", **endpoint}
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Serving endpoint {name} does not exist"}
        if method == "GET" and path == "/api/2.0/sql/warehouses":
            return 200, {"warehouses": s.warehouses}
        if method == "GET" and path == "/api/2.0/preview/scim/v2/ServicePrincipals":
            start = int(query.get("startIndex", ["1"])[0])  # SCIM pages from 1 until a page comes back empty
            return 200, {"Resources": s.service_principals[start - 1 :], "totalResults": len(s.service_principals)}
        if method == "GET" and path == "/api/2.2/jobs/list":
            name = query.get("name", [None])[0]
            return 200, {"jobs": [j for j in s.jobs if name is None or j.get("settings", {}).get("name") == name]}
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {path}'"}


def _node_type(node_type_id: str) -> dict[str, Any]:
    return {"node_type_id": node_type_id, "memory_mb": 31232, "num_cores": 4.0, "description": node_type_id, "instance_type_id": node_type_id, "category": "General Purpose"}


def _policy(policy: dict[str, Any]) -> dict[str, Any]:
    """Definitions travel as JSON strings in the API."""
    out = dict(policy)
    for key in ("definition", "policy_family_definition_overrides"):
        if isinstance(out.get(key), dict):
            out[key] = json.dumps(out[key])
    return out


def _handler(fake: FakeWorkspace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with fake.lock:
                fake.requests.append((method, parsed.path))
                fake.auth_headers.append(self.headers.get("Authorization"))
                queued = next((codes for prefix, codes in fake.faults.items() if parsed.path.startswith(prefix) and codes), None)
                fault = queued.pop(0) if queued else None
            if fake.hang and not parsed.path.startswith("/.well-known/"):
                fake.release.wait(30)
                return
            if fault is not None:
                self._send(fault, {"error_code": "TEMPORARILY_UNAVAILABLE" if fault == 503 else "INTERNAL_ERROR", "message": f"fault {fault}"})
                return
            probe = parsed.path.startswith("/.well-known/")
            if not probe and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
                return
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, answer = fake.answer(method, parsed.path, urllib.parse.parse_qs(parsed.query), body)
            self._send(status, answer)

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

    return Handler
