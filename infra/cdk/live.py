"""The live channel in AWS (chalicelib/live_push, docs/design.md "Freshness").

Chalice packages the WebSocket API itself from app.py's `on_ws_connect`,
`on_ws_message` and `on_ws_disconnect` (an AWS::ApiGatewayV2 API, its three
routes and Lambda integrations, a deployment and a stage, functions
WebsocketConnect/Message/Disconnect). This module adds what a stage needs on top:

- the stage's throttling (context socket_rate/socket_burst: connects and messages together);
- the management endpoint in the aggregator's environment (LIVE_SOCKET_ENDPOINT: it posts
  after each fold); the socket handlers derive it from their own event;
- `execute-api:ManageConnections` on this API's stage only (the permission model's
  SOCKET_API, granted to the aggregator and the socket handlers: infra/cdk/permissions.py);
- an alarm on failed notifications, and the socket URL among the outputs (socketUrl
  in the site's config.json).
"""
from __future__ import annotations

from typing import Any, Callable

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from infra.cdk import permissions

API = "WebsocketAPI"
STAGE = "WebsocketAPIStage"
FUNCTIONS = ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")
#: each handler reads or writes a few items and may post one reply
HANDLER_TIMEOUT_S = 10
ENDPOINT_VARIABLE = "LIVE_SOCKET_ENDPOINT"


class LiveChannel:
    def __init__(self, stack: Any) -> None:
        """`stack` is the LiveReportStack, its Chalice app packaged."""
        self.stack = stack
        template = stack.sam_template()["Resources"]
        missing = {API, STAGE, *FUNCTIONS} - set(template)
        if missing:
            raise ValueError(f"the Chalice template lacks {sorted(missing)}: functions/app.py must define "
                             "the live channel's on_ws_connect/on_ws_message/on_ws_disconnect handlers")
        self.stage_name = template[STAGE]["Properties"]["StageName"]
        self.api_id = stack.chalice.get_resource(API).ref
        self.domain = f"{self.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.origin = f"wss://{self.domain}"
        self.url = f"{self.origin}/{self.stage_name}"
        self.endpoint = f"https://{self.domain}/{self.stage_name}"

    def connections_arn(self) -> str:
        """Where ManageConnections applies: this API's stage, every connection."""
        return self.stack.format_arn(service="execute-api", resource=self.api_id,
                                     resource_name=f"{self.stage_name}/*/@connections/*")

    def wire(self) -> None:
        s = self.stack.settings
        rate, burst = s.throttle("socket")
        stage = self.stack.chalice.get_resource(STAGE)
        stage.add_property_override("DefaultRouteSettings", {"ThrottlingRateLimit": rate,
                                                             "ThrottlingBurstLimit": burst})
        self.stack.chalice.get_resource(API).add_property_override("Name", f"{s.stack_name}-live")
        for name in FUNCTIONS:
            self.stack.chalice.get_resource(name).add_property_override("Timeout", HANDLER_TIMEOUT_S)
        for name in self.stack.functions_granted(permissions.SOCKET_API):
            if name not in FUNCTIONS:  # the aggregator: no event to read the endpoint from
                self.stack.chalice.add_environment_variable(ENDPOINT_VARIABLE, self.endpoint, name)

    def alarms(self, alarm: Callable[..., None], app_dims: dict[str, str]) -> None:
        five_minutes = Duration.minutes(5)
        alarm("LiveNotifyFailed", cloudwatch.Metric(
            namespace="LiveReport", metric_name="LiveNotifyFailed", dimensions_map=app_dims,
            statistic="Sum", period=five_minutes),
              10, "Live notifications failing after folds (10+ in 5 minutes, 3 periods): pages fall back to "
                  "their safety poll (slower updates, counts unaffected); look at the aggregator's logs", periods=3)
