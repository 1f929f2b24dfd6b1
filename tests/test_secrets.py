"""The unsubscribe secret in a deployed stage: read from Secrets Manager at
run time (UNSUBSCRIBE_SECRET_ARN), once per container, by the two functions
whose roles may (the snapshot sender signs links, the API verifies them)."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from chalicelib import secrets
from chalicelib.snapshots.subscriptions import SubscriptionStore
from chalicelib.snapshots.tokens import SecretMissing, TokenSigner, secret_from_env
from tests.test_snapshots import parse, post_sample, sent_messages, snap  # noqa: F401 (fixture)

import app as app_module

VALUE = "generated-by-secrets-manager-0123456789abcdef"


@pytest.fixture
def stored_secret(snap, monkeypatch):  # noqa: F811 (the fixture imported above)
    """snap's stage, but the secret lives in Secrets Manager as in AWS."""
    arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="UnsubscribeSecret-test", SecretString=VALUE)["ARN"]
    monkeypatch.delenv("UNSUBSCRIBE_SECRET")
    monkeypatch.delenv("LIVEREPORT_ENV", raising=False)
    monkeypatch.setenv("UNSUBSCRIBE_SECRET_ARN", arn)
    secrets.clear_cache()
    yield arn
    secrets.clear_cache()


def secret_reads(monkeypatch) -> list[str]:
    from botocore.client import BaseClient
    reads: list[str] = []
    original = BaseClient._make_api_call

    def counting(self, operation, params):
        if operation == "GetSecretValue":
            reads.append(params["SecretId"])
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return reads


def test_secret_is_read_once_per_container(stored_secret, monkeypatch):
    reads = secret_reads(monkeypatch)
    assert secret_from_env() == VALUE.encode()
    assert secret_from_env() == VALUE.encode()
    assert reads == [stored_secret]
    secrets.clear_cache()  # a new container
    assert secret_from_env() == VALUE.encode() and len(reads) == 2


def test_a_plain_value_still_wins_and_nothing_is_a_silent_default(stored_secret, monkeypatch):
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "an-explicit-secret-for-this-run")
    assert secret_from_env() == b"an-explicit-secret-for-this-run"
    with pytest.raises(SecretMissing, match="UNSUBSCRIBE_SECRET_ARN"):
        secret_from_env({})
    with pytest.raises(Exception):  # a secret that does not exist: an error, never the dev secret
        secret_from_env({"UNSUBSCRIBE_SECRET_ARN": stored_secret + "-gone"})


def test_links_signed_by_the_sender_verify_in_the_api(snap, stored_secret, monkeypatch):  # noqa: F811
    """Through the handlers, so the least-privilege check sees both functions read it."""
    reads = secret_reads(monkeypatch)
    post_sample(snap, time.time() - 60)
    store = SubscriptionStore(snap.wired.client, snap.wired.config.table_name)
    store.create("acme", {"campaign_id": "c1", "report": "live", "recipients": ["ann@example.com"],
                          "frequency": {"type": "hourly"}}, time.time() - 7200)  # due now
    from chalicelib.consent.lists import SUB, ListContext, ref
    from chalicelib.consent.store import ConsentStore
    (sub,) = store.list("acme")
    ConsentStore(snap.wired.client, snap.wired.config.table_name).register(  # Ann confirmed (docs/snapshots.md)
        "acme", ref(SUB, sub.subscription_id), ["ann@example.com"], {"ann@example.com"},
        ListContext("en", "", "acme"), time.time(), confirmed_via="test")
    tick = snap.client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                detail={}, resources=[])
    assert snap.client.lambda_.invoke("send_due_snapshots", tick).payload["sent"] == 1
    cells = parse(sent_messages()[0].raw_data)[3]
    token = parse_qs(urlparse(next(l for l in cells.links if "/v1/unsubscribe" in l)).query)["token"][0]
    assert TokenSigner(VALUE.encode()).verify(token, "unsubscribe", time.time()).recipient == "ann@example.com"
    r = snap.client.http.post(f"/v1/unsubscribe?token={token}", body=b"List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and b"ann@example.com" in r.body
    assert reads == [stored_secret]  # one read served the sender and the API (one process here)
    listing = json.loads(snap.get("/v1/subscriptions", snap.key("acme", ("read", "manage"))).body)
    (status,) = listing["subscriptions"][0]["recipient_status"]
    assert status["address"] == "ann@example.com" and status["status"] == "unsubscribed"


def test_dashboard_url_from_the_environment_or_its_parameter(aws):
    """The trigger's environment names an SSM parameter instead of the distribution."""
    boto3.client("ssm", region_name="eu-west-1").put_parameter(
        Name="/livereport/test/dashboard-url", Value="https://d111.cloudfront.net/", Type="String")
    secrets.clear_cache()
    try:
        assert secrets.dashboard_url({"DASHBOARD_URL": "http://127.0.0.1:8080/"}) == "http://127.0.0.1:8080/"
        assert secrets.dashboard_url({"DASHBOARD_URL_PARAMETER": "/livereport/test/dashboard-url"}) == \
            "https://d111.cloudfront.net/"
        assert secrets.dashboard_url({}) == ""
        with pytest.raises(Exception):  # a parameter that is not there is an error, not an empty link
            secrets.dashboard_url({"DASHBOARD_URL_PARAMETER": "/livereport/test/missing"})
    finally:
        secrets.clear_cache()


def test_profile_keys_read_their_own_secret_from_secrets_manager(api, monkeypatch):
    """Ingest (the API handler) keys recipients with PROFILE_KEY_SECRET_ARN's value: a
    webhook event without a profile_id counts a person, keyed by the stage's secret."""
    from chalicelib import profile_keys
    arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="ProfileKeySecret-test", SecretString=VALUE)["ARN"]
    monkeypatch.delenv("LIVEREPORT_ENV", raising=False)
    monkeypatch.setenv("PROFILE_KEY_SECRET_ARN", arn)
    secrets.clear_cache()
    keys = profile_keys.ProfileKeys()
    assert keys.key("acme", "r", "a@x.org") == profile_keys.ProfileKeys(VALUE.encode()).key("acme", "r", "a@x.org")
    assert keys.key("acme", "r", "a@x.org") != profile_keys.ProfileKeys(
        profile_keys.DEV_SECRET.encode()).key("acme", "r", "a@x.org")
    with pytest.raises(secrets.SecretMissing, match="PROFILE_KEY_SECRET"):
        profile_keys.secret_from_env({})
    secrets.clear_cache()
