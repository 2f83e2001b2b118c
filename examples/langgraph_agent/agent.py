"""A tool-routing agent that needs no LLM: route -> one tool -> respond.

The router picks a tool from the question's words; the state keeps the conversation's turns
and history (reducers add to them), so a thread continues where the last call left off.
"""

from __future__ import annotations

import ast
import operator
from typing import Annotated, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

Tool = Literal["calculator", "word_count", "reverse", "echo"]
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


class AgentState(TypedDict, total=False):
    question: str
    tool: Tool
    answer: str
    turns: Annotated[int, operator.add]
    history: Annotated[list[str], operator.add]


def route(state: AgentState) -> AgentState:
    """Pick the tool from the question's words."""
    question = state.get("question", "")
    if not question.strip():
        raise ValueError("the question is empty: send {'question': '...'}")
    lowered = question.lower()
    if any(ch.isdigit() for ch in question) and any(op in question for op in "+-*/"):
        tool: Tool = "calculator"
    elif "count" in lowered and "word" in lowered:
        tool = "word_count"
    elif "reverse" in lowered:
        tool = "reverse"
    else:
        tool = "echo"
    return {"tool": tool}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("only numbers and + - * / ** are supported")


def calculator(state: AgentState) -> AgentState:
    question = state["question"]
    expression = "".join(ch for ch in question if ch in "0123456789.+-*/() ").strip()
    value = _evaluate(ast.parse(expression, mode="eval").body)
    text = str(int(value)) if float(value).is_integer() else f"{value:.6g}"
    return {"answer": text}


def word_count(state: AgentState) -> AgentState:
    text = state["question"].split(":", 1)[-1]
    return {"answer": str(len(text.split()))}


def reverse(state: AgentState) -> AgentState:
    text = state["question"].split(":", 1)[-1].strip()
    return {"answer": text[::-1]}


def echo(state: AgentState) -> AgentState:
    return {"answer": state["question"]}


def respond(state: AgentState) -> AgentState:
    """Record the turn: one more turn, one more line of history."""
    return {"turns": 1, "history": [f"{state['tool']}: {state['answer']}"]}


def make_graph() -> CompiledStateGraph:
    """The agent's graph: route, then the chosen tool, then respond."""
    builder = StateGraph(AgentState)
    builder.add_node("route", route)
    for name, node in (
        ("calculator", calculator),
        ("word_count", word_count),
        ("reverse", reverse),
        ("echo", echo),
    ):
        builder.add_node(name, node)
        builder.add_edge(name, "respond")
    builder.add_node("respond", respond)
    builder.add_edge(START, "route")
    builder.add_conditional_edges("route", lambda state: state["tool"])
    builder.add_edge("respond", END)
    return builder.compile(name="langgraph_agent")


graph = make_graph()
