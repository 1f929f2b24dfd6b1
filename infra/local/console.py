"""Local mode's console: quiet by default, everything with LIVEREPORT_VERBOSE=1.

`make run` used to print ~1,200 lines in ten minutes (one access-log line per
request, one metric JSON per batch, a traceback per closed browser
connection), which buried the lines a newcomer needs (URLs, keys, `ready:`,
emails written). Quiet means: no access log, no metric (EMF) line, no
Powertools warning, and app logs at ERROR only (a refused webhook or a retried
send is the caller's news, not the console's). This module only configures;
call `configure()` before the stack starts (the app's Logger reads its level
at import).

Powertools (3.x) with POWERTOOLS_METRICS_DISABLED neither prints nor clears
the metrics on flush, and prints them anyway once a metric holds 100 values:
a ~5 KB EMF line every hundred requests, and a metric set that only grows in
between. `_clear_disabled_metrics` makes a disabled flush clear them.

It also gives chalice local's own gateway errors (a request without an
Authorization header) the API's one error shape, as the API Gateway gateway
responses of infra/cdk do in AWS.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any, Mapping

VERBOSE_ENV = "LIVEREPORT_VERBOSE"
_GATEWAY_CODES = {401: "unauthorized", 403: "forbidden"}
_GATEWAY_MESSAGES = {401: "missing or unknown API key (Authorization: Bearer <key>)",
                     403: "missing authentication token or unknown route"}


def verbose(env: Mapping[str, str] = os.environ) -> bool:
    return env.get(VERBOSE_ENV, "0") not in ("", "0", "false", "no")


def gateway_error_body(status: int) -> bytes:
    """The body API Gateway's gateway responses give in AWS (infra/cdk/gateway.py)."""
    code = _GATEWAY_CODES.get(status, "error")
    message = _GATEWAY_MESSAGES.get(status, "request refused by the gateway")
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _patch_chalice_local(quiet: bool) -> None:
    from chalice import local

    handler: Any = local.ChaliceRequestHandler
    if getattr(handler, "_livereport_patched", False):
        return
    original_error = handler._send_error_response  # noqa: SLF001 - chalice has no hook for this

    def send_error_response(self: Any, error: Any) -> None:
        if getattr(error, "CODE", 0) in _GATEWAY_CODES:
            error.body = gateway_error_body(error.CODE)
            error.headers = {**(error.headers or {}), "Content-Type": "application/json",
                             "Access-Control-Allow-Origin": "*"}
        original_error(self, error)

    handler._send_error_response = send_error_response
    if quiet:
        handler.log_message = lambda self, *args: None
        # "Serving on http://…": the API's URL is in the lines local mode prints itself
        local.LocalDevServer.serve_forever = lambda self: self.server.serve_forever()
    server: Any = local.ThreadedHTTPServer
    original_handle_error = server.handle_error

    def handle_error(self: Any, request: Any, client_address: Any) -> None:
        import sys
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return  # a browser closed the connection: normal, not a traceback
        original_handle_error(self, request, client_address)

    server.handle_error = handle_error
    handler._livereport_patched = True


def _clear_disabled_metrics() -> None:
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    provider: Any = AmazonCloudWatchEMFProvider
    if getattr(provider, "_livereport_clears", False):
        return
    original = provider.flush_metrics

    def flush_metrics(self: Any, raise_on_empty_metrics: bool = False) -> None:
        if is_metrics_disabled():
            self.clear_metrics()  # what an enabled flush does after printing
            return
        original(self, raise_on_empty_metrics)

    provider.flush_metrics = flush_metrics
    provider._livereport_clears = True


def configure(env: Mapping[str, str] | None = None) -> bool:
    """Quiet console unless LIVEREPORT_VERBOSE=1; returns whether it is verbose."""
    env = os.environ if env is None else env
    loud = verbose(env)
    if not loud:
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF JSON line per batch
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # no "batch ingested" or "webhook refused" lines
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for name in ("livereport", "chalicelib"):  # the app's Powertools logger, chalicelib's module loggers
            logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module="aws_lambda_powertools")
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        _clear_disabled_metrics()
    _patch_chalice_local(quiet=not loud)
    return loud
