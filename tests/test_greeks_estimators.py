"""Pathwise and likelihood-ratio Greeks (``riskgpu.pathwise``) against exact oracles.

Both estimators are unbiased for the true derivative (no bump bias), so the oracles are the analytic
Black-Scholes Greeks, or derivatives of the closed forms (digital, continuous barrier, geometric Asian,
continuous lookback) by central differences small enough (1e-5 relative) that their error is far below
the standard errors. Basket pathwise deltas and vegas are checked against bump-and-revalue on the same
paths. k is Bonferroni over every comparison in the file.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu.analytic import barrier_price, lookback_price

MKT = {"spot": 100.0, "vol": 0.25, "rate": 0.03, "div": 0.01}
MODEL = rg.GBM(**MKT)
CASES = list(itertools.product(["call", "put"], [90.0, 110.0], [0.5, 2.0]))
K = k_sigma(len(CASES) * 7 + 4 * 4 + 6 + 3 + 3 + 6 + 3)
N = 100_000


def _derivatives(closed_form, which=("delta", "gamma", "vega", "rho"), rel=1e-5):
    """Derivatives of ``closed_form(spot=, vol=, rate=)`` by central differences of relative size ``rel``."""
    s, v, r = MKT["spot"], MKT["vol"], MKT["rate"]

    def f(**kw):
        return float(closed_form(**{"spot": s, "vol": v, "rate": r, **kw}))

    hs, hv, hr = rel * s, rel * v, 1e-6
    out = {
        "delta": (f(spot=s + hs) - f(spot=s - hs)) / (2 * hs),
        "gamma": (f(spot=s + 100 * hs) - 2 * f() + f(spot=s - 100 * hs)) / (100 * hs) ** 2,
        "vega": (f(vol=v + hv) - f(vol=v - hv)) / (2 * hv),
        "rho": (f(rate=r + hr) - f(rate=r - hr)) / (2 * hr),
    }
    return {g: out[g] for g in which}


def _check(res, exact, method):
    for g, want in exact.items():
        assert res.methods[g] == method, g
        assert abs(res.values[g] - want) <= K * res.stderrs[g], (g, res.values[g], res.stderrs[g], want)


@pytest.mark.parametrize(("kind", "strike", "maturity"), CASES)
def test_european_pathwise_and_lr_against_black_scholes(kind, strike, maturity):
    product = rg.European(strike=strike, maturity=maturity, kind=kind)
    bs = rg.bs_greeks(kind=kind, strike=strike, maturity=maturity, **MKT)
    auto = rg.greeks(product, MODEL, which=("delta", "vega", "rho"), n_paths=N, seed=11, backend="cpu")
    _check(auto, {g: float(bs[g]) for g in ("delta", "vega", "rho")}, "pathwise")
    lr = rg.greeks(product, MODEL, which=("delta", "gamma", "vega", "rho"), n_paths=N, seed=12, method="lr")
    _check(lr, {g: float(bs[g]) for g in ("delta", "gamma", "vega", "rho")}, "lr")


@pytest.mark.parametrize(("kind", "strike"), list(itertools.product(["call", "put"], [95.0, 115.0])))
def test_digital_likelihood_ratio(kind, strike):
    product = rg.Digital(strike=strike, maturity=1.0, kind=kind, payout=10.0)
    res = rg.greeks(product, MODEL, n_paths=N, seed=13, backend="cpu")
    exact = _derivatives(
        lambda **kw: rg.digital_price(kind=kind, strike=strike, maturity=1.0, div=0.01, payout=10.0, **kw)
    )
    _check(res, exact, "lr")
    assert res.methods["theta"] == "bump"


@pytest.mark.parametrize(("direction", "knock", "level"), [("up", "out", 130.0), ("down", "in", 85.0)])
def test_continuous_barrier_likelihood_ratio(direction, knock, level):
    """Continuous monitoring by the bridge survival weight: the score covers the path, the explicit step
    variance and spot dependence of the weight are differentiated with the path held fixed."""
    product = rg.Barrier(strike=100.0, maturity=1.0, barrier=level, direction=direction, knock=knock)
    run = {"which": ("delta", "vega", "rho"), "n_paths": N, "seed": 14, "backend": "cpu", "method": "lr"}
    res = rg.greeks(product, MODEL, **run)
    exact = _derivatives(
        lambda **kw: barrier_price(
            kind="call", strike=100.0, maturity=1.0, barrier=level, direction=direction, knock=knock, div=0.01, **kw
        ),
        which=("delta", "vega", "rho"),
    )
    _check(res, exact, "lr")


def test_geometric_asian_and_lookback_pathwise():
    asian = rg.Asian(strike=100.0, maturity=1.0, n_fixings=12, average="geometric")
    res = rg.greeks(asian, MODEL, which=("delta", "vega", "rho"), n_paths=N, seed=15, backend="cpu")
    exact = _derivatives(
        lambda **kw: rg.geometric_asian_price(kind="call", strike=100.0, maturity=1.0, n_fixings=12, div=0.01, **kw),
        which=("delta", "vega", "rho"),
    )
    _check(res, exact, "pathwise")
    look = rg.Lookback(maturity=1.0, kind="call")  # floating strike, continuous: the bridge minimum is exact
    res = rg.greeks(look, MODEL, which=("delta", "vega", "rho"), n_paths=N, seed=16, backend="cpu")
    exact = _derivatives(
        lambda **kw: lookback_price(kind="call", maturity=1.0, div=0.01, **kw), which=("delta", "vega", "rho")
    )
    _check(res, exact, "pathwise")


def test_basket_pathwise_against_bump_on_shared_paths():
    """Per-asset pathwise deltas and vegas of a correlated 3-asset basket against the bumped ones on the same
    paths: their difference is the bump's O(h^2) bias plus noise far below the pathwise standard error."""
    model = rg.GBM(
        spot=[100.0, 90.0, 110.0],
        vol=[0.2, 0.3, 0.25],
        rate=0.03,
        div=[0.0, 0.01, 0.02],
        corr=[[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]],
    )
    basket = rg.Basket(strike=100.0, maturity=1.0, weights=[0.4, 0.3, 0.3])
    run = {"which": ("delta", "vega"), "n_paths": N, "seed": 17}
    pw = rg.greeks(basket, model, **run)
    bump = rg.greeks(basket, model, **run, method="bump")
    for g in ("delta", "vega"):
        assert pw.methods[g] == "pathwise" and bump.methods[g] == "bump"
        for i in range(3):
            assert abs(pw.values[g][i] - bump.values[g][i]) <= K * pw.stderrs[g][i], (g, i)
            assert pw.values[g][i] > 0


def test_antithetic_pathwise_and_backends_agree():
    product = rg.European(strike=100.0, maturity=1.0)
    bs = rg.bs_greeks(kind="call", strike=100.0, maturity=1.0, **MKT)
    res = rg.greeks(product, MODEL, which=("delta", "vega", "rho"), n_paths=N, seed=18, antithetic=True)
    _check(res, {g: float(bs[g]) for g in ("delta", "vega", "rho")}, "pathwise")
    basket = rg.Basket(strike=95.0, maturity=1.0, weights=[0.5, 0.5])
    model = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03, corr=[[1, 0.3], [0.3, 1]])
    digital = rg.Digital(strike=100.0, maturity=1.0)
    for prod, mdl in ((basket, model), (digital, MODEL)):
        runs = {b: rg.greeks(prod, mdl, n_paths=96, seed=3, backend=b) for b in ("reference", "cpu", "gpu")}
        for b in ("cpu", "gpu"):
            for g, want in runs["reference"].values.items():
                assert np.allclose(runs[b].values[g], want, rtol=1e-7, atol=1e-9), (b, g)
                assert runs[b].methods == runs["reference"].methods


def test_estimator_choice_and_errors():
    heston = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03)
    euro = rg.European(strike=100.0, maturity=1.0)
    assert set(rg.greeks(euro, heston, which=("delta",), n_paths=256, n_steps=2, seed=1).methods.values()) == {"bump"}
    barrier = rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0)
    res = rg.greeks(barrier, MODEL, n_paths=256, seed=1)
    assert res.methods == {"delta": "bump", "gamma": "bump", "vega": "bump", "rho": "lr", "theta": "bump"}
    res = rg.greeks(euro, MODEL, n_paths=256, seed=1, method="pathwise")
    assert res.methods == {"delta": "pathwise", "gamma": "bump", "vega": "pathwise", "rho": "pathwise", "theta": "bump"}
    with pytest.raises(ValueError, match=r"method='pathwise' needs a payoff continuous in the path .* got Digital"):
        rg.greeks(rg.Digital(strike=100.0, maturity=1.0), MODEL, n_paths=64, seed=1, method="pathwise")
    with pytest.raises(ValueError, match=r"method='lr' needs a GBM model, got Heston"):
        rg.greeks(euro, heston, which=("delta",), n_paths=64, seed=1, method="lr")
    with pytest.raises(ValueError, match=r"method='lr' needs vol > 0, got vol=0.0"):
        rg.greeks(euro, rg.GBM(spot=100.0, vol=0.0, rate=0.03), n_paths=64, seed=1, method="lr")
    two = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03)
    with pytest.raises(ValueError, match=r"method='lr' is single-asset here; the model has 2 assets"):
        rg.greeks(rg.Basket(strike=95.0, maturity=1.0, weights=[0.5, 0.5]), two, n_paths=64, seed=1, method="lr")
    knock = rg.Asian(strike=100.0, maturity=1.0, n_fixings=4, barrier=130.0)
    assert rg.greeks(knock, MODEL, which=("delta",), n_paths=256, seed=1).methods["delta"] == "bump"
