"""The OpenAPI paths of sources and platform webhooks (merged into openapi.py's document)."""
from __future__ import annotations

from typing import Any, Callable

from .sources import CHANNELS, PLATFORMS


def webhook_paths(bearer: list[dict[str, Any]], error: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    source = {"type": "object", "properties": {
        "id": {"type": "string"}, "platform": {"type": "string", "enum": list(PLATFORMS)},
        "channel": {"type": "string"}, "default_campaign": {"type": "string"}, "label": {"type": "string"},
        "created_at": {"type": "integer"}, "topic_arns": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string", "description": "paste this into the platform: POST /v1/webhooks/{platform}/{id}"}}}
    request = {"type": "object", "required": ["platform", "credentials"], "properties": {
        "platform": {"type": "string", "enum": list(PLATFORMS)},
        "channel": {"type": "string", "description": ", ".join(f"{p}: {'/'.join(c)}" for p, c in CHANNELS.items())},
        "default_campaign": {"type": "string", "default": "unattributed",
                             "description": "campaign of events whose message carries no campaign_id"},
        "label": {"type": "string", "maxLength": 100},
        "credentials": {"type": "object", "description": (
            "ses: {topic_arns: [...]}; sendgrid: {public_key: base64 DER or PEM}; mailgun: {signing_key}; "
            "twilio: {auth_token}; postmark: {username, password}. Stored, never returned or logged.")}}}
    manage = {"401": error("Unauthorized"), "403": error("No manage scope")}
    return {
        "/v1/sources": {
            "post": {"summary": "Register a sending platform's webhook source (scope manage)", "security": bearer,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
                     "responses": {"201": {"description": "Created; url is the webhook URL to paste",
                                           "content": {"application/json": {"schema": source}}},
                                   "400": error("Body is not a JSON object"), "409": error("Too many sources"),
                                   "422": error("Invalid platform, channel, campaign or credentials"), **manage}},
            "get": {"summary": "The workspace's sources, without credentials (scope manage), each with its health: "
                               "requests, last_received_at, accepted_requests, events_accepted, events_rejected, "
                               "redeliveries, refused by reason (bad_signature, stale_timestamp, replay, malformed), "
                               "last_outcome, unmapped event types, tests_sent", "security": bearer,
                    "responses": {"200": {"description": "{sources: [...]}"}, **manage}}},
        "/v1/sources/{source_id}/test": {"post": {
            "summary": "Send a signed sample event (campaign webhook-test) to the source through the real "
                       "verification path; counted and shown in its health (mailgun, twilio, postmark)",
            "security": bearer,
            "parameters": [{"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "{ok: true, accepted, campaign_id} or, when the stored credentials "
                                                 "do not verify, {ok: false, status, reason, message}"},
                          "404": error("No such source in this workspace"),
                          "422": error("not_testable: SES and SendGrid sign with their own keys; use their test"),
                          **manage}}},
        "/v1/sources/{source_id}": {"delete": {
            "summary": "Delete a source: its webhook URL answers 404 from then on", "security": bearer,
            "parameters": [{"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Deleted"}, "404": error("No such source"), **manage}}},
        "/v1/webhooks/{platform}/{source_id}": {"post": {
            "summary": "A sending platform's own webhook (no API key: the platform's signature authenticates, "
                       "the source decides the workspace). See docs/webhooks.md.",
            "parameters": [{"name": "platform", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(PLATFORMS)}},
                           {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {t: {} for t in (
                "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data")}},
            "responses": {"200": {"description": "Durable: accepted, rejected (with reasons) and unmapped counts; "
                                                 "a redelivery replays the first answer (Idempotent-Replay: true)"},
                          "400": error("Body the platform module cannot parse"),
                          "401": error("Signature, token, topic or basic auth not valid: nothing stored"),
                          "404": error("No such source for this platform"),
                          "503": error("Transient: the platform retries")}}},
    }
