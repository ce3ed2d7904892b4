"""Exotic closed forms (barrier, lookback, Heston, Merton, moment matching) against QuantLib, Monte Carlo
and their limits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import qlhelp
from conftest import k_sigma
from scipy.special import zeta
from scipy.stats import poisson

from riskgpu.analytic import (
    BGK_BETA,
    asian_moments,
    asian_price_mm,
    barrier_price,
    basket_moments,
    basket_price_mm,
    bgk_barrier,
    bs_price,
    discrete_barrier_price,
    heston_price,
    lookback_price,
    merton_price,
)


def bs(**kw):
    return float(bs_price(**kw))


def grid(*axes):
    return list(itertools.product(*axes))


# ---------------------------------------------------------------------------------------------- barrier

BARRIER_GRID = [
    (kind, direction, knock, strike, rebate, mkt)
    for kind, direction, knock, strike, rebate in itertools.product(
        ["call", "put"], ["down", "up"], ["in", "out"], [85.0, 100.0, 115.0], [0.0, 3.0]
    )
    for mkt in ([(180, 0.25, 0.03, 0.0), (730, 0.4, -0.01, 0.02)] if strike == 100.0 else [(365, 0.2, 0.04, 0.01)])
]


@pytest.mark.parametrize(("kind", "direction", "knock", "strike", "rebate", "mkt"), BARRIER_GRID)
def test_barrier_matches_quantlib(ql, kind, direction, knock, strike, rebate, mkt):
    days, vol, rate, div = mkt
    h = 92.0 if direction == "down" else 108.0  # strikes on both sides of each barrier
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "vol": vol, "rate": rate, "div": div}
    opt = qlhelp.barrier(ql, barrier=h, days=days, direction=direction, knock=knock, rebate=rebate, **kw)
    got = barrier_price(barrier=h, maturity=days / 365, direction=direction, knock=knock, rebate=rebate, **kw)
    assert got == pytest.approx(opt.NPV(), rel=1e-9, abs=1e-11)


@pytest.mark.parametrize(("kind", "direction"), grid(["call", "put"], ["down", "up"]))
def test_barrier_in_out_parity(kind, direction):
    h = 90.0 if direction == "down" else 115.0
    for strike in (80.0, 100.0, 120.0):
        kw = {"kind": kind, "spot": 100.0, "strike": strike, "maturity": 1.3, "vol": 0.3, "rate": 0.02, "div": 0.01}
        pair = [barrier_price(**kw, barrier=h, direction=direction, knock=k) for k in ("in", "out")]
        assert sum(pair) == pytest.approx(bs(**kw), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("direction", "spot", "h"), [("down", 90.0, 90.0), ("down", 85.0, 90.0), ("up", 110.0, 110.0), ("up", 120.0, 110.0)]
)
def test_barrier_already_knocked(direction, spot, h):
    for kind in ("call", "put"):
        kw = {"kind": kind, "spot": spot, "strike": 100.0, "maturity": 0.5, "vol": 0.2, "rate": 0.03, "div": 0.01}
        args = {**kw, "barrier": h, "direction": direction}
        assert barrier_price(**args, knock="out") == 0.0
        assert barrier_price(**args, knock="out", rebate=2.5) == 2.5
        assert discrete_barrier_price(**args, knock="out", rebate=2.5, n_fixings=12) == 2.5
        assert barrier_price(**args, knock="in", rebate=2.5) == bs(**kw)
        assert discrete_barrier_price(**args, knock="in", rebate=2.5, n_fixings=12) == bs(**kw)


def test_barrier_zero_maturity_and_zero_vol():
    base = {"spot": 100.0, "strike": 95.0, "rate": 0.01, "div": 0.08, "rebate": 3.0}
    # T = 0, not knocked: knock-out is the intrinsic value, knock-in pays the rebate now
    for kind, sign in (("call", 1.0), ("put", -1.0)):
        zero_t = {**base, "kind": kind, "barrier": 90.0, "maturity": 0.0, "vol": 0.3, "direction": "down"}
        assert barrier_price(**zero_t, knock="out") == max(sign * 5.0, 0.0)
        assert barrier_price(**zero_t, knock="in") == 3.0
    # vol = 0, b = -0.07 < 0: the forward path 100 e^{bt} falls through 90 at t* = log(0.9) / b < T = 2
    t_hit = math.log(0.9) / -0.07
    fwd = 100.0 * math.exp(-0.07 * 2.0)
    df = math.exp(-0.02)
    hit = {**base, "kind": "put", "barrier": 90.0, "maturity": 2.0, "vol": 0.0, "direction": "down"}
    assert barrier_price(**hit, knock="out") == pytest.approx(3.0 * math.exp(-0.01 * t_hit), rel=1e-14)
    assert barrier_price(**hit, knock="in") == pytest.approx(df * (95.0 - fwd), rel=1e-14)
    # ... and the closed form tends to that limit as vol -> 0
    for knock in ("in", "out"):
        assert barrier_price(**{**hit, "vol": 1e-5}, knock=knock) == pytest.approx(
            barrier_price(**hit, knock=knock), rel=1e-8
        )
    # on fixing dates the knock-out rebate is paid at the first fixing below the barrier
    first_fixing = math.ceil(t_hit * 4) / 4
    assert discrete_barrier_price(**hit, knock="out", n_fixings=8) == pytest.approx(
        3.0 * math.exp(-0.01 * first_fixing), rel=1e-14
    )
    # vol = 0, the forward path misses the up barrier: knock-out is the discounted intrinsic of the forward
    miss = {**base, "kind": "put", "barrier": 105.0, "maturity": 2.0, "vol": 0.0, "direction": "up"}
    assert barrier_price(**miss, knock="out") == pytest.approx(df * (95.0 - fwd), rel=1e-14)
    assert barrier_price(**miss, knock="in") == pytest.approx(3.0 * df, rel=1e-14)


def test_barrier_rebate_smooth_where_the_closed_form_hands_over_to_quadrature():
    # b = 0 and rate = -0.005: mu = -1/2 and mu**2 + 2 rate / vol**2 changes sign at vol = 0.2 (quadrature below)
    kw = {"kind": "put", "spot": 100.0, "strike": 95.0, "barrier": 90.0, "maturity": 2.0, "rate": -0.005}
    below, at, above = (
        barrier_price(**kw, div=-0.005, vol=v, direction="down", knock="out", rebate=3.0)
        for v in (0.19999, 0.2, 0.20001)
    )
    assert at == pytest.approx(0.5 * (below + above), rel=1e-9)
    assert above - at == pytest.approx(at - below, rel=1e-3)


def test_bgk_barrier_formula():
    assert pytest.approx(0.5826, abs=5e-5) == BGK_BETA
    assert float(-zeta(0.5) / math.sqrt(2.0 * math.pi)) == pytest.approx(BGK_BETA, rel=1e-15)
    shift = math.exp(BGK_BETA * 0.3 * math.sqrt(1.0 / 52))
    assert bgk_barrier(barrier=120.0, vol=0.3, dt=1.0 / 52, direction="up") == pytest.approx(120.0 * shift, rel=1e-15)
    assert bgk_barrier(barrier=80.0, vol=0.3, dt=1.0 / 52, direction="down") == pytest.approx(80.0 / shift, rel=1e-15)
    assert bgk_barrier(barrier=80.0, vol=0.3, dt=0.0, direction="down") == 80.0


@pytest.mark.parametrize(("kind", "direction", "knock"), grid(["call", "put"], ["down", "up"], ["in", "out"]))
def test_discrete_barrier_tends_to_continuous(kind, direction, knock):
    kw = {"kind": kind, "spot": 100.0, "strike": 100.0, "maturity": 1.0, "vol": 0.25, "rate": 0.03, "div": 0.01}
    kw |= {"barrier": 90.0 if direction == "down" else 112.0, "direction": direction, "knock": knock}
    cont = barrier_price(**kw)
    gaps = [discrete_barrier_price(**kw, n_fixings=n) - cont for n in (4, 52, 10**4, 10**6)]
    # discrete monitoring knocks less often: knock-outs are worth more, knock-ins less
    sign = 1.0 if knock == "out" else -1.0
    assert all(sign * g > 0 for g in gaps)
    assert all(abs(b) < abs(a) for a, b in itertools.pairwise(gaps))
    # the BGK shift is O(1/sqrt(n)), so the gap shrinks like it
    assert abs(gaps[-1]) == pytest.approx(abs(gaps[-2]) / 10.0, rel=0.03)


# --------------------------------------------------------------------------------------------- lookback

LOOKBACK_GRID = list(
    itertools.product(
        ["call", "put"], [None, 90.0, 100.0, 112.0], [False, True], [(60, 0.15, 0.03, 0.0), (400, 0.35, -0.01, 0.04)]
    )
)


@pytest.mark.parametrize(("kind", "strike", "seasoned", "mkt"), LOOKBACK_GRID)
def test_continuous_lookback_matches_quantlib(ql, kind, strike, seasoned, mkt):
    days, vol, rate, div = mkt
    uses_max = (kind == "call") == (strike is not None)  # fixed call / floating put use the maximum
    minmax = (106.0 if uses_max else 94.0) if seasoned else 100.0
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "vol": vol, "rate": rate, "div": div}
    opt = qlhelp.lookback(ql, minmax=minmax, days=days, **kw)
    extremum = {"running_max": minmax} if uses_max else {"running_min": minmax}
    assert lookback_price(maturity=days / 365, **extremum, **kw) == pytest.approx(opt.NPV(), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize(("kind", "strike"), grid(["call", "put"], [None, 90.0, 110.0]))
def test_lookback_zero_carry_limit_is_continuous(kind, strike):
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "maturity": 1.5, "vol": 0.25, "rate": 0.03}
    at = lookback_price(**kw, div=0.03)
    up, dn = (lookback_price(**kw, div=0.03 - b) for b in (1e-6, -1e-6))
    assert abs(up - dn) < 1e-4 * at  # the derivative in b is O(price)
    assert at == pytest.approx(0.5 * (up + dn), rel=1e-10)


@pytest.mark.parametrize(("kind", "strike"), grid(["call", "put"], [None, 95.0, 105.0]))
def test_discrete_lookback_tends_to_continuous(kind, strike):
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "maturity": 1.0, "vol": 0.3, "rate": 0.03, "div": 0.01}
    cont = lookback_price(**kw)
    prices = [lookback_price(**kw, n_fixings=n) for n in (4, 52, 10**4, 10**6)]
    # the discrete extremum is less extreme: every lookback is worth less, increasingly so with fewer dates
    assert all(a < b for a, b in itertools.pairwise([*prices, cont]))
    assert cont - prices[-1] < 1e-3 * cont


def test_discrete_lookback_against_monte_carlo():
    """BGK is an approximation: allow 0.5% beyond the statistical error (bias at n = 52 measured up to 0.4%)."""
    spot, t, vol, rate, div, n, n_paths = 100.0, 1.0, 0.3, 0.03, 0.01, 52, 100_000
    rng = np.random.default_rng(2024)
    dt = t / n
    log_s = np.cumsum((rate - div - 0.5 * vol * vol) * dt + vol * math.sqrt(dt) * rng.standard_normal((n_paths, n)), 1)
    paths = spot * np.exp(log_s)
    hi, lo, last = np.maximum(paths.max(1), 106.0), np.minimum(paths.min(1), spot), paths[:, -1]
    cases = [
        ({"kind": "call", "strike": 110.0, "running_max": 106.0}, np.maximum(hi - 110.0, 0.0)),
        ({"kind": "put", "strike": 90.0}, np.maximum(90.0 - lo, 0.0)),
        ({"kind": "call"}, last - lo),
        ({"kind": "put", "running_max": 106.0}, hi - last),
    ]
    k = k_sigma(len(cases))
    for kw, payoff in cases:
        value = math.exp(-rate * t) * payoff
        got = lookback_price(spot=spot, maturity=t, vol=vol, rate=rate, div=div, n_fixings=n, **kw)
        stderr = value.std() / math.sqrt(n_paths)
        assert abs(got - value.mean()) < k * stderr + 5e-3 * value.mean(), kw


def test_lookback_limits_and_validation():
    kw = {"spot": 100.0, "rate": 0.05, "div": 0.01, "running_max": 110.0, "running_min": 95.0}
    fwd = 100.0 * math.exp(0.04 * 2.0)  # 108.3: the path rises from 100 to fwd, below the running max
    df = math.exp(-0.1)
    zero_vol = {**kw, "maturity": 2.0, "vol": 0.0}
    for n in (None, 3):
        assert lookback_price(kind="call", strike=100.0, **zero_vol, n_fixings=n) == pytest.approx(df * 10.0, rel=1e-14)
        assert lookback_price(kind="put", strike=100.0, **zero_vol, n_fixings=n) == pytest.approx(df * 5.0, rel=1e-14)
        assert lookback_price(kind="call", **zero_vol, n_fixings=n) == pytest.approx(df * (fwd - 95.0), rel=1e-14)
        assert lookback_price(kind="put", **zero_vol, n_fixings=n) == pytest.approx(df * (110.0 - fwd), rel=1e-14)
    rising = {**zero_vol, "rate": 0.08, "running_max": None}  # fwd = 100 e^{0.14} is the maximum
    assert lookback_price(kind="call", strike=104.0, **rising) == pytest.approx(
        math.exp(-0.16) * (100.0 * math.exp(0.14) - 104.0), rel=1e-14
    )
    zero_t = {**kw, "maturity": 0.0, "vol": 0.3}
    assert lookback_price(kind="call", strike=104.0, **zero_t) == 6.0
    assert lookback_price(kind="put", strike=104.0, **zero_t) == 9.0
    assert lookback_price(kind="call", **zero_t) == 5.0
    assert lookback_price(kind="put", **zero_t) == 10.0
    assert lookback_price(kind="put", strike=0.0, spot=100.0, maturity=1.0, vol=0.2, rate=0.01, n_fixings=4) == 0.0
    with pytest.raises(ValueError, match="running_max"):
        lookback_price(kind="call", spot=100.0, maturity=1.0, vol=0.2, rate=0.0, running_max=99.0)
    with pytest.raises(ValueError, match="running_min"):
        lookback_price(kind="call", spot=100.0, maturity=1.0, vol=0.2, rate=0.0, running_min=101.0)


# ----------------------------------------------------------------------------------------------- Heston

HESTON_PARAMS = [(0.04, 1.5, 0.04, 0.3), (0.09, 0.5, 0.04, 0.9)]  # Feller 2 kappa theta > xi**2: yes, no
HESTON_GRID = list(
    itertools.product(["call", "put"], [70.0, 85.0, 100.0, 115.0, 130.0], [91, 365, 1095], [-0.9, -0.3, 0.5])
)


@pytest.mark.parametrize("params", HESTON_PARAMS)
@pytest.mark.parametrize(("kind", "strike", "days", "rho"), HESTON_GRID)
def test_heston_matches_quantlib(ql, kind, strike, days, rho, params):
    v0, kappa, theta, xi = params
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "rate": 0.03, "div": 0.01}
    kw |= {"v0": v0, "kappa": kappa, "theta": theta, "xi": xi, "rho": rho}
    opt = qlhelp.heston(ql, days=days, **kw)
    assert heston_price(maturity=days / 365, **kw) == pytest.approx(opt.NPV(), rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("kind", ["call", "put"])
def test_heston_without_vol_of_vol_is_black_scholes(kind):
    v0, kappa, theta, t = 0.09, 2.0, 0.04, 1.5
    mean_var = theta + (v0 - theta) * (1.0 - math.exp(-kappa * t)) / (kappa * t)
    kw = {"kind": kind, "spot": 100.0, "strike": 105.0, "maturity": t, "rate": 0.02, "div": 0.01}
    expected = bs(**kw, vol=math.sqrt(mean_var))
    assert heston_price(**kw, v0=v0, kappa=kappa, theta=theta, xi=0.0, rho=-0.7) == pytest.approx(expected, rel=1e-13)
    assert heston_price(**kw, v0=v0, kappa=0.0, theta=theta, xi=0.0, rho=0.0) == pytest.approx(
        bs(**kw, vol=0.3), rel=1e-13
    )
    # the Fourier integral tends to it (no division by xi**2 in the characteristic function)
    assert heston_price(**kw, v0=v0, kappa=kappa, theta=theta, xi=1e-7, rho=0.0) == pytest.approx(expected, rel=1e-9)


def test_heston_limits_and_parity():
    kw = {"spot": 100.0, "strike": 90.0, "v0": 0.04, "kappa": 1.0, "theta": 0.05, "xi": 0.5, "rho": -0.5}
    assert heston_price(kind="call", maturity=0.0, rate=0.03, **kw) == 10.0
    assert heston_price(kind="put", maturity=0.0, rate=0.03, **kw) == 0.0
    deterministic = {**kw, "v0": 0.0, "theta": 0.0}
    expected = math.exp(-0.03) * (100.0 * math.exp(0.02) - 90.0)
    assert heston_price(kind="call", maturity=1.0, rate=0.03, div=0.01, **deterministic) == pytest.approx(expected)
    call, put = (heston_price(kind=k, maturity=2.0, rate=0.03, div=0.01, **kw) for k in ("call", "put"))
    assert call - put == pytest.approx(100.0 * math.exp(-0.02) - 90.0 * math.exp(-0.06), rel=1e-10)


# ----------------------------------------------------------------------------------------------- Merton

MERTON_JUMPS = [(0.5, -0.1, 0.15), (3.0, 0.05, 0.1), (0.2, -0.3, 0.4)]


@pytest.mark.parametrize("jumps", MERTON_JUMPS)
@pytest.mark.parametrize(
    ("kind", "strike", "days", "vol"), grid(["call", "put"], [70.0, 100.0, 130.0], [91, 1095], [0.1, 0.3])
)
def test_merton_matches_quantlib(ql, kind, strike, days, vol, jumps):
    lam, jump_mean, jump_std = jumps
    kw = {"kind": kind, "strike": strike, "spot": 100.0, "vol": vol, "rate": 0.03, "div": 0.01}
    kw |= {"lam": lam, "jump_mean": jump_mean, "jump_std": jump_std}
    opt = qlhelp.merton_via_bates(ql, days=days, **kw)
    assert merton_price(maturity=days / 365, **kw) == pytest.approx(opt.NPV(), rel=1e-8, abs=1e-10)


def test_merton_limits():
    kw = {"kind": "put", "spot": 100.0, "strike": 110.0, "maturity": 0.8, "vol": 0.2, "rate": 0.03, "div": 0.01}
    assert merton_price(**kw, lam=0.0, jump_mean=-0.2, jump_std=0.3) == bs(**kw)
    assert merton_price(**{**kw, "maturity": 0.0}, lam=2.0, jump_mean=-0.2, jump_std=0.3) == 10.0
    # fixed jumps (+10% in log) and no diffusion: a Poisson mixture of discounted intrinsic values
    lam, t = 1.5, 0.8
    k = math.exp(0.1) - 1.0
    n = np.arange(60)
    fwds = 100.0 * np.exp((0.03 - 0.01 - lam * k) * t + 0.1 * n)
    expected = math.exp(-0.03 * t) * np.dot(poisson.pmf(n, lam * t), np.maximum(fwds - 110.0, 0.0))
    no_var = {**kw, "vol": 0.0, "kind": "call"}
    assert merton_price(**no_var, lam=lam, jump_mean=0.1, jump_std=0.0) == pytest.approx(expected, rel=1e-13)


# ---------------------------------------------------------------------------------------------- moments

N_MC = 400_000
K_MOMENTS = k_sigma(4)


def _check_moments(sample, m1, m2):
    se1 = sample.std() / math.sqrt(sample.size)
    se2 = (sample * sample).std() / math.sqrt(sample.size)
    assert abs(sample.mean() - m1) < K_MOMENTS * se1
    assert abs((sample * sample).mean() - m2) < K_MOMENTS * se2


def test_basket_moments_against_monte_carlo():
    spots, weights, vols = np.array([100.0, 80.0, 120.0]), np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.35, 0.25])
    corr = np.array([[1.0, 0.6, -0.2], [0.6, 1.0, 0.3], [-0.2, 0.3, 1.0]])
    divs, rate, t = np.array([0.01, 0.0, 0.03]), 0.02, 1.5
    rng = np.random.default_rng(11)
    z = rng.standard_normal((N_MC, 3)) @ np.linalg.cholesky(corr).T
    s_t = spots * np.exp((rate - divs - 0.5 * vols**2) * t + vols * math.sqrt(t) * z)
    m1, m2 = basket_moments(spots=spots, weights=weights, vols=vols, corr=corr, rate=rate, divs=divs, maturity=t)
    _check_moments(s_t @ weights, m1, m2)


def test_asian_moments_against_monte_carlo():
    spot, t, vol, rate, div, n, past_avg, past_n = 100.0, 1.0, 0.3, 0.03, 0.01, 12, 96.0, 5
    rng = np.random.default_rng(12)
    dt = t / n
    paths = spot * np.exp(
        np.cumsum((rate - div - 0.5 * vol**2) * dt + vol * math.sqrt(dt) * rng.standard_normal((N_MC, n)), 1)
    )
    avg = (past_n * past_avg + paths.sum(1)) / (past_n + n)
    m1, m2 = asian_moments(
        spot=spot, maturity=t, vol=vol, rate=rate, div=div, n_fixings=n, past_average=past_avg, past_fixings=past_n
    )
    _check_moments(avg, m1, m2)


@pytest.mark.parametrize(("kind", "strike"), grid(["call", "put"], [80.0, 100.0, 125.0]))
def test_basket_reduces_to_black_scholes(kind, strike):
    kw = {"kind": kind, "strike": strike, "maturity": 1.2, "rate": 0.03}
    one = basket_price_mm(spots=[100.0], weights=[1.0], vols=[0.25], corr=[[1.0]], divs=0.01, **kw)
    expected = bs(spot=100.0, vol=0.25, div=0.01, **kw)
    assert one == pytest.approx(expected, rel=1e-12, abs=1e-12)
    same = basket_price_mm(
        spots=[100.0] * 3, weights=[0.2, 0.5, 0.3], vols=[0.25] * 3, corr=np.ones((3, 3)), divs=0.01, **kw
    )
    assert same == pytest.approx(expected, rel=1e-12, abs=1e-12)
    zero_t = basket_price_mm(
        spots=[90.0, 110.0], weights=[0.5, 0.5], vols=[0.2, 0.3], corr=np.eye(2), **{**kw, "maturity": 0.0}
    )
    assert zero_t == max((1.0 if kind == "call" else -1.0) * (100.0 - strike), 0.0)


ASIAN_GRID = list(
    itertools.product(
        ["call", "put"], [85.0, 100.0, 115.0], [360, 720], [1, 4, 12], [0.15, 0.45], [(0, 0.0), (5, 104.0)]
    )
)


@pytest.mark.parametrize(("kind", "strike", "days", "n_fix", "vol", "past"), ASIAN_GRID)
def test_asian_mm_matches_quantlib_turnbull_wakeman(ql, kind, strike, days, n_fix, vol, past):
    past_n, past_avg = past
    mkt = {"kind": kind, "strike": strike, "spot": 100.0, "vol": vol, "rate": 0.04, "div": 0.01}
    opt = qlhelp.turnbull_wakeman_asian(
        ql, days=days, n_fixings=n_fix, past_sum=past_n * past_avg, past_fixings=past_n, **mkt
    )
    got = asian_price_mm(maturity=days / 365, n_fixings=n_fix, past_average=past_avg, past_fixings=past_n, **mkt)
    assert got == pytest.approx(opt.NPV(), rel=1e-9, abs=1e-11)


@pytest.mark.parametrize("kind", ["call", "put"])
def test_asian_mm_certain_exercise_and_limits(ql, kind):
    mkt = {"kind": kind, "strike": 50.0, "spot": 100.0, "vol": 0.3, "rate": 0.04, "div": 0.01}
    opt = qlhelp.turnbull_wakeman_asian(ql, days=360, n_fixings=4, past_sum=1000.0, past_fixings=10, **mkt)
    got = asian_price_mm(maturity=360 / 365, n_fixings=4, past_average=100.0, past_fixings=10, **mkt)
    assert got == pytest.approx(opt.NPV(), rel=1e-12, abs=1e-14)
    one = {**mkt, "strike": 104.0, "maturity": 0.9}
    assert asian_price_mm(**one, n_fixings=1) == pytest.approx(bs(**one), rel=1e-12)
    assert asian_price_mm(**{**one, "maturity": 0.0}, n_fixings=6) == max((1 if kind == "call" else -1) * -4.0, 0.0)
    fwd_avg = np.mean(100.0 * np.exp(0.03 * 0.9 * np.arange(1, 7) / 6))
    expected = math.exp(-0.036) * max((1 if kind == "call" else -1) * (fwd_avg - 104.0), 0.0)
    assert asian_price_mm(**{**one, "vol": 0.0}, n_fixings=6) == pytest.approx(expected, rel=1e-14, abs=1e-14)


# ------------------------------------------------------------------------------------------- validation

BAD_KIND = [
    lambda: barrier_price(
        kind="Call", spot=1, strike=1, barrier=0.5, maturity=1, vol=0.2, rate=0, direction="down", knock="in"
    ),
    lambda: discrete_barrier_price(
        kind="Call",
        spot=1,
        strike=1,
        barrier=0.5,
        maturity=1,
        vol=0.2,
        rate=0,
        direction="down",
        knock="in",
        n_fixings=2,
    ),
    lambda: lookback_price(kind="Call", spot=1, maturity=1, vol=0.2, rate=0),
    lambda: heston_price(
        kind="Call", spot=1, strike=1, maturity=1, v0=0.04, kappa=1, theta=0.04, xi=0.3, rho=0, rate=0
    ),
    lambda: merton_price(kind="Call", spot=1, strike=1, maturity=1, vol=0.2, rate=0, lam=1, jump_mean=0, jump_std=0.1),
    lambda: basket_price_mm(kind="Call", spots=[1], weights=[1], vols=[0.2], corr=[[1]], rate=0, strike=1, maturity=1),
    lambda: asian_price_mm(kind="Call", spot=1, strike=1, maturity=1, vol=0.2, rate=0, n_fixings=2),
]


@pytest.mark.parametrize("call", BAD_KIND)
def test_kind_must_be_call_or_put(call):
    with pytest.raises(ValueError, match="'Call'"):
        call()


def test_barrier_choices_are_strict():
    kw = {"kind": "call", "spot": 1.0, "strike": 1.0, "barrier": 0.5, "maturity": 1.0, "vol": 0.2, "rate": 0.0}
    with pytest.raises(ValueError, match="'Down'"):
        barrier_price(**kw, direction="Down", knock="in")
    with pytest.raises(ValueError, match="'knock_in'"):
        barrier_price(**kw, direction="down", knock="knock_in")
    with pytest.raises(ValueError, match="'sideways'"):
        bgk_barrier(barrier=1.0, vol=0.2, dt=0.1, direction="sideways")


@pytest.mark.parametrize("direction", ["up", "down"])
@pytest.mark.parametrize("knock", ["in", "out"])
def test_barrier_zero_rate_and_zero_log_drift(ql, direction, knock):
    """rate = 0 and div = -vol**2/2 make both roots of the rebate term 0 (it once divided 0 by 0)."""
    h = 120.0 if direction == "up" else 80.0
    mkt = {"spot": 100.0, "vol": 0.5, "rate": 0.0, "div": -0.125}
    got = barrier_price(
        kind="call", strike=100.0, barrier=h, maturity=1.0, direction=direction, knock=knock, rebate=3.0, **mkt
    )
    opt = qlhelp.barrier(
        ql, kind="call", strike=100.0, barrier=h, days=365, direction=direction, knock=knock, rebate=3.0, **mkt
    )
    assert got == pytest.approx(opt.NPV(), rel=1e-9)
