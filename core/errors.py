"""Every error trackboard raises; each is also the built-in exception that fits it.

Catch ``TrackboardError`` for all of them, or the built-in base (``ValueError`` for bad data,
``LookupError`` for something missing) where that reads better.
"""

from __future__ import annotations


class TrackboardError(Exception):
    """Base class of every trackboard error."""


class InvalidLogError(TrackboardError, ValueError):
    """A log's data does not have the shape or values its type needs; nothing was stored."""


class LogDataTypeError(TrackboardError, TypeError):
    """A log's data is of a Python type its log type does not accept; nothing was stored."""


class UnknownLogTypeError(TrackboardError, ValueError):
    """The log type is not one of the eight LogType members."""


class LogTypeConflictError(TrackboardError, ValueError):
    """A log already exists under that name with another type (pass ``replace=True``)."""


class NotFoundError(TrackboardError, LookupError):
    """A project, experiment, log or artifact does not exist."""


class AlreadyExistsError(TrackboardError, ValueError):
    """A project or experiment of that name already exists."""


class WriteError(TrackboardError, RuntimeError):
    """Logged records could not be made durable (see the message for which and why)."""


class FlushTimeoutError(WriteError, TimeoutError):
    """``flush()`` gave up waiting for the store or server to acknowledge everything."""


class ServerError(TrackboardError, RuntimeError):
    """The tracking server answered with an error."""


class AuthenticationError(ServerError, PermissionError):
    """The tracking server refused the API token."""


class QueryError(TrackboardError, ValueError):
    """A run query (filter or sort) is malformed; ``position`` is the character offset (from 0)."""

    def __init__(self, message: str, position: int | None = None, query: str | None = None) -> None:
        super().__init__(message if position is None else f"at {position}: {message}")
        self.position = position
        self.query = query
