"""The alert delivery queue (docs/alerts.md): evaluate_alerts enqueues one job per
state change, deliver_alerts (an SQS consumer) sends it: the queue, its
dead-letter queue, the consumer's event source and timeout, the queue's URL in
both functions' environment, and an alarm on the dead letters.

Who may do what on the queue is in the permission model
(infra/cdk/permissions.py: ALERT_QUEUE, the AlertDeliveryRole family and the
alerts family's send), like every other role: the stack gives each packaged
function its family's role.
"""
from __future__ import annotations

from typing import Any, Callable

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk import permissions

#: Logical ids in the Chalice template (functions/app.py: evaluate_alerts, deliver_alerts).
EVALUATE_FUNCTION = "EvaluateAlerts"
DELIVER_FUNCTION = "DeliverAlerts"
#: Jobs per invocation; each costs at most one webhook deadline (10 s) plus its emails.
BATCH_SIZE = 5
DELIVER_TIMEOUT_S = 90
#: AWS: a visibility timeout of at least six times the function's timeout.
VISIBILITY_TIMEOUT_S = 6 * DELIVER_TIMEOUT_S
#: A job the function raised on five times (store down, a bug) goes to the dead letters.
MAX_RECEIVES = 5


class AlertDeliveries(Construct):
    def __init__(self, scope: Construct, construct_id: str, removal: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=Duration.days(14), removal_policy=removal)
        self.queue = sqs.Queue(
            self, "Queue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_S), retention_period=Duration.days(1),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.dead_letters),
            removal_policy=removal)

    def event_source_properties(self) -> dict[str, Any]:
        """Partial batch failures: a job that raised is retried alone (app.deliver_alerts
        returns batchItemFailures); a webhook that failed is not an error, it is re-queued."""
        return {"Queue": self.queue.queue_arn, "BatchSize": BATCH_SIZE,
                "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": True}

    def wire(self, stack: Any) -> None:
        """The consumer's timeout and event source; the functions whose role may use the
        queue (the evaluator, the consumer) get its URL. (`stack` is the LiveReportStack.)"""
        functions = set(stack.function_names())
        if not {EVALUATE_FUNCTION, DELIVER_FUNCTION} <= functions:
            raise ValueError(f"functions/app.py no longer defines {EVALUATE_FUNCTION} and {DELIVER_FUNCTION}")
        template = stack.sam_template()["Resources"][DELIVER_FUNCTION]["Properties"].get("Events", {})
        events = [name for name, e in template.items() if e.get("Type") == "SQS"]
        if len(events) != 1:
            raise ValueError(f"expected one SQS event source on {DELIVER_FUNCTION}")
        deliver = stack.chalice.get_resource(DELIVER_FUNCTION)
        deliver.add_property_override("Timeout", DELIVER_TIMEOUT_S)
        deliver.add_property_override(f"Events.{events[0]}.Properties", self.event_source_properties())
        for name in stack.functions_granted(permissions.ALERT_QUEUE):
            stack.chalice.add_environment_variable("ALERT_DELIVERY_QUEUE_URL", self.queue.queue_url, name)

    def alarms(self, alarm: Callable[..., None]) -> None:
        alarm("AlertDeliveryDeadLetters", self.dead_letters.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=Duration.minutes(5)),
              1, "Alert notifications the delivery function failed on five times (store errors, a bug): "
                 "they are in the dead-letter queue, unsent")
