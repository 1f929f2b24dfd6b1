"""Wiring: build every service from one DynamoDB client and a config.

app.py, local mode, tests and benchmarks all build the same objects here, so
there is one way to assemble the system.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
from botocore.config import Config

from .aggregator import Aggregator, FoldStats
from .auth import KeyStore
from .campaigns import CampaignDirectory
from .cardinality import CardinalityGuard
from .config import AppConfig
from .currencies import CurrencyBook
from .experiments.profiles import MAX_VARIANTS, ProfileStates
from .experiments.settings import SettingsStore
from .hot_flags import HotFlags
from .ingest import HotCampaigns, IngestService
from .ledger import BatchLedger
from .live_push.connections import ConnectionStore
from .live_push.notifier import Notifier
from .live_push.report_cache import ReportCache
from .live_push.sender import Sender, sender_for
from .live_push.sockets import endpoint_from_env
from .reports.global_ import GlobalReports
from .reports.live import LiveReports
from .rollup import Rollup, RollupStats
from .sketches import SketchStore
from .store import CounterStore, StoreConfig
from .stream import EventStream, lambda_event


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
    stream: EventStream
    aggregator: Aggregator
    rollup: Rollup
    #: shard -> last sequence handed to the aggregator (what Lambda's event source mapping keeps)
    positions: dict[str, int] = field(default_factory=dict)
    _pump_lock: threading.Lock = field(default_factory=threading.Lock)
    #: the live channel (chalicelib/live_push): connections, the fold's notifier, the shared report cache
    connections: ConnectionStore | None = None
    notifier: Notifier | None = None
    live_cache: ReportCache | None = None

    def pump(self, handler: Callable[[dict[str, Any]], Any] | None = None, roll: bool = True,
             now: float | None = None) -> FoldStats:
        """Do locally what Lambda and the schedule do in AWS: hand each shard's new
        records to the aggregator (or `handler`, the app's Kinesis handler), then
        roll up the hours they touched. Tests call it after posting; local mode's
        poller calls it in a loop. A failing handler leaves the position
        unchanged, so the same records come again, as Lambda retries them."""
        total = FoldStats()
        with self._pump_lock:
            for shard in self.stream.shards():
                raw = list(self.stream.read(shard, self.positions.get(shard)))
                if not raw:
                    continue
                event = lambda_event(shard, raw, self.stream.stream_name, self.config.region)
                stats = (handler or self.aggregator.handle)(event)
                self.positions[shard] = int(raw[-1]["SequenceNumber"])
                if isinstance(stats, FoldStats):
                    total.merge(stats)
            if roll and total.hours:
                self.rollup.run(now if now is not None else time.time(), hours=total.hours, wait_seconds=60)
        return total

    def roll(self, now: float | None = None) -> RollupStats:
        """The minute's schedules: parked records whose request committed, then the rollup."""
        self.aggregator.drain_all_parked(self.stream.stream_name)
        return self.rollup.run(now, wait_seconds=60)


def live_sender(region: str) -> Sender | None:
    """The live channel's sender, or None on a stage without a socket endpoint."""
    endpoint = endpoint_from_env()
    return sender_for(endpoint, region) if endpoint else None


def dynamodb_client(config: AppConfig) -> Any:
    # Standard retry mode retries throttling with backoff before our own layer does.
    return boto3.client("dynamodb", region_name=config.region,
                        config=Config(retries={"mode": "standard", "max_attempts": 4},
                                      max_pool_connections=32))


def build(config: AppConfig, client: Any | None = None, kinesis: Any | None = None,
          after_chunk: Callable[[int], None] | None = None,
          clock: Callable[[], float] = time.time) -> Services:
    client = client or dynamodb_client(config)
    kinesis = kinesis or boto3.client("kinesis", region_name=config.region)
    store_config = StoreConfig(table_name=config.table_name, consistent_reads=config.consistent_reads)
    store = CounterStore(client, store_config)
    directory = CampaignDirectory(client, store_config)
    sketches = SketchStore(store)
    ledger = BatchLedger(client, store_config)
    stream = EventStream(kinesis, config.stream_name)
    currencies = CurrencyBook(client, store_config)
    hot = HotFlags(client, store_config, clock=clock)  # the aggregator flags, ingest salts (hot_flags.py)
    ingest = IngestService(ledger, stream, clock=clock, currencies=currencies,
                           hot=HotCampaigns(clock=clock, flags=hot))
    experiment_settings = SettingsStore(client, store_config, clock=clock)
    guard = CardinalityGuard(client, store_config)
    profiles = ProfileStates(client, store_config, experiment_settings.window_seconds,
                             lambda ws, campaign, values: guard.admit(ws, campaign, "variant", values, MAX_VARIANTS),
                             clock=clock)
    connections = ConnectionStore(client, store_config, clock=clock)
    # The socket endpoint is read when a fold ends (LIVE_SOCKET_ENDPOINT): local mode starts its server
    # after the services exist; a stage without one notifies nobody.
    notifier = Notifier(connections, lambda: live_sender(config.region))
    aggregator = Aggregator(client, store_config, ledger, guard, stream,
                            clock=clock, after_chunk=after_chunk, experiments=profiles, notify=notifier, hot=hot)
    return Services(config, client, store, KeyStore(client, config.table_name), ingest,
                    LiveReports(store, sketches, directory, currencies.currency), directory, sketches,
                    GlobalReports(store, sketches, currencies.currency), stream, aggregator,
                    Rollup(client, store_config, clock=clock), connections=connections, notifier=notifier,
                    live_cache=ReportCache(client, store_config, directory))
