"""How the bus state machine refuses a CLUSTER command."""
from __future__ import annotations


class ClusterError(Exception):
    """A CLUSTER command refused; `message` is Redis's full error text (with `ERR `)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
