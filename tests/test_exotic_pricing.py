"""Barriers, lookbacks, baskets, Heston and Merton against their oracles, within k standard errors plus a
stated allowance where the oracle itself is an approximation (k from the number of checks, Bonferroni).

Allowances (each measured, see the README's oracle table):

* continuous barrier, GBM: the bridge weight is exact at any step count; a knock-out rebate is paid at
  the end of the step in which the path is hit, which moves its value by at most ``rebate * r * dt``;
* discrete barrier against the Broadie-Glasserman-Kou shifted closed form: BGK's own error, measured at
  up to 3.8% of the price for 52 fixings (up-and-out call close to the barrier): allowance 5% of price;
  the discrete logic is also checked exactly against a one-date barrier, which has a closed form;
* discrete lookback against its BGK shift: measured error up to 0.6% at 52 fixings: allowance 1%;
* Heston: a convergence study: the price at ``2N`` steps is within k standard errors of the
  characteristic-function price plus the change measured when halving dt from ``N`` to ``2N``.
"""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu import analytic

MKT = {"spot": 100.0, "vol": 0.3, "rate": 0.05, "div": 0.01}
GBM = rg.GBM(**MKT)

BARRIER_GRID = [
    (kind, strike, barrier, direction, knock, rebate)
    for (kind, strike), (barrier, direction), knock, rebate in itertools.product(
        [("call", 95.0), ("put", 105.0)], [(125.0, "up"), (80.0, "down")], ["in", "out"], [0.0, 3.0]
    )
]
LOOKBACK_GRID = [
    ("call", None, None, None),
    ("put", None, None, None),
    ("call", 110.0, None, None),
    ("put", 90.0, None, None),
    ("call", None, None, 92.0),  # seasoned floating call: the minimum so far is 92
    ("put", None, 112.0, None),
    ("call", 105.0, 115.0, None),  # seasoned fixed call already in the money
    ("put", 95.0, None, 88.0),
]
HESTON_CASES = list(itertools.product(["qe", "euler"], [("call", 90.0), ("put", 110.0)]))
MERTON_CASES = list(itertools.product(["call", "put"], [85.0, 115.0], [1, 4]))
N_CHECKS = (
    2 * len(BARRIER_GRID)  # continuous and discrete per barrier case
    + 16  # one-date barriers: 4 cases x 2 step counts x in/out
    + 2 * len(LOOKBACK_GRID)
    + 4  # basket limits
    + 8  # basket against QuantLib
    + 2 * len(HESTON_CASES)
    + len(MERTON_CASES)
    + 16  # no-jump Merton and zero vol-of-vol Heston
)
# the step-halving checks have their own family (K_HALVING)
K = k_sigma(N_CHECKS)


def _check(res, exact, allowance=0.0):
    assert abs(res.value - exact) <= K * res.stderr + allowance, (res.value, res.stderr, exact, allowance)


@pytest.mark.parametrize(("kind", "strike", "barrier", "direction", "knock", "rebate"), BARRIER_GRID)
def test_continuous_barrier_against_reiner_rubinstein(kind, strike, barrier, direction, knock, rebate):
    product = rg.Barrier(
        strike=strike, maturity=1.0, kind=kind, barrier=barrier, direction=direction, knock=knock, rebate=rebate
    )
    exact = analytic.barrier_price(
        kind=kind, strike=strike, barrier=barrier, maturity=1.0, direction=direction, knock=knock, rebate=rebate, **MKT
    )
    res = rg.price(product, GBM, n_paths=200_000, seed=17, backend="cpu")  # 50 steps by default
    timing = rebate * MKT["rate"] * (1.0 / 50) if knock == "out" else 0.0
    _check(res, exact, timing)
    # the discrete-monitoring flavour against the BGK-shifted closed form (its own error: 5% of price)
    disc = rg.Barrier(
        strike=strike,
        maturity=1.0,
        kind=kind,
        barrier=barrier,
        direction=direction,
        knock=knock,
        rebate=rebate,
        monitoring="discrete",
        n_fixings=52,
    )
    approx = analytic.discrete_barrier_price(
        kind=kind,
        strike=strike,
        barrier=barrier,
        maturity=1.0,
        direction=direction,
        knock=knock,
        rebate=rebate,
        n_fixings=52,
        **MKT,
    )
    _check(rg.price(disc, GBM, n_paths=200_000, seed=18, backend="cpu"), approx, 0.05 * approx)


@pytest.mark.parametrize(("kind", "direction"), list(itertools.product(["call", "put"], ["up", "down"])))
def test_one_date_discrete_barrier_is_exact(kind, direction):
    """Monitored only at expiry, a knock-out is a vanilla minus a vanilla and a digital struck at the barrier
    (or the plain vanilla when the barrier lies beyond the strike on the payoff's dead side)."""
    strike, barrier = (95.0, 120.0) if direction == "up" else (105.0, 85.0)

    def bs(k):
        return float(rg.bs_price(kind=kind, strike=k, maturity=1.0, **MKT))

    cut = {("call", "up"): "call", ("put", "down"): "put"}.get((kind, direction))
    if cut is None:  # alive wherever the payoff is positive
        out_value = bs(strike)
    else:  # (S - K)+ 1{S < B} = C(K) - C(B) - (B - K) 1{S > B}, and the mirror image for the put
        digital = float(rg.digital_price(kind=cut, strike=barrier, maturity=1.0, **MKT))
        out_value = bs(strike) - bs(barrier) - abs(barrier - strike) * digital
    terms = {"strike": strike, "maturity": 1.0, "kind": kind, "barrier": barrier, "direction": direction}
    for n_steps in (1, 4):
        for knock, exact in (("out", out_value), ("in", bs(strike) - out_value)):
            product = rg.Barrier(**terms, knock=knock, monitoring="discrete", n_fixings=1)
            _check(rg.price(product, GBM, n_paths=200_000, n_steps=n_steps, seed=19, backend="cpu"), exact)


@pytest.mark.parametrize(("kind", "strike", "running_max", "running_min"), LOOKBACK_GRID)
def test_lookback_against_closed_forms(kind, strike, running_max, running_min):
    terms = {"maturity": 1.0, "kind": kind, "strike": strike, "running_max": running_max, "running_min": running_min}
    exact = analytic.lookback_price(**terms, **MKT)
    res = rg.price(rg.Lookback(**terms), GBM, n_paths=200_000, n_steps=20, seed=23, backend="cpu")
    _check(res, exact)  # the bridge extreme is exact under GBM: no allowance
    approx = analytic.lookback_price(**terms, n_fixings=52, **MKT)
    disc = rg.Lookback(**terms, monitoring="discrete", n_fixings=52)
    _check(rg.price(disc, GBM, n_paths=200_000, seed=24, backend="cpu"), approx, 0.01 * approx)


@pytest.mark.parametrize(("weights", "corr"), [([1.0], None), ([0.5, 0.5], [[1.0, 1.0], [1.0, 1.0]])])
@pytest.mark.parametrize("kind", ["call", "put"])
def test_basket_limits_are_black_scholes(weights, corr, kind):
    n = len(weights)
    model = rg.GBM(spot=[100.0] * n, vol=[0.3] * n, rate=0.05, div=[0.01] * n, corr=corr)
    res = rg.price(rg.Basket(strike=105.0, maturity=1.0, kind=kind, weights=weights), model, n_paths=200_000, seed=3)
    _check(res, float(rg.bs_price(kind=kind, strike=105.0, maturity=1.0, **MKT)))


@pytest.mark.parametrize("kind", ["call", "put"])
@pytest.mark.parametrize("strike", [95.0, 110.0])
@pytest.mark.parametrize("n_steps", [1, 3])
def test_basket_against_quantlib_mc(ql, kind, strike, n_steps):
    spots, vols, divs = [100.0, 90.0, 110.0], [0.2, 0.35, 0.25], [0.0, 0.01, 0.02]
    corr = [[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]]
    weights = [0.3, 0.3, 0.4]
    model = rg.GBM(spot=spots, vol=vols, rate=0.03, div=divs, corr=corr)
    res = rg.price(
        rg.Basket(strike=strike, maturity=1.0, kind=kind, weights=weights),
        model,
        n_paths=200_000,
        n_steps=n_steps,
        seed=29,
    )
    import qlhelp

    processes = [
        qlhelp.market(ql, spot=s, vol=v, rate=0.03, div=q)[1] for s, v, q in zip(spots, vols, divs, strict=True)
    ]
    today = ql.Settings.instance().evaluationDate
    matrix = ql.Matrix(3, 3)
    for i in range(3):
        for j in range(3):
            matrix[i][j] = corr[i][j]
    payoff = ql.AverageBasketPayoff(ql.PlainVanillaPayoff(qlhelp.option_type(ql, kind), strike), ql.Array(weights))
    option = ql.BasketOption(payoff, ql.EuropeanExercise(today + 365))
    engine = ql.MCEuropeanBasketEngine(
        ql.StochasticProcessArray(processes, matrix), "pseudorandom", timeSteps=1, requiredSamples=100_000, seed=7
    )
    option.setPricingEngine(engine)
    combined = math.hypot(res.stderr, option.errorEstimate())
    assert abs(res.value - option.NPV()) <= K * combined, (res, option.NPV(), option.errorEstimate())


@pytest.mark.parametrize(("scheme", "case"), HESTON_CASES)
def test_heston_european_converges_to_characteristic_function_price(scheme, case):
    kind, strike = case
    params = {"spot": 100.0, "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.6, "rho": -0.7, "rate": 0.03, "div": 0.01}
    exact = analytic.heston_price(kind=kind, strike=strike, maturity=1.0, **params)
    model = rg.Heston(**params, scheme=scheme)
    n = 8 if scheme == "qe" else 16
    product = rg.European(strike=strike, maturity=1.0, kind=kind)
    coarse = rg.price(product, model, n_paths=400_000, n_steps=n, seed=31, backend="cpu")
    fine = rg.price(product, model, n_paths=400_000, n_steps=2 * n, seed=32, backend="cpu")
    # a first-order scheme's remaining bias at 2N is about the change from N to 2N
    measured = abs(coarse.value - fine.value) + K * math.hypot(coarse.stderr, fine.stderr)
    _check(fine, exact, measured)
    if scheme == "euler":  # the Euler bias is visible and must shrink when dt halves
        assert abs(fine.value - exact) < abs(coarse.value - exact) + K * math.hypot(coarse.stderr, fine.stderr)


@pytest.mark.parametrize(("kind", "strike", "n_steps"), MERTON_CASES)
def test_merton_european_against_series(kind, strike, n_steps):
    jumps = {"lam": 0.8, "jump_mean": -0.1, "jump_std": 0.15}
    model = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.01, **jumps)
    exact = analytic.merton_price(
        kind=kind, strike=strike, maturity=1.0, spot=100.0, vol=0.2, rate=0.03, div=0.01, **jumps
    )
    res = rg.price(
        rg.European(strike=strike, maturity=1.0, kind=kind), model, n_paths=200_000, n_steps=n_steps, seed=37
    )
    _check(res, exact)  # the Merton step is exact in distribution


@pytest.mark.parametrize("kind", ["call", "put"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_merton_without_jumps_and_heston_without_vol_of_vol_are_black_scholes(kind, dtype, backend):
    bs = float(rg.bs_price(kind=kind, strike=100.0, maturity=1.0, spot=100.0, vol=0.2, rate=0.03, div=0.01))
    merton = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.01, lam=0.0)
    heston = rg.Heston(spot=100.0, v0=0.04, kappa=2.0, theta=0.04, xi=0.0, rho=-0.5, rate=0.03, div=0.01)
    product = rg.European(strike=100.0, maturity=1.0, kind=kind)
    for model, n_steps in ((merton, 1), (heston, 4)):
        _check(rg.price(product, model, n_paths=100_000, n_steps=n_steps, seed=41, backend=backend, dtype=dtype), bs)


HESTON_QE = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.6, rho=-0.7, rate=0.03, div=0.01)
MERTON = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.01, lam=0.8, jump_mean=-0.1, jump_std=0.15)
HALVING_CASES = {
    "heston_barrier_continuous": (HESTON_QE, rg.Barrier(strike=100.0, maturity=1.0, barrier=80.0, direction="down")),
    "heston_lookback_continuous": (HESTON_QE, rg.Lookback(maturity=1.0, kind="put")),
    "heston_asian": (HESTON_QE, rg.Asian(strike=100.0, maturity=1.0, n_fixings=4)),
    "merton_barrier_continuous": (MERTON, rg.Barrier(strike=100.0, maturity=1.0, barrier=125.0, rebate=2.0)),
    "merton_lookback_fixed": (MERTON, rg.Lookback(maturity=1.0, strike=100.0)),
    "merton_digital": (MERTON, rg.Digital(strike=100.0, maturity=1.0, payout=10.0)),
}
K_HALVING = k_sigma(2 * len(HALVING_CASES))


@pytest.mark.parametrize("name", list(HALVING_CASES))
def test_step_halving_converges_for_pairs_without_a_closed_form(name):
    """No oracle but the reference backend (tests/test_exotic_backends.py) for these pairs; here the price
    must settle as dt halves: the change from 2N to 4N steps is no larger than the change from N to 2N
    (plus noise); for the exact-step Merton digital both changes are noise."""
    model, product = HALVING_CASES[name]
    prices = [rg.price(product, model, n_paths=200_000, n_steps=n, seed=50 + n, backend="cpu") for n in (8, 16, 32)]
    d1 = prices[1].value - prices[0].value
    d2 = prices[2].value - prices[1].value
    noise1 = math.hypot(prices[0].stderr, prices[1].stderr)
    noise2 = math.hypot(prices[1].stderr, prices[2].stderr)
    assert abs(d2) <= abs(d1) + K_HALVING * (noise1 + noise2), (name, [p.value for p in prices])
    if name == "merton_digital":  # the Merton step is exact: any step count gives the same price up to noise
        assert abs(d2) <= K_HALVING * noise2 and abs(d1) <= K_HALVING * noise1, name
