"""The OpenAPI paths and schemas of consent (merged into openapi.py's document)."""
from __future__ import annotations

from typing import Any

from .store import STATUSES


def consent_schemas() -> dict[str, Any]:
    epoch = {"type": ["integer", "null"], "description": "epoch seconds"}
    return {
        "RecipientStatus": {"type": "object", "required": ["address", "status"], "properties": {
            "address": {"type": "string"},
            "status": {"type": "string", "enum": list(STATUSES),
                       "description": "pending: asked to confirm (nothing is sent); confirmed: a member of the "
                                      "workspace, or said yes; unsubscribed: left, or said no"},
            "requested_at": {**epoch, "description": "when the confirmation request went out"},
            "confirmed_at": epoch, "unsubscribed_at": epoch,
            "note": {"type": "string", "description": "why a pending address has no request yet (quota, send errors)"}}},
        "EmailQuota": {"type": "object", "properties": {
            "limit": {"type": "integer", "description": "emails per UTC day (EMAIL_DAILY_QUOTA)"},
            "used": {"type": "integer"}, "remaining": {"type": "integer"}, "day": {"type": "string"},
            "resets_at": {"type": "string", "format": "date-time"}}},
    }


def consent_paths() -> dict[str, Any]:
    token = [{"name": "token", "in": "query", "required": True, "schema": {"type": "string"},
              "description": "the signed link's token (v2: expires; unsubscribe 180 days, confirm 30 days)"}]
    html = {"description": "An HTML page (the question, or what was done)", "content": {"text/html": {}}}
    refused = {"400": {"description": "Invalid, altered or misused link (an HTML page)"},
               "410": {"description": "Expired link (an HTML page)"}}

    def ops(what: str, post: str) -> dict[str, Any]:
        return {"get": {"summary": f"{what}: the page with the question (changes nothing)", "parameters": token,
                        "responses": {"200": html, **refused}},
                "head": {"summary": f"{what}: as GET, no body (changes nothing)", "parameters": token,
                         "responses": {"200": {"description": "The page's status"}, **refused}},
                "post": {"summary": post, "parameters": token,
                         "requestBody": {"required": False, "content": {
                             "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                                 "answer": {"type": "string"},
                                 "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}}}}}},
                         "responses": {"200": html, **refused}}}
    return {
        "/v1/unsubscribe": ops("Unsubscribe one address from a subscription or an alert rule (the emails' link)",
                               "Unsubscribe: RFC 8058 one-click (List-Unsubscribe=One-Click) or the page's button"),
        "/v1/consent": ops("Confirm receiving a workspace's emails (the confirmation request's link)",
                           "answer=yes confirms; answer=no declines and stops this workspace asking again"),
    }
