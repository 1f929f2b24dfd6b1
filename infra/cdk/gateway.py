"""The API's edge: gateway responses (one error shape), stage throttling per
method group, and the optional WAF web ACL (per-IP rate limits).

Gateway responses: the API's one error shape for errors the gateway answers itself.

A request without an Authorization header, a denied authorizer, a wrong
content type or an unknown route never reaches the Lambda; API Gateway's
default bodies (`{"message": "Unauthorized"}`) would give clients a second
error shape. Every such response says `{"error": {"code", "message"}}`, with
the CORS header the browser needs to read it. Local mode does the same for
chalice local's own 401/403 (infra/local/console.py).
"""
from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Aws, Validations, aws_apigateway as apigateway, aws_wafv2 as wafv2
from constructs import Construct

from infra.cdk.config import StageSettings

#: response type -> (status, code) of the error body
GATEWAY_RESPONSES: dict[str, tuple[str, str]] = {
    "UNAUTHORIZED": ("401", "unauthorized"),
    "MISSING_AUTHENTICATION_TOKEN": ("403", "forbidden"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type"),
    "REQUEST_TOO_LARGE": ("413", "request_too_large"),
    "THROTTLED": ("429", "throttled"),
    "QUOTA_EXCEEDED": ("429", "throttled"),
    "WAF_FILTERED": ("403", "forbidden"),
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
        if status == "429":  # a client that honours Retry-After backs off by itself
            props["response_parameters"]["gatewayresponse.header.Retry-After"] = "'1'"
        out.append(apigateway.CfnGatewayResponse(scope, f"Gateway{response_type.title().replace('_', '')}", **props))
    return out


# --- throttling ----------------------------------------------------------------

#: Methods with their own limits (stage-wide for all clients; docs/deploy.md
#: "Limits"): the group's (rate, burst) comes from StageSettings.throttle.
#: Every other method gets the "default" group's.
THROTTLED_METHODS: dict[tuple[str, str], str] = {
    ("/v1/events", "POST"): "ingest",
    ("/v1/webhooks/{platform}/{source_id}", "POST"): "webhook",
    ("/v1/campaigns/{campaign_id}/live", "GET"): "report",
    ("/v1/campaigns/{campaign_id}/live.csv", "GET"): "report",
    ("/v1/campaigns/{campaign_id}/report", "GET"): "report",
    ("/v1/campaigns/{campaign_id}/report.csv", "GET"): "report",
    ("/v1/campaigns/{campaign_id}/stamp", "GET"): "stamp",
}


def method_settings(settings: StageSettings, paths: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage's MethodSettings: "/*" "*" for the default group, then one per
    throttled method. A listed route missing from the API stops the synth
    (a renamed route must not silently lose its limit)."""
    rate, burst = settings.throttle("default")
    out = [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}]
    for (path, method), group in THROTTLED_METHODS.items():
        if method.lower() not in paths.get(path, {}):
            raise ValueError(f"{method} {path} is throttled in infra/cdk/gateway.py but not a route of app.py")
        rate, burst = settings.throttle(group)
        # MethodSettings name a resource by its path with "/" written "~1".
        out.append({"ResourcePath": "/" + path.replace("/", "~1"), "HttpMethod": method,
                    "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst})
    return out


def throttle_methods(rest_api: Any, settings: StageSettings, paths: dict[str, Any]) -> None:
    """Stage throttling on Chalice's AWS::Serverless::Api (SAM passes
    MethodSettings to the stage it creates). Past a limit API Gateway answers
    429 itself (GATEWAY_RESPONSES: the product's error shape, Retry-After),
    without invoking the handler."""
    rest_api.add_property_override("MethodSettings", method_settings(settings, paths))


# --- WAF (optional: -c waf=true) ---------------------------------------------------------

THROTTLED_BODY = json.dumps({"error": {"code": "throttled",
                                       "message": "too many requests from this address; retry in a few minutes"}})


class RateLimitAcl(Construct):
    """A regional web ACL on the API stage: two rate-based rules per client IP
    over 5-minute windows, reads (GET) and writes (everything else), which
    answer 429 with the product's error body. Where stage throttling caps
    everyone together, this stops one address from using the whole budget."""

    def __init__(self, scope: Construct, construct_id: str, settings: StageSettings, rest_api_id: str) -> None:
        super().__init__(scope, construct_id)
        name = f"{settings.stack_name}-api"

        def visibility(metric: str) -> dict[str, Any]:
            return {"cloudWatchMetricsEnabled": True, "metricName": metric, "sampledRequestsEnabled": True}

        def get_requests() -> dict[str, Any]:
            return {"byteMatchStatement": {"fieldToMatch": {"method": {}}, "positionalConstraint": "EXACTLY",
                                           "searchString": "GET",
                                           "textTransformations": [{"priority": 0, "type": "NONE"}]}}

        def rule(rule_name: str, priority: int, limit: int, scope_down: dict[str, Any]) -> dict[str, Any]:
            return {"name": rule_name, "priority": priority, "visibilityConfig": visibility(f"{name}-{rule_name}"),
                    "statement": {"rateBasedStatement": {"limit": limit, "aggregateKeyType": "IP",
                                                         "evaluationWindowSec": 300,
                                                         "scopeDownStatement": scope_down}},
                    "action": {"block": {"customResponse": {"responseCode": 429,
                                                            "customResponseBodyKey": "throttled"}}}}

        self.acl = wafv2.CfnWebACL(
            self, "Acl", name=name, scope="REGIONAL", default_action={"allow": {}},
            description=f"livereport {settings.stage}: per-IP rate limits on the API",
            visibility_config=visibility(name),
            custom_response_bodies={"throttled": {"contentType": "APPLICATION_JSON", "content": THROTTLED_BODY}},
            rules=[rule("ReadsPerIp", 0, settings.waf_read_limit, get_requests()),
                   rule("WritesPerIp", 1, settings.waf_write_limit, {"notStatement": {"statement": get_requests()}})])
        stage_arn = (f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/restapis/{rest_api_id}"
                     f"/stages/{settings.api_gateway_stage}")
        association = wafv2.CfnWebACLAssociation(self, "Association", resource_arn=stage_arn,
                                                 web_acl_arn=self.acl.attr_arn)
        # The stage SAM creates from RestAPI (logical id: API + stage name + "Stage"),
        # which the CDK's pre-transform validation cannot see.
        association.add_override("DependsOn", [f"RestAPI{settings.api_gateway_stage}Stage"])
        Validations.of(association).acknowledge(Acknowledgment(
            id="CloudFormation-Validate::E3005",
            reason="RestAPI<stage>Stage is created by the SAM transform at deploy time (checked after the "
                   "transform in tests/test_infra.py)"))
