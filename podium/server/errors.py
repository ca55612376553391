"""The ONE error handler: every exception a request raises becomes MLflow's JSON error body here.

==========================================  ======  ====================================================
raised                                      status  body
==========================================  ======  ====================================================
:class:`~podium.errors.PodiumError`         table   ``{"error_code": <its code>, "message": <its message>}``
                                                    (status from :func:`podium.errors.status_for_code`)
no route for the path                       404     ``ENDPOINT_NOT_FOUND`` (MLflow sends an HTML page)
a route, but not for this method            405     ``BAD_REQUEST`` plus an ``Allow`` header
anything else                               500     ``INTERNAL_ERROR``; the traceback goes to the log
==========================================  ======  ====================================================

A client mistake must never be a 5xx: the mlflow client retries 5xx responses for minutes. So
request parsing and the services raise :class:`~podium.errors.PodiumError` subclasses with 4xx codes
for everything a client can get wrong, and a 500 here means a bug (it is logged as one).
"""

from __future__ import annotations

import logging

from podium.errors import PodiumError, status_for_code

__all__ = ["error_response", "method_not_allowed", "not_found"]

logger = logging.getLogger("podium.server")


def error_response(exc: BaseException, method: str = "", path: str = "") -> tuple[int, dict]:
    """``(status, body)`` for an exception raised while serving ``method path``."""
    if isinstance(exc, PodiumError):
        status = status_for_code(exc.error_code)
        if status >= 500 and status not in (501, 503):
            logger.error("%s %s failed: %s", method, path, exc, exc_info=exc)
        return status, {"error_code": exc.error_code, "message": exc.message}
    logger.error("Unexpected error serving %s %s", method, path, exc_info=exc)
    return 500, {
        "error_code": "INTERNAL_ERROR",
        "message": f"Internal server error ({type(exc).__name__}); the server log has the details.",
    }


def not_found(method: str, path: str) -> tuple[int, dict]:
    return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API endpoint at {method} {path}"}


def method_not_allowed(method: str, path: str, allowed: list[str]) -> tuple[int, dict]:
    return 405, {
        "error_code": "BAD_REQUEST",
        "message": f"Method {method} is not allowed for {path} (allowed: {', '.join(sorted(allowed))})",
    }
