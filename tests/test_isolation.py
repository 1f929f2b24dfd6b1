"""Workspaces are sealed from each other and scopes are enforced on every route."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

READ_PATHS = ("/v1/campaigns", "/v1/campaigns/shared-name/live?channel=email",
              "/v1/campaigns/shared-name/report?channel=email", "/v1/campaigns/shared-name/live.csv?channel=email")


def events(prefix: str, n: int) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"event_id": f"{prefix}{i}", "timestamp": now, "campaign_id": "shared-name", "channel": "email",
             "type": "sent", "profile_id": f"{prefix}-p{i}", "recipient_domain": f"{prefix}.example"}
            for i in range(n)]


@pytest.fixture
def two_workspaces(api):
    a = api.key("alpha", ("ingest", "read"))
    b = api.key("beta", ("ingest", "read"))
    assert json.loads(api.post_events(events("a", 5), key=a).body)["accepted"] == 5
    assert json.loads(api.post_events(events("b", 3), key=b).body)["accepted"] == 3
    return a, b


def test_same_campaign_id_in_two_workspaces_never_mixes(api, two_workspaces):
    a, b = two_workspaces
    report_a, report_b = api.live("shared-name", "email", key=a), api.live("shared-name", "email", key=b)
    assert report_a["totals"]["sent"] == 5 and report_b["totals"]["sent"] == 3
    assert [r["value"] for r in report_a["breakdowns"]["recipient_domain"]] == ["a.example"]
    assert report_a["distinct"]["targeted"] == 0 and report_b["distinct"].get("targeted", 0) == 0
    listed = json.loads(api.get("/v1/campaigns", b).body)["campaigns"]
    assert [c["campaign_id"] for c in listed] == ["shared-name"]
    c = api.key("gamma", ("read",))
    assert json.loads(api.get("/v1/campaigns", c).body)["campaigns"] == []
    assert api.live("shared-name", "email", key=c)["has_data"] is False


def test_an_ingest_key_cannot_read(api, two_workspaces):
    ingest_only = api.key("alpha", ("ingest",))
    for path in READ_PATHS:
        r = api.get(path, ingest_only)
        assert r.status_code == 403, path
        assert "read" in json.loads(r.body)["error"]["message"]


def test_a_read_key_cannot_ingest(api, two_workspaces):
    read_only = api.key("alpha", ("read",))
    r = api.post_events(events("x", 1), key=read_only)
    assert r.status_code == 403 and "ingest" in json.loads(r.body)["error"]["message"]
    assert api.live("shared-name", "email", key=api.key("alpha", ("ingest", "read")))["totals"]["sent"] == 5


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Bearer nope", "Basic dXNlcjpwYXNz", "bearer lr_fake"])
def test_missing_or_unknown_keys_are_401(api, header):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    r = api.client.http.post("/v1/events", headers=headers, body=json.dumps({"events": events("z", 1)}))
    assert r.status_code == 401
    for path in READ_PATHS:
        assert api.client.http.get(path, headers=headers).status_code == 401


def test_a_revoked_key_stops_working(api):
    key_id, key = api.wired.keys.create("delta", ["ingest", "read"])
    assert api.get("/v1/campaigns", key).status_code == 200
    assert api.wired.keys.revoke("delta", key_id)
    assert api.get("/v1/campaigns", key).status_code == 401


def test_only_a_hash_of_the_key_is_stored(api, aws):
    _, key = api.wired.keys.create("epsilon", ["read"])
    dump = json.dumps(aws.scan(TableName="livereport-test")["Items"], default=str)
    assert key not in dump
