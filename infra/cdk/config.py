"""Per-stage settings and the CDK context keys that override them.

Nothing here names an account: the target account and region come from the
credentials the CDK CLI runs with (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION),
or the stack stays environment-agnostic (offline synth).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
CHALICE_CONFIG = FUNCTIONS_DIR / ".chalice" / "config.json"

STAGES = ("dev", "prod")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class StageSettings:
    """What differs between stages. Context keys (``-c key=value``) override."""

    stage: str
    #: Keep the table and the site bucket when the stack is deleted; DynamoDB
    #: deletion protection on.
    retain_data: bool
    log_retention_days: int
    #: From address of snapshot emails (SENDER_EMAIL). context: sender
    sender: str = "reports@example.com"
    #: Verify the whole domain instead of the single address. context: sender_domain
    sender_domain: str = ""
    #: Subscribe this address to the alarm topic. context: alarm_email
    alarm_email: str = ""
    lambda_memory_mb: int = 512
    lambda_timeout_s: int = 60
    #: The ingest stream (Kinesis): "provisioned" (shard_count shards, billed by
    #: shard-hour + PUT payload units) or "on_demand" (billed per stream-hour +
    #: GB in/out, scales itself, starts at 4 shards). context: stream_mode
    stream_mode: str = "provisioned"
    #: Shards in provisioned mode (1 MB/s or 1,000 records/s of writes each).
    #: Fewer shards mean larger folds: the aggregator folds per shard. context: stream_shards
    stream_shards: int = 1
    #: The aggregator's MaximumBatchingWindowInSeconds: events wait up to this
    #: long to be folded together (freshness vs writes per event). 1-300.
    #: context: stream_batching_window_s
    stream_batching_window_s: int = 1
    #: The aggregator (fold_stream): CPU scales with memory (decompress + fold
    #: up to 6 MB of records per invocation). context: aggregator_memory_mb, aggregator_timeout_s
    aggregator_memory_mb: int = 1024
    aggregator_timeout_s: int = 120
    #: The minute -> hour -> day rollup (every minute). context: rollup_timeout_s
    rollup_timeout_s: int = 120
    #: The API handler's timeout: under API Gateway's 29 s integration limit,
    #: so no request holds a Lambda after its client got a 504. context: api_timeout_s
    api_timeout_s: int = 28
    #: Stage-level throttling, requests/s and burst, per method group (docs/deploy.md,
    #: "Limits"). A rate of 0 is derived from the stream (ingest and webhooks:
    #: half of its record capacity each); a burst of 0 is twice the rate.
    #: context: <group>_rate, <group>_burst
    ingest_rate: int = 0
    ingest_burst: int = 0
    webhook_rate: int = 0
    webhook_burst: int = 0
    report_rate: int = 10
    report_burst: int = 0
    stamp_rate: int = 100
    stamp_burst: int = 0
    default_rate: int = 50
    default_burst: int = 0
    #: The live channel's WebSocket stage: connects and messages together (infra/cdk/live.py)
    socket_rate: int = 50
    socket_burst: int = 0
    #: Cognito threat protection (Plus feature plan): "audit" logs risky
    #: sign-ins, "enforced" also blocks them, "off" (Essentials plan). context: threat_protection
    threat_protection: str = "audit"
    #: A WAF web ACL on the API stage with per-IP rate-based rules. context: waf
    waf: bool = False
    #: Requests per client IP and 5 minutes before WAF answers 429: reads (GET)
    #: and writes (everything else). context: waf_read_limit, waf_write_limit
    waf_read_limit: int = 3000
    waf_write_limit: int = 60000

    def stream_records_per_second(self) -> int:
        """What the stream takes: 1,000 records/s per shard (on-demand starts at 4 shards)."""
        return 1000 * (self.stream_shards if self.stream_mode == "provisioned" else 4)

    def throttle(self, group: str) -> tuple[int, int]:
        """(rate, burst) of a method group: ingest, webhook, report, stamp, default."""
        rate, burst = getattr(self, f"{group}_rate"), getattr(self, f"{group}_burst")
        if group in ("ingest", "webhook") and not rate:
            rate = self.stream_records_per_second() // 2
        return rate, burst or 2 * rate

    @property
    def stack_name(self) -> str:
        return f"livereport-{self.stage}"

    @property
    def stream_name(self) -> str:
        """STREAM_NAME of the functions; dev's is chalicelib's default
        (local mode's stream has the same name)."""
        return f"livereport-events-{self.stage}"

    @property
    def ses_identity(self) -> str:
        """The SES identity the functions may send as (domain or address)."""
        return self.sender_domain or self.sender

    @property
    def table_name(self) -> str:
        """The table name the Chalice stage already configures (TABLE_NAME in
        functions/.chalice/config.json), so `python -m infra.keys` and the
        functions agree without extra flags."""
        stage_env = chalice_config()["stages"][self.stage].get("environment_variables", {})
        return stage_env.get("TABLE_NAME", self.stack_name)

    @property
    def api_gateway_stage(self) -> str:
        config = chalice_config()
        return config["stages"][self.stage].get("api_gateway_stage") or config.get("api_gateway_stage", "api")


DEFAULTS = {
    "dev": StageSettings(stage="dev", retain_data=False, log_retention_days=14),
    "prod": StageSettings(stage="prod", retain_data=True, log_retention_days=90, stream_shards=2,
                          threat_protection="enforced"),
}

THREAT_PROTECTION = ("off", "audit", "enforced")
THROTTLE_GROUPS = ("ingest", "webhook", "report", "stamp", "default", "socket")


def _bool(value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")

STREAM_MODES = ("provisioned", "on_demand")

_CONTEXT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "sender": ("sender", str),
    "sender_domain": ("sender_domain", str),
    "alarm_email": ("alarm_email", str),
    "log_retention_days": ("log_retention_days", int),
    "lambda_memory_mb": ("lambda_memory_mb", int),
    "lambda_timeout_s": ("lambda_timeout_s", int),
    "stream_mode": ("stream_mode", str),
    "stream_shards": ("stream_shards", int),
    "stream_batching_window_s": ("stream_batching_window_s", int),
    "aggregator_memory_mb": ("aggregator_memory_mb", int),
    "aggregator_timeout_s": ("aggregator_timeout_s", int),
    "rollup_timeout_s": ("rollup_timeout_s", int),
    "api_timeout_s": ("api_timeout_s", int),
    **{f"{group}_{kind}": (f"{group}_{kind}", int) for group in THROTTLE_GROUPS for kind in ("rate", "burst")},
    "threat_protection": ("threat_protection", str),
    "waf": ("waf", _bool),
    "waf_read_limit": ("waf_read_limit", int),
    "waf_write_limit": ("waf_write_limit", int),
}

#: Every context key the app reads (the CDK CLI entry point passes these through).
CONTEXT_KEYS = tuple(_CONTEXT)


def chalice_config() -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG.read_text())


def settings_for(stage: str, context: dict[str, Any] | None = None) -> StageSettings:
    """The stage's defaults with context overrides applied and validated."""
    if stage not in DEFAULTS:
        raise ValueError(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)} (-c stage=dev)")
    if stage not in chalice_config().get("stages", {}):
        raise ValueError(f"stage {stage!r} missing from {CHALICE_CONFIG}")
    overrides = {}
    for key, (field, cast) in _CONTEXT.items():
        if context and context.get(key) not in (None, ""):
            try:
                overrides[field] = cast(context[key])
            except ValueError as exc:
                raise ValueError(f"context {key}={context[key]!r}: {exc}") from None
    settings = replace(DEFAULTS[stage], **overrides)
    if not EMAIL.match(settings.sender):
        raise ValueError(f"sender {settings.sender!r} is not an email address")
    if settings.sender_domain:
        if not DOMAIN.match(settings.sender_domain):
            raise ValueError(f"sender_domain {settings.sender_domain!r} is not a domain name")
        if not settings.sender.lower().endswith("@" + settings.sender_domain.lower()):
            raise ValueError(f"sender {settings.sender!r} is not in sender_domain {settings.sender_domain!r}")
    if settings.alarm_email and not EMAIL.match(settings.alarm_email):
        raise ValueError(f"alarm_email {settings.alarm_email!r} is not an email address")
    if settings.stream_mode not in STREAM_MODES:
        raise ValueError(f"stream_mode {settings.stream_mode!r}: choose one of {', '.join(STREAM_MODES)}")
    if not 1 <= settings.stream_shards <= 500:
        raise ValueError(f"stream_shards {settings.stream_shards}: 1-500")
    # Lambda requires a window of at least 1 s when BatchSize > 10 (the aggregator asks for 10,000).
    if not 1 <= settings.stream_batching_window_s <= 300:
        raise ValueError(f"stream_batching_window_s {settings.stream_batching_window_s}: 1-300 seconds")
    if not 128 <= settings.aggregator_memory_mb <= 10240:
        raise ValueError(f"aggregator_memory_mb {settings.aggregator_memory_mb}: 128-10240")
    for name in ("aggregator_timeout_s", "rollup_timeout_s"):
        if not 60 <= getattr(settings, name) <= 900:
            raise ValueError(f"{name} {getattr(settings, name)}: 60-900 seconds")
    if not 3 <= settings.api_timeout_s <= 29:
        raise ValueError(f"api_timeout_s {settings.api_timeout_s}: 3-29 seconds (API Gateway gives up at 29 s)")
    for group in THROTTLE_GROUPS:
        rate, burst = settings.throttle(group)
        if not 1 <= rate <= 10000 or not 1 <= burst <= 5000:
            raise ValueError(f"{group}_rate/{group}_burst {rate}/{burst}: rate 1-10000 requests/s, "
                             "burst 1-5000 (API Gateway's account limits)")
    if settings.threat_protection not in THREAT_PROTECTION:
        raise ValueError(f"threat_protection {settings.threat_protection!r}: choose one of "
                         f"{', '.join(THREAT_PROTECTION)}")
    for name in ("waf_read_limit", "waf_write_limit"):
        if not 10 <= getattr(settings, name) <= 2_000_000_000:
            raise ValueError(f"{name} {getattr(settings, name)}: 10 or more requests per 5 minutes")
    return settings
