"""``control_variate=True``: unbiased against the oracles within k of its own standard error, and that
standard error is smaller than the plain one on the same paths."""

from __future__ import annotations

import math

import pytest
from conftest import k_sigma

import riskgpu as rg

MKT = {"spot": 100.0, "vol": 0.25, "rate": 0.03, "div": 0.01}
GBM = rg.GBM(**MKT)
K = k_sigma(12)
RUN = {"n_paths": 100_000, "seed": 21, "backend": "cpu"}


@pytest.mark.parametrize(("kind", "strike"), [("call", 90.0), ("put", 110.0)])
def test_european_against_black_scholes(kind, strike):
    product = rg.European(strike=strike, maturity=1.0, kind=kind)
    exact = float(rg.bs_price(kind=kind, strike=strike, maturity=1.0, **MKT))
    cv = rg.price(product, GBM, control_variate=True, **RUN)
    plain = rg.price(product, GBM, **RUN)
    assert cv.control == "discounted terminal spot" and plain.control is None
    assert abs(cv.value - exact) <= K * cv.stderr
    assert cv.stderr < 0.6 * plain.stderr  # in the money: strongly correlated with the spot


@pytest.mark.parametrize("kind", ["call", "put"])
def test_arithmetic_asian_with_the_geometric_control(kind):
    product = rg.Asian(strike=100.0, maturity=1.0, n_fixings=12, kind=kind)
    cv = rg.price(product, GBM, control_variate=True, **RUN)
    big = rg.price(product, GBM, n_paths=800_000, seed=22, backend="cpu")  # independent paths
    assert cv.control == "geometric Asian" and 0.8 < cv.beta < 1.3
    assert abs(cv.value - big.value) <= K * math.hypot(cv.stderr, big.stderr)
    assert cv.stderr < rg.price(product, GBM, **RUN).stderr / 10


def test_basket_and_merton_controls():
    model = rg.GBM(
        spot=[100.0, 90.0, 110.0], vol=[0.2, 0.3, 0.25], rate=0.03, corr=[[1, 0.5, 0.3], [0.5, 1, 0.4], [0.3, 0.4, 1]]
    )
    basket = rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4])
    cv = rg.price(basket, model, control_variate=True, **RUN)
    big = rg.price(basket, model, n_paths=800_000, seed=23, backend="cpu")
    assert cv.control == "geometric basket" and 0.8 < cv.beta < 1.3
    assert abs(cv.value - big.value) <= K * math.hypot(cv.stderr, big.stderr)
    assert cv.stderr < 0.2 * rg.price(basket, model, **RUN).stderr
    jumps = {"lam": 0.8, "jump_mean": -0.1, "jump_std": 0.15}
    merton = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.01, **jumps)
    exact = rg.analytic.merton_price(
        kind="call", strike=95.0, maturity=1.0, spot=100.0, vol=0.2, rate=0.03, div=0.01, **jumps
    )
    res = rg.price(rg.European(strike=95.0, maturity=1.0), merton, n_steps=2, control_variate=True, **RUN)
    assert abs(res.value - exact) <= K * res.stderr


def test_backends_agree_and_antithetic_pairs():
    product = rg.Asian(strike=100.0, maturity=1.0, n_fixings=4)
    runs = [
        rg.price(product, GBM, n_paths=256, seed=2, backend=b, control_variate=True, antithetic=True)
        for b in ("reference", "cpu", "gpu")
    ]
    for r in runs[1:]:
        assert r.value == pytest.approx(runs[0].value, rel=1e-9) and r.beta == pytest.approx(runs[0].beta, rel=1e-7)


@pytest.mark.parametrize(
    ("product", "kwargs", "message"),
    [
        (rg.Lookback(maturity=1.0), {}, r"not available for Lookback with its own random draws"),
        (rg.European(strike=100.0, maturity=1.0), {"tolerance": 0.1, "n_paths": 64}, r"3 whole tiles"),
        (rg.European(strike=100.0, maturity=1.0), {"n_paths": 64}, r"needs at least 3 whole tiles \(96 samples\)"),
    ],
)
def test_control_variate_errors(product, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rg.price(product, GBM, **{**RUN, "n_paths": 1000, **kwargs}, control_variate=True)
    with pytest.raises(ValueError, match=r"control_variate must be True or False, got 'yes'"):
        rg.price(product, GBM, n_paths=1000, seed=1, control_variate="yes")


def test_spread_basket_is_refused():
    model = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03)
    spread = rg.Basket(strike=5.0, maturity=1.0, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"arithmetic Basket with non-negative weights .* weights=\(1\.0, -1\.0\)"):
        rg.price(spread, model, n_paths=1000, seed=1, control_variate=True)


def test_antithetic_and_control_together():
    product = rg.European(strike=100.0, maturity=1.0)
    exact = float(rg.bs_price(kind="call", strike=100.0, maturity=1.0, **MKT))
    both = rg.price(product, GBM, antithetic=True, control_variate=True, **RUN)
    assert abs(both.value - exact) <= K * both.stderr
    assert both.stderr < rg.price(product, GBM, control_variate=True, **RUN).stderr


@pytest.mark.parametrize("antithetic", [False, True])
def test_control_with_a_tolerance_stops_there_and_equals_a_plain_run(antithetic):
    """Batches of the product and its control on the same counters: the result equals a one-shot control
    run on the paths it reports, and its stderr met the tolerance (or the cap was hit)."""
    product = rg.Asian(strike=100.0, maturity=1.0, n_fixings=12)
    run = {"seed": 5, "backend": "cpu", "antithetic": antithetic, "control_variate": True}
    res = rg.price(product, GBM, n_paths=2048, tolerance=0.004, max_paths=2048 * 40, **run)
    assert res.stopped == "tolerance" and res.stderr <= 0.004 and res.n_paths > 2048
    one = rg.price(product, GBM, n_paths=res.n_paths, **run)
    assert (one.value, one.stderr, one.beta) == (res.value, res.stderr, res.beta)
    plain = rg.price(product, GBM, n_paths=200_000, seed=9, backend="cpu")
    assert res.beta > 0.8 and abs(res.value - plain.value) <= K * math.hypot(res.stderr, plain.stderr)
    capped = rg.price(product, GBM, n_paths=2048, tolerance=1e-6, max_paths=4096, **run)
    assert capped.stopped == "max_paths" and capped.n_paths == 4096


def test_geometric_basket_against_its_closed_form():
    """The control's own oracle: Monte Carlo of the geometric basket on every backend's kernel against
    ``geometric_basket_price``; one asset and identical perfectly correlated assets reduce to Black-Scholes."""
    corr = [[1, 0.5, 0.3], [0.5, 1, 0.4], [0.3, 0.4, 1]]
    model = rg.GBM(spot=[100.0, 90.0, 110.0], vol=[0.2, 0.3, 0.25], rate=0.03, div=[0.0, 0.01, 0.02], corr=corr)
    for kind in ("call", "put"):
        basket = rg.Basket(strike=98.0, maturity=1.5, weights=[0.3, 0.3, 0.4], average="geometric", kind=kind)
        exact = rg.analytic.geometric_basket_price(
            kind=kind,
            spots=model.spots,
            weights=basket.weights,
            vols=model.vols,
            corr=corr,
            rate=0.03,
            divs=model.divs,
            strike=98.0,
            maturity=1.5,
        )
        res = rg.price(basket, model, **RUN)
        assert abs(res.value - exact) <= K * res.stderr
        ref = rg.price(basket, model, n_paths=256, seed=3, backend="reference")
        for b in ("cpu", "gpu"):
            assert rg.price(basket, model, n_paths=256, seed=3, backend=b).value == pytest.approx(ref.value, rel=1e-9)
    bs = rg.bs_price(kind="call", strike=98.0, maturity=1.5, **MKT)
    one = rg.analytic.geometric_basket_price(
        kind="call",
        spots=[100.0],
        weights=[1.0],
        vols=[0.25],
        corr=[[1.0]],
        rate=0.03,
        divs=0.01,
        strike=98.0,
        maturity=1.5,
    )
    twins = rg.analytic.geometric_basket_price(
        kind="call",
        spots=[100.0, 100.0],
        weights=[0.5, 0.5],
        vols=[0.25, 0.25],
        corr=1.0,
        rate=0.03,
        divs=0.01,
        strike=98.0,
        maturity=1.5,
    )
    assert one == pytest.approx(bs, rel=1e-12) and twins == pytest.approx(bs, rel=1e-12)
    with pytest.raises(ValueError, match=r"Basket\.average must be one of 'arithmetic', 'geometric', got 'geo'"):
        rg.Basket(strike=1.0, maturity=1.0, weights=[0.5, 0.5], average="geo")
