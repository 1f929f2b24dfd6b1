"""API Gateway gateway responses: the API's one error shape for errors the gateway answers itself.

A request without an Authorization header, a denied authorizer, a wrong
content type or an unknown route never reaches the Lambda; API Gateway's
default bodies (`{"message": "Unauthorized"}`) would give clients a second
error shape. Every such response says `{"error": {"code", "message"}}`, with
the CORS header the browser needs to read it. Local mode does the same for
chalice local's own 401/403 (infra/local/console.py).
"""
from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigateway
from constructs import Construct

#: response type -> (status, code) of the error body
GATEWAY_RESPONSES: dict[str, tuple[str, str]] = {
    "UNAUTHORIZED": ("401", "unauthorized"),
    "MISSING_AUTHENTICATION_TOKEN": ("403", "forbidden"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type"),
    "REQUEST_TOO_LARGE": ("413", "request_too_large"),
    "THROTTLED": ("429", "throttled"),
    "DEFAULT_4XX": ("", "invalid_request"),
    "DEFAULT_5XX": ("", "unavailable"),
}


def error_template(code: str) -> str:
    """The mapping template; $context.error.messageString is already a quoted JSON string."""
    return json.dumps({"error": {"code": code, "message": "__MSG__"}}).replace('"__MSG__"', "$context.error.messageString")


def add_gateway_responses(scope: Construct, rest_api_id: str) -> list[apigateway.CfnGatewayResponse]:
    out = []
    for response_type, (status, code) in GATEWAY_RESPONSES.items():
        props = {"rest_api_id": rest_api_id, "response_type": response_type,
                 "response_parameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                                         "gatewayresponse.header.Content-Type": "'application/json'"},
                 "response_templates": {"application/json": error_template(code)}}
        if status:
            props["status_code"] = status
        out.append(apigateway.CfnGatewayResponse(scope, f"Gateway{response_type.title().replace('_', '')}", **props))
    return out
