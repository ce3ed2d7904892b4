"""Every (model, product) pair of ``riskgpu.testing.CASES`` (Heston, Merton, barriers, lookbacks, seasoned
Asians, baskets and the GBM vanillas): cpu and gpu (CUDA simulator, two launch shapes) against the
reference backend on the same random numbers, under the tolerance rule documented in
``riskgpu.testing`` (a relative tolerance plus a few paths that may flip at a discontinuity). The
benchmarks' GPU suite checks the same cases under the same rule on a real device.
"""

from __future__ import annotations

import numpy as np
import pytest

import riskgpu as rg
from riskgpu.api import combine, make_job
from riskgpu.backends import cpu, gpu, reference
from riskgpu.testing import CASES, allowance


def _job(name, dtype, n_paths):
    product, model, n_steps, antithetic = CASES[name]
    return make_job(
        product, model, n_paths=n_paths, n_steps=n_steps, seed=2026, dtype=dtype, antithetic=antithetic, stream=9
    )


def _close(job, got, ref):
    va, _ = combine(job, *got)
    vb, _ = combine(job, *ref)
    tol = allowance(job, vb)
    assert abs(va - vb) <= tol, (va, vb, tol)
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


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_real_gpu_matches_reference(name, dtype):
    """On a device (``RISKGPU_REAL_GPU=1``): float32 numerics for real, at the default launch shape."""
    job = _job(name, dtype, 16_384)
    _close(job, gpu.tile_sums(job, 0, job.n_tiles), reference.tile_sums(job, 0, job.n_tiles))


@pytest.mark.parametrize(
    "product",
    [
        rg.Barrier(strike=100.0, maturity=1.0, barrier=100.1, rebate=3.0, monitoring="discrete", n_fixings=4),
        rg.Barrier(strike=100.0, maturity=1.0, barrier=100.1, knock="in", monitoring="discrete", n_fixings=4),
        rg.Lookback(maturity=1.0, running_min=100.1, running_max=100.1, strike=100.0),
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=4, barrier=100.1, direction="up"),
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=4, average="geometric", past_average=100.1, past_fixings=2),
    ],
)
def test_float32_reference_takes_levels_from_the_float64_spot(product):
    """A barrier or seasoned level equal to a spot float32 cannot hold (100.1) must mean the same thing on
    every backend: the reference backend measures it from the model's float64 spot, as the kernels do."""
    model = rg.GBM(spot=100.1, vol=0.3, rate=0.03)
    run = {"n_paths": 4096, "seed": 5, "dtype": "float32"}
    ref = rg.price(product, model, backend="reference", **run)
    got = rg.price(product, model, backend="cpu", **run)
    assert got.value == pytest.approx(ref.value, rel=5e-5, abs=1e-4)
