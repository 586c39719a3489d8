"""Domain errors that every transport (API, desk, commands) turns into a clear answer."""

from __future__ import annotations


class DomainError(Exception):
    """A request that the rules refuse. ``code`` is stable; ``message`` is for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"
