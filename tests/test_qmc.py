"""Quasi-Monte Carlo: scipy's Sobol points exactly, the net property of the scrambles, the Brownian
bridge's orthogonality, and ``qmc_price`` against Black-Scholes and plain Monte Carlo."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import qmc as scipy_qmc

import riskgpu as rg
from riskgpu.analytic import bs_price
from riskgpu.api import make_job
from riskgpu.qmc import qmc_price
from riskgpu.rng import bridge_order, brownian_bridge, direction_numbers, sobol_normals, sobol_points
from riskgpu.rng.sobol import MAX_DIM

GBM1 = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)
GBM3 = rg.GBM(
    spot=[100.0, 90.0, 110.0],
    vol=[0.2, 0.3, 0.25],
    rate=0.03,
    corr=[[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]],
)
K = 5.0  # k standard errors (a handful of comparisons at alpha ~ 1e-5 each)


def _job(product, model, n_paths, *, dtype="float64", n_steps=None, antithetic=False, stream=0, seed=11):
    return make_job(
        product, model, n_paths=n_paths, n_steps=n_steps, seed=seed, dtype=dtype, antithetic=antithetic, stream=stream
    )


def _scipy_int(dim, n, *, bits=30, skip=0):
    """scipy's unscrambled points ``skip .. skip + n - 1`` as integers (``x * 2**bits``, exact)."""
    engine = scipy_qmc.Sobol(dim, scramble=False, bits=bits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n not a power of two
        if skip:
            engine.fast_forward(skip)
        pts = engine.random(n)
    return np.ldexp(pts, bits).astype(np.uint64)


# ---------------------------------------------------------------- Sobol points
@pytest.mark.parametrize("dim", [1, 2, 5, 40, 300])
def test_unscrambled_points_are_scipys(dim):
    ours = sobol_points(0, 1 << 10, dim, seed=0, randomisation=0, scramble=False)
    assert ours.dtype == np.uint64 and ours.shape == (1 << 10, dim)
    np.testing.assert_array_equal(ours, _scipy_int(dim, 1 << 10))


def test_direction_numbers_are_scipys_points_2k1_minus_1():
    v = direction_numbers(6, columns=12)
    ref = _scipy_int(6, 1 << 12)
    for k in range(12):
        np.testing.assert_array_equal(v[:, k], ref[(1 << (k + 1)) - 1])
    assert MAX_DIM == scipy_qmc.Sobol.MAXDIM


def test_unscrambled_points_far_out_and_other_bits():
    first = (1 << 20) - 3
    ours = sobol_points(first, 8, 4, seed=0, randomisation=0, scramble=False)
    np.testing.assert_array_equal(ours, _scipy_int(4, 8, skip=first))
    ours = sobol_points(0, 256, 7, seed=0, randomisation=0, scramble=False, bits=12)
    np.testing.assert_array_equal(ours, _scipy_int(7, 256, bits=12))


@pytest.mark.parametrize("first", [0, 1 << 10])
def test_scrambled_blocks_stratify_every_coordinate(first):
    m, bits, dim = 10, 30, 64
    for r in (0, 5):
        x = sobol_points(first, 1 << m, dim, seed=3, randomisation=r)
        cells = x >> np.uint64(bits - m)
        for j in range(dim):
            assert np.unique(cells[:, j]).size == 1 << m, (r, j)


def test_scrambled_first_two_dimensions_are_a_0_m_2_net():
    m, bits = 10, 30
    for r in (0, 1, 2):
        x = sobol_points(0, 1 << m, 2, seed=99, randomisation=r)
        for a in range(m + 1):
            b = m - a
            box = ((x[:, 0] >> np.uint64(bits - a)) << np.uint64(b)) | (x[:, 1] >> np.uint64(bits - b))
            assert np.unique(box).size == 1 << m, (r, a)


def test_scrambles_are_deterministic_and_independent_per_randomisation():
    a = sobol_points(0, 512, 16, seed=5, randomisation=2)
    assert a.tobytes() == sobol_points(0, 512, 16, seed=5, randomisation=2).tobytes()
    b = sobol_points(0, 512, 16, seed=5, randomisation=3)
    c = sobol_points(0, 512, 16, seed=6, randomisation=2)
    assert (a != b).mean() > 0.99 and (a != c).mean() > 0.99
    plain = sobol_points(0, 512, 16, seed=5, randomisation=2, scramble=False)
    assert (a != plain).mean() > 0.99


def test_split_calls_give_the_same_points():
    whole = sobol_points(0, 3000, 9, seed=8, randomisation=1)
    parts = [sobol_points(f, c, 9, seed=8, randomisation=1) for f, c in ((0, 1), (1, 1000), (1001, 1999))]
    np.testing.assert_array_equal(np.vstack(parts), whole)


def test_normals_are_finite_and_standard():
    z = sobol_normals(0, 1 << 12, 8, seed=1, randomisation=0, dtype=np.float64)
    assert z.dtype == np.float64 and np.isfinite(z).all()
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=2e-3)
    z32 = sobol_normals(0, 1 << 12, 8, seed=1, randomisation=0, dtype="float32")
    assert z32.dtype == np.float32 and np.isfinite(z32).all()
    np.testing.assert_allclose(z32, z, rtol=1e-6, atol=1e-6)


def test_point_argument_errors():
    with pytest.raises(ValueError, match=r"sobol\.dim"):
        sobol_points(0, 4, MAX_DIM + 1, seed=0, randomisation=0)
    with pytest.raises(ValueError, match=r"sobol\.bits"):
        sobol_points(0, 4, 2, seed=0, randomisation=0, bits=53)
    with pytest.raises(ValueError, match="first \\+ count"):
        sobol_points(1 << 12, 1, 2, seed=0, randomisation=0, bits=12)
    with pytest.raises(ValueError, match="randomisation"):
        sobol_points(0, 4, 2, seed=0, randomisation=-1)


# ---------------------------------------------------------------- Brownian bridge
@pytest.mark.parametrize("n_steps", [1, 2, 3, 5, 8, 12, 16, 33, 252])
def test_bridge_is_orthogonal_and_sets_the_end_first(n_steps):
    order = bridge_order(n_steps)
    assert sorted(p for p, _, _ in order) == list(range(1, n_steps + 1)) and order[0][0] == n_steps
    b = brownian_bridge(np.eye(n_steps), n_steps)  # row j: the increments column j of z drives
    np.testing.assert_allclose(b @ b.T, np.eye(n_steps), atol=1e-12)
    np.testing.assert_allclose(b.sum(axis=1), np.r_[np.sqrt(n_steps), np.zeros(n_steps - 1)], atol=1e-12)


def test_bridge_midpoint_order_for_powers_of_two():
    assert [p for p, _, _ in bridge_order(8)] == [8, 4, 2, 6, 1, 3, 5, 7]


def test_bridge_shape_error():
    with pytest.raises(ValueError, match="n_steps=4"):
        brownian_bridge(np.zeros((3, 5)), 4)


# ---------------------------------------------------------------- pricing
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_european_matches_black_scholes(dtype):
    product = rg.European(strike=100.0, maturity=1.0)
    value, se, r = qmc_price(_job(product, GBM1, 16 << 12, dtype=dtype), randomisations=16, backend="reference")
    exact = float(bs_price(kind="call", spot=100.0, strike=100.0, maturity=1.0, vol=0.2, rate=0.03, div=0.01))
    assert r == 16
    assert abs(value - exact) <= K * se + (2e-4 if dtype == "float32" else 0.0), (value, exact, se)
    assert se < 0.05 * 14.7 / math.sqrt(16 << 12)  # 20x below plain MC's stderr (sd of payoff ~14.7)


def test_more_steps_european_still_matches_black_scholes():
    product = rg.European(strike=110.0, maturity=1.0, kind="put")
    value, se, _ = qmc_price(_job(product, GBM1, 8 << 10, n_steps=12), randomisations=8, backend="cpu")
    exact = float(bs_price(kind="put", spot=100.0, strike=110.0, maturity=1.0, vol=0.2, rate=0.03, div=0.01))
    assert abs(value - exact) <= K * se, (value, exact, se)


def test_arithmetic_asian_agrees_with_plain_mc():
    product = rg.Asian(strike=100.0, maturity=1.0, n_fixings=16)
    value, se, _ = qmc_price(_job(product, GBM1, 16 << 11), randomisations=16, backend="cpu")
    mc = rg.price(product, GBM1, n_paths=400_000, seed=4, backend="cpu")
    assert abs(value - mc.value) <= K * math.hypot(se, mc.stderr), (value, se, mc)
    assert se < mc.stderr / 5


def test_basket_agrees_with_plain_mc():
    product = rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4])
    value, se, _ = qmc_price(_job(product, GBM3, 16 << 11), randomisations=16, backend="cpu")
    mc = rg.price(product, GBM3, n_paths=400_000, seed=4, backend="cpu")
    assert abs(value - mc.value) <= K * math.hypot(se, mc.stderr), (value, se, mc)
    assert se < mc.stderr


def test_estimate_is_the_mean_of_the_randomisation_means():
    """One-step European by hand: payoffs of ``ndtri`` of the scrambled points, mean and sd of the means."""
    per, n_r = 1 << 8, 4
    value, se, r = qmc_price(
        _job(rg.European(strike=95.0, maturity=0.5), GBM1, n_r * per), randomisations=n_r, backend="reference"
    )
    seed = 11
    drift, vol = (0.03 - 0.01 - 0.02) * 0.5, 0.2 * math.sqrt(0.5)
    means = []
    for k in range(n_r):
        z = sobol_normals(0, per, 1, seed=seed, randomisation=k, dtype=np.float64)[:, 0]
        pay = np.maximum(100.0 * np.exp(drift + vol * z) - 95.0, 0.0) * math.exp(-0.03 * 0.5)
        means.append(pay.mean())
    assert r == n_r
    assert value == pytest.approx(np.mean(means), rel=1e-12)
    assert se == pytest.approx(np.std(means, ddof=1) / 2.0, rel=1e-9)


@pytest.mark.parametrize(
    ("product", "model", "kwargs", "match"),
    [
        (
            rg.European(strike=100.0, maturity=1.0),
            rg.Heston(spot=100.0, v0=0.04, kappa=1.0, theta=0.04, xi=0.5, rho=-0.5, rate=0.03),
            {},
            "model=Heston",
        ),
        (rg.European(strike=100.0, maturity=1.0), rg.Merton(spot=100.0, vol=0.2, rate=0.03), {}, "model=Merton"),
        (rg.Lookback(maturity=1.0), GBM1, {"n_steps": 4}, "slots=1"),
        (rg.European(strike=100.0, maturity=1.0), GBM1, {"antithetic": True}, "antithetic=True"),
        (rg.European(strike=100.0, maturity=1.0), GBM1, {"stream": 2}, "stream must be 0, got 2"),
    ],
)
def test_unsupported_jobs_are_refused(product, model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        qmc_price(_job(product, model, 16 << 4, **kwargs), randomisations=16, backend="cpu")


def test_path_counts_must_be_randomisations_times_a_power_of_two():
    job = _job(rg.European(strike=100.0, maturity=1.0), GBM1, 16 * 100)
    with pytest.raises(ValueError, match="n_paths=1600 with randomisations=16"):
        qmc_price(job, randomisations=16, backend="cpu")
    with pytest.raises(ValueError, match="randomisations"):
        qmc_price(job, randomisations=1, backend="cpu")
    with pytest.raises(ValueError, match="backend"):
        qmc_price(job, randomisations=16, backend="auto")
