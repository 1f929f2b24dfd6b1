"""Simulated experiments looked at every minute: how often each method shows a
winner that is not there (A/A) and how soon it finds one that is (A/B).

The product's own statistics (functions/chalicelib/experiments/stats.py) decide,
look after look, exactly as the API does; a classic two-proportion z-test at
α = 0.05, checked at the same looks and stopped at its first "significant"
one, shows what peeking does to it. Used by bench/experiments.py (1,000+
experiments per scenario, numbers in docs/performance.md) and, with a few
hundred, by tests/test_experiment_stats.py.

Traffic model of one experiment: each arm's people (Poisson around
`people_per_arm`) are sent during the first `send_minutes`; each person
clicks with the arm's true rate, after a delay drawn from an exponential
distribution (mean `mean_delay` minutes), so successes mature through the day
as real clicks do.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))
from chalicelib.experiments import stats  # noqa: E402

ALPHA = 0.05


@dataclass(frozen=True)
class Scenario:
    people_per_arm: int
    rate_a: float
    rate_b: float
    minutes: int = 1440
    send_minutes: int = 60
    mean_delay: float = 120.0

    @property
    def lift(self) -> float:
        return self.rate_b / self.rate_a - 1.0


@dataclass
class Outcome:
    """Per experiment: the first look (minute) at which each method declared a winner, or None."""

    anytime: list[int | None]
    classic: list[int | None]
    anytime_right: int  # winners that name the truly better variant (A/B)

    def share_by(self, firsts: list[int | None], looks: int) -> float:
        return sum(1 for f in firsts if f is not None and f < looks) / len(firsts)


def arms_over_time(rng: np.random.Generator, s: Scenario) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per arm: cumulative people and successes at the end of each minute."""
    out = {}
    for variant, rate in (("A", s.rate_a), ("B", s.rate_b)):
        n = rng.poisson(s.people_per_arm)
        sent = rng.integers(0, s.send_minutes, n)
        success = rng.random(n) < rate
        when = np.floor(sent[success] + rng.exponential(s.mean_delay, int(success.sum()))).astype(int)
        people = np.cumsum(np.bincount(sent, minlength=s.minutes)[:s.minutes])
        wins = np.cumsum(np.bincount(when[when < s.minutes], minlength=s.minutes)[:s.minutes])
        out[variant] = (people, wins)
    return out


def run(s: Scenario, experiments: int, seed: int = 1, level: float = 1 - ALPHA) -> Outcome:
    rng = np.random.default_rng(seed)
    anytime: list[int | None] = []
    classic: list[int | None] = []
    right = 0
    for _ in range(experiments):
        arms = arms_over_time(rng, s)
        analysis = stats.Analysis("A", 1.0 - level, 1)
        first_av: int | None = None
        first_z: int | None = None
        (pa, sa), (pb, sb) = arms["A"], arms["B"]
        for m in range(s.minutes):
            a = stats.Arm("A", int(pa[m]), float(sa[m]), float(sa[m]))
            b = stats.Arm("B", int(pb[m]), float(sb[m]), float(sb[m]))
            if first_av is None:
                won = stats.winner("A", analysis.update({"A": a, "B": b}), True)
                if won is not None:
                    first_av = m
                    right += won == ("B" if s.rate_b > s.rate_a else "A")
            if first_z is None and a.people >= stats.MIN_PEOPLE and b.people >= stats.MIN_PEOPLE:
                p = stats.z_test_p(a, b)
                if p is not None and p < ALPHA:
                    first_z = m
            if first_av is not None and first_z is not None:
                break
        anytime.append(first_av)
        classic.append(first_z)
    return Outcome(anytime, classic, right)


def median(values: list[int | None]) -> float | None:
    found = sorted(v for v in values if v is not None)
    if not found:
        return None
    mid = len(found) // 2
    return float(found[mid]) if len(found) % 2 else (found[mid - 1] + found[mid]) / 2


def binomial_upper(successes: int, n: int, z: float = 1.96) -> float:
    """Wilson upper bound of a proportion: how high the true false-winner rate could be."""
    if n == 0:
        return 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)
