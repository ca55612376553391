"""Podium's one exception tree, and the one table from error code to HTTP status.

Every error Podium raises on purpose is a :class:`PodiumError`. Each class is named after the
MLflow error code it carries (``RESOURCE_DOES_NOT_EXIST`` -> :class:`ResourceDoesNotExist`), so the
server can answer with MLflow's wire shape ``{"error_code", "message"}`` and the client can turn
that shape back into the same class::

    PodiumError                         (INTERNAL_ERROR, 500)
    ├── InvalidParameterValue           (INVALID_PARAMETER_VALUE, 400)
    ├── BadRequest                      (BAD_REQUEST, 400)
    ├── ResourceAlreadyExists           (RESOURCE_ALREADY_EXISTS, 400)
    ├── ResourceDoesNotExist            (RESOURCE_DOES_NOT_EXIST, 404)
    ├── EndpointNotFound                (ENDPOINT_NOT_FOUND, 404)
    ├── Unauthenticated                 (UNAUTHENTICATED, 401)
    ├── PermissionDenied                (PERMISSION_DENIED, 403)
    ├── ResourceConflict                (RESOURCE_CONFLICT, 409)
    ├── RequestTooLarge                 (REQUEST_TOO_LARGE, 413: a JSON body over the server's limit)
    ├── RequestLimitExceeded            (REQUEST_LIMIT_EXCEEDED, 429: too many failed logins; retry_after)
    ├── IntegrityCheckFailed            (DATA_LOSS, 500: a stored file does not match its hash)
    ├── NotImplementedByPodium          (NOT_IMPLEMENTED, 501)
    └── TemporarilyUnavailable          (TEMPORARILY_UNAVAILABLE, 503)

``MlflowException`` is an alias of :class:`PodiumError`, so ``except MlflowException`` written for
MLflow keeps working. Standard library only.
"""

from __future__ import annotations

__all__ = [
    "ERROR_STATUS",
    "BadRequest",
    "EndpointNotFound",
    "IntegrityCheckFailed",
    "InvalidParameterValue",
    "InvalidState",
    "MlflowException",
    "NotImplementedByPodium",
    "PermissionDenied",
    "PodiumError",
    "RequestLimitExceeded",
    "RequestTooLarge",
    "ResourceAlreadyExists",
    "ResourceConflict",
    "ResourceDoesNotExist",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "error_for_code",
    "status_for_code",
]

#: MLflow's error codes and the HTTP status each one is answered with (mlflow/exceptions.py,
#: measured in shared/reference §3). Read by the server's error handler and by the REST client.
ERROR_STATUS: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,  # MLflow says 500; Podium never answers a client mistake with 5xx
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "CUSTOMER_UNAUTHORIZED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_CONFLICT": 409,
    "REQUEST_TOO_LARGE": 413,  # Podium's own: a JSON body over --max-json-body-bytes
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL_ERROR": 500,
    "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def status_for_code(error_code: str) -> int:
    """The HTTP status for an MLflow error code (500 for codes nobody knows)."""
    return ERROR_STATUS.get(error_code, 500)


class PodiumError(Exception):
    """Base of every error Podium raises on purpose. Carries an MLflow error code."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code

    @property
    def http_status(self) -> int:
        return status_for_code(self.error_code)

    def to_dict(self) -> dict[str, str]:
        """MLflow's wire shape for an error."""
        return {"error_code": self.error_code, "message": self.message}

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


#: Drop-in name for code written against MLflow (``except MlflowException``).
MlflowException = PodiumError


class InvalidParameterValue(PodiumError):
    error_code = "INVALID_PARAMETER_VALUE"


class BadRequest(PodiumError):
    error_code = "BAD_REQUEST"


class ResourceAlreadyExists(PodiumError):
    error_code = "RESOURCE_ALREADY_EXISTS"


class ResourceDoesNotExist(PodiumError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class EndpointNotFound(PodiumError):
    error_code = "ENDPOINT_NOT_FOUND"


class Unauthenticated(PodiumError):
    error_code = "UNAUTHENTICATED"


class PermissionDenied(PodiumError):
    error_code = "PERMISSION_DENIED"


class InvalidState(PodiumError):
    """The target is not in a state that allows the operation (a request no longer pending, a
    policy gate that fails, a version without a manifest)."""

    error_code = "INVALID_STATE"


class ResourceConflict(PodiumError):
    error_code = "RESOURCE_CONFLICT"


class RequestTooLarge(PodiumError):
    error_code = "REQUEST_TOO_LARGE"


class RequestLimitExceeded(PodiumError):
    """Too many attempts; ``retry_after`` (seconds) is sent as the ``Retry-After`` header."""

    error_code = "REQUEST_LIMIT_EXCEEDED"

    def __init__(self, message: str, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IntegrityCheckFailed(PodiumError):
    error_code = "DATA_LOSS"


class NotImplementedByPodium(PodiumError):
    error_code = "NOT_IMPLEMENTED"


class TemporarilyUnavailable(PodiumError):
    error_code = "TEMPORARILY_UNAVAILABLE"


_CLASS_FOR_CODE: dict[str, type[PodiumError]] = {
    cls.error_code: cls
    for cls in (
        InvalidParameterValue,
        BadRequest,
        ResourceAlreadyExists,
        ResourceDoesNotExist,
        EndpointNotFound,
        Unauthenticated,
        PermissionDenied,
        InvalidState,
        ResourceConflict,
        RequestTooLarge,
        RequestLimitExceeded,
        IntegrityCheckFailed,
        NotImplementedByPodium,
        TemporarilyUnavailable,
    )
}


def error_for_code(error_code: str, message: str) -> PodiumError:
    """Rebuild the right exception from a wire-shaped error (used by the REST client)."""
    cls = _CLASS_FOR_CODE.get(error_code, PodiumError)
    if cls is PodiumError:
        return PodiumError(message, error_code=error_code)
    return cls(message)


class ArchivedAliasWarning(UserWarning):
    """A stage transition archived a version an alias still points at (``@champion`` now loads an
    Archived version). Not an error: the transition happened; the alias is left for the caller to move."""
