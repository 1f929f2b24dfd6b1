"""The live channel's three routes ($connect, messages, $disconnect), as plain
functions of API Gateway WebSocket events (app.py wires them; local mode's
socket server calls the same handlers with events of the same shape).

Authorisation is the REST API's: the caller's key or Cognito token resolves to
the same authorizer context (app.py's `caller_context`), checked with the same
rules (`principal_of`: the workspace, the `read` scope). The token comes in the
query string (`?token=…&workspace=…`, checked at $connect: a refusal is a 401/403
handshake) or in the first message (`{"action": "auth", "token": …}`: the page's
way, no credential in any URL). It is never logged.

Messages, client → server (JSON):
  {"action": "auth", "token": "…", "workspace": "…"}         (re)authorise; the page repeats it every few minutes
  {"action": "subscribe", "campaigns": ["…"], ["token", "workspace"]}   the campaigns to follow (replaces the set)
  {"action": "ping"}
server → client:
  {"type": "ready", "workspace": "…", "expires_in": s}   {"type": "subscribed", "campaigns": […]}
  {"type": "pong"}   {"type": "error", "code": "…", "message": "…"}   (401/403 errors close the connection)
  {"type": "changed", "campaign": "…", "stamp": "…", "minutes": […]}  (notifier.py)
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import ApiError
from ..events import ID_PATTERN
from ..http import principal_of
from .connections import Connection, ConnectionStore, LimitReached
from .sender import Gone, SendFailed, Sender, sender_for

logger = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 16 * 1024
_ID = re.compile(ID_PATTERN)

#: a bearer token -> the authorizer context the REST API's authorizer would give it (None: unknown)
Resolve = Callable[[str], Mapping[str, str] | None]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class SocketHandlers:
    connections: ConnectionStore
    resolve: Resolve
    region: str
    #: the management endpoint; empty: the event's own (https://{domainName}/{stage}, as in AWS)
    endpoint: str = ""

    # --- routes ---

    def connect(self, event: Mapping[str, Any]) -> dict[str, Any]:
        cid = _connection_id(event)
        query = event.get("queryStringParameters") or {}
        token = str(query.get("token") or "")
        if not token:
            return {"statusCode": 200}  # authorises with its first message
        try:
            self._authorise(cid, token, str(query.get("workspace") or ""))
        except Refused as exc:
            logger.info("live connection refused", extra={"status": exc.status, "code": exc.code})
            return {"statusCode": exc.status, "body": json.dumps({"error": {"code": exc.code, "message": exc.message}})}
        return {"statusCode": 200}

    def message(self, event: Mapping[str, Any]) -> dict[str, Any]:
        cid = _connection_id(event)
        sender = self._sender(event)
        try:
            reply = self._handle(cid, event.get("body"))
        except Refused as exc:
            self._reply(sender, cid, {"type": "error", "code": exc.code, "message": exc.message})
            if exc.status in (401, 403):
                try:
                    sender.close(cid)
                except SendFailed:
                    logger.warning("refused live connection not closed", exc_info=True)
                self.connections.remove(cid)
            return {"statusCode": 200}
        self._reply(sender, cid, reply)
        return {"statusCode": 200}

    def disconnect(self, event: Mapping[str, Any]) -> dict[str, Any]:
        self.connections.remove(_connection_id(event))
        return {"statusCode": 200}

    # --- messages ---

    def _handle(self, cid: str, body: Any) -> dict[str, Any]:
        doc = _parse(body)
        action = doc.get("action")
        if action == "ping":
            return {"type": "pong"}
        if action not in ("auth", "subscribe"):
            raise Refused(400, "invalid_request", "action: one of auth, subscribe, ping")
        token = doc.get("token")
        if token is not None:
            if not isinstance(token, str) or not token:
                raise Refused(401, "unauthorized", "token: a non-empty string")
            workspace = doc.get("workspace") or ""
            if not isinstance(workspace, str):
                raise Refused(400, "invalid_request", "workspace: a string")
            connection = self._authorise(cid, token, workspace)
        else:
            connection = self.connections.get(cid)
            if connection is None:
                raise Refused(401, "unauthorized", "authorise first: {\"action\": \"auth\", \"token\": …}")
        if action == "auth":
            return {"type": "ready", "workspace": connection.workspace,
                    "expires_in": self.connections.limits.auth_seconds}
        campaigns = doc.get("campaigns")
        if not isinstance(campaigns, list) or not all(isinstance(c, str) and _ID.match(c) for c in campaigns):
            raise Refused(400, "invalid_request", "campaigns: a list of campaign ids")
        try:
            connection = self.connections.subscribe(connection, campaigns)
        except LimitReached as exc:
            raise Refused(429, "limit_reached", str(exc)) from None
        return {"type": "subscribed", "campaigns": sorted(connection.campaigns)}

    def _authorise(self, cid: str, token: str, workspace: str) -> Connection:
        context = self.resolve(token.strip())
        if context is None:
            raise Refused(401, "unauthorized", "missing or unknown API key or token")
        try:
            principal = principal_of(context, "read", workspace or None)
        except ApiError as exc:
            raise Refused(exc.status, exc.code, exc.message) from None
        try:
            return self.connections.authorise(cid, principal.workspace, principal.key_id)
        except LimitReached as exc:
            raise Refused(429, "limit_reached", str(exc)) from None

    # --- replies ---

    def _sender(self, event: Mapping[str, Any]) -> Sender:
        context = event.get("requestContext") or {}
        endpoint = self.endpoint or f"https://{context.get('domainName')}/{context.get('stage')}"
        return sender_for(endpoint, self.region)

    def _reply(self, sender: Sender, cid: str, doc: dict[str, Any]) -> None:
        try:
            sender.post(cid, json.dumps(doc, separators=(",", ":")).encode())
        except Gone:
            self.connections.remove(cid)
        except SendFailed:
            logger.warning("live reply failed", exc_info=True)


def _connection_id(event: Mapping[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("connectionId") or "")


def _parse(body: Any) -> dict[str, Any]:
    if not isinstance(body, str) or len(body.encode()) > MAX_MESSAGE_BYTES:
        raise Refused(400, "invalid_request", f"a message is a JSON object of at most {MAX_MESSAGE_BYTES} bytes")
    try:
        doc = json.loads(body)
    except ValueError:
        raise Refused(400, "invalid_request", "a message is a JSON object") from None
    if not isinstance(doc, dict):
        raise Refused(400, "invalid_request", "a message is a JSON object")
    return doc


def endpoint_from_env(env: Mapping[str, str] = os.environ) -> str:
    """LIVE_SOCKET_ENDPOINT: the management endpoint (the aggregator's; local mode's server)."""
    return env.get("LIVE_SOCKET_ENDPOINT", "").rstrip("/")
