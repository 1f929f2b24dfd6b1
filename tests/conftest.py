"""Shared fixtures: fake AWS credentials, a moto-backed table, the Chalice test client."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "TABLE_NAME": "livereport-test",
    "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
    "LIVEREPORT_ENV": "test",  # development secrets (profile keys, unsubscribe links) apply
})
os.environ.pop("AWS_ENDPOINT_URL", None)

import clock_hour  # noqa: E402

clock_hour.start_from_env()  # LIVEREPORT_TEST_HOUR: the whole run at another hour of the day

from moto import mock_aws  # noqa: E402

from infra.local import moto_speedups  # noqa: E402

moto_speedups.apply()

from chalicelib import services, tables  # noqa: E402
from chalicelib.config import AppConfig  # noqa: E402
from chalicelib.stream import create_stream  # noqa: E402

TABLE = "livereport-test"
STREAM = "livereport-events-test"
#: two shards, so every test folds through more than one shard's watermark
SHARDS = 2
os.environ["STREAM_NAME"] = STREAM


def config() -> AppConfig:
    return AppConfig(table_name=TABLE, region="eu-west-1", stream_name=STREAM)


@contextlib.contextmanager
def moto_table():
    with mock_aws():
        import boto3
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables.create_table(client, TABLE)
        create_stream(boto3.client("kinesis", region_name="eu-west-1"), STREAM, SHARDS)
        yield client


def services_at(url: str, table: str, stream: str) -> services.Services:
    """Services over HTTP against a moto server, as one Lambda container would build them."""
    import boto3
    from botocore.config import Config
    client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url,
                          config=Config(retries={"mode": "standard", "max_attempts": 6}))
    kinesis = boto3.client("kinesis", region_name="eu-west-1", endpoint_url=url)
    return services.build(AppConfig(table_name=table, region="eu-west-1", stream_name=stream), client, kinesis)


@contextlib.contextmanager
def api_client(wired):
    """The Chalice app under the test client, wired to the given services."""
    import app as app_module
    from chalice.test import Client
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(app_module, "wired", lambda: wired)
        with Client(app_module.app, stage_name="dev", project_dir=str(ROOT / "functions")) as client:
            yield ApiClient(client, wired)


@pytest.fixture
def aws():
    with moto_table() as client:
        yield client


@pytest.fixture
def wired(aws):
    return services.build(config(), aws)


@pytest.fixture
def api(wired):
    with api_client(wired) as client:
        yield client


@pytest.fixture(scope="module")
def module_api():
    """One moto table and client for a whole module (for expensive data sets)."""
    with moto_table() as client:
        with api_client(services.build(config(), client)) as api:
            yield api


class ApiClient:
    """The test client with keys and JSON helpers."""

    def __init__(self, client, wired):
        self.client = client
        self.wired = wired
        self._keys = {}

    def key(self, workspace="acme", scopes=("ingest", "read")):
        k = (workspace, tuple(scopes))
        if k not in self._keys:
            self._keys[k] = self.wired.keys.create(workspace, list(scopes))[1]
        return self._keys[k]

    def post_events(self, events, key=None, idem=None, raw=None):
        headers = {"Authorization": f"Bearer {key or self.key()}", "Content-Type": "application/json"}
        if idem:
            headers["Idempotency-Key"] = idem
        body = raw if raw is not None else json.dumps({"events": events}).encode()
        response = self.client.http.post("/v1/events", headers=headers, body=body)
        self.wired.pump()  # what the aggregator does in AWS: reports read right after see the events
        return response

    def get(self, path, key=None):
        return self.client.http.get(path, headers={"Authorization": f"Bearer {key or self.key()}"})

    def live(self, campaign, tab, key=None, executions=(), window=None):
        query = f"channel={tab}" + "".join(f"&execution={e}" for e in executions)
        if window:
            query += f"&window={window}"
        r = self.get(f"/v1/campaigns/{campaign}/live?{query}", key)
        assert r.status_code == 200, r.body
        return json.loads(r.body)

    def global_report(self, campaign, channel, key=None, query=""):
        r = self.get(f"/v1/campaigns/{campaign}/report?channel={channel}" + (f"&{query}" if query else ""), key)
        assert r.status_code == 200, r.body
        return json.loads(r.body)


# --- least privilege: every AWS call a handler makes, checked against its role (tests/iam_check.py) ---
from tests import iam_check  # noqa: E402

iam_check.install()


@pytest.fixture(autouse=True)
def handlers_stay_within_their_roles():
    """A handler calling something its role in AWS does not allow fails the test."""
    iam_check.RECORDER.take()
    yield
    denied = iam_check.RECORDER.take()
    assert not denied, iam_check.report(denied)
