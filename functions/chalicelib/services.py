"""Wiring: build every service from one DynamoDB client and a config.

app.py, local mode, tests and benchmarks all build the same objects here, so
there is one way to assemble the system.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import boto3
from botocore.config import Config

from .auth import KeyStore
from .campaigns import CampaignDirectory
from .cardinality import CardinalityGuard
from .config import AppConfig
from .ingest import IngestService
from .ledger import BatchLedger
from .reports.global_ import GlobalReports
from .reports.live import LiveReports
from .sketches import SketchStore
from .store import CounterStore, StoreConfig


@dataclass
class Services:
    config: AppConfig
    client: Any
    store: CounterStore
    keys: KeyStore
    ingest: IngestService
    live: LiveReports
    directory: CampaignDirectory
    sketches: SketchStore
    globals: GlobalReports

    def pump(self) -> None:
        """Fold whatever accepted events are still on their way into the counters
        (tests and local mode call it; a no-op while ingest applies in the request)."""


def dynamodb_client(config: AppConfig) -> Any:
    # Standard retry mode retries throttling with backoff before our own layer does.
    return boto3.client("dynamodb", region_name=config.region,
                        config=Config(retries={"mode": "standard", "max_attempts": 4},
                                      max_pool_connections=32))


def build(config: AppConfig, client: Any | None = None,
          after_chunk: Callable[[int], None] | None = None) -> Services:
    client = client or dynamodb_client(config)
    store_config = StoreConfig(table_name=config.table_name, consistent_reads=config.consistent_reads)
    store = CounterStore(client, store_config, after_chunk=after_chunk)
    directory = CampaignDirectory(client, store_config)
    sketches = SketchStore(client, store_config)
    ingest = IngestService(store, BatchLedger(client, store_config), CardinalityGuard(client, store_config),
                           directory, sketches)
    return Services(config, client, store, KeyStore(client, config.table_name), ingest,
                    LiveReports(store, sketches, directory), directory, sketches,
                    GlobalReports(store, sketches))
