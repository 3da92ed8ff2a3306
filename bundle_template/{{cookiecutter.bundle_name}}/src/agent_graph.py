"""The LangGraph agent: a chat model that may call tools, in a loop, until it answers.

Two guards keep a failure from turning into a `null` answer at the endpoint: the ToolNode turns a tool's exception
into a tool message (`handle_tool_errors=True`), and the agent node answers with an apology when the chat model
call itself fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from chat_schema import error_reply

SYSTEM_PROMPT = (
    "You are a helpful assistant. Use the tools for arithmetic and unit conversions. "
    "When a tool reports an error, explain the problem to the user instead of guessing."
)


def build_graph(
    llm: BaseChatModel, tool_functions: Sequence[Callable[..., Any]], system_prompt: str = SYSTEM_PROMPT
) -> Any:
    """Compile the agent graph for ``llm`` and the plain-Python ``tool_functions``."""
    tools = [tool(function) for function in tool_functions]
    llm_with_tools = llm.bind_tools(tools)

    def agent_node(state: MessagesState) -> dict[str, list[Any]]:
        try:
            messages = [SystemMessage(content=system_prompt), *state["messages"]]
            return {"messages": [llm_with_tools.invoke(messages)]}
        except Exception as exc:  # endpoint down, rate limit, bad response: answer instead of crashing the graph
            return {"messages": [AIMessage(content=error_reply(exc))]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent_node)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=True))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)  # to "tools" when the model asked for one, else the end
    graph.add_edge("tools", "agent")
    return graph.compile()
