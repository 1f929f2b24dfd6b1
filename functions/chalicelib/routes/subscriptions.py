"""Snapshot email subscriptions and the signed unsubscribe link (docs/snapshots.md).

Subscriptions need the `subscriptions` scope: read keys are handed to agencies
and must neither mail anyone nor see recipient addresses.
Env: UNSUBSCRIBE_SECRET (the link's signing key).
"""
from __future__ import annotations

import time
from html import escape
from typing import Any, Callable

from chalice import Blueprint, Response

from ..http import ApiError, error_response
from ..snapshots.runner import SnapshotRunner
from ..snapshots.subscriptions import SubscriptionError, SubscriptionStore, to_json
from ..snapshots.tokens import TokenError, TokenSigner, secret_from_env
from .common import RouteDeps, json_body, json_response, principal


def subscription_store(deps: RouteDeps) -> SubscriptionStore:
    return SubscriptionStore(deps.services().client, deps.services().config.table_name)


def _page(status: int, title: str, message: str) -> Response:
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body style="font-family:Arial,sans-serif;max-width:520px;margin:48px auto;color:#1f2937;">'
            f'<h1 style="font-size:20px;">{escape(title)}</h1><p>{escape(message)}</p></body></html>')
    return Response(body=html, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'", "Referrer-Policy": "no-referrer"})


#: Seconds between two test emails of one subscription.
TEST_EVERY = 60


def subscription_routes(deps: RouteDeps, runner: Callable[[], SnapshotRunner]) -> Blueprint:
    """`runner` builds the snapshot runner (SES, signer, local outbox) when a test email is asked for."""
    bp = Blueprint(__name__)
    auth, cors, logger = deps.authorizer, deps.cors, deps.logger

    def known_campaign(workspace: str, campaign_id: str) -> bool:
        return any(c["campaign_id"] == campaign_id for c in deps.services().directory.list(workspace))

    @bp.route("/v1/subscriptions", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def create_subscription() -> Response:
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
            payload: Any = json_body(bp.current_request)
            allow_unknown = isinstance(payload, dict) and payload.pop("allow_unknown_campaign", False) is True
            campaign = payload.get("campaign_id") if isinstance(payload, dict) else None
            if isinstance(campaign, str) and not allow_unknown and not known_campaign(caller.workspace, campaign):
                return error_response(422, "unknown_campaign",
                                      f"campaign_id: no campaign '{campaign[:128]}' has events in this workspace; "
                                      "check the spelling, or send \"allow_unknown_campaign\": true for a campaign "
                                      "not yet started")
            sub = subscription_store(deps).create(caller.workspace, payload, time.time())
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except SubscriptionError as exc:
            return error_response(exc.status, "invalid_subscription" if exc.status == 422 else "limit_reached",
                                  str(exc))
        return json_response(sub.public(), status=201)

    @bp.route("/v1/subscriptions", methods=["GET"], authorizer=auth, cors=cors)
    def list_subscriptions() -> Response:
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        return Response(body=to_json(subscription_store(deps).list(caller.workspace)), status_code=200,
                        headers={"Content-Type": "application/json"})

    @bp.route("/v1/subscriptions/{subscription_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def delete_subscription(subscription_id: str) -> Response:
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if len(subscription_id) > 64 or not subscription_store(deps).delete(caller.workspace, subscription_id):
            return error_response(404, "not_found", "no such subscription in this workspace")
        return Response(body="", status_code=204)

    @bp.route("/v1/subscriptions/{subscription_id}/test", methods=["POST"], authorizer=auth, cors=cors)
    def send_test(subscription_id: str) -> Response:
        """One snapshot now, to the signed-in requester's own address only (never to the recipients,
        who may not have confirmed them yet): a person checks what the email looks like."""
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if caller.kind != "user" or not caller.email:
            return error_response(422, "no_address", "a test email goes to the signed-in person's own address; "
                                  "an API key has none: sign in on the dashboard to send one")
        store = subscription_store(deps)
        sub = store.get(caller.workspace, subscription_id) if len(subscription_id) <= 64 else None
        if sub is None:
            return error_response(404, "not_found", "no such subscription in this workspace")
        now = time.time()
        if not store.claim_test(caller.workspace, subscription_id, now, TEST_EVERY):
            return error_response(429, "too_many_tests", f"one test email a subscription every {TEST_EVERY} s: "
                                  "try again in a minute", {"Retry-After": str(TEST_EVERY)})
        try:
            message_id = runner().send_test(sub, caller.email, now)
        except Exception as exc:  # noqa: BLE001 - SES refusals (unverified address...) are the caller's to read
            logger.warning("test email failed", extra={"subscription_id": subscription_id, "error": repr(exc)[:300]})
            return error_response(502, "send_failed", f"the test email could not be sent: {str(exc)[:200]}")
        logger.info("test email sent", extra={"subscription_id": subscription_id, "workspace": caller.workspace})
        return json_response({"sent_to": caller.email, "message_id": message_id}, status=200)

    @bp.route("/v1/unsubscribe", methods=["GET", "POST"],
              content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"])
    def unsubscribe() -> Response:
        """GET from the email's link; POST for RFC 8058 one-click (List-Unsubscribe-Post)."""
        token = (bp.current_request.query_params or {}).get("token") or ""
        try:
            target = TokenSigner(secret_from_env()).verify(token)
        except TokenError:
            return _page(400, "Invalid link / Lien invalide",
                         "This unsubscribe link is invalid or was altered. / Ce lien de désabonnement est invalide.")
        subscription_store(deps).remove_recipient(target.workspace, target.subscription_id, target.recipient)
        logger.info("unsubscribed", extra={"subscription_id": target.subscription_id, "workspace": target.workspace})
        return _page(200, "Unsubscribed / Désabonné",
                     f"{target.recipient} will no longer receive this report. / "
                     f"{target.recipient} ne recevra plus ce rapport.")

    return bp
