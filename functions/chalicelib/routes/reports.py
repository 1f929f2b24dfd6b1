"""The campaign list and the reports (scope `read`): live and global, JSON or CSV, and the
change stamp the page polls. The live report is computed once per (view, stamp, 10 s) and
shared by every viewer (live_push/report_cache.py)."""
from __future__ import annotations

from typing import Any, Callable

from chalice import Blueprint, Response

from ..csv_export import report_csv
from ..http import ApiError, error_response, live_query, report_options, report_query
from ..reports import compare
from ..reports.global_ import RangeError
from ..store import StoreUnavailable
from .common import RouteDeps, json_response, principal

BUSY = {"Retry-After": "2"}
Build = Callable[[bool, float], dict[str, Any]]


def report_routes(deps: RouteDeps) -> Blueprint:
    bp = Blueprint(__name__)
    auth, cors, logger = deps.authorizer, deps.cors, deps.logger

    def reader() -> Any:
        return principal(bp.current_request, "read", logger)

    @bp.route("/v1/campaigns", methods=["GET"], authorizer=auth, cors=cors)
    def list_campaigns() -> Response:
        try:
            return json_response({"campaigns": deps.services().directory.list(reader().workspace)})
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)

    def answer(build: Build, csv: bool, filename: str) -> Response:
        """Run a report builder with (compare, now); JSON, or CSV for ?format=csv and *.csv paths."""
        try:
            compare_previous, fmt = report_options(bp.current_request.query_params)
            doc = build(compare_previous, deps.clock())
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except RangeError as exc:
            return error_response(400, "invalid_request", str(exc))
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)
        if csv or fmt == "csv":  # the caller was authorised by build(): the file names its workspace
            return Response(body=report_csv(doc, reader().workspace), status_code=200, headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"'})
        return json_response(doc)

    def live(campaign_id: str) -> Build:
        def run(compare_previous: bool, now: float) -> dict[str, Any]:
            services = deps.services()
            query = live_query(reader().workspace, campaign_id, bp.current_request.query_params)

            def build(at: float) -> dict[str, Any]:
                doc = services.live.report(query, at)
                if compare_previous:  # it doubles the report's reads
                    doc["previous"] = compare.previous_live(services.live, query, at)
                return doc
            return services.live_cache.live(query, compare_previous, now, build)
        return run

    def global_(campaign_id: str) -> Build:
        def run(compare_previous: bool, now: float) -> dict[str, Any]:
            services = deps.services()
            query = report_query(reader().workspace, campaign_id, bp.current_request.query_params, now)
            doc = services.globals.report(query, now)
            if compare_previous:
                doc["previous"] = compare.previous_global(services.globals, query, doc, now)
            return doc
        return run

    @bp.route("/v1/campaigns/{campaign_id}/live", methods=["GET"], authorizer=auth, cors=cors)
    def live_report(campaign_id: str) -> Response:
        return answer(live(campaign_id), False, "live.csv")

    @bp.route("/v1/campaigns/{campaign_id}/live.csv", methods=["GET"], authorizer=auth, cors=cors)
    def live_report_csv(campaign_id: str) -> Response:
        return answer(live(campaign_id), True, "live.csv")

    @bp.route("/v1/campaigns/{campaign_id}/report", methods=["GET"], authorizer=auth, cors=cors)
    def global_report(campaign_id: str) -> Response:
        return answer(global_(campaign_id), False, "report.csv")

    @bp.route("/v1/campaigns/{campaign_id}/report.csv", methods=["GET"], authorizer=auth, cors=cors)
    def global_report_csv(campaign_id: str) -> Response:
        return answer(global_(campaign_id), True, "report.csv")

    @bp.route("/v1/campaigns/{campaign_id}/stamp", methods=["GET"], authorizer=auth, cors=cors)
    def campaign_stamp(campaign_id: str) -> Response:
        """A tiny document the page polls while its socket is down; it fetches a report only when the stamp moved."""
        try:
            workspace = reader().workspace
            live_query(workspace, campaign_id, {"channel": "campaign"})  # validates the id
            stamp = deps.services().directory.stamp(workspace, campaign_id)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except StoreUnavailable:
            return error_response(503, "unavailable", "the store is busy; retry later", BUSY)
        return json_response(stamp or {"stamp": "", "last_event": None}, headers={"Cache-Control": "no-store"})

    return bp
