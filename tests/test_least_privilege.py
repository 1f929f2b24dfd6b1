"""Least privilege, as the handlers use it: the permission model of
infra/cdk/permissions.py (one role per function family) against the calls
the handlers really make.

conftest.py checks every test's handler calls (tests/iam_check.py); this
module drives the paths no other test runs through the app's own handlers
(the aggregator and the rollup as Lambda runs them), and shows the check
fails when a handler steps outside its role.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from chalicelib import tables
from infra.cdk import permissions as p
from consent_support import confirm_all
from tests import iam_check


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def test_every_function_of_the_app_has_exactly_one_family():
    import app as app_module
    functions = set(iam_check.handler_codes(app_module.app).values())
    assert {"APIHandler", "KeyAuthorizer", "FoldStream", "Rollup", "SendDueSnapshots", "EvaluateAlerts",
            "DeliverAlerts", "RollPartitions"} <= functions
    for function in functions:
        assert p.family_of(function) is not None, f"{function}: add it to a family in infra/cdk/permissions.py"
    with pytest.raises(ValueError, match="two families"):
        p.check_families((p.API, p.Family("Other", "", ("APIHandler",), ())))


@pytest.mark.parametrize("family, action, partition, allowed", [
    # the internet-facing API writes its own partitions, never counters or the pipeline's state
    (p.API, "dynamodb:PutItem", tables.batch_pk("acme", "k:0f"), True),
    (p.API, "dynamodb:UpdateItem", tables.members_pk("acme"), True),
    (p.API, "dynamodb:UpdateItem", tables.counter_pk("acme", "c1", "email"), False),
    (p.API, "dynamodb:PutItem", tables.campaigns_pk("acme"), False),
    (p.API, "dynamodb:PutItem", tables.shard_state_pk("s", "shard-0"), False),
    (p.API, "dynamodb:BatchWriteItem", tables.batch_pk("acme", "k:0f"), False),
    (p.API, "dynamodb:Query", tables.counter_pk("acme", "c1", "email"), True),
    # the authorizer reads keys and memberships only
    (p.AUTHORIZER, "dynamodb:GetItem", tables.key_lookup_pk("ab12"), True),
    (p.AUTHORIZER, "dynamodb:Query", tables.user_pk("sub-1"), True),
    (p.AUTHORIZER, "dynamodb:Query", tables.counter_pk("acme", "c1", "email"), False),
    (p.AUTHORIZER, "dynamodb:PutItem", tables.key_lookup_pk("ab12"), False),
    (p.AUTHORIZER, "dynamodb:UpdateItem", tables.user_pk("sub-1"), False),
    # counters: the aggregator folds, the rollup rolls; the schedules only read them
    (p.AGGREGATOR, "dynamodb:UpdateItem", tables.counter_pk("acme", "c1", "email"), True),
    (p.AGGREGATOR, "dynamodb:PutItem", tables.members_pk("acme"), False),
    (p.ROLLUP, "dynamodb:BatchWriteItem", tables.counter_pk("acme", "c1", "email"), True),
    (p.ROLLUP, "dynamodb:PutItem", tables.shard_state_pk("s", "shard-0"), False),
    (p.SNAPSHOTS, "dynamodb:UpdateItem", "acme#SUBS", True),
    (p.SNAPSHOTS, "dynamodb:PutItem", "acme#SUBS", False),
    (p.SNAPSHOTS, "dynamodb:UpdateItem", tables.counter_pk("acme", "c1", "email"), False),
    (p.ALERTS_FAMILY, "dynamodb:UpdateItem", tables.counter_pk("acme", "c1", "email"), False),
    (p.ALERTS_FAMILY, "dynamodb:PutItem", "acme#ALERTS#H#r1", True),
    # alert deliveries post to admins' URLs: they read the rule and its history, and note the outcome
    (p.ALERT_DELIVERY, "dynamodb:GetItem", "acme#ALERTS", True),
    (p.ALERT_DELIVERY, "dynamodb:GetItem", "acme#ALERTS#H#r1", True),
    (p.ALERT_DELIVERY, "dynamodb:UpdateItem", "acme#ALERTS#H#r1", True),
    (p.ALERT_DELIVERY, "dynamodb:UpdateItem", "acme#ALERTS", False),  # never the rule or its state
    (p.ALERT_DELIVERY, "dynamodb:GetItem", tables.key_lookup_pk("ab12"), False),
    (p.ALERT_DELIVERY, "dynamodb:GetItem", tables.members_pk("acme"), False),
    (p.ALERT_DELIVERY, "dynamodb:Query", tables.counter_pk("acme", "c1", "email"), False),
])
def test_partitions_each_family_may_touch(family, action, partition, allowed):
    assert family.allows(action, p.TABLE, partition) is allowed


def test_who_may_call_what_outside_the_table():
    holders = {action: {f.role_id for f in p.FAMILIES if action in f.actions()}
               for action in ("kinesis:PutRecords", "kinesis:GetRecords", "cognito-idp:AdminCreateUser",
                              "ses:SendEmail", "secretsmanager:GetSecretValue", "sqs:SendMessage")}
    assert holders["kinesis:PutRecords"] == {"ApiRole"}  # only ingest puts on the stream
    assert holders["kinesis:GetRecords"] == {"AggregatorRole"}  # only the aggregator reads it
    assert holders["cognito-idp:AdminCreateUser"] == {"ApiRole"}  # invitations
    # ApiRole: POST /v1/subscriptions/{id}/test, to the signed-in requester's own address, within the quota
    assert holders["ses:SendEmail"] == {"SnapshotsRole", "AlertsRole", "AlertDeliveryRole", "MailerRole", "ApiRole"}
    # email links: the API verifies them; every sender signs its recipients' own
    # (the alert delivery function gets its links signed in the job: it posts to admins' URLs)
    assert holders["secretsmanager:GetSecretValue"] == {"ApiRole", "SnapshotsRole", "AlertsRole", "MailerRole"}
    # the aggregator's on-failure destination; the evaluator queues alert jobs, the delivery re-queues retries
    # the rollup's schedule queues one task per partition for its worker (same family)
    assert holders["sqs:SendMessage"] == {"AggregatorRole", "AlertsRole", "AlertDeliveryRole", "RollupRole"}
    assert {g.resource for f in (p.ALERTS_FAMILY, p.ALERT_DELIVERY) for g in f.grants
            if "sqs:SendMessage" in g.actions} == {p.ALERT_QUEUE}
    authorizer = p.AUTHORIZER.actions()
    assert authorizer == {"dynamodb:GetItem", "dynamodb:Query"}


def test_dynamodb_requests_are_authorised_item_by_item():
    transact = {"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "a#KEYS"}, "sk": {"S": "k"}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "KEY#h"}, "sk": {"S": "KEY"}}}},
        {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "a#MEMBERS"}, "sk": {"S": "u"}}}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "a#AUDIT"}, "sk": {"S": "1"}}}}]}
    assert list(iam_check.dynamodb_actions("TransactWriteItems", transact)) == [
        ("dynamodb:PutItem", "a#KEYS"), ("dynamodb:UpdateItem", "KEY#h"),
        ("dynamodb:ConditionCheckItem", "a#MEMBERS"), ("dynamodb:DeleteItem", "a#AUDIT")]
    query = {"KeyConditionExpression": "#p = :v AND sk BETWEEN :a AND :b", "ExpressionAttributeNames": {"#p": "pk"},
             "ExpressionAttributeValues": {":v": {"S": "USER#x"}, ":a": {"S": "0"}, ":b": {"S": "1"}}}
    assert list(iam_check.dynamodb_actions("Query", query)) == [("dynamodb:Query", "USER#x")]
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": {"pk": {"S": "a#C#c#email"}}}},
                                    {"DeleteRequest": {"Key": {"pk": {"S": "ROLLUP#H#1"}}}}]}}
    assert list(iam_check.dynamodb_actions("BatchWriteItem", batch)) == [
        ("dynamodb:BatchWriteItem", "a#C#c#email"), ("dynamodb:BatchWriteItem", "ROLLUP#H#1")]


def test_a_handler_outside_its_role_is_caught(api, monkeypatch):
    """The check is live: an authorizer that writes to the table is reported."""
    wired = api.wired
    lookup = wired.keys.lookup

    def writing_lookup(key):
        wired.client.put_item(TableName=wired.config.table_name,
                              Item={"pk": {"S": tables.key_lookup_pk("x")}, "sk": {"S": "SEEN"}})
        return lookup(key)

    monkeypatch.setattr(wired.keys, "lookup", writing_lookup)
    assert api.get("/v1/campaigns").status_code == 200
    denied = iam_check.RECORDER.take()
    assert [str(c) for c in denied] == ["KeyAuthorizer called dynamodb:PutItem on partition 'KEY#x'"]


def test_the_stream_path_runs_within_the_aggregator_and_rollup_roles(api):
    """Ingest, then Lambda's view of the pipeline: fold_stream on the shard's
    records and the scheduled rollup, each attributed to its own role."""
    import app as app_module
    two_hours_ago = int(time.time()) // 3600 * 3600 - 2 * 3600 + 600  # a closed hour the rollup rolls
    events = [{"event_id": f"lp-{i}", "timestamp": iso(two_hours_ago + i), "campaign_id": "lp", "channel": "email",
               "type": kind, "profile_id": f"p{i}", "recipient_domain": "example.org"}
              for i, kind in enumerate(("sent", "sent", "delivered", "opened"))]
    headers = {"Authorization": f"Bearer {api.key()}", "Content-Type": "application/json"}
    response = api.client.http.post("/v1/events", headers=headers, body=json.dumps({"events": events}).encode())
    assert response.status_code == 200, response.body
    seen: list[str] = []
    recorder = iam_check.RECORDER
    observe = recorder.observe

    def spy(service, operation, params):
        function = recorder.function_running()
        if function:
            seen.append(function)
        observe(service, operation, params)

    recorder.observe = spy  # type: ignore[method-assign]
    try:
        # the handler as Lambda calls it (event, context); it answers Lambda, not with stats
        api.wired.pump(handler=lambda event: app_module.fold_stream(event, None), roll=False)
        tick = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                   detail={}, resources=[])
        summary = api.client.lambda_.invoke("rollup", tick).payload
    finally:
        recorder.observe = observe  # type: ignore[method-assign]
    assert summary["hours"] >= 1, summary
    assert {"FoldStream", "Rollup"} <= set(seen)
    report = api.get("/v1/campaigns/lp/report?channel=email")
    assert report.status_code == 200, report.body  # read back through the API role
    assert json.loads(report.body)["totals"]["sent"] == 2


def test_the_fanned_out_rollup_runs_within_the_rollup_role(monkeypatch, api):
    """With the stage's rollup queue: the schedule only plans and queues one task per
    partition (no roll-up write), roll_partitions, as the SQS event source calls it,
    rolls each; both within the rollup family, and the hour reads back rolled."""
    import boto3
    import app as app_module
    two_hours_ago = int(time.time()) // 3600 * 3600 - 2 * 3600 + 600
    events = [{"event_id": f"fo-{c}-{i}", "timestamp": iso(two_hours_ago + i), "campaign_id": c, "channel": "email",
               "type": "sent", "profile_id": f"p{i}"} for c in ("fo1", "fo2") for i in range(3)]
    headers = {"Authorization": f"Bearer {api.key()}", "Content-Type": "application/json"}
    assert api.client.http.post("/v1/events", headers=headers,
                                body=json.dumps({"events": events}).encode()).status_code == 200
    api.wired.pump(roll=False)
    sqs = boto3.client("sqs", region_name="eu-west-1")
    url = sqs.create_queue(QueueName="rollup-lp.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setattr(app_module, "_sqs_client", lambda: sqs)
    monkeypatch.setenv("ROLLUP_QUEUE_URL", url)
    calls: list[tuple[str, str]] = []
    recorder = iam_check.RECORDER
    observe = recorder.observe

    def spy(service, operation, params):
        function = recorder.function_running()
        if function:
            calls.append((function, f"{service}:{operation}"))
        observe(service, operation, params)

    recorder.observe = spy  # type: ignore[method-assign]
    try:
        tick = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                   detail={}, resources=[])
        queued = api.client.lambda_.invoke("rollup", tick).payload
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        event = api.client.events.generate_sqs_event(message_bodies=[m["Body"] for m in got],
                                                     queue_name="rollup-lp.fifo")
        answer = api.client.lambda_.invoke("roll_partitions", event).payload
    finally:
        recorder.observe = observe  # type: ignore[method-assign]
    assert queued == {"queued": 2, "refused": 0} and len(got) == 2 and answer == {"batchItemFailures": []}
    schedule = {op for f, op in calls if f == "Rollup"}
    assert "sqs:SendMessageBatch" in schedule and not schedule & {"dynamodb:BatchWriteItem", "dynamodb:PutItem"}
    assert "dynamodb:BatchWriteItem" in {op for f, op in calls if f == "RollPartitions"}
    for c in ("fo1", "fo2"):
        report = json.loads(api.get(f"/v1/campaigns/{c}/report?channel=email").body)
        assert report["totals"]["sent"] == 3


def test_the_alert_schedule_fires_and_records_within_its_role(monkeypatch, api):
    """evaluate_alerts as the schedule runs it, on a spike: it reads counters,
    records state and history, emails, all as the alerts role allows."""
    import boto3
    import app as app_module
    from tests.test_alerts_api import MANAGE, SENDER, minute_events, post, rule_body, sent_messages
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity=SENDER)
    monkeypatch.setattr(app_module, "_ses_client", lambda: ses)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    monkeypatch.setenv("LIVEREPORT_ENV", "test")  # the development link secret
    created = json.loads(post(api, rule_body()).body)
    confirm_all(api.wired)  # ops@example.com said yes to the confirmation request
    now = time.time()
    end = int(now) - int(now) % 60
    events = minute_events("c1", end - 10 * 60, 10, 10, {8: 8}, "lp")  # minute 8 of 10 bounces 8 of 10
    assert json.loads(api.post_events(events, key=api.key("acme", MANAGE)).body)["accepted"] == len(events)
    tick = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                               detail={}, resources=[])
    summary = api.client.lambda_.invoke("evaluate_alerts", tick).payload
    assert summary["fired"] == 1, summary
    assert len(sent_messages()) == 1
    history = json.loads(api.get(f"/v1/alerts/{created['id']}/history", api.key("acme", MANAGE)).body)["history"]
    assert [h["to"] for h in history] == ["firing"]


def test_queued_alerts_run_within_the_evaluator_and_delivery_roles(monkeypatch, api):
    """With the delivery queue: evaluate_alerts, as the schedule runs it, only
    queues the job; deliver_alerts, as the SQS event source calls it, reads the
    rule and its history item, emails, posts the webhook, re-queues the attempt
    the receiver refused and notes each outcome, within its own family. The
    family grants no table action it does not use."""
    import boto3
    import app as app_module
    from tests.test_alerts_api import MANAGE, SENDER, minute_events, post, rule_body, sent_messages
    from tests.test_alerts_deliveries import LaterQueue, Receiver, messages
    ses = boto3.client("sesv2", region_name="eu-west-1")
    ses.create_email_identity(EmailIdentity=SENDER)
    sqs = boto3.client("sqs", region_name="eu-west-1")
    url = sqs.create_queue(QueueName="alert-deliveries-lp")["QueueUrl"]
    monkeypatch.setattr(app_module, "_ses_client", lambda: ses)
    monkeypatch.setattr(app_module, "_sqs_client", lambda: sqs)
    monkeypatch.setattr(app_module, "SqsQueue", LaterQueue)  # a retry's delay is skipped, not its SendMessage
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    monkeypatch.setenv("ALERT_DELIVERY_QUEUE_URL", url)
    monkeypatch.setenv("LIVEREPORT_ALLOW_LOCAL_WEBHOOKS", "1")
    receiver = Receiver(statuses=(503,))  # the first attempt is refused, the second delivered
    try:
        monkeypatch.setenv("LIVEREPORT_ENV", "test")  # the development link secret
        created = json.loads(post(api, rule_body(notify={"emails": ["ops@example.com"],
                                                         "webhook_url": receiver.url})).body)
        confirm_all(api.wired)  # ops@example.com said yes to the confirmation request
        now = time.time()
        end = int(now) - int(now) % 60
        events = minute_events("c1", end - 10 * 60, 10, 10, {8: 8}, "lq")
        assert json.loads(api.post_events(events, key=api.key("acme", MANAGE)).body)["accepted"] == len(events)
        calls: list[tuple[str, str, str | None]] = []
        recorder = iam_check.RECORDER
        observe = recorder.observe

        def spy(service, operation, params):
            function = recorder.function_running()
            if function:
                if service == "dynamodb":
                    calls.extend((function, a, pk) for a, pk in iam_check.dynamodb_actions(operation, params))
                else:
                    calls.append((function, f"{iam_check.SERVICES.get(service, (service,))[0]}:{operation}", None))
            observe(service, operation, params)

        recorder.observe = spy  # type: ignore[method-assign]
        try:
            tick = api.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                       detail={}, resources=[])
            assert api.client.lambda_.invoke("evaluate_alerts", tick).payload["fired"] == 1
            assert sent_messages() == [] and receiver.requests == []  # queued, not sent inline
            for _ in range(2):  # the first attempt, then the retry it queued
                bodies = [m["Body"] for m in messages(LaterQueue(sqs, url))]
                assert len(bodies) == 1, bodies
                event = api.client.events.generate_sqs_event(message_bodies=bodies, queue_name="alert-deliveries-lp")
                assert api.client.lambda_.invoke("deliver_alerts", event).payload == {"batchItemFailures": []}
        finally:
            recorder.observe = observe  # type: ignore[method-assign]
    finally:
        receiver.close()
    assert len(sent_messages()) == 1 and len(receiver.requests) == 2
    history = json.loads(api.get(f"/v1/alerts/{created['id']}/history", api.key("acme", MANAGE)).body)["history"]
    assert history[0]["delivery"]["webhook"]["state"] == "delivered" and history[0]["delivery"]["webhook"]["attempts"] == 2
    evaluator = {a for f, a, _ in calls if f == "EvaluateAlerts"}
    assert "sqs:SendMessage" in evaluator and not {a for a in evaluator if a.startswith("ses:")}
    delivery = [(a, pk) for f, a, pk in calls if f == "DeliverAlerts"]
    assert {"sqs:SendMessage", "ses:SendEmail"} <= {a for a, _ in delivery}
    table_calls = {(a, pk) for a, pk in delivery if a.startswith("dynamodb:")}
    rule_pk, history_pk = "acme#ALERTS", f"acme#ALERTS#H#{created['id']}"
    assert table_calls == {("dynamodb:GetItem", rule_pk), ("dynamodb:GetItem", history_pk),
                           ("dynamodb:UpdateItem", history_pk),
                           ("dynamodb:Query", "acme#CONSENT"),  # who of the rule's recipients confirmed
                           ("dynamodb:UpdateItem", "acme#QUOTA")}  # the email's place in the day's quota
    granted = {a for g in p.ALERT_DELIVERY.grants if g.resource == p.TABLE for a in g.actions}
    assert granted == {a for a, _ in table_calls}
