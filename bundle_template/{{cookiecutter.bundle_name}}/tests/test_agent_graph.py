"""The agent graph with a scripted chat model: tool calls, a failing tool, a failing model. Needs LangGraph."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langgraph", reason="langgraph is not installed (pip install -r requirements-dev.txt)")
pytest.importorskip("langchain_core", reason="langchain-core is not installed")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, ToolMessage  # noqa: E402

from agent_graph import build_graph  # noqa: E402
from tools import TOOL_FUNCTIONS  # noqa: E402


class ScriptedChatModel(GenericFakeChatModel):
    """Answers with the given messages in turn; tools are accepted and ignored."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self


class BrokenChatModel(ScriptedChatModel):
    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("endpoint unreachable")


def tool_call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{name}", "type": "tool_call"}])


def ask(llm: Any, question: str) -> list[Any]:
    graph = build_graph(llm, TOOL_FUNCTIONS)
    state = graph.invoke({"messages": [{"role": "user", "content": question}]}, config={"recursion_limit": 10})
    return state["messages"]


def test_the_agent_calls_a_tool_and_answers() -> None:
    llm = ScriptedChatModel(messages=iter([tool_call("calculate", expression="6 * 7"), AIMessage(content="It is 42.")]))
    messages = ask(llm, "What is 6 times 7?")
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.content for m in tool_messages] == ["42"]
    assert messages[-1].content == "It is 42."


def test_a_failing_tool_is_answered_gracefully() -> None:
    llm = ScriptedChatModel(
        messages=iter([tool_call("calculate", expression="1 / 0"), AIMessage(content="That is a division by zero.")])
    )
    messages = ask(llm, "What is 1 divided by 0?")
    errors = [m for m in messages if isinstance(m, ToolMessage) and m.status == "error"]
    assert len(errors) == 1 and "division" in errors[0].content
    assert messages[-1].content == "That is a division by zero."


def test_a_failing_chat_model_gives_an_apology_not_a_crash() -> None:
    messages = ask(BrokenChatModel(messages=iter([])), "Hello?")
    assert isinstance(messages[-1], AIMessage)
    assert "endpoint unreachable" in messages[-1].content
