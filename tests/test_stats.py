"""Intervals and decisions of the verdict rule, fed synthetic numbers for each outcome."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theorycheck.errors import InputError
from theorycheck.stats import (binomial_interval, bootstrap_interval, decide, judge, level_per_look,
                               loglog_fit, seeds_needed, spearman, t_interval)


def test_t_interval_matches_the_textbook_formula():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    i = t_interval(v, 0.95)
    half = 3.182446305284263 * np.std(v, ddof=1) / 2  # t_{0.975, 3} * s / sqrt(4)
    assert i.estimate == 2.5 and i.n == 4 and i.method == "t"
    assert i.low == pytest.approx(2.5 - half, rel=1e-12) and i.high == pytest.approx(2.5 + half, rel=1e-12)


@pytest.mark.parametrize("values, side, expected", [
    ([0.30, 0.20, 0.25, 0.35, 0.28], "above", "PASS"),
    ([-0.30, -0.20, -0.25, -0.35, -0.28], "above", "FAIL"),
    ([0.02, -0.03, 0.04, -0.01, 0.01], "above", "INCONCLUSIVE"),
    ([-0.30, -0.20, -0.25, -0.35, -0.28], "below", "PASS"),
    ([0.30, 0.20, 0.25, 0.35, 0.28], "below", "FAIL"),
])
def test_decide_is_pass_fail_or_inconclusive_by_where_the_interval_lies(values, side, expected):
    status, text = judge("effect", t_interval(values), 0.0, side, values)
    assert status == expected and "effect" in text
    if expected == "INCONCLUSIVE":
        assert "seeds would decide" in text


def test_seeds_needed_shrinks_the_interval_clear_of_the_threshold():
    rng = np.random.default_rng(0)
    values = 0.1 + rng.standard_normal(5)
    n = seeds_needed(values, 0.0)
    assert n is not None and n > 5
    sd, gap = np.std(values, ddof=1), abs(values.mean())
    assert 2.0 * sd / np.sqrt(n) < gap * 1.2  # roughly the normal-theory size
    assert seeds_needed([1.0, 1.0], 1.0) is None  # the mean sits on the threshold


def test_bootstrap_interval_is_reproducible_and_covers_the_estimate():
    v = np.array([0.9, 1.1, 1.3, 0.8, 1.0, 1.2])
    a = bootstrap_interval(v, np.random.default_rng(1))
    b = bootstrap_interval(v, np.random.default_rng(1))
    assert a == b and a.low <= a.estimate <= a.high
    ratio = bootstrap_interval((v, v + 1), np.random.default_rng(2), statistic=lambda x, y: np.mean(x) / np.mean(y))
    assert ratio.low <= ratio.estimate <= ratio.high < 1
    flat = bootstrap_interval(np.ones(4), np.random.default_rng(3))
    assert (flat.low, flat.high) == (1.0, 1.0)


def test_binomial_interval_is_exact_clopper_pearson():
    i = binomial_interval(12, 12, 0.95)
    assert i.high == 1.0 and i.low == pytest.approx(0.025 ** (1 / 12), rel=1e-9)
    assert decide(binomial_interval(12, 12), 0.5, "above") == "PASS"
    assert decide(binomial_interval(3, 6), 0.5, "above") == "INCONCLUSIVE"


def test_level_per_look_splits_the_error_rate():
    assert level_per_look(0.95, 1) == 0.95
    assert level_per_look(0.95, 5) == pytest.approx(0.99)


@pytest.mark.parametrize("call", [
    lambda: t_interval([1.0]), lambda: t_interval([1.0, np.nan]), lambda: t_interval([1.0, 2.0], level=1.5),
    lambda: decide(t_interval([1.0, 2.0]), 0.0, "sideways"), lambda: binomial_interval(5, 3),
    lambda: loglog_fit([1.0, 2.0], [1.0, -1.0]), lambda: spearman([1.0, 2.0], [1.0]),
])
def test_bad_input_is_refused_with_a_named_argument(call):
    with pytest.raises(InputError):
        call()


@given(n=st.integers(2, 30), seed=st.integers(0, 2 ** 32 - 1), shift=st.floats(-3, 3))
def test_a_t_interval_contains_its_estimate_and_shifts_with_the_data(n, seed, shift):
    v = np.random.default_rng(seed).standard_normal(n)
    a, b = t_interval(v), t_interval(v + shift)
    assert a.low <= a.estimate <= a.high
    assert b.estimate == pytest.approx(a.estimate + shift, abs=1e-12)
    assert (b.high - b.low) == pytest.approx(a.high - a.low, rel=1e-9, abs=1e-12)
