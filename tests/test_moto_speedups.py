"""infra/local/moto_speedups.py keeps moto's semantics while bounding its cost:
transactions stay all-or-nothing without copying tables, Kinesis keeps its
sequence numbers and positions while old records go."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import tables
from infra.local import moto_kinesis, moto_speedups

TABLE = "livereport-test"


def item(client, pk, sk="A"):
    return client.get_item(TableName=TABLE, Key=tables.key(pk, sk), ConsistentRead=True).get("Item")


def seed(client):
    client.put_item(TableName=TABLE, Item={**tables.key("p#1", "A"), "n": {"N": "1"}})
    client.put_item(TableName=TABLE, Item={**tables.key("p#2", "A"), "n": {"N": "2"}})


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws):
    seed(aws)
    with pytest.raises(ClientError) as raised:
        aws.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": tables.key("p#1", "A"), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": TABLE, "Item": {**tables.key("p#new", "A"), "n": {"N": "9"}}}},
            {"Delete": {"TableName": TABLE, "Key": tables.key("p#2", "A")}},
            {"Put": {"TableName": TABLE, "Item": {**tables.key("p#marker", "M")},
                     "ConditionExpression": "attribute_exists(pk)"}},  # fails: the whole transaction goes
        ])
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert item(aws, "p#1")["n"] == {"N": "1"}
    assert item(aws, "p#new") is None
    assert item(aws, "p#2")["n"] == {"N": "2"}
    assert item(aws, "p#marker", "M") is None
    count = aws.scan(TableName=TABLE, Select="COUNT")["Count"]
    assert count == 2


def test_a_transaction_naming_one_item_twice_is_refused_whole(aws):
    seed(aws)
    with pytest.raises(ClientError):
        aws.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": tables.key("p#1", "A"), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "5"}}}},
            {"Update": {"TableName": TABLE, "Key": tables.key("p#1", "A"), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "5"}}}},
        ])
    assert item(aws, "p#1")["n"] == {"N": "1"}


def test_a_committed_transaction_applies_every_operation_and_copies_no_table(aws, monkeypatch):
    seed(aws)
    from moto.dynamodb.models.table import Table
    copied = []
    monkeypatch.setattr(Table, "__deepcopy__", lambda self, memo: copied.append(self), raising=False)
    aws.transact_write_items(TransactItems=[
        {"Update": {"TableName": TABLE, "Key": tables.key("p#1", "A"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": TABLE, "Item": {**tables.key("p#3", "A"), "n": {"N": "3"}}}},
        {"Delete": {"TableName": TABLE, "Key": tables.key("p#2", "A")}},
    ])
    assert copied == []
    assert item(aws, "p#1")["n"] == {"N": "2"} and item(aws, "p#3")["n"] == {"N": "3"} and item(aws, "p#2") is None


def test_looking_up_missing_keys_leaves_no_partition_behind(aws):
    from moto.backends import get_backend
    table = get_backend("dynamodb")["123456789012"]["eu-west-1"].tables[TABLE]
    before = len(table.items)
    for i in range(50):
        assert item(aws, f"nobody#{i}") is None
    assert len(table.items) == before


def kinesis_stream(name="speedups", shards=1):
    from chalicelib.stream import create_stream
    client = boto3.client("kinesis", region_name="eu-west-1")
    create_stream(client, name, shards)
    shard = client.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    return client, shard


def put(client, name, n, start=0):
    return [client.put_record(StreamName=name, Data=f"r{start + i}".encode(), PartitionKey="k")["SequenceNumber"]
            for i in range(n)]


def read_after(client, name, shard, after):
    it = client.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                   StartingSequenceNumber=str(after))["ShardIterator"]
    return client.get_records(ShardIterator=it, Limit=1000)


def test_kinesis_reads_from_the_position_and_sequence_numbers_survive_a_trim(aws):
    client, shard = kinesis_stream()
    seqs = [int(s) for s in put(client, "speedups", 10)]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    page = read_after(client, "speedups", shard, seqs[6])
    assert [r["Data"] for r in page["Records"]] == [b"r7", b"r8", b"r9"]
    from moto.backends import get_backend
    stream = get_backend("kinesis")["123456789012"]["eu-west-1"].streams["speedups"]
    assert moto_kinesis.trim_shard(stream, shard, seqs[-1]) == 10  # everything folded: the shard empties
    later = [int(s) for s in put(client, "speedups", 2, start=10)]
    assert later == [seqs[-1] + 1, seqs[-1] + 2]  # never restarts at 1: a consumer's watermark stays valid
    page = read_after(client, "speedups", shard, seqs[-1])
    assert [r["Data"] for r in page["Records"]] == [b"r10", b"r11"]
    trim_horizon = client.get_shard_iterator(StreamName="speedups", ShardId=shard,
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in client.get_records(ShardIterator=trim_horizon)["Records"]] == [b"r10", b"r11"]


def test_kinesis_keeps_every_record_of_concurrent_producers(aws):
    """Concurrent producers in one process (an in-process mock): each record its own sequence number.
    moto reads the last number and adds one; a thread switch between the two made one record
    replace another (a test of concurrent ingest once lost a whole request's records)."""
    import sys
    import threading
    client, shard = kinesis_stream()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        barrier = threading.Barrier(4)

        def produce(t):
            barrier.wait()
            for start in range(0, 200, 50):
                client.put_records(StreamName="speedups", Records=[
                    {"Data": f"t{t}-{i}".encode(), "PartitionKey": "k"} for i in range(start, start + 50)])
        threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    page = read_after(client, "speedups", shard, 0)
    assert sorted(r["Data"] for r in page["Records"]) == sorted(f"t{t}-{i}".encode() for t in range(4) for i in range(200))


def test_kinesis_drops_records_older_than_the_retention_period(aws):
    client, shard = kinesis_stream("retained")
    put(client, "retained", 3)
    from moto.backends import get_backend
    stream = get_backend("kinesis")["123456789012"]["eu-west-1"].streams["retained"]
    for record in stream.shards[shard].records.values():
        record.created_at -= 24 * 3600 + 5  # put a day and 5 seconds ago
    stream._next_expiry = 0.0
    put(client, "retained", 1, start=3)
    records = client.get_records(ShardIterator=client.get_shard_iterator(
        StreamName="retained", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]
    assert [r["Data"] for r in records] == [b"r3"]


def test_query_reads_its_partition_in_order_with_pages_and_conditions(aws):
    for pk in ("a#1", "a#2", "a#10"):
        for minute in range(30):
            aws.put_item(TableName=TABLE, Item={**tables.key(pk, f"M#{minute:04d}"), "n": {"N": str(minute)}})
        aws.put_item(TableName=TABLE, Item={**tables.key(pk, "SX#0001"), "n": {"N": "99"}})

    def query(**kwargs):
        out, page = [], {}
        while True:
            response = aws.query(TableName=TABLE, **kwargs, **page)
            out += [i["sk"]["S"] for i in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return out
            page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}

    between = {"KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
               "ExpressionAttributeValues": {":p": {"S": "a#2"}, ":lo": {"S": "M#0005"}, ":hi": {"S": "M#0012"}}}
    assert query(**between) == [f"M#{m:04d}" for m in range(5, 13)]
    assert query(**between, Limit=3) == [f"M#{m:04d}" for m in range(5, 13)]
    assert query(**between, Limit=3, ScanIndexForward=False) == [f"M#{m:04d}" for m in range(12, 4, -1)]
    prefix = {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
              "ExpressionAttributeValues": {":p": {"S": "a#1"}, ":s": {"S": "SX#"}}}
    assert query(**prefix) == ["SX#0001"]
    whole = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a#10"}}}
    assert query(**whole, Limit=7) == [f"M#{m:04d}" for m in range(30)] + ["SX#0001"]
    assert query(**{**whole, "ExpressionAttributeValues": {":p": {"S": "a#3"}}}) == []


def test_moto_keeps_no_copy_of_what_it_no_longer_holds(aws):
    """moto tracked every model instance ever made (items, their copies, Query answers);
    the dashboard's list now shows only those that still exist."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    seed(aws)
    gc.collect()
    before = len(list(Item.instances_tracked))  # other tests' live stacks may hold items too
    for _ in range(200):  # each update and each query answer made copies of items
        aws.update_item(TableName=TABLE, Key=tables.key("p#1", "A"), UpdateExpression="ADD n :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
        aws.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p#1"}})
    gc.collect()
    tracked = list(Item.instances_tracked)
    assert len(tracked) - before < 20  # not 600 copies
    assert item(aws, "p#1")["n"] == {"N": "201"}
    from moto.backends import get_backend
    table = get_backend("dynamodb")["123456789012"]["eu-west-1"].tables[TABLE]
    stored = [i for partition in table.items.values() for i in partition.values()]
    assert all(any(t is s for t in tracked) for s in stored)  # what the table holds is still listed


def test_items_whose_ttl_passed_are_swept_as_dynamodb_does(aws):
    import threading

    now = 1_800_000_000
    aws.put_item(TableName=TABLE, Item={**tables.key("t#1", "old"), tables.TTL_ATTRIBUTE: {"N": str(now - 1)}})
    aws.put_item(TableName=TABLE, Item={**tables.key("t#1", "new"), tables.TTL_ATTRIBUTE: {"N": str(now + 60)}})
    aws.put_item(TableName=TABLE, Item={**tables.key("t#2", "old"), tables.TTL_ATTRIBUTE: {"N": str(now - 3600)}})
    aws.put_item(TableName=TABLE, Item={**tables.key("t#3", "none"), "n": {"N": "1"}})
    aws.put_item(TableName=TABLE, Item={**tables.key("t#3", "text"), tables.TTL_ATTRIBUTE: {"S": "soon"}})
    assert moto_speedups.sweep_expired(now, threading.Lock(), partitions_per_lock=1) == 2
    assert item(aws, "t#1", "old") is None and item(aws, "t#2", "old") is None
    assert item(aws, "t#1", "new") and item(aws, "t#3", "none") and item(aws, "t#3", "text")
    from moto.backends import get_backend
    table = get_backend("dynamodb")["123456789012"]["eu-west-1"].tables[TABLE]
    assert all(table.items.values())  # no empty partition left behind


def test_the_local_moto_server_serialises_requests_but_sqs_long_polls():
    """A long poll waits inside its request: under the server's lock it would stop every
    DynamoDB request (and the message's sender) for the wait."""
    from infra.local.stack import UNLOCKED_SERVICES, request_service

    def signed(service):
        return {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261204/eu-west-1/"
                                      f"{service}/aws4_request, SignedHeaders=host, Signature=abc"}

    assert request_service(signed("dynamodb")) == "dynamodb" and "dynamodb" not in UNLOCKED_SERVICES
    assert request_service(signed("kinesis")) == "kinesis" and "kinesis" not in UNLOCKED_SERVICES
    assert request_service(signed("sqs")) in UNLOCKED_SERVICES
    assert request_service({"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}) in UNLOCKED_SERVICES
    assert request_service({}) == "" and request_service({"HTTP_AUTHORIZATION": "Bearer x"}) == ""


def test_a_long_poll_returns_the_message_sent_while_it_waits():
    import threading

    import boto3

    from infra.local.stack import AtomicMotoServer
    server = AtomicMotoServer()
    url = server.start()
    try:
        sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=url)
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url)
        queue = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
        got = []
        waiting = threading.Thread(target=lambda: got.extend(
            sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])))
        waiting.start()
        dynamodb.list_tables()  # served while the poll waits
        sqs.send_message(QueueUrl=queue, MessageBody="hello")
        waiting.join(30)
        if not got:  # the poll began after the send had landed: the message waits in the queue
            got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        assert [m["Body"] for m in got] == ["hello"]
    finally:
        server.stop()


def test_a_second_server_in_one_process_starts_empty(monkeypatch):
    """moto keeps its backends per process: a pytest-xdist worker that runs the browser package twice
    starts a second local stack, which must not find (and seed on top of) the first one's data."""
    import boto3

    from infra.local.stack import AtomicMotoServer
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    seen = []
    for _ in range(2):
        server = AtomicMotoServer()
        url = server.start()
        try:
            dynamodb = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url)
            seen.append(dynamodb.list_tables()["TableNames"])
            dynamodb.create_table(TableName="kept-by-moto", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                  BillingMode="PAY_PER_REQUEST")
        finally:
            server.stop()
    assert seen == [[], []]
