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
from chalicelib.accounts.admin import AccountAdmin, AccountError, actor_of
from chalicelib.accounts.audit import AuditLog
from chalicelib.accounts.directory import DirectoryError, UserDirectory
from chalicelib.accounts.members import MembershipError, MembershipStore
from chalicelib.accounts.roles import encode_roles, key_scopes, role_scopes
from chalicelib.accounts.tokens import CognitoSettings, TokenVerifier, looks_like_jwt
from chalicelib.accounts.tokens import TokenError as UserTokenError
from chalicelib.alerts.rules import RuleError, allow_local_webhooks
from chalicelib.alerts.runner import AlertRunner, Settings as AlertSettings
from chalicelib.alerts.store import AlertStore
from chalicelib.alerts.webhook import WebhookClient
from chalicelib.auth import Principal
from chalicelib.config import AppConfig
from chalicelib.csv_export import report_csv
from chalicelib.http import ApiError, caller_of, error_response, live_query, principal_of, report_query
from chalicelib.reports import compare
from chalicelib.reports.global_ import RangeError
from chalicelib.ingest import IngestError
from chalicelib.openapi import openapi_document
from chalicelib.catalogue import catalogue_document
from chalicelib.store import StoreUnavailable
from chalicelib.snapshots import runner as snapshot_runner
from chalicelib.snapshots.subscriptions import SubscriptionError, SubscriptionStore, to_json
from chalicelib.snapshots.tokens import TokenError, TokenSigner, secret_from_env
from chalicelib.webhooks import ses as ses_webhooks
from chalicelib.webhooks.common import WebhookError, WebhookRequest
from chalicelib.webhooks.mailgun import TokenLedger
from chalicelib.webhooks.service import WebhookService, is_local, public_urls
from chalicelib.webhooks.sources import PLATFORMS, SourceError, SourceStore

SERVICE = "livereport"
app = Chalice(app_name=SERVICE, configure_logs=False)
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LiveReport", service=SERVICE)
# One namespace for every stage: the stage dimension keeps dev traffic out of prod's alarms.
metrics.set_default_dimensions(stage=os.environ.get("STAGE", "local"))
cors = CORSConfig(allow_origin="*", allow_headers=["Authorization", "Idempotency-Key", "Content-Type", "X-Workspace"],
                  expose_headers=["Retry-After", "Idempotent-Replay"], max_age=600)


@lru_cache(maxsize=1)
def wired() -> services.Services:
    return services.build(AppConfig.from_env())


#: One token verifier (and its cached JWKS) per Cognito configuration, per process.
_verifiers: dict[CognitoSettings, TokenVerifier] = {}


def _token_verifier() -> TokenVerifier | None:
    settings = CognitoSettings.from_env(os.environ)
    if settings is None:
        return None
    if settings not in _verifiers:
        _verifiers[settings] = TokenVerifier(settings)
    return _verifiers[settings]


def _user_context(token: str) -> dict[str, str] | None:
    """A verified Cognito token -> the user and their roles in every workspace
    (the route picks the workspace from X-Workspace)."""
    verifier = _token_verifier()
    if verifier is None:
        return None
    try:
        claims = verifier.verify(token)
    except UserTokenError as exc:
        logger.info("token refused", extra={"why": str(exc)[:200]})
        return None
    record = _memberships().user(claims.sub)
    return {"kind": "user", "sub": claims.sub, "email": record.email or claims.email,
            "roles": encode_roles(record.roles), "workspace": "", "scopes": ""}


@app.authorizer(ttl_seconds=60)
def api_key(auth_request: Any) -> AuthResponse:
    """Resolve the bearer to a caller: an API key (its workspace and effective
    scopes) or a Cognito access/ID token (the user and their roles,
    docs/accounts.md). Unknown keys and invalid tokens pass through as
    anonymous so the view answers 401 (a gateway deny is a 403)."""
    token = (auth_request.token or "").strip()
    key = token[7:].strip() if token.lower().startswith("bearer ") else ""
    if key and looks_like_jwt(key):
        user = _user_context(key)
        if user is not None:
            return AuthResponse(routes=["*"], principal_id=user["sub"], context=user)
        principal = None
    else:
        principal = wired().keys.lookup(key) if key else None
    if principal is None:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"workspace": "", "scopes": ""})
    return AuthResponse(routes=["*"], principal_id=principal.key_id,
                        context={"kind": "key", "key_id": principal.key_id, "workspace": principal.workspace,
                                 "scopes": ",".join(sorted(key_scopes(principal.scopes)))})


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
    return principal_of(request.context.get("authorizer") or {}, scope, request.headers.get("x-workspace"))


def _json_body() -> Any:
    """The request's JSON body, or a 400 the route turns into the one error shape."""
    try:
        return json.loads(app.current_request.raw_body or b"")
    except ValueError:
        raise ApiError(400, "invalid_request", "the body must be a JSON object") from None


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
    metrics.add_metric(name="StreamRecordsPut", unit=MetricUnit.Count, value=outcome.records_put)
    metrics.flush_metrics()
    logger.info("batch accepted", extra={"workspace": principal.workspace, "accepted": body["accepted"],
                                         "rejected": len(body["rejected"]), "replayed": outcome.replayed,
                                         "records": outcome.records_put,
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


@app.route("/v1/campaigns/{campaign_id}/stamp", methods=["GET"], authorizer=api_key, cors=cors)
def campaign_stamp(campaign_id: str) -> Response:
    """A tiny document the page polls every second; it fetches a report only when the stamp moved."""
    try:
        principal = _principal("read")
        live_query(principal.workspace, campaign_id, {"channel": "campaign"})  # validates the id
        stamp = wired().directory.stamp(principal.workspace, campaign_id)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except StoreUnavailable:
        return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})
    return _json(stamp or {"stamp": "", "last_event": None}, headers={"Cache-Control": "no-store"})


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
        principal = _principal("subscriptions")
        payload = _json_body()
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
        principal = _principal("subscriptions")  # recipient addresses: never shown to read keys
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return Response(body=to_json(_subscriptions().list(principal.workspace)), status_code=200,
                    headers={"Content-Type": "application/json"})


@app.route("/v1/subscriptions/{subscription_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def delete_subscription(subscription_id: str) -> Response:
    try:
        principal = _principal("subscriptions")
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


# --- alerts (issue 13, docs/alerts.md) ---
# Rules need the manage scope to create or delete. Listing and history are
# open to read keys too (the page shows badges), without recipient addresses
# or webhook URLs, which only manage keys see. The webhook secret is shown
# once, in the creation's answer. Env: DASHBOARD_URL (deep links),
# LIVEREPORT_ALLOW_LOCAL_WEBHOOKS=1 (local mode: http://127.0.0.1 webhooks).


def _alerts() -> AlertStore:
    return AlertStore(wired().client, wired().config.table_name)


def _reader() -> tuple[Principal, bool]:
    """A principal with read or manage; True when it may see notification targets."""
    request = app.current_request
    caller = caller_of(request.context.get("authorizer") or {}, request.headers.get("x-workspace"))
    manage = "manage" in caller.scopes
    return _principal("manage" if manage else "read"), manage


def alert_runner_for(on_email: Any = None, webhooks: Any = None) -> AlertRunner:
    client = webhooks or WebhookClient(allow_local=allow_local_webhooks(os.environ))
    return AlertRunner(wired(), _ses_client(), AlertSettings.from_env(), client, on_email)


def _alert_json(rule: Any, states: dict, full: bool) -> dict[str, Any]:
    mine = sorted((s for (r, _), s in states.items() if r == rule.rule_id), key=lambda s: s.campaign_id)
    firing = [s for s in mine if s.state == "firing"]
    latest = max(mine, key=lambda s: s.evaluated_at or 0, default=None)
    head = min(firing, key=lambda s: s.since or 0) if firing else latest
    return {**rule.public(full), "state": "firing" if firing else "ok",
            "since": head.since if head and firing else None,
            "value": head.value if head else None, "volume": head.volume if head else None,
            "evaluated_at": latest.evaluated_at if latest else None,
            "campaigns": [s.public() for s in mine]}


@app.route("/v1/alerts", methods=["POST"], authorizer=api_key, cors=cors, content_types=["application/json"])
def create_alert() -> Response:
    try:
        principal = _principal("manage")
        payload = _json_body()
        rule = _alerts().create(principal.workspace, payload, time.time(), allow_local_webhooks(os.environ))
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except RuleError as exc:
        return error_response(exc.status, "invalid_alert" if exc.status == 422 else "limit_reached", str(exc))
    body = _alert_json(rule, {}, True)
    if rule.webhook_secret:
        body["webhook_secret"] = rule.webhook_secret  # shown once: store it to verify signatures
    return _json(body, status=201)


@app.route("/v1/alerts", methods=["GET"], authorizer=api_key, cors=cors)
def list_alerts() -> Response:
    try:
        principal, full = _reader()
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    rules, states = _alerts().load(principal.workspace)
    campaign = (app.current_request.query_params or {}).get("campaign_id")
    shown = [r for r in rules if not campaign or r.campaign_id in (campaign, "*")]
    alerts = [_alert_json(r, states, full) for r in shown]
    if campaign:
        for a in alerts:
            a["campaigns"] = [c for c in a["campaigns"] if c["campaign_id"] == campaign]
            a["state"] = "firing" if any(c["state"] == "firing" for c in a["campaigns"]) else "ok"
    return _json({"alerts": alerts, "can_manage": full})


@app.route("/v1/alerts/{alert_id}/history", methods=["GET"], authorizer=api_key, cors=cors)
def alert_history(alert_id: str) -> Response:
    try:
        principal, _ = _reader()
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    store = _alerts()
    if len(alert_id) > 64 or not store.exists(principal.workspace, alert_id):
        return error_response(404, "not_found", "no such alert rule in this workspace")
    return _json({"id": alert_id, "history": store.history(principal.workspace, alert_id)})


@app.route("/v1/alerts/{alert_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def delete_alert(alert_id: str) -> Response:
    try:
        principal = _principal("manage")
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    if len(alert_id) > 64 or not _alerts().delete(principal.workspace, alert_id):
        return error_response(404, "not_found", "no such alert rule in this workspace")
    return Response(body="", status_code=204)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def evaluate_alerts(event: Any) -> dict[str, int]:
    return alert_runner_for().run(time.time()).summary()

# --- the stream: aggregator and rollup (docs/design.md) ---
# Batch size, batching window, retries, bisect (off), parallelization (1) and the
# on-failure destination are set on the event source mapping in infra/cdk.

STREAM_NAME = os.environ.get("STREAM_NAME", "livereport-events-dev")


@app.on_kinesis_record(stream=STREAM_NAME, batch_size=10000, starting_position="TRIM_HORIZON",
                       maximum_batching_window_in_seconds=1)
def fold_stream(event: Any) -> dict[str, Any]:
    """Fold one shard's batch into the counters, exactly once."""
    raw = event.to_dict() if hasattr(event, "to_dict") else event
    started = time.perf_counter()
    stats = wired().aggregator.handle(raw)
    for name, value in (("StreamRecordsFolded", stats.records), ("EventsFolded", stats.events),
                        ("FoldChunks", stats.chunks), ("PoisonRecords", stats.poison),
                        ("DroppedUncommitted", stats.dropped_uncommitted),
                        ("DuplicateRecordsSkipped", stats.duplicates_skipped)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()
    logger.info("fold applied", extra={"records": stats.records, "events": stats.events, "folds": stats.folds,
                                       "chunks": stats.chunks, "skipped_chunks": stats.skipped_chunks,
                                       "poison": stats.poison, "dropped": stats.dropped_uncommitted,
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})
    return {"batchItemFailures": []}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def rollup(event: Any) -> dict[str, int]:
    """Closed minutes -> hours -> days; recent minute sketches compacted."""
    stats = wired().rollup.run(time.time())
    metrics.add_metric(name="HoursRolled", unit=MetricUnit.Count, value=stats.hours_rolled)
    metrics.add_metric(name="DaysRolled", unit=MetricUnit.Count, value=stats.days_rolled)
    metrics.flush_metrics()
    return {"hours": stats.hours_rolled, "days": stats.days_rolled, "minutes": stats.minutes_compacted,
            "raced": stats.raced, "skipped": int(stats.skipped_lease)}


# --- webhook sources and native platform webhooks ---
# A workspace registers a source per sending-platform account (scope manage);
# the platform then POSTs to /v1/webhooks/{platform}/{source_id}, with no API
# key: its own signature authenticates and the source names the workspace.
# See docs/webhooks.md. Env: PUBLIC_API_URL (the URL shown to paste).

#: SNS signing certificates, fetched once per process (tests swap in a fake fetcher).
sns_certificates = ses_webhooks.CertificateCache()


def _sources() -> SourceStore:
    return SourceStore(wired().client, wired().config.table_name)


def _webhooks() -> WebhookService:
    return WebhookService(_sources(), wired().ingest, TokenLedger(wired().client, wired().config.table_name),
                          sns_certificates, allow_loopback=is_local(os.environ))


def _base_url(suffix: str) -> str:
    """The API's public base URL: PUBLIC_API_URL, else this request's own URL minus the route."""
    if os.environ.get("PUBLIC_API_URL"):
        return os.environ["PUBLIC_API_URL"].rstrip("/")
    request = app.current_request
    headers = {k.lower(): v for k, v in request.headers.items()}
    urls = public_urls(headers, request.context.get("path") or suffix, None, suffix)
    return urls[0][: -len(suffix)] if urls and urls[0].endswith(suffix) else "http://localhost"


@app.route("/v1/sources", methods=["POST"], authorizer=api_key, cors=cors, content_types=["application/json"])
def create_source() -> Response:
    try:
        principal = _principal("sources")
        payload = _json_body()
        source = _sources().create(principal.workspace, payload, time.time())
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except SourceError as exc:
        code = {400: "invalid_request", 409: "limit_reached"}.get(exc.status, "invalid_source")
        return error_response(exc.status, code, str(exc))
    logger.info("webhook source created", extra={"workspace": principal.workspace, "source_id": source.id,
                                                 "platform": source.platform})
    _audit().record(principal.workspace, actor_of(principal), "source.created", source.id,
                    {"platform": source.platform}, time.time())
    return _json(source.public(_base_url("/v1/sources")), status=201)


@app.route("/v1/sources", methods=["GET"], authorizer=api_key, cors=cors)
def list_sources() -> Response:
    try:
        principal = _principal("sources")
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    base = _base_url("/v1/sources")
    return _json({"sources": [s.public(base) for s in _sources().list(principal.workspace)]})


@app.route("/v1/sources/{source_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def delete_source(source_id: str) -> Response:
    try:
        principal = _principal("sources")
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    if not _sources().delete(principal.workspace, source_id):
        return error_response(404, "not_found", "no such source in this workspace")
    _audit().record(principal.workspace, actor_of(principal), "source.deleted", source_id, {}, time.time())
    return Response(body="", status_code=204)


def _webhook_metrics(platform: str, **counts: int) -> None:
    """One flush with the platform as a dimension (set and cleared within the flush)."""
    metrics.add_dimension(name="platform", value=platform if platform in PLATFORMS else "unknown")
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()


@app.route("/v1/webhooks/{platform}/{source_id}", methods=["POST"],
           content_types=["application/json", "text/plain", "application/x-www-form-urlencoded",
                          "multipart/form-data"])
def platform_webhook(platform: str, source_id: str) -> Response:
    request = app.current_request
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = {k: list(request.query_params.getlist(k)) for k in request.query_params} if request.query_params else {}
    route = f"/v1/webhooks/{platform}/{source_id}"
    body = request.raw_body if isinstance(request.raw_body, bytes) else (request.raw_body or "").encode()
    hook = WebhookRequest(body, headers, query, public_urls(headers, request.context.get("path") or route,
                                                             os.environ.get("PUBLIC_API_URL"), route), time.time())
    try:
        result = _webhooks().handle(platform, source_id, hook)
    except WebhookError as exc:
        _webhook_metrics(platform, WebhookRequestsRefused=1, WebhookSignaturesRejected=int(exc.status in (401, 403)))
        logger.warning("webhook refused", extra={"platform": platform[:20], "source_id": source_id[:64],
                                                 "status": exc.status, "why": exc.message})
        return error_response(exc.status, exc.code, exc.message)
    except StoreUnavailable:
        _webhook_metrics(platform, StoreUnavailable=1)
        return error_response(503, "unavailable", "the store is busy; retry later", {"Retry-After": "2"})
    _webhook_metrics(platform, WebhookEventsAccepted=result.accepted, WebhookEventsRejected=result.rejected,
                     WebhookEventsUnmapped=len(result.unmapped), BatchesReplayed=int(result.replayed))
    logger.info("webhook ingested", extra={"platform": platform, "workspace": result.workspace,
                                           "accepted": result.accepted, "rejected": result.rejected,
                                           "unmapped": sorted(set(result.unmapped))[:10],
                                           "replayed": result.replayed})
    return _json(result.body, status=result.status,
                 headers={"Idempotent-Replay": "true"} if result.replayed else None)


# --- accounts: members, API keys, the audit list (issue 14, docs/accounts.md) ---
# People sign in with Cognito (email + password); their role per workspace is
# stored here. Admin routes need the effective scope `admin` (role admin, or a
# key granted `admin`). Env: COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID,
# COGNITO_REGION, COGNITO_ENDPOINT (local mode: the moto server).

_PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _memberships() -> MembershipStore:
    return MembershipStore(wired().client, wired().config.table_name)


def _audit() -> AuditLog:
    return AuditLog(wired().client, wired().config.table_name)


def _account_admin() -> AccountAdmin:
    settings = CognitoSettings.from_env(os.environ)
    directory = None
    if settings is not None:
        import boto3
        directory = UserDirectory(boto3.client("cognito-idp", region_name=settings.region,
                                               endpoint_url=settings.endpoint or None), settings.user_pool_id)
    return AccountAdmin(_memberships(), _audit(), wired().keys, directory)


def _admin_call(action: Any, status: int = 200) -> Response:
    """Run an admin action for the caller (scope admin); errors as JSON."""
    try:
        principal = _principal("admin")
        raw = app.current_request.raw_body
        payload: Any = None
        if app.current_request.method in ("POST", "PATCH"):
            try:
                payload = json.loads(raw or b"")
            except ValueError:
                return error_response(400, "invalid_request", "the body must be a JSON object")
        body = action(principal, payload)
    except (ApiError, AccountError, MembershipError, DirectoryError) as exc:
        return error_response(exc.status, exc.code, exc.message, _PRIVATE)
    if body is None:
        return Response(body="", status_code=204, headers=_PRIVATE)
    return _json(body, status=status, headers=_PRIVATE)


@app.route("/v1/me", methods=["GET"], authorizer=api_key, cors=cors)
def me() -> Response:
    """Who is calling: a user (email, workspaces with roles) or a key (its workspace)."""
    context = app.current_request.context.get("authorizer") or {}
    if context.get("kind") == "user":
        record = _memberships().user(context["sub"])
        return _json({"kind": "user", "user_id": context["sub"], "email": record.email or context.get("email", ""),
                      "display_name": record.display_name,
                      "workspaces": [{"workspace": ws, "role": role, "scopes": sorted(role_scopes(role))}
                                     for ws, role in sorted(record.roles.items())]}, headers=_PRIVATE)
    if context.get("workspace"):
        scopes = sorted(filter(None, (context.get("scopes") or "").split(",")))
        return _json({"kind": "key", "key_id": context.get("key_id", ""), "email": "", "display_name": "",
                      "workspaces": [{"workspace": context["workspace"], "role": None, "scopes": scopes}]},
                     headers=_PRIVATE)
    return error_response(401, "unauthorized", "missing or unknown API key or token (Authorization: Bearer ...)")


@app.route("/v1/members", methods=["GET"], authorizer=api_key, cors=cors)
def list_members() -> Response:
    return _admin_call(lambda p, _: {"members": [m.public() for m in _memberships().members(p.workspace)]})


@app.route("/v1/members", methods=["POST"], authorizer=api_key, cors=cors, content_types=["application/json"])
def invite_member() -> Response:
    def invite(principal: Principal, payload: Any) -> dict[str, Any]:
        member, invited = _account_admin().invite(principal.workspace, principal, payload, time.time())
        logger.info("member invited", extra={"workspace": principal.workspace, "user_id": member.user_id,
                                             "role": member.role, "new_user": invited})
        return {**member.public(), "invited": invited}
    return _admin_call(invite, status=201)


@app.route("/v1/members/{user_id}", methods=["PATCH"], authorizer=api_key, cors=cors,
           content_types=["application/json"])
def change_member_role(user_id: str) -> Response:
    return _admin_call(lambda p, payload: _account_admin().change_role(
        p.workspace, p, user_id, payload, time.time()).public())


@app.route("/v1/members/{user_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def remove_member(user_id: str) -> Response:
    def remove(principal: Principal, _: Any) -> None:
        _account_admin().remove(principal.workspace, principal, user_id, time.time())
    return _admin_call(remove)


@app.route("/v1/keys", methods=["GET"], authorizer=api_key, cors=cors)
def list_keys() -> Response:
    return _admin_call(lambda p, _: {"keys": wired().keys.list(p.workspace)})


@app.route("/v1/keys", methods=["POST"], authorizer=api_key, cors=cors, content_types=["application/json"])
def create_key() -> Response:
    """The new key is in this answer only (`key`); the store keeps its hash."""
    return _admin_call(lambda p, payload: _account_admin().create_key(p.workspace, p, payload, time.time()),
                       status=201)


@app.route("/v1/keys/{key_id}", methods=["DELETE"], authorizer=api_key, cors=cors)
def revoke_key(key_id: str) -> Response:
    def revoke(principal: Principal, _: Any) -> None:
        if not _account_admin().revoke_key(principal.workspace, principal, key_id, time.time()):
            raise ApiError(404, "not_found", "no such key in this workspace")
    return _admin_call(revoke)


@app.route("/v1/audit", methods=["GET"], authorizer=api_key, cors=cors)
def audit_list() -> Response:
    """Admin actions, newest first: ?limit=1..200 (default 50), ?before=<next of the previous page>."""
    params = app.current_request.query_params or {}

    def entries(principal: Principal, _: Any) -> dict[str, Any]:
        raw_limit, before = params.get("limit") or "50", params.get("before") or None
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            raise ApiError(400, "invalid_request", "limit: 1 to 200")
        if before is not None and (len(before) > 40 or not before.replace("#", "").isalnum()):
            raise ApiError(400, "invalid_request", "before: the `next` value of the previous page")
        items, cursor = _audit().list(principal.workspace, int(raw_limit), before)
        return {"entries": items, "next": cursor}
    return _admin_call(entries)
