"""Monte Carlo prices against their oracles, within k standard errors (k from the number of checks)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import qlhelp
from conftest import k_sigma

import riskgpu as rg

MKT = {"spot": 100.0, "rate": 0.04, "div": 0.01}

EURO_GRID = list(itertools.product(["call", "put"], [80.0, 100.0, 125.0], [0.5, 2.0], [0.1, 0.4]))
EURO_RUNS = [("reference", "float64"), ("cpu", "float64"), ("cpu", "float32")]
K_EURO = k_sigma(2 * len(EURO_GRID) * len(EURO_RUNS))


@pytest.mark.parametrize(("backend", "dtype"), EURO_RUNS)
@pytest.mark.parametrize(("kind", "strike", "maturity", "vol"), EURO_GRID)
def test_european_and_digital_against_black_scholes(backend, dtype, kind, strike, maturity, vol):
    model = rg.GBM(vol=vol, **MKT)
    for product, exact in [
        (
            rg.European(strike=strike, maturity=maturity, kind=kind),
            rg.bs_price(kind=kind, strike=strike, maturity=maturity, vol=vol, **MKT),
        ),
        (
            rg.Digital(strike=strike, maturity=maturity, kind=kind, payout=10.0),
            rg.digital_price(kind=kind, strike=strike, maturity=maturity, vol=vol, payout=10.0, **MKT),
        ),
    ]:
        res = rg.price(product, model, n_paths=100_000, seed=11, backend=backend, dtype=dtype)
        assert res.backend == backend and res.dtype == dtype and res.n_paths == 100_000
        assert res.stderr > 0
        assert abs(res.value - float(exact)) <= K_EURO * res.stderr, (product, res, float(exact))
        lo, hi = res.ci95
        assert lo < res.value < hi and hi - lo == pytest.approx(2 * 1.959963984540054 * res.stderr)


ASIAN_GRID = list(itertools.product(["call", "put"], [90.0, 110.0], [4, 12], [False, True]))
K_ASIAN = k_sigma(2 * len(ASIAN_GRID))


@pytest.mark.parametrize(("kind", "strike", "n_fix", "antithetic"), ASIAN_GRID)
def test_geometric_asian_against_closed_form(kind, strike, n_fix, antithetic):
    model = rg.GBM(vol=0.3, **MKT)
    product = rg.Asian(strike=strike, maturity=1.5, kind=kind, n_fixings=n_fix, average="geometric")
    exact = rg.geometric_asian_price(kind=kind, strike=strike, maturity=1.5, vol=0.3, n_fixings=n_fix, **MKT)
    for backend, n_steps in [("cpu", None), ("reference", 2 * n_fix)]:
        res = rg.price(product, model, n_paths=60_000, n_steps=n_steps, seed=5, backend=backend, antithetic=antithetic)
        assert abs(res.value - exact) <= K_ASIAN * res.stderr, (res, exact)


ARITH_GRID = list(itertools.product(["call", "put"], [90.0, 105.0], [0.2, 0.5]))
K_ARITH = k_sigma(len(ARITH_GRID))


@pytest.mark.parametrize(("kind", "strike", "vol"), ARITH_GRID)
def test_arithmetic_asian_against_quantlib_monte_carlo(ql, kind, strike, vol):
    days, n_fix = 360, 12
    opt = qlhelp.asian(
        ql, kind=kind, strike=strike, days=days, n_fixings=n_fix, vol=vol, average="arithmetic", engine="mc", **MKT
    )
    ql_value, ql_se = opt.NPV(), opt.errorEstimate()
    product = rg.Asian(strike=strike, maturity=days / 365, kind=kind, n_fixings=n_fix)
    res = rg.price(product, rg.GBM(vol=vol, **MKT), n_paths=200_000, seed=3, backend="cpu", antithetic=True)
    assert abs(res.value - ql_value) <= K_ARITH * math.hypot(res.stderr, ql_se), (res, ql_value, ql_se)


def test_antithetic_reduces_variance_for_a_monotone_payoff():
    model = rg.GBM(vol=0.3, **MKT)
    product = rg.European(strike=100.0, maturity=1.0)
    plain = rg.price(product, model, n_paths=100_000, seed=2, backend="cpu")
    anti = rg.price(product, model, n_paths=100_000, seed=2, backend="cpu", antithetic=True)
    assert anti.stderr < 0.8 * plain.stderr
    assert abs(anti.value - plain.value) <= k_sigma(1) * math.hypot(anti.stderr, plain.stderr)


def test_stderr_matches_the_sample_standard_deviation_of_payoffs():
    """The tile-combined stderr equals numpy's on the reference's own per-path payoffs."""
    from riskgpu.api import make_job
    from riskgpu.backends.reference import discounted_payoffs

    model = rg.GBM(vol=0.25, **MKT)
    product = rg.European(strike=105.0, maturity=1.0)
    res = rg.price(product, model, n_paths=5_000, seed=9, backend="reference")
    job = make_job(product, model, n_paths=5_000, n_steps=None, seed=9, dtype="float64", antithetic=False, stream=0)
    y = discounted_payoffs(job, np.arange(5_000, dtype=np.uint64))
    assert res.value == pytest.approx(y.mean(), rel=1e-13)
    assert res.stderr == pytest.approx(y.std(ddof=1) / np.sqrt(y.size), rel=1e-10)
