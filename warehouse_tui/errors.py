"""Domain errors: what an operator can read and act on."""

from __future__ import annotations


class WarehouseError(Exception):
    """A request the warehouse refuses; the message tells the operator what to do next."""


class NotFound(WarehouseError):
    """A scanned or typed code names nothing we know."""


class InvalidInput(WarehouseError):
    """A scan, quantity or file row that is malformed."""


class InvariantViolation(WarehouseError):
    """The action would break a ledger invariant (negative stock, serial in two places)."""


class NotAllowed(WarehouseError):
    """The operator's role or the document's state forbids the action."""


class ConfigError(WarehouseError):
    """The configuration file or options are wrong."""
