"""Tracking: the fluent API, the Client and the run context."""

from nbtrack.tracking.client import Client, MlflowClient

__all__ = ["Client", "MlflowClient"]
