from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    text: str
    reversed: str
    length: int


def reverse(state: State) -> State:
    return {"reversed": state["text"][::-1]}


def measure(state: State) -> State:
    return {"length": len(state["text"])}


builder = StateGraph(State)
builder.add_node("reverse", reverse)
builder.add_node("measure", measure)
builder.add_edge(START, "reverse")
builder.add_edge("reverse", "measure")
builder.add_edge("measure", END)

graph = builder.compile()
