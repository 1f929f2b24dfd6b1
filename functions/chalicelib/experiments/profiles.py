"""Exact people and successes per variant (DESIGN invariant 9): one small state
item per (campaign, channel, profile), written only when the profile does
something new for its experiment: its assignment, a first open, click,
interaction, unsubscribe or complaint, a credited conversion.

Why not sketches: a 1 % HLL error is as large as the lifts marketers look for.

A fold that carries experiment events (events with a `variant`, and
conversions of profiles that have a state) reads those profiles' states (one
strongly consistent BatchGetItem per 100), folds its events into each, and
writes back only the states that changed, each conditional on its version (a
fold on another shard that changed the same profile meanwhile makes this one
re-read and redo that profile). The counter deltas the changes imply ("A: one
more person at 10:42", "B: one more clicker at 10:57") join the fold's own
counter deltas, which the aggregator applies exactly once.

Exactly once, without transactions: like a counter item (`fold/writing.py`),
a state records the last sequence number of this shard whose events it holds
(`~q<shard>`), and each write records the deltas it implied, each with the
sequence of the record that caused it (`ap`). A retried or overlapping fold
finds the state ahead of its first record: it reuses the recorded deltas of
its records and derives new ones only from its records after the guard. The
counter items then take each delta once, by their own guards. Entries older
than the stream's retention (no fold is retried after it) are dropped on the
profile's next write.

Rules (docs/experiments.md):
- people: the first `sent` (in-app, web: `impression`) with a variant assigns
  the profile to that variant; a later one with another variant marks it
  contaminated (counted once) and it stays in the first;
- successes: the first human open, click, interaction, unsubscribe or
  complaint tagged with a variant counts for the profile's assigned variant,
  once the profile is assigned (in whichever order the two arrive);
- conversions, with or without a variant, count for the assigned variant when
  they happen within the attribution window after the assignment (7 days by
  default); revenue per person is the sum of their credited conversions'
  values, and the sum of its squares is kept for the variance.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from botocore.exceptions import ClientError

from .. import catalogue, tables
from ..buckets import bucket_of
from ..fold.guards import INTERNAL, seq_key
from ..store import StoreConfig, with_retries

#: unique metrics' codes by event type (machine opens are no success)
SUCCESS_CODES = {m.event: m.code for m in catalogue.EXPERIMENT_METRICS.values()
                 if m.kind == "unique" and m.event != "conversion"}
PEOPLE, CONTAMINATED, CONVERTED, REVENUE, SQUARES = "n", "x", "k", "r", "q"
PENDING_LIMIT = 20  # conversions kept while a profile awaits its assignment
TAG_RETENTION = 25 * 3600  # > the stream's 24 h: no fold is retried after its records expire
STATE_TTL = 400 * 86400
MAX_ATTEMPTS = 6
GUARD_PREFIX = INTERNAL + "q"

#: (workspace, campaign, channel) -> attribution window in seconds
WindowOf = Callable[[str, str, str], int]
#: admit(workspace, campaign, values) -> {variant: variant or "other"}: at most MAX_VARIANTS per campaign
AdmitVariants = Callable[[str, str, set[str]], Mapping[str, str]]
MAX_VARIANTS = 20
#: (minute bucket, variant, code, delta)
Delta = tuple[str, str, str, int]
#: (source record sequence, delta)
SourcedDelta = tuple[int, Delta]


@dataclass(frozen=True)
class State:
    """What one profile did in one experiment, as far as counting needs."""

    variant: str | None = None
    assigned_at: int | None = None
    contaminated: bool = False
    firsts: Mapping[str, int] = field(default_factory=dict)  # success code -> first time (epoch s)
    converted_at: int | None = None
    revenue: int = 0  # credited revenue units (catalogue.REVENUE_SCALE)
    pending: tuple[tuple[int, int], ...] = ()  # (time, units) of conversions before the assignment
    version: int = 0
    applied: Mapping[str, str] = field(default_factory=dict)  # guard value -> "epoch;seq|minute|variant|code|n;..."
    guards: Mapping[str, str] = field(default_factory=dict)  # shard tag -> last sequence applied (seq_key)


def _minute(epoch: int) -> str:
    return bucket_of(tables.MINUTE, epoch)


def fold_events(state: State, events: Iterable[Mapping[str, Any]], channel: str,
                window: int) -> tuple[State, list[Delta]]:
    """A profile's new state and the counter deltas it implies (pure, deterministic)."""
    deltas: list[Delta] = []
    events = list(events)
    known = state.variant is not None or bool(state.firsts or state.pending) or any(e.get("variant") for e in events)
    if not known:
        return state, deltas  # conversions of a profile in no experiment: nothing to keep
    assignment = catalogue.ASSIGNMENT_EVENT[channel]
    s = state
    firsts = dict(s.firsts)
    pending = list(s.pending)
    new_conversions: list[tuple[int, int]] = []
    for ev in events:
        etype, ts, variant = ev["type"], int(ev["ts"]), ev.get("variant")
        if etype == assignment and variant:
            if s.variant is None:
                s = replace(s, variant=variant, assigned_at=ts)
                deltas.append((_minute(ts), variant, PEOPLE, 1))
            elif variant != s.variant and not s.contaminated:
                s = replace(s, contaminated=True)
                deltas.append((_minute(ts), s.variant, CONTAMINATED, 1))
        elif etype in SUCCESS_CODES and variant and not (etype == "open" and ev.get("machine")):
            firsts.setdefault(SUCCESS_CODES[etype], ts)
        elif etype == "conversion":
            new_conversions.append((ts, catalogue.revenue_units(ev.get("value") or 0)))
    # successes count for the assigned variant once both are known, at the later of the two times
    if s.variant is not None and s.assigned_at is not None:
        for code, at in sorted(firsts.items()):
            if code not in state.firsts or state.variant is None:
                deltas.append((_minute(max(at, s.assigned_at)), s.variant, code, 1))
    s = replace(s, firsts=firsts)
    # conversions: credited within the window after the assignment; kept while unassigned
    if s.variant is None or s.assigned_at is None:
        pending = (pending + new_conversions)[:PENDING_LIMIT]
        return replace(s, pending=tuple(pending)), deltas
    start, end = s.assigned_at, s.assigned_at + window
    revenue, converted_at = s.revenue, s.converted_at
    for at, units in sorted(pending + new_conversions):
        if not start <= at <= end:
            continue
        if converted_at is None:
            converted_at = at
            deltas.append((_minute(at), s.variant, CONVERTED, 1))
        if units:
            deltas.append((_minute(at), s.variant, REVENUE, units))
            deltas.append((_minute(at), s.variant, SQUARES, (revenue + units) ** 2 - revenue ** 2))
            revenue += units
    return replace(s, pending=(), revenue=revenue, converted_at=converted_at), deltas


# --- the item -----------------------------------------------------------------------------

def _encode_deltas(now: int, deltas: list[SourcedDelta]) -> str:
    return f"{now};" + ";".join(f"{seq}|{m}|{v}|{c}|{n}" for seq, (m, v, c, n) in deltas)


def _decode_deltas(text: str) -> list[SourcedDelta]:
    out = []
    for part in text.split(";")[1:]:
        if part:
            seq, m, v, c, n = part.split("|")
            out.append((int(seq), (m, v, c, int(n))))
    return out


def _parse(item: Mapping[str, Any] | None) -> State:
    if not item:
        return State()
    num = lambda k: int(item[k]["N"]) if k in item else None  # noqa: E731
    return State(
        variant=item["v"]["S"] if "v" in item else None,
        assigned_at=num("t"),
        contaminated="x" in item,
        firsts={k: int(v["N"]) for k, v in item.get("f", {}).get("M", {}).items()},
        converted_at=num("k"),
        revenue=num("r") or 0,
        pending=tuple((int(p["L"][0]["N"]), int(p["L"][1]["N"])) for p in item.get("pc", {}).get("L", [])),
        version=num("ver") or 0,
        applied={k: v["S"] for k, v in item.get("ap", {}).get("M", {}).items()},
        guards={k[len(GUARD_PREFIX):]: v["S"] for k, v in item.items() if k.startswith(GUARD_PREFIX)})


def _item(pk: str, profile: str, s: State, now: int) -> dict[str, Any]:
    item: dict[str, Any] = {**tables.key(pk, profile), "ver": {"N": str(s.version)},
                            tables.TTL_ATTRIBUTE: {"N": str(now + STATE_TTL)}}
    if s.variant is not None:
        item["v"] = {"S": s.variant}
        item["t"] = {"N": str(s.assigned_at)}
    if s.contaminated:
        item["x"] = {"N": "1"}
    if s.firsts:
        item["f"] = {"M": {k: {"N": str(v)} for k, v in s.firsts.items()}}
    if s.converted_at is not None:
        item["k"] = {"N": str(s.converted_at)}
    if s.revenue:
        item["r"] = {"N": str(s.revenue)}
    if s.pending:
        item["pc"] = {"L": [{"L": [{"N": str(a)}, {"N": str(u)}]} for a, u in s.pending]}
    if s.applied:
        item["ap"] = {"M": {k: {"S": v} for k, v in s.applied.items()}}
    for tag, value in s.guards.items():
        item[GUARD_PREFIX + tag] = {"S": value}
    return item


def _changed(old: State, new: State) -> bool:
    return replace(old, version=0, applied={}, guards={}) != replace(new, version=0, applied={}, guards={})


@dataclass
class Resolution:
    """What a fold's experiment events add: counter deltas per experiment counter item."""

    #: (source sequence, counter item, attribute, delta): the slow path keeps those after a guard
    sourced: list[tuple[int, tuple[str, str], str, int]] = field(default_factory=list)
    reads: int = 0
    writes: int = 0
    conflicts: int = 0
    profiles: int = 0

    def add(self, pk: str, seq: int, delta: Delta) -> None:
        minute, variant, code, n = delta
        self.sourced.append((seq, (pk, tables.counter_sk(tables.MINUTE, minute, tables.NO_EXECUTION)),
                             f"{variant}|{code}", n))

    def counters(self, after: int = -1) -> dict[tuple[str, str], dict[str, int]]:
        """Deltas per counter item of the records after a sequence number (all by default)."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for seq, key, attr, n in self.sourced:
            if seq > after:
                row = out.setdefault(key, {})
                row[attr] = row.get(attr, 0) + n
        return out


def relevant(ev: Mapping[str, Any]) -> bool:
    """Events that may change an experiment's numbers: anything with a variant, and
    conversions of identified profiles (credited to the variant they were assigned)."""
    return bool(ev.get("variant")) or (ev["type"] == "conversion" and bool(ev.get("profile_id")))


class ProfileStates:
    """Reads and conditionally writes profile states; turns a fold's events into deltas."""

    def __init__(self, client: Any, config: StoreConfig, window_of: WindowOf,
                 admit: AdmitVariants | None = None, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.config = config
        self.window_of = window_of
        self.admit = admit
        self.clock = clock

    def resolve(self, tag: str, first: int, events: Iterable[tuple[str, Mapping[str, Any], int]]) -> Resolution:
        """`events`: (workspace, compact event, record sequence) of the fold's committed records;
        `tag` is the shard's guard tag and `first` the fold's first record."""
        events = [(w, ev, seq) for w, ev, seq in events if relevant(ev)]
        if self.admit is not None:  # a producer naming thousands of variants gets "other" past the cap
            named: dict[tuple[str, str], set[str]] = {}
            for workspace, ev, _ in events:
                if ev.get("variant"):
                    named.setdefault((workspace, ev["campaign_id"]), set()).add(ev["variant"])
            mapping = {k: self.admit(k[0], k[1], v) for k, v in sorted(named.items())}
            events = [(w, {**ev, "variant": mapping[(w, ev["campaign_id"])][ev["variant"]]} if ev.get("variant")
                       else ev, seq) for w, ev, seq in events]
        groups: dict[tuple[str, str, str, str], list[tuple[Mapping[str, Any], int]]] = {}
        for workspace, ev, seq in events:
            groups.setdefault((workspace, ev["campaign_id"], ev["channel"], ev["profile_id"]), []).append((ev, seq))
        out = Resolution(profiles=len(groups))
        if not groups:
            return out
        keys = sorted(groups)
        states = self._read(keys, out)
        now = int(self.clock())
        for key in keys:
            workspace, campaign, channel, profile = key
            pk = tables.experiment_profile_pk(workspace, campaign, channel)
            of_profile = sorted(groups[key], key=lambda e: (int(e[0]["ts"]), e[1]))
            window = self.window_of(workspace, campaign, channel)
            state = states.get(key)
            for _ in range(MAX_ATTEMPTS):
                deltas = self._apply_one(pk, profile, state, of_profile, channel, window, tag, first, now, out)
                if deltas is not None:
                    break
                out.conflicts += 1
                state = self._read([key], out).get(key)
            else:
                raise RuntimeError(f"profile state of {profile!r} kept changing under this fold")
            xpk = tables.experiment_counter_pk(workspace, campaign, channel)
            for seq, delta in deltas:
                out.add(xpk, seq, delta)
        return out

    def _apply_one(self, pk: str, profile: str, state: State | None, events: list[tuple[Mapping[str, Any], int]],
                   channel: str, window: int, tag: str, first: int, now: int,
                   out: Resolution) -> list[SourcedDelta] | None:
        """The sourced deltas of one profile for this fold; None when its state moved (re-read)."""
        current = state or State()
        guard = current.guards.get(tag)
        done = int(guard) if guard is not None and int(guard) >= first else None
        reused = [d for text in current.applied.values() for d in _decode_deltas(text)
                  if done is not None and first <= d[0] <= done]
        pending = [(ev, seq) for ev, seq in events if done is None or seq > done]
        if not pending:
            return reused  # a retry: this fold already changed the state
        new, deltas = fold_events(current, [ev for ev, _ in pending], channel, window)
        if not _changed(current, new):
            return reused
        source = max(seq for _, seq in pending)
        sourced = [(source, d) for d in deltas]
        last = seq_key(source)
        kept = {g: v for g, v in current.applied.items() if int(v.split(";", 1)[0]) >= now - TAG_RETENTION}
        kept[last] = _encode_deltas(now, sourced)
        new = replace(new, version=current.version + 1, applied=kept, guards={**current.guards, tag: last})
        condition = "attribute_not_exists(pk)" if state is None else "ver = :v"
        values = {} if state is None else {"ExpressionAttributeValues": {":v": {"N": str(current.version)}}}
        try:
            with_retries(lambda: self.client.put_item(TableName=self.config.table_name,
                                                      Item=_item(pk, profile, new, now),
                                                      ConditionExpression=condition, **values), self.config)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        out.writes += 1
        return reused + sourced

    def _read(self, keys: list[tuple[str, str, str, str]], out: Resolution) -> dict[tuple, State]:
        states: dict[tuple, State] = {}
        by_item = {(tables.experiment_profile_pk(w, c, ch), p): (w, c, ch, p) for w, c, ch, p in keys}
        items = list(by_item)
        for i in range(0, len(items), 100):
            request = {self.config.table_name: {"Keys": [tables.key(pk, sk) for pk, sk in items[i:i + 100]],
                                                "ConsistentRead": True}}
            while request:
                response = with_retries(lambda: self.client.batch_get_item(RequestItems=request), self.config)
                for item in response.get("Responses", {}).get(self.config.table_name, []):
                    states[by_item[(item[tables.PK]["S"], item[tables.SK]["S"])]] = _parse(item)
                    out.reads += 1
                request = response.get("UnprocessedKeys") or None
        return states
