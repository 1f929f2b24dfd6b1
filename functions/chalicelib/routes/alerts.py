"""Alert rules (issue 13, docs/alerts.md).

Rules need `manage` to create or delete. Listing and history are open to read
keys too (the page shows badges), without recipient addresses or webhook URLs,
which only `manage` callers see, each with its consent (`notify.email_status`:
addresses outside the workspace confirm before they get anything, consent/).
The webhook secret is shown once, in the creation's answer.
Env: LIVEREPORT_ALLOW_LOCAL_WEBHOOKS=1 (local mode: http://127.0.0.1 webhooks).
"""
from __future__ import annotations

import os
import time
from typing import Any

from chalice import Blueprint, Response

from ..alerts.rules import RuleError, allow_local_webhooks
from ..alerts.store import AlertStore
from ..auth import Principal
from ..consent.lists import ALERT, describe_rule, ref
from ..consent.store import ConsentStore, Recipient
from ..http import ApiError, caller_of, error_response
from .common import RouteDeps, json_body, json_response, principal
from .recipients import quota_of, register_recipients, statuses


def alert_json(rule: Any, states: dict, full: bool, consent: dict[str, Recipient] | None = None) -> dict[str, Any]:
    """A rule with its state over every campaign it watches (the earliest firing one heads it)."""
    mine = sorted((s for (r, _), s in states.items() if r == rule.rule_id), key=lambda s: s.campaign_id)
    firing = [s for s in mine if s.state == "firing"]
    latest = max(mine, key=lambda s: s.evaluated_at or 0, default=None)
    head = min(firing, key=lambda s: s.since or 0) if firing else latest
    public = rule.public(full)
    if full:
        public["notify"]["email_status"] = statuses(rule.notify.emails, consent or {})
    return {**public, "state": "firing" if firing else "ok",
            "since": head.since if head and firing else None,
            "value": head.value if head else None, "volume": head.volume if head else None,
            "evaluated_at": latest.evaluated_at if latest else None,
            "campaigns": [s.public() for s in mine]}


def alert_routes(deps: RouteDeps) -> Blueprint:
    bp = Blueprint(__name__)
    auth, cors, logger = deps.authorizer, deps.cors, deps.logger

    def store() -> AlertStore:
        return AlertStore(deps.services().client, deps.services().config.table_name)

    def consent() -> ConsentStore:
        return ConsentStore(deps.services().client, deps.services().config.table_name)

    def reader() -> tuple[Principal, bool]:
        """A principal with read or manage; True when it may see notification targets."""
        request = bp.current_request
        caller = caller_of(request.context.get("authorizer") or {}, request.headers.get("x-workspace"))
        manage = "manage" in caller.scopes
        return principal(request, "manage" if manage else "read", logger), manage

    @bp.route("/v1/alerts", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def create_alert() -> Response:
        try:
            caller = principal(bp.current_request, "manage", logger)
            now = time.time()
            rule = store().create(caller.workspace, json_body(bp.current_request), now,
                                  allow_local_webhooks(os.environ))
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except RuleError as exc:
            return error_response(exc.status, "invalid_alert" if exc.status == 422 else "limit_reached", str(exc))
        known = register_recipients(deps, caller, ref(ALERT, rule.rule_id), rule.notify.emails, rule.language,
                                    describe_rule(rule), now) if rule.notify.emails else {}
        body = alert_json(rule, {}, True, known)
        if rule.webhook_secret:
            body["webhook_secret"] = rule.webhook_secret  # shown once: store it to verify signatures
        return json_response(body, status=201)

    @bp.route("/v1/alerts", methods=["GET"], authorizer=auth, cors=cors)
    def list_alerts() -> Response:
        try:
            caller, full = reader()
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        rules, states = store().load(caller.workspace)
        campaign = (bp.current_request.query_params or {}).get("campaign_id")
        shown = [r for r in rules if not campaign or r.campaign_id in (campaign, "*")]
        known = consent().of_kind(caller.workspace, ALERT) if full else {}
        alerts = [alert_json(r, states, full, known.get(ref(ALERT, r.rule_id))) for r in shown]
        if campaign:
            for a in alerts:
                a["campaigns"] = [c for c in a["campaigns"] if c["campaign_id"] == campaign]
                a["state"] = "firing" if any(c["state"] == "firing" for c in a["campaigns"]) else "ok"
        body: dict[str, Any] = {"alerts": alerts, "can_manage": full}
        if full:
            body["quota"] = quota_of(deps).status(caller.workspace, time.time())
        return json_response(body)

    @bp.route("/v1/alerts/{alert_id}/history", methods=["GET"], authorizer=auth, cors=cors)
    def alert_history(alert_id: str) -> Response:
        try:
            caller, _ = reader()
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        rules = store()
        if len(alert_id) > 64 or not rules.exists(caller.workspace, alert_id):
            return error_response(404, "not_found", "no such alert rule in this workspace")
        return json_response({"id": alert_id, "history": rules.history(caller.workspace, alert_id)})

    @bp.route("/v1/alerts/{alert_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def delete_alert(alert_id: str) -> Response:
        try:
            caller = principal(bp.current_request, "manage", logger)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if len(alert_id) > 64 or not store().delete(caller.workspace, alert_id):
            return error_response(404, "not_found", "no such alert rule in this workspace")
        consent().drop_list(caller.workspace, ref(ALERT, alert_id))
        return Response(body="", status_code=204)

    return bp
