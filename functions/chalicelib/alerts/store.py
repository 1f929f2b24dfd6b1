"""Alert rules, their per-campaign state and history in the single table.

  pk `{ws}#ALERTS`           sk `R#{rule_id}`               the rule (JSON in `doc`)
  pk `{ws}#ALERTS`           sk `S#{rule_id}#{campaign}`    state: ok | firing, since, version, last value
  pk `{ws}#ALERTS#H#{rule}`  sk `{epoch:012d}#{campaign}#{version}`  one state change (TTL 90 days)
  pk `ALERTS#REGISTRY`       sk `{ws}#{rule_id}`            lets the evaluator find workspaces with one Query

A state change is one transaction: the state item updated on condition that
its `version` is the one the evaluator read, plus the history item. Of two
evaluators running at once exactly one transaction succeeds, and only its
winner notifies (issue 13: one notification per state change).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

from .rules import MAX_RULES_PER_WORKSPACE, Rule, RuleError, parse_request

REGISTRY_PK = "ALERTS#REGISTRY"
HISTORY_TTL_SECONDS = 90 * 86400
HISTORY_LIMIT = 100


def alerts_pk(workspace: str) -> str:
    return f"{workspace}#ALERTS"


def history_pk(workspace: str, rule_id: str) -> str:
    return f"{workspace}#ALERTS#H#{rule_id}"


@dataclass
class State:
    rule_id: str
    campaign_id: str
    state: str = "ok"
    since: Optional[int] = None
    version: int = 0
    value: Optional[float] = None
    volume: Optional[int] = None
    evaluated_at: Optional[int] = None

    def public(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "state": self.state, "since": self.since,
                "value": self.value, "volume": self.volume, "evaluated_at": self.evaluated_at}


def _num(item: dict[str, Any], name: str) -> Optional[float]:
    raw = item.get(name, {}).get("N")
    if raw is None:
        return None
    return float(raw) if any(c in raw for c in ".eE") else int(raw)


def _state(item: dict[str, Any]) -> State:
    _, rule_id, campaign = item["sk"]["S"].split("#", 2)
    since, volume, at = _num(item, "since"), _num(item, "volume"), _num(item, "evaluated_at")
    return State(rule_id, campaign, item.get("state", {}).get("S", "ok"),
                 int(since) if since is not None else None, int(_num(item, "version") or 0),
                 _num(item, "value"), int(volume) if volume is not None else None,
                 int(at) if at is not None else None)


class AlertStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name

    # --- rules ---------------------------------------------------------------
    def create(self, workspace: str, payload: Any, now: float, allow_local: bool) -> Rule:
        request = parse_request(payload, allow_local)
        count = self.client.query(
            TableName=self.table, Select="COUNT", KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
            ExpressionAttributeValues={":pk": {"S": alerts_pk(workspace)}, ":r": {"S": "R#"}})["Count"]
        if count >= MAX_RULES_PER_WORKSPACE:
            raise RuleError(f"a workspace holds at most {MAX_RULES_PER_WORKSPACE} alert rules", 409)
        secret = "whsec_" + secrets.token_urlsafe(24) if request.notify.webhook_url else None
        rule = Rule(**request.model_dump(), rule_id="al_" + secrets.token_hex(8), workspace=workspace,
                    created_at=int(now), webhook_secret=secret)
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {"pk": {"S": alerts_pk(workspace)}, "sk": {"S": f"R#{rule.rule_id}"},
                              "doc": {"S": rule.model_dump_json()}}}},
            {"Put": {"TableName": self.table,
                     "Item": {"pk": {"S": REGISTRY_PK}, "sk": {"S": f"{workspace}#{rule.rule_id}"},
                              "workspace": {"S": workspace}}}},
        ])
        return rule

    def _query(self, pk: str, prefix: str = "", newest_first: bool = False, limit: int = 0) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table, "ScanIndexForward": not newest_first,
                                  "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :p)" if prefix else ""),
                                  "ExpressionAttributeValues": {":pk": {"S": pk}, **({":p": {"S": prefix}} if prefix else {})},
                                  "ConsistentRead": True}
        if limit:
            kwargs["Limit"] = limit
        out: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**kwargs)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page or (limit and len(out) >= limit):
                return out[:limit] if limit else out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load(self, workspace: str) -> tuple[list[Rule], dict[tuple[str, str], State]]:
        """Every rule of the workspace and every state, in one Query of one partition."""
        rules, states = [], {}
        for item in self._query(alerts_pk(workspace)):
            sk = item["sk"]["S"]
            if sk.startswith("R#"):
                rules.append(Rule.model_validate_json(item["doc"]["S"]))
            elif sk.startswith("S#"):
                s = _state(item)
                states[(s.rule_id, s.campaign_id)] = s
        rules.sort(key=lambda r: (r.created_at, r.rule_id))
        return rules, states

    def delete(self, workspace: str, rule_id: str) -> bool:
        try:
            self.client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self.table, "ConditionExpression": "attribute_exists(pk)",
                            "Key": {"pk": {"S": alerts_pk(workspace)}, "sk": {"S": f"R#{rule_id}"}}}},
                {"Delete": {"TableName": self.table,
                            "Key": {"pk": {"S": REGISTRY_PK}, "sk": {"S": f"{workspace}#{rule_id}"}}}},
            ])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        for item in self._query(alerts_pk(workspace), f"S#{rule_id}#"):
            self.client.delete_item(TableName=self.table, Key={"pk": item["pk"], "sk": item["sk"]})
        return True

    def workspaces(self) -> list[str]:
        return sorted({i["workspace"]["S"] for i in self._query(REGISTRY_PK)})

    # --- state -----------------------------------------------------------------
    def _state_key(self, workspace: str, rule_id: str, campaign: str) -> dict[str, Any]:
        return {"pk": {"S": alerts_pk(workspace)}, "sk": {"S": f"S#{rule_id}#{campaign}"}}

    def observe(self, workspace: str, s: State, value: Optional[float], volume: int, now: int) -> None:
        """Record the last evaluated value (no condition: it never changes the state)."""
        values: dict[str, Any] = {":vol": {"N": str(volume)}, ":at": {"N": str(now)}}
        expr = "SET volume = :vol, evaluated_at = :at"
        if value is None:
            expr += " REMOVE #v"
        else:
            expr += ", #v = :v"
            values[":v"] = {"N": repr(float(value))}
        self.client.update_item(TableName=self.table, Key=self._state_key(workspace, s.rule_id, s.campaign_id),
                                UpdateExpression=expr, ExpressionAttributeNames={"#v": "value"},
                                ExpressionAttributeValues=values)

    def transition(self, workspace: str, s: State, to: str, value: Optional[float], volume: int,
                   now: int, detail: dict[str, Any]) -> Optional[str]:
        """Move the state to `to` if nobody did since it was read. The one winner
        gets the history item's sort key (to note the delivery on); others None."""
        new_version = s.version + 1
        values: dict[str, Any] = {":s": {"S": to}, ":since": {"N": str(now)}, ":nv": {"N": str(new_version)},
                                  ":vol": {"N": str(volume)}, ":at": {"N": str(now)}, ":old": {"N": str(s.version)}}
        expr = "SET #st = :s, since = :since, version = :nv, volume = :vol, evaluated_at = :at"
        if value is None:
            expr += " REMOVE #v"
        else:
            expr += ", #v = :v"
            values[":v"] = {"N": repr(float(value))}
        history_sk = f"{now:012d}#{s.campaign_id}#{new_version}"
        condition = "attribute_not_exists(version)" if s.version == 0 else "version = :old"
        if s.version == 0:
            values.pop(":old")
        record = {"at": now, "campaign_id": s.campaign_id, "from": s.state, "to": to, "value": value,
                  "volume": volume, **detail}
        try:
            self.client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self.table, "Key": self._state_key(workspace, s.rule_id, s.campaign_id),
                            "UpdateExpression": expr, "ConditionExpression": condition,
                            "ExpressionAttributeNames": {"#st": "state", "#v": "value"},
                            "ExpressionAttributeValues": values}},
                {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": {"pk": {"S": history_pk(workspace, s.rule_id)},
                                  "sk": {"S": history_sk},
                                  "doc": {"S": json.dumps(record, separators=(",", ":"))},
                                  "expires_at": {"N": str(now + HISTORY_TTL_SECONDS)}}}},
            ])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TransactionCanceledException",
                                                              "ConditionalCheckFailedException"):
                return None
            raise
        s.state, s.since, s.version = to, now, new_version
        s.value, s.volume, s.evaluated_at = value, volume, now
        return history_sk

    def rule(self, workspace: str, rule_id: str) -> Optional[Rule]:
        item = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                    Key={"pk": {"S": alerts_pk(workspace)}, "sk": {"S": f"R#{rule_id}"}}).get("Item")
        return Rule.model_validate_json(item["doc"]["S"]) if item else None

    def history_entry(self, workspace: str, rule_id: str, history_sk: str) -> Optional[dict[str, Any]]:
        item = self.client.get_item(TableName=self.table, ConsistentRead=True, Key={
            "pk": {"S": history_pk(workspace, rule_id)}, "sk": {"S": history_sk}}).get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def record_delivery(self, workspace: str, rule_id: str, history_sk: str, delivery: dict[str, Any]) -> None:
        """Note on the history item how the notification went (emails sent, webhook status)."""
        key = {"pk": {"S": history_pk(workspace, rule_id)}, "sk": {"S": history_sk}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return
        doc = json.loads(item["doc"]["S"])
        doc["delivery"] = delivery
        self.client.update_item(TableName=self.table, Key=key, UpdateExpression="SET doc = :d",
                                ExpressionAttributeValues={":d": {"S": json.dumps(doc, separators=(",", ":"))}})

    def history(self, workspace: str, rule_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
        """State changes, newest first."""
        return [json.loads(i["doc"]["S"]) for i in self._query(history_pk(workspace, rule_id),
                                                                newest_first=True, limit=limit)]

    def exists(self, workspace: str, rule_id: str) -> bool:
        return "Item" in self.client.get_item(TableName=self.table, ConsistentRead=True,
                                              Key={"pk": {"S": alerts_pk(workspace)}, "sk": {"S": f"R#{rule_id}"}})
