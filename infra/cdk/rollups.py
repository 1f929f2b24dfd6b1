"""The rollup fanned out (docs/design.md, Roll-ups; docs/scale.md): the minute's
schedule (`rollup`) plans one task per partition that moved and sends it to a FIFO
queue; `roll_partitions` (an SQS consumer) rolls each. The queue, its dead-letter
queue, the consumer's event source and timeout, the queue's URL in both functions'
environment, and an alarm on the dead letters.

FIFO, one message group per counter partition (chalicelib/rollup/fanout.py): one
partition is rolled by one worker at a time, different partitions in parallel.
Who may do what on the queue is in the permission model (infra/cdk/permissions.py:
ROLLUP_QUEUE, the RollupRole family).
"""
from __future__ import annotations

from typing import Any, Callable

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk import permissions

#: Logical ids in the Chalice template (functions/app.py: rollup, roll_partitions).
SCHEDULE_FUNCTION = "Rollup"
WORKER_FUNCTION = "RollPartitions"
#: Partition tasks per invocation: each is a few queries and writes (~0.2-0.5 s).
BATCH_SIZE = 10
WORKER_TIMEOUT_S = 120
#: AWS: a visibility timeout of at least six times the function's timeout.
VISIBILITY_TIMEOUT_S = 6 * WORKER_TIMEOUT_S
#: A task the worker raised on five times goes to the dead letters (its partition is
#: planned again by the next minute's schedule anyway while its entry is ahead).
MAX_RECEIVES = 5


class RollupFanOut(Construct):
    def __init__(self, scope: Construct, construct_id: str, removal: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", fifo=True, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=Duration.days(14), removal_policy=removal)
        self.queue = sqs.Queue(
            self, "Queue", fifo=True, content_based_deduplication=False,
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_S), retention_period=Duration.hours(1),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.dead_letters),
            removal_policy=removal)

    def event_source_properties(self) -> dict[str, Any]:
        """Partial batch failures: after a failed task the rest of the batch comes back (FIFO)."""
        return {"Queue": self.queue.queue_arn, "BatchSize": BATCH_SIZE,
                "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": True}

    def wire(self, stack: Any) -> None:
        """The worker's timeout and event source; the functions whose role may use the queue
        (the schedule, the worker) get its URL. (`stack` is the LiveReportStack.)"""
        functions = set(stack.function_names())
        if not {SCHEDULE_FUNCTION, WORKER_FUNCTION} <= functions:
            raise ValueError(f"functions/app.py no longer defines {SCHEDULE_FUNCTION} and {WORKER_FUNCTION}")
        template = stack.sam_template()["Resources"][WORKER_FUNCTION]["Properties"].get("Events", {})
        events = [name for name, e in template.items() if e.get("Type") == "SQS"]
        if len(events) != 1:
            raise ValueError(f"expected one SQS event source on {WORKER_FUNCTION}")
        worker = stack.chalice.get_resource(WORKER_FUNCTION)
        worker.add_property_override("Timeout", WORKER_TIMEOUT_S)
        worker.add_property_override(f"Events.{events[0]}.Properties", self.event_source_properties())
        for name in stack.functions_granted(permissions.ROLLUP_QUEUE):
            stack.chalice.add_environment_variable("ROLLUP_QUEUE_URL", self.queue.queue_url, name)

    def alarms(self, alarm: Callable[..., None]) -> None:
        alarm("RollupDeadLetters", self.dead_letters.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=Duration.minutes(5)),
              1, "Rollup tasks the worker failed on five times (store errors, a bug): their partitions are "
                 "planned again each minute while behind, but look at the worker's errors")
