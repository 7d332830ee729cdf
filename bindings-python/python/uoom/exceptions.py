"""The exceptions uoom raises, one class per error category of the Rust core.

They are plain Python classes (the native module imports them when it raises),
so they pickle, subclass and document like any other Python exception. Each
class also derives from the closest built-in exception, so code that already
catches ``ValueError`` or ``LookupError`` keeps working.

>>> import uoom
>>> issubclass(uoom.ValidationError, uoom.UoomError) and issubclass(uoom.ValidationError, ValueError)
True
>>> uoom.CapacityError.code
'UOOM_CAPACITY'
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

__all__ = [
    "UoomError",
    "ValidationError",
    "InfeasibleError",
    "CapacityError",
    "NotFoundError",
    "ConflictError",
    "TimeoutError",
    "IoError",
]


class UoomError(Exception):
    """Base class of every error uoom raises.

    ``code`` is the stable category code shared with the Node binding and the
    HTTP examples (``UOOM_VALIDATION``, ``UOOM_CAPACITY``, ...).
    """

    code: str = "UOOM_ERROR"


class ValidationError(UoomError, ValueError):
    """The input failed validation; ``errors`` lists every problem found.

    Each entry is a dict ``{"field": ..., "code": ..., "message": ...}`` where
    ``field`` is the JSON path of the offending value (``items[0].quantity``).
    """

    code = "UOOM_VALIDATION"

    def __init__(self, message: str, errors: Sequence[Dict[str, str]] = ()) -> None:
        super().__init__(message)
        self.errors: List[Dict[str, str]] = [dict(e) for e in errors]

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.errors))


class InfeasibleError(UoomError):
    """No feasible assignment or route exists under the rules."""

    code = "UOOM_INFEASIBLE"


class CapacityError(UoomError):
    """Not enough capacity left on the channel or slot."""

    code = "UOOM_CAPACITY"


class NotFoundError(UoomError, LookupError):
    """The named order, channel or reservation does not exist."""

    code = "UOOM_NOT_FOUND"


class ConflictError(UoomError):
    """An id was reused with different contents, or a state change is illegal."""

    code = "UOOM_CONFLICT"


class TimeoutError(UoomError):  # noqa: A001 - mirrors the core's category name
    """The operation ran out of its time budget."""

    code = "UOOM_TIMEOUT"


class IoError(UoomError, OSError):
    """An external system (database, broker, partner) failed."""

    code = "UOOM_IO"
