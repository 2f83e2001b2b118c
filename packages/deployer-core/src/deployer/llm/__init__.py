"""The LLM layer: the litellm client (optional extra) and a scripted test server."""
