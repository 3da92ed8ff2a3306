"""preflight.py creates the catalog and schema when missing, through a stand-in for the workspace client."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("databricks.sdk", reason="databricks-sdk is not installed")
from databricks.sdk.errors import NotFound, PermissionDenied  # noqa: E402

import preflight  # noqa: E402


class FakeApi:
    def __init__(self, existing: set[str], may_create: bool) -> None:
        self.existing, self.may_create, self.created = existing, may_create, []

    def get(self, name: str) -> dict[str, str]:
        if name not in self.existing:
            raise NotFound(f"{name} does not exist")
        return {"name": name}

    def create(self, name: str, catalog_name: str | None = None, **_: Any) -> None:
        if not self.may_create:
            raise PermissionDenied("no CREATE privilege")
        self.created.append(f"{catalog_name}.{name}" if catalog_name else name)


class FakeWorkspace:
    def __init__(self, catalogs: set[str], schemas: set[str], may_create: bool = True) -> None:
        self.catalogs = FakeApi(catalogs, may_create)
        self.schemas = FakeApi(schemas, may_create)


def test_existing_catalog_and_schema_are_left_alone() -> None:
    workspace = FakeWorkspace({"main"}, {"main.agents"})
    assert preflight.ensure_catalog_and_schema(workspace, "main", "agents") == []
    assert workspace.catalogs.created == workspace.schemas.created == []


def test_missing_schema_is_created() -> None:
    workspace = FakeWorkspace({"main"}, set())
    assert preflight.ensure_catalog_and_schema(workspace, "main", "agents") == ["schema main.agents"]
    assert workspace.schemas.created == ["main.agents"]


def test_missing_catalog_and_schema_are_created() -> None:
    workspace = FakeWorkspace(set(), set())
    created = preflight.ensure_catalog_and_schema(workspace, "new_catalog", "agents")
    assert created == ["catalog new_catalog", "schema new_catalog.agents"]


def test_no_permission_stops_with_a_clear_message() -> None:
    workspace = FakeWorkspace(set(), set(), may_create=False)
    with pytest.raises(SystemExit, match="ask a metastore admin"):
        preflight.ensure_catalog_and_schema(workspace, "new_catalog", "agents")
