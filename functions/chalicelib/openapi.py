"""The OpenAPI document served at /v1/openapi.json.

The event schema is generated from the pydantic model and the metric names
from the catalogue, so the document cannot drift from what the code accepts.
"""
from __future__ import annotations

from typing import Any

from . import catalogue
from .events import Event
from .ingest import MAX_BODY_BYTES, MAX_EVENTS
from .reports.global_ import CHANNELS as GLOBAL_CHANNELS
from .reports.live import TABS
from .reports.ranges import EARLIEST_YEAR, MAX_RANGE_DAYS, MAX_RAW_BOUND, MAX_SERIES_SLOTS
from .http import MAX_EXECUTIONS, MAX_QUERY_CHARS, MAX_QUERY_VALUES
from .alerts.rules import AlertRequest, Notify
from .snapshots.subscriptions import Subscription, SubscriptionRequest
from .webhooks.api_doc import webhook_paths
from .accounts.api_doc import account_paths, account_schemas
from .experiments.api_doc import experiment_paths
from .consent.api_doc import consent_paths, consent_schemas


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _breakdown_row() -> dict[str, Any]:
    return {"type": "object", "required": ["value", "count"], "properties": {
        "value": {"type": "string"}, "count": {"type": "integer"},
        "share": {"type": ["number", "null"], "description": "count / sum of counts of the breakdown"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                   "description": "one count per metric (e.g. platform rows: targeted, delivered, open...)"}}}


def _series() -> dict[str, Any]:
    return {"type": "object", "properties": {
        "step_seconds": {"type": "integer", "description": "60 for windows of an hour or less, else 3600 "
                                                           "(global report: 3600 up to 2 days, 86400 up to 366 days, "
                                                           f"604800 beyond; at most {MAX_SERIES_SLOTS} slots)"},
        "timestamps": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "values": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}}}}


def _model_schemas(*models: type) -> dict[str, Any]:
    """pydantic schemas with their nested $defs hoisted into components/schemas."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


_COMBINED = {"type": "object", "additionalProperties": {"type": "integer"},
             "description": "unions of distinct profiles: open_all (human or machine openers), engaged (human "
                            "openers or clickers: reactivity's denominator), engaged_all"}
_INFERRED = {"type": "object", "properties": {"sent": {"type": "integer"}, "delivered": {"type": "integer"}},
             "description": "messages the source never reported sent (delivered) that its delivered, bounced or "
                            "failed (opened, clicked, unsubscribed, complained) events prove; rates use "
                            "totals + inferred as denominators, so no rate exceeds 1"}


def _global_report() -> dict[str, Any]:
    rows = {"type": "array", "items": {"type": "object"}}
    return {"type": "object", "required": ["totals", "distinct", "rates", "top_links", "errors_by_type",
                                           "errors_by_domain", "by_domain", "series"], "properties": {
        "campaign_id": {"type": "string"}, "channel": {"type": "string", "enum": list(GLOBAL_CHANNELS)},
        "range": {"type": "object", "description": "from/to as asked (UTC; null when absent), tz, whole_life, "
                  "resolved_start/resolved_end (what was read: whole hours within the campaign's life, up to now + "
                  "5 minutes; equal when the range holds none of it), clamped: {start: null|first_data|max_range, "
                  "end: null|now} (why they differ from what was asked)"},
        "has_data": {"type": "boolean"},
        "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
        "distinct": {"type": "object", "description": "distinct profiles: open (human), open_machine, click, "
                     "targeted (HLL)", "additionalProperties": {"type": "integer"}},
        "distinct_combined": _COMBINED,
        "inferred": _INFERRED,
        "error_bound": {"type": "object", "description": "95% bounds of each distinct count"},
        "rates": {"type": "object", "additionalProperties": {"type": ["number", "null"]},
                  "description": "includes reactivity = distinct clickers / distinct human openers or clickers; "
                                 "null when the denominator is 0; never above 1"},
        "blocks": {"type": "object", "description": "delivery_overview, initial_audience, execution, reaction, "
                                                    "click_streams, tracking (SPEC's global report blocks)"},
        "top_links": {**rows, "description": "top 10: url, clicks, distinct_clicks (null: not tracked per URL), share"},
        "errors_by_type": {**rows, "description": "value, count, share"},
        "errors_by_domain": {**rows, "description": "value (domain), count (errors + bounces), errors, bounces, share"},
        "by_domain": {**rows, "description": "domain, sent, complaints, opens, clicks, raw_reactivity "
                                             "(distinct clickers / openers of the domain, whole UTC days)"},
        "series": {"$ref": "#/components/schemas/Series"},
        "read_cost": {"type": "object"}}}


def _report_paths(bearer: list[dict[str, Any]]) -> dict[str, Any]:
    campaign = {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}
    csv = {"200": {"description": "A `context` table first (workspace, campaign, report, channel, period_start, "
                          "period_end in the report's time zone, time_zone), then every widget's table as CSV "
                          "(cells starting with = + - @ neutralised)",
                   "content": {"text/csv": {}}}}
    range_params = [
        campaign,
        {"name": "channel", "in": "query", "required": True, "schema": {"type": "string", "enum": list(GLOBAL_CHANNELS)}},
        {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "maxLength": MAX_RAW_BOUND},
         "description": f"ISO date (whole day in tz) or datetime; absent: the whole life. Years before {EARLIEST_YEAR} "
                        "and more than a year ahead are a 400; a start before the campaign's first data reads "
                        "from it (range.clamped.start)"},
        {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "maxLength": MAX_RAW_BOUND},
         "description": "ISO date (inclusive, whole day in tz) or datetime (exclusive); after from. An end after "
                        "now reads up to now + 5 minutes (range.clamped.end). A range holding more than "
                        f"{MAX_RANGE_DAYS} days of the campaign's life is a 400 (the whole life reads the last "
                        f"{MAX_RANGE_DAYS} days)"},
        {"name": "tz", "in": "query", "required": False, "schema": {"type": "string", "default": "UTC"},
         "description": "IANA time zone of date bounds (others are a 400)"}, EXECUTION, COMPARE, FORMAT]
    errors = {"400": _error("Bad range, time zone, channel or option (docs/api-contract.md, Limits and clamping)"),
              "401": _error("Unauthorized"),
              "403": _error("No read scope")}
    subscription = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}}}
    return {
        "/v1/campaigns/{campaign_id}/live.csv": {"get": {
            "summary": "The live report as CSV (same parameters as /live)", "security": bearer,
            "parameters": [campaign], "responses": {**csv, **errors}}},
        "/v1/campaigns/{campaign_id}/report": {"get": {
            "summary": "The global report: whole life or a date range", "security": bearer, "parameters": range_params,
            "responses": {"200": {"description": "The report", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/GlobalReport"}}}}, **errors}}},
        "/v1/campaigns/{campaign_id}/report.csv": {"get": {
            "summary": "The global report as CSV", "security": bearer, "parameters": range_params,
            "responses": {**csv, **errors}}},
        "/v1/subscriptions": {
            "post": {"summary": "Subscribe recipients to a report by email", "security": bearer,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "$ref": "#/components/schemas/SubscriptionRequest"}}}},
                     "responses": {"201": {"description": "Created", **subscription},
                                   "400": _error("Body is not JSON"), "409": _error("Too many subscriptions"),
                                   "422": _error("Invalid subscription, or unknown_campaign: no events for campaign_id in "
                                                 "the workspace (send allow_unknown_campaign: true for one not yet started)"),
                                   "401": _error("Unauthorized"), "403": _error("No manage scope")}},
            "get": {"summary": "The workspace's subscriptions, each recipient's consent (`recipient_status`) and the "
                               "last delivery (`last_delivery`), and today's email quota (`quota`)", "security": bearer,
                    "responses": {"200": {"description": "`subscriptions` and `quota`"}, "401": _error("Unauthorized"),
                                  "403": _error("No manage scope")}}},
        "/v1/subscriptions/{subscription_id}": {"delete": {
            "summary": "Delete a subscription", "security": bearer,
            "parameters": [{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Deleted"}, "403": _error("No manage scope"),
                          "404": _error("No such subscription")}}},
        "/v1/subscriptions/{subscription_id}/test": {"post": {
            "summary": "Send one snapshot of the subscription now to the signed-in requester's own address "
                       "(never to its recipients); at most one a minute per subscription",
            "security": bearer,
            "parameters": [{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Sent: {sent_to, message_id}"}, "401": _error("Unauthorized"),
                          "403": _error("No manage scope"), "404": _error("No such subscription"),
                          "422": _error("no_address: an API key has no address to send a test to"),
                          "429": _error("A test was sent less than a minute ago"),
                          "502": _error("The email service refused the message")}}},
    }


def _progress() -> dict[str, Any]:
    block = {"planned": {"type": "integer", "description": "targeted"},
             "processed": {"type": "integer", "description": "sent + excluded + error"},
             "remaining": {"type": ["integer", "null"]}, "percent": {"type": ["number", "null"]},
             "rate_per_minute": {"type": "number", "description": "processed per minute over the last 5 complete minutes"},
             "status": {"type": "string", "enum": ["sending", "finished", "stalled", "idle", "unplanned"]},
             "eta_seconds": {"type": ["integer", "null"]}, "eta": {"type": ["string", "null"], "format": "date-time"}}
    return {"type": "object", "description": "channel tabs: the send's progress and ETA, with `executions` (one block "
                                             "per execution); campaign tab: `channels` (one block per channel)",
            "properties": {**block, "executions": {"type": "array", "items": {"type": "object", "properties": {
                "execution_id": {"type": ["string", "null"]}, **block}}},
                "channels": {"type": "array", "items": {"type": "object", "properties": {
                    "channel": {"type": "string"}, **block}}}}}


def _alert_paths(bearer: list[dict[str, Any]]) -> dict[str, Any]:
    rule_id = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string"}}
    alert = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}}
    return {
        "/v1/alerts": {
            "post": {"summary": "Create an alert rule (manage scope). The answer carries `webhook_secret` once.",
                     "security": bearer,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "$ref": "#/components/schemas/AlertRequest"}}}},
                     "responses": {"201": {"description": "Created, state ok", **alert},
                                   "400": _error("Body is not JSON"), "401": _error("Unauthorized"),
                                   "403": _error("No manage scope"), "409": _error("100 rules already"),
                                   "422": _error("Invalid rule: unknown metric or channel, threshold out of range...")}},
            "get": {"summary": "The workspace's alert rules with their state (read or manage scope; recipients and "
                               "webhook URLs only for manage keys)", "security": bearer,
                    "parameters": [{"name": "campaign_id", "in": "query", "required": False,
                                    "schema": {"type": "string"}, "description": "rules of this campaign and '*' rules"}],
                    "responses": {"200": {"description": "`alerts` and `can_manage`"},
                                  "401": _error("Unauthorized"), "403": _error("No read scope")}}},
        "/v1/alerts/{alert_id}": {"delete": {
            "summary": "Delete an alert rule (manage scope)", "security": bearer, "parameters": [rule_id],
            "responses": {"204": {"description": "Deleted"}, "403": _error("No manage scope"),
                          "404": _error("No such rule")}}},
        "/v1/alerts/{alert_id}/history": {"get": {
            "summary": "State changes of a rule, newest first (at most 100)", "security": bearer,
            "parameters": [rule_id],
            "responses": {"200": {"description": "`history`: at, campaign_id, from, to, value, volume, threshold, "
                                                 "delivery"}, "404": _error("No such rule")}}},
    }


def _alert_schema() -> dict[str, Any]:
    state = {"type": "string", "enum": ["ok", "firing"]}
    return {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "campaign_id": {"type": "string"},
        "channel": {"type": "string"}, "metric": {"type": "string"}, "op": {"type": ["string", "null"]},
        "threshold": {"type": ["number", "null"]}, "window_minutes": {"type": "integer"},
        "min_volume": {"type": "integer"}, "language": {"type": "string"}, "created_at": {"type": "integer"},
        "notify": {"type": "object", "description": "manage keys: emails, email_status (each address's consent, "
                                                    "RecipientStatus) and webhook_url; read keys: counts only"},
        "state": state, "since": {"type": ["integer", "null"], "description": "epoch seconds of the last change"},
        "value": {"type": ["number", "null"]}, "volume": {"type": ["integer", "null"]},
        "evaluated_at": {"type": ["integer", "null"]},
        "webhook_secret": {"type": "string", "description": "creation answer only"},
        "campaigns": {"type": "array", "items": {"type": "object", "properties": {
            "campaign_id": {"type": "string"}, "state": state, "since": {"type": ["integer", "null"]},
            "value": {"type": ["number", "null"]}, "volume": {"type": ["integer", "null"]},
            "evaluated_at": {"type": ["integer", "null"]}}}}}}


EXECUTION = {"name": "execution", "in": "query", "required": False,
             "schema": {"type": "array", "maxItems": MAX_EXECUTIONS, "items": {"type": "string", "maxLength": 128}},
             "style": "form", "explode": True,
             "description": f"One or several executions (at most {MAX_EXECUTIONS}; an empty value: events without "
                            "one); all when absent"}
FORMAT = {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["csv", "json"]},
          "description": "csv: the CSV export (as the .csv path)"}
COMPARE = {"name": "compare", "in": "query", "required": False, "schema": {"type": "string", "enum": ["previous"]},
           "description": "previous: add `previous` (totals, distinct, rates, kpis/blocks of the previous equal "
                          "period; null for a whole-life global report). Doubles the report's reads."}


def _subscription_schemas() -> dict[str, Any]:
    schemas = _model_schemas(SubscriptionRequest, Subscription)
    request = schemas.get("SubscriptionRequest", {})
    request.setdefault("properties", {})["allow_unknown_campaign"] = {
        "type": "boolean", "default": False, "writeOnly": True,
        "description": "Subscribe to a campaign that has no events yet (otherwise 422 unknown_campaign); not stored"}
    return schemas


def openapi_document() -> dict[str, Any]:
    metric_names = sorted({m for c in catalogue.CHANNELS for m in catalogue.metrics_for(c)})
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Campaign live reports API", "version": "1.0.0",
                 "description": "Ingest delivery and engagement events; read live and global campaign reports. "
                                "Counts are exact: each accepted event is counted once. Every route refuses a "
                                f"query string of more than {MAX_QUERY_VALUES} values or {MAX_QUERY_CHARS} "
                                "characters (400)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A workspace API key (scopes ingest, read, manage, admin), or a "
                                                          "signed-in user's Cognito access or ID token with "
                                                          "X-Workspace naming the workspace (docs/accounts.md)."}},
            "schemas": {
                "Event": Event.model_json_schema(),
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}}}}},
                "IngestResponse": {"type": "object", "required": ["accepted", "rejected"], "properties": {
                    "accepted": {"type": "integer"},
                    "rejected": {"type": "array", "items": {"type": "object", "properties": {
                        "index": {"type": "integer"}, "reason": {"type": "string"}}}}}},
                "BreakdownRow": _breakdown_row(),
                "GlobalReport": _global_report(),
                **_subscription_schemas(),
                **_model_schemas(Notify, AlertRequest),
                "Alert": _alert_schema(),
                **account_schemas(),
                **consent_schemas(),
                "Progress": _progress(),
                "Series": _series(),
                "LiveReport": {"type": "object", "required": ["totals", "breakdowns", "executions", "series", "rates", "window"],
                               "properties": {
                    "campaign_id": {"type": "string"}, "tab": {"type": "string", "enum": list(TABS)},
                    "window": {"type": "object", "properties": {"start": {"type": "string", "format": "date-time"},
                                                                 "end": {"type": "string", "format": "date-time"},
                                                                 "seconds": {"type": "integer"}}},
                    "has_data": {"type": "boolean"},
                    "totals": {"type": "object", "description": "every metric of the tab, 0 when none: " + ", ".join(metric_names),
                               "additionalProperties": {"type": "integer"}},
                    "distinct": {"type": "object", "description": "distinct profiles (HLL estimate, exact when small) "
                                 "per counted metric; `open` counts human openers, `open_machine` machine openers; "
                                 "events without a profile_id count by a keyed hash of the recipient address",
                                 "additionalProperties": {"type": "integer"}},
                    "distinct_combined": _COMBINED,
                    "inferred": _INFERRED,
                    "error_bound": {"type": "object", "description": "95% bounds of each distinct count",
                                    "additionalProperties": {"type": "object", "properties": {
                                        "estimate": {"type": "integer"}, "lower": {"type": "integer"}, "upper": {"type": "integer"}}}},
                    "rates": {"type": "object", "additionalProperties": {"type": ["number", "null"]},
                              "description": "null when the denominator is 0"},
                    "breakdowns": {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/BreakdownRow"}}},
                    "executions": {"type": "array", "items": {"type": "object", "properties": {
                        "execution_id": {"type": ["string", "null"]}, "totals": {"type": "object"}}}},
                    "available_executions": {"type": "array", "items": {"type": ["string", "null"]}},
                    "series": {"$ref": "#/components/schemas/Series"},
                    "progress": {"$ref": "#/components/schemas/Progress"},
                    "kpis": {"type": "object", "description": "campaign tab only: audience, action_executed, error"},
                    "read_cost": {"type": "object", "description": "queries, items and bytes read to build this report"}}},
            },
        },
        "paths": {
            "/v1/events": {"post": {
                "summary": "Ingest a batch of events", "security": bearer,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "maxLength": 255},
                                "description": "Retrying with the same key and body returns the first response and counts nothing again. "
                                               "Without it, the body's hash identifies the batch."}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["events"], "properties": {
                        "events": {"type": "array", "maxItems": MAX_EVENTS, "items": {"$ref": "#/components/schemas/Event"}}}}}},
                    "description": f"At most {MAX_EVENTS} events and {MAX_BODY_BYTES} bytes."},
                "responses": {
                    "200": {"description": "Per-event verdicts; the accepted events are durable (on the stream) and appear in reports within seconds", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResponse"}}}},
                    "400": _error("Malformed body"), "401": _error("Missing or unknown key"),
                    "403": _error("Key without the ingest scope"), "413": _error("Too many events or bytes"),
                    "422": _error("Idempotency-Key reused with another body"),
                    "503": _error("Store throttled; retry the same request after Retry-After seconds")}}},
            "/v1/campaigns": {"get": {
                "summary": "Campaigns of the workspace with their channels and last event time", "security": bearer,
                "responses": {"200": {"description": "Campaigns, most recent first"}, "401": _error("Unauthorized"), "403": _error("No read scope")}}},
            "/v1/campaigns/{campaign_id}/live": {"get": {
                "summary": "The live report (last 24 hours) of one tab", "security": bearer,
                "parameters": [
                    {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "channel", "in": "query", "required": True, "schema": {"type": "string", "enum": list(TABS)}},
                    EXECUTION,
                    {"name": "window", "in": "query", "required": False, "schema": {"type": "string", "default": "24h"},
                     "description": "1m..24h in whole minutes; charts use minute steps up to 1h, hour steps beyond"},
                    COMPARE, FORMAT],
                "responses": {"200": {"description": "The report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LiveReport"}}}},
                              "400": _error("Bad parameters"), "401": _error("Unauthorized"), "403": _error("No read scope")}}},
            "/v1/campaigns/{campaign_id}/stamp": {"get": {
                "summary": "The campaign's change stamp: poll it (every second is cheap) and fetch a report only when it moved",
                "security": bearer,
                "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "`stamp` moves with every fold that changed the campaign's counts; "
                                                     "`last_event` is when its latest event was received (epoch seconds)",
                                      "content": {"application/json": {"schema": {"type": "object", "properties": {
                                          "stamp": {"type": "string"}, "last_event": {"type": ["integer", "null"]}}}}}},
                              "400": _error("Bad campaign id"), "401": _error("Unauthorized"), "403": _error("No read scope")}}},
            **_report_paths(bearer),
            **_alert_paths(bearer),
            **webhook_paths(bearer, _error),
            **account_paths(bearer, _error),
            **experiment_paths(bearer, _error),
            **consent_paths(),
            "/v1/catalogue": {"get": {"summary": "Channels, metrics, dimensions, rates and their EN/FR labels",
                                      "responses": {"200": {"description": "The catalogue"}}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }
