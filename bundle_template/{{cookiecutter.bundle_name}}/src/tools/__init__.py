"""The agent's tools: plain Python functions, wrapped as LangChain tools in agent_graph.py.

A tool reports bad input by raising an exception with a clear message; the graph's
`ToolNode(..., handle_tool_errors=True)` turns it into a tool message the model can read and explain.
"""

from tools.calculator import calculate
from tools.units import convert_units

TOOL_FUNCTIONS = [calculate, convert_units]

__all__ = ["TOOL_FUNCTIONS", "calculate", "convert_units"]
