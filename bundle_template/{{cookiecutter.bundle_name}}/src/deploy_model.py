"""Serve the newest registered version of the model from a model serving endpoint (the job's deploy_model task)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

MAX_ENDPOINT_NAME = 63


def default_endpoint_name(registered_name: str) -> str:
    """catalog.schema.model as an endpoint name: dots become dashes, at most 63 characters."""
    return registered_name.replace(".", "-")[:MAX_ENDPOINT_NAME].rstrip("-_")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the newest version of the registered model.")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--endpoint-name", help="default: catalog-schema-model")
    return parser.parse_args(argv)


def latest_version(client: Any, registered_name: str) -> int:
    versions = [int(v.version) for v in client.search_model_versions(f"name='{registered_name}'")]
    if not versions:
        raise SystemExit(f"{registered_name} has no versions: run the log_and_register task first")
    return max(versions)


def main(argv: Sequence[str] | None = None) -> None:
    import mlflow
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound
    from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

    args = parse_args(argv)
    registered_name = f"{args.catalog}.{args.schema}.{args.model_name}"
    endpoint_name = args.endpoint_name or default_endpoint_name(registered_name)
    mlflow.set_registry_uri("databricks-uc")
    version = latest_version(mlflow.MlflowClient(), registered_name)
    served = ServedEntityInput(
        entity_name=registered_name, entity_version=str(version), workload_size="Small", scale_to_zero_enabled=True
    )

    workspace = WorkspaceClient()
    try:
        workspace.serving_endpoints.get(endpoint_name)
    except NotFound:
        workspace.serving_endpoints.create_and_wait(
            name=endpoint_name, config=EndpointCoreConfigInput(served_entities=[served])
        )
    else:
        workspace.serving_endpoints.update_config_and_wait(name=endpoint_name, served_entities=[served])
    print(f"endpoint {endpoint_name} serves {registered_name} version {version}")


if __name__ == "__main__":
    main()
