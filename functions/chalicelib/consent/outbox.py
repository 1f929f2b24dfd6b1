"""Emails waiting to be sent by the scheduled mailer (consent/mailer.py).

  pk `MAIL#OUTBOX`   sk `{workspace}#{kind}#{key}`   workspace, kind, key, attempts, last_error

Confirmation requests (kind `C`, key `{list}#{address}`) and invitations of
people who already have an account (kind `I`, key their user id) are queued
here by the API and sent within a minute by a scheduled function, which
knows the public URLs the links need, paces SES and respects the daily
quota. `MAIL#OUTBOX` is upper case, so it can never be a workspace's key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

OUTBOX_PK = "MAIL#OUTBOX"
CONSENT_REQUEST = "C"
INVITATION = "I"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Queued:
    workspace: str
    kind: str
    key: str
    attempts: int = 0

    @property
    def sk(self) -> str:
        return f"{self.workspace}#{self.kind}#{self.key}"


def put_request(table: str, queued: Queued) -> dict[str, Any]:
    """A BatchWriteItem / TransactWriteItems-ready Put of one queued email."""
    return {"TableName": table, "Item": {"pk": {"S": OUTBOX_PK}, "sk": {"S": queued.sk},
                                         "workspace": {"S": queued.workspace}, "kind": {"S": queued.kind},
                                         "key": {"S": queued.key}, "attempts": {"N": "0"}}}


class Outbox:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client, self.table = client, table_name

    def add(self, queued: Queued) -> None:
        self.client.put_item(**put_request(self.table, queued))

    def pending(self) -> Iterator[Queued]:
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": {"S": OUTBOX_PK}}, "ConsistentRead": True}
        while True:
            page = self.client.query(**kwargs)
            for item in page["Items"]:
                yield Queued(item["workspace"]["S"], item["kind"]["S"], item["key"]["S"],
                             int(item.get("attempts", {}).get("N", "0")))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def done(self, queued: Queued) -> None:
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": OUTBOX_PK}, "sk": {"S": queued.sk}})

    def failed(self, queued: Queued, error: str) -> int:
        """One more failed attempt; the count so far (the mailer gives up at MAX_ATTEMPTS)."""
        answer = self.client.update_item(
            TableName=self.table, Key={"pk": {"S": OUTBOX_PK}, "sk": {"S": queued.sk}},
            UpdateExpression="ADD attempts :one SET last_error = :e", ReturnValues="UPDATED_NEW",
            ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"S": error[:300]}})
        return int(answer["Attributes"]["attempts"]["N"])

    def drop(self, workspace: str, kind: str, key: str) -> None:
        self.done(Queued(workspace, kind, key))
