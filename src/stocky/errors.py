"""The exceptions stocky raises below its interfaces.

The API maps them to HTTP statuses and the CLI to exit codes; nothing below those layers
converts or swallows them.
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "DataQualityError",
    "DataUnavailable",
    "DeliveryError",
    "ModelNameTaken",
    "ModelNotFound",
    "RegistryError",
    "StockyError",
    "StoreError",
]


class StockyError(Exception):
    """Base class: the message says what went wrong and how to fix it."""

    exit_code = 1


class BadInput(StockyError):
    """The caller sent something stocky cannot use (a value, a file, an option)."""

    exit_code = 2


class DataUnavailable(StockyError):
    """A price source could not deliver the asked-for ticker and range."""

    exit_code = 3


class DataQualityError(BadInput):
    """Prices exist but are unfit for training (too few, non-finite, ...)."""


class ModelNotFound(StockyError):
    """No registered model (or alias) for the asked-for ticker."""

    exit_code = 4


class RegistryError(StockyError):
    """The model registry (MLflow) failed or holds something unusable."""

    exit_code = 5


class ModelNameTaken(RegistryError):
    """A registered model's name belongs to another ticker (a registry written before names
    were one-to-one)."""


class StoreError(StockyError):
    """The database failed to read or write."""

    exit_code = 6


class DeliveryError(StockyError):
    """An alert could not be delivered to a notification target (chat, e-mail, webhook)."""

    exit_code = 7
