"""Plugins: the strategy registry, the config.yaml schema, the hookspecs and package data."""
