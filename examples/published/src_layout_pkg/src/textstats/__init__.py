"""Text statistics."""

from .core import predict

__all__ = ["predict"]
