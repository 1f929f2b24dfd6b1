"""The rollup's work lists and its lease: which (partition, hour) and (partition, day)
to roll, and what was rolled.

A fold marks `ROLLUP#H#<hour>` / `<counter pk>` with `ADD v :1, m<minute> :1` when it
opens or touches a closed minute (fold/marks.py). Here:
- `rv`: the version a closed hour's (day's) roll covered, set only if no fold bumped
  `v` meanwhile (else it is rolled again next minute);
- `ov` / `of`: the version and frontier the open hour's roll-up last covered, so a
  partition where nothing moved is not read again (`Planner`);
- the lease: one scheduled run at a time.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .. import tables
from ..fold.marks import minute_attr
from ..store import CounterStore, ReadStats, StoreConfig, with_retries

LEASE_PK, LEASE_SK = "ROLLUP#LEASE", "LEASE"


class WorkList:
    def __init__(self, client: Any, config: StoreConfig) -> None:
        self.client = client
        self.config = config
        self.store = CounterStore(client, StoreConfig(config.table_name, consistent_reads=True))

    def entries(self, gran: str, bucket: str) -> list[dict[str, Any]]:
        # sk of an entry is a counter partition key: it starts with a workspace (a-z, 0-9)
        return list(self.store.query(tables.rollup_pk(gran, bucket), "0", "z\uffff", ReadStats()))

    def entry(self, gran: str, bucket: str, pk: str) -> dict[str, Any] | None:
        item = with_retries(lambda: self.client.get_item(
            TableName=self.config.table_name, Key=tables.key(tables.rollup_pk(gran, bucket), pk),
            ConsistentRead=True), self.config).get("Item")
        if item is None:
            return None
        return {k: (int(v["N"]) if "N" in v else v.get("S")) for k, v in item.items()}

    def mark_rolled(self, gran: str, bucket: str, pk: str, version: int) -> bool:
        return self._conditional(tables.rollup_pk(gran, bucket), pk, "SET rv = :v", "v = :v",
                                 {":v": {"N": str(version)}})

    def note_open_roll(self, hour: str, pk: str, version: int, frontier: int) -> None:
        """The open hour's roll-up now covers `version` up to `frontier` (it only moves forward)."""
        self._conditional(tables.rollup_pk(tables.HOUR, hour), pk, "SET ov = :v, #of = :f",
                          "attribute_not_exists(#of) OR #of <= :f",
                          {":v": {"N": str(version)}, ":f": {"N": str(frontier)}}, {"#of": "of"})

    def bump(self, rollup_pk: str, pk: str) -> None:
        with_retries(lambda: self.client.update_item(
            TableName=self.config.table_name, Key=tables.key(rollup_pk, pk), UpdateExpression="ADD v :one",
            ExpressionAttributeValues={":one": {"N": "1"}}), self.config)

    def unmark(self, entry_pk: str, pk: str, marks: dict[str, int], version: int | None = None) -> bool:
        """Remove minute marks whose counts are still those read (and set rv = `version`
        if v is still it, when given): a late delta re-marks its minute, never lost."""
        if not marks:
            return True
        names = {f"#m{i}": minute_attr(m) for i, m in enumerate(sorted(marks))}
        values = {f":c{i}": {"N": str(marks[m])} for i, m in enumerate(sorted(marks))}
        conditions = [f"#m{i} = :c{i}" for i in range(len(marks))]
        update = "REMOVE " + ", ".join(names)
        if version is not None:
            conditions.append("v = :v")
            values[":v"] = {"N": str(version)}
            update = "SET rv = :v " + update
        return self._conditional(entry_pk, pk, update, " AND ".join(conditions), values, names)

    def _conditional(self, entry_pk: str, pk: str, update: str, condition: str, values: dict[str, Any],
                     names: dict[str, str] | None = None) -> bool:
        extra = {"ExpressionAttributeNames": names} if names else {}
        try:
            with_retries(lambda: self.client.update_item(
                TableName=self.config.table_name, Key=tables.key(entry_pk, pk), UpdateExpression=update,
                ConditionExpression=condition, ExpressionAttributeValues=values, **extra), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False  # a fold moved the entry meanwhile: rolled again next run

    # --- the lease: one scheduled run at a time ---

    def acquire(self, owner: str, now: float, seconds: int) -> bool:
        try:
            with_retries(lambda: self.client.put_item(
                TableName=self.config.table_name,
                Item={**tables.key(LEASE_PK, LEASE_SK), "owner": {"S": owner}, "until": {"N": str(int(now) + seconds)}},
                ConditionExpression="attribute_not_exists(#o) OR #u < :now",
                ExpressionAttributeNames={"#o": "owner", "#u": "until"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}}), self.config)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False

    def release(self, owner: str) -> None:
        try:
            self.client.delete_item(TableName=self.config.table_name, Key=tables.key(LEASE_PK, LEASE_SK),
                                    ConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                                    ExpressionAttributeValues={":o": {"S": owner}})
        except ClientError:
            pass  # the lease expires by itself
