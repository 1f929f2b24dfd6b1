"""Webhook sources and native platform webhooks (issue 11, docs/webhooks.md).

A workspace registers a source per sending-platform account (scope `sources`);
the platform then POSTs to /v1/webhooks/{platform}/{source_id}, with no API
key: its own signature authenticates and the source names the workspace.
Env: PUBLIC_API_URL (the URL shown to paste).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from aws_lambda_powertools.metrics import MetricUnit
from chalice import Blueprint, Response

from ..accounts.admin import actor_of
from ..http import ApiError, error_response
from ..store import StoreUnavailable
from ..webhooks import ses as ses_webhooks
from ..webhooks import testsend
from ..webhooks.common import WebhookError, WebhookRequest
from ..webhooks.mailgun import TokenLedger
from ..webhooks.service import WebhookService, is_local, public_urls
from ..webhooks.sources import PLATFORMS, SourceError, SourceStore
from .accounts import audit_log
from .common import RouteDeps, json_body, json_response, principal


def webhook_routes(deps: RouteDeps, certificates: Callable[[], ses_webhooks.CertificateCache]) -> Blueprint:
    """`certificates` is looked up per request, so tests can swap the SNS certificate fetcher."""
    bp = Blueprint(__name__)
    auth, cors, logger, metrics = deps.authorizer, deps.cors, deps.logger, deps.metrics

    def sources() -> SourceStore:
        return SourceStore(deps.services().client, deps.services().config.table_name)

    def webhooks() -> WebhookService:
        services = deps.services()
        return WebhookService(sources(), services.ingest, TokenLedger(services.client, services.config.table_name),
                              certificates(), allow_loopback=is_local(os.environ))

    def base_url(suffix: str) -> str:
        """The API's public base URL: PUBLIC_API_URL, else this request's own URL minus the route."""
        if os.environ.get("PUBLIC_API_URL"):
            return os.environ["PUBLIC_API_URL"].rstrip("/")
        request = bp.current_request
        headers = {k.lower(): v for k, v in request.headers.items()}
        urls = public_urls(headers, request.context.get("path") or suffix, None, suffix)
        return urls[0][: -len(suffix)] if urls and urls[0].endswith(suffix) else "http://localhost"

    def webhook_metrics(platform: str, **counts: int) -> None:
        """One flush with the platform as a dimension (set and cleared within the flush)."""
        metrics.add_dimension(name="platform", value=platform if platform in PLATFORMS else "unknown")
        for name, value in counts.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.flush_metrics()

    @bp.route("/v1/sources", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def create_source() -> Response:
        try:
            caller = principal(bp.current_request, "sources", logger)
            source = sources().create(caller.workspace, json_body(bp.current_request), time.time())
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except SourceError as exc:
            code = {400: "invalid_request", 409: "limit_reached"}.get(exc.status, "invalid_source")
            return error_response(exc.status, code, str(exc))
        logger.info("webhook source created", extra={"workspace": caller.workspace, "source_id": source.id,
                                                     "platform": source.platform})
        audit_log(deps).record(caller.workspace, actor_of(caller), "source.created", source.id,
                               {"platform": source.platform}, time.time())
        return json_response(source.public(base_url("/v1/sources")), status=201)

    @bp.route("/v1/sources", methods=["GET"], authorizer=auth, cors=cors)
    def list_sources() -> Response:
        try:
            caller = principal(bp.current_request, "sources", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        base = base_url("/v1/sources")
        return json_response({"sources": [s.public(base) for s in sources().list(caller.workspace)]})

    @bp.route("/v1/sources/{source_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def delete_source(source_id: str) -> Response:
        try:
            caller = principal(bp.current_request, "sources", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if not sources().delete(caller.workspace, source_id):
            return error_response(404, "not_found", "no such source in this workspace")
        audit_log(deps).record(caller.workspace, actor_of(caller), "source.deleted", source_id, {}, time.time())
        return Response(body="", status_code=204)

    @bp.route("/v1/sources/{source_id}/test", methods=["POST"], authorizer=auth, cors=cors)
    def test_source(source_id: str) -> Response:
        """Send a signed sample event to the source through the real verification path."""
        try:
            caller = principal(bp.current_request, "sources", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        source = sources().find(caller.workspace, source_id)
        if source is None:
            return error_response(404, "not_found", "no such source in this workspace")
        now = time.time()
        try:
            hook = testsend.sample_request(source, base_url(f"/v1/sources/{source_id}/test"), now)
        except testsend.NotTestable as exc:
            return error_response(422, "not_testable", str(exc))
        try:
            result = webhooks().handle(source.platform, source.id, hook, test=True)
        except WebhookError as exc:  # the stored credentials do not verify: say so, as the platform would see it
            return json_response({"ok": False, "status": exc.status, "reason": exc.reason, "message": exc.message,
                                  "campaign_id": testsend.TEST_CAMPAIGN})
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})
        return json_response({"ok": True, "status": result.status, "accepted": result.accepted,
                              "campaign_id": testsend.TEST_CAMPAIGN})

    @bp.route("/v1/webhooks/{platform}/{source_id}", methods=["POST"],
              content_types=["application/json", "text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data"])
    def platform_webhook(platform: str, source_id: str) -> Response:
        request = bp.current_request
        headers = {k.lower(): v for k, v in request.headers.items()}
        query: dict[str, Any] = ({k: list(request.query_params.getlist(k)) for k in request.query_params}
                                 if request.query_params else {})
        route = f"/v1/webhooks/{platform}/{source_id}"
        body = request.raw_body if isinstance(request.raw_body, bytes) else (request.raw_body or "").encode()
        hook = WebhookRequest(body, headers, query, public_urls(headers, request.context.get("path") or route,
                                                                 os.environ.get("PUBLIC_API_URL"), route), time.time())
        try:
            result = webhooks().handle(platform, source_id, hook)
        except WebhookError as exc:
            webhook_metrics(platform, WebhookRequestsRefused=1,
                            WebhookSignaturesRejected=int(exc.status in (401, 403)))
            logger.warning("webhook refused", extra={"platform": platform[:20], "source_id": source_id[:64],
                                                     "status": exc.status, "why": exc.message})
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            webhook_metrics(platform, StoreUnavailable=1)
            return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})
        webhook_metrics(platform, WebhookEventsAccepted=result.accepted, WebhookEventsRejected=result.rejected,
                        WebhookEventsUnmapped=len(result.unmapped), BatchesReplayed=int(result.replayed))
        logger.info("webhook ingested", extra={"platform": platform, "workspace": result.workspace,
                                               "accepted": result.accepted, "rejected": result.rejected,
                                               "unmapped": sorted(set(result.unmapped))[:10],
                                               "replayed": result.replayed})
        return json_response(result.body, status=result.status,
                             headers={"Idempotent-Replay": "true"} if result.replayed else None)

    return bp
