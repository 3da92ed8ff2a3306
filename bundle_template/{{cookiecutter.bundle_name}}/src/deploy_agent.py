"""Deploy the newest registered version of the agent with Agent Framework (the job's deploy_agent task).

An agent endpoint keeps the type of the first model it served: a `langchain` endpoint cannot serve a `pyfunc`
model or the other way round. This script checks the endpoint first and, when the types differ, stops with a
clear message; only with ``--recreate-endpoint`` (bundle variable ``recreate_endpoint``) does it delete the
endpoint and deploy afresh.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import Any

ENDPOINT_PREFIX = "agents_"
MAX_ENDPOINT_NAME = 63


def default_endpoint_name(registered_name: str) -> str:
    """The endpoint name databricks-agents derives from catalog.schema.model when none is given."""
    body = registered_name[: MAX_ENDPOINT_NAME - len(ENDPOINT_PREFIX)].replace(".", "-").rstrip("-_")
    return ENDPOINT_PREFIX + body


def flavour_of(flavors: Iterable[str]) -> str:
    """The agent endpoint type a logged model gets, from the flavours in its MLmodel file."""
    return "langchain" if "langchain" in set(flavors) else "pyfunc"


def type_conflict(endpoint_name: str, served_flavour: str | None, new_flavour: str, recreate: bool) -> str | None:
    """Why the deploy must stop, or None when it may go ahead (possibly after deleting the endpoint)."""
    if served_flavour is None or served_flavour == new_flavour or recreate:
        return None
    return (
        f"endpoint {endpoint_name} serves a {served_flavour} model and an agent endpoint cannot switch to "
        f"{new_flavour}. Re-run with --recreate-endpoint (bundle variable recreate_endpoint=true) to delete and "
        "recreate it; it is unavailable until the new deployment is ready."
    )


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deploy the newest version of the registered agent.")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--flavour", choices=("pyfunc", "langchain"), required=True, help="how log_model.py logs it")
    parser.add_argument("--experiment-id", help="MLflow experiment the endpoint's traces go to")
    parser.add_argument("--endpoint-name", help="default: the name databricks-agents derives from the model")
    parser.add_argument(
        "--recreate-endpoint",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        help="delete and recreate the endpoint when it serves the other model type",
    )
    return parser.parse_args(argv)


def latest_version(client: Any, registered_name: str) -> int:
    versions = [int(v.version) for v in client.search_model_versions(f"name='{registered_name}'")]
    if not versions:
        raise SystemExit(f"{registered_name} has no versions: run the log_and_register task first")
    return max(versions)


def served_flavour(workspace: Any, endpoint_name: str) -> str | None:
    """The type of the model the endpoint serves now, or None when there is no such endpoint (or it serves none)."""
    import mlflow
    from databricks.sdk.errors import NotFound

    try:
        endpoint = workspace.serving_endpoints.get(endpoint_name)
    except NotFound:
        return None
    for entity in (endpoint.config.served_entities or []) if endpoint.config else []:
        if entity.entity_name and entity.entity_version and entity.entity_name.count(".") == 2:
            info = mlflow.models.get_model_info(f"models:/{entity.entity_name}/{entity.entity_version}")
            return flavour_of(info.flavors)
    return None


def wait_until_deleted(workspace: Any, endpoint_name: str, timeout_s: float = 600.0) -> None:
    import time

    from databricks.sdk.errors import NotFound

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            workspace.serving_endpoints.get(endpoint_name)
        except NotFound:
            return
        time.sleep(10)
    raise SystemExit(f"endpoint {endpoint_name} is still there after {timeout_s:.0f} s; try again later")


def main(argv: Sequence[str] | None = None) -> None:
    import mlflow
    from databricks import agents
    from databricks.sdk import WorkspaceClient

    args = parse_args(argv)
    registered_name = f"{args.catalog}.{args.schema}.{args.model_name}"
    endpoint_name = args.endpoint_name or default_endpoint_name(registered_name)
    mlflow.set_registry_uri("databricks-uc")
    if args.experiment_id:
        mlflow.set_experiment(experiment_id=args.experiment_id)  # agents.deploy sends the endpoint's traces here

    workspace = WorkspaceClient()
    current = served_flavour(workspace, endpoint_name)
    problem = type_conflict(endpoint_name, current, args.flavour, args.recreate_endpoint)
    if problem:
        raise SystemExit(problem)
    if current is not None and current != args.flavour:
        print(f"deleting endpoint {endpoint_name} ({current}) to redeploy it as {args.flavour}")
        workspace.serving_endpoints.delete(endpoint_name)
        wait_until_deleted(workspace, endpoint_name)

    version = latest_version(mlflow.MlflowClient(), registered_name)
    deployment = agents.deploy(
        registered_name,
        version,
        scale_to_zero=True,
        endpoint_name=endpoint_name,
        tags={"model_flavour": args.flavour},
    )
    print(f"deployed {registered_name} version {version} to endpoint {deployment.endpoint_name}")


if __name__ == "__main__":
    main()
