"""The agent's request and response format (chat completions), in plain Python.

log_model.py builds the model signature from the two examples below, the agent answers in the same shape, and
the tests check both without MLflow or LangChain installed. Agent Framework (`databricks.agents.deploy`) accepts
this request/response pair.
"""

from __future__ import annotations

from typing import Any

REQUEST_EXAMPLE: dict[str, Any] = {"messages": [{"role": "user", "content": "What is 6 times 7?"}]}


def chat_response(text: str) -> dict[str, Any]:
    """One assistant answer in the chat completions response shape."""
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "object": "chat.completion",
    }


RESPONSE_EXAMPLE: dict[str, Any] = chat_response("6 times 7 is 42.")


def request_messages(model_input: Any) -> list[list[dict[str, str]]]:
    """The message lists of every request in ``model_input``.

    Model serving hands a pyfunc model either the request dict itself, a list of request dicts, or (after MLflow
    checked it against the signature) a pandas DataFrame with one row per request.
    """
    if hasattr(model_input, "to_dict"):  # a pandas DataFrame, without importing pandas here
        rows = model_input.to_dict(orient="records")
    elif isinstance(model_input, dict):
        rows = [model_input]
    elif isinstance(model_input, list):
        rows = model_input
    else:
        raise TypeError(f"expected a chat request with 'messages', got {type(model_input).__name__}")
    requests = []
    for row in rows:
        messages = row.get("messages") if isinstance(row, dict) else None
        if messages is None:
            raise ValueError("a chat request needs a 'messages' list")
        requests.append([_message(m) for m in list(messages)])
    return requests


def graph_input(request: Any) -> dict[str, list[Any]]:
    """The LangGraph state for one request: a chat request dict, or the message list MLflow's LangChain flavour
    makes from it."""
    if isinstance(request, dict) and "messages" in request:
        return {"messages": list(request["messages"])}
    if isinstance(request, list):
        return {"messages": request}
    raise TypeError(f"expected a chat request with 'messages', got {type(request).__name__}")


def _message(message: Any) -> dict[str, str]:
    if isinstance(message, dict):
        role, content = message.get("role"), message.get("content")
    else:  # a LangChain message object
        role, content = getattr(message, "type", None), getattr(message, "content", None)
    if not isinstance(role, str) or not isinstance(content, str):
        raise ValueError("every message needs a string 'role' and 'content'")
    return {"role": role, "content": content}


def message_text(message: Any) -> str:
    """The text of a LangChain message or a chat message dict."""
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
    if isinstance(content, list):  # content blocks: keep the text ones
        return "".join(block.get("text", "") if isinstance(block, dict) else str(block) for block in content)
    return str(content or "")


def error_reply(exc: BaseException) -> str:
    """What the agent says when the chat model itself fails, instead of crashing the graph."""
    return f"Sorry, I could not answer this time ({type(exc).__name__}: {exc}). Please try again."
