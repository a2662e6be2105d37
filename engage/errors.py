"""Domain exceptions, and the one place they become HTTP answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: services raise these; views and the error handlers turn them into pages."""

    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class NotAllowed(DomainError):
    status_code = 403


class InvalidState(DomainError):
    status_code = 409


class ValidationFailed(DomainError):
    status_code = 400
