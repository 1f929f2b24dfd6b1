"""What every route module needs: its dependencies, the caller, JSON in and out."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from chalice import CORSConfig, Response
from chalice.app import ChaliceAuthorizer, Request

from ..auth import Principal
from ..http import ApiError, principal_of
from ..services import Services

#: Answers that carry people's or keys' data: never cached, never sniffed.
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class RouteDeps:
    """What app.py hands each route module: the services (built once per process),
    the one authorizer, the CORS policy, the process's logger and metrics, and the clock
    reports resolve "now" with (app.py's, so a test can stop it there)."""
    services: Callable[[], Services]
    authorizer: ChaliceAuthorizer
    cors: CORSConfig
    logger: Logger
    metrics: Metrics
    clock: Callable[[], float] = time.time


def principal(request: Request, scope: str, logger: Logger | None = None) -> Principal:
    """The caller, with `scope` in the workspace it acts in (401/403 as ApiError otherwise)."""
    if logger is not None:
        logger.set_correlation_id(request.headers.get("x-request-id") or request.context.get("requestId"))
    return principal_of(request.context.get("authorizer") or {}, scope, request.headers.get("x-workspace"))


def json_body(request: Request) -> Any:
    """The request's JSON body, or a 400 the route turns into the one error shape."""
    try:
        return json.loads(request.raw_body or b"")
    except ValueError:
        raise ApiError(400, "invalid_request", "the body must be a JSON object") from None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})
