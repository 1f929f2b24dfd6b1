"""What each Lambda function may do, as data: one role per function family.

The stack turns every :class:`Family` into an IAM role (``stack.py``), and the
test suite checks every AWS call the handlers make against the same data
(``tests/iam_check.py``, on in every test): a handler that calls something its
role does not allow fails its tests here instead of answering AccessDenied in
AWS. Plain Python on purpose (no CDK import), so tests load it in milliseconds.

Resources are symbolic (``TABLE``, ``STREAM``...): the stack maps each to the
ARN of the resource it created. DynamoDB writes are limited to the partitions a
family owns (``dynamodb:LeadingKeys``, matched with IAM's ``StringLike``), so
the internet-facing API handler cannot write counters, and only the aggregator
and the rollup can. Patterns come from the key functions themselves
(``chalicelib/tables.py`` and the stores), called with ``*``.

**Adding a function** (``@app.lambda_function``, ``@app.on_sqs_message``...):
add its logical id (Chalice's CamelCase of the function name) to a family, or
add a :class:`Family`; the synth fails on a function that belongs to none.
A new resource kind (a queue...) is a new symbolic name here plus one entry in
``LiveReportStack.resource_arns``.
"""
from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parents[2] / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)

from chalicelib import hot_flags, rollup, tables  # noqa: E402
from chalicelib.fold import parking  # noqa: E402
from chalicelib.accounts import invitations  # noqa: E402
from chalicelib.alerts import store as alerts_store  # noqa: E402
from chalicelib.consent import outbox, quota, store as consent_store  # noqa: E402
from chalicelib.live_push import connections as live_connections, report_cache  # noqa: E402
from chalicelib.snapshots import subscriptions  # noqa: E402
from chalicelib.webhooks import sources as webhook_sources  # noqa: E402

# --- symbolic resources (LiveReportStack.resource_arns maps them to ARNs) -------------
TABLE = "table"
STREAM = "stream"
FAILURE_QUEUE = "aggregator_failures"
#: alert notifications between the evaluator and the delivery function (infra/cdk/deliveries.py)
ALERT_QUEUE = "alert_deliveries"
#: rollup tasks between the schedule and its workers, one per partition (infra/cdk/rollups.py)
ROLLUP_QUEUE = "rollup_tasks"
SENDER_IDENTITY = "sender_identity"
USER_POOL = "user_pool"
UNSUBSCRIBE_SECRET = "unsubscribe_secret"
#: keys the recipients of events that name no profile (chalicelib/profile_keys.py): ingest only
PROFILE_KEY_SECRET = "profile_key_secret"
DASHBOARD_URL_PARAMETER = "dashboard_url_parameter"
#: the live channel's WebSocket API (its connections: infra/cdk/live.py)
SOCKET_API = "socket_api"

# --- actions ------------------------------------------------------------------------
#: Point reads and queries. TransactWriteItems has no action of its own: each of
#: its items is authorised as the PutItem, UpdateItem, DeleteItem or
#: ConditionCheckItem it is, with that item's partition as dynamodb:LeadingKeys.
READ = ("dynamodb:GetItem", "dynamodb:Query")
BATCH_READ = ("dynamodb:BatchGetItem",)
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
#: The rollup's minute -> hour/day items (CounterStore.batch_put).
BATCH_WRITE = ("dynamodb:BatchWriteItem",)
#: Ingest (POST /v1/events, webhooks) puts with PutRecords only (chalicelib/stream.py).
STREAM_WRITE = ("kinesis:PutRecords",)
#: What Lambda's event source mapping needs (Lambda developer guide, "Process
#: Kinesis Data Streams records with Lambda"; SubscribeToShard only for
#: enhanced fan-out, not used), which also covers the aggregator's read-back of
#: a pinned fold. kinesis:ListStreams is not resource-scoped and not needed.
STREAM_READ = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
               "kinesis:GetShardIterator", "kinesis:ListShards")
#: Lambda sends the metadata of a batch it gives up on with the function's role.
SEND_TO_QUEUE = ("sqs:SendMessage",)
#: What Lambda's SQS event source needs on the queue, with the function's role
#: (Lambda developer guide, "Using Lambda with Amazon SQS").
CONSUME_QUEUE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")
#: SES v2 SendEmail (Content.Raw) is authorised as both actions on the identity.
SEND_EMAIL = ("ses:SendEmail", "ses:SendRawEmail")
#: Invitations: create a user and find one by email (chalicelib/accounts/directory.py).
INVITE_USERS = ("cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser")
READ_SECRET = ("secretsmanager:GetSecretValue",)
READ_PARAMETER = ("ssm:GetParameter",)
#: Post to, close and look up a WebSocket connection (apigatewaymanagementapi), scoped to the API's stage.
MANAGE_CONNECTIONS = ("execute-api:ManageConnections",)

# --- partitions (dynamodb:LeadingKeys patterns) -----------------------------------------
ANY = "*"
COUNTERS = tables.counter_pk(ANY, ANY, ANY)  # counters, sketches, the dimension guard (…#C#…#DIMS)
CAMPAIGNS = tables.campaigns_pk(ANY)
SHARD_STATE = tables.shard_state_pk(ANY, ANY)
ROLLUP_WORK = tables.rollup_pk(ANY, ANY)
ROLLUP_LEASE = rollup.LEASE_PK  # one rollup at a time
#: Undecodable stream records and refused item writes the aggregator sets aside (chalicelib/aggregator.py).
DEADLETTER = "DEADLETTER"
#: Records whose request had not committed yet, and the index of shards holding some (chalicelib/fold/parking.py).
PARKED = parking.parked_pk(ANY, ANY)
PARKED_INDEX = parking.parked_index_pk(ANY)
LEDGER = tables.batch_pk(ANY, ANY)
KEY_LOOKUP = tables.key_lookup_pk(ANY)
KEYS = tables.keys_pk(ANY)
MEMBERS = tables.members_pk(ANY)
USERS = tables.user_pk(ANY)
AUDIT = tables.audit_pk(ANY)
SUBSCRIPTIONS = subscriptions.subs_pk(ANY)
SUBSCRIPTION_REGISTRY = subscriptions.REGISTRY_PK
ALERTS = alerts_store.alerts_pk(ANY)
ALERT_HISTORY = alerts_store.history_pk(ANY, ANY)
ALERT_REGISTRY = alerts_store.REGISTRY_PK
SOURCE_LOOKUP = webhook_sources._lookup_pk(ANY)  # noqa: SLF001 (the module's own key function)
SOURCES = webhook_sources._listing_pk(ANY)  # noqa: SLF001
MAILGUN_TOKENS = f"{ANY}#MGTOKEN#{ANY}"
CURRENCIES = tables.currency_pk(ANY)  # chalicelib/currencies.py: a campaign's currency, set by ingest
EXPERIMENT_SETTINGS = tables.experiments_pk(ANY)  # chalicelib/webhooks/mailgun.py: one use per signed token
#: Recipients' consent per list and "don't ask again" (chalicelib/consent/store.py)
CONSENT = consent_store.consent_pk(ANY)
#: The daily email quota's counters (chalicelib/consent/quota.py): every sender reserves there
QUOTA = quota.quota_pk(ANY)
INVITATIONS = invitations.invites_pk(ANY)
#: Emails the API queues for the scheduled mailer (confirmation requests, invitations)
MAIL_OUTBOX = outbox.OUTBOX_PK
#: The live channel (chalicelib/live_push): connection records, subscriptions, each workspace's open
#: connections, and the shared live report cache.
LIVE_CONNECTIONS = live_connections.connection_pk(ANY)
LIVE_SUBSCRIPTIONS = live_connections.subscribers_pk(ANY, ANY)
LIVE_WORKSPACES = live_connections.workspace_pk(ANY)
LIVE_REPORT_CACHE = report_cache.cache_pk(ANY, ANY)
#: Campaigns the aggregator found hot, one item each, read by ingest to salt their records (chalicelib/hot_flags.py)
HOT_FLAGS = hot_flags.hot_pk(ANY)


@dataclass(frozen=True)
class Grant:
    """One Allow statement: actions on one symbolic resource, optionally only
    on items whose partition key matches one of ``partitions``."""

    sid: str
    actions: tuple[str, ...]
    resource: str
    partitions: tuple[str, ...] = ()

    def allows(self, action: str, resource: str, partition: str | None = None) -> bool:
        if action not in self.actions or resource != self.resource:
            return False
        if not self.partitions:
            return True
        return partition is not None and any(fnmatch.fnmatchcase(partition, p) for p in self.partitions)


@dataclass(frozen=True)
class Family:
    """Functions that run as one role. ``role_id`` is the role's construct id."""

    role_id: str
    description: str
    #: Chalice logical ids of the functions (app.py names in CamelCase).
    functions: tuple[str, ...]
    grants: tuple[Grant, ...]

    def allows(self, action: str, resource: str, partition: str | None = None) -> bool:
        return any(g.allows(action, resource, partition) for g in self.grants)

    def actions(self) -> set[str]:
        return {a for g in self.grants for a in g.actions}


API = Family(
    "ApiRole", "API handler: reads the table, writes the partitions its routes own, puts events to the "
    "stream, verifies unsubscribe and confirm links, invites users",
    ("APIHandler",),
    (Grant("ReadTable", READ, TABLE),
     Grant("WriteOwnPartitions", WRITE, TABLE, (
         LEDGER, KEY_LOOKUP, KEYS, MEMBERS, USERS, AUDIT, SUBSCRIPTIONS, SUBSCRIPTION_REGISTRY,
         ALERTS, ALERT_HISTORY, ALERT_REGISTRY, SOURCE_LOOKUP, SOURCES, MAILGUN_TOKENS, CURRENCIES,
         EXPERIMENT_SETTINGS, CONSENT, QUOTA, INVITATIONS, MAIL_OUTBOX, LIVE_REPORT_CACHE)),
     # a new list's "don't ask me again" addresses, looked up in one call
     Grant("DeclinedInOneCall", BATCH_READ, TABLE, (CONSENT,)),
     Grant("PutEvents", STREAM_WRITE, STREAM),
     Grant("UnsubscribeSecret", READ_SECRET, UNSUBSCRIBE_SECRET),
     Grant("ProfileKeySecret", READ_SECRET, PROFILE_KEY_SECRET),
     Grant("InviteUsers", INVITE_USERS, USER_POOL),
     # POST /v1/subscriptions/{id}/test: one snapshot to the signed-in requester's own address
     Grant("SendTestSnapshots", SEND_EMAIL, SENDER_IDENTITY),
     Grant("DashboardUrl", READ_PARAMETER, DASHBOARD_URL_PARAMETER)))

AUTHORIZER = Family(
    "AuthorizerRole", "key authorizer: reads API keys and users' memberships, nothing else",
    ("KeyAuthorizer",),
    (Grant("ReadKeysAndMemberships", READ, TABLE, (KEY_LOOKUP, USERS)),))

SNAPSHOTS = Family(
    "SnapshotsRole", "snapshot sender: reads reports and subscriptions, records what it sent, sends email",
    ("SendDueSnapshots",),
    (Grant("ReadTable", READ + BATCH_READ, TABLE),
     Grant("RecordSends", ("dynamodb:UpdateItem",), TABLE, (SUBSCRIPTIONS, QUOTA)),
     Grant("SendSnapshots", SEND_EMAIL, SENDER_IDENTITY),
     Grant("UnsubscribeSecret", READ_SECRET, UNSUBSCRIBE_SECRET)))

ALERTS_FAMILY = Family(
    "AlertsRole", "alert evaluator: reads counters and rules, records alert state and history, sends email",
    ("EvaluateAlerts",),
    (Grant("ReadTable", READ, TABLE),
     Grant("RecordAlerts", ("dynamodb:PutItem", "dynamodb:UpdateItem"), TABLE, (ALERTS, ALERT_HISTORY)),
     # Inline delivery when the queue refuses a job (chalicelib/alerts/runner.py): its emails too,
     # to confirmed recipients within the daily quota, each with a signed unsubscribe link.
     Grant("ReserveQuota", ("dynamodb:UpdateItem",), TABLE, (QUOTA,)),
     Grant("SendAlerts", SEND_EMAIL, SENDER_IDENTITY),
     Grant("UnsubscribeSecret", READ_SECRET, UNSUBSCRIBE_SECRET),
     Grant("QueueDeliveries", SEND_TO_QUEUE, ALERT_QUEUE)))

#: The alert delivery function (chalicelib/alerts/deliveries.py) posts to
#: URLs workspace admins chose: it reads only the alert partitions (the rule
#: and the history item it reports on) and the rule's recipients' consent
#: (emails go to confirmed addresses only), so a receiver that exploits it
#: finds no keys, members or counters; it writes only the history item's
#: outcome and the day's email quota.
ALERT_DELIVERY = Family(
    "AlertDeliveryRole", "alert deliveries: reads rules and their history, records each notification's "
    "outcome, sends email, consumes its queue and re-queues retries",
    ("DeliverAlerts",),
    (Grant("ReadAlerts", ("dynamodb:GetItem",), TABLE, (ALERTS, ALERT_HISTORY)),  # point reads, no Query
     Grant("ReadConsent", ("dynamodb:Query",), TABLE, (CONSENT,)),  # the rule's recipients: who confirmed
     Grant("RecordDeliveries", ("dynamodb:UpdateItem",), TABLE, (ALERT_HISTORY,)),
     Grant("ReserveQuota", ("dynamodb:UpdateItem",), TABLE, (QUOTA,)),
     Grant("SendAlerts", SEND_EMAIL, SENDER_IDENTITY),  # unsubscribe links come signed in the job
     Grant("ConsumeDeliveries", CONSUME_QUEUE, ALERT_QUEUE),
     # a webhook attempt that may succeed later goes back on the queue as a delayed message
     Grant("RetryDeliveries", SEND_TO_QUEUE, ALERT_QUEUE)))

MAILER = Family(
    "MailerRole", "mailer: sends queued confirmation requests and invitations, records that it did",
    ("SendQueuedEmails",),
    (Grant("ReadTable", READ, TABLE),
     Grant("RecordRequests", ("dynamodb:UpdateItem",), TABLE, (CONSENT, QUOTA, MAIL_OUTBOX)),
     Grant("DropSent", ("dynamodb:DeleteItem",), TABLE, (MAIL_OUTBOX,)),
     Grant("SendRequests", SEND_EMAIL, SENDER_IDENTITY),
     Grant("ConfirmSecret", READ_SECRET, UNSUBSCRIBE_SECRET)))

AGGREGATOR = Family(
    "AggregatorRole", "aggregator: reads the stream and the ledger, folds into counters, its failure queue",
    ("FoldStream", "DrainParked"),
    (Grant("ReadTable", READ + BATCH_READ, TABLE),
     Grant("Fold", WRITE, TABLE, (COUNTERS, CAMPAIGNS, SHARD_STATE, ROLLUP_WORK, DEADLETTER, PARKED,
                                  PARKED_INDEX, HOT_FLAGS)),
     Grant("ReadEvents", STREAM_READ, STREAM),
     Grant("FailedBatches", SEND_TO_QUEUE, FAILURE_QUEUE),
     # after a fold: tell the subscribed pages, forget the connections that are gone
     Grant("ForgetGoneConnections", ("dynamodb:DeleteItem",), TABLE,
           (LIVE_CONNECTIONS, LIVE_SUBSCRIPTIONS, LIVE_WORKSPACES)),
     Grant("NotifyPages", MANAGE_CONNECTIONS, SOCKET_API)))

#: The live channel's $connect, message and $disconnect handlers (chalicelib/live_push/sockets.py):
#: they authorise a page as the REST authorizer does (keys, users' memberships), record its
#: connection and subscriptions, and answer it on its connection.
LIVE_SOCKETS = Family(
    "LiveSocketsRole", "live channel: authorises pages, records their connections and subscriptions, answers them",
    ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"),
    (Grant("ReadKeysMembershipsConnections", READ, TABLE,
           (KEY_LOOKUP, USERS, LIVE_CONNECTIONS, LIVE_WORKSPACES)),
     Grant("RecordConnections", ("dynamodb:PutItem", "dynamodb:DeleteItem"), TABLE,
           (LIVE_CONNECTIONS, LIVE_SUBSCRIPTIONS, LIVE_WORKSPACES)),
     Grant("AnswerPages", MANAGE_CONNECTIONS, SOCKET_API)))

ROLLUP = Family(
    "RollupRole", "rollup: minutes -> hours -> days in the counter partitions; the schedule queues one "
                  "task per partition, the worker rolls it",
    ("Rollup", "RollPartitions"),
    (Grant("ReadTable", READ, TABLE),
     Grant("Roll", WRITE + BATCH_WRITE, TABLE, (COUNTERS, ROLLUP_WORK, ROLLUP_LEASE)),
     # a re-rolled hour (late minutes) moves its campaign's change stamp
     Grant("StampCampaigns", ("dynamodb:UpdateItem",), TABLE, (CAMPAIGNS,)),
     Grant("QueueTasks", SEND_TO_QUEUE, ROLLUP_QUEUE),  # SendMessageBatch is authorised as SendMessage
     Grant("ConsumeTasks", CONSUME_QUEUE, ROLLUP_QUEUE)))

#: The user pool's custom-message trigger (invitation wording): reads the
#: dashboard's address, nothing in the table.
COGNITO_MESSAGE = Family(
    "CognitoMessageRole", "Cognito custom-message trigger: the dashboard's address",
    ("CognitoCustomMessage",),
    (Grant("DashboardUrl", READ_PARAMETER, DASHBOARD_URL_PARAMETER),))

FAMILIES: tuple[Family, ...] = (API, AUTHORIZER, SNAPSHOTS, ALERTS_FAMILY, ALERT_DELIVERY, MAILER, AGGREGATOR,
                                ROLLUP, COGNITO_MESSAGE, LIVE_SOCKETS)


def family_of(function: str) -> Family | None:
    return next((f for f in FAMILIES if function in f.functions), None)


def check_families(families: tuple[Family, ...] = FAMILIES) -> None:
    """One family per function, one role id per family."""
    seen: dict[str, str] = {}
    for family in families:
        for function in family.functions:
            if function in seen:
                raise ValueError(f"{function} is in two families: {seen[function]} and {family.role_id}")
            seen[function] = family.role_id
    if len({f.role_id for f in families}) != len(families):
        raise ValueError("two families share a role id")


check_families()
