"""Explicit configuration, read from the environment once at the edge (app.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class AppConfig:
    table_name: str
    region: str
    consistent_reads: bool = False
    service: str = "livereport"
    stream_name: str = "livereport-events-dev"
    #: emails a workspace may send per UTC day (snapshots, alerts, confirmation requests, invitations)
    email_daily_quota: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "AppConfig":
        return cls(
            table_name=env.get("TABLE_NAME", "livereport-dev"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
            consistent_reads=env.get("CONSISTENT_READS", "false").lower() == "true",
            stream_name=env.get("STREAM_NAME", "livereport-events-dev"),
            email_daily_quota=_count(env.get("EMAIL_DAILY_QUOTA"), 500),
        )


def _count(raw: str | None, default: int) -> int:
    """A non-negative whole number from the environment; a typo fails loudly at start-up."""
    if raw is None or raw.strip() == "":
        return default
    if not raw.strip().isdigit():
        raise ValueError(f"expected a whole number >= 0, got {raw[:20]!r}")
    return int(raw)
