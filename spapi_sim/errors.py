"""The simulator's exception tree, each rendered in the shape the real service uses.

    SimulatorError            an HTTP status and a body; never escapes a route unrendered
    ├── ApiError              SP-API operations: {"errors": [{"code", "message", "details"}]}
    │   ├── InvalidInput      400  bad parameters, unknown ids, the sandbox's "Could not match"
    │   ├── Unauthorized      403  missing, malformed, expired or revoked access token
    │   ├── NotFound          404  a well-formed id this seller does not have
    │   └── QuotaExceeded     429  the caller's token bucket for the operation is empty
    ├── LwaError              Login with Amazon: {"error", "error_description"}
    └── StorageError          presigned document URLs: S3's XML <Error> document

Routes raise these; `app.py` renders them once, with `render_error`.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

ErrorBody = dict[str, Any]


class SimulatorError(Exception):
    """Base of every error the simulator answers with."""

    status: int = 500

    def body(self) -> ErrorBody | str:
        """The response body: a JSON object, or text for XML errors."""
        raise NotImplementedError


class ApiError(SimulatorError):
    """An SP-API error: `{"errors": [...]}` with one entry."""

    code: str = "InternalFailure"

    def __init__(self, message: str, details: str | None = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> ErrorBody:
        """Amazon's ErrorList; `details` is left out when it is None."""
        entry: ErrorBody = {"code": self.code, "message": self.message}
        if self.details is not None:
            entry["details"] = self.details
        return {"errors": [entry]}


class InvalidInput(ApiError):
    """400: the request is malformed or names something that cannot be used."""

    status = 400
    code = "InvalidInput"


class Unauthorized(ApiError):
    """403: the access token is missing, malformed, expired or revoked."""

    status = 403
    code = "Unauthorized"

    def __init__(self, details: str = "") -> None:
        super().__init__("Access to requested resource is denied.", details)


class NotFound(ApiError):
    """404: the resource does not exist for this selling partner."""

    status = 404
    code = "NotFound"


class QuotaExceeded(ApiError):
    """429: the per-caller, per-operation token bucket is empty."""

    status = 429
    code = "QuotaExceeded"

    def __init__(self) -> None:
        super().__init__("You exceeded your quota for the requested resource.")


class LwaError(SimulatorError):
    """An error of the LWA token endpoint, in OAuth 2 shape."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> ErrorBody:
        """`{"error": ..., "error_description": ...}` as LWA sends it."""
        return {"error": self.error, "error_description": self.description}


class StorageError(SimulatorError):
    """An error of the document storage behind presigned URLs (S3 style XML)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> str:
        """S3's `<Error><Code/><Message/></Error>` document."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
        )
