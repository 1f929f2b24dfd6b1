"""The one table definition and its key layout, shared by the Lambdas,
infra/ (CloudFormation/CDK) and local mode (moto).

One table, two string keys. Partition keys always begin with the workspace,
so no key of one workspace can address another's items (DESIGN invariant 6).
"""
from __future__ import annotations

from typing import Any

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"

#: Granularities of counter items: minute (expires), hour and day (kept).
MINUTE, HOUR, DAY = "M", "H", "D"
BUCKET_FORMATS = {MINUTE: "%Y%m%d%H%M", HOUR: "%Y%m%d%H", DAY: "%Y%m%d"}
NO_EXECUTION = "_"

ItemKey = tuple[str, str]  # (pk, sk)


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments; infra and local mode both build from this."""
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PK, "AttributeType": "S"},
            {"AttributeName": SK, "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the table with TTL on (local mode and tests)."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def key(pk: str, sk: str) -> dict[str, Any]:
    """An item's key in DynamoDB's low-level form."""
    return {PK: {"S": pk}, SK: {"S": sk}}


def counter_pk(workspace: str, campaign: str, channel: str) -> str:
    return f"{workspace}#C#{campaign}#{channel}"


#: A hot campaign's minute items are one per salt (`M#minute#exec~3`), so each has one
#: writer: the shard its salt's records land on. Readers and the rollup sum the parts.
SALT_SEP = "~"


def counter_sk(granularity: str, bucket: str, execution: str, salt: int = 0) -> str:
    return f"{granularity}#{bucket}#{execution}" + (f"{SALT_SEP}{salt}" if salt else "")


def sketch_sk(granularity: str, bucket: str, execution: str, metric: str) -> str:
    """Distinct-count sketches live beside counters under their own prefix,
    so counter queries never pay for sketch bytes."""
    return f"S{granularity}#{bucket}#{execution}#{metric}"


#: Minute items (counters, sketch deltas, minute sketches) live long enough for
#: the latest write they can get: an event 48 h old, applied from a stream that
#: keeps records 24 h, then rolled up; reads use them for 24 h at most.
MINUTE_TTL_SECONDS = 96 * 3600
SKETCH_DELTA = "SX"  # one per (minute, execution, fold): append-only, compacted by the rollup
MINUTE_SKETCH = "SM"  # one per (minute, execution): the union of its deltas


def minute_sketch_sk(prefix: str, minute: str, execution: str, fold_id: str = "") -> str:
    """`SX#minute#exec#fold` (a fold's delta) or `SM#minute#exec` (compacted)."""
    return f"{prefix}#{minute}#{execution}" + (f"#{fold_id}" if fold_id else "")


def shard_state_pk(stream: str, shard_id: str) -> str:
    """The aggregator's per-shard watermark and pinned fold (internal, no workspace)."""
    return f"AGG#{stream}#{shard_id}"


def rollup_pk(granularity: str, bucket: str) -> str:
    """The rollup's work list of one hour or day: one entry per counter partition
    touched, versioned by the folds (internal, no workspace)."""
    return f"ROLLUP#{granularity}#{bucket}"


def parse_counter_sk(sk: str) -> tuple[str, str, str]:
    """(granularity, bucket, execution) of a counter item, whatever its salt."""
    granularity, bucket, execution = sk.split("#", 2)
    return granularity, bucket, execution.split(SALT_SEP, 1)[0]


def parse_counter_pk(pk: str) -> tuple[str, str]:
    """(workspace, campaign) of a counter partition (`counter_pk`, experiment ones too);
    ids never hold `#` (events.ID_PATTERN)."""
    workspace, _, rest = pk.partition("#C#")
    return workspace, rest.split("#", 1)[0]


def campaigns_pk(workspace: str) -> str:
    return f"{workspace}#CAMPAIGNS"


def dims_pk(workspace: str, campaign: str) -> str:
    return f"{workspace}#C#{campaign}#DIMS"


def batch_pk(workspace: str, batch_id: str) -> str:
    return f"{workspace}#BATCH#{batch_id}"


def key_lookup_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


def keys_pk(workspace: str) -> str:
    return f"{workspace}#KEYS"


def members_pk(workspace: str) -> str:
    """One item per member of the workspace (sk: the user's Cognito sub)."""
    return f"{workspace}#MEMBERS"


def user_pk(user_id: str) -> str:
    """A user's index (internal, no workspace): `WS#{workspace}` per membership
    (mirrors the workspace's member item) and `PROFILE` (email, display name)."""
    return f"USER#{user_id}"


def audit_pk(workspace: str) -> str:
    return f"{workspace}#AUDIT"


def currency_pk(workspace: str) -> str:
    """One item per campaign with conversions: its currency (sk: the campaign id)."""
    return f"{workspace}#CURRENCY"


def experiments_pk(workspace: str) -> str:
    """One item per experiment's settings (sk: `{campaign}#{channel}`)."""
    return f"{workspace}#EXPERIMENTS"


def experiment_counter_pk(workspace: str, campaign: str, channel: str) -> str:
    """Exact people and successes per variant and minute, beside the campaign's counters:
    counter items like theirs (`M#…`, rolled into `H#…`/`D#…` by the same rollup)."""
    return f"{counter_pk(workspace, campaign, channel)}#X"


def experiment_profile_pk(workspace: str, campaign: str, channel: str) -> str:
    """Each profile's experiment state (sk: the profile id): its variant, first actions."""
    return f"{counter_pk(workspace, campaign, channel)}#XP"
