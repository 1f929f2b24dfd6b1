"""infra/cdk: synthesize both stages offline (no credentials, no CDK CLI) and
check the security- and data-relevant properties of the templates, then lint
them with cfn-lint.

One synthesis per session (module fixture): chalice.cdk packages the app
(reusing the dependency zip Chalice caches under functions/.chalice/deployments),
the CDK writes the templates to a temporary directory.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("aws_cdk", reason="CDK synthesis needs the dev extras (aws-cdk-lib)")

from chalicelib import tables  # noqa: E402
from infra.cdk.config import chalice_config, settings_for  # noqa: E402

STAGES = ("dev", "prod")
CONTEXT = {"sender": "reports@example.com"}
#: Actions AWS only authorises on "*"; none is used today (Powertools Metrics
#: emit EMF through the logs), each must carry a condition if ever added.
WILDCARD_ONLY_ACTIONS = {"cloudwatch:PutMetricData": "cloudwatch:namespace"}
#: Metric names app.py emits (Powertools Metrics, namespace LiveReport): literal
#: add_metric(name="...") calls, and the aggregator's ("Name", stats.field) pairs.
_APP_SOURCE = (ROOT / "functions" / "app.py").read_text()
APP_METRICS = set(re.findall(r'add_metric\(name="([A-Za-z]+)"', _APP_SOURCE)) | set(
    re.findall(r'\("([A-Z][A-Za-z]+)",\s*stats\.', _APP_SOURCE)) | set(  # the live channel's, added by the notifier (app.fold_stream)
    re.findall(r'\("(Live[A-Za-z]+)",', (ROOT / "functions" / "chalicelib" / "live_push" / "notifier.py").read_text()))
#: Logical ids: the stream handlers (app.py: fold_stream, rollup) and the key authorizer.
AGGREGATOR, ROLLUP, AUTHORIZER = "FoldStream", "Rollup", "KeyAuthorizer"
DRAIN = "DrainParked"  # folds records parked by the aggregator, with the aggregator's role


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    from infra.cdk.app import synth
    result = synth(list(STAGES), outdir=tmp_path_factory.mktemp("cdk.out"), context=CONTEXT, validate=False)
    return {stage: json.loads(path.read_text()) for stage, path in result.templates.items()} | {
        "_paths": result.templates}


@pytest.fixture(params=STAGES)
def stage(request):
    return request.param


@pytest.fixture
def template(synthesized, stage) -> dict[str, Any]:
    return synthesized[stage]


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == type_}


def only(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def named(template: dict[str, Any], type_: str, prefix: str) -> tuple[str, dict[str, Any]]:
    found = {n: r for n, r in resources(template, type_).items() if n.startswith(prefix)}
    assert len(found) == 1, f"expected one {type_} named {prefix}*, found {sorted(found)}"
    return next(iter(found.items()))


def failure_queue(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return named(template, "AWS::SQS::Queue", "AggregatorFailures")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def flat(value: Any) -> str:
    """An intrinsic-function value as a comparable string."""
    return json.dumps(value, sort_keys=True)


# --- the table ---------------------------------------------------------------

def test_table_comes_from_the_shared_definition(template, stage):
    _, table = only(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    definition = tables.table_definition(settings_for(stage, CONTEXT).table_name)
    assert props["KeySchema"] == definition["KeySchema"]
    assert props["AttributeDefinitions"] == definition["AttributeDefinitions"]
    assert props["TableName"] == definition["TableName"] == \
        chalice_config()["stages"][stage]["environment_variables"]["TABLE_NAME"]
    assert props["BillingMode"] == definition["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props


def test_table_ttl_and_point_in_time_recovery(template):
    _, table = only(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert tables.TTL_ATTRIBUTE == "expires_at"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_prod_table_is_protected_and_retained(synthesized):
    _, prod = only(synthesized["prod"], "AWS::DynamoDB::Table")
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert prod["DeletionPolicy"] == prod["UpdateReplacePolicy"] == "Retain"
    _, dev = only(synthesized["dev"], "AWS::DynamoDB::Table")
    assert dev["Properties"]["DeletionProtectionEnabled"] is False


# --- IAM ---------------------------------------------------------------------

def policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, role in resources(template, "AWS::IAM::Role").items():
        assert not role["Properties"].get("ManagedPolicyArns"), f"{name} attaches managed policies"
        for policy in role["Properties"].get("Policies", []):
            found += [(name, s) for s in policy["PolicyDocument"]["Statement"]]
    for name, policy in resources(template, "AWS::IAM::Policy").items():
        found += [(name, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    return found


def test_iam_statements_are_scoped_to_named_resources(template):
    statements = policy_statements(template)
    assert statements
    for owner, statement in statements:
        assert statement["Effect"] == "Allow", (owner, statement)
        actions = as_list(statement["Action"])
        assert all("*" not in a for a in actions), f"wildcard action in {owner}: {actions}"
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                assert set(actions) <= set(WILDCARD_ONLY_ACTIONS), f"{owner}: {actions} on *"
                for action in actions:
                    assert WILDCARD_ONLY_ACTIONS[action] in flat(statement.get("Condition", {}))
                continue
            text = flat(resource)
            # A named resource: a Ref/GetAtt of this template, or an ARN that
            # ends with a literal name (never a bare wildcard).
            assert "Ref" in text or "Fn::GetAtt" in text, f"{owner}: unnamed resource {text}"
            if actions == ["execute-api:ManageConnections"] and re.search(
                    r'\{"Ref": "WebsocketAPI"\}, "/[A-Za-z0-9_-]+/\*/@connections/\*"\]\]\}$', text):
                continue  # connection ids are made at run time: this API's stage, any connection (live.py)
            assert not re.search(r'[:/]\*"', text), f"{owner}: wildcard resource {text}"


def role_permissions(template: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """role logical id -> action -> the resources it is allowed on (inline
    policies and attached AWS::IAM::Policy resources together)."""
    found: dict[str, dict[str, list[Any]]] = {}

    def add(role: str, statement: dict[str, Any]) -> None:
        for action in as_list(statement["Action"]):
            found.setdefault(role, {}).setdefault(action, []).extend(as_list(statement["Resource"]))

    for name, role in resources(template, "AWS::IAM::Role").items():
        found.setdefault(name, {})
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                add(name, statement)
    for policy in resources(template, "AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                add(role["Ref"], statement)
    return found


def function_roles(template: dict[str, Any]) -> dict[str, str]:
    """function logical id -> the logical id of the role it runs as."""
    out = {}
    for name, function in resources(template, "AWS::Serverless::Function").items():
        role = function["Properties"]["Role"]
        assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", (name, role)
        out[name] = role["Fn::GetAtt"][0]
    return out


def test_each_function_family_runs_as_its_own_role(template):
    from infra.cdk.permissions import family_of
    roles = function_roles(template)
    assert {"APIHandler", AUTHORIZER, AGGREGATOR, ROLLUP, "SendDueSnapshots", "EvaluateAlerts",
            "DeliverAlerts", "RollPartitions"} <= set(roles)
    assert set(roles.values()) == set(resources(template, "AWS::IAM::Role")), "a role no function uses"
    families = {name: family_of(name) for name in roles}
    assert all(families.values()), families
    # one role per family, and no two families share one
    by_family: dict[str, set[str]] = {}
    for name, role in roles.items():
        by_family.setdefault(families[name].role_id, set()).add(role)
    assert all(len(r) == 1 for r in by_family.values()) and len(set(roles.values())) == len(by_family)
    for name, role in roles.items():
        assert role.startswith(f"Roles{families[name].role_id}"), (name, role)


def resource_ids(template: dict[str, Any]) -> dict[str, Any]:
    """symbolic resource of the permission model -> the template's ARN for it."""
    from infra.cdk import permissions as p
    table = only(template, "AWS::DynamoDB::Table")[0]
    return {
        p.TABLE: [{"Fn::GetAtt": [table, "Arn"]}],
        p.STREAM: [{"Fn::GetAtt": [only(template, "AWS::Kinesis::Stream")[0], "Arn"]}],
        p.FAILURE_QUEUE: [{"Fn::GetAtt": [failure_queue(template)[0], "Arn"]}],
        p.ALERT_QUEUE: [{"Fn::GetAtt": [named(template, "AWS::SQS::Queue", "AlertDeliveriesQueue")[0], "Arn"]}],
        p.ROLLUP_QUEUE: [{"Fn::GetAtt": [named(template, "AWS::SQS::Queue", "RollupFanOutQueue")[0], "Arn"]}],
        p.USER_POOL: [{"Fn::GetAtt": [only(template, "AWS::Cognito::UserPool")[0], "Arn"]}],
        p.UNSUBSCRIBE_SECRET: [{"Ref": secret(template, "UnsubscribeSecret")}],
        p.PROFILE_KEY_SECRET: [{"Ref": secret(template, "ProfileKeySecret")}],
    }


def secret(template: dict[str, Any], prefix: str) -> str:
    """The logical id of the one secret whose construct id is `prefix`."""
    found = [n for n in resources(template, "AWS::SecretsManager::Secret") if n.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def test_role_policies_are_the_permission_model(template, stage):
    """Each role's inline policy is exactly its family's grants: actions, the
    one resource, and the partitions (dynamodb:LeadingKeys) it may write."""
    from infra.cdk import permissions as p
    roles, arns = function_roles(template), resource_ids(template)
    identity = settings_for(stage, CONTEXT).ses_identity
    for function, role in roles.items():
        family = p.family_of(function)
        (policy,) = template["Resources"][role]["Properties"]["Policies"]
        statements = {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}
        assert set(statements) == {g.sid for g in family.grants}, role
        for grant in family.grants:
            st = statements[grant.sid]
            assert st["Effect"] == "Allow" and sorted(as_list(st["Action"])) == sorted(grant.actions), (role, st)
            if grant.resource == p.SENDER_IDENTITY:
                assert all(flat(r).endswith(f':identity/{identity}"]]}}') for r in as_list(st["Resource"]))
            elif grant.resource == p.SOCKET_API:  # this API's stage, any connection (infra/cdk/live.py)
                assert re.search(r'\{"Ref": "WebsocketAPI"\}, "/[A-Za-z0-9_-]+/\*/@connections/\*"\]\]\}$',
                                 flat(as_list(st["Resource"])[0])), st["Resource"]
            elif grant.resource == p.DASHBOARD_URL_PARAMETER:
                assert flat(st["Resource"]).endswith(f':parameter/livereport/{stage}/dashboard-url"]]}}')
            else:
                assert as_list(st["Resource"]) == arns[grant.resource], (role, grant.sid, st["Resource"])
            if grant.partitions:
                assert st["Condition"] == {"ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": list(grant.partitions)}}, (role, grant.sid)
            else:
                assert "Condition" not in st, (role, grant.sid)


def test_what_no_role_but_one_may_do(template):
    """The attacker's view: what a compromised function could reach."""
    from chalicelib import tables
    from infra.cdk import permissions as p
    roles, permissions = function_roles(template), role_permissions(template)
    holders = lambda action: {name for name, role in roles.items() if action in permissions[role]}  # noqa: E731
    assert holders("kinesis:PutRecords") == {"APIHandler"}  # only ingest puts on the stream
    # only the aggregator reads it (DrainParked is the aggregator's schedule for parked records: same role)
    assert holders("kinesis:GetRecords") == {AGGREGATOR, DRAIN}
    assert holders("cognito-idp:AdminCreateUser") == {"APIHandler"}
    # the link secret: the API verifies links; the snapshot, alert and mailer schedules sign them
    assert holders("secretsmanager:GetSecretValue") == {"APIHandler", "SendDueSnapshots", "EvaluateAlerts",
                                                         "SendQueuedEmails"}
    assert holders("dynamodb:BatchWriteItem") == {ROLLUP, "RollPartitions"}
    # alert notifications: the evaluator queues them, only the delivery function consumes them; rollup
    # tasks: the schedule queues them, the worker consumes them (one family, one role)
    assert holders("sqs:ReceiveMessage") == holders("sqs:DeleteMessage") == {"DeliverAlerts", ROLLUP, "RollPartitions"}
    assert holders("sqs:SendMessage") == {AGGREGATOR, DRAIN, "EvaluateAlerts", "DeliverAlerts", ROLLUP,
                                          "RollPartitions"}
    # the function that posts to admins' URLs reads and writes alert partitions only, sends no stream record
    deliver = p.family_of("DeliverAlerts")
    assert not deliver.allows("dynamodb:GetItem", p.TABLE, tables.key_lookup_pk("k"))
    assert not deliver.allows("dynamodb:PutItem", p.TABLE, tables.counter_pk("acme", "c1", "email"))
    assert not [a for a in permissions[roles["DeliverAlerts"]] if a.startswith(("kinesis:", "secretsmanager:"))]
    # the authorizer reads two kinds of partitions and writes nothing, calls no Cognito admin action
    assert set(permissions[roles[AUTHORIZER]]) == {"dynamodb:GetItem", "dynamodb:Query",
                                                   "logs:CreateLogStream", "logs:PutLogEvents"}
    # counters: only the aggregator and the rollup (its schedule and its worker) may write them,
    # in the template as in the model
    counter = tables.counter_pk("acme", "c1", "email")
    assert {n for n in roles if p.family_of(n).allows("dynamodb:UpdateItem", p.TABLE, counter)} == \
        {AGGREGATOR, DRAIN, ROLLUP, "RollPartitions"}
    writes = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
    for name, role in roles.items():
        (policy,) = template["Resources"][role]["Properties"]["Policies"]
        leading: set[str] = set()
        for st in policy["PolicyDocument"]["Statement"]:
            if set(as_list(st["Action"])) & set(writes):
                leading |= set(st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
        assert (p.COUNTERS in leading) == (name in (AGGREGATOR, DRAIN, ROLLUP, "RollPartitions")), \
            (name, leading)


def test_logs_only_to_each_functions_own_group(template):
    roles, permissions = function_roles(template), role_permissions(template)
    logs_of: dict[str, set[str]] = {}
    for function, role in roles.items():
        logs_of.setdefault(role, set()).add(f"{function}Logs")
    for role, actions in permissions.items():
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            where = actions[action]
            assert {r["Fn::GetAtt"][0] for r in where} == logs_of[role], (role, where)
            assert all(r == {"Fn::GetAtt": [r["Fn::GetAtt"][0], "Arn"]} for r in where)
        assert not [a for a in actions if a.startswith("logs:") and a not in (
            "logs:CreateLogStream", "logs:PutLogEvents")], role


# --- functions: environment, logs --------------------------------------------

def test_function_environment(template, stage):
    table_name, _ = only(template, "AWS::DynamoDB::Table")
    _, stream = only(template, "AWS::Kinesis::Stream")
    secret_name, profile_secret = secret(template, "UnsubscribeSecret"), secret(template, "ProfileKeySecret")
    assert "resolve:secretsmanager" not in json.dumps(template)  # no secret value resolved into any function
    for name, function in resources(template, "AWS::Serverless::Function").items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["TABLE_NAME"] == {"Ref": table_name}, name
        assert env["STREAM_NAME"] == stream["Properties"]["Name"] == f"livereport-events-{stage}", name
        assert env["SENDER_EMAIL"] == CONTEXT["sender"]
        assert "UNSUBSCRIBE_SECRET" not in env, name
        # where the secret is, only for the functions whose role may read it
        # email links: the API verifies them; every sender signs its recipients' own
        if name in ("APIHandler", "SendDueSnapshots", "EvaluateAlerts", "SendQueuedEmails"):
            assert env["UNSUBSCRIBE_SECRET_ARN"] == {"Ref": secret_name}, name
        else:
            assert "UNSUBSCRIBE_SECRET_ARN" not in env, name
        # profile keys are computed at ingest only (POST /v1/events and webhooks)
        if name == "APIHandler":
            assert env["PROFILE_KEY_SECRET_ARN"] == {"Ref": profile_secret}, name
        else:
            assert "PROFILE_KEY_SECRET_ARN" not in env and "PROFILE_KEY_SECRET" not in env, name
        # the pool's ids: the authorizer verifies tokens, the API invites
        if name in ("APIHandler", AUTHORIZER):
            assert env["COGNITO_USER_POOL_ID"] == {"Ref": only(template, "AWS::Cognito::UserPool")[0]}, name
            assert env["COGNITO_CLIENT_ID"] == {"Ref": only(template, "AWS::Cognito::UserPoolClient")[0]}, name
            assert env["COGNITO_REGION"] == {"Ref": "AWS::Region"}, name
        else:
            assert not [k for k in env if k.startswith("COGNITO_")], name
        assert "COGNITO_ENDPOINT" not in env  # AWS's own endpoint: local mode only sets it
        scheduled = any(e["Type"] == "Schedule" for e in function["Properties"].get("Events", {}).values())
        if scheduled:
            assert '"Ref": "RestAPI"' in flat(env["PUBLIC_API_URL"]), name
            assert "DomainName" in flat(env["DASHBOARD_URL"]), name  # deep links to the dashboard
        else:
            assert "PUBLIC_API_URL" not in env, name


def test_nothing_behind_the_gateway_outlives_its_29_second_timeout(template, stage):
    functions = resources(template, "AWS::Serverless::Function")
    assert functions["APIHandler"]["Properties"]["Timeout"] == settings_for(stage, CONTEXT).api_timeout_s == 28
    assert functions[AUTHORIZER]["Properties"]["Timeout"] == 10
    with pytest.raises(ValueError, match="api_timeout_s"):
        settings_for(stage, {"api_timeout_s": "30"})


def test_every_secured_route_uses_the_lambda_authorizer(template):
    """Chalice names a route's security scheme after its authorizer, and takes a
    scheme named "api_key" for api_key_required: the authorizer must not be
    called that, or the deployed API wants an x-api-key header instead."""
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    schemes = body["securityDefinitions"]
    assert set(schemes) == {"key_authorizer"}
    scheme = schemes["key_authorizer"]
    assert scheme["x-amazon-apigateway-authtype"] == "custom" and scheme["name"] == "Authorization"
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token" and authorizer["authorizerResultTtlInSeconds"] == 60
    assert f"${{{AUTHORIZER}.Arn}}" in flat(authorizer["authorizerUri"])
    secured = [(path, method) for path, methods in body["paths"].items() for method, op in methods.items()
               if op.get("security")]
    assert ("/v1/events", "post") in secured and ("/v1/campaigns/{campaign_id}/report", "get") in secured
    for path, method in secured:
        assert body["paths"][path][method]["security"] == [{"key_authorizer": []}], (path, method)


def test_every_function_has_a_log_group_with_retention(template, stage):
    expected = settings_for(stage, CONTEXT).log_retention_days
    groups = {flat(g["Properties"]["LogGroupName"]): g["Properties"]["RetentionInDays"]
              for g in resources(template, "AWS::Logs::LogGroup").values()}
    for name in resources(template, "AWS::Serverless::Function"):
        key = flat({"Fn::Join": ["", ["/aws/lambda/", {"Ref": name}]]})
        assert groups.get(key) == expected, f"{name}: {groups}"


# --- the stream, the aggregator, the rollup -------------------------------------

def test_stream_per_stage_encrypted_24h(template, stage):
    _, stream = only(template, "AWS::Kinesis::Stream")
    props = stream["Properties"]
    settings = settings_for(stage, CONTEXT)
    assert props["Name"] == settings.stream_name == f"livereport-events-{stage}"
    assert props["RetentionPeriodHours"] == 24
    assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["ShardCount"] == settings.stream_shards == {"dev": 1, "prod": 2}[stage]
    assert stream["DeletionPolicy"] == ("Retain" if stage == "prod" else "Delete")


def test_stream_on_demand_mode_from_context():
    """stream_mode=on_demand: no shard count (cheap: the stream alone, no app packaging)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from infra.cdk.stack import event_stream
    app = cdk.App()
    scope = cdk.Stack(app, "s")
    event_stream(scope, settings_for("prod", {**CONTEXT, "stream_mode": "on_demand"}), cdk.RemovalPolicy.RETAIN)
    (stream,) = Template.from_stack(scope).find_resources("AWS::Kinesis::Stream").values()
    assert stream["Properties"]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream["Properties"]
    assert stream["Properties"]["StreamEncryption"]["KeyId"] == "alias/aws/kinesis"


def kinesis_event(template: dict[str, Any]) -> dict[str, Any]:
    events = {name: e for fn, f in resources(template, "AWS::Serverless::Function").items()
              for name, e in f["Properties"].get("Events", {}).items() if e["Type"] == "Kinesis"}
    assert list(events) == [f"{AGGREGATOR}KinesisEventSource"], events
    return next(iter(events.values()))["Properties"]


def test_aggregator_event_source_mapping(template, stage):
    stream_name, _ = only(template, "AWS::Kinesis::Stream")
    queue_name, _ = failure_queue(template)
    props = kinesis_event(template)
    assert props == {
        "Stream": {"Fn::GetAtt": [stream_name, "Arn"]},  # the CDK stream, not Chalice's name-built ARN
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10000,
        "MaximumBatchingWindowInSeconds": settings_for(stage, CONTEXT).stream_batching_window_s,
        "ParallelizationFactor": 1,  # one fold per shard at a time: the watermark only moves forward
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,  # never skip a pinned fold; records leave only with retention
        "MaximumRecordAgeInSeconds": -1,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_name, "Arn"]}}},
        "Enabled": True,
    }
    assert "FunctionResponseTypes" not in props  # batches succeed or fail whole
    assert settings_for(stage, CONTEXT).stream_batching_window_s == 1
    assert settings_for(stage, {"stream_batching_window_s": "5"}).stream_batching_window_s == 5


def test_event_source_mapping_survives_the_sam_transform(synthesized):
    """The real SAM translator (when installed) turns the event into an
    AWS::Lambda::EventSourceMapping with every setting, and the expanded
    template lints clean (cfn-lint checks SAM event properties only loosely)."""
    translator = pytest.importorskip("samtranslator.translator.transform",
                                     reason="pip install aws-sam-translator to check the SAM expansion")
    import copy

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    expanded = translator.transform(copy.deepcopy(synthesized["dev"]), {}, NoManagedPolicies())
    mappings = [r["Properties"] for r in expanded["Resources"].values()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    (mapping,) = [m for m in mappings if m["FunctionName"] == {"Ref": AGGREGATOR}]
    (deliveries,) = [m for m in mappings if m["FunctionName"] == {"Ref": "DeliverAlerts"}]
    assert deliveries["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and deliveries["BatchSize"] == 5
    (tasks,) = [m for m in mappings if m["FunctionName"] == {"Ref": "RollPartitions"}]
    assert tasks["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and tasks["BatchSize"] == 10
    expected = {k: v for k, v in kinesis_event(synthesized["dev"]).items() if k != "Stream"}
    assert {k: mapping[k] for k in expected} == expected
    rules = {r["Properties"]["ScheduleExpression"] for r in expanded["Resources"].values()
             if r["Type"] == "AWS::Events::Rule"}
    assert "rate(1 minute)" in rules
    # the stage SAM creates carries the throttling, under the logical id the WAF association waits for
    stage = expanded["Resources"]["RestAPIapiStage"]
    assert stage["Type"] == "AWS::ApiGateway::Stage"
    assert stage["Properties"]["MethodSettings"] == synthesized["dev"]["Resources"]["RestAPI"]["Properties"][
        "MethodSettings"]


def test_failure_queue_is_encrypted_and_tls_only(template):
    queue_name, queue = failure_queue(template)
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = [p for p in resources(template, "AWS::SQS::QueuePolicy").values()
                 if p["Properties"]["Queues"] == [{"Ref": queue_name}]]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_aggregator_and_rollup_sizes_and_schedule(template, stage):
    functions = resources(template, "AWS::Serverless::Function")
    settings = settings_for(stage, CONTEXT)
    aggregator, rollup = functions[AGGREGATOR]["Properties"], functions[ROLLUP]["Properties"]
    assert (aggregator["Timeout"], aggregator["MemorySize"]) == (120, 1024)
    assert (settings.aggregator_timeout_s, settings.aggregator_memory_mb) == (120, 1024)
    assert rollup["Timeout"] == settings.rollup_timeout_s >= 120
    (event,) = rollup["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
    # the schedules keep the stage-wide size
    for name in ("SendDueSnapshots", "EvaluateAlerts"):
        assert functions[name]["Properties"]["Timeout"] == settings.lambda_timeout_s
# --- accounts: the user pool -------------------------------------------------------

def test_user_pool_is_invite_only_with_email_strong_passwords_and_optional_totp(template, stage):
    _, pool = only(template, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    assert props["UsernameAttributes"] == ["email"] and props["AutoVerifiedAttributes"] == ["email"]
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    invite = props["AdminCreateUserConfig"]["InviteMessageTemplate"]
    assert "{username}" in invite["EmailMessage"] and "{####}" in invite["EmailMessage"]
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12 and all(policy[k] for k in (
        "RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert props["MfaConfiguration"] == "OPTIONAL" and props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]
    retained = stage == "prod"
    assert pool["DeletionPolicy"] == ("Retain" if retained else "Delete")
    assert props.get("DeletionProtection", "INACTIVE") == ("ACTIVE" if retained else "INACTIVE")


def test_web_client_is_public_with_srp_and_refresh_only(template):
    """No USER_PASSWORD_AUTH in a deployed stage: the page signs in with SRP
    (web/src/session.ts), local mode's own pool alone allows passwords."""
    pool_name, _ = only(template, "AWS::Cognito::UserPool")
    _, client = only(template, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert props["UserPoolId"] == {"Ref": pool_name}
    assert props.get("GenerateSecret", False) is False
    assert set(props["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    session = (ROOT / "web" / "src" / "session.ts").read_text()
    assert '?? "USER_SRP_AUTH"' in session  # the page's default flow
    assert props["PreventUserExistenceErrors"] == "ENABLED" and props["EnableTokenRevocation"] is True
    assert "AllowedOAuthFlows" not in props


def test_threat_protection_audits_in_dev_and_enforces_in_prod(synthesized):
    for stage, mode in (("dev", "AUDIT"), ("prod", "ENFORCED")):
        _, pool = only(synthesized[stage], "AWS::Cognito::UserPool")
        assert pool["Properties"]["UserPoolTier"] == "PLUS", stage  # threat protection needs the Plus plan
        assert pool["Properties"]["UserPoolAddOns"] == {"AdvancedSecurityMode": mode}, stage
    assert settings_for("prod", {"threat_protection": "off"}).threat_protection == "off"
    with pytest.raises(ValueError, match="threat_protection"):
        settings_for("dev", {"threat_protection": "strict"})


def test_custom_message_trigger_is_wired_when_the_app_defines_it(template, stage):
    """`@app.lambda_function(name="cognito_custom_message")` in app.py: the
    pool calls it, only this pool may invoke it, it reads the dashboard's
    address from SSM (its environment cannot name the distribution: cycle)."""
    _, pool = only(template, "AWS::Cognito::UserPool")
    functions = resources(template, "AWS::Serverless::Function")
    if "CognitoCustomMessage" not in functions:
        assert "LambdaConfig" not in pool["Properties"]
        assert not resources(template, "AWS::SSM::Parameter")
        return
    assert pool["Properties"]["LambdaConfig"] == {"CustomMessage": {"Fn::GetAtt": ["CognitoCustomMessage", "Arn"]}}
    (permission,) = [r["Properties"] for r in resources(template, "AWS::Lambda::Permission").values()
                     if r["Properties"]["Principal"] == "cognito-idp.amazonaws.com"]
    assert permission["SourceArn"] == {"Fn::GetAtt": [only(template, "AWS::Cognito::UserPool")[0], "Arn"]}
    props = functions["CognitoCustomMessage"]["Properties"]
    assert props["Timeout"] <= 5  # Cognito's limit for a trigger
    assert props["Environment"]["Variables"]["DASHBOARD_URL_PARAMETER"] == f"/livereport/{stage}/dashboard-url"
    (parameter,) = resources(template, "AWS::SSM::Parameter").values()
    assert parameter["Properties"]["Name"] == f"/livereport/{stage}/dashboard-url"


def test_custom_message_trigger_wiring_on_a_bare_pool():
    """The wiring alone (the app may not define the function yet): cheap, no packaging."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from infra.cdk.users import Users
    app = cdk.App()
    scope = cdk.Stack(app, "s")
    users = Users(scope, "Users", settings_for("dev", CONTEXT), cdk.RemovalPolicy.DESTROY)
    users.add_custom_message_trigger(f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
                                     ":function:livereport-dev-cognito_custom_message")
    template = Template.from_stack(scope).to_json()
    (pool,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Cognito::UserPool"]
    assert "function:livereport-dev-cognito_custom_message" in flat(pool["Properties"]["LambdaConfig"]["CustomMessage"])
    (permission,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com" and "Pool" in flat(permission["SourceArn"])


def test_outputs_name_the_pool_and_client_for_the_page(template):
    outputs = template["Outputs"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": only(template, "AWS::Cognito::UserPool")[0]}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": only(template, "AWS::Cognito::UserPoolClient")[0]}


# --- the web page ------------------------------------------------------------

def test_site_bucket_is_private_encrypted_and_tls_only(template):
    (bucket_name, bucket), = resources(template, "AWS::S3::Bucket").items()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "WebsiteConfiguration" not in props
    _, policy = only(template, "AWS::S3::BucketPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows and all(s["Principal"] == {"Service": "cloudfront.amazonaws.com"} for s in allows)
    distribution_name, _ = only(template, "AWS::CloudFront::Distribution")
    assert all(f'"Ref": "{distribution_name}"' in flat(s["Condition"]["StringEquals"]["AWS:SourceArn"])
               for s in allows)


def test_cloudfront_uses_origin_access_control_and_https(template):
    _, distribution = only(template, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    oac_name, oac = only(template, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None, "OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_name, "Id"]}
    assert origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    headers_name, _ = only(template, "AWS::CloudFront::ResponseHeadersPolicy")
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": headers_name}


def test_strict_content_security_policy_and_security_headers(template):
    _, policy = only(template, "AWS::CloudFront::ResponseHeadersPolicy")
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp_value = security["ContentSecurityPolicy"]
    assert csp_value["Override"] is True
    parts = csp_value["ContentSecurityPolicy"]["Fn::Join"][1]
    # The remote origins: the API (https://<RestAPI>.execute-api.<region>.<suffix>) and Cognito's
    csp = "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in parts)
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["connect-src"] == ["'self'", "https://<RestAPI>.execute-api.<AWS::Region>.<AWS::URLSuffix>",
                                         "https://cognito-idp.<AWS::Region>.<AWS::URLSuffix>",  # sign-in
                                         "wss://<WebsocketAPI>.execute-api.<AWS::Region>.<AWS::URLSuffix>"]  # live
    assert not any("unsafe-eval" in v or "*" in " ".join(v) for v in directives.values())
    assert all("'unsafe-inline'" not in v for k, v in directives.items() if k != "style-src-attr")
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31536000 and hsts["IncludeSubdomains"] is True
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"


# --- SES, alarms ---------------------------------------------------------------

def test_ses_identity_is_defined_from_context(synthesized):
    _, identity = only(synthesized["dev"], "AWS::SES::EmailIdentity")
    assert identity["Properties"]["EmailIdentity"] == CONTEXT["sender"]


def alarms_by_metric(template: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        if "MetricName" in props:
            metrics.append(props)
        for metric in metrics:
            found.setdefault((metric["Namespace"], metric["MetricName"]), []).append(props)
    return found


def test_alarms_cover_throttles_5xx_lambda_errors_and_ingest(template, stage):
    alarms = alarms_by_metric(template)
    table_name, _ = only(template, "AWS::DynamoDB::Table")
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert f'"Ref": "{table_name}"' in flat(alarms[("AWS/DynamoDB", metric)])
    (api5xx,) = alarms[("AWS/ApiGateway", "5XXError")]
    api_name = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["info"]["title"]
    assert {"Name": "ApiName", "Value": api_name} in api5xx["Dimensions"]
    assert api_name == settings_for(stage, CONTEXT).stack_name
    errors = flat(alarms[("AWS/Lambda", "Errors")])
    for function in resources(template, "AWS::Serverless::Function"):
        assert f'"Ref": "{function}"' in errors, function
    ingest = {name for namespace, name in alarms if namespace == "LiveReport"}
    assert {"StoreUnavailable", "EventsRejected"} <= ingest
    assert ingest <= APP_METRICS, f"alarms on metrics app.py does not emit: {ingest - APP_METRICS}"
    # app.py adds the stage as a default dimension: each stage's alarms watch only its own traffic
    for (namespace, _), props in alarms.items():
        if namespace == "LiveReport":
            assert all(f'{{"Name": "stage", "Value": "{stage}"}}' in flat(p) for p in props), flat(props)
    topic_name, _ = only(template, "AWS::SNS::Topic")
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_name}]


def test_alarms_on_the_stream_path(template, stage):
    alarms = alarms_by_metric(template)
    stream_name, _ = only(template, "AWS::Kinesis::Stream")
    queue_name, _ = failure_queue(template)
    aggregator = {"Name": "FunctionName", "Value": {"Ref": AGGREGATOR}}

    (age,) = alarms[("AWS/Lambda", "IteratorAge")]
    assert aggregator in age["Dimensions"] and age["Statistic"] == "Maximum"
    assert age["Threshold"] == 60_000 and age["Period"] == 60
    assert age["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"

    (failed,) = [a for a in alarms[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
                 if a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_name, "QueueName"]}}]]
    assert failed["Threshold"] == 1

    for metric in ("PoisonRecords", "DroppedUncommitted"):
        (props,) = alarms[("LiveReport", metric)]
        assert props["Threshold"] == 1, metric
        assert {"Name": "stage", "Value": stage} in props["Dimensions"]
        assert {"Name": "service", "Value": "livereport"} in props["Dimensions"]
    assert {"PoisonRecords", "DroppedUncommitted"} <= APP_METRICS

    (throttles,) = alarms[("AWS/Kinesis", "WriteProvisionedThroughputExceeded")]
    assert throttles["Dimensions"] == [{"Name": "StreamName", "Value": {"Ref": stream_name}}]

    # records arriving while the aggregator is never invoked (mapping disabled, no permission)
    (stalled,) = alarms[("AWS/Kinesis", "IncomingRecords")]
    assert stalled in alarms[("AWS/Lambda", "Invocations")]
    assert f'"Ref": "{AGGREGATOR}"' in flat(stalled) and f'"Ref": "{stream_name}"' in flat(stalled)

    # the rollup's errors (a failed rollup leaves hours and days unrolled)
    assert f'"Ref": "{ROLLUP}"' in flat(alarms[("AWS/Lambda", "Errors")])


def test_no_account_ids_in_code_or_templates(synthesized):
    account = re.compile(r"(?<![0-9a-f-])\d{12}(?![0-9a-f-])")
    for stage in STAGES:
        assert not account.search(json.dumps(synthesized[stage])), stage
    for source in (ROOT / "infra" / "cdk").glob("*.py"):
        assert not account.search(source.read_text()), source


# --- lint ----------------------------------------------------------------------

def test_cfn_lint_finds_no_errors(synthesized):
    paths = [str(p) for p in synthesized["_paths"].values()]
    lint = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"
    run = subprocess.run([sys.executable, "-c", lint, "--format", "json", "--regions", "eu-west-1", "us-east-1",
                          "--", *paths],
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.strip(), run.stderr
    findings = json.loads(run.stdout)
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]


# --- context validation (no synthesis) -------------------------------------------

@pytest.mark.parametrize("stage_name, context, message", [
    ("qa", {}, "unknown stage"),
    ("dev", {"sender": "not-an-address"}, "not an email"),
    ("dev", {"sender": "a@x.org", "sender_domain": "y.org"}, "not in sender_domain"),
    ("prod", {"alarm_email": "nope"}, "alarm_email"),
    ("dev", {"stream_mode": "serverless"}, "stream_mode"),
    ("dev", {"stream_shards": "0"}, "stream_shards"),
    ("dev", {"stream_batching_window_s": "0"}, "stream_batching_window_s"),
    ("dev", {"stream_batching_window_s": "301"}, "stream_batching_window_s"),
    ("dev", {"aggregator_timeout_s": "901"}, "aggregator_timeout_s"),
    ("dev", {"rollup_timeout_s": "30"}, "rollup_timeout_s"),
    ("dev", {"api_timeout_s": "60"}, "api_timeout_s"),
    ("dev", {"report_rate": "0"}, "report_rate"),
    ("dev", {"ingest_burst": "9000"}, "ingest_rate/ingest_burst"),
    ("dev", {"report_rate": "lots"}, "context report_rate"),
    ("dev", {"waf": "maybe"}, "context waf"),
])
def test_bad_context_is_refused(stage_name, context, message):
    with pytest.raises(ValueError, match=message):
        settings_for(stage_name, context)


def test_stage_defaults():
    dev, prod = settings_for("dev"), settings_for("prod")
    assert (dev.retain_data, prod.retain_data) == (False, True)
    assert prod.log_retention_days >= dev.log_retention_days
    assert settings_for("dev", {"log_retention_days": "30"}).log_retention_days == 30
    assert (dev.stream_mode, dev.stream_shards, prod.stream_mode, prod.stream_shards) == (
        "provisioned", 1, "provisioned", 2)
    assert settings_for("prod", {"stream_mode": "on_demand"}).stream_mode == "on_demand"
    # local mode's default stream name is dev's
    from chalicelib.config import AppConfig
    assert AppConfig.from_env({}).stream_name == dev.stream_name


# --- one error shape ------------------------------------------------------------

def test_gateway_responses_use_the_api_error_shape(template):
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()}
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "UNSUPPORTED_MEDIA_TYPE",
                 "DEFAULT_4XX", "DEFAULT_5XX"):
        body = responses[kind]["ResponseTemplates"]["application/json"]
        assert body.startswith('{"error": {"code": "') and "$context.error.messageString" in body, (kind, body)
        assert responses[kind]["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    for kind in ("THROTTLED", "QUOTA_EXCEEDED"):  # stage throttling: 429, the error shape, Retry-After
        assert responses[kind]["StatusCode"] == "429"
        assert responses[kind]["ResponseTemplates"]["application/json"].startswith('{"error": {"code": "throttled"')
        assert responses[kind]["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


# --- throttling, WAF -------------------------------------------------------------

def test_stage_throttling_per_method_group(template, stage):
    """Reports cannot take the concurrency ingest and webhooks need: each group
    has its own stage-wide limit (docs/deploy.md, "Limits")."""
    from infra.cdk.gateway import THROTTLED_METHODS
    settings = settings_for(stage, CONTEXT)
    api = template["Resources"]["RestAPI"]["Properties"]
    limits = {(m["ResourcePath"], m["HttpMethod"]): (m["ThrottlingRateLimit"], m["ThrottlingBurstLimit"])
              for m in api["MethodSettings"]}
    assert limits.pop(("/*", "*")) == settings.throttle("default") == (50, 100)
    paths = api["DefinitionBody"]["paths"]
    expected = {}
    for (path, method), group in THROTTLED_METHODS.items():
        assert method.lower() in paths[path], (path, method)
        expected["/" + path.replace("/", "~1"), method] = settings.throttle(group)
    assert limits == expected
    shards = {"dev": 1, "prod": 2}[stage]
    assert settings.throttle("ingest") == settings.throttle("webhook") == (500 * shards, 1000 * shards)
    assert settings.throttle("report") == (10, 20) and settings.throttle("stamp") == (100, 200)
    # ingest + webhooks together stay within what the stream takes
    assert settings.throttle("ingest")[0] + settings.throttle("webhook")[0] <= settings.stream_records_per_second()
    on_demand = settings_for(stage, {"stream_mode": "on_demand"})
    assert on_demand.throttle("ingest") == (2000, 4000)
    assert settings_for(stage, {"report_rate": "40"}).throttle("report") == (40, 80)


def test_throttling_a_route_that_no_longer_exists_stops_the_synth():
    from infra.cdk.gateway import method_settings
    with pytest.raises(ValueError, match="not a route"):
        method_settings(settings_for("dev", CONTEXT), {"/v1/events": {"post": {}}})


def test_no_web_acl_unless_asked(template):
    assert not resources(template, "AWS::WAFv2::WebACL")


def test_web_acl_rate_limits_per_ip_with_the_error_shape():
    """-c waf=true (cheap: the construct alone, no packaging)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from infra.cdk.gateway import RateLimitAcl
    settings = settings_for("prod", {**CONTEXT, "waf": "true", "waf_read_limit": "1200"})
    assert settings.waf is True
    app = cdk.App()
    scope = cdk.Stack(app, "s")
    RateLimitAcl(scope, "Waf", settings, "abc123")
    template = Template.from_stack(scope).to_json()
    _, acl = only(template, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    body = json.loads(props["CustomResponseBodies"]["throttled"]["Content"])
    assert body["error"]["code"] == "throttled" and body["error"]["message"]
    rules = {r["Name"]: r for r in props["Rules"]}
    assert set(rules) == {"ReadsPerIp", "WritesPerIp"}
    for name, limit in (("ReadsPerIp", 1200), ("WritesPerIp", settings.waf_write_limit)):
        statement = rules[name]["Statement"]["RateBasedStatement"]
        assert statement["Limit"] == limit and statement["AggregateKeyType"] == "IP"
        assert statement["EvaluationWindowSec"] == 300
        assert rules[name]["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429,
                                                                      "CustomResponseBodyKey": "throttled"}}}
    assert "NotStatement" in rules["WritesPerIp"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    _, association = only(template, "AWS::WAFv2::WebACLAssociation")
    assert "/restapis/abc123/stages/api" in flat(association["Properties"]["ResourceArn"])
    assert association["DependsOn"] == ["RestAPIapiStage"]  # the stage SAM creates (checked after the transform)
    for bad in ({"waf": "maybe"}, {"waf_read_limit": "5"}):
        with pytest.raises(ValueError):
            settings_for("dev", bad)


# --- cdk-nag -------------------------------------------------------------------

def test_cdk_nag_runs_on_every_synth_and_every_acknowledgement_has_a_reason():
    """The module's synth ran the AWS Solutions pack (an unacknowledged finding
    fails it); each acknowledgement names a construct and says why."""
    pytest.importorskip("cdk_nag", reason="pip install -e '.[dev]' (cdk-nag)")
    from infra.cdk.nag import ACKNOWLEDGED
    assert all(rule.startswith("AwsSolutions-") and len(reason) > 60 for (_, rule), reason in ACKNOWLEDGED.items())


def test_cdk_nag_fails_the_synth_on_a_new_finding():
    pytest.importorskip("cdk_nag", reason="pip install -e '.[dev]' (cdk-nag)")
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks
    app = cdk.App()
    scope = cdk.Stack(app, "s")
    sqs.Queue(scope, "Plain")  # no DLQ, no TLS policy
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="[Vv]alidation"):
        app.synth()



# --- the rollup fanned out (docs/design.md, Roll-ups) -----------------------------

def test_rollup_tasks_queue_is_fifo_with_its_worker_dead_letters_and_alarm(template, stage):
    from infra.cdk.rollups import BATCH_SIZE, MAX_RECEIVES, VISIBILITY_TIMEOUT_S, WORKER_TIMEOUT_S
    queue_name, queue = named(template, "AWS::SQS::Queue", "RollupFanOutQueue")
    dead_name, dead = named(template, "AWS::SQS::Queue", "RollupFanOutDeadLetters")
    for q in (queue, dead):  # a FIFO queue's dead letters must be FIFO too
        assert q["Properties"]["FifoQueue"] is True and q["Properties"]["SqsManagedSseEnabled"] is True
    # one message group per partition: groups in parallel, one roll of a partition at a time
    assert queue["Properties"]["FifoThroughputLimit"] == "perMessageGroupId"
    assert queue["Properties"]["DeduplicationScope"] == "messageGroup"
    assert queue["Properties"]["VisibilityTimeout"] == VISIBILITY_TIMEOUT_S >= 6 * WORKER_TIMEOUT_S
    assert queue["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dead_name, "Arn"]},
                                                    "maxReceiveCount": MAX_RECEIVES}
    functions = resources(template, "AWS::Serverless::Function")
    worker = functions["RollPartitions"]["Properties"]
    (event,) = worker["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"] == {
        "Queue": {"Fn::GetAtt": [queue_name, "Arn"]}, "BatchSize": BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": True}
    assert worker["Timeout"] == WORKER_TIMEOUT_S
    for name in (ROLLUP, "RollPartitions"):  # the schedule queues, the worker rolls: both see the queue
        assert functions[name]["Properties"]["Environment"]["Variables"]["ROLLUP_QUEUE_URL"] == {"Ref": queue_name}
    assert "ROLLUP_QUEUE_URL" not in functions["APIHandler"]["Properties"]["Environment"]["Variables"]
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    assert any(flat(a.get("Dimensions", [])).count(dead_name) for a in alarms), "no alarm on the rollup's dead letters"


# --- alert deliveries (docs/alerts.md) ---------------------------------------------

def test_alert_delivery_queue_event_source_dead_letters_and_alarm(template, stage):
    from infra.cdk.deliveries import BATCH_SIZE, DELIVER_TIMEOUT_S, MAX_RECEIVES, VISIBILITY_TIMEOUT_S
    queue_name, queue = named(template, "AWS::SQS::Queue", "AlertDeliveriesQueue")
    dead_name, dead = named(template, "AWS::SQS::Queue", "AlertDeliveriesDeadLetters")
    for q in (queue, dead):
        assert q["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["VisibilityTimeout"] == VISIBILITY_TIMEOUT_S >= 6 * DELIVER_TIMEOUT_S
    assert queue["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dead_name, "Arn"]},
                                                    "maxReceiveCount": MAX_RECEIVES}
    tls_only = {flat(p["Properties"]["Queues"]) for p in resources(template, "AWS::SQS::QueuePolicy").values()}
    assert flat([{"Ref": queue_name}]) in tls_only and flat([{"Ref": dead_name}]) in tls_only
    deliver = resources(template, "AWS::Serverless::Function")["DeliverAlerts"]["Properties"]
    (event,) = deliver["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"] == {
        "Queue": {"Fn::GetAtt": [queue_name, "Arn"]}, "BatchSize": BATCH_SIZE,
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": True}
    assert deliver["Timeout"] == DELIVER_TIMEOUT_S
    functions = resources(template, "AWS::Serverless::Function")
    for name in ("EvaluateAlerts", "DeliverAlerts"):
        env = functions[name]["Properties"]["Environment"]["Variables"]
        assert env["ALERT_DELIVERY_QUEUE_URL"] == {"Ref": queue_name}, name
        assert "DomainName" in flat(env["DASHBOARD_URL"]), name
    assert "ALERT_DELIVERY_QUEUE_URL" not in functions["APIHandler"]["Properties"]["Environment"]["Variables"]
    alarms = {a["Properties"]["AlarmName"]: a for a in resources(template, "AWS::CloudWatch::Alarm").values()}
    dlq_alarm = alarms[f"livereport-{stage}-AlertDeliveryDeadLetters"]["Properties"]
    assert flat({"Fn::GetAtt": [dead_name, "QueueName"]}) in flat(dlq_alarm["Dimensions"])


# --- the live channel (infra/cdk/live.py) ---

LIVE_HANDLERS = ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")


def test_the_live_channel_is_a_throttled_websocket_stage(template, stage):
    from infra.cdk.config import settings_for as _settings
    (_, api), = resources(template, "AWS::ApiGatewayV2::Api").items()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    (_, ws_stage), = resources(template, "AWS::ApiGatewayV2::Stage").items()
    limits = ws_stage["Properties"]["DefaultRouteSettings"]
    assert limits["ThrottlingRateLimit"] >= 1 and limits["ThrottlingBurstLimit"] >= limits["ThrottlingRateLimit"]
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$default", "$disconnect"}
    functions = resources(template, "AWS::Lambda::Function") | resources(template, "AWS::Serverless::Function")
    for name in LIVE_HANDLERS:
        assert name in functions, sorted(functions)
    outputs = template["Outputs"]
    assert "SocketUrl" in outputs and "wss://" in json.dumps(outputs["SocketUrl"])


def test_only_the_aggregator_and_the_socket_handlers_manage_connections(template):
    allowed = {name for name, actions in role_permissions(template).items() if "execute-api:ManageConnections" in actions}
    assert {re.sub(r"[0-9A-F]{8}$", "", n).replace("Roles", "", 1) for n in allowed} == {"AggregatorRole",
                                                                                       "LiveSocketsRole"}


def test_only_the_aggregator_gets_the_socket_endpoint(template):
    functions = resources(template, "AWS::Lambda::Function") | resources(template, "AWS::Serverless::Function")
    having = {name for name, f in functions.items()
              if "LIVE_SOCKET_ENDPOINT" in json.dumps(f["Properties"].get("Environment", {}))}
    assert having == {AGGREGATOR, DRAIN}  # DrainParked folds parked records: it notifies too


def test_failed_live_notifications_raise_an_alarm(template):
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    assert any(a.get("MetricName") == "LiveNotifyFailed" for a in alarms)


def test_the_dashboard_may_open_the_live_channel(template):
    policy = json.dumps(resources(template, "AWS::CloudFront::ResponseHeadersPolicy"))
    assert "wss://" in policy and "WebsocketAPI" in policy
