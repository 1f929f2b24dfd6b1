"""Read plans cover a window exactly once, coarse inside and fine at the edges."""
from __future__ import annotations

import random

from chalicelib import buckets, tables

M, H, D = tables.MINUTE, tables.HOUR, tables.DAY
T0 = 1_764_000_000 - 1_764_000_000 % 86400  # a UTC midnight


def covered(plan):
    return sum(end - start for _, start, end in plan)


def test_plan_tiles_the_window_without_gaps_or_overlaps():
    rng = random.Random(3)
    for _ in range(500):
        start = T0 + rng.randrange(0, 5 * 86400) // 60 * 60
        end = start + rng.randrange(60, 4 * 86400) // 60 * 60
        plan = buckets.plan(start, end, [D, H, M])
        assert plan[0][1] == start and plan[-1][2] == end
        for (_, _, a_end), (_, b_start, _) in zip(plan, plan[1:]):
            assert a_end == b_start
        for gran, s, e in plan:
            size = buckets.UNIT_SECONDS[gran]
            assert s % size == 0 and e % size == 0 and e > s


def test_a_24_hour_window_reads_at_most_23_hours_and_two_minute_edges():
    start = T0 + 3600 * 5 + 60 * 17
    plan = buckets.plan(start, start + 86400, [H, M])
    grans = [g for g, _, _ in plan]
    assert grans == [M, H, M]
    assert (plan[1][2] - plan[1][1]) // 3600 == 23
    assert covered(plan) == 86400


def test_a_year_is_days_plus_hour_edges():
    start, end = T0 + 3600 * 7, T0 + 365 * 86400 + 3600 * 3
    plan = buckets.plan(start, end, [D, H])
    assert [g for g, _, _ in plan] == [H, D, H]
    assert plan[0][2] - plan[0][1] == 17 * 3600 and plan[2][2] - plan[2][1] == 3 * 3600


def test_the_finest_granularity_rounds_edges_outward():
    plan = buckets.plan(T0 + 90, T0 + 3 * 3600 + 30, [H, M])
    assert plan[0] == (M, T0 + 60, T0 + 3600) and plan[-1] == (M, T0 + 3 * 3600, T0 + 3 * 3600 + 60)


def test_empty_and_inverted_windows_plan_nothing():
    assert buckets.plan(T0, T0, [H, M]) == [] and buckets.plan(T0 + 60, T0, [H, M]) == []


def test_sort_key_bounds_select_whole_buckets():
    lo, hi = buckets.sk_bounds("", H, T0, T0 + 7200)
    first = f"{H}#{buckets.bucket_of(H, T0)}#_"
    last = f"{H}#{buckets.bucket_of(H, T0 + 3600)}#exec-9"
    after = f"{H}#{buckets.bucket_of(H, T0 + 7200)}#_"
    assert lo <= first <= hi and lo <= last <= hi and not (lo <= after <= hi)
    assert buckets.bucket_start(H, buckets.bucket_of(H, T0 + 4000)) == T0 + 3600
