{%- set pyfunc = cookiecutter.model_flavour == "pyfunc" -%}
"""The agent as an MLflow code model: log_model.py logs this file (mlflow.{{ cookiecutter.model_flavour }}.log_model).

MLflow imports this file when the model is logged and again when it is served, so everything it imports must be
installed on the cluster (the job's task libraries) and in the serving environment (pip_requirements).
The chat model's endpoint comes from the model config that log_model.py passes; the development config below is
used in a notebook.
"""

from __future__ import annotations
{% if pyfunc %}
from typing import Any
{% endif %}
import mlflow
from databricks_langchain import ChatDatabricks
{%- if not pyfunc %}
from langchain_core.runnables import RunnableLambda
{%- endif %}

from agent_graph import build_graph
from chat_schema import chat_response, {% if pyfunc %}message_text, request_messages{% else %}graph_input, message_text{% endif %}
from tools import TOOL_FUNCTIONS

CONFIG = mlflow.models.ModelConfig(development_config={"llm_endpoint": "{{ cookiecutter.llm_endpoint }}"})

GRAPH = build_graph(ChatDatabricks(endpoint=CONFIG.get("llm_endpoint")), TOOL_FUNCTIONS)
{% if pyfunc %}

class ChatAgentModel(mlflow.pyfunc.PythonModel):
    """Answers chat completion requests with the graph's final message."""

    # model_input has no type hint on purpose: MLflow would infer a signature from it and override the explicit
    # one that log_model.py gives (Unity Catalog needs inputs and outputs).
    def predict(self, context: Any, model_input, params: Any = None) -> Any:
        answers = []
        for messages in request_messages(model_input):
            state = GRAPH.invoke({"messages": messages}, config={"recursion_limit": 25})
            answers.append(chat_response(message_text(state["messages"][-1])))
        return answers[0] if len(answers) == 1 else answers


mlflow.models.set_model(ChatAgentModel())
{%- else %}

# MLflow hands the chain a chat request (or the message list it makes from one); the graph returns its whole
# state; the endpoint answers in the chat completions shape of the signature.
AGENT = (
    RunnableLambda(graph_input)
    | GRAPH.with_config({"recursion_limit": 25})
    | RunnableLambda(lambda state: chat_response(message_text(state["messages"][-1])))
)

mlflow.models.set_model(AGENT)
{%- endif %}
