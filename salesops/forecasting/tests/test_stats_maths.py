"""The pure maths of the pipeline-based forecast, against closed forms and hand counts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.forecasting.stats_maths import (
    AGE_BUCKETS,
    LOST,
    OPEN,
    WON,
    Group,
    HistRow,
    age_bucket,
    close_probabilities,
    cohort_counts,
    group_moments,
    interval,
    poisson_binomial_pmf,
    simulate,
    weighted_moments,
)

probs = st.lists(st.floats(min_value=0, max_value=1), min_size=0, max_size=40)


def test_age_buckets_cut_at_their_lower_bounds():
    assert [age_bucket(d) for d in (-3, 0, 6, 7, 13, 14, 29, 30, 364, 365, 5000)] == [
        0, 0, 0, 1, 1, 2, 2, 3, 6, 7, 7,
    ]  # fmt: skip
    assert AGE_BUCKETS[age_bucket(100)] == 90


@given(probs)
@settings(max_examples=200, deadline=None)
def test_poisson_binomial_mean_and_variance_are_the_closed_forms(ps):
    pmf = poisson_binomial_pmf(ps)
    k = np.arange(len(pmf))
    assert pmf.sum() == pytest.approx(1.0)
    assert (pmf >= -1e-15).all()
    mean = float((k * pmf).sum())
    var = float((k * k * pmf).sum()) - mean**2
    assert mean == pytest.approx(sum(ps), abs=1e-9)
    assert var == pytest.approx(sum(p * (1 - p) for p in ps), abs=1e-7)


@given(st.integers(min_value=0, max_value=30), st.floats(min_value=0, max_value=1))
@settings(max_examples=100, deadline=None)
def test_equal_probabilities_give_the_binomial(n, p):
    pmf = poisson_binomial_pmf([p] * n)
    binomial = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    assert np.allclose(pmf, binomial, atol=1e-12)


def test_poisson_binomial_of_two_deals_by_hand():
    # P(0) = .5·.8, P(1) = .5·.8 + .5·.2, P(2) = .5·.2
    assert np.allclose(poisson_binomial_pmf([0.5, 0.2]), [0.4, 0.5, 0.1])


def test_a_probability_out_of_range_is_refused():
    with pytest.raises(ValueError, match="out of"):
        poisson_binomial_pmf([1.2])


def test_weighted_moments_by_hand():
    mean, var = weighted_moments([0.5, 0.2], [100.0, 1000.0])
    assert mean == pytest.approx(50 + 200)
    assert var == pytest.approx(0.25 * 100**2 + 0.16 * 1000**2)


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1e6)),
        min_size=1,
        max_size=20,
    )
)
@settings(max_examples=100, deadline=None)
def test_groups_of_one_give_the_same_moments_as_the_deals(deals):
    ps = [p for p, _ in deals]
    xs = [x for _, x in deals]
    groups = [Group(p, 1, x, x * x) for p, x in deals]
    m1, v1 = weighted_moments(ps, xs)
    m2, v2 = group_moments(groups)
    assert m2 == pytest.approx(m1)
    assert v2 == pytest.approx(v1)


def test_a_group_gives_the_moments_of_its_deals():
    xs = [10.0, 20.0, 70.0, 100.0]
    g = Group(0.3, 4, sum(xs), sum(x * x for x in xs))
    assert group_moments([g]) == pytest.approx(weighted_moments([0.3] * 4, xs))


def test_simulation_matches_the_closed_form_moments():
    xs = [5.0, 50.0, 80.0, 120.0, 300.0, 1000.0]
    groups = [
        Group(0.4, 6, sum(xs), sum(x * x for x in xs)),
        Group(0.9, 1, 200.0, 40000.0),
        Group(0.05, 200, 200 * 50.0, 200 * 2600.0),
    ]
    draws = simulate(groups, sims=200_000, seed=1)
    mean, var = group_moments(groups)
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    assert draws.var() == pytest.approx(var, rel=0.03)


def test_single_deals_are_drawn_exactly():
    draws = simulate([Group(0.25, 1, 400.0, 160000.0)], sims=10_000, seed=3)
    assert set(np.unique(draws)) <= {0.0, 400.0}
    assert (draws == 400).mean() == pytest.approx(0.25, abs=0.02)


def test_the_interval_is_seeded_and_holds_the_mean():
    groups = [Group(0.3, 50, 50 * 1000.0, 50 * 1_200_000.0)]
    a = interval(groups)
    assert a == interval(groups)
    assert a.low < a.expected < a.high
    assert a.expected == pytest.approx(15000)
    assert a.sd == pytest.approx(math.sqrt(0.21 * 60_000_000))


def test_no_chance_gives_a_zero_interval():
    out = interval([Group(0.0, 10, 1000.0, 1e5)])
    assert (out.expected, out.low, out.high) == (0, 0, 0)


@pytest.mark.parametrize("seed", [11, 12])
def test_the_80_percent_interval_covers_about_80_percent_of_outcomes(seed):
    """Synthetic pipelines whose true probabilities are known: the realised money falls
    within the interval in about 80% of them."""
    rng = np.random.default_rng(seed)
    trials, inside = 400, 0
    for t in range(trials):
        n = int(rng.integers(20, 120))
        ps = rng.beta(2, 5, size=n)
        xs = rng.lognormal(8, 1, size=n)
        # deals grouped by rounded probability, as the cohorts group them
        keys = np.round(ps, 1)
        groups = []
        for key in np.unique(keys):
            sel = keys == key
            groups.append(
                Group(float(ps[sel].mean()), int(sel.sum()), float(xs[sel].sum()),
                      float((xs[sel] ** 2).sum()))
            )  # fmt: skip
        out = interval(groups, seed=t)
        realised = float((xs * (rng.random(n) < ps)).sum())
        inside += out.low <= realised <= out.high
    assert 0.74 <= inside / trials <= 0.86


def rows(*spec):
    return [HistRow(*s) for s in spec]


def test_cohort_counts_by_hand():
    # stage 1: stays of bucket ≥ 1 were in the stage at age 7; window [7, 37) for start 0,
    # end 30 from age 7; at age 0: window [0, 30).
    history = rows(
        (1, 0, WON, 3, 2),  # won on day 3, left before age 7: counts at age 0 only
        (1, 1, WON, 20, 1),  # in the stage at 7, won on day 20: won at ages 0 and 7
        (1, 1, LOST, 10, 4),  # lost on day 10: at risk at ages 0 and 7, not won
        (1, 3, WON, 45, 1),  # won on day 45: at risk at 0, 7, 14, 30; won in window at 30
        (1, 2, OPEN, 25, 5),  # still open after 25 days: not watched to 30: left out
        (1, 7, OPEN, 400, 3),  # open 400 days: at risk at every age, never won
    )
    c = cohort_counts(history, start=0, end=30)
    assert c[(1, 0)] == (3, 2 + 1 + 4 + 1 + 3)
    assert c[(1, 1)] == (1, 1 + 4 + 1 + 3)
    assert c[(1, 2)] == (0, 1 + 3)  # age 14: window [14, 44): the day-45 win is outside
    assert c[(1, 3)] == (1, 1 + 3)  # age 30: window [30, 60)
    assert c[(1, 7)] == (0, 3)
    assert c[(None, 0)] == c[(1, 0)]


def test_a_window_that_starts_later_counts_only_wins_inside_it():
    history = rows((1, 0, WON, 5, 1), (1, 0, WON, 15, 1), (1, 0, LOST, 12, 1))
    assert cohort_counts(history, start=10, end=20)[(1, 0)] == (1, 3)


def test_a_thin_stage_borrows_the_rate_of_its_age_over_all_stages():
    history = rows((1, 0, WON, 1, 30), (1, 0, LOST, 1, 70), (2, 0, WON, 1, 2), (2, 0, LOST, 1, 3))
    probs = close_probabilities(history, start=0, end=30, min_at_risk=10)
    assert probs[(1, 0)].p == pytest.approx(0.3)
    assert not probs[(1, 0)].pooled
    assert probs[(2, 0)].p == pytest.approx(32 / 105)
    assert probs[(2, 0)].pooled
    assert probs[(1, 5)].p is None  # nobody was ever 90 days in a stage
