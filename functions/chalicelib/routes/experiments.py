"""Experiments: the report (scope `read`) and its settings (read: `read`; change: `manage`,
editors and admins). docs/experiments.md."""
from __future__ import annotations

import time

from chalice import Blueprint, Response

from ..experiments.report import ExperimentReports
from ..experiments.settings import SettingsStore
from ..http import ApiError, error_response
from ..store import StoreConfig, StoreUnavailable
from .common import RouteDeps, json_body, json_response, principal

BUSY = {"Retry-After": "2"}


def settings_store(deps: RouteDeps) -> SettingsStore:
    services = deps.services()
    return SettingsStore(services.client, StoreConfig(services.config.table_name))


def experiment_routes(deps: RouteDeps) -> Blueprint:
    bp = Blueprint(__name__)
    auth, cors, logger = deps.authorizer, deps.cors, deps.logger

    def exists(workspace: str, campaign: str) -> bool:
        return any(c["campaign_id"] == campaign for c in deps.services().directory.list(workspace))

    @bp.route("/v1/campaigns/{campaign_id}/experiment", methods=["GET"], authorizer=auth, cors=cors)
    def experiment_report(campaign_id: str) -> Response:
        try:
            caller = principal(bp.current_request, "read", logger)
            query = bp.current_request.query_params or {}
            services = deps.services()
            reports = ExperimentReports(services.store, settings_store(deps), exists, services.live.currency_of)
            doc = reports.report(caller.workspace, campaign_id, query.get("channel") or "email",
                                 query.get("metric") or None, time.time())
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)
        return json_response(doc)

    @bp.route("/v1/campaigns/{campaign_id}/experiments/{channel}", methods=["GET"], authorizer=auth, cors=cors)
    def get_settings(campaign_id: str, channel: str) -> Response:
        try:
            caller = principal(bp.current_request, "read", logger)
            if channel not in ("email", "push", "sms", "inapp", "web", "directmail"):
                raise ApiError(404, "not_found", "channel: one of email, push, sms, inapp, web, directmail")
            settings = settings_store(deps).get(caller.workspace, campaign_id, channel)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)
        return json_response(settings.document())

    @bp.route("/v1/campaigns/{campaign_id}/experiments/{channel}", methods=["PUT"], authorizer=auth, cors=cors,
              content_types=["application/json"])
    def put_settings(campaign_id: str, channel: str) -> Response:
        try:
            caller = principal(bp.current_request, "manage", logger)
            if not exists(caller.workspace, campaign_id):
                raise ApiError(404, "not_found", f"no campaign '{campaign_id[:128]}' has events in this workspace")
            settings = settings_store(deps).put(caller.workspace, campaign_id, channel,
                                                json_body(bp.current_request), caller.key_id or "")
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)
        return json_response(settings.document())

    return bp
