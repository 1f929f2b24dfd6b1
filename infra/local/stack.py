"""Start and stop the local stack: moto server, the Chalice app, the static page.

Used by `make run` and by the browser tests, so both exercise the same thing.
"""
from __future__ import annotations

import functools
import http.server
import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
WEB_DIST = ROOT / "web" / "dist"
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Services served outside the request lock: moto's SQS guards its queues itself, and a
#: long poll (ReceiveMessage with WaitTimeSeconds) waits inside the request for a message,
#: which under the lock would stop every other request, and the sender, for the wait.
UNLOCKED_SERVICES = frozenset({"sqs"})


def request_service(environ: dict[str, Any]) -> str:
    """The AWS service a signed request is for (its SigV4 credential scope), or ""."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("AmazonSQS."):
        return "sqs"
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = authorization.partition("Credential=")[2].split(",", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else ""


class AtomicMotoServer:
    """A moto server that serves one AWS request at a time.

    DynamoDB applies each request atomically; moto does not under threads (its
    TransactWriteItems deep-copies the table and, on any error, restores that
    copy, dropping writes other threads made meanwhile). Serialising requests
    restores the real service's per-request atomicity while callers still
    interleave freely between requests. SQS requests are not serialised
    (UNLOCKED_SERVICES).
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: Any = None
        #: held while a request is served; local mode's housekeeping holds it too (streaming.py)
        self.lock = threading.Lock()

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                                   create_backend_app)

        from moto.moto_api._internal.models import moto_api_backend

        from .moto_speedups import apply
        apply()
        # moto's backends are per process: a second stack in one process (a pytest-xdist worker running the
        # browser package twice) would otherwise find the first one's table, stream and records, and count
        # what it seeds on top of them.
        moto_api_backend.reset()
        from werkzeug.serving import make_server
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_app = DomainDispatcherApplication(create_backend_app)
        lock = self.lock

        def atomic(environ: dict[str, Any], start_response: Any) -> Any:
            if request_service(environ) in UNLOCKED_SERVICES:
                return list(moto_app(environ, start_response))
            with lock:
                return list(moto_app(environ, start_response))

        self._server = make_server("127.0.0.1", self.port, atomic, threaded=True, request_handler=MotoRequestHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="moto").start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves web/dist plus a runtime config.json naming the API URL."""

    runtime_config: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] == "/config.json":
            body = json.dumps(self.runtime_config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """A browser dropping a connection mid-response is normal, not a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@dataclass
class LocalStack:
    api_port: int = 0
    web_port: int = 0
    table_name: str = "livereport-local"
    stream_name: str = "livereport-events-local"
    web_dir: Path = WEB_DIST
    moto_port: int = 0
    #: the live channel's WebSocket server (infra/local/live_socket.py); 0: a free port
    socket_port: int = 0
    socket: Any = None
    _stops: list[Callable[[], None]] = field(default_factory=list)
    moto_url: str = ""
    services: Any = None
    streaming_lines: list[str] = field(default_factory=list)
    #: the in-process moto server's request lock (None until start_moto)
    moto_lock: Any = None
    poller: Any = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/"

    def start_moto(self) -> None:
        server = AtomicMotoServer(self.moto_port)
        self.moto_url = server.start()
        self.moto_lock = server.lock
        self._stops.append(server.stop)
        os.environ.update(FAKE_AWS)
        os.environ.setdefault("LIVEREPORT_ENV", "local")  # development secrets (profile keys, links)
        os.environ["AWS_ENDPOINT_URL"] = self.moto_url
        os.environ["TABLE_NAME"] = self.table_name
        os.environ["STREAM_NAME"] = self.stream_name

    def create_table(self) -> None:
        import boto3
        sys.path.insert(0, str(FUNCTIONS))
        from chalicelib import tables
        client = boto3.client("dynamodb", region_name=FAKE_AWS["AWS_REGION"])
        if self.table_name not in client.list_tables()["TableNames"]:
            tables.create_table(client, self.table_name)
        from chalicelib.stream import create_stream
        kinesis = boto3.client("kinesis", region_name=FAKE_AWS["AWS_REGION"])
        if self.stream_name not in kinesis.list_streams()["StreamNames"]:
            from .streaming import STAGE
            create_stream(kinesis, self.stream_name, shards=STAGE.stream_shards)  # the dev stage's stream

    def start_socket(self) -> None:
        """The live channel's WebSocket server (what API Gateway's WebSocket API does in AWS)."""
        from .live_socket import LiveSocketServer
        self.socket = LiveSocketServer(self.socket_port).start()
        self.socket_port = self.socket.port
        self._stops.append(self.socket.stop)

    def start_api(self) -> None:
        if self.socket is None:
            self.start_socket()
        sys.path.insert(0, str(FUNCTIONS))
        from chalice.cli.factory import CLIFactory
        from chalice.local import create_local_server
        import app as app_module
        self.services = app_module.wired()
        config = CLIFactory(str(FUNCTIONS)).create_config_obj(chalice_stage_name="dev")
        self.api_port = self.api_port or free_port()
        from chalice.local import CustomLocalChalice
        if isinstance(app_module.app, CustomLocalChalice):  # a second stack in this process (a test worker)
            app_module.app.__class__ = CustomLocalChalice.__bases__[1]  # chalice re-bases it on the app's class
        server = create_local_server(app_module.app, config, "127.0.0.1", self.api_port)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="chalice-local")
        thread.start()
        self._stops.append(server.shutdown)
        from .streaming import start_streaming
        self.streaming_lines = start_streaming(self)  # the aggregator and rollup Lambdas, locally

    def start_web(self, extra_config: dict[str, Any] | None = None) -> bool:
        if not (self.web_dir / "index.html").exists():
            return False
        runtime = {"apiUrl": self.api_url, **({"socketUrl": self.socket.url} if self.socket else {})}
        handler = type("Handler", (_StaticHandler,), {"runtime_config": {**runtime, **(extra_config or {})}})
        self.web_port = self.web_port or free_port()
        httpd = _QuietServer(("127.0.0.1", self.web_port),
                                                functools.partial(handler, directory=str(self.web_dir)))
        threading.Thread(target=httpd.serve_forever, daemon=True, name="web").start()
        self._stops.append(httpd.shutdown)
        return True

    def start(self, web: bool = True) -> "LocalStack":
        self.start_moto()
        self.create_table()
        self.start_api()
        if web:
            self.start_web()
        return self

    def stop(self) -> None:
        """Stop everything, newest first; servers stop in parallel so SIGTERM ends within seconds."""
        while self._stops:
            step = self._stops.pop()
            started = time.monotonic()
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
            if os.environ.get("LIVEREPORT_VERBOSE") == "1":
                print(f"stopped {getattr(step, '__qualname__', step)} in {time.monotonic() - started:.2f}s", flush=True)
