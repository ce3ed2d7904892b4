"""Heston, Merton, barriers, lookbacks, seasoned Asians and baskets: cpu and gpu (CUDA simulator, two
launch shapes) against the reference backend on the same random numbers.

Tolerances. Continuous functions of the normals agree to ``RTOL`` (float64 1e-9: libm vs numpy ulps
through at most 16 steps; float32 5e-5). Discontinuities can flip a path when a quantity lands within
rounding of a threshold: a barrier or fixing crossing, the Poisson jump count of a Merton step, the
QE branch (``psi <= 1.5``, ``U <= p``). We allow ``FLIPS`` such paths, each worth at most ``CAP`` times
the spot (discounted), on top of the relative tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

import riskgpu as rg
from riskgpu.api import combine, make_job
from riskgpu.backends import cpu, gpu, reference

GBM = rg.GBM(spot=100.0, vol=0.3, rate=0.03, div=0.01)
HESTON = {"spot": 100.0, "v0": 0.05, "kappa": 1.2, "theta": 0.04, "xi": 0.9, "rho": -0.6, "rate": 0.02, "div": 0.01}
MERTON = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.0, lam=3.0, jump_mean=-0.05, jump_std=0.12)
BASKET_MODEL = rg.GBM(
    spot=[100.0, 90.0, 110.0],
    vol=[0.2, 0.35, 0.25],
    rate=0.03,
    div=[0.0, 0.01, 0.02],
    corr=[[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]],
)

#: name -> (product, model, n_steps, antithetic)
CASES = {
    "heston_qe_european": (rg.European(strike=100.0, maturity=1.0), rg.Heston(**HESTON), 16, False),
    "heston_euler_barrier": (
        rg.Barrier(strike=100.0, maturity=1.0, barrier=85.0, direction="down", rebate=2.0),
        rg.Heston(**HESTON, scheme="euler"),
        16,
        True,
    ),
    "heston_qe_asian": (rg.Asian(strike=95.0, maturity=1.0, n_fixings=4, kind="put"), rg.Heston(**HESTON), 8, False),
    "merton_european": (rg.European(strike=95.0, maturity=1.0, kind="put"), MERTON, 8, False),
    "merton_lookback": (rg.Lookback(maturity=1.0, kind="put"), MERTON, 8, True),
    "barrier_discrete_up_in": (
        rg.Barrier(
            strike=100.0,
            maturity=1.0,
            barrier=115.0,
            knock="in",
            rebate=3.0,
            monitoring="discrete",
            n_fixings=4,
        ),
        GBM,
        8,
        False,
    ),
    "barrier_knocked_in": (
        rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, knock="in", knocked=True),
        GBM,
        4,
        False,
    ),
    "barrier_continuous_up_out": (
        rg.Barrier(strike=90.0, maturity=1.0, barrier=130.0, rebate=1.5, kind="call"),
        GBM,
        8,
        False,
    ),
    "lookback_fixed_discrete_seasoned": (
        rg.Lookback(maturity=0.5, strike=105.0, monitoring="discrete", n_fixings=6, running_max=108.0),
        GBM,
        6,
        False,
    ),
    "lookback_continuous_fixed_put": (
        rg.Lookback(maturity=0.5, strike=95.0, kind="put", running_min=97.0),
        GBM,
        5,
        False,
    ),
    "asian_seasoned_arithmetic": (
        rg.Asian(strike=100.0, maturity=0.5, n_fixings=3, past_average=104.0, past_fixings=3),
        GBM,
        6,
        False,
    ),
    "asian_seasoned_geometric": (
        rg.Asian(strike=100.0, maturity=0.5, n_fixings=3, average="geometric", past_average=96.0, past_fixings=2),
        GBM,
        3,
        True,
    ),
    "asian_down_out": (rg.Asian(strike=95.0, maturity=1.0, n_fixings=12, barrier=85.0), GBM, 12, False),
    "basket3": (rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4]), BASKET_MODEL, 2, False),
    "basket_spread_put": (
        rg.Basket(strike=5.0, maturity=0.5, weights=[1.0, -1.0, 0.0], kind="put"),
        BASKET_MODEL,
        1,
        True,
    ),
}
RTOL = {"float64": 1e-9, "float32": 5e-5}
FLIPS = {"float64": 1, "float32": 3}
CAP = 2.0


def _job(name, dtype, n_paths):
    product, model, n_steps, antithetic = CASES[name]
    return make_job(
        product, model, n_paths=n_paths, n_steps=n_steps, seed=2026, dtype=dtype, antithetic=antithetic, stream=9
    )


def _close(job, got, ref):
    va, _ = combine(job, *got)
    vb, _ = combine(job, *ref)
    spot = float(np.max(job.model.spots))
    allowance = RTOL[job.dtype.name] * abs(vb) + FLIPS[job.dtype.name] * CAP * spot * job.disc / job.n_samples
    assert abs(va - vb) <= allowance, (va, vb, allowance)
    return va, vb


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_cpu_matches_reference(name, dtype):
    job = _job(name, dtype, 4096)
    _, vb = _close(job, cpu.tile_sums(job, 0, job.n_tiles), reference.tile_sums(job, 0, job.n_tiles))
    assert vb != 0.0 or name == "barrier_knocked_in"  # the cases are not degenerate


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_gpu_simulator_matches_reference_at_two_launch_shapes(name, dtype):
    job = _job(name, dtype, 100)  # 4 tiles, the last one partial (antithetic: 2 tiles)
    ref = reference.tile_sums(job, 0, job.n_tiles)
    one = gpu.tile_sums(job, 0, job.n_tiles, launch=(1, 32))
    two = gpu.tile_sums(job, 0, job.n_tiles, launch=(3, 64))
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    _close(job, one, ref)


def test_split_tiles_give_identical_bytes():
    job = _job("heston_qe_european", "float32", 32 * 7)
    whole = cpu.tile_sums(job, 0, job.n_tiles)
    parts = [cpu.tile_sums(job, t, 1) for t in range(job.n_tiles)]
    np.testing.assert_array_equal(whole[0], np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(whole[1], np.concatenate([p[1] for p in parts]))
