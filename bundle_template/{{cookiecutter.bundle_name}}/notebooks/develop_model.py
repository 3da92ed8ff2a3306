# Databricks notebook source
# MAGIC %md
# MAGIC # Develop the model in a notebook first
# MAGIC
# MAGIC A failed job costs a cluster start and a run (5 to 10 minutes); a cell fails in seconds. Attach this notebook
# MAGIC to a single-user cluster running {{ cookiecutter._runtimes[cookiecutter.runtime].label }}, deploy the bundle once
# MAGIC (`databricks bundle deploy`) so that `src/` is in the workspace, then run the cells in order: smoke-test the
# MAGIC model, log and register, serve, query. The runtime ships everything the model needs (MLflow, pandas), so
# MAGIC nothing is installed. The job runs the same scripts (`src/log_model.py`, `src/deploy_model.py`).

# COMMAND ----------

dbutils.widgets.text("source_dir", "/Workspace/Users/{{ cookiecutter.user_email }}/.bundle/{{ cookiecutter.bundle_name }}/dev/files/src")
dbutils.widgets.text("catalog", "{{ cookiecutter.catalog }}")
dbutils.widgets.text("schema", "{{ cookiecutter.schema }}")
dbutils.widgets.text("model_name", "{{ cookiecutter.model_name }}")

SOURCE_DIR = dbutils.widgets.get("source_dir")
LOCAL_DIR = "/tmp/{{ cookiecutter.bundle_name }}_src"
CATALOG = dbutils.widgets.get("catalog")
SCHEMA = dbutils.widgets.get("schema")
MODEL_NAME = dbutils.widgets.get("model_name")
REGISTERED_NAME = f"{CATALOG}.{SCHEMA}.{MODEL_NAME}"

# COMMAND ----------

# /Workspace/ is not importable: copy src/ to a local folder and import from there.
import shutil
import sys

if LOCAL_DIR in sys.path:
    sys.path.remove(LOCAL_DIR)
shutil.rmtree(LOCAL_DIR, ignore_errors=True)
shutil.copytree(SOURCE_DIR, LOCAL_DIR, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
sys.path.insert(0, LOCAL_DIR)

# Smoke test: score the examples the signature is built from.
from scoring import INPUT_EXAMPLE, score_rows

print(score_rows(INPUT_EXAMPLE))

# COMMAND ----------

# Log and register with the same code the job's log_and_register task runs (into this notebook's experiment).
import log_model

log_model.main(
    [
        "--source-dir", SOURCE_DIR,
        "--local-dir", LOCAL_DIR,
        "--catalog", CATALOG,
        "--schema", SCHEMA,
        "--model-name", MODEL_NAME,
    ]
)

# COMMAND ----------

# Serve with the same code the job's deploy_model task runs.
import deploy_model

deploy_model.main(["--catalog", CATALOG, "--schema", SCHEMA, "--model-name", MODEL_NAME])

# COMMAND ----------

# Query the endpoint.
from databricks.sdk import WorkspaceClient

endpoint_name = deploy_model.default_endpoint_name(REGISTERED_NAME)
answer = WorkspaceClient().api_client.do(
    "POST", f"/serving-endpoints/{endpoint_name}/invocations", body={"dataframe_records": INPUT_EXAMPLE}
)
print(answer)
