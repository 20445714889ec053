"""Google's JSON error envelope (`error.code`, `.message`, `.errors[]`) and the exception
handlers raise to produce it."""

from __future__ import annotations

from typing import Any

# Default domain, reason and message per status, for faults and handlers giving only a code.
_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("global", "badRequest", "Bad Request"),
    401: ("global", "authError", "Invalid Credentials"),
    403: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    404: ("global", "notFound", "Not Found"),
    409: ("global", "conflict", "Conflict"),
    410: ("global", "deleted", "Resource has been deleted"),
    412: ("global", "conditionNotMet", "Precondition Failed"),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("global", "backendError", "Backend Error"),
    503: ("global", "backendError", "Backend Error"),
}

# Newer Google front-ends add a canonical `status` string; clients may read it.
_STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An API call that fails with Google's error envelope."""

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        message: str | None = None,
        *,
        domain: str | None = None,
        location: str | None = None,
        location_type: str | None = None,
    ) -> None:
        d_domain, d_reason, d_message = _DEFAULTS.get(status, ("global", "unknown", "Error"))
        self.status = status
        self.reason = reason or d_reason
        self.message = message or d_message
        self.domain = domain or (d_domain if reason in (None, d_reason) else "global")
        self.location = location
        self.location_type = location_type
        super().__init__(f"{status} {self.reason}: {self.message}")

    def body(self) -> dict[str, Any]:
        """Return the JSON envelope Google sends for this error."""
        item: dict[str, Any] = {
            "domain": self.domain,
            "reason": self.reason,
            "message": self.message,
        }
        if self.location_type:
            item["locationType"] = self.location_type
        if self.location:
            item["location"] = self.location
        err: dict[str, Any] = {"errors": [item], "code": self.status, "message": self.message}
        if self.status in _STATUS_NAMES:
            err["status"] = _STATUS_NAMES[self.status]
        return {"error": err}


def auth_error() -> ApiError:
    """Return the 401 sent for a missing, unknown, revoked or expired access token."""
    return ApiError(401, "authError", location="Authorization", location_type="header")


def not_found() -> ApiError:
    """Return the plain 404 `notFound`."""
    return ApiError(404, "notFound", "Not Found")


def invalid(message: str, location: str | None = None) -> ApiError:
    """Return a 400 `invalid` with `message`."""
    return ApiError(
        400,
        "invalid",
        message,
        domain="global",
        location=location,
        location_type="parameter" if location else None,
    )


def required(message: str, location: str | None = None) -> ApiError:
    """Return a 400 `required` with `message`."""
    return ApiError(
        400,
        "required",
        message,
        domain="global",
        location=location,
        location_type="parameter" if location else None,
    )


def precondition_failed() -> ApiError:
    """Return the 412 sent for a stale If-Match."""
    return ApiError(
        412, "conditionNotMet", "Precondition Failed", location="If-Match", location_type="header"
    )


def duplicate() -> ApiError:
    """Return the 409 sent for a client id already in use (even by a deleted entry)."""
    return ApiError(409, "duplicate", "The requested identifier already exists.", domain="global")


def deleted() -> ApiError:
    """Return the 410 sent when deleting an already deleted event."""
    return ApiError(410, "deleted", "Resource has been deleted", domain="global")


def full_sync_required() -> ApiError:
    """Return the 410 sent for an expired, tampered or foreign sync token."""
    return ApiError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
        domain="calendar",
        location="syncToken",
        location_type="parameter",
    )


def rate_limited(status: int) -> ApiError:
    """Return the 403 or 429 `rateLimitExceeded` Google sends when over quota."""
    return ApiError(status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
