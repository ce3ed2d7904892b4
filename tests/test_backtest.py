"""VaR backtesting: Kupiec, Christoffersen and conditional-coverage likelihood ratios worked by hand from the
formulas with ``math.log``, p-values against ``scipy.stats.chi2``, Basel traffic-light zones against
``scipy.stats.binom``, and argument errors."""

import dataclasses
import itertools
import json
import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as hs
from scipy import stats as st

from riskgpu.risk.backtest import BacktestResult, _below, backtest, traffic_light


def run(pattern, confidence):
    """Backtest a 0/1 exception ``pattern``: VaR 1 every day, a loss of 2 on the exception days, a gain else."""
    hits = np.asarray(pattern, dtype=bool)
    return backtest(np.ones(hits.size), np.where(hits, -2.0, 0.5), confidence=confidence)


def term(k, y):
    """``k ln y`` with ``0 ln 0 = 0``, written independently of ``scipy.special.xlogy``."""
    return 0.0 if k == 0 else k * math.log(y)


def oracle(pattern, p):
    """Kupiec and Christoffersen likelihood ratios straight from the formulas, by counting in plain Python."""
    n, x = len(pattern), sum(pattern)
    pof = -2 * (term(n - x, 1 - p) + term(x, p)) + 2 * (term(n - x, 1 - x / n) + term(x, x / n))
    c = {(i, j): 0 for i in (0, 1) for j in (0, 1)}
    for a, b in itertools.pairwise(pattern):
        c[int(a), int(b)] += 1
    n00, n01, n10, n11 = c[0, 0], c[0, 1], c[1, 0], c[1, 1]
    t = n00 + n01 + n10 + n11
    alt = 0.0
    if n00 + n01:
        alt += term(n00, n00 / (n00 + n01)) + term(n01, n01 / (n00 + n01))
    if n10 + n11:
        alt += term(n10, n10 / (n10 + n11)) + term(n11, n11 / (n10 + n11))
    null = term(n00 + n10, (n00 + n10) / t) + term(n01 + n11, (n01 + n11) / t) if t else 0.0
    return pof, 2 * (alt - null)


def check_pvalues(r):
    assert r.kupiec_pvalue == pytest.approx(st.chi2.sf(r.kupiec_lr, 1), rel=1e-12, abs=1e-300)
    assert r.christoffersen_pvalue == pytest.approx(st.chi2.sf(r.christoffersen_lr, 1), rel=1e-12, abs=1e-300)
    assert r.cc_pvalue == pytest.approx(st.chi2.sf(r.cc_lr, 2), rel=1e-12, abs=1e-300)
    assert r.cc_lr == r.kupiec_lr + r.christoffersen_lr


# --- hand-worked cases -------------------------------------------------------------------------------------


def test_hand_worked_run_of_three_exceptions():
    # n = 10, p = 0.1, exceptions on days 2, 3, 4; transitions n00 = 5, n01 = 1, n10 = 1, n11 = 2
    r = run([0, 0, 1, 1, 1, 0, 0, 0, 0, 0], 0.9)
    kupiec = -2 * (7 * math.log(0.9) + 3 * math.log(0.1)) + 2 * (7 * math.log(0.7) + 3 * math.log(0.3))
    ind = -2 * (6 * math.log(2 / 3) + 3 * math.log(1 / 3)) + 2 * (
        5 * math.log(5 / 6) + math.log(1 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    )
    assert (r.n, r.exceptions, r.exception_rate) == (10, 3, 0.3)
    assert r.expected == pytest.approx(1.0, abs=1e-15)
    assert r.exception_days.tolist() == [2, 3, 4]
    assert r.kupiec_lr == pytest.approx(kupiec, abs=1e-12)
    assert r.christoffersen_lr == pytest.approx(ind, abs=1e-12)
    assert r.cc_lr == pytest.approx(kupiec + ind, abs=1e-12)
    assert r.christoffersen_lr > 1.0  # clustering is penalised
    check_pvalues(r)


def test_hand_worked_two_pairs_at_99():
    # n = 10, p = 0.01, exceptions on days 0, 1, 6, 7; n00 = 4, n01 = 1, n10 = 2, n11 = 2
    r = run([1, 1, 0, 0, 0, 0, 1, 1, 0, 0], 0.99)
    kupiec = -2 * (6 * math.log(0.99) + 4 * math.log(0.01)) + 2 * (6 * math.log(0.6) + 4 * math.log(0.4))
    ind = -2 * (6 * math.log(6 / 9) + 3 * math.log(3 / 9)) + 2 * (
        4 * math.log(4 / 5) + math.log(1 / 5) + 2 * math.log(2 / 4) + 2 * math.log(2 / 4)
    )
    assert r.exceptions == 4
    assert r.exception_days.tolist() == [0, 1, 6, 7]
    assert r.expected == pytest.approx(0.1, abs=1e-15)
    assert r.kupiec_lr == pytest.approx(kupiec, abs=1e-12)
    assert r.christoffersen_lr == pytest.approx(ind, abs=1e-12)
    check_pvalues(r)


def test_no_consecutive_exceptions():
    # n = 10, p = 0.05, exceptions on days 1 and 5: n00 = 5, n01 = 2, n10 = 2, n11 = 0 (the pi11 = 0 term is 0)
    r = run([0, 1, 0, 0, 0, 1, 0, 0, 0, 0], 0.95)
    kupiec = -2 * (8 * math.log(0.95) + 2 * math.log(0.05)) + 2 * (8 * math.log(0.8) + 2 * math.log(0.2))
    ind = -2 * (7 * math.log(7 / 9) + 2 * math.log(2 / 9)) + 2 * (5 * math.log(5 / 7) + 2 * math.log(2 / 7))
    assert r.kupiec_lr == pytest.approx(kupiec, abs=1e-12)
    assert r.christoffersen_lr == pytest.approx(ind, abs=1e-12)
    check_pvalues(r)


def test_zero_exceptions():
    r = run([0] * 10, 0.99)
    assert r.exceptions == 0 and r.exception_days.tolist() == [] and r.exception_rate == 0.0
    assert r.kupiec_lr == pytest.approx(-2 * 10 * math.log(0.99), abs=1e-12)
    assert r.christoffersen_lr == 0.0 and r.christoffersen_pvalue == 1.0
    assert r.traffic_light == "green"
    check_pvalues(r)


def test_all_exceptions():
    r = run([1] * 5, 0.99)
    assert r.exceptions == 5 and r.exception_rate == 1.0 and r.exception_days.tolist() == [0, 1, 2, 3, 4]
    assert r.kupiec_lr == pytest.approx(-2 * 5 * math.log(0.01), abs=1e-12)
    assert r.christoffersen_lr == 0.0  # only 1 -> 1 transitions: pi11 = pi = 1
    assert r.traffic_light == "red"
    check_pvalues(r)


@pytest.mark.parametrize(("hit", "loglik"), [(0, math.log(0.99)), (1, math.log(0.01))])
def test_single_day(hit, loglik):
    r = run([hit], 0.99)
    assert r.n == 1 and r.exceptions == hit
    assert r.kupiec_lr == pytest.approx(-2 * loglik, abs=1e-12)
    assert r.christoffersen_lr == 0.0 and r.christoffersen_pvalue == 1.0  # no transitions
    check_pvalues(r)


def test_exception_only_on_last_day():
    # n00 = 8, n01 = 1, nothing leaves state 1: pi01 = pi = 1/9 and the empty pi11 contributes nothing
    r = run([0] * 9 + [1], 0.99)
    kupiec = -2 * (9 * math.log(0.99) + math.log(0.01)) + 2 * (9 * math.log(0.9) + math.log(0.1))
    assert r.exception_days.tolist() == [9]
    assert r.kupiec_lr == pytest.approx(kupiec, abs=1e-12)
    assert r.christoffersen_lr == pytest.approx(0.0, abs=1e-12)
    check_pvalues(r)


def test_exception_only_on_first_day():
    r = run([1] + [0] * 9, 0.99)
    assert r.exception_days.tolist() == [0]
    assert r.christoffersen_lr == pytest.approx(0.0, abs=1e-12)  # pi01 = pi11 = pi = 0


def test_kupiec_zero_at_expected_rate():
    r = run([1] + [0] * 99, 0.99)  # x / n == p
    assert r.kupiec_lr == pytest.approx(0.0, abs=1e-12) and r.kupiec_lr >= 0.0
    assert r.kupiec_pvalue == pytest.approx(1.0, abs=1e-6)


def test_loss_equal_to_var_is_not_an_exception():
    var = [1.0, 1.0, 1.0, 0.0, 0.0, 2.5]
    pnl = [-1.0, -1.0000001, 3.0, 0.0, -0.0, -2.5]
    r = backtest(var, pnl, confidence=0.99)
    assert r.exception_days.tolist() == [1]
    r = backtest([0.0, 0.0], [-1e-300, 1e-300], confidence=0.99)
    assert r.exception_days.tolist() == [0]


def test_array_likes_agree():
    var = [1.0, 2.0, 1.5, 1.0, 3.0]
    pnl = [-1.5, 0.3, -2.0, -0.5, -3.0]
    ref = backtest(var, pnl, confidence=0.95)
    assert ref.exception_days.tolist() == [0, 2]
    for v, p in [
        (np.asarray(var), np.asarray(pnl)),
        (pl.Series(var), pl.Series(pnl)),
        (np.asarray(var, dtype=np.float32), pl.Series(pnl)),
        ([1, 2, 2, 1, 3], pl.Series([-2, 0, -3, 0, -3])),
    ]:
        r = backtest(v, p, confidence=0.95)
        assert r.exception_days.tolist() == [0, 2]
        assert r.kupiec_lr == ref.kupiec_lr and r.christoffersen_lr == ref.christoffersen_lr


def test_result_and_summary():
    r = run([0, 1, 1, 0], 0.9)
    assert isinstance(r, BacktestResult)
    assert r.exception_days.dtype == np.int64
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n = 3
    s = r.summary()
    assert json.loads(json.dumps(s)) == s
    assert s["exception_days"] == [1, 2] and s["traffic_light"] == r.traffic_light and s["confidence"] == 0.9
    assert set(s) == {f.name for f in dataclasses.fields(BacktestResult)}
    for v in s.values():
        assert type(v) in (int, float, str, list)


def test_expected_uses_the_decimal_confidence():
    assert run([0] * 250, 0.99).expected == 2.5  # not 250 * (1 - 0.99) = 2.5000000000000022


# --- Basel traffic light -----------------------------------------------------------------------------------


@pytest.mark.parametrize("x", range(13))
def test_traffic_light_basel_250_at_99(x):
    zone = "green" if x <= 4 else "yellow" if x <= 9 else "red"
    assert run([1] * x + [0] * (250 - x), 0.99).traffic_light == zone
    assert traffic_light(250, x, 0.99) == zone


def test_traffic_light_basel_250_at_99_whole_range():
    zones = [traffic_light(250, x, 0.99) for x in range(251)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 241


@pytest.mark.parametrize(("n", "confidence"), [(500, 0.975), (1000, 0.99), (60, 0.95)])
def test_traffic_light_against_scipy(n, confidence):
    p = 1.0 - confidence
    cdf = st.binom.cdf(np.arange(n + 1), n, p)
    yellow_from = int(np.argmax(cdf >= 0.95))
    red_from = int(np.argmax(cdf >= 0.9999))
    assert 0 < yellow_from < red_from <= n
    zones = [traffic_light(n, x, confidence) for x in range(n + 1)]
    assert zones == ["green"] * yellow_from + ["yellow"] * (red_from - yellow_from) + ["red"] * (n + 1 - red_from)
    for x in (yellow_from - 1, yellow_from, red_from - 1, red_from):
        assert run([1] * x + [0] * (n - x), confidence).traffic_light == zones[x]


def test_traffic_light_exact_ties():
    # P(X <= 0) = 0.95 exactly (n = 1, p = 0.05) is not below 0.95; P(X <= 1) = 1 - 0.01**2 = 0.9999 is not below
    # 0.9999; the exact check decides them whatever side the float lands on
    assert traffic_light(1, 0, 0.95) == "yellow"
    assert traffic_light(2, 1, 0.99) == "red"
    p = Fraction(1, 20)
    for cdf in (0.95 - 1e-15, 0.95, 0.95 + 1e-15):
        assert _below(cdf, 0.95, 1, 0, p) is False
    assert _below(0.95 - 1e-15, 0.95, 2, 1, p) is False  # exact 0.9975
    assert _below(0.9, 0.95, 1, 0, p) is True  # far from the threshold: the float decides


# --- argument errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "pnl", "match"),
    [
        ([1.0, 1.0], [0.0], r"same length.*2 and 1"),
        ([], [], r"backtest\.var_forecasts .*at least one"),
        ([1.0], [], r"backtest\.pnl .*at least one"),
        ([1.0, float("nan"), 1.0], [0.0] * 3, r"backtest\.var_forecasts must be finite, got nan at index 1"),
        ([1.0] * 3, [0.0, 0.0, float("nan")], r"backtest\.pnl must be finite, got nan at index 2"),
        ([1.0] * 3, [0.0, float("-inf"), 0.0], r"backtest\.pnl must be finite, got -inf at index 1"),
        ([1.0, -0.5], [0.0, 0.0], r"backtest\.var_forecasts must be >= 0.*-0\.5 at index 1"),
        ([[1.0, 1.0]], [0.0, 0.0], r"backtest\.var_forecasts must be 1-d.*\(1, 2\)"),
        ([1.0], np.zeros((1, 1)), r"backtest\.pnl must be 1-d"),
        (1.0, [0.0], r"backtest\.var_forecasts must be 1-d"),
        ([1.0, None], [0.0, 0.0], r"backtest\.var_forecasts must hold real numbers, got None at index 1"),
        ([1.0], ["x"], r"backtest\.pnl must hold real numbers, got 'x' at index 0"),
        ([True, False], [0.0, 0.0], r"backtest\.var_forecasts must hold real numbers, got True at index 0"),
        ("1", [0.0], r"backtest\.var_forecasts must be a 1-d array"),
        (pl.Series([1.0, None]), [0.0, 0.0], r"backtest\.var_forecasts must be finite, got nan at index 1"),
    ],
)
def test_bad_series(var, pnl, match):
    with pytest.raises(ValueError, match=match):
        backtest(var, pnl, confidence=0.99)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 99, -0.5, True, "0.99", None, float("nan")])
def test_bad_confidence(confidence):
    with pytest.raises(ValueError, match=r"backtest\.confidence"):
        backtest([1.0], [0.0], confidence=confidence)


def test_confidence_is_keyword_only():
    with pytest.raises(TypeError):
        backtest([1.0], [0.0], 0.99)


# --- properties --------------------------------------------------------------------------------------------


@given(
    pattern=hs.lists(hs.booleans(), min_size=1, max_size=80),
    confidence=hs.sampled_from([0.5, 0.9, 0.95, 0.975, 0.99, 0.999]),
)
def test_property_random_patterns(pattern, confidence):
    r = run(pattern, confidence)
    assert r.exceptions == sum(pattern) and r.exception_days.tolist() == [i for i, h in enumerate(pattern) if h]
    for lr in (r.kupiec_lr, r.christoffersen_lr, r.cc_lr):
        assert lr >= -1e-12
    for pv in (r.kupiec_pvalue, r.christoffersen_pvalue, r.cc_pvalue):
        assert 0.0 <= pv <= 1.0
    assert r.cc_lr == r.kupiec_lr + r.christoffersen_lr
    pof, ind = oracle(pattern, 1.0 - confidence)
    assert r.kupiec_lr == pytest.approx(pof, abs=1e-9)
    assert r.christoffersen_lr == pytest.approx(ind, abs=1e-9)
    check_pvalues(r)
    cdf = st.binom.cdf(r.exceptions, r.n, 1.0 - confidence)
    assert r.traffic_light == ("green" if cdf < 0.95 else "yellow" if cdf < 0.9999 else "red")
