"""The paths-inner CPU kernel (riskgpu.kernels.lanes) against the per-path fused kernel on the same counters,
the reference backend and closed forms; which pairs the cpu backend runs on it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import riskgpu as rg
from riskgpu.api import make_job
from riskgpu.backends import cpu
from riskgpu.kernels import kernel_sample, tiles_cpu
from riskgpu.kernels.lanes import _CACHE, CHUNK, GROUP, MIN_TASKS, lanes_product, tiles_lanes

GBM = rg.GBM(spot=100.0, vol=0.25, rate=0.03, div=0.01)
HESTON = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03, scheme="euler")
#: name -> (product, n_steps, antithetic): every branch of the kernel: one step (the first Box-Muller pair
#: only), a partial block, chunks past the first (CHUNK blocks of 4 steps), antithetics, geometric and
#: arithmetic averages, a barrier, a seasoned and an already-knocked Asian, the digital
CASES = {
    "european_1_step": (rg.European(strike=100.0, maturity=1.0), 1, False),
    "european_put_7_antithetic": (rg.European(strike=100.0, maturity=1.0, kind="put"), 7, True),
    "digital_put_3": (rg.Digital(strike=95.0, maturity=1.0, payout=10.0, kind="put"), 3, False),
    "asian_12_antithetic": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=12), 120, True),
    "asian_geometric_past_chunk": (
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=4 * CHUNK + 5, average="geometric"),
        4 * CHUNK + 5,
        False,
    ),
    "asian_down_out_antithetic": (
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=50, barrier=90.0, direction="down"),
        100,
        True,
    ),
    "asian_up_out_seasoned": (
        rg.Asian(
            strike=100.0, maturity=1.0, n_fixings=9, barrier=120.0, direction="up", past_fixings=3, past_average=97.0
        ),
        9,
        False,
    ),
    "asian_knocked": (rg.Asian(strike=90.0, maturity=1.0, n_fixings=5, barrier=80.0, knocked=True), 5, False),
}
#: Heston (Euler, 2 normals a step): one step (the first pair only), chunks past the first, a down-and-out
HESTON_CASES = {
    "heston_european_1_step": (rg.European(strike=100.0, maturity=1.0), 1, False),
    "heston_european_put_long_antithetic": (rg.European(strike=95.0, maturity=1.0, kind="put"), 2 * CHUNK + 3, True),
    "heston_asian_down_out": (
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=20, barrier=85.0, direction="down"),
        40,
        False,
    ),
}


def _sums(kernel, job):
    n_tiles = -(-job.n_samples // 32)
    s = np.zeros(n_tiles, dtype=job.dtype)
    q = np.zeros(n_tiles, dtype=job.dtype)
    kernel(np.int64(0), np.int64(job.n_samples), s, q, *job.kernel_args())
    return s, q


ALL = {**{k: (GBM, *v) for k, v in CASES.items()}, **{k: (HESTON, *v) for k, v in HESTON_CASES.items()}}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ALL))
def test_lanes_kernel_matches_the_per_path_kernel(name, dtype):
    # same counters, steps and sums order; only the vectorised transform and exp differ from the C library's
    # (a few ulp): float64 tile sums agree to 1e-12 relative, float32 to the float32 rule (testing.RTOL)
    model, product, n_steps, antithetic = ALL[name]
    assert lanes_product(model, product) is not None
    # 300 paths: the last tile is partial (lanes past n_samples are drawn but not summed)
    job = make_job(product, model, n_paths=300, n_steps=n_steps, seed=11, dtype=dtype, antithetic=antithetic, stream=1)
    got, got_sq = _sums(tiles_lanes(model, product, job.dtype), job)
    want, want_sq = _sums(tiles_cpu(kernel_sample(model, product, job.dtype, blocks=False)), job)
    rtol = 1e-12 if dtype == "float64" else 5e-5
    scale = max(np.abs(want).max(), 1.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(got_sq, want_sq, rtol=rtol, atol=rtol * max(np.abs(want_sq).max(), 1.0))
    if name == "asian_knocked":
        assert not got.any() and not got_sq.any()


def test_lanes_kernel_batches_are_whole_tiles_with_tasks_of_16_tiles():
    # 16 * MIN_TASKS tiles and more: tasks of 2 GROUPs; parts cut inside groups and tasks
    product = CASES["european_1_step"][0]
    n_tiles = 16 * MIN_TASKS + 13
    job = make_job(
        product, GBM, n_paths=32 * n_tiles - 5, n_steps=1, seed=8, dtype="float64", antithetic=False, stream=0
    )
    whole = cpu.tile_sums(job, 0, n_tiles)
    cuts = (0, 5, 21, 3 * MIN_TASKS + 1, n_tiles - 9, n_tiles)
    parts = [cpu.tile_sums(job, a, b - a) for a, b in itertools.pairwise(cuts)]
    for k in (0, 1):
        assert whole[k].tobytes() == np.concatenate([p[k] for p in parts]).tobytes()


def test_lanes_kernel_batches_are_whole_tiles():
    # any split of the tiles gives the same bytes (the deterministic-sum contract), across task boundaries
    product, n_steps, _ = CASES["asian_down_out_antithetic"]
    n_tiles = 2 * MIN_TASKS + 7  # tasks of GROUP tiles, a partial group last; 3-tile and odd-sized parts below
    job = make_job(
        product, GBM, n_paths=64 * n_tiles, n_steps=n_steps, seed=5, dtype="float64", antithetic=True, stream=0
    )
    assert job.n_samples == 32 * n_tiles
    whole, whole_sq = cpu.tile_sums(job, 0, n_tiles)
    parts = [cpu.tile_sums(job, a, b - a) for a, b in ((0, 3), (3, MIN_TASKS + 1), (MIN_TASKS + 1, n_tiles))]
    assert whole.tobytes() == np.concatenate([p[0] for p in parts]).tobytes()
    assert whole_sq.tobytes() == np.concatenate([p[1] for p in parts]).tobytes()


def test_512_bit_vectors_change_no_bit_of_the_tile_sums(monkeypatch):
    # the vector width is code generation only (no reassociation, no fast-math): RISKGPU_VECTOR_WIDTH=auto
    # (LLVM's 256 bits on these Xeons) compiles another kernel with the same bytes out
    product, n_steps, antithetic = CASES["european_put_7_antithetic"]
    job = make_job(
        product,
        GBM,
        n_paths=64 * (GROUP + 3),
        n_steps=n_steps,
        seed=2,
        dtype="float64",
        antithetic=antithetic,
        stream=0,
    )
    wide = _sums(tiles_lanes(GBM, product, job.dtype), job)
    monkeypatch.setenv("RISKGPU_VECTOR_WIDTH", "auto")
    auto_kernel = tiles_lanes(GBM, product, job.dtype)
    assert any(key[-1] == "auto" for key in _CACHE)
    auto = _sums(auto_kernel, job)
    assert wide[0].tobytes() == auto[0].tobytes() and wide[1].tobytes() == auto[1].tobytes()


def test_the_vector_width_is_fixed_when_the_kernel_is_built_not_when_numba_compiles_it(monkeypatch):
    # built under the default (512), first called (so compiled) with RISKGPU_VECTOR_WIDTH=auto: the kernel
    # served under the 512 key must be the 512 code (found by review: the hint used to read the variable late)
    product = CASES["digital_put_3"][0]
    key = ("gbm", lanes_product(GBM, product), "float64", "512")
    monkeypatch.delitem(_CACHE, key, raising=False)
    monkeypatch.setenv("RISKGPU_KERNEL_CACHE", "0")  # compile here (inspect_llvm needs it), not load
    monkeypatch.delenv("RISKGPU_VECTOR_WIDTH", raising=False)
    kernel = tiles_lanes(GBM, product, np.dtype("float64"))
    monkeypatch.setenv("RISKGPU_VECTOR_WIDTH", "auto")
    job = make_job(product, GBM, n_paths=64, n_steps=3, seed=1, dtype="float64", antithetic=False, stream=0)
    _sums(kernel, job)
    assert _CACHE[key] is kernel
    assert '"prefer-vector-width"="512"' in kernel.inspect_llvm(kernel.signatures[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lanes_prices_within_4_stderr_of_closed_forms(dtype):
    euro = rg.European(strike=105.0, maturity=1.0)
    res = rg.price(euro, GBM, n_paths=200_000, seed=3, backend="cpu", dtype=dtype)
    exact = rg.bs_price(kind="call", spot=100.0, strike=105.0, maturity=1.0, vol=0.25, rate=0.03, div=0.01)
    assert abs(res.value - exact) <= 4 * res.stderr
    geo = rg.Asian(strike=100.0, maturity=1.0, n_fixings=24, average="geometric")
    res = rg.price(geo, GBM, n_paths=200_000, seed=4, backend="cpu", dtype=dtype, antithetic=True)
    exact = rg.geometric_asian_price(
        kind="call", spot=100.0, strike=100.0, maturity=1.0, vol=0.25, rate=0.03, div=0.01, n_fixings=24
    )
    assert abs(res.value - exact) <= 4 * res.stderr


def test_zero_vol_gives_the_forward_payoff_on_every_path():
    # the limit test: no randomness left, every lane's arithmetic Asian is the same deterministic number
    model = rg.GBM(spot=100.0, vol=0.0, rate=0.03, div=0.01)
    product = rg.Asian(strike=95.0, maturity=1.0, n_fixings=12)
    res = rg.price(product, model, n_paths=100, n_steps=12, seed=1, backend="cpu")
    fwd = [100.0 * math.exp(0.02 * k / 12) for k in range(1, 13)]
    exact = math.exp(-0.03) * (sum(fwd) / 12 - 95.0)
    assert res.value == pytest.approx(exact, rel=1e-13)
    assert res.stderr == pytest.approx(0.0, abs=1e-12)


def test_cpu_backend_takes_the_lanes_kernel_for_the_gbm_european_digital_and_asian_only():
    f64 = np.dtype("float64")
    for product, n_steps, _ in CASES.values():
        assert cpu.tile_kernel(GBM, product, f64, n_steps) is tiles_lanes(GBM, product, f64)
    for product, n_steps, _ in HESTON_CASES.values():
        assert cpu.tile_kernel(HESTON, product, f64, n_steps) is tiles_lanes(HESTON, product, f64)
    heston = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03, scheme="qe")
    euro = CASES["european_1_step"][0]
    assert lanes_product(heston, euro) is None  # QE calls the C library's erfc, log and exp
    merton = rg.Merton(spot=100.0, vol=0.2, rate=0.03, lam=0.5, jump_mean=-0.1, jump_std=0.15)
    assert lanes_product(merton, euro) is None
    assert lanes_product(GBM, rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, direction="up")) is None
    basket = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03, corr=[[1.0, 0.5], [0.5, 1.0]])
    assert lanes_product(basket, euro) is None
    with pytest.raises(ValueError, match="tiles_lanes takes the one-asset GBM or Heston"):
        tiles_lanes(heston, euro, f64)
