"""The aggregator's hot flags (chalicelib/hot_flags.py): when a fold flags a campaign, when it
renews the flag, and what ingest reads."""
from __future__ import annotations

from chalicelib.hot_flags import FLAG_SECONDS, REWRITE_SECONDS, HotFlags, hot_pk
from chalicelib.store import StoreConfig
from chalicelib.stream import StreamRecord


class Table:
    """put_item / query over a dict, enough for the flags."""

    def __init__(self):
        self.items: dict[tuple[str, str], dict] = {}
        self.puts = 0

    def put_item(self, TableName, Item):
        self.puts += 1
        self.items[(Item["pk"]["S"], Item["sk"]["S"])] = Item

    def query(self, TableName, KeyConditionExpression, ExpressionAttributeValues, Limit):
        pk = ExpressionAttributeValues[":pk"]["S"]
        return {"Items": [item for (p, _), item in sorted(self.items.items()) if p == pk][:Limit]}


def records(campaign: str, n: int, seconds: float, salts: tuple[int, ...] = (0,), workspace: str = "acme"):
    return [StreamRecord(workspace, f"b{i}", "a", 1000.0 + seconds * i / n, [{"campaign_id": campaign}],
                         salt=salts[i % len(salts)]) for i in range(n)]


def flags_at(now: list[float]) -> tuple[HotFlags, Table]:
    table = Table()
    return HotFlags(table, StoreConfig("t"), clock=lambda: now[0], records_per_second=300.0), table


def test_a_fold_past_the_rate_flags_its_campaign_once_a_minute():
    now = [1_000_000.0]
    flags, table = flags_at(now)
    assert flags.note_records(records("calm", 250, 1.0) + records("busy", 400, 1.0)) == 1
    assert set(table.items) == {(hot_pk("acme"), "busy")}
    assert int(table.items[(hot_pk("acme"), "busy")]["until"]["N"]) == int(now[0]) + FLAG_SECONDS
    assert flags.note_records(records("busy", 400, 1.0)) == 0  # renewed at most once a minute
    now[0] += REWRITE_SECONDS
    assert flags.note_records(records("busy", 400, 1.0)) == 1 and table.puts == 2
    # the rate is over the time the records arrived in: 400 records over 4 s are 100/s
    assert flags.note_records(records("slow", 400, 4.0)) == 0


def test_salted_records_renew_the_flag_while_the_campaign_stays_hot():
    """Once salted, a shard sees a few of the campaign's 8 salts: their share stands for the whole."""
    now = [1_000_000.0]
    flags, table = flags_at(now)
    # 1,200 records/s spread over 8 salts: a shard holding salts 1 and 5 folds ~300 of them a second
    assert flags.note_records(records("busy", 300, 1.0, salts=(1, 5))) == 1
    now[0] += REWRITE_SECONDS
    # 160 records/s in all (above half the rate): 40 a second on two salts still renews
    assert flags.note_records(records("busy", 40, 1.0, salts=(2, 6))) == 1
    now[0] += REWRITE_SECONDS
    # 80 records/s in all: the flag is left to lapse, the campaign goes back to one shard
    assert flags.note_records(records("busy", 20, 1.0, salts=(3, 7))) == 0


def test_ingest_reads_a_workspaces_flags_every_few_seconds_and_ignores_expired_ones():
    now = [1_000_000.0]
    flags, table = flags_at(now)
    assert not flags.is_hot("acme", "busy") and flags.reads == 1
    flags.note_records(records("busy", 400, 1.0))
    assert not flags.is_hot("acme", "busy") and flags.reads == 1  # read 0 s ago: not again yet
    now[0] += 10
    assert flags.is_hot("acme", "busy") and flags.reads == 2
    assert not flags.is_hot("other", "busy")  # flags are per workspace
    now[0] += FLAG_SECONDS
    assert not flags.is_hot("acme", "busy")  # expired (TTL deletes late: still in the table)
    assert (hot_pk("acme"), "busy") in table.items
