"""Bump-and-revalue Greeks with common random numbers.

Oracle: the same central differences taken on the closed form (Black-Scholes, digital, Reiner-Rubinstein
barrier) with the same bumps. The Monte Carlo estimator's expectation is exactly that difference, so
the check is k standard errors with no allowance; the difference itself is compared with the analytic
Greek within its O(h^2) bias separately.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu.greeks import BUMP

MKT = {"spot": 100.0, "vol": 0.25, "rate": 0.03, "div": 0.01}
MODEL = rg.GBM(**MKT)
CASES = list(itertools.product(["call", "put"], [90.0, 110.0], [0.5, 2.0]))
K = k_sigma(5 * (2 * len(CASES) + 4) + 12)


def _differences(closed_form, maturity):
    """The bump-and-revalue Greeks of ``closed_form(spot=, vol=, rate=, maturity=)``."""
    s, v, r, t = MKT["spot"], MKT["vol"], MKT["rate"], maturity
    hs, hv, hr, ht = BUMP["spot"] * s, BUMP["vol"], BUMP["rate"], BUMP["maturity"]

    def f(**kw):
        return float(closed_form(**{"spot": s, "vol": v, "rate": r, "maturity": t, **kw}))

    return {
        "delta": (f(spot=s + hs) - f(spot=s - hs)) / (2 * hs),
        "gamma": (f(spot=s + hs) - 2 * f() + f(spot=s - hs)) / hs**2,
        "vega": (f(vol=v + hv) - f(vol=v - hv)) / (2 * hv),
        "rho": (f(rate=r + hr) - f(rate=r - hr)) / (2 * hr),
        "theta": (f(maturity=t - ht) - f(maturity=t + ht)) / (2 * ht),
    }


def _check(res, exact):
    for g, want in exact.items():
        assert abs(res.values[g] - want) <= K * res.stderrs[g] + 1e-12, (g, res.values[g], res.stderrs[g], want)
        assert res.methods[g] == "bump"


@pytest.mark.parametrize(("kind", "strike", "maturity"), CASES)
def test_european_and_digital_greeks(kind, strike, maturity):
    for product, closed_form in [
        (
            rg.European(strike=strike, maturity=maturity, kind=kind),
            lambda **kw: rg.bs_price(kind=kind, strike=strike, div=0.01, **kw),
        ),
        (
            rg.Digital(strike=strike, maturity=maturity, kind=kind, payout=10.0),
            lambda **kw: rg.digital_price(kind=kind, strike=strike, div=0.01, payout=10.0, **kw),
        ),
    ]:
        exact = _differences(closed_form, maturity)
        res = rg.greeks(product, MODEL, n_paths=100_000, seed=8, backend="cpu", method="bump")
        _check(res, exact)
        assert res.price.value == rg.price(product, MODEL, n_paths=100_000, seed=8, backend="cpu").value
    analytic = rg.bs_greeks(kind=kind, strike=strike, maturity=maturity, **MKT)
    differences = _differences(lambda **kw: rg.bs_price(kind=kind, strike=strike, div=0.01, **kw), maturity)
    for g, want in differences.items():  # the central differences' own O(h^2) bias is small
        assert want == pytest.approx(float(analytic[g]), rel=2e-3, abs=2e-4), g


@pytest.mark.parametrize(("direction", "knock"), [("up", "out"), ("down", "in"), ("down", "out"), ("up", "in")])
def test_barrier_greeks(direction, knock):
    barrier = 130.0 if direction == "up" else 80.0
    product = rg.Barrier(strike=100.0, maturity=1.0, barrier=barrier, direction=direction, knock=knock)

    def closed_form(**kw):
        return rg.analytic.barrier_price(
            kind="call", strike=100.0, barrier=barrier, direction=direction, knock=knock, div=0.01, **kw
        )

    res = rg.greeks(
        product, MODEL, n_paths=100_000, seed=9, backend="cpu", method="bump"
    )  # bridge weight: exact under GBM
    _check(res, _differences(closed_form, 1.0))


def test_backends_agree_on_greeks():
    product = rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, rebate=1.0)
    for method in ("bump", "lr"):
        runs = {
            b: rg.greeks(product, MODEL, n_paths=96, n_steps=4, seed=3, backend=b, method=method)
            for b in ("reference", "cpu", "gpu")
        }
        for b in ("cpu", "gpu"):
            for g in runs["reference"].values:
                want = runs["reference"].values[g]
                assert runs[b].values[g] == pytest.approx(want, rel=1e-7, abs=1e-9), (b, g)


def test_greeks_on_other_models_and_errors():
    heston = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03)
    euro = rg.European(strike=100.0, maturity=1.0)
    res = rg.greeks(euro, heston, which=("delta", "rho"), n_paths=20_000, n_steps=8, seed=1)
    assert list(res.values) == ["delta", "rho"] and 0.4 < res.values["delta"] < 0.8
    assert np.isfinite(list(res.stderrs.values())).all()
    with pytest.raises(ValueError, match=r"vega needs a model with a 'vol' field; Heston has none"):
        rg.greeks(euro, heston, which=("vega",), n_paths=64, seed=1)
    with pytest.raises(ValueError, match=r"greeks\.method must be one of 'auto', 'bump', 'pathwise', 'lr', got 'pw'"):
        rg.greeks(euro, MODEL, n_paths=64, seed=1, method="pw")
    with pytest.raises(ValueError, match=r"greeks\.which must be one of .*got 'delt'"):
        rg.greeks(euro, MODEL, which=("delt",), n_paths=64, seed=1)


def test_multi_asset_deltas_vegas_and_cross_gammas():
    """Two oracles on a 2-asset basket. Weights (1, 0): asset 0's Greeks are Black-Scholes' (the same central
    differences) and everything touching asset 1 is exactly 0 path by path. Identical, perfectly correlated
    assets with weights (1/2, 1/2): the basket is one lognormal asset with spot (S1 + S2) / 2, so every
    delta and (cross-)gamma is a central difference of Black-Scholes in that spot."""
    model = rg.GBM(spot=[100.0, 100.0], vol=[0.25, 0.25], rate=0.03, div=[0.01, 0.01], corr=[[1, 0.4], [0.4, 1]])
    basket = rg.Basket(strike=105.0, maturity=1.0, weights=[1.0, 0.0])
    res = rg.greeks(basket, model, n_paths=100_000, seed=4, method="bump")
    single = _differences(lambda **kw: rg.bs_price(kind="call", strike=105.0, div=0.01, **kw), 1.0)
    for g, i in (("delta", 0), ("vega", 0)):
        assert abs(res.values[g][i] - single[g]) <= K * res.stderrs[g][i]
        assert res.values[g][1] == 0.0
    assert abs(res.values["gamma"][0][0] - single["gamma"]) <= K * res.stderrs["gamma"][0][0]
    assert res.values["gamma"][0][1] == res.values["gamma"][1][0] == res.values["gamma"][1][1] == 0.0
    for g in ("rho", "theta"):
        assert abs(res.values[g] - single[g]) <= K * res.stderrs[g]

    twin = rg.GBM(spot=[100.0, 100.0], vol=[0.25, 0.25], rate=0.03, div=[0.01, 0.01], corr=[[1, 1], [1, 1]])
    basket = rg.Basket(strike=105.0, maturity=1.0, weights=[0.5, 0.5])
    res = rg.greeks(basket, twin, which=("delta", "gamma"), n_paths=100_000, seed=5, method="bump")
    h = BUMP["spot"] * 100.0

    def bs(b):
        return float(rg.bs_price(kind="call", spot=b, strike=105.0, maturity=1.0, vol=0.25, rate=0.03, div=0.01))

    delta = (bs(100.0 + h / 2) - bs(100.0 - h / 2)) / (2 * h)
    gamma = (bs(100.0 + h / 2) - 2 * bs(100.0) + bs(100.0 - h / 2)) / h**2
    cross = (bs(100.0 + h) - 2 * bs(100.0) + bs(100.0 - h)) / (4 * h**2)
    for i in range(2):
        assert abs(res.values["delta"][i] - delta) <= K * res.stderrs["delta"][i]
        assert abs(res.values["gamma"][i][i] - gamma) <= K * res.stderrs["gamma"][i][i]
    assert abs(res.values["gamma"][0][1] - cross) <= K * res.stderrs["gamma"][0][1]
    assert list(res.values) == ["delta", "gamma"] and res.values["gamma"][0][1] == res.values["gamma"][1][0]
