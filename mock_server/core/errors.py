"""One error vocabulary: every refusal the API can answer, with its HTTP status.

The web layer renders any `ApiError` as the API's envelope
`{"code": status, "message": message, "data": data}`; nothing else decides
what an error looks like.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """A refusal that becomes an envelope with `code` equal to `status`."""

    status: ClassVar[int] = 500
    message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        data: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message  # type: ignore[misc]
        self.status = status or type(self).status  # type: ignore[misc]
        self.data = data
        self.headers = dict(headers or {})
        super().__init__(self.message)


class InvalidRequest(ApiError):
    """The body or the parameters break the contract (names the field)."""

    status = 400
    message = "Invalid request"

    def __init__(self, error: str) -> None:
        super().__init__(data={"error": error})
        self.error = error


class InsufficientCredits(ApiError):
    """The key's balance cannot pay for the images asked for."""

    status = 400
    message = "Insufficient credits"


class Unauthorized(ApiError):
    """Missing, malformed or unknown API key."""

    status = 401
    message = "Invalid or missing API key"


class Forbidden(ApiError):
    """The key exists but may not do this."""

    status = 403
    message = "Forbidden"


class NotFound(ApiError):
    """No such path or model."""

    status = 404
    message = "Not found"


class TaskNotFound(NotFound):
    """No such task for this key (another key's task looks the same)."""

    message = "Task not found"


class MethodNotAllowed(ApiError):
    """The path exists but not for this method."""

    status = 405
    message = "Method not allowed"

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(headers={"Allow": ", ".join(allowed)})


class RateLimited(ApiError):
    """Too many requests per minute or too many unfinished tasks."""

    status = 429
    message = "Rate limit exceeded"

    def __init__(self, message: str | None = None, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = max(1, retry_after_s)


class Unavailable(ApiError):
    """The model is temporarily unavailable."""

    status = 503
    message = "Model temporarily unavailable"


class ConfigError(Exception):
    """A setting, settings file or scenario file is wrong; names where and why."""

    def __init__(self, source: str, field: str, why: str) -> None:
        self.source = source
        self.field = field
        self.why = why
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {why}")
