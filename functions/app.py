"""Routes and schedules only: parse the request, call chalicelib, shape the response."""
from __future__ import annotations

import json
import os
import time
from functools import lru_cache
from html import escape as _escape
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import AuthResponse, Chalice, CORSConfig, Rate, Response

from chalicelib import services
from chalicelib.auth import Principal
from chalicelib.config import AppConfig
from chalicelib.csv_export import report_csv
from chalicelib.http import ApiError, error_response, live_query, principal_of, report_query
from chalicelib.reports import compare
from chalicelib.reports.global_ import RangeError
from chalicelib.ingest import IngestError
from chalicelib.openapi import openapi_document
from chalicelib.catalogue import catalogue_document
from chalicelib.store import StoreUnavailable
from chalicelib.snapshots import runner as snapshot_runner
from chalicelib.snapshots.subscriptions import SubscriptionError, SubscriptionStore, to_json
from chalicelib.snapshots.tokens import TokenError, TokenSigner, secret_from_env

SERVICE = "livereport"
app = Chalice(app_name=SERVICE, configure_logs=False)
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LiveReport", service=SERVICE)
# One namespace for every stage: the stage dimension keeps dev traffic out of prod's alarms.
metrics.set_default_dimensions(stage=os.environ.get("STAGE", "local"))
cors = CORSConfig(allow_origin="*", allow_headers=["Authorization", "Idempotency-Key", "Content-Type"],
                  expose_headers=["Retry-After", "Idempotent-Replay"], max_age=600)


@lru_cache(maxsize=1)
def wired() -> services.Services:
    return services.build(AppConfig.from_env())


@app.authorizer(ttl_seconds=60)
def api_key(auth_request: Any) -> AuthResponse:
    """Resolve the bearer key to its workspace and scopes. Unknown keys pass
    through as anonymous so the view answers 401 (a gateway deny is a 403)."""
    token = (auth_request.token or "").strip()
    key = token[7:].strip() if token.lower().startswith("bearer ") else ""
    principal = wired().keys.lookup(key) if key else None
    if principal is None:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"workspace": "", "scopes": ""})
    return AuthResponse(routes=["*"], principal_id=principal.key_id,
                        context={"workspace": principal.workspace, "scopes": ",".join(sorted(principal.scopes))})


_CHALICE_CODES = {"UnsupportedMediaType": "unsupported_media_type", "MethodNotAllowedError": "method_not_allowed",
                  "BadRequest": "bad_request", "BadRequestError": "bad_request", "NotFoundError": "not_found",
                  "InternalServerError": "internal_error"}


@app.middleware("http")
def one_error_shape(event: Any, get_response: Any) -> Response:
    """Chalice's own errors (415 content type, 405, 500) say {"Code", "Message"}; clients
    get one shape for every error: {"error": {"code", "message"}}."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        response.body = {"error": {"code": code, "message": str(body.get("Message", ""))}}
        response.headers = {**response.headers, "Content-Type": "application/json"}
    return response


def _principal(scope: str) -> Principal:
    request = app.current_request
    logger.set_correlation_id(request.headers.get("x-request-id") or request.context.get("requestId"))
    return principal_of(request.context.get("authorizer") or {}, scope)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


@app.route("/v1/events", methods=["POST"], authorizer=api_key, cors=cors,
           content_types=["application/json", "application/x-ndjson", "text/plain"])
def post_events() -> Response:
    request = app.current_request
    try:
        principal = _principal("ingest")
        started = time.perf_counter()
        outcome = wired().ingest.ingest(principal.workspace, request.raw_body,
                                        request.headers.get("idempotency-key"))
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except IngestError as exc:
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        return error_response(exc.status, "invalid_request", exc.message)
    except StoreUnavailable:
        logger.warning("store unavailable after retries")
        metrics.add_metric(name="StoreUnavailable", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        return error_response(503, "unavailable", "the store is busy; retry this same request later",
                              {"Retry-After": "2"})
    body = outcome.body
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=body["accepted"])
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(body["rejected"]))
    for reason, n in outcome.rejected_by_reason.items():
        metrics.add_metric(name=f"Rejected_{reason}", unit=MetricUnit.Count, value=n)
    metrics.add_metric(name="BatchesReplayed", unit=MetricUnit.Count, value=int(outcome.replayed))
    metrics.add_metric(name="WriteRequests", unit=MetricUnit.Count, value=outcome.apply.item_writes)
    metrics.flush_metrics()
    logger.info("batch ingested", extra={"workspace": principal.workspace, "accepted": body["accepted"],
                                         "rejected": len(body["rejected"]), "replayed": outcome.replayed,
                                         "chunks": outcome.apply.chunks, "skipped_chunks": outcome.apply.skipped,
                                         "ms": round((time.perf_counter() - started) * 1000, 1)})
    return _json(body, headers={"Idempotent-Replay": "true"} if outcome.replayed else None)


@app.route("/v1/campaigns", methods=["GET"], authorizer=api_key, cors=cors)
def list_campaigns() -> Response:
    try:
        principal = _principal("read")
        return _json({"campaigns": wired().directory.list(principal.workspace)})
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except StoreUnavailable:
        return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})


def _report(build: Any, fmt: str | None, filename: str) -> Response:
    """Run a report builder; answer JSON, or CSV for ?format=csv and *.csv paths."""
    try:
        doc = build()
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except RangeError as exc:
        return error_response(400, "invalid_request", str(exc))
    except StoreUnavailable:
        return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})
    if fmt == "csv":
        return Response(body=report_csv(doc), status_code=200, headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"'})
    return _json(doc)


def _compare() -> bool:
    """`compare=previous` adds the previous equal period (it doubles the report's reads)."""
    return (app.current_request.query_params or {}).get("compare") == "previous"


def _live(campaign_id: str) -> dict[str, Any]:
    principal = _principal("read")
    query = live_query(principal.workspace, campaign_id, app.current_request.query_params)
    now = time.time()
    doc = wired().live.report(query, now)
    if _compare():
        doc["previous"] = compare.previous_live(wired().live, query, now)
    return doc


def _global(campaign_id: str) -> dict[str, Any]:
    principal = _principal("read")
    query = report_query(principal.workspace, campaign_id, app.current_request.query_params)
    now = time.time()
    doc = wired().globals.report(query, now)
    if _compare():
        doc["previous"] = compare.previous_global(wired().globals, query, now)
    return doc


def _format() -> str | None:
    return (app.current_request.query_params or {}).get("format")


@app.route("/v1/campaigns/{campaign_id}/live", methods=["GET"], authorizer=api_key, cors=cors)
def live_report(campaign_id: str) -> Response:
    return _report(lambda: _live(campaign_id), _format(), "live.csv")


@app.route("/v1/campaigns/{campaign_id}/live.csv", methods=["GET"], authorizer=api_key, cors=cors)
def live_report_csv(campaign_id: str) -> Response:
    return _report(lambda: _live(campaign_id), "csv", "live.csv")


@app.route("/v1/campaigns/{campaign_id}/report", methods=["GET"], authorizer=api_key, cors=cors)
def global_report(campaign_id: str) -> Response:
    return _report(lambda: _global(campaign_id), _format(), "report.csv")


@app.route("/v1/campaigns/{campaign_id}/report.csv", methods=["GET"], authorizer=api_key, cors=cors)
def global_report_csv(campaign_id: str) -> Response:
    return _report(lambda: _global(campaign_id), "csv", "report.csv")


@app.route("/v1/catalogue", methods=["GET"], cors=cors)
def catalogue() -> Response:
    return _json(catalogue_document())


@app.route("/v1/openapi.json", methods=["GET"], cors=cors)
def openapi() -> Response:
    return _json(openapi_document())


@app.route("/v1/health", methods=["GET"], cors=cors)
def health() -> Response:
    return _json({"status": "ok"})


# --- snapshot emails ---
# Subscriptions (CRUD under the workspace of a key with the manage scope), signed unsubscribe
# links, and the scheduled sender. Everything lives in chalicelib/snapshots;
# see docs/snapshots.md. Env: SENDER_EMAIL, PUBLIC_API_URL, UNSUBSCRIBE_SECRET.


@lru_cache(maxsize=1)
def _ses_client() -> Any:
    import boto3
    return boto3.client("sesv2", region_name=wired().config.region)


def _subscriptions() -> SubscriptionStore:
    return SubscriptionStore(wired().client, wired().config.table_name)


def snapshot_runner_for(on_sent: Any = None) -> snapshot_runner.SnapshotRunner:
    return snapshot_runner.SnapshotRunner(wired(), _ses_client(), snapshot_runner.Settings.from_env(),
                                          TokenSigner(secret_from_env()), on_sent)


@app.route("/v1/subscriptions", methods=["POST"], authorizer=api_key, cors=cors, content_types=["application/json"])
def create_subscription() -> Response:
    """Needs `manage`: read keys are handed to agencies and must not mail anyone."""
    try:
        principal = _principal("manage")
        try:
            payload = json.loads(app.current_request.raw_body or b"")
        except ValueError:
            return error_response(400, "invalid_request", "the body must be a JSON object")
        allow_unknown = isinstance(payload, dict) and payload.pop("allow_unknown_campaign", False) is True
        campaign = payload.get("campaign_id") if isinstance(payload, dict) else None
        if isinstance(campaign, str) and not allow_unknown and not _known_campaign(principal.workspace, campaign):
            return error_response(422, "unknown_campaign",
                                  f"campaign_id: no campaign '{campaign[:128]}' has events in this workspace; check "
                                  "the spelling, or send \"allow_unknown_campaign\": true for a campaign not yet started")
        sub = _subscriptions().create(principal.workspace, payload, time.time())
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except SubscriptionError as exc:
        return error_response(exc.status, "invalid_subscription" if exc.status == 422 else "limit_reached", str(exc))
    return _json(sub.public(), status=201)


def _known_campaign(workspace: str, campaign_id: str) -> bool:
    return any(c["campaign_id"] == campaign_id for c in wired().directory.list(workspace))


@app.route("/v1/subscriptions", methods=["GET"], authorizer=api_key, cors=cors)
def list_subscriptions() -> Response:
    try:
        principal = _principal("manage")  # recipient addresses: never shown to read keys
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return Response(body=to_json(_subscriptions().list(principal.workspace)), status_code=200,
                    headers={"Content-Type": "application/json"})


@app.route("/v1/subscriptions/{subscription_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def delete_subscription(subscription_id: str) -> Response:
    try:
        principal = _principal("manage")
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    if len(subscription_id) > 64 or not _subscriptions().delete(principal.workspace, subscription_id):
        return error_response(404, "not_found", "no such subscription in this workspace")
    return Response(body="", status_code=204)


def _page(status: int, title: str, message: str) -> Response:
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_escape(title)}</title></head>'
            f'<body style="font-family:Arial,sans-serif;max-width:520px;margin:48px auto;color:#1f2937;">'
            f'<h1 style="font-size:20px;">{_escape(title)}</h1><p>{_escape(message)}</p></body></html>')
    return Response(body=html, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'", "Referrer-Policy": "no-referrer"})


@app.route("/v1/unsubscribe", methods=["GET", "POST"],
           content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"])
def unsubscribe() -> Response:
    """GET from the email's link; POST for RFC 8058 one-click (List-Unsubscribe-Post)."""
    token = (app.current_request.query_params or {}).get("token") or ""
    try:
        target = TokenSigner(secret_from_env()).verify(token)
    except TokenError:
        return _page(400, "Invalid link / Lien invalide",
                     "This unsubscribe link is invalid or was altered. / Ce lien de désabonnement est invalide.")
    _subscriptions().remove_recipient(target.workspace, target.subscription_id, target.recipient)
    logger.info("unsubscribed", extra={"subscription_id": target.subscription_id, "workspace": target.workspace})
    return _page(200, "Unsubscribed / Désabonné",
                 f"{target.recipient} will no longer receive this report. / "
                 f"{target.recipient} ne recevra plus ce rapport.")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def send_due_snapshots(event: Any) -> dict[str, int]:
    return snapshot_runner_for().run(time.time()).summary()
