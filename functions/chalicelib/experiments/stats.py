"""Anytime-valid statistics of an experiment: pure functions the API, the
snapshot email and the benchmark all share (the page shows what the API computed).

Why anytime-valid: a marketer watching a live report every minute and stopping
at the first "significant" classic z-test gets false winners far more often
than the test promises (about a third of A/A tests at 60 looks: Armitage,
McPherson and Rowe, J. R. Stat. Soc. A, 1969). A *confidence sequence* holds
the true difference at every moment simultaneously with probability 1 − α,
so stopping whenever it excludes zero keeps the error at α.

**Method** (closed form, no library): the asymptotic confidence sequence of
Waudby-Smith, Arnold, Wu, Howard and Ramdas, "Time-uniform central limit
theory and asymptotic confidence sequences" (Annals of Statistics, 2024;
arXiv 2103.06476, Theorem 2.2), whose boundary is the two-sided normal
mixture of Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform,
nonparametric, nonasymptotic confidence sequences" (Annals of Statistics,
2021), applied to the difference in means of a treatment B and the baseline A
as in the paper's section on randomized experiments:

    Δ̂_t ± σ̂_t · sqrt( 2 (t ρ² + 1) / (t² ρ²) · ln( sqrt(t ρ² + 1) / α ) )

- t = people of both arms; Δ̂_t = ȳ_B − ȳ_A (rates for 0/1 metrics, means per
  person for revenue);
- σ̂_t² = t · (s_B² / n_B + s_A² / n_A): the per-person variance of the
  difference-in-means (AIPW) estimator, s² the arms' sample variances;
- ρ² = (−2 ln α + ln(−2 ln α + 1)) / t*, which makes the sequence tightest
  near t* people (T_STAR by default);
- the anytime-valid p-value inverts the boundary at 0 (it is 1 / the normal
  mixture martingale): p_t = min(1, sqrt(t ρ² + 1) · exp(−Δ̂² t² ρ² /
  (2 σ̂² (t ρ² + 1)))), kept as a running minimum; confidence = 1 − p;
- a winner, once shown, stays: the verdict is sticky as soon as one look's
  bounds exclude zero (the event the guarantee is about: under no difference,
  the chance that *any* look excludes zero is at most α). The bounds shown are
  the latest look's, not a running intersection: real outcomes mature (clicks
  come hours after the send), so the difference the early looks estimate is
  smaller than the final one, and an intersection would keep early, narrow
  bounds that end up excluding the current estimate;
- several treatments: Bonferroni, each comparison at α / (K − 1) and its
  p-value × (K − 1);
- nothing is concluded before every compared arm has MIN_PEOPLE people (the
  asymptotics need some data; `bench/experiments.py` measures the result).

**Sample-ratio mismatch**: the Dirichlet-multinomial test martingale of
Lindon and Malek, "Anytime-valid inference for multinomial count data"
(NeurIPS 2022): with planned shares θ and a Dirichlet(c · θ) prior, the
e-value of observed counts n is
    M = Γ(c) / Γ(c + N) · Π_k Γ(c θ_k + n_k) / Γ(c θ_k) / Π_k θ_k^{n_k},
valid at any time; a mismatch is flagged when its running maximum reaches
1 / SRM_ALPHA (p < 0.001, the level Fabijan et al., KDD 2019, recommend).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

#: people (both arms) near which the confidence sequence is tightest
T_STAR = 5000
#: no comparison concludes before each arm has this many people
MIN_PEOPLE = 30
SRM_ALPHA = 0.001
SRM_CONCENTRATION = 100.0
LEVELS = (0.90, 0.95, 0.99)


@dataclass(frozen=True)
class Arm:
    """One variant's people and the sum of its per-person outcome (and of its squares).
    For a 0/1 metric (unique clicks…) `total` = successes and `squares` = successes."""

    variant: str
    people: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.people if self.people else None

    @property
    def variance(self) -> float:
        if self.people < 2:
            return 0.0
        mean = self.total / self.people
        return max(0.0, self.squares / self.people - mean * mean)


@dataclass(frozen=True)
class Comparison:
    """A treatment against the baseline at one look: the latest bounds and the running verdict."""

    variant: str
    diff: float | None
    lift: float | None
    lower: float | None
    upper: float | None
    p_value: float | None
    confidence: float | None
    #: +1 once a look's bounds were above zero, −1 below, 0 never (sticky: a winner stays)
    verdict: int = 0


def mixture_rho(alpha: float, t_star: float = T_STAR) -> float:
    """ρ that makes the normal-mixture boundary tightest near t* (Howard et al., eq. for ρ)."""
    two_log = -2.0 * math.log(alpha)
    return math.sqrt((two_log + math.log(two_log + 1.0)) / t_star)


def radius(t: float, sd: float, alpha: float, rho: float) -> float:
    """Half-width of the (1 − α) asymptotic confidence sequence of a mean of t observations."""
    if t <= 0:
        return math.inf
    v = t * rho * rho + 1.0
    return sd * math.sqrt(2.0 * v / (t * t * rho * rho) * math.log(math.sqrt(v) / alpha))


def p_value(diff: float, t: float, sd: float, rho: float) -> float:
    """Anytime-valid p-value of "no difference" at this look (1 / the mixture martingale)."""
    if t <= 0:
        return 1.0
    v = t * rho * rho + 1.0
    if sd <= 0:
        return 1.0 if diff == 0 else 0.0
    exponent = diff * diff * t * t * rho * rho / (2.0 * sd * sd * v)
    return min(1.0, math.sqrt(v) * math.exp(-min(exponent, 700.0)))


def look(baseline: Arm, treatment: Arm, alpha: float, rho: float) -> tuple[float, float, float, float] | None:
    """(diff, lower, upper, p) of one comparison at one look; None
    while an arm has fewer than MIN_PEOPLE people, or while no outcome varies yet (sends
    go out minutes before the first click): the plug-in σ̂ is then 0 and a zero-width
    interval at 0 would decide a verdict from nothing."""
    if baseline.people < MIN_PEOPLE or treatment.people < MIN_PEOPLE:
        return None
    t = baseline.people + treatment.people
    diff = (treatment.mean or 0.0) - (baseline.mean or 0.0)
    sd = math.sqrt(t * (treatment.variance / treatment.people + baseline.variance / baseline.people))
    if sd <= 0:
        return None
    r = radius(t, sd, alpha, rho)
    return diff, diff - r, diff + r, p_value(diff, t, sd, rho)


@dataclass
class _Running:
    lower: float = -math.inf  # the latest look's bounds
    upper: float = math.inf
    p: float = 1.0
    seen: bool = False
    verdict: int = 0


@dataclass
class Analysis:
    """Follows an experiment look after look: latest bounds, p-values minimised over time, sticky verdicts.

    `alpha` is the family's error (1 − the confidence level); each of the K − 1
    comparisons gets α / (K − 1) (Bonferroni)."""

    baseline: str
    alpha: float
    treatments: int
    t_star: float = T_STAR
    _running: dict[str, _Running] = field(default_factory=dict)

    @property
    def per_comparison_alpha(self) -> float:
        return self.alpha / max(1, self.treatments)

    def update(self, arms: Mapping[str, Arm]) -> list[Comparison]:
        """The comparisons at a look whose arms are cumulative up to that moment."""
        base = arms.get(self.baseline) or Arm(self.baseline, 0, 0.0, 0.0)
        a = self.per_comparison_alpha
        rho = mixture_rho(a, self.t_star)
        out = []
        for variant in sorted(v for v in arms if v != self.baseline):
            arm = arms[variant]
            state = self._running.setdefault(variant, _Running())
            now = look(base, arm, a, rho)
            if now is not None:
                _, state.lower, state.upper, p = now
                state.p = min(state.p, min(1.0, p * max(1, self.treatments)))
                state.seen = True
                if state.verdict == 0 and (state.lower > 0 or state.upper < 0):
                    state.verdict = 1 if state.lower > 0 else -1
            diff = (arm.mean - base.mean) if arm.mean is not None and base.mean is not None else None
            lift = diff / base.mean if diff is not None and base.mean else None
            if not state.seen:
                out.append(Comparison(variant, diff, lift, None, None, None, None))
                continue
            out.append(Comparison(variant, diff, lift, state.lower, state.upper, state.p, 1.0 - state.p,
                                  state.verdict))
        return out


def winner(baseline: str, comparisons: Sequence[Comparison], higher_is_better: bool) -> str | None:
    """The variant whose bounds excluded zero in the good direction (the best estimate among
    several); the baseline when every treatment is surely worse; else None."""
    good_sign = 1 if higher_is_better else -1
    good = [c for c in comparisons if c.verdict == good_sign]
    if good:
        best = max(good, key=lambda c: (c.diff or 0.0) * good_sign)
        return best.variant
    if comparisons and all(c.verdict == -good_sign for c in comparisons):
        return baseline
    return None


# --- sample-ratio mismatch --------------------------------------------------------------

def srm_log_evidence(counts: Sequence[int], shares: Sequence[float],
                     concentration: float = SRM_CONCENTRATION) -> float:
    """ln M of the Dirichlet-multinomial test martingale (Lindon and Malek, 2022)."""
    total = sum(counts)
    out = math.lgamma(concentration) - math.lgamma(concentration + total)
    for n, theta in zip(counts, shares):
        a = concentration * theta
        out += math.lgamma(a + n) - math.lgamma(a) - (n * math.log(theta) if n else 0.0)
    return out


@dataclass
class SampleRatio:
    """Running check that people per variant match the planned shares."""

    shares: Mapping[str, float]
    max_log_evidence: float = 0.0

    def update(self, people: Mapping[str, int]) -> dict:
        variants = sorted(self.shares)
        total_share = sum(self.shares[v] for v in variants)
        shares = [self.shares[v] / total_share for v in variants]
        counts = [int(people.get(v, 0)) for v in variants]
        evidence = srm_log_evidence(counts, shares)
        self.max_log_evidence = max(self.max_log_evidence, evidence)
        p = min(1.0, math.exp(-self.max_log_evidence))
        total = sum(counts)
        return {"planned": {v: round(s, 6) for v, s in zip(variants, shares)},
                "observed": {v: (round(n / total, 6) if total else None) for v, n in zip(variants, counts)},
                "people": dict(zip(variants, counts)),
                "p_value": round(p, 6), "mismatch": p < SRM_ALPHA}


# --- the classic test the benchmark compares against ---------------------------------------

def z_test_p(baseline: Arm, treatment: Arm) -> float | None:
    """Two-sided p-value of the classic two-proportion (Welch) z-test at one look: valid only
    for a single, planned look. Used by bench/experiments.py to show what peeking does."""
    if baseline.people < 2 or treatment.people < 2:
        return None
    se = math.sqrt(treatment.variance / treatment.people + baseline.variance / baseline.people)
    diff = (treatment.mean or 0.0) - (baseline.mean or 0.0)
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return math.erfc(abs(diff) / se / math.sqrt(2.0))


def cumulative(points: Iterable[Mapping[str, Arm]]) -> list[dict[str, Arm]]:
    """Running sums of per-period arm deltas: each point becomes the arms up to its end."""
    out: list[dict[str, Arm]] = []
    acc: dict[str, Arm] = {}
    for point in points:
        for v, d in point.items():
            prev = acc.get(v) or Arm(v, 0, 0.0, 0.0)
            acc[v] = replace(prev, people=prev.people + d.people, total=prev.total + d.total,
                             squares=prev.squares + d.squares)
        out.append(dict(acc))
    return out
