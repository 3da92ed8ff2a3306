# Databricks notebook source
# MAGIC %md
# MAGIC # Develop the agent in a notebook first
# MAGIC
# MAGIC A failed job costs a cluster start and a run (5 to 10 minutes); a cell fails in seconds. Attach this notebook
# MAGIC to a single-user cluster running {{ cookiecutter._runtimes[cookiecutter.runtime].label }}, deploy the bundle once
# MAGIC (`databricks bundle deploy`) so that `src/` is in the workspace, then run the cells in order: install, smoke-test
# MAGIC the graph, log and register, deploy, query. The job runs the same scripts (`src/log_model.py`,
# MAGIC `src/deploy_agent.py`) once everything works here.

# COMMAND ----------

# MAGIC %pip install "mlflow>=3.6" databricks-langchain "langgraph>=0.3.4" langchain-core "databricks-agents>=1.0"

# COMMAND ----------

# The packages above are imported below: restart Python so that the freshly installed versions are the ones loaded.
dbutils.library.restartPython()

# COMMAND ----------

dbutils.widgets.text("source_dir", "/Workspace/Users/{{ cookiecutter.user_email }}/.bundle/{{ cookiecutter.bundle_name }}/dev/files/src")
dbutils.widgets.text("catalog", "{{ cookiecutter.catalog }}")
dbutils.widgets.text("schema", "{{ cookiecutter.schema }}")
dbutils.widgets.text("model_name", "{{ cookiecutter.model_name }}")
dbutils.widgets.text("llm_endpoint", "{{ cookiecutter.llm_endpoint }}")

SOURCE_DIR = dbutils.widgets.get("source_dir")
LOCAL_DIR = "/tmp/{{ cookiecutter.bundle_name }}_src"
CATALOG = dbutils.widgets.get("catalog")
SCHEMA = dbutils.widgets.get("schema")
MODEL_NAME = dbutils.widgets.get("model_name")
LLM_ENDPOINT = dbutils.widgets.get("llm_endpoint")
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

# Smoke test: the graph answers, and a failing tool is answered too.
from databricks_langchain import ChatDatabricks

from agent_graph import build_graph
from tools import TOOL_FUNCTIONS

graph = build_graph(ChatDatabricks(endpoint=LLM_ENDPOINT), TOOL_FUNCTIONS)
for question in ("What is 6 times 7?", "What is 1 divided by 0?"):
    state = graph.invoke({"messages": [{"role": "user", "content": question}]}, config={"recursion_limit": 25})
    print(question, "->", state["messages"][-1].content)

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
        "--llm-endpoint", LLM_ENDPOINT,
    ]
)

# COMMAND ----------

# Deploy with the same code the job's deploy_agent task runs. Add "--recreate-endpoint" only when the endpoint
# serves the other model flavour and may be down while it is recreated.
import deploy_agent

deploy_agent.main(
    [
        "--catalog", CATALOG,
        "--schema", SCHEMA,
        "--model-name", MODEL_NAME,
        "--flavour", "{{ cookiecutter.model_flavour }}",
    ]
)

# COMMAND ----------

# Query the endpoint (it takes several minutes to become ready after the first deploy).
from databricks.sdk import WorkspaceClient

endpoint_name = deploy_agent.default_endpoint_name(REGISTERED_NAME)
answer = WorkspaceClient().api_client.do(
    "POST",
    f"/serving-endpoints/{endpoint_name}/invocations",
    body={"messages": [{"role": "user", "content": "What is 6 times 7?"}]},
)
print(answer)
