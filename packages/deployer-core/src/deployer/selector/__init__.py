"""Selection: which strategy suits a solution (heuristics, the LLM layer, explain)."""
