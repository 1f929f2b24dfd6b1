"""Routes and schedules only: parse the request, call chalicelib, shape the response."""
from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import AuthResponse, Chalice, CORSConfig, Rate, Response

from chalicelib import services
from chalicelib.accounts.invitation_email import custom_message
from chalicelib.accounts.members import MembershipStore
from chalicelib.accounts.roles import encode_roles, key_scopes
from chalicelib.accounts.tokens import CognitoSettings, TokenVerifier, looks_like_jwt
from chalicelib.accounts.tokens import TokenError as UserTokenError
from chalicelib.alerts.deliveries import SqsQueue
from chalicelib.alerts.deliveries import handle_records as handle_alert_records
from chalicelib.alerts.rules import allow_local_webhooks
from chalicelib.alerts.runner import AlertRunner, Settings as AlertSettings
from chalicelib.alerts.webhook import WebhookClient
from chalicelib.auth import Principal
from chalicelib.catalogue import catalogue_document
from chalicelib.config import AppConfig
from chalicelib.consent.mailer import OutboxMailer
from chalicelib.http import ApiError, check_query_size, error_response
from chalicelib.ingest import IngestError
from chalicelib.live_push.sockets import SocketHandlers, endpoint_from_env
from chalicelib.openapi import openapi_document
from chalicelib.rollup import RollupStats
from chalicelib.rollup.fanout import RollupQueue
from chalicelib.rollup.fanout import dispatch as dispatch_rollup
from chalicelib.rollup.fanout import handle_records as handle_rollup_records
from chalicelib.routes.accounts import account_routes
from chalicelib.routes.alerts import alert_routes
from chalicelib.routes.experiments import experiment_routes
from chalicelib.routes.common import RouteDeps, json_response, principal
from chalicelib.routes.consent import consent_routes
from chalicelib.routes.reports import report_routes
from chalicelib.routes.subscriptions import subscription_routes
from chalicelib.routes.webhooks import webhook_routes
from chalicelib.snapshots import runner as snapshot_runner
from chalicelib.snapshots.tokens import TokenSigner, secret_from_env
from chalicelib.store import StoreUnavailable
from chalicelib.webhooks import ses as ses_webhooks

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
    record = MembershipStore(wired().client, wired().config.table_name).user(claims.sub)
    return {"kind": "user", "sub": claims.sub, "email": record.email or claims.email,
            "roles": encode_roles(record.roles), "workspace": "", "scopes": ""}


def caller_context(token: str) -> tuple[str, dict[str, str]] | None:
    """A bearer (an API key or a Cognito access/ID token) -> (principal id, authorizer context), None when
    unknown or invalid. The REST authorizer and the live channel's $connect share it (one set of rules)."""
    if looks_like_jwt(token):
        user = _user_context(token)
        return (user["sub"], user) if user is not None else None
    principal = wired().keys.lookup(token) if token else None
    if principal is None:
        return None
    return principal.key_id, {"kind": "key", "key_id": principal.key_id, "workspace": principal.workspace,
                              "scopes": ",".join(sorted(key_scopes(principal.scopes)))}


# Named "key_authorizer", not after the function: Chalice treats a security
# scheme named "api_key" as `api_key_required` and swaps the Lambda authorizer
# for an API Gateway key requirement (x-api-key) in the deployed API.
@app.authorizer(ttl_seconds=60, name="key_authorizer")
def api_key(auth_request: Any) -> AuthResponse:
    """Resolve the bearer to a caller: an API key (its workspace and effective
    scopes) or a Cognito access/ID token (the user and their roles,
    docs/accounts.md). Unknown keys and invalid tokens pass through as
    anonymous so the view answers 401 (a gateway deny is a 403)."""
    token = (auth_request.token or "").strip()
    key = token[7:].strip() if token.lower().startswith("bearer ") else ""
    caller = caller_context(key) if key else None
    if caller is None:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"workspace": "", "scopes": ""})
    return AuthResponse(routes=["*"], principal_id=caller[0], context=caller[1])


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


@app.middleware("http")
def bounded_query_strings(event: Any, get_response: Any) -> Response:
    """Every route: a query string with more values or characters than any client sends is a
    400 before a view parses it (DESIGN invariant 10, bounded work per request)."""
    try:
        check_query_size(event.query_params)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return get_response(event)


def _principal(scope: str) -> Principal:
    return principal(app.current_request, scope, logger)


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
    return json_response(body, headers={"Idempotent-Replay": "true"} if outcome.replayed else None)


@app.route("/v1/catalogue", methods=["GET"], cors=cors)
def catalogue() -> Response:
    return json_response(catalogue_document())


@app.route("/v1/openapi.json", methods=["GET"], cors=cors)
def openapi() -> Response:
    return json_response(openapi_document())


@app.route("/v1/health", methods=["GET"], cors=cors)
def health() -> Response:
    return json_response({"status": "ok"})


# --- routes by concern (chalicelib/routes): each a Blueprint built from its dependencies ---

#: SNS signing certificates, fetched once per process (tests swap in a fake fetcher).
sns_certificates = ses_webhooks.CertificateCache()
# Late-bound (lambdas, not `wired` or `time.time` themselves): tests swap app.wired and app.time.
_routes = RouteDeps(services=lambda: wired(), authorizer=api_key, cors=cors, logger=logger, metrics=metrics,
                    clock=lambda: time.time())
app.register_blueprint(report_routes(_routes))
app.register_blueprint(subscription_routes(_routes, lambda: snapshot_runner_for()))
app.register_blueprint(alert_routes(_routes))
app.register_blueprint(webhook_routes(_routes, lambda: sns_certificates))
app.register_blueprint(account_routes(_routes))
app.register_blueprint(experiment_routes(_routes))
app.register_blueprint(consent_routes(_routes))


# --- schedules: snapshot emails (docs/snapshots.md) and alerts (docs/alerts.md) ---
# Env: SENDER_EMAIL, PUBLIC_API_URL, UNSUBSCRIBE_SECRET, DASHBOARD_URL (deep links),
# LIVEREPORT_ALLOW_LOCAL_WEBHOOKS=1 (local mode: http://127.0.0.1 webhooks).


@lru_cache(maxsize=1)
def _ses_client() -> Any:
    import boto3
    return boto3.client("sesv2", region_name=wired().config.region)


#: Local mode writes every sent snapshot to its outbox (infra/local/schedules.py sets it); None in AWS.
snapshot_outbox: Any = None


def snapshot_runner_for(on_sent: Any = None) -> snapshot_runner.SnapshotRunner:
    return snapshot_runner.SnapshotRunner(wired(), _ses_client(), snapshot_runner.Settings.from_env(),
                                          TokenSigner(secret_from_env()), on_sent or snapshot_outbox)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def send_due_snapshots(event: Any) -> dict[str, int]:
    return snapshot_runner_for().run(time.time()).summary()


# Alert notifications go through a queue (docs/alerts.md): the evaluator enqueues, deliver_alerts
# sends. Env: ALERT_DELIVERY_QUEUE_URL (both functions); without it, deliveries are inline.
ALERT_QUEUE_NAME = os.environ.get("ALERT_DELIVERY_QUEUE_NAME", "livereport-alert-deliveries-dev")


@lru_cache(maxsize=1)
def _sqs_client() -> Any:
    import boto3
    return boto3.client("sqs", region_name=wired().config.region)


def alert_queue() -> SqsQueue | None:
    url = os.environ.get("ALERT_DELIVERY_QUEUE_URL")
    return SqsQueue(_sqs_client(), url) if url else None


def alert_runner_for(on_email: Any = None, webhooks: Any = None) -> AlertRunner:
    queue = alert_queue()
    # Queued: one attempt per message, later attempts are delayed messages. Inline: the client retries.
    client = webhooks or WebhookClient(allow_local=allow_local_webhooks(os.environ), attempts=1 if queue else 4)
    return AlertRunner(wired(), _ses_client(), AlertSettings.from_env(), client, on_email, queue)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def evaluate_alerts(event: Any) -> dict[str, int]:
    return alert_runner_for().run(time.time()).summary()


def deliver_alert_records(records: list[tuple[str, str]], on_email: Any = None) -> list[str]:
    """(message id, body) → ids to retry; the Lambda handler and local mode's drainer share it."""
    failed = handle_alert_records(records, alert_runner_for(on_email).deliverer())
    metrics.add_metric(name="AlertDeliveryJobs", unit=MetricUnit.Count, value=len(records))
    metrics.add_metric(name="AlertDeliveryJobsFailed", unit=MetricUnit.Count, value=len(failed))
    metrics.flush_metrics()
    return failed


# Batch size, the queue's ARN and ReportBatchItemFailures are set on the event source in infra/cdk.
@app.on_sqs_message(queue=ALERT_QUEUE_NAME, batch_size=5)
def deliver_alerts(event: Any) -> dict[str, Any]:
    records = [(r.to_dict().get("messageId", ""), r.body) for r in event]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in deliver_alert_records(records)]}


# --- consent and invitations (docs/snapshots.md "Consent", docs/accounts.md "Invitations") ---

def mailer_for(on_sent: Any = None) -> OutboxMailer:
    return OutboxMailer(wired(), _ses_client(), snapshot_runner.Settings.from_env(), TokenSigner(secret_from_env()),
                        on_sent)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def send_queued_emails(event: Any) -> dict[str, int]:
    """Confirmation requests to new recipients; invitations of people who already have an account."""
    return mailer_for().run(time.time()).summary()


@app.lambda_function(name="cognito_custom_message")
def cognito_custom_message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The user pool's CustomMessage trigger: the invitation email of a new account (inviter,
    workspace, role and link from AdminCreateUser's ClientMetadata, in the invitee's language)."""
    return custom_message(event)


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
                        ("ItemsWritten", stats.items_written), ("SlowPathItems", stats.slow_items),
                        ("DeadLetteredItems", stats.dead_items), ("PoisonRecords", stats.poison),
                        ("ParkedRecords", stats.parked), ("DroppedUncommitted", stats.dropped_uncommitted),
                        ("DuplicateRecordsSkipped", stats.duplicates_skipped)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    wired().notifier.record(metrics, stats.notify_failed)  # LiveNotified, LiveNotifyFailed…
    metrics.flush_metrics()
    logger.info("fold applied", extra={"records": stats.records, "events": stats.events, "folds": stats.folds,
                                       "items": stats.items_written, "slow_items": stats.slow_items,
                                       "marks": stats.marks, "directory": stats.directory_writes,
                                       "parked": stats.parked, "poison": stats.poison,
                                       "dropped": stats.dropped_uncommitted,
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})
    return {"batchItemFailures": []}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def drain_parked(event: Any) -> dict[str, int]:
    """Records parked while their request was committing, for shards that went quiet since."""
    stats = wired().aggregator.drain_all_parked(STREAM_NAME)
    metrics.add_metric(name="UnparkedRecords", unit=MetricUnit.Count, value=stats.unparked)
    metrics.flush_metrics()
    return {"unparked": stats.unparked, "dropped": stats.dropped_uncommitted}


# The rollup fans out when ROLLUP_QUEUE_URL is set (infra/cdk/rollups.py): the schedule plans one task
# per partition that moved, roll_partitions rolls them; without it (tests, local mode) it rolls inline.
ROLLUP_QUEUE_NAME = os.environ.get("ROLLUP_QUEUE_NAME", "livereport-rollup-tasks-dev.fifo")


def rollup_queue() -> RollupQueue | None:
    url = os.environ.get("ROLLUP_QUEUE_URL")
    return RollupQueue(_sqs_client(), url) if url else None


def _rollup_metrics(stats: RollupStats) -> None:
    metrics.add_metric(name="HoursRolled", unit=MetricUnit.Count, value=stats.hours_rolled)
    metrics.add_metric(name="DaysRolled", unit=MetricUnit.Count, value=stats.days_rolled)
    metrics.add_metric(name="IdlePartitionsSkipped", unit=MetricUnit.Count, value=stats.idle_skipped)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def rollup(event: Any) -> dict[str, int]:
    """Closed minutes -> hours -> days; recent minute sketches compacted (queued per partition
    when the stage has a rollup queue)."""
    queue = rollup_queue()
    if queue is not None:
        sent = dispatch_rollup(wired().rollup, queue, time.time())
        metrics.add_metric(name="RollupTasksQueued", unit=MetricUnit.Count, value=sent.planned - sent.refused)
        metrics.add_metric(name="RollupTasksRefused", unit=MetricUnit.Count, value=sent.refused)
        metrics.flush_metrics()
        return {"queued": sent.planned - sent.refused, "refused": sent.refused}
    stats = wired().rollup.run(time.time())
    _rollup_metrics(stats)
    metrics.flush_metrics()
    return {"hours": stats.hours_rolled, "days": stats.days_rolled, "minutes": stats.minutes_compacted,
            "raced": stats.raced, "skipped": int(stats.skipped_lease)}


# --- the live channel: a WebSocket per page, told when a fold stamped its campaign ---
# (chalicelib/live_push, docs/design.md "Freshness"). In AWS: an API Gateway WebSocket API
# (infra/cdk/live.py); locally: infra/local/live_socket.py calls these same handlers.
app.experimental_feature_flags.update(["WEBSOCKETS"])


def live_sockets() -> SocketHandlers:
    return SocketHandlers(wired().connections, lambda token: (caller_context(token) or (None, None))[1],
                          wired().config.region, endpoint_from_env())


@app.on_ws_connect()
def live_connect(event: Any) -> dict[str, Any]:
    return live_sockets().connect(event.to_dict())


@app.on_ws_message()
def live_message(event: Any) -> dict[str, Any]:
    return live_sockets().message(event.to_dict())


@app.on_ws_disconnect()
def live_disconnect(event: Any) -> dict[str, Any]:
    return live_sockets().disconnect(event.to_dict())


# Batch size, the queue's ARN and ReportBatchItemFailures are set on the event source in infra/cdk.
@app.on_sqs_message(queue=ROLLUP_QUEUE_NAME, batch_size=10)
def roll_partitions(event: Any) -> dict[str, Any]:
    """One partition's hour or day per message (chalicelib/rollup/fanout.py)."""
    records = [(r.to_dict().get("messageId", ""), r.body) for r in event]
    failed, stats = handle_rollup_records(records, wired().rollup, time.time())
    _rollup_metrics(stats)
    metrics.flush_metrics()
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
