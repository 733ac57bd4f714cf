"""The errors of review decisions (deciding, invalidating reports)."""

from __future__ import annotations


class DecisionRefusedError(Exception):
    """The decision cannot be taken as given; `field` names the DecisionInput field at fault
    (None: the decision as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


class AlreadyDecidedError(DecisionRefusedError):
    """The job is no longer pending: decided twice, or by someone else first."""
