"""Pure maths of the pipeline-based statistical forecast (no ORM): close probabilities of
(stage, age bucket) cohorts from the organisation's history, the Poisson-binomial
distribution of how many deals close, and the distribution of the money they bring.

Fed by the query functions in `statistical.py`; tested exhaustively in
`tests/test_stats_maths.py`.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: Lower bounds (days in the current stage) of the age buckets a cohort is cut by.
AGE_BUCKETS: tuple[int, ...] = (0, 7, 14, 30, 60, 90, 180, 365)
#: Below this many deals at risk a cohort's own rate is too noisy: the same age bucket
#: over all stages is used instead (and "no history" below that too).
MIN_AT_RISK = 10
#: The interval reported: 80% (10th to 90th percentile).
LEVEL = 0.8
SIMULATIONS = 10_000

OPEN, WON, LOST = "open", "won", "lost"


def age_bucket(days: int) -> int:
    """The index of the age bucket of a stay `days` old (negative ages count as 0)."""
    return max(bisect.bisect_right(AGE_BUCKETS, max(days, 0)) - 1, 0)


@dataclass(frozen=True)
class HistRow:
    """A group of past stays in an open stage, by how they turned out.

    `bucket`: the age bucket of the stay's length (days in the stage: until it left, or
    until today while it is still there). `days`: for a closed deal (`status` won or
    lost), days from entering the stage to the deal's close; for a deal still open,
    days from entering the stage to today (the outcome is censored there)."""

    stage: int
    bucket: int
    status: str
    days: int
    count: int


@dataclass(frozen=True)
class Cohort:
    p: float | None  # None: no history to go by
    won: int
    at_risk: int
    pooled: bool  # the rate of the age bucket over all stages (too few of this stage)


def cohort_counts(
    rows: Iterable[HistRow], *, start: int, end: int
) -> dict[tuple[int | None, int], tuple[int, int]]:
    """(won in the window, at risk) per (stage, bucket), and per (None, bucket) over all
    stages. A stay of bucket ≥ b was in its stage at age a = AGE_BUCKETS[b]; the window
    is [a + start, a + end) days after it entered. At risk: those closed at or after age
    a, and those still open that have been watched past the window's end (a stay watched
    for less is left out: its outcome within the window is not known yet)."""
    won: dict[tuple[int | None, int], int] = defaultdict(int)
    risk: dict[tuple[int | None, int], int] = defaultdict(int)
    for r in rows:
        for b in range(min(r.bucket, len(AGE_BUCKETS) - 1) + 1):
            a = AGE_BUCKETS[b]
            if r.status == OPEN:
                if r.days < a + end:
                    continue
            elif r.days < a:
                continue
            hit = r.status == WON and a + start <= r.days < a + end
            for key in ((r.stage, b), (None, b)):
                risk[key] += r.count
                if hit:
                    won[key] += r.count
    return {k: (won[k], n) for k, n in risk.items()}


def close_probabilities(
    rows: Iterable[HistRow], *, start: int, end: int, min_at_risk: int = MIN_AT_RISK
) -> dict[tuple[int, int], Cohort]:
    """Per (stage, bucket) seen in the history: the probability that a deal now in that
    stage and age bucket is won within [start, end) days from today (see
    `cohort_counts`), falling back to the bucket over all stages when the stage has
    fewer than `min_at_risk` deals at risk."""
    rows = list(rows)
    counts = cohort_counts(rows, start=start, end=end)
    stages = {r.stage for r in rows}
    out: dict[tuple[int, int], Cohort] = {}
    for stage in stages:
        for b in range(len(AGE_BUCKETS)):
            out[(stage, b)] = cohort_for(counts, stage, b, min_at_risk)
    return out


def cohort_for(
    counts: dict[tuple[int | None, int], tuple[int, int]], stage: int, b: int, min_at_risk: int
) -> Cohort:
    won, n = counts.get((stage, b), (0, 0))
    if n >= min_at_risk:
        return Cohort(won / n, won, n, False)
    won, n = counts.get((None, b), (0, 0))
    if n >= min_at_risk:
        return Cohort(won / n, won, n, True)
    return Cohort(None, won, n, True)


# -- the distribution of the outcome ----------------------------------------------------------


def poisson_binomial_pmf(ps: Sequence[float]) -> np.ndarray:
    """P(K = k), k = 0..n, for K the number of successes of independent Bernoulli trials
    with probabilities `ps` (exact, by convolution)."""
    pmf = np.zeros(len(ps) + 1)
    pmf[0] = 1.0
    for i, p in enumerate(ps):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability out of [0, 1]: {p}")
        pmf[1 : i + 2] = pmf[1 : i + 2] * (1 - p) + pmf[0 : i + 1] * p
        pmf[0] *= 1 - p
    return pmf


def weighted_moments(ps: Sequence[float], amounts: Sequence[float]) -> tuple[float, float]:
    """Mean and variance of Σ amount_i × X_i, X_i ~ Bernoulli(p_i) independent."""
    mean = sum(p * x for p, x in zip(ps, amounts, strict=True))
    var = sum(p * (1 - p) * x * x for p, x in zip(ps, amounts, strict=True))
    return mean, var


@dataclass(frozen=True)
class Group:
    """Open deals that share a close probability: how many, Σ amount, Σ amount²."""

    p: float
    n: int
    total: float
    squares: float


def group_moments(groups: Iterable[Group]) -> tuple[float, float]:
    """Mean and variance of the money won from groups of deals (the same as
    `weighted_moments` over their deals: Σ p·x and Σ p(1 − p)·x²)."""
    mean = var = 0.0
    for g in groups:
        mean += g.p * g.total
        var += g.p * (1 - g.p) * g.squares
    return mean, var


def simulate(groups: Sequence[Group], *, sims: int = SIMULATIONS, seed: int = 0) -> np.ndarray:
    """Draws of the money won from `groups`. Per group, the number won K ~ Binomial(n, p)
    and, given K, their money is drawn from the Gamma distribution of mean K·μ and
    variance K·σ²·(n − K)/(n − 1) — those of the sum of K amounts drawn without
    replacement from the group's n (mean μ, population variance σ²): never negative,
    skewed like money, and the draws' mean and variance are those of `group_moments`
    exactly. A group of one deal is drawn exactly. Seeded: the same data gives the same interval."""
    rng = np.random.default_rng(seed)
    total = np.zeros(sims)
    for g in groups:
        if g.n <= 0 or g.p <= 0:
            continue
        k = rng.binomial(g.n, min(g.p, 1.0), size=sims).astype(float)
        mu = g.total / g.n
        if g.n == 1:
            total += k * mu
            continue
        mean = k * mu
        var = k * max(g.squares / g.n - mu * mu, 0.0) * (g.n - k) / (g.n - 1)
        spread = (var > 0) & (mean > 0)
        draw = mean.copy()
        shape = mean[spread] ** 2 / var[spread]
        draw[spread] = rng.gamma(shape, var[spread] / mean[spread])
        total += draw
    return total


@dataclass(frozen=True)
class Outcome:
    expected: float
    low: float
    high: float
    sd: float


def interval(groups: Sequence[Group], *, level: float = LEVEL, seed: int = 0) -> Outcome:
    """The expected money won from `groups`, its standard deviation and the central
    `level` interval (simulated)."""
    mean, var = group_moments(groups)
    if mean <= 0:
        return Outcome(0.0, 0.0, 0.0, 0.0)
    draws = simulate(groups, seed=seed)
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return Outcome(mean, float(low), float(high), math.sqrt(var))
