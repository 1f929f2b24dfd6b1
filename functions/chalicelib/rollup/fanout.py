"""The rollup fanned out: the minute's schedule plans, a queue's worker rolls.

One Lambda walking every open partition overruns its minute past a few hundred
active campaign-channels (docs/scale.md). Instead the schedule lists the partitions
that moved (`Rollup.plan`: idle ones are left out) and sends one message per
partition and hour (or day) to a FIFO queue; the worker (`roll_partitions`) rolls
each from its entry as it is then (`Rollup.roll_task`).

The queue is FIFO with the counter partition as message group: DynamoDB has no
lease per partition here, and two rolls of one partition at once could let an
older sum overwrite a newer one; a group is delivered one message at a time, so
one partition is rolled by one worker at a time while different partitions roll
in parallel. The deduplication id holds the minute, so a schedule retried within
the minute does not queue a partition twice.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from .parts import RollupStats
from .runner import Rollup, Task

logger = logging.getLogger(__name__)
SEND_BATCH = 10  # SendMessageBatch's limit


def body_of(task: Task) -> str:
    return json.dumps({"g": task.gran, "b": task.bucket, "pk": task.pk}, separators=(",", ":"))


def task_of(body: str) -> Task:
    """A message body back to its task; ValueError for anything else."""
    try:
        data = json.loads(body)
        task = Task(str(data["g"]), str(data["b"]), str(data["pk"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a rollup task: {exc}") from None
    if task.gran not in ("H", "D") or not task.bucket.isdigit() or not task.pk:
        raise ValueError("not a rollup task: bad granularity, bucket or partition")
    return task


class RollupQueue:
    """The stage's rollup queue (ROLLUP_QUEUE_URL): FIFO, one group per counter partition."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, tasks: list[Task], minute: int) -> int:
        """Queue every task; returns how many the queue refused (logged; planned again next minute)."""
        refused = 0
        for i in range(0, len(tasks), SEND_BATCH):
            chunk = tasks[i:i + SEND_BATCH]
            entries = [{"Id": str(n), "MessageBody": body_of(t), "MessageGroupId": _digest(t.pk),
                        "MessageDeduplicationId": _digest(f"{body_of(t)}|{minute}")} for n, t in enumerate(chunk)]
            failed = self.client.send_message_batch(QueueUrl=self.url, Entries=entries).get("Failed", [])
            for f in failed:
                logger.error("rollup task not queued", extra={"code": f.get("Code"), "why": f.get("Message")})
            refused += len(failed)
        return refused


@dataclass
class DispatchStats:
    planned: int = 0
    refused: int = 0


def dispatch(rollup: Rollup, queue: RollupQueue, now: float) -> DispatchStats:
    """The minute's schedule when fanned out: plan, then one message per partition task."""
    tasks = rollup.plan(now)
    return DispatchStats(len(tasks), queue.send(tasks, int(now) // 60))


def handle_records(records: list[tuple[str, str]], rollup: Rollup, now: float) -> tuple[list[str], RollupStats]:
    """(message id, body) pairs of one SQS batch → (ids to retry, what was rolled).
    A body that is no task is dropped (logged): retrying it cannot help. The queue is
    FIFO: after a failure the rest of the batch is handed back unprocessed, as Lambda
    requires of partial batch responses on FIFO queues (order within a group)."""
    failed: list[str] = []
    total = RollupStats()
    for index, (message_id, body) in enumerate(records):
        try:
            task = task_of(body)
        except ValueError as exc:
            logger.error("rollup message dropped", extra={"message_id": message_id, "why": str(exc)})
            continue
        try:
            total.merge(rollup.roll_task(task, now))
        except Exception:  # noqa: BLE001 - this message is retried, the batch's others are not
            logger.exception("rollup task failed", extra={"pk": task.pk, "bucket": task.bucket})
            return [m for m, _ in records[index:]], total
    return failed, total


def _digest(text: str) -> str:
    """SQS group and deduplication ids: at most 128 characters; partition keys may be longer."""
    return hashlib.sha256(text.encode()).hexdigest()
