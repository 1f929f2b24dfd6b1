"""Each recipient's consent, per list (a subscription or an alert rule), in the single table.

  pk `{ws}#CONSENT`   sk `L#{list}#{address}`   address, list, status, lang, what, inviter,
                                                 created_at, requested_at, confirmed_at, unsubscribed_at,
                                                 via, request_error
  pk `{ws}#CONSENT`   sk `X#{address}`          "don't ask me again": the person declined a request

`status` is `pending` (asked, not answered), `confirmed` (they said yes, or
they are a member of the workspace) or `unsubscribed` (they left, or said
no). Only `confirmed` addresses are sent snapshots and alerts. A pending
address gets one confirmation request (queued in consent/outbox.py); an
address that declined with "don't ask again" is never asked by this
workspace again: later lists record it as `unsubscribed` at once.
Addresses are keyed lower-cased; `address` keeps them as typed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from botocore.exceptions import ClientError

from .lists import ListContext
from .outbox import CONSENT_REQUEST, OUTBOX_PK, Outbox, Queued, put_request

PENDING, CONFIRMED, UNSUBSCRIBED = "pending", "confirmed", "unsubscribed"
STATUSES = (PENDING, CONFIRMED, UNSUBSCRIBED)


def consent_pk(workspace: str) -> str:
    return f"{workspace}#CONSENT"


def _sk(list_ref: str, address: str) -> str:
    return f"L#{list_ref}#{address.lower()}"


def _num(item: dict[str, Any], name: str) -> Optional[int]:
    raw = item.get(name, {}).get("N")
    return int(raw) if raw is not None else None


@dataclass(frozen=True)
class Recipient:
    workspace: str
    list_ref: str
    address: str
    status: str
    lang: str = "en"
    what: str = ""
    inviter: str = ""
    created_at: int = 0
    requested_at: Optional[int] = None  # when the confirmation request went out
    confirmed_at: Optional[int] = None
    unsubscribed_at: Optional[int] = None
    via: str = ""  # member | link | declined | page | one-click | do-not-ask | migration
    request_error: str = ""  # why the confirmation request could not go out (quota, SES)

    @classmethod
    def from_item(cls, workspace: str, item: dict[str, Any]) -> "Recipient":
        s = lambda name: item.get(name, {}).get("S", "")  # noqa: E731
        return cls(workspace, s("list"), s("address"), s("status") or PENDING, s("lang") or "en", s("what"),
                   s("inviter"), _num(item, "created_at") or 0, _num(item, "requested_at"),
                   _num(item, "confirmed_at"), _num(item, "unsubscribed_at"), s("via"), s("request_error"))

    def public(self) -> dict[str, Any]:
        """What the subscriptions and alerts APIs show for each recipient."""
        return {"address": self.address, "status": self.status, "requested_at": self.requested_at,
                "confirmed_at": self.confirmed_at, "unsubscribed_at": self.unsubscribed_at,
                **({"note": self.request_error} if self.request_error and self.status == PENDING else {})}


def pending_status(address: str) -> dict[str, Any]:
    """A recipient with no consent item (a list made before consent existed, not migrated): not sent to."""
    return {"address": address, "status": PENDING, "requested_at": None, "confirmed_at": None,
            "unsubscribed_at": None, "note": "no confirmation requested (list created before consent)"}


class ConsentStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client, self.table = client, table_name
        self.outbox = Outbox(client, table_name)

    def _key(self, workspace: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": consent_pk(workspace)}, "sk": {"S": sk}}

    # --- registration --------------------------------------------------------
    def register(self, workspace: str, list_ref: str, addresses: Iterable[str], members: set[str],
                 context: ListContext, now: float, confirmed_via: str = "member") -> dict[str, Recipient]:
        """Record a new list's recipients: `members` (lower-cased) confirmed, people who said
        "don't ask again" unsubscribed, everyone else pending with a confirmation request queued.
        `confirmed_via` says why `members` need no request (`member`; `migration`, `demo`)."""
        addresses = list(addresses)
        blocked = self._blocked(workspace, [a for a in addresses if a.lower() not in members])
        out: dict[str, Recipient] = {}
        writes: list[dict[str, Any]] = []
        for address in addresses:
            low = address.lower()
            if low in members:
                status, via = CONFIRMED, confirmed_via
            elif low in blocked:
                status, via = UNSUBSCRIBED, "do-not-ask"
            else:
                status, via = PENDING, ""
            r = Recipient(workspace, list_ref, address, status, context.lang, context.what, context.inviter,
                          int(now), confirmed_at=int(now) if status == CONFIRMED else None,
                          unsubscribed_at=int(now) if status == UNSUBSCRIBED else None, via=via)
            out[low] = r
            writes.append({"Put": {"TableName": self.table, "Item": self._item(r)}})
            if status == PENDING:
                queued = Queued(workspace, CONSENT_REQUEST, f"{list_ref}#{low}")
                writes.append({"Put": put_request(self.table, queued)})
        self._write(writes)
        return out

    def _item(self, r: Recipient) -> dict[str, Any]:
        item: dict[str, Any] = {**self._key(r.workspace, _sk(r.list_ref, r.address)),
                                "address": {"S": r.address}, "list": {"S": r.list_ref}, "status": {"S": r.status},
                                "lang": {"S": r.lang}, "what": {"S": r.what[:500]}, "inviter": {"S": r.inviter[:300]},
                                "created_at": {"N": str(r.created_at)}}
        for name in ("confirmed_at", "unsubscribed_at"):
            if getattr(r, name) is not None:
                item[name] = {"N": str(getattr(r, name))}
        if r.via:
            item["via"] = {"S": r.via}
        return item

    def _blocked(self, workspace: str, addresses: list[str]) -> set[str]:
        keys = [self._key(workspace, f"X#{a.lower()}") for a in dict.fromkeys(a.lower() for a in addresses)]
        found: set[str] = set()
        for i in range(0, len(keys), 100):
            request = {self.table: {"Keys": keys[i:i + 100], "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                found |= {item["sk"]["S"][2:] for item in page["Responses"].get(self.table, [])}
                request = page.get("UnprocessedKeys") or {}
        return found

    def _write(self, ops: list[dict[str, Any]]) -> None:
        """Transactions of up to 100 items: a list's 50 recipients and their requests land
        together or not at all (and the API needs no BatchWriteItem, infra/cdk/permissions.py)."""
        for i in range(0, len(ops), 100):
            self.client.transact_write_items(TransactItems=ops[i:i + 100])

    # --- reads -----------------------------------------------------------------
    def _query(self, workspace: str, prefix: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
                                  "ExpressionAttributeValues": {":pk": {"S": consent_pk(workspace)}, ":p": {"S": prefix}},
                                  "ConsistentRead": True}
        items: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def of_list(self, workspace: str, list_ref: str) -> dict[str, Recipient]:
        """address (lower-cased) -> its consent, for one list (one Query)."""
        return {r.address.lower(): r for r in (Recipient.from_item(workspace, i)
                                               for i in self._query(workspace, f"L#{list_ref}#"))}

    def of_kind(self, workspace: str, kind: str) -> dict[str, dict[str, Recipient]]:
        """list -> address -> consent, for every list of a kind (`sub` or `alert`) of the workspace."""
        out: dict[str, dict[str, Recipient]] = {}
        for item in self._query(workspace, f"L#{kind}:"):
            r = Recipient.from_item(workspace, item)
            out.setdefault(r.list_ref, {})[r.address.lower()] = r
        return out

    def get(self, workspace: str, list_ref: str, address: str) -> Optional[Recipient]:
        item = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key=self._key(workspace, _sk(list_ref, address))).get("Item")
        return Recipient.from_item(workspace, item) if item else None

    def sendable(self, workspace: str, list_ref: str, addresses: Iterable[str]) -> list[str]:
        """The addresses, in order, that confirmed: the only ones a snapshot or alert may go to."""
        known = self.of_list(workspace, list_ref)
        return [a for a in addresses if (r := known.get(a.lower())) is not None and r.status == CONFIRMED]

    # --- answers ---------------------------------------------------------------
    def _set(self, workspace: str, list_ref: str, address: str, status: str, via: str,
             now: float) -> Optional[Recipient]:
        stamp = "confirmed_at" if status == CONFIRMED else "unsubscribed_at"
        try:
            answer = self.client.update_item(
                TableName=self.table, Key=self._key(workspace, _sk(list_ref, address)),
                UpdateExpression=f"SET #s = :s, {stamp} = :now, via = :via REMOVE request_error",
                ConditionExpression="attribute_exists(pk)", ReturnValues="ALL_NEW",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status}, ":now": {"N": str(int(now))}, ":via": {"S": via}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None  # the list was deleted (or never had this address)
            raise
        if status != PENDING:
            self.outbox.drop(workspace, CONSENT_REQUEST, f"{list_ref}#{address.lower()}")
        return Recipient.from_item(workspace, answer["Attributes"])

    def confirm(self, workspace: str, list_ref: str, address: str, now: float) -> Optional[Recipient]:
        return self._set(workspace, list_ref, address, CONFIRMED, "link", now)

    def unsubscribe(self, workspace: str, list_ref: str, address: str, via: str, now: float) -> Optional[Recipient]:
        return self._set(workspace, list_ref, address, UNSUBSCRIBED, via, now)

    def decline(self, workspace: str, list_ref: str, address: str, now: float) -> Optional[Recipient]:
        """No, and don't ask again: this list is left, and the workspace never asks this address again."""
        r = self._set(workspace, list_ref, address, UNSUBSCRIBED, "declined", now)
        if r is not None:
            self.client.put_item(TableName=self.table, Item={**self._key(workspace, f"X#{address.lower()}"),
                                                             "at": {"N": str(int(now))}})
        return r

    def mark_requested(self, workspace: str, list_ref: str, address: str, now: float) -> None:
        self.client.update_item(TableName=self.table, Key=self._key(workspace, _sk(list_ref, address)),
                                UpdateExpression="SET requested_at = :now REMOVE request_error",
                                ExpressionAttributeValues={":now": {"N": str(int(now))}})

    def note(self, workspace: str, list_ref: str, address: str, why: str) -> None:
        """Why the confirmation request is not out yet (shown with the pending status)."""
        self.client.update_item(TableName=self.table, Key=self._key(workspace, _sk(list_ref, address)),
                                UpdateExpression="SET request_error = :e",
                                ExpressionAttributeValues={":e": {"S": why[:300]}})

    # --- lists going away ------------------------------------------------------------
    def drop_list(self, workspace: str, list_ref: str) -> None:
        """A deleted subscription or rule: its recipients and their queued requests go too."""
        deletes = []
        for item in self._query(workspace, f"L#{list_ref}#"):
            deletes.append({"Delete": {"TableName": self.table, "Key": {"pk": item["pk"], "sk": item["sk"]}}})
            if item.get("status", {}).get("S") == PENDING:
                queued = Queued(workspace, CONSENT_REQUEST, f"{list_ref}#{item['address']['S'].lower()}")
                deletes.append({"Delete": {"TableName": self.table,
                                           "Key": {"pk": {"S": OUTBOX_PK}, "sk": {"S": queued.sk}}}})
        self._write(deletes)
