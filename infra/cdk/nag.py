"""cdk-nag's AWS Solutions rules on every synth (``make synth``, ``make
deploy``, the tests): a finding fails the synth unless it is fixed or
acknowledged below, each with the reason it does not apply.

cdk-nag inspects the CDK's own constructs. The resources Chalice packages
(AWS::Serverless::Function and ::Api, included as SAM) are outside its
rules; tests/test_infra.py checks those (roles, timeouts, throttling,
authorizer).
"""
from __future__ import annotations

from typing import Any

#: (construct path under the stack, rule) -> why the finding does not apply.
ACKNOWLEDGED: dict[tuple[str, str], str] = {
    ("UnsubscribeSecret", "AwsSolutions-SMG4"):
        "Unsubscribe links never expire (an email can sit in an inbox for years) and are signed with this "
        "secret: rotating it on a schedule would break every link already sent. Rotate by hand after a leak "
        "(docs/deploy.md).",
    ("ProfileKeySecret", "AwsSolutions-SMG4"):
        "Profile keys must stay the same for a campaign's whole life: a rotated key makes every person seen "
        "before and after count twice in distinct counts.",
    ("AggregatorFailures", "AwsSolutions-SQS3"):
        "This queue is itself a dead-letter store: the aggregator's on-failure destination, which receives "
        "batch metadata to recover by hand and is never consumed automatically.",
    ("Users/Pool", "AwsSolutions-COG2"):
        "MFA is optional (TOTP) so an invited marketer can sign in before enrolling a device; threat "
        "protection (audit in dev, enforced in prod) scores every sign-in.",
    ("SiteBucket", "AwsSolutions-S1"):
        "The bucket holds the dashboard's static build, identical for everyone and readable only by the "
        "distribution (origin access control); no user data lives here.",
    ("Site", "AwsSolutions-CFR1"):
        "Marketers sign in from anywhere; the page holds no data until the API authorizes them.",
    ("Site", "AwsSolutions-CFR2"):
        "The distribution serves static files only; the optional web ACL (-c waf=true) protects the API, "
        "where the data and the costs are.",
    ("Site", "AwsSolutions-CFR3"):
        "Access logs of public static files have no security use here; the API's requests are logged by "
        "the functions and metered by API Gateway.",
    ("Site", "AwsSolutions-CFR4"):
        "The default *.cloudfront.net certificate fixes the viewer TLS policy; a custom domain with its "
        "certificate (minimum_protocol_version TLSv1.2_2021) is the way to raise it.",
    # The live channel (infra/cdk/live.py): a WebSocket API Chalice packages.
    **{(f"Api/ChaliceApp/Websocket{route}Route", "AwsSolutions-APIG4"):
       "A browser cannot send headers with a WebSocket handshake, and the page sends its credential in its "
       "first message (never in a URL): the $connect and message handlers authorise with the REST API's own "
       "rules (keys, Cognito tokens, workspace, read scope) and record nothing for an unauthorised connection."
       for route in ("Connect", "Message", "Disconnect")},
    ("Api/ChaliceApp/WebsocketAPIStage", "AwsSolutions-APIG1"):
        "The handlers log every refusal and the aggregator counts every notification (metrics, an alarm); "
        "access logs would need the account-wide API Gateway CloudWatch role, which the REST stage does "
        "without too.",
    **{(f"Roles/{role}", "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                         "<AWS::AccountId>:<WebsocketAPI>/api/*/@connections/*]"):
       "Connection ids are made by API Gateway at run time; the grant is ManageConnections on this stage's "
       "connections only (infra/cdk/permissions.py)."
       for role in ("AggregatorRole", "LiveSocketsRole")},
}


def add_checks(app: Any, stacks: dict[str, Any]) -> bool:
    """AWS Solutions checks on the app, acknowledgements on the stacks'
    constructs. False when cdk-nag is not installed (dev extras)."""
    try:
        from cdk_nag import AwsSolutionsChecks
    except ImportError:
        return False
    from aws_cdk import Acknowledgment, Validations
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    for stack in stacks.values():
        for (path, rule), reason in ACKNOWLEDGED.items():
            construct = stack.node.try_find_child(path.split("/")[0])
            for part in path.split("/")[1:]:
                construct = construct.node.try_find_child(part) if construct is not None else None
            if construct is None:
                raise ValueError(f"cdk-nag acknowledgement for {path}: no such construct in the stack")
            Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))
    return True
