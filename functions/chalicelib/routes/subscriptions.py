"""Snapshot email subscriptions (docs/snapshots.md).

Subscriptions need the `subscriptions` scope: read keys are handed to agencies
and must neither mail anyone nor see recipient addresses. Recipients who are
not members of the workspace are asked to confirm first (consent/); each
recipient's status and the workspace's daily email quota come with the list.
The links in the emails (unsubscribe, confirm) are in routes/consent.py.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from chalice import Blueprint, Response

from ..consent.lists import SUB, describe_subscription, ref
from ..consent.store import ConsentStore, Recipient
from ..http import ApiError, error_response
from ..snapshots.runner import SnapshotRunner
from ..snapshots.subscriptions import Subscription, SubscriptionError, SubscriptionStore, last_delivery
from .common import RouteDeps, json_body, json_response, principal
from .recipients import quota_of, register_recipients, statuses


def subscription_store(deps: RouteDeps) -> SubscriptionStore:
    return SubscriptionStore(deps.services().client, deps.services().config.table_name)


def subscription_json(sub: Subscription, known: dict[str, Recipient], item: dict[str, Any] | None) -> dict[str, Any]:
    return {**sub.public(), "recipient_status": statuses(sub.recipients, known),
            "last_delivery": last_delivery(item) if item else None}


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
            now = time.time()
            sub = subscription_store(deps).create(caller.workspace, payload, now)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except SubscriptionError as exc:
            return error_response(exc.status, "invalid_subscription" if exc.status == 422 else "limit_reached",
                                  str(exc))
        known = register_recipients(deps, caller, ref(SUB, sub.subscription_id), sub.recipients, sub.language,
                                    describe_subscription(sub), now)
        return json_response(subscription_json(sub, known, None), status=201)

    @bp.route("/v1/subscriptions", methods=["GET"], authorizer=auth, cors=cors)
    def list_subscriptions() -> Response:
        """Every subscription with its recipients' consent and last delivery, and today's email quota."""
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        services = deps.services()
        consent = ConsentStore(services.client, services.config.table_name).of_kind(caller.workspace, SUB)
        subs = [subscription_json(sub, consent.get(ref(SUB, sub.subscription_id), {}), item)
                for sub, item in subscription_store(deps).list_items(caller.workspace)]
        return json_response({"subscriptions": subs, "quota": quota_of(deps).status(caller.workspace, time.time())})

    @bp.route("/v1/subscriptions/{subscription_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def delete_subscription(subscription_id: str) -> Response:
        try:
            caller = principal(bp.current_request, "subscriptions", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if len(subscription_id) > 64 or not subscription_store(deps).delete(caller.workspace, subscription_id):
            return error_response(404, "not_found", "no such subscription in this workspace")
        services = deps.services()
        ConsentStore(services.client, services.config.table_name).drop_list(caller.workspace,
                                                                            ref(SUB, subscription_id))
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
        quota = quota_of(deps)  # a test counts against the workspace's daily email quota like every send
        if not quota.reserve(caller.workspace, 1, now):
            return error_response(429, "quota_exceeded", f"this workspace's daily email quota ({quota.limit}) is "
                                  "used up: try again tomorrow (UTC)")
        try:
            message_id = runner().send_test(sub, caller.email, now)
        except Exception as exc:  # noqa: BLE001 - SES refusals (unverified address...) are the caller's to read
            quota.release(caller.workspace, 1, now)
            logger.warning("test email failed", extra={"subscription_id": subscription_id, "error": repr(exc)[:300]})
            return error_response(502, "send_failed", f"the test email could not be sent: {str(exc)[:200]}")
        logger.info("test email sent", extra={"subscription_id": subscription_id, "workspace": caller.workspace})
        return json_response({"sent_to": caller.email, "message_id": message_id}, status=200)

    return bp
