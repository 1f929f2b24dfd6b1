"""The experiment statistics (chalicelib/experiments/stats.py) against worked examples
computed by hand from the method's formula, the multiplicity correction, the
sample-ratio check, and a small simulation: peeking every minute does not make
false winners more frequent than the confidence level promises."""
from __future__ import annotations

import math

import pytest

from bench.experiment_sim import Scenario, run
from chalicelib.experiments import stats

A = stats.Arm("A", 2000, 200, 200)   # 10 %
B = stats.Arm("B", 2000, 260, 260)   # 13 %


def test_worked_example_one_treatment():
    """By hand: ρ² = (−2 ln .05 + ln(−2 ln .05 + 1)) / 5000 = (5.99146 + 1.94469) / 5000 = 0.00158723;
    t = 4000, tρ² + 1 = 7.34892; σ̂² = 4000 (0.1131/2000 + 0.09/2000) = 0.406;
    radius = √0.406 · √(2 · 7.34892 / (4000² · 0.00158723) · ln(√7.34892 / .05)) = 0.030638;
    p = √7.34892 · exp(−0.03² · 4000² · 0.00158723 / (2 · 0.406 · 7.34892)) = 0.05895."""
    rho = stats.mixture_rho(0.05)
    assert rho ** 2 == pytest.approx(0.00158723, abs=1e-8)
    diff, lower, upper, p = stats.look(A, B, 0.05, rho)
    assert diff == pytest.approx(0.03)
    assert (lower, upper) == (pytest.approx(0.03 - 0.030638, abs=2e-6), pytest.approx(0.03 + 0.030638, abs=2e-6))
    assert p == pytest.approx(0.05895, abs=5e-5)
    (c,) = stats.Analysis("A", 0.05, 1).update({"A": A, "B": B})
    assert c.lift == pytest.approx(0.3) and c.confidence == pytest.approx(1 - 0.05895, abs=5e-5)
    assert stats.winner("A", [c], True) is None  # the interval still holds 0: no winner yet
    # a classic z-test at this single look says p = 0.003: what it would show a peeking marketer
    assert stats.z_test_p(A, B) == pytest.approx(0.00291, abs=1e-5)


def test_a_clear_effect_wins_and_stays_won():
    analysis = stats.Analysis("A", 0.05, 1)
    big = stats.Arm("B", 4000, 600, 600)
    a = stats.Arm("A", 4000, 400, 400)
    (c,) = analysis.update({"A": a, "B": big})
    assert c.lower > 0 and stats.winner("A", [c], True) == "B"
    # later data closer to the null: the bounds are the latest look's (they hold its estimate),
    # the winner and the confidence stay (a verdict, once shown, is kept)
    (later,) = analysis.update({"A": stats.Arm("A", 5000, 500, 500), "B": stats.Arm("B", 5000, 560, 560)})
    assert later.lower < 0 < later.upper and later.lower < later.diff < later.upper
    assert later.verdict == 1 and stats.winner("A", [later], True) == "B"
    assert later.confidence >= c.confidence


def test_bonferroni_over_several_treatments():
    """Two treatments: each comparison at α/2, each p-value doubled."""
    rho = stats.mixture_rho(0.025)
    _, lower, upper, p = stats.look(A, B, 0.025, rho)
    (c1, c2) = stats.Analysis("A", 0.05, 2).update({"A": A, "B": B, "C": stats.Arm("C", 2000, 200, 200)})
    assert (c1.variant, c2.variant) == ("B", "C")
    assert (c1.lower, c1.upper) == (pytest.approx(lower), pytest.approx(upper))
    assert c1.p_value == pytest.approx(min(1.0, 2 * p))
    assert upper - lower > stats.look(A, B, 0.05, stats.mixture_rho(0.05))[2] - \
        stats.look(A, B, 0.05, stats.mixture_rho(0.05))[1]


def test_lower_is_better_and_the_baseline_can_win():
    worse = stats.Arm("B", 5000, 300, 300)
    base = stats.Arm("A", 5000, 100, 100)
    (c,) = stats.Analysis("A", 0.05, 1).update({"A": base, "B": worse})
    assert c.lower > 0
    assert stats.winner("A", [c], higher_is_better=False) == "A"  # B is surely worse: the baseline wins
    assert stats.winner("A", [c], higher_is_better=True) == "B"


def test_revenue_means_and_variances():
    # A: 100 people, 10 bought 20.0 each; B: 100 people, 10 bought 30.0 each
    a = stats.Arm("A", 100, 200.0, 10 * 20.0 ** 2)
    b = stats.Arm("B", 100, 300.0, 10 * 30.0 ** 2)
    assert a.mean == 2.0 and a.variance == pytest.approx(40.0 - 4.0)
    diff, lower, upper, _ = stats.look(a, b, 0.05, stats.mixture_rho(0.05))
    sd = math.sqrt(200 * ((90.0 - 9.0) / 100 + 36.0 / 100))
    assert diff == 1.0 and upper - diff == pytest.approx(stats.radius(200, sd, 0.05, stats.mixture_rho(0.05)))


def test_nothing_is_concluded_before_each_arm_has_people():
    (c,) = stats.Analysis("A", 0.05, 1).update({"A": stats.Arm("A", 10, 0, 0), "B": stats.Arm("B", 10, 9, 9)})
    assert c.lower is None and c.confidence is None and c.lift is None  # baseline rate 0: no lift


def test_looks_before_any_outcome_varies_conclude_nothing():
    """Sends first, clicks minutes later: the looks without a single success say nothing, so the
    bounds that follow are the data's, not pinned to [0, 0] by an interval of zero width."""
    analysis = stats.Analysis("A", 0.05, 1)
    (early,) = analysis.update({"A": stats.Arm("A", 100, 0, 0), "B": stats.Arm("B", 100, 0, 0)})
    assert early.lower is None and early.confidence is None
    (later,) = analysis.update({"A": stats.Arm("A", 100, 15, 15), "B": stats.Arm("B", 100, 15, 15)})
    assert later.lower < 0 < later.upper and later.upper - later.lower > 0.1
    (c,) = stats.Analysis("A", 0.05, 1).update({"A": stats.Arm("A", 100, 15, 15), "B": stats.Arm("B", 100, 15, 15)})
    assert (later.lower, later.upper) == (c.lower, c.upper)


def test_sample_ratio_mismatch_is_flagged_only_when_clear():
    check = stats.SampleRatio({"A": 50, "B": 50})
    assert check.update({"A": 1000, "B": 1010})["mismatch"] is False
    out = check.update({"A": 1100, "B": 900})
    assert out["mismatch"] is True and out["p_value"] < 0.001
    # anytime-valid: once seen, the evidence stays (running maximum)
    assert check.update({"A": 1200, "B": 1190})["mismatch"] is True
    # by hand: ln M(1100, 900 | ½, ½; c = 100) = 8.018 (Lindon and Malek's Dirichlet-multinomial e-value)
    assert stats.srm_log_evidence([1100, 900], [0.5, 0.5]) == pytest.approx(8.018, abs=1e-3)


def test_peeking_every_minute_keeps_false_winners_under_the_promise():
    """300 A/A experiments looked at every minute for 24 hours: the anytime-valid method shows a
    false winner in at most 5 % of them (with room for chance), where the classic z-test,
    stopped at its first significant look, does far worse."""
    out = run(Scenario(people_per_arm=800, rate_a=0.08, rate_b=0.08), experiments=300, seed=7)
    false_av = sum(f is not None for f in out.anytime)
    false_z = sum(f is not None for f in out.classic)
    assert false_av / 300 <= 0.05
    assert false_z / 300 > 0.15


def test_the_benchmark_decides_as_stats_py_does():
    """bench/experiments.py decides all the looks of an experiment at once with numpy; its table in
    docs/performance.md is the product's only if every first-winner minute equals stats.py's, look by look
    (A/A and A/B, at the three levels)."""
    from bench.experiments import check_against_pure_module, simulate

    for scenario, level in ((Scenario(1000, 0.08, 0.08), 0.90), (Scenario(1000, 0.08, 0.10), 0.95),
                            (Scenario(2000, 0.05, 0.05), 0.99)):
        got = simulate(scenario, 12, seed=11, level=level)
        assert check_against_pure_module(scenario, got, 12, seed=11, level=level) == 12
