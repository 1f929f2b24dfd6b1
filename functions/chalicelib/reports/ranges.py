"""Report ranges: parsing a global report's from/to/tz, and resolving what is read.

DESIGN invariant 10 (bounded work per request): whatever `from`/`to` say, a
report reads only the campaign's life, from the UTC day of its first data (a day before, for a
range starting at another zone's midnight) to
the end of the minute now + 5 minutes (events are refused further ahead, so
no later hour can hold data), and its series never has more than
`MAX_SERIES_SLOTS` slots. Nonsensical bounds (unparseable, years before 2000,
more than a year ahead, `to` not after `from`, a range holding more than
`MAX_RANGE_DAYS` days of the campaign's life) are a 400 (RangeError) before
anything is read, or after the three one-item reads that find the first data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .. import buckets

HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
#: Monday 1970-01-05 00:00 UTC: weekly slots start on Mondays (UTC), like ISO weeks.
MONDAY = 4 * DAY

EARLIEST_YEAR = 2000
#: How far ahead a bound may be: a year (and a day for leap years and the inclusive end date).
LATEST_AHEAD = timedelta(days=366)
#: The longest stretch of a campaign's life one report reads (two years, a leap day included).
MAX_RANGE_DAYS = 731
#: Series steps: hourly up to two days, daily up to a year, weekly (Mondays, UTC) beyond.
HOURLY_UP_TO = 2 * DAY
DAILY_UP_TO = 366 * DAY
#: The most slots a series can have: a daily series over 366 days that do not start at midnight UTC.
MAX_SERIES_SLOTS = DAILY_UP_TO // DAY + 1
MAX_RAW_BOUND = 64  # characters of a from/to value (an ISO datetime with an offset is 32)


class RangeError(ValueError):
    """A from/to/tz the caller must fix (400)."""


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # `localtime` (and `posixrules`, `Factory`) name whatever the server is set to: not a zone to report in
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def zone(name: str) -> ZoneInfo:
    """An IANA zone of the tz database; anything else (unknown, a path, `localtime`) is a RangeError."""
    known = _zone_names()
    if len(name) > 64 or (known and name not in known):
        raise RangeError(f"tz: unknown time zone '{name[:64]}' (an IANA name such as Europe/Paris)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RangeError(f"tz: unknown time zone '{name}' (an IANA name such as Europe/Paris)") from None


def _name(is_end: bool) -> str:
    return "to" if is_end else "from"


def parse_bound(raw: str | None, tz: ZoneInfo, is_end: bool, now: float | None = None) -> datetime | None:
    """A date means whole days in tz (an end date is inclusive); a datetime is exact.

    Years before 2000 and instants more than a year after `now` are refused: no
    campaign has data there, and such bounds only make a report work for nothing."""
    if not raw:
        return None
    name = _name(is_end)
    usage = f"{name}: an ISO date (2026-11-20) or datetime (2026-11-20T09:00:00+01:00)"
    latest = datetime.fromtimestamp(now if now is not None else datetime.now(timezone.utc).timestamp(),
                                    timezone.utc) + LATEST_AHEAD
    ahead = f"{name}: at most a year ahead (until {latest.date().isoformat()}); a report reads up to now anyway"
    if len(raw) > MAX_RAW_BOUND:
        raise RangeError(usage)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            _check_year(day.year, name, latest, ahead)
            local = datetime.combine(day + timedelta(days=1) if is_end else day, time(0), tzinfo=tz)
            moment = local.astimezone(timezone.utc)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            _check_year(parsed.year, name, latest, ahead)
            moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(timezone.utc)
    except RangeError:
        raise
    except (ValueError, OverflowError):
        raise RangeError(usage) from None
    if moment > latest:
        raise RangeError(ahead)
    return moment


def _check_year(year: int, name: str, latest: datetime, ahead: str) -> None:
    """Before any arithmetic on the date (9999-12-31 + 1 day overflows)."""
    if year < EARLIEST_YEAR:
        raise RangeError(f"{name}: years before {EARLIEST_YEAR} are refused (no campaign has data there)")
    if year > latest.year:
        raise RangeError(ahead)


@dataclass(frozen=True)
class Resolved:
    """What a global report reads and charts: [start, end) in epoch seconds, whole hours
    except an end at the horizon (the end of the minute now + 5 minutes)."""
    start: int
    end: int
    step: int
    #: why a bound differs from the one asked: "first_data" / "max_range" (start), "now" (end)
    clamped_start: str | None = None
    clamped_end: str | None = None

    @property
    def empty(self) -> bool:
        """No part of the campaign's life is in the range: nothing is read."""
        return self.end <= self.start

    @property
    def series_start(self) -> int:
        if self.step == WEEK:
            return self.start - (self.start - MONDAY) % WEEK
        return self.start - self.start % self.step

    @property
    def slots(self) -> int:
        return 0 if self.empty else -(-(self.end - self.series_start) // self.step)


def series_step(span: int) -> int:
    return HOUR if span <= HOURLY_UP_TO else DAY if span <= DAILY_UP_TO else WEEK


def _floor(t: int, unit: int) -> int:
    return t - t % unit


def _ceil(t: int, unit: int) -> int:
    return t + (-t) % unit


def resolve(start: datetime | None, end: datetime | None, first: int | None, now: float) -> Resolved:
    """The part of [start, end) a report reads: whole hours, within the campaign's life.

    `first` is the start of the campaign's first bucket with data (None: no data). The
    life runs from its UTC day to the horizon (a start less than a day before it is kept,
    so a day starting at midnight in any zone is whole). A start before the life reads from it; an
    end after the horizon reads to it; a range outside the life reads nothing
    (start == end, at the edge of the life nearest to it). An open start (whole life, or
    `to` alone) holding more than MAX_RANGE_DAYS reads the most recent whole days; an explicit
    range holding more is a RangeError."""
    limit = buckets.horizon(now)  # the end of the last minute that can hold data
    life_start = _floor(first, DAY) if first is not None else limit
    lo = _floor(int(start.timestamp()), HOUR) if start else life_start
    hi = _ceil(int(end.timestamp()), HOUR) if end else limit
    clamped_start = clamped_end = None
    if hi > limit:
        hi, clamped_end = limit, ("now" if end else None)
    # a start less than a day before the first data's UTC day is kept: a day starting at midnight in
    # any zone (UTC-12 to UTC+14) is read as asked, at the cost of at most a day of empty hours
    if lo < life_start - DAY:
        lo, clamped_start = life_start, ("first_data" if start else None)
    if hi <= lo:  # nothing of the life in the range: an empty period at its nearest edge
        point = min(lo, limit)
        return Resolved(point, point, HOUR, clamped_start, clamped_end)
    if hi - lo > MAX_RANGE_DAYS * DAY:
        if start is not None:
            days = -(-(hi - lo) // DAY)
            raise RangeError(f"from/to: at most {MAX_RANGE_DAYS} days of the campaign's life in one report "
                             f"(this range holds {days}); ask a shorter range")
        lo, clamped_start = _ceil(hi - MAX_RANGE_DAYS * DAY, DAY), "max_range"  # whole days: day items
    return Resolved(lo, hi, series_step(hi - lo), clamped_start, clamped_end)
