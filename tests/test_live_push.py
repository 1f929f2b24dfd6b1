"""The live channel (chalicelib/live_push): who may connect, what they may follow,
and what a fold tells them — never at the cost of a count."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from chalicelib import services
from chalicelib.live_push import sockets as sockets_module
from chalicelib.live_push.connections import Limits
from chalicelib.live_push.sender import Gone, SendFailed, Sender
from tests.accounts_support import member, pool  # noqa: F401 (fixture)


class FakeSender:
    """What API Gateway's management API would do, recorded; some connections gone, failing or slow."""

    def __init__(self) -> None:
        self.posts: dict[str, list[dict]] = defaultdict(list)
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.failing: set[str] = set()
        self.slow: set[str] = set()
        self.release = threading.Event()

    def post(self, cid: str, data: bytes) -> None:
        if cid in self.gone:
            raise Gone(cid)
        if cid in self.failing:
            raise SendFailed("throttled")
        if cid in self.slow:
            self.release.wait(10)
        self.posts[cid].append(json.loads(data))

    def close(self, cid: str) -> None:
        self.closed.append(cid)

    def changed(self, cid: str) -> list[dict]:
        return [m for m in self.posts[cid] if m["type"] == "changed"]


@pytest.fixture
def sender(monkeypatch):
    fake = FakeSender()
    monkeypatch.setattr(sockets_module, "sender_for", lambda endpoint, region: fake)
    monkeypatch.setattr(services, "live_sender", lambda region: fake)
    return fake


def ws_event(route: str, cid: str, body: str | None = None, query: dict | None = None) -> dict:
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event = {"requestContext": {"routeKey": route, "eventType": kind, "connectionId": cid, "apiId": "abc123",
                                "stage": "dev", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
                                "requestId": "r1"}, "isBase64Encoded": False}
    if body is not None:
        event["body"] = body
    if query is not None:
        event["queryStringParameters"] = query
    return event


def connect(cid: str, **query: str) -> dict:
    import app as app_module
    return app_module.live_connect(ws_event("$connect", cid, query=query or None), None)


def say(cid: str, **doc) -> None:
    import app as app_module
    assert app_module.live_message(ws_event("$default", cid, json.dumps(doc)), None)["statusCode"] == 200


def say_raw(cid: str, body: str) -> None:
    import app as app_module
    app_module.live_message(ws_event("$default", cid, body), None)


def disconnect(cid: str) -> None:
    import app as app_module
    app_module.live_disconnect(ws_event("$disconnect", cid), None)


def last(sender: FakeSender, cid: str) -> dict:
    return sender.posts[cid][-1]


def events(campaign: str, n: int, prefix: str = "e") -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"event_id": f"{prefix}{i}", "timestamp": now, "campaign_id": campaign, "channel": "email",
             "type": "sent", "profile_id": f"{prefix}-p{i}", "recipient_domain": "example.com"} for i in range(n)]


# --- $connect: the REST API's rules ---

def test_a_read_key_in_the_query_connects_and_is_recorded(api, sender):
    key = api.key("acme", ("read",))
    assert connect("c-1", token=key)["statusCode"] == 200
    record = api.wired.connections.get("c-1")
    assert record is not None and record.workspace == "acme" and record.campaigns == frozenset()


@pytest.mark.parametrize("case, status", [("unknown", 401), ("revoked", 401), ("ingest_only", 403),
                                          ("other_workspace", 403)])
def test_connect_is_refused_as_the_rest_api_would(api, sender, case, status):
    key = api.key("acme", ("read",))
    query = {"token": key}
    if case == "unknown":
        query["token"] = "lr_" + "x" * 43
    elif case == "revoked":
        key_id = next(k["key_id"] for k in api.wired.keys.list("acme"))
        api.wired.keys.revoke("acme", key_id)
    elif case == "ingest_only":
        query["token"] = api.key("acme", ("ingest",))
    else:
        query["workspace"] = "beta"
    answer = connect("c-x", **query)
    assert answer["statusCode"] == status
    assert api.wired.connections.get("c-x") is None
    # the REST API says the same for the same credentials
    headers = {"Authorization": f"Bearer {query['token']}"}
    if "workspace" in query:
        headers["X-Workspace"] = query["workspace"]
    assert api.client.http.get("/v1/campaigns", headers=headers).status_code == status


def test_users_connect_to_the_workspaces_they_are_members_of(api, sender, pool):  # noqa: F811
    sub = pool.user("ana@example.com")
    member(api.wired, "acme", sub, "ana@example.com", "viewer")
    token = pool.tokens("ana@example.com")["AccessToken"]
    assert connect("u-1", token=token, workspace="acme")["statusCode"] == 200
    assert api.wired.connections.get("u-1").workspace == "acme"
    assert connect("u-2", token=token, workspace="beta")["statusCode"] == 403
    assert connect("u-3", token=token[:-4] + "AAAA", workspace="acme")["statusCode"] == 401


def test_the_token_can_come_in_the_first_message_instead(api, sender):
    assert connect("m-1")["statusCode"] == 200  # no credential in the URL
    say("m-1", action="subscribe", campaigns=["spring"])
    assert last(sender, "m-1")["code"] == "unauthorized" and sender.closed == ["m-1"]
    assert connect("m-2")["statusCode"] == 200
    say("m-2", action="auth", token=api.key("acme", ("read",)))
    assert last(sender, "m-2") == {"type": "ready", "workspace": "acme", "expires_in": 900}
    say("m-2", action="subscribe", campaigns=["spring", "summer"])
    assert last(sender, "m-2") == {"type": "subscribed", "campaigns": ["spring", "summer"]}
    say("m-2", action="ping")
    assert last(sender, "m-2") == {"type": "pong"}


def test_the_token_is_never_logged(api, sender, caplog):
    key = api.key("acme", ("read",))
    caplog.set_level("DEBUG")
    connect("l-1", token="lr_wrong_" + key[9:])
    connect("l-2")
    say("l-2", action="auth", token=key)
    say("l-2", action="auth", token="lr_wrong_" + key[9:])
    assert key[9:] not in caplog.text


# --- subscriptions: bounded, own workspace only ---

def test_a_connection_follows_a_bounded_set_of_campaigns(api, sender):
    connect("s-1", token=api.key("acme", ("read",)))
    say("s-1", action="subscribe", campaigns=[f"c{i}" for i in range(11)])
    assert last(sender, "s-1")["code"] == "limit_reached"
    say("s-1", action="subscribe", campaigns=[f"c{i}" for i in range(10)])
    assert len(last(sender, "s-1")["campaigns"]) == 10
    say("s-1", action="subscribe", campaigns=["c3"])  # replaces the set
    assert api.wired.connections.subscribers("acme", "c3") == ["s-1"]
    assert api.wired.connections.subscribers("acme", "c4") == []


def test_a_workspace_has_a_bounded_number_of_connections(api, sender, monkeypatch):
    monkeypatch.setattr(api.wired.connections, "limits", Limits(connections_per_workspace=2))
    key = api.key("acme", ("read",))
    assert [connect(f"w-{i}", token=key)["statusCode"] for i in range(3)] == [200, 200, 429]
    assert connect("other", token=api.key("beta", ("read",)))["statusCode"] == 200  # per workspace
    disconnect("w-0")
    assert connect("w-3", token=key)["statusCode"] == 200


@pytest.mark.parametrize("body", ["not json", "[1]", json.dumps({"action": "dance"}),
                                  json.dumps({"action": "subscribe", "campaigns": ["<script>"]}),
                                  json.dumps({"action": "subscribe", "campaigns": "spring"}),
                                  json.dumps({"action": "subscribe", "campaigns": ["x" * 129]}),
                                  json.dumps({"action": "ping", "pad": "x" * 20000})])
def test_bad_messages_get_a_clear_error_and_keep_the_connection(api, sender, body):
    connect("b-1", token=api.key("acme", ("read",)))
    say_raw("b-1", body)
    assert last(sender, "b-1")["type"] == "error" and last(sender, "b-1")["code"] == "invalid_request"
    assert sender.closed == [] and api.wired.connections.get("b-1") is not None


def test_a_connection_cannot_hop_to_another_workspace(api, sender, pool):  # noqa: F811
    sub = pool.user("bob@example.com")
    member(api.wired, "acme", sub, "bob@example.com", "viewer")
    member(api.wired, "beta", sub, "bob@example.com", "viewer")
    token = pool.tokens("bob@example.com")["AccessToken"]
    connect("h-1", token=token, workspace="acme")
    say("h-1", action="subscribe", token=token, workspace="beta", campaigns=["spring"])
    assert last(sender, "h-1")["code"] == "limit_reached"
    assert api.wired.connections.subscribers("beta", "spring") == []


def test_disconnect_forgets_the_connection_and_its_subscriptions(api, sender):
    connect("d-1", token=api.key("acme", ("read",)))
    say("d-1", action="subscribe", campaigns=["spring"])
    disconnect("d-1")
    assert api.wired.connections.get("d-1") is None
    assert api.wired.connections.subscribers("acme", "spring") == []
    assert api.wired.connections.open_in_workspace("acme") == 0


# --- the fold notifies ---

def _follow(api, cid: str, workspace: str, campaigns: list[str]) -> None:
    connect(cid, token=api.key(workspace, ("ingest", "read")))
    say(cid, action="subscribe", campaigns=campaigns)


def test_a_fold_notifies_exactly_the_subscribed_connections(api, sender):
    _follow(api, "a", "acme", ["spring"])
    _follow(api, "b", "acme", ["summer"])
    _follow(api, "c", "beta", ["spring"])  # same campaign id, another workspace
    _follow(api, "d", "acme", ["spring", "summer"])
    calls = []
    original = api.wired.notifier.__call__
    api.wired.aggregator._notify = lambda stamped: (calls.append(stamped), original(stamped))
    assert json.loads(api.post_events(events("spring", 30), key=api.key("acme", ("ingest", "read"))).body)[
        "accepted"] == 30
    stamp = api.wired.directory.stamp("acme", "spring")["stamp"]
    minute = datetime.now(timezone.utc).strftime("%Y%m%d%H%M")
    for cid in ("a", "d"):
        (message,) = sender.changed(cid)
        assert message["campaign"] == "spring" and message["stamp"] == stamp
        assert len(message["minutes"]) == 1 and abs(int(message["minutes"][0]) - int(minute)) <= 1
        assert "totals" not in message and len(json.dumps(message)) < 200  # never the report
    assert sender.changed("b") == [] and sender.changed("c") == []
    # one request is one stream record: one fold, one call, after it committed
    assert len(calls) == 1 and [(s.workspace, s.campaign) for s in calls[0]] == [("acme", "spring")]
    assert api.live("spring", "email", key=api.key("acme", ("ingest", "read")))["totals"]["sent"] == 30


def test_a_fold_applied_twice_notifies_once(api, sender):
    _follow(api, "a", "acme", ["spring"])
    key = api.key("acme", ("ingest", "read"))
    api.post_events(events("spring", 5), key=key)
    assert len(sender.changed("a")) == api.wired.notifier.stats.folds >= 1
    before = len(sender.changed("a"))
    api.wired.positions.clear()  # Lambda hands the same records again: the watermark skips them
    stats = api.wired.pump()
    assert stats.duplicates_skipped >= 1 and stats.folds == 0 and len(sender.changed("a")) == before


def test_a_gone_connection_is_removed(api, sender):
    _follow(api, "gone", "acme", ["spring"])
    _follow(api, "here", "acme", ["spring"])
    sender.gone.add("gone")
    api.post_events(events("spring", 3), key=api.key("acme", ("ingest", "read")))
    assert api.wired.connections.get("gone") is None
    assert api.wired.connections.subscribers("acme", "spring") == ["here"]
    assert len(sender.changed("here")) >= 1
    assert api.wired.notifier.stats.gone == 1


@pytest.mark.parametrize("failure", ["send_fails", "hook_raises", "store_fails", "slow"])
def test_a_failing_notification_leaves_the_fold_exact(api, sender, failure, monkeypatch):
    _follow(api, "a", "acme", ["spring"])
    key = api.key("acme", ("ingest", "read"))
    if failure == "send_fails":
        sender.failing.add("a")
    elif failure == "hook_raises":
        def boom(stamped):
            raise RuntimeError("the notifier has a bug")
        api.wired.aggregator._notify = boom
    elif failure == "store_fails":
        def unreadable(workspace, campaign):
            raise RuntimeError("throttled")
        monkeypatch.setattr(api.wired.connections, "subscribers", unreadable)
    else:
        sender.slow.add("a")
        monkeypatch.setattr(api.wired.notifier, "deadline", 0.2)
    started = time.monotonic()
    for batch in range(3):
        assert api.client.http.post("/v1/events", headers={"Authorization": f"Bearer {key}",
                                                           "Content-Type": "application/json"},
                                    body=json.dumps({"events": events("spring", 4, f"b{batch}-")}).encode(),
                                    ).status_code == 200
        stats = api.wired.pump()
        assert stats.events == 4 and stats.folds >= 1
        if failure == "hook_raises":
            assert stats.notify_failed == stats.folds
    sender.release.set()
    assert time.monotonic() - started < 8  # a slow page never holds the fold past its deadline
    assert api.live("spring", "email", key=key)["totals"]["sent"] == 12
    if failure in ("send_fails", "store_fails"):
        assert api.wired.notifier.stats.failed >= 3
    if failure == "slow":
        assert api.wired.notifier.stats.late >= 1


def test_the_notifier_reports_its_metrics(api, sender):
    _follow(api, "a", "acme", ["spring"])
    sender.gone.add("a")
    api.post_events(events("spring", 2), key=api.key("acme", ("ingest", "read")))

    class Recorder:
        def __init__(self):
            self.values = {}

        def add_metric(self, name, unit, value):
            self.values[name] = value
    recorded = Recorder()
    api.wired.notifier.record(recorded, hook_failures=2)
    assert recorded.values == {"LiveNotified": 0, "LiveConnectionsGone": 1, "LiveNotifyFailed": 2,
                               "LiveNotifyLate": 0}
    assert api.wired.notifier.stats.gone == 0  # taken


def test_the_real_sender_posts_through_the_management_api(aws):
    """boto3's apigatewaymanagementapi under moto: the bytes the page would receive."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
    sender = Sender("https://abc123.execute-api.eu-west-1.amazonaws.com/dev", "eu-west-1")
    sender.post("conn-1", b'{"type":"changed"}')
    backend = apigatewaymanagementapi_backends["123456789012"]["eu-west-1"]
    assert backend.connections["conn-1"].data == b'{"type":"changed"}'
    sender.close("conn-1")
    assert "conn-1" not in backend.connections


# --- one computation per change, not per viewer ---

def test_a_live_report_is_computed_once_per_stamp_for_every_viewer(api, sender):
    key = api.key("acme", ("ingest", "read"))
    api.post_events(events("spring", 6), key=key)
    cache = api.wired.live_cache
    before = cache.stats.computed
    docs = [api.live("spring", "email", key=key) for _ in range(5)]
    computed = cache.stats.computed - before
    assert all(d == docs[0] for d in docs) and docs[0]["totals"]["sent"] == 6
    # one computation (a 10 s slot boundary between two reads may add a second)
    assert 1 <= computed <= 2 and cache.stats.memory_hits >= 3
    cache._lru.clear()  # another Lambda container: the table's copy
    assert api.live("spring", "email", key=key) == docs[0] or cache.stats.computed - before <= 3
    api.post_events(events("spring", 1, "later"), key=key)  # a fold moves the stamp: computed again
    assert api.live("spring", "email", key=key)["totals"]["sent"] == 7
    other_view = api.live("spring", "email", key=key, window="1h")
    assert other_view["totals"]["sent"] == 7


def test_viewers_asking_at_once_share_one_computation(api, sender):
    """Told of the same fold, ten viewers ask together: one computes, the others get its copy (in one
    process through a lock, across Lambda containers through the table's claim)."""
    from chalicelib.http import live_query
    from chalicelib.live_push.report_cache import ReportCache
    key = api.key("acme", ("ingest", "read"))
    api.post_events(events("spring", 4), key=key)
    q = live_query("acme", "spring", {"channel": "email"})
    containers = [ReportCache(api.wired.client, api.wired.live_cache.config, api.wired.directory,
                              claim_wait_seconds=60)  # a loaded CI worker can take seconds to build
                  for _ in range(10)]  # one per Lambda container: no shared memory
    builds = []

    def build(at):
        builds.append(at)
        time.sleep(0.3)  # a report read takes a while: the others arrive meanwhile
        return api.wired.live.report(q, at)
    now = time.time() // 10 * 10 + 1  # the same 10 s slot for everyone
    docs = []
    barrier = threading.Barrier(10)

    def view(cache):
        barrier.wait()
        docs.append(cache.live(q, False, now, build))
    threads = [threading.Thread(target=view, args=(c,)) for c in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and len(docs) == 10 and all(d == docs[0] for d in docs)
    assert docs[0]["totals"]["sent"] == 4
    assert sum(c.stats.table_hits for c in containers) == 9


def test_notifier_calls_are_within_the_aggregators_role():
    """The notifier runs in worker threads (outside the handler's frames iam_check follows): its calls,
    checked here against the aggregator's family."""
    from chalicelib.live_push import connections
    from infra.cdk import permissions
    family = permissions.AGGREGATOR
    assert family.allows("dynamodb:Query", permissions.TABLE, connections.subscribers_pk("acme", "spring"))
    for pk in (connections.connection_pk("abc="), connections.subscribers_pk("acme", "spring"),
               connections.workspace_pk("acme")):
        assert family.allows("dynamodb:DeleteItem", permissions.TABLE, pk)
        assert not family.allows("dynamodb:PutItem", permissions.TABLE, pk)
    assert "execute-api:ManageConnections" in family.actions()
    # and the live partitions cannot be mistaken for a campaign's counters
    assert not permissions.LIVE_SOCKETS.allows("dynamodb:PutItem", permissions.TABLE, "acme#C#LIVE#email")
