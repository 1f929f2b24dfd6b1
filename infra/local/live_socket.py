"""Local mode's WebSocket API: what API Gateway does for the live channel in AWS.

`chalice local` serves HTTP only, so this small server (the `websockets`
package) stands beside it:

- it accepts page connections on ``ws://127.0.0.1:{port}`` and hands each
  handshake, message and close to the app's own handlers (``app.live_connect``,
  ``live_message``, ``live_disconnect``) as API Gateway-shaped events, in order
  per connection; a $connect answered with a non-200 status refuses the handshake
  with that status, as API Gateway does;
- it serves the management API those handlers and the aggregator post to
  (``POST``/``DELETE``/``GET /@connections/{id}``, on its own loopback port: the
  ``apigatewaymanagementapi`` endpoint, LIVE_SOCKET_ENDPOINT), answering 410
  GoneException for a connection that is closed, as API Gateway does.

So `make run` behaves like a stage, and the browser tests exercise the same code.
"""
from __future__ import annotations

import asyncio
import base64
import http.server
import importlib
import json
import os
import secrets
import threading
import time
import urllib.parse
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

#: API Gateway's limits: 128 KB a message; idle connections close after 10 minutes
MAX_MESSAGE_BYTES = 128 * 1024
ENDPOINT_VARIABLE = "LIVE_SOCKET_ENDPOINT"


class LiveSocketServer:
    def __init__(self, port: int = 0, stage: str = "local", host: str = "127.0.0.1") -> None:
        self.host, self.port, self.stage = host, port, stage
        self.mgmt_port = 0
        self.connections: dict[str, ServerConnection] = {}
        self._ids: dict[int, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._mgmt: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.mgmt_port}"

    # --- lifecycle ---

    def start(self) -> "LiveSocketServer":
        """Listen (the management endpoint first, so LIVE_SOCKET_ENDPOINT is set before any fold)."""
        if self._mgmt is None:
            self._mgmt = _ManagementServer((self.host, self.mgmt_port), _management_handler(self))
            self.mgmt_port = self._mgmt.server_address[1]
            threading.Thread(target=self._mgmt.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                             name="live-socket-mgmt").start()
        os.environ[ENDPOINT_VARIABLE] = self.endpoint
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(self._listen())
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="live-socket")
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self, keep_endpoint: bool = False) -> None:
        """Close every connection (1001 going away) and stop listening; `keep_endpoint`: the management
        endpoint stays up (answering Gone), as API Gateway's would while the pages reconnect."""
        loop = self._loop
        if loop is not None and self._server is not None:
            async def shutdown() -> None:
                self._server.close(close_connections=True)
                await self._server.wait_closed()
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._loop = self._server = None
        if not keep_endpoint and self._mgmt is not None:
            self._mgmt.shutdown()
            self._mgmt.server_close()
            self._mgmt = None
            if os.environ.get(ENDPOINT_VARIABLE) == self.endpoint:
                os.environ.pop(ENDPOINT_VARIABLE, None)

    # --- the WebSocket side ---

    async def _listen(self) -> Any:
        return await serve(self._session, self.host, self.port, process_request=self._handshake,
                           max_size=MAX_MESSAGE_BYTES, ping_interval=None)

    async def _handshake(self, connection: ServerConnection, request: Any) -> Any:
        cid = base64.b64encode(secrets.token_bytes(9)).decode()  # API Gateway's ids look like this
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        event = self._event(cid, "$connect", "CONNECT", connection)
        event["queryStringParameters"] = query or None
        event["headers"] = dict(request.headers.raw_items())
        answer = await asyncio.to_thread(_handler("live_connect"), event, None)
        status = int((answer or {}).get("statusCode", 200))
        if status != 200:
            return connection.respond(status, str((answer or {}).get("body") or "refused") + "\n")
        self._ids[id(connection)] = cid
        self.connections[cid] = connection
        return None

    async def _session(self, connection: ServerConnection) -> None:
        cid = self._ids.pop(id(connection))
        code, reason = 1005, ""
        try:
            async for data in connection:
                event = self._event(cid, "$default", "MESSAGE", connection)
                event["body"] = data if isinstance(data, str) else data.decode("utf-8", "replace")
                await asyncio.to_thread(_handler("live_message"), event, None)
        except ConnectionClosed:
            pass
        finally:
            self.connections.pop(cid, None)
            received = getattr(connection.protocol, "close_rcvd", None)
            if received is not None:
                code, reason = received.code, received.reason
            event = self._event(cid, "$disconnect", "DISCONNECT", connection)
            event["requestContext"].update({"disconnectStatusCode": code, "disconnectReason": reason})
            await asyncio.to_thread(_handler("live_disconnect"), event, None)

    def _event(self, cid: str, route: str, kind: str, connection: ServerConnection) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"requestContext": {
            "routeKey": route, "eventType": kind, "messageDirection": "IN", "connectionId": cid,
            "apiId": "local", "stage": self.stage, "domainName": f"{self.host}:{self.port}",
            "requestId": secrets.token_hex(8), "requestTimeEpoch": now, "connectedAt": now,
            "identity": {"sourceIp": str((connection.remote_address or ("127.0.0.1",))[0])}},
            "isBase64Encoded": False}

    # --- the management API (called from other threads) ---

    def post(self, cid: str, data: bytes) -> bool:
        connection, loop = self.connections.get(cid), self._loop
        if connection is None or loop is None:
            return False
        try:
            asyncio.run_coroutine_threadsafe(connection.send(data.decode("utf-8", "replace")), loop).result(2)
        except Exception:  # noqa: BLE001 - closed meanwhile: Gone
            return False
        return True

    def close(self, cid: str) -> bool:
        connection, loop = self.connections.get(cid), self._loop
        if connection is None or loop is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.close(1008, "refused"), loop)
        return True


def _handler(name: str) -> Any:
    return getattr(importlib.import_module("app"), name)


class _ManagementServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _management_handler(server: LiveSocketServer) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _cid(self) -> str | None:
            path = urllib.parse.urlsplit(self.path).path
            marker = "/@connections/"
            if marker not in path:
                return None
            return urllib.parse.unquote(path.split(marker, 1)[1])

        def _answer(self, status: int, body: dict[str, Any] | None = None, error: str = "") -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _gone(self) -> None:
            self._answer(410, {"message": "the connection is gone"}, "GoneException")

        def do_POST(self) -> None:  # noqa: N802
            cid = self._cid()
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if cid is None:
                self._answer(404, {"message": "not found"}, "NotFoundException")
            elif server.post(cid, data):
                self._answer(200)
            else:
                self._gone()

        def do_DELETE(self) -> None:  # noqa: N802
            cid = self._cid()
            if cid is not None and server.close(cid):
                self._answer(204)
            else:
                self._gone()

        def do_GET(self) -> None:  # noqa: N802
            cid = self._cid()
            if cid is None or cid not in server.connections:
                self._gone()
                return
            self._answer(200, {"connectedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "identity": {"sourceIp": "127.0.0.1"}})

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
