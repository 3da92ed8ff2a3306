import pathlib
import sys

import mlflow

HERE = pathlib.Path(__file__).parent  # undefined under spark_python_task (DG201)
sys.path.insert(0, "/Workspace/Users/me@example.com/agent")  # not importable (DG202)

with mlflow.start_run():
    mlflow.pyfunc.log_model(
        python_model=str(HERE / "agent.py"),  # no pip_requirements for serving (DG205, a warning)
        artifact_path="agent",
        registered_model_name="main.agents.support_agent",  # no signature (DG204)
    )
