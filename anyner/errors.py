"""Exceptions for mistakes a user can fix. The CLI prints them as one line, never a traceback."""

from __future__ import annotations


class AnyNERError(Exception):
    """Base class: the message names the cause and, where there is one, the fix."""


class InputError(AnyNERError, ValueError):
    """Bad arguments: labels, threshold, texts."""


class CheckpointError(AnyNERError):
    """A checkpoint folder that is missing, corrupt, incomplete or of an unsupported kind."""


class BackboneNotFoundError(AnyNERError):
    """An encoder name that cannot be resolved without the network."""
