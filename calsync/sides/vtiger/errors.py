"""vtiger webservice errors as calsync's typed errors (one place maps codes to classes).

Every class carries vtiger's `code` and `message`. ACCESS_DENIED is ambiguous on vtiger (a
deleted id, another user's private record, a garbled query all answer it): callers that know
the context (retrieve) turn it into NotFound themselves.
"""

from __future__ import annotations

from calsync.errors import (
    AdapterError,
    AuthError,
    ForbiddenError,
    InvalidItem,
    NotFound,
    TransientError,
)


class VtigerError(AdapterError):
    """A `success: false` answer (or an HTTP failure) from webservice.php."""

    def __init__(self, code: str, message: str, operation: str = "") -> None:
        super().__init__(f"vtiger {operation or 'call'}: {code}: {message}")
        self.code = code
        self.message = message
        self.operation = operation


class VtigerAuthError(VtigerError, AuthError):
    """Unknown user, wrong access key, inactive user, or a login that keeps failing."""


class VtigerForbidden(VtigerError, ForbiddenError):
    """ACCESS_DENIED: another user's record, a private record, or an operation not allowed."""


class VtigerNotFound(VtigerError, NotFound):
    """The record is deleted or unknown (vtiger says ACCESS_DENIED on retrieve)."""


class VtigerInvalid(VtigerError, InvalidItem):
    """The request itself was refused: missing mandatory field, bad id, bad query."""


class VtigerTransient(VtigerError, TransientError):
    """HTTP 5xx, a broken connection or a garbled reply, after the retries ran out."""


class SyncUnavailable(VtigerTransient):
    """`sync` answered HTTP 500 (vtiger on PHP 8): use the VTQL fallback instead."""


SESSION_CODES = frozenset(
    {"INVALID_SESSIONID", "SESSION_EXPIRED", "SESSION_LEFT_IDLE", "AUTHENTICATION_REQUIRED"}
)
_AUTH = frozenset({"INVALID_USER_CREDENTIALS", "ACCESSKEY_UNDEFINED", "INVALID_AUTH_TOKEN"})
_INVALID = frozenset(
    {
        "MANDATORY_FIELDS_MISSING",
        "INVALID_ID_ATTRIBUTE",
        "QUERY_SYNTAX_ERROR",
        "REFERENCE_INVALID",
        "DUPLICATE_RECORD",
    }
)


def error_for(code: str, message: str, operation: str = "") -> VtigerError:
    """Return the typed error for vtiger's `code`."""
    if code in _AUTH or code in SESSION_CODES:
        return VtigerAuthError(code, message, operation)
    if code == "ACCESS_DENIED":
        return VtigerForbidden(code, message, operation)
    if code == "RECORD_NOT_FOUND":
        return VtigerNotFound(code, message, operation)
    if code in _INVALID:
        return VtigerInvalid(code, message, operation)
    if code == "DATABASE_QUERY_ERROR":
        return VtigerTransient(code, message, operation)
    return VtigerError(code, message, operation)
