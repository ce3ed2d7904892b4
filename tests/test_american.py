"""American and Bermudan options by Longstaff-Schwartz (riskgpu.lsm) and the CRR tree oracle.

Statistical checks use one Bonferroni bound ``K`` over every k-sigma comparison in this file (family-wise
alpha 1e-3); seeds are fixed, so a pass is reproducible.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import k_sigma
from qlhelp import market, option_type

import riskgpu as rg
from riskgpu.analytic import binomial_price
from riskgpu.lsm import (
    OUT_OF_SAMPLE,
    PILOT,
    AmericanResult,
    basis,
    exercise_values,
    fit_policy,
    lsm_stream,
    price_american,
)
from riskgpu.products import American

VOL, RATE = 0.25, 0.05
STRIKE = 100.0
SPOTS = (80.0, 90.0, 100.0, 110.0, 120.0)
MATURITIES = (0.25, 1.0, 2.0)
GRID = [(s, t) for s in SPOTS for t in MATURITIES]
SEED = 2026
# k-sigma comparisons in this file: the grid twice (two-sided accuracy, one-sided low bias), the in-sample
# grid, and 12 others (European limits, calls, Merton, batches, float32, bumps).
N_COMPARISONS = 3 * len(GRID) + 12
K = k_sigma(N_COMPARISONS)


def gbm(spot: float = 100.0, div: float = 0.0) -> rg.GBM:
    return rg.GBM(spot=spot, vol=VOL, rate=RATE, div=div)


def tree(spot: float, maturity: float, kind: str = "put", div: float = 0.0, **kw) -> float:
    return binomial_price(
        kind=kind, spot=spot, strike=STRIKE, maturity=maturity, vol=VOL, rate=RATE, div=div, n_steps=2000, **kw
    )


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "cal"}, "American.kind must be one of 'call', 'put', got 'cal'"),
        ({"strike": -1.0}, "American.strike must be >= 0, got -1.0"),
        ({"maturity": float("nan")}, "American.maturity must be finite, got nan"),
        ({"degree": 0}, "American.degree must be an integer >= 1, got 0"),
        ({"degree": 9}, r"American.degree must be an integer in \[1, 8\], got 9"),
        ({"degree": True}, "American.degree must be an integer >= 1, got True"),
        ({"basis": "legendre"}, "American.basis must be one of 'laguerre', 'hermite', 'power', got 'legendre'"),
        ({"n_exercise": 0}, "American.n_exercise must be an integer >= 1, got 0"),
        ({"n_exercise": 2.0}, "American.n_exercise must be an integer >= 1, got 2.0"),
        ({"n_exercise": 4, "exercise_dates": (0.5, 1.0)}, "give exercise_dates or n_exercise, not both"),
        ({"exercise_dates": ()}, r"American.exercise_dates must be a non-empty sequence of times, got \(\)"),
        ({"exercise_dates": "1.0"}, "American.exercise_dates must be a non-empty sequence"),
        ({"exercise_dates": (0.5, 0.5, 1.0)}, r"strictly increasing: exercise_dates\[1\]=0.5 after 0.5"),
        ({"exercise_dates": (0.0, 1.0)}, r"American.exercise_dates\[0\] must be > 0, got 0.0"),
        ({"exercise_dates": (0.5, 0.9)}, "must end at maturity=1.0, got last date 0.9"),
        ({"exercise_dates": (0.5, 1.5)}, "must end at maturity=1.0, got last date 1.5"),
        ({"exercise_dates": (1 / math.pi, 1.0)}, "is not on a uniform grid maturity"),
        ({"exercise_dates": (0.5, 1.0), "maturity": 0.0}, "exercise_dates needs maturity > 0, got maturity=0.0"),
    ],
)
def test_american_validation(kwargs, message):
    terms = {"strike": STRIKE, "maturity": 1.0} | kwargs
    with pytest.raises(ValueError, match=message):
        American(**terms)


def test_american_terms_and_grid():
    a = American(strike=100, maturity=2)
    assert (a.strike, a.maturity, a.kind, a.degree, a.basis) == (100.0, 2.0, "put", 3, "laguerre")
    assert a.exercise_today and len(a.exercise_times()) == 50 and a.exercise_times()[-1] == 2.0
    assert a.default_steps() == 50
    np.testing.assert_array_equal(a.exercise_steps(100), 2 * np.arange(1, 51))
    b = American(strike=100, maturity=1.0, exercise_dates=(0.25, 0.5, 1.0))
    assert not b.exercise_today and b.default_steps() == 4
    np.testing.assert_array_equal(b.exercise_steps(8), [2, 4, 8])
    c = American(strike=100, maturity=1.0, exercise_dates=[0.3, 1 / 3, 1.0])
    assert c.default_steps() == 30 and c.exercise_dates == (0.3, 1 / 3, 1.0)
    with pytest.raises(
        ValueError, match=re.escape("n_steps must be a multiple of 4 (the American exercise grid), got 6")
    ):
        b.check_steps(6)
    assert American(strike=100, maturity=1.0, n_exercise=3).exercise_times() == (1 / 3, 2 / 3, 1.0)
    assert American.lsm is True and American.n_assets == 1


def test_price_american_validation():
    p = American(strike=100, maturity=1.0, n_exercise=4)
    run = {"n_paths": 64, "seed": 1, "backend": "reference"}
    with pytest.raises(TypeError, match=re.escape("product must be a riskgpu.American, got European")):
        price_american(rg.European(strike=100, maturity=1.0), gbm(), **run)
    with pytest.raises(ValueError, match=re.escape("American needs a 1-asset model; the GBM has 2 assets")):
        price_american(p, rg.GBM(spot=[100, 100], vol=0.2, rate=0.0, corr=np.eye(2)), **run)
    with pytest.raises(ValueError, match=re.escape("price_american.pilot_paths must be an integer >= 2, got 1")):
        price_american(p, gbm(), pilot_paths=1, **run)
    with pytest.raises(ValueError, match="n_steps must be a multiple of 4"):
        price_american(p, gbm(), n_steps=6, **run)
    with pytest.raises(ValueError, match=re.escape("price_american.max_batch_points must be an integer >= 5, got 3")):
        price_american(p, gbm(), max_batch_points=3, **run)
    with pytest.raises(ValueError, match="stream must be an integer in"):
        price_american(p, gbm(), stream=-1, **run)
    res = price_american(p, gbm(), **run)
    with pytest.raises(ValueError, match="policy does not fit this American"):
        price_american(American(strike=100, maturity=1.0, n_exercise=5), gbm(), policy=res.policy, **run)
    with pytest.raises(TypeError, match="policy must be an LSMPolicy"):
        price_american(p, gbm(), policy=res.policy.coefficients, **run)
    with pytest.raises(ValueError, match=re.escape("binomial_price.kind must be one of")):
        binomial_price(kind="Put", spot=100, strike=100, maturity=1, vol=0.2, rate=0.0)
    with pytest.raises(ValueError, match="needs american=True"):
        binomial_price(
            kind="put", spot=100, strike=100, maturity=1, vol=0.2, rate=0.0, american=False, exercise_times=[1]
        )


# -------------------------------------------------------------------------------------- the tree oracle
@pytest.mark.parametrize("spot", [80.0, 100.0, 120.0])
@pytest.mark.parametrize("days", [90, 365, 730])
@pytest.mark.parametrize(("kind", "div"), [("put", 0.0), ("put", 0.02), ("call", 0.04)])
def test_binomial_matches_quantlib_crr(ql, spot, days, kind, div):
    today, process = market(ql, spot=spot, vol=VOL, rate=RATE, div=div)
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(option_type(ql, kind), STRIKE), ql.AmericanExercise(today, today + days)
    )
    opt.setPricingEngine(ql.BinomialVanillaEngine(process, "crr", 2000))
    assert tree(spot, days / 365, kind, div) == pytest.approx(opt.NPV(), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("spot", "maturity"), GRID)
def test_binomial_european_limit_and_calls(spot, maturity):
    for kind in ("call", "put"):
        bs = float(rg.bs_price(kind=kind, spot=spot, strike=STRIKE, maturity=maturity, vol=VOL, rate=RATE, div=0.02))
        # CRR converges as O(1/n): 2000 steps are within 2e-3 of Black-Scholes here
        assert abs(tree(spot, maturity, kind, 0.02, american=False) - bs) < 2e-3
        assert tree(spot, maturity, kind, 0.02, exercise_times=[maturity]) == tree(
            spot, maturity, kind, 0.02, american=False
        )
    # no dividends: the American call is the European call
    assert tree(spot, maturity, "call") == pytest.approx(tree(spot, maturity, "call", american=False), rel=1e-12)
    assert tree(spot, maturity, "put") >= tree(spot, maturity, "put", exercise_times=[maturity / 2, maturity])


def test_binomial_limits():
    assert tree(80.0, 0.0) == 20.0
    zero_vol = binomial_price(kind="put", spot=80.0, strike=100.0, maturity=1.0, vol=0.0, rate=0.05)
    assert zero_vol == 20.0  # exercise today beats waiting for the discounted strike
    bermudan = binomial_price(
        kind="put", spot=80.0, strike=100.0, maturity=1.0, vol=0.0, rate=0.05, exercise_times=[0.5, 1.0]
    )
    assert bermudan == pytest.approx(math.exp(-0.025) * (100.0 - 80.0 * math.exp(0.025)))


# ------------------------------------------------------------------------------ American puts vs tree
@pytest.fixture(scope="module")
def grid_results() -> dict:
    out = {}
    for i, (spot, maturity) in enumerate(GRID):  # a seed each: independent errors across the grid
        product = American(strike=STRIKE, maturity=maturity, kind="put")
        res = price_american(
            product, gbm(spot), n_paths=100_000, pilot_paths=50_000, seed=SEED + i, backend="reference"
        )
        bermudan = tree(spot, maturity, exercise_times=(0.0, *product.exercise_times()))
        out[spot, maturity] = (res, tree(spot, maturity), bermudan)
    return out


@pytest.mark.parametrize(("spot", "maturity"), GRID)
def test_american_put_against_binomial_tree(grid_results, spot, maturity):
    res, american, bermudan = grid_results[spot, maturity]
    assert isinstance(res, AmericanResult) and res.pilot_paths == 50_000
    assert res.n_paths == (0 if res.exercised_today else 100_000)
    grid_bias = american - bermudan  # 50 dates + today against continuous exercise
    assert grid_bias >= 0.0
    tol = max(0.01 * american, K * res.stderr + grid_bias)
    assert abs(res.value - american) <= tol, (res.value, res.stderr, american, bermudan)
    # low-biased: the out-of-sample policy cannot beat the optimal Bermudan beyond noise
    assert res.value <= bermudan + K * res.stderr
    # the in-sample price is close too (its bias is not signed in general)
    assert abs(res.in_sample - bermudan) <= max(0.01 * american, K * res.in_sample_stderr)
    if res.exercised_today:
        assert res.value == 100.0 - spot and res.stderr == 0.0 and res.n_paths == 0


def test_american_cpu_backend_matches_reference(grid_results):
    for spot, maturity in [(90.0, 1.0), (110.0, 0.25)]:
        ref = grid_results[spot, maturity][0]
        seed = SEED + GRID.index((spot, maturity))
        got = price_american(
            American(strike=STRIKE, maturity=maturity),
            gbm(spot),
            n_paths=100_000,
            pilot_paths=50_000,
            seed=seed,
            backend="cpu",
        )
        assert got.backend == "cpu"
        np.testing.assert_allclose(got.policy.coefficients, ref.policy.coefficients, rtol=1e-7, atol=1e-9)
        assert got.value == pytest.approx(ref.value, rel=1e-10)
        assert got.in_sample == pytest.approx(ref.in_sample, rel=1e-10)


def test_deep_in_the_money_is_exercised_today(grid_results):
    res = grid_results[80.0, 0.25][0]
    assert res.exercised_today and res.value == 20.0 and res.in_sample == 20.0


# --------------------------------------------------------------------------------- European limits
@pytest.mark.parametrize(
    "product",
    [
        American(strike=105.0, maturity=0.75, kind="put", n_exercise=1),
        American(strike=95.0, maturity=0.75, kind="call", exercise_dates=(0.75,)),
    ],
)
def test_bermudan_with_one_date_is_the_european(product):
    model = gbm(100.0, div=0.01)
    euro = rg.European(strike=product.strike, maturity=product.maturity, kind=product.kind)
    # path by path on the same paths
    paths = rg.simulate(model, maturity=0.75, n_steps=1, n_paths=1000, seed=9, backend="reference")
    times = np.array([0.0, 0.75])
    coefs = fit_policy(paths, times, product, model)
    assert coefs.shape == (0, 4)
    values = exercise_values(paths, times, product, model, coefs)
    expected = euro.payoff_paths(paths[:, :, 0], times) * math.exp(-RATE * 0.75)
    np.testing.assert_array_equal(values, expected)
    # the price: the European on the out-of-sample stream exactly, rg.price and Black-Scholes within noise
    res = price_american(product, model, n_paths=40_000, seed=9, backend="reference")
    out = rg.simulate(model, maturity=0.75, n_steps=1, n_paths=40_000, seed=9, stream=lsm_stream(0, OUT_OF_SAMPLE, 0))
    assert res.value == pytest.approx(euro.payoff_paths(out[:, :, 0], times).mean() * math.exp(-RATE * 0.75), rel=1e-12)
    mc = rg.price(euro, model, n_paths=40_000, seed=9, backend="reference")
    assert abs(res.value - mc.value) <= K * math.hypot(res.stderr, mc.stderr)
    bs = float(
        rg.bs_price(kind=product.kind, spot=100.0, strike=product.strike, maturity=0.75, vol=VOL, rate=RATE, div=0.01)
    )
    assert abs(res.value - bs) <= K * res.stderr


def test_american_call_without_dividends_is_the_european():
    res = price_american(
        American(strike=100.0, maturity=1.0, kind="call"), gbm(), n_paths=40_000, seed=4, backend="cpu"
    )
    bs = float(rg.bs_price(kind="call", spot=100.0, strike=100.0, maturity=1.0, vol=VOL, rate=RATE))
    assert abs(res.value - bs) <= K * res.stderr
    assert not res.exercised_today


def test_zero_maturity_is_intrinsic():
    res = price_american(American(strike=100.0, maturity=0.0), gbm(90.0), n_paths=10, seed=1, backend="reference")
    assert (res.value, res.stderr, res.n_paths, res.exercised_today) == (10.0, 0.0, 0, True)


# ---------------------------------------------------------------------- determinism, backends, batches
def test_same_seed_same_bytes_and_streams_differ():
    p = American(strike=100.0, maturity=1.0, n_exercise=10)
    run = {"n_paths": 5000, "pilot_paths": 3000, "seed": 123, "backend": "reference"}
    a, b = price_american(p, gbm(), **run), price_american(p, gbm(), **run)
    assert a.value == b.value and a.stderr == b.stderr and a.in_sample == b.in_sample
    assert a.policy.coefficients.tobytes() == b.policy.coefficients.tobytes()
    c = price_american(p, gbm(), **(run | {"seed": 124}))
    assert c.value != a.value
    ids = {lsm_stream(s, r, b) for s in (0, 1, 7) for r in (PILOT, OUT_OF_SAMPLE) for b in range(50)}
    assert len(ids) == 300 and not ids & {0, 1, 2, 3}


def test_batches_bound_memory_and_cover_every_path():
    p = American(strike=100.0, maturity=1.0, n_exercise=10)
    one = price_american(p, gbm(), n_paths=30_000, pilot_paths=10_000, seed=5, backend="reference")
    many = price_american(
        p, gbm(), n_paths=30_000, pilot_paths=10_000, seed=5, backend="reference", max_batch_points=11 * 4096
    )
    assert (one.n_batches, many.n_batches, many.n_paths) == (1, 8, 30_000)
    assert one.policy.coefficients.tobytes() == many.policy.coefficients.tobytes()
    assert abs(one.value - many.value) <= K * math.hypot(one.stderr, many.stderr)


def test_gpu_backend_under_the_simulator_matches_reference():
    p = American(strike=100.0, maturity=1.0, kind="put", n_exercise=4, degree=2)
    run = {"n_paths": 96, "pilot_paths": 64, "seed": 8, "max_batch_points": 5 * 48}
    ref = price_american(p, gbm(95.0), backend="reference", **run)
    got = price_american(p, gbm(95.0), backend="gpu", **run)
    assert got.backend == "gpu" and got.n_batches == 2
    np.testing.assert_allclose(got.policy.coefficients, ref.policy.coefficients, rtol=1e-9, atol=1e-12)
    assert got.value == pytest.approx(ref.value, rel=1e-12)
    assert got.in_sample == pytest.approx(ref.in_sample, rel=1e-12)


def test_float32_paths_regress_in_float64():
    p = American(strike=100.0, maturity=1.0, n_exercise=10)
    a = price_american(p, gbm(), n_paths=20_000, pilot_paths=10_000, seed=6, backend="reference")
    b = price_american(p, gbm(), n_paths=20_000, pilot_paths=10_000, seed=6, backend="reference", dtype="float32")
    assert b.dtype == "float32" and b.policy.coefficients.dtype == np.float64
    assert abs(a.value - b.value) <= K * a.stderr


def test_bases_span_the_same_polynomials():
    x = np.linspace(0.3, 1.7, 11)
    for kind in ("laguerre", "hermite", "power"):
        assert basis(x, degree=5, kind=kind).shape == (11, 6)
    np.testing.assert_allclose(basis(x, degree=2, kind="laguerre")[:, 2], 1 - 2 * x + x * x / 2)
    np.testing.assert_allclose(basis(x, degree=3, kind="hermite")[:, 3], (x - 1) ** 3 - 3 * (x - 1))
    prices = [
        price_american(
            American(strike=100.0, maturity=1.0, n_exercise=10, basis=kind),
            gbm(105.0),
            n_paths=10_000,
            pilot_paths=10_000,
            seed=3,
            backend="reference",
        ).value
        for kind in ("laguerre", "hermite", "power")
    ]
    assert prices[1] == pytest.approx(prices[0], rel=1e-9) and prices[2] == pytest.approx(prices[0], rel=1e-9)


# ----------------------------------------------------------------------------- policy reuse, models
def test_policy_reuse_same_decisions_and_bumped_delta():
    p = American(strike=100.0, maturity=1.0)
    run = {"n_paths": 60_000, "pilot_paths": 30_000, "seed": 11, "backend": "cpu"}
    base = price_american(p, gbm(100.0), **run)
    again = price_american(p, gbm(100.0), policy=base.policy, **run)
    assert again.value == base.value and again.stderr == base.stderr
    assert again.in_sample is None and again.pilot_paths == 0
    up = price_american(p, gbm(101.0), policy=base.policy, **run)
    down = price_american(p, gbm(99.0), policy=base.policy, **run)
    delta = (up.value - down.value) / 2.0
    # common paths and one policy: the difference is smooth; tree delta by the same central difference
    assert delta == pytest.approx((tree(101.0, 1.0) - tree(99.0, 1.0)) / 2.0, abs=0.015)


def test_any_single_asset_model():
    # Merton without jumps is GBM in law (its own draws): the American put prices as on the tree
    merton = rg.Merton(spot=100.0, vol=VOL, rate=RATE)
    p = American(strike=100.0, maturity=1.0, n_exercise=10)
    res = price_american(p, merton, n_paths=40_000, pilot_paths=20_000, seed=12, backend="cpu")
    bermudan = tree(100.0, 1.0, exercise_times=p.exercise_times())
    assert abs(res.value - bermudan) <= max(0.01 * bermudan, K * res.stderr)
    heston = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=RATE)
    h = price_american(p, heston, n_paths=4000, n_steps=20, seed=12, backend="reference")
    assert h.n_steps == 20 and np.isfinite(h.value) and h.value > 0


def test_dates_with_too_few_in_the_money_paths_never_exercise_early():
    product = American(strike=200.0, maturity=0.25, kind="call", n_exercise=4)
    model = gbm(100.0)
    paths = rg.simulate(model, maturity=0.25, n_steps=4, n_paths=200, seed=1, backend="reference")
    times = np.linspace(0.0, 0.25, 5)
    coefs = fit_policy(paths, times, product, model)
    assert coefs.shape == (3, 4) and np.isnan(coefs).all()
    values = exercise_values(paths, times, product, model, coefs)
    np.testing.assert_array_equal(values, np.maximum(paths[:, -1, 0] - 200.0, 0.0) * math.exp(-RATE * 0.25))


# --- the public entry points: rg.price, rg.greeks and the CLI --------------------------------------------


def test_price_dispatches_american_and_refuses_what_lsm_does_not_take():
    model = rg.GBM(spot=100.0, vol=0.25, rate=0.05)
    put = rg.American(strike=100.0, maturity=1.0, n_exercise=4)
    res = rg.price(put, model, n_paths=20_000, pilot_paths=5_000, seed=3, backend="cpu")
    direct = price_american(put, model, n_paths=20_000, pilot_paths=5_000, seed=3, backend="cpu")
    assert (res.value, res.stderr, res.in_sample) == (direct.value, direct.stderr, direct.in_sample)
    for kwargs, message in [
        ({"antithetic": True}, r"American \(Longstaff-Schwartz\) does not take antithetic=True"),
        ({"control_variate": True}, r"does not take control_variate=True"),
        ({"qmc": True}, r"does not take qmc=True"),
        ({"tolerance": 0.1}, r"does not take tolerance=0\.1"),
    ]:
        with pytest.raises(ValueError, match=message):
            rg.price(put, model, n_paths=1000, seed=1, **kwargs)
    with pytest.raises(ValueError, match=r"pilot_paths=100 applies only to American/Bermudan products"):
        rg.price(rg.European(strike=100.0, maturity=1.0), model, n_paths=1000, seed=1, pilot_paths=100)


def test_bermudan_with_one_date_has_the_european_greeks():
    """One exercise date: every bumped revaluation is the discounted European payoff on shared paths, so the
    bumped Greeks are Black-Scholes' central differences within k standard errors."""
    mkt = {"spot": 100.0, "vol": 0.25, "rate": 0.05, "div": 0.0}
    model = rg.GBM(**mkt)
    res = rg.greeks(rg.American(strike=105.0, maturity=1.0, n_exercise=1), model, n_paths=100_000, seed=5)
    bump = {"spot": 1.0, "vol": 0.01, "rate": 1e-3, "maturity": 1 / 365}

    def bs(**kw):
        return float(rg.bs_price(kind="put", strike=105.0, **{"maturity": 1.0, **mkt, **kw}))

    exact = {
        "delta": (bs(spot=101.0) - bs(spot=99.0)) / 2,
        "gamma": bs(spot=101.0) - 2 * bs() + bs(spot=99.0),
        "vega": (bs(vol=0.26) - bs(vol=0.24)) / 0.02,
        "rho": (bs(rate=0.051) - bs(rate=0.049)) / 0.002,
        "theta": (bs(maturity=1 - bump["maturity"]) - bs(maturity=1 + bump["maturity"])) / (2 * bump["maturity"]),
    }
    k = k_sigma(5 + 5)
    for g, want in exact.items():
        assert res.methods[g] == "bump"
        assert abs(res.values[g] - want) <= k * res.stderrs[g], (g, res.values[g], res.stderrs[g], want)


def test_american_put_greeks_reuse_the_policy_against_the_tree():
    """Bumped Greeks with the base exercise policy against the CRR tree's differences on the same exercise
    grid (today and T i / 50), within k standard errors plus 3% for the fitted policy's own bias."""
    mkt = {"spot": 100.0, "vol": 0.25, "rate": 0.05}
    put = rg.American(strike=100.0, maturity=1.0)
    res = rg.greeks(put, rg.GBM(**mkt), which=("delta", "vega", "rho"), n_paths=100_000, seed=6, backend="cpu")
    grid = [0.0, *put.exercise_times()]

    def tree(**kw):
        args = {"maturity": 1.0, **mkt, **kw}
        return rg.analytic.binomial_price(kind="put", strike=100.0, n_steps=2000, exercise_times=grid, **args)

    exact = {
        "delta": (tree(spot=101.0) - tree(spot=99.0)) / 2,
        "vega": (tree(vol=0.26) - tree(vol=0.24)) / 0.02,
        "rho": (tree(rate=0.051) - tree(rate=0.049)) / 0.002,
    }
    k = k_sigma(3 + 10)
    for g, want in exact.items():
        assert abs(res.values[g] - want) <= k * res.stderrs[g] + 0.03 * abs(want), (g, res.values[g], want)
    with pytest.raises(ValueError, match=r"method='lr' is not available for American"):
        rg.greeks(put, rg.GBM(**mkt), n_paths=1000, seed=1, method="lr")


def test_cli_demo_american_config(capsys):
    from riskgpu.cli import main

    root = Path(__file__).resolve().parents[1]
    assert main(["price", "--config", str(root / "configs/demo_american.toml"), "--n-paths", "4000", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows] == [
        "american put K=100 T=1 dates=50",
        "bermudan put K=100 T=1 dates=4",
        "european put K=100 T=1",
    ]
    assert rows[0]["pilot_paths"] == 50_000 and rows[0]["in_sample"] is not None
    assert main(["price", "--config", str(root / "configs/demo_american.toml"), "--antithetic"]) == 2
    assert "products[0]: American (Longstaff-Schwartz) does not take antithetic=True" in capsys.readouterr().err
