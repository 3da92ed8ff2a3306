{%- set agent = cookiecutter.model_kind == "agent" -%}
{%- set flavour = cookiecutter.model_flavour if agent else "pyfunc" -%}
{%- set model_file = "agent.py" if agent else "model.py" -%}
{#- Agents install MLflow 3 (task libraries); a plain model runs on the runtime's own MLflow. -#}
{%- set mlflow3 = agent or cookiecutter.runtime != "16.4" -%}
"""Log the {{ "agent" if agent else "model" }} with MLflow and register it in Unity Catalog (the job's log_and_register task).

This runs as a spark_python_task, which executes the file without defining ``__file__``, and ``/Workspace/`` is not
importable. So the deployed source folder comes in as ``--source-dir``, is copied to a local folder, and that folder
goes on ``sys.path`` before ``log_model()``, which imports {{ model_file }} to validate it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

# What the copy leaves behind: caches and notebook checkpoints are no part of the model.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
{%- if agent %}
# Files next to {{ model_file }} that it imports; MLflow packs them with the model for serving.
CODE_FILES = ("agent_graph.py", "chat_schema.py", "tools")
{%- else %}
# Files next to {{ model_file }} that it imports; MLflow packs them with the model for serving.
CODE_FILES = ("scoring.py",)
{%- endif %}


def copy_source(workspace_dir: str, local_dir: str) -> str:
    """Copy the deployed source folder to a fresh local folder and return that folder."""
    if not os.path.isdir(workspace_dir):
        raise SystemExit(f"source folder {workspace_dir} not found: deploy the bundle first (databricks bundle deploy)")
    if os.path.isdir(local_dir):
        shutil.rmtree(local_dir)
    shutil.copytree(workspace_dir, local_dir, ignore=IGNORED)
    return local_dir


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Log the {{ 'agent' if agent else 'model' }} and register it in Unity Catalog.")
    parser.add_argument("--source-dir", required=True, help="workspace folder of src/ (the bundle's files)")
    parser.add_argument("--local-dir", required=True, help="local folder to copy it to, e.g. /tmp/my_agent_src")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--experiment-id", help="MLflow experiment of the run (default: the active one)")
{%- if agent %}
    parser.add_argument("--llm-endpoint", required=True, help="serving endpoint of the chat model")
{%- endif %}
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    local_dir = copy_source(args.source_dir, args.local_dir)
    # log_model() imports {{ model_file }}, which imports its neighbours: their folder must be importable first.
    sys.path.insert(0, local_dir)

    import mlflow
{%- if agent %}
    from mlflow.models.resources import DatabricksServingEndpoint

    from chat_schema import REQUEST_EXAMPLE, RESPONSE_EXAMPLE
{%- else %}
    import pandas as pd

    from scoring import INPUT_EXAMPLE, OUTPUT_EXAMPLE
{%- endif %}

    mlflow.set_registry_uri("databricks-uc")
    if args.experiment_id:  # a job has no experiment of its own; a notebook has one
        mlflow.set_experiment(experiment_id=args.experiment_id)
    # Unity Catalog wants a signature with inputs AND outputs; an input example alone is not enough.
{%- if agent %}
    signature = mlflow.models.infer_signature(model_input=REQUEST_EXAMPLE, model_output=RESPONSE_EXAMPLE)
{%- else %}
    signature = mlflow.models.infer_signature(
        model_input=pd.DataFrame(INPUT_EXAMPLE), model_output=pd.DataFrame(OUTPUT_EXAMPLE)
    )
{%- endif %}
    model_file = os.path.join(local_dir, "{{ model_file }}")
    code_paths = [os.path.join(local_dir, name) for name in CODE_FILES]

    with mlflow.start_run(run_name="log_and_register"):
        model_info = mlflow.{{ flavour }}.log_model(
{%- if mlflow3 %}
            name="{{ 'agent' if agent else 'model' }}",
{%- else %}
            artifact_path="model",  # MLflow 2.21 ({{ cookiecutter._runtimes[cookiecutter.runtime].label }}) has no name= yet
{%- endif %}
            {{ "python_model" if flavour == "pyfunc" else "lc_model" }}=model_file,
            code_paths=code_paths,
{%- if agent %}
            model_config={"llm_endpoint": args.llm_endpoint},
{%- endif %}
            signature=signature,
{%- if agent %}
            input_example=REQUEST_EXAMPLE,
{%- else %}
            input_example=pd.DataFrame(INPUT_EXAMPLE),
{%- endif %}
            # The serving environment installs exactly this list: every package {{ model_file }} imports.
{%- if agent %}
{%- if flavour == "langchain" %}
            # (plus langchain itself, which MLflow's LangChain flavour loads the model with)
            pip_requirements=["mlflow>=3.6", "databricks-langchain", "langgraph>=0.3.4", "langchain-core", "langchain>=1.0"],
{%- else %}
            pip_requirements=["mlflow>=3.6", "databricks-langchain", "langgraph>=0.3.4", "langchain-core"],
{%- endif %}
            # Lets the endpoint call the chat model with credentials Databricks provides.
            resources=[DatabricksServingEndpoint(endpoint_name=args.llm_endpoint)],
{%- elif mlflow3 %}
            pip_requirements=["mlflow>=3.0,<4"],
{%- else %}
            pip_requirements=["mlflow>=2.21,<3"],
{%- endif %}
            registered_model_name=f"{args.catalog}.{args.schema}.{args.model_name}",
        )
    print(f"Logged {model_info.model_uri} as {args.catalog}.{args.schema}.{args.model_name}")


if __name__ == "__main__":
    main()
