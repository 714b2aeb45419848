"""Model registry API (filled in by the registry work): Client methods and register_model."""

from __future__ import annotations


class RegistryClientMixin:
    """Registry methods of :class:`nbtrack.Client` (MLflow's names)."""
