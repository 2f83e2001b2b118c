"""Turns titles into URL slugs with the third-party python-slugify package."""

from slugify import slugify


def handler(inputs: dict) -> dict:
    text = inputs["text"]
    separator = inputs.get("separator", "-")
    return {"slug": slugify(text, separator=separator)}
