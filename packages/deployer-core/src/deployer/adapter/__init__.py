"""Adaptation: the AdapterAgent, templates, validation and the coding agents."""
