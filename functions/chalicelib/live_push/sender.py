"""Posting to live connections through API Gateway's management API
(``apigatewaymanagementapi``: POST/DELETE ``@connections/{id}``).

In AWS the endpoint is ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``
(the stack gives it to the aggregator as LIVE_SOCKET_ENDPOINT; the socket
handlers read it from their own event); local mode's socket server serves the
same two calls (infra/local/live_socket.py). Timeouts are short and there is no
retry: a notification is best effort, the page's safety poll covers a miss.
"""
from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

#: one attempt, short timeouts: a slow connection must not hold a fold
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"},
                       max_pool_connections=16)


class Gone(Exception):
    """The connection is closed (API Gateway's GoneException, HTTP 410)."""


class SendFailed(Exception):
    """The post failed for another reason (throttled, timeout, endpoint down)."""


class Sender:
    def __init__(self, endpoint: str, region: str, client: Any | None = None) -> None:
        self.endpoint = endpoint
        self._client = client or boto3.client("apigatewaymanagementapi", endpoint_url=endpoint,
                                              region_name=region, config=CLIENT_CONFIG)

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if _gone(exc):
                raise Gone(connection_id) from None
            raise SendFailed(str(exc)[:300]) from None
        except BotoCoreError as exc:
            raise SendFailed(str(exc)[:300]) from None

    def close(self, connection_id: str) -> None:
        """Close a connection (a refused authorisation); one already gone is fine."""
        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if not _gone(exc):
                raise SendFailed(str(exc)[:300]) from None
        except BotoCoreError as exc:
            raise SendFailed(str(exc)[:300]) from None


def _gone(exc: ClientError) -> bool:
    return (exc.response.get("Error", {}).get("Code") == "GoneException"
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410)


_senders: dict[tuple[str, str], Sender] = {}
_lock = threading.Lock()


def sender_for(endpoint: str, region: str) -> Sender:
    """One client per endpoint and process (a Lambda container reuses its connections)."""
    with _lock:
        if (endpoint, region) not in _senders:
            _senders[(endpoint, region)] = Sender(endpoint, region)
        return _senders[(endpoint, region)]
