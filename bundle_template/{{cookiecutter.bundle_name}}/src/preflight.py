"""Make sure the Unity Catalog catalog and schema exist before anything is registered in them (the preflight task).

Registering a model in a schema that does not exist fails late, after the model was logged; this task fails early
with a clear message instead, or creates what is missing when the job's identity may.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def ensure_catalog_and_schema(client: Any, catalog: str, schema: str) -> list[str]:
    """Create the catalog and the schema when they are missing; return what was created."""
    from databricks.sdk.errors import NotFound, PermissionDenied

    created = []
    try:
        client.catalogs.get(catalog)
    except NotFound:
        try:
            client.catalogs.create(name=catalog, comment="Created by the preflight task of a dab-guard bundle.")
        except PermissionDenied as exc:
            raise SystemExit(
                f"catalog {catalog} does not exist and this identity may not create it ({exc}); "
                "ask a metastore admin to create it, or set the bundle variable `catalog` to an existing one"
            ) from exc
        created.append(f"catalog {catalog}")
    try:
        client.schemas.get(f"{catalog}.{schema}")
    except NotFound:
        try:
            client.schemas.create(name=schema, catalog_name=catalog)
        except PermissionDenied as exc:
            raise SystemExit(
                f"schema {catalog}.{schema} does not exist and this identity may not create it ({exc}); "
                f"ask for CREATE SCHEMA on catalog {catalog}, or set the bundle variable `schema` to an existing one"
            ) from exc
        created.append(f"schema {catalog}.{schema}")
    return created


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Create the Unity Catalog catalog and schema when missing.")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from databricks.sdk import WorkspaceClient

    args = parse_args(argv)
    created = ensure_catalog_and_schema(WorkspaceClient(), args.catalog, args.schema)
    print("created " + ", ".join(created) if created else f"{args.catalog}.{args.schema} exists")


if __name__ == "__main__":
    main()
