"""Proof that peeking is safe (issue 18 §9): simulated experiments looked at every
minute for 24 hours, decided by the product's anytime-valid method and by the
classic two-proportion z-test at the same looks.

    .venv/bin/python bench/experiments.py [--experiments 2000] [--quick] [--json out.json]

- A/A (two arms with the same true rate): the share of experiments that ever
  showed a winner by look 10, 60, 360 and 1,440 (every minute of the day), with
  the Wilson 95 % upper bound of that share. The product promises at most
  1 − the confidence level at *every* number of looks; the classic test,
  stopped at its first p < 0.05, does not.
- A/B (lifts of 5, 10 and 20 %): how often each method finds the winner within
  the day and how soon (median minutes after the first send), beside the
  classic test looked at only once, at the end (the single look it is valid
  for), which shows what safe peeking costs in power.

The traffic model is bench/experiment_sim.py's (people sent during the first
hour, clicks delayed ~2 h, as in real campaigns). The decisions are the product's:
`stats.mixture_rho`, `stats.MIN_PEOPLE`, the sticky verdict and the
winner rule of functions/chalicelib/experiments/stats.py, applied to all the
minutes of an experiment at once with numpy (the pure module decides one look
at a time, too slow for millions of looks). Every run replays its first
experiments through the pure module itself (`stats.Analysis`, `stats.winner`,
`stats.z_test_p`) and fails if a single first-winner minute differs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.experiment_sim import Scenario, arms_over_time, binomial_upper, median, run  # noqa: E402
from chalicelib.experiments import stats  # noqa: E402

LOOKS = (10, 60, 360, 1440)
NONE = -1  # no winner within the day


@dataclass(frozen=True)
class Firsts:
    """Per experiment: the first minute each method showed a winner (NONE if never) and which."""

    anytime: np.ndarray
    anytime_b: np.ndarray  # True where the anytime winner is B
    classic: np.ndarray
    classic_end_b: np.ndarray  # the z-test looked at once, at the end: p < α and B better


def first_true(mask: np.ndarray) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else NONE


def decide(people_a: np.ndarray, wins_a: np.ndarray, people_b: np.ndarray, wins_b: np.ndarray,
           level: float, z_alpha: float = 0.05) -> tuple[int, bool, int, bool]:
    """stats.Analysis + stats.winner (one treatment) and stats.z_test_p, at every minute at once."""
    alpha = 1.0 - level
    rho = stats.mixture_rho(alpha)
    pa, pb = people_a.astype(float), people_b.astype(float)
    valid = (people_a >= stats.MIN_PEOPLE) & (people_b >= stats.MIN_PEOPLE)
    with np.errstate(divide="ignore", invalid="ignore"):
        ma, mb = wins_a / pa, wins_b / pb
        va = np.maximum(0.0, ma - ma * ma)  # 0/1 outcomes: squares = successes
        vb = np.maximum(0.0, mb - mb * mb)
        diff = mb - ma
        t = pa + pb
        sd = np.sqrt(t * (vb / pb + va / pa))
        v = t * rho * rho + 1.0
        r = sd * np.sqrt(2.0 * v / (t * t * rho * rho) * np.log(np.sqrt(v) / alpha))
    valid &= sd > 0  # no variance observed yet: stats.look concludes nothing
    lower = np.where(valid, diff - r, -np.inf)
    upper = np.where(valid, diff + r, np.inf)
    first = first_true((lower > 0) | (upper < 0))  # the first look whose bounds exclude zero: it stays
    b_won = first != NONE and bool(lower[first] > 0)
    # the classic test: Welch's z on the two rates, "significant" at |z| > z(1 − α/2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(vb / pb + va / pa)
        z = np.where(se > 0, np.abs(diff) / se, np.where(diff == 0, 0.0, np.inf))
    significant = valid & (z > NormalDist().inv_cdf(1 - z_alpha / 2))
    return first, b_won, first_true(significant), bool(significant[-1] and diff[-1] > 0)


def simulate(s: Scenario, experiments: int, seed: int, level: float) -> Firsts:
    rng = np.random.default_rng(seed)  # the same draws as experiment_sim.run(s, n, seed)
    out = np.full((4, experiments), NONE, dtype=np.int64)
    for i in range(experiments):
        arms = arms_over_time(rng, s)
        first, b_won, first_z, end_b = decide(*arms["A"], *arms["B"], level)
        out[:, i] = (first, b_won, first_z, end_b)
    return Firsts(out[0], out[1] == 1, out[2], out[3] == 1)


def check_against_pure_module(s: Scenario, got: Firsts, n: int, seed: int, level: float) -> int:
    """Replays the first n experiments look by look through stats.py; every first minute must agree."""
    pure = run(s, n, seed=seed, level=level)
    for i in range(n):
        want = (pure.anytime[i] if pure.anytime[i] is not None else NONE,
                pure.classic[i] if pure.classic[i] is not None else NONE)
        if (int(got.anytime[i]), int(got.classic[i])) != want:
            raise SystemExit(f"experiment {i} of {s}: numpy says {(got.anytime[i], got.classic[i])}, "
                             f"stats.py says {want}")
    return n


def share_by(firsts: np.ndarray, looks: int) -> tuple[int, float, float]:
    k = int(((firsts != NONE) & (firsts < looks)).sum())
    return k, k / firsts.size, binomial_upper(k, firsts.size)


def a_a(experiments: int, people: int, rate: float, level: float, seed: int, replay: int) -> dict:
    s = Scenario(people_per_arm=people, rate_a=rate, rate_b=rate)
    got = simulate(s, experiments, seed, level)
    checked = check_against_pure_module(s, got, replay, seed, level) if replay else 0
    row = {"kind": "A/A", "people_per_arm": people, "rate": rate, "level": level, "experiments": experiments,
           "replayed_through_stats_py": checked, "anytime": {}, "classic": {}}
    for looks in LOOKS:
        for name, firsts in (("anytime", got.anytime), ("classic", got.classic)):
            k, share, upper = share_by(firsts, looks)
            row[name][looks] = {"false_winners": k, "share": round(share, 4), "upper95": round(upper, 4)}
    return row


def a_b(experiments: int, people: int, rate: float, lift: float, level: float, seed: int, replay: int) -> dict:
    s = Scenario(people_per_arm=people, rate_a=rate, rate_b=rate * (1 + lift))
    got = simulate(s, experiments, seed, level)
    checked = check_against_pure_module(s, got, replay, seed, level) if replay else 0
    found = got.anytime != NONE
    minutes = [int(m) for m in got.anytime[found]]
    classic_minutes = [int(m) for m in got.classic[got.classic != NONE]]
    return {"kind": "A/B", "people_per_arm": people, "rate_a": rate, "lift": lift, "level": level,
            "experiments": experiments, "replayed_through_stats_py": checked,
            "anytime_found": round(float(found.mean()), 4),
            "anytime_right": round(float((found & got.anytime_b).sum() / max(1, found.sum())), 4),
            "anytime_median_minutes": median(minutes),
            "classic_peeking_found": round(len(classic_minutes) / experiments, 4),
            "classic_peeking_median_minutes": median(classic_minutes),
            "classic_once_at_24h_found": round(float(got.classic_end_b.mean()), 4)}


def markdown(rows: list[dict], seconds: float) -> str:
    lines = ["A/A experiments (no true difference): share that ever showed a winner by look k "
             "(one look a minute; in brackets the Wilson 95 % upper bound)", "",
             "| people/arm | rate | level | experiments | method | " + " | ".join(f"k = {k}" for k in LOOKS) + " |",
             "|---|---|---|---|---|" + "---|" * len(LOOKS)]
    for r in rows:
        if r["kind"] != "A/A":
            continue
        for name, label in (("anytime", "product (anytime-valid)"), ("classic", "classic z-test, α = 0.05")):
            cells = [f"{r[name][k]['share'] * 100:.1f} % (≤ {r[name][k]['upper95'] * 100:.1f} %)" for k in LOOKS]
            lines.append(f"| {r['people_per_arm']:,} | {r['rate']:.0%} | {r['level']:.0%} | {r['experiments']:,} | "
                         f"{label} | " + " | ".join(cells) + " |")
    lines += ["", "A/B experiments (B truly better): share where the winner was found within 24 h, and when "
              "(median minutes after the first send)", "",
              "| people/arm | rate A | lift | experiments | product: found | right variant | median min | "
              "classic peeking: found | median min | classic, one look at 24 h: found |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] != "A/B":
            continue
        med = lambda m: "–" if m is None else f"{m:.0f}"  # noqa: E731
        lines.append(f"| {r['people_per_arm']:,} | {r['rate_a']:.0%} | +{r['lift']:.0%} | {r['experiments']:,} | "
                     f"{r['anytime_found']:.1%} | {r['anytime_right']:.1%} | {med(r['anytime_median_minutes'])} | "
                     f"{r['classic_peeking_found']:.1%} | {med(r['classic_peeking_median_minutes'])} | "
                     f"{r['classic_once_at_24h_found']:.1%} |")
    replayed = sum(r["replayed_through_stats_py"] for r in rows)
    lines += ["", f"{sum(r['experiments'] for r in rows):,} experiments × 1,440 looks in {seconds:.0f} s; "
              f"{replayed:,} of them replayed look by look through stats.py with identical first-winner minutes."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=2000, help="experiments per scenario (default 2000)")
    parser.add_argument("--replay", type=int, default=50, help="experiments per scenario replayed through stats.py")
    parser.add_argument("--quick", action="store_true", help="200 experiments per scenario, for a smoke run")
    parser.add_argument("--json", type=Path, help="write the rows as JSON too")
    args = parser.parse_args()
    n = 200 if args.quick else args.experiments
    started = time.perf_counter()
    rows = []
    seed = 100
    for people, level in ((1000, 0.95), (10_000, 0.95), (10_000, 0.90), (10_000, 0.99)):
        seed += 1
        rows.append(a_a(n, people, 0.08, level, seed, args.replay))
        print(f"A/A {people}/arm at {level:.0%}: {rows[-1]['anytime'][1440]} vs classic {rows[-1]['classic'][1440]}",
              file=sys.stderr, flush=True)
    for people in (10_000, 50_000):
        for lift in (0.05, 0.10, 0.20):
            seed += 1
            rows.append(a_b(n, people, 0.08, lift, 0.95, seed, args.replay))
            print(f"A/B {people}/arm +{lift:.0%}: found {rows[-1]['anytime_found']:.1%}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    print(markdown(rows, seconds))
    if args.json:
        args.json.write_text(json.dumps({"seconds": round(seconds, 1), "rows": rows}, indent=1))
    worst = max(r["anytime"][k]["share"] - (1 - r["level"]) for r in rows if r["kind"] == "A/A" for k in LOOKS)
    return 0 if worst <= 0 else 1  # the promise: false winners at or under 1 − the level at every number of looks


if __name__ == "__main__":
    sys.exit(main())
