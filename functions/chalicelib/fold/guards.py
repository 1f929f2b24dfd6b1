"""Names of the attributes a fold keeps on the items it writes, and how to read them.

Every internal attribute starts with `~`, which no metric, dimension code or
variant id can (ID_PATTERN), so readers and the rollup tell counters from
bookkeeping by the first character alone.

- `~q<shard>`: the last stream sequence number of that shard whose deltas the
  item holds (60 digits, zero-padded, so strings compare like numbers). An
  update applies only if the item's value is below the fold's first record:
  a redelivered or overlapping fold can never add twice, and no transaction
  is needed (DESIGN invariant 2).
- `~st`: the change stamp of the last fold that wrote the item (sortable by
  write time); the page's change stamp is the newest one of a campaign's
  recent minute items (`campaigns.py`).
- `~le`: the latest receipt time (epoch seconds) of the events it holds.
"""
from __future__ import annotations

INTERNAL = "~"
STAMP = "~st"
RECEIVED = "~le"
SEQUENCE_WIDTH = 60


def is_counter(attr: str) -> bool:
    """A counter attribute (a metric, a dimension value, an experiment counter)."""
    return not attr.startswith(INTERNAL)


def shard_tag(shard_id: str) -> str:
    """A short, stable tag of a shard: `shardId-000000000012` -> `12`."""
    tail = shard_id.rsplit("-", 1)[-1]
    return tail.lstrip("0") or "0"


def guard_attr(tag: str) -> str:
    return f"~q{tag}"


def seq_key(sequence: int) -> str:
    return f"{sequence:0{SEQUENCE_WIDTH}d}"


def stamp_of(written_ms: int, tag: str, last: int) -> str:
    """`<write ms, 13 digits>.<shard tag>.<last sequence>`: newer folds sort later."""
    return f"{written_ms:013d}.{tag}.{last}"
