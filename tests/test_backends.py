"""cpu and gpu (CUDA simulator, two launch shapes) against the reference on the same random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu.api import combine, make_job
from riskgpu.backends import cpu, gpu, reference
from riskgpu.kernels import kernel_sample, tiles_cpu

MODEL = rg.GBM(spot=100.0, vol=0.3, rate=0.03, div=0.01)
PRODUCTS = {
    "european": rg.European(strike=105.0, maturity=1.0, kind="call"),
    "put": rg.European(strike=95.0, maturity=0.5, kind="put"),
    "digital": rg.Digital(strike=100.0, maturity=1.0, payout=3.0),
    "asian_arith": rg.Asian(strike=100.0, maturity=1.0, n_fixings=4),
    "asian_geo": rg.Asian(strike=100.0, maturity=1.0, n_fixings=4, average="geometric", kind="put"),
}
# float64: continuous payoffs agree to 1e-9 relative. Digitals: a path can flip only when S_T is within
# rounding (~1e-13 relative) of the strike; we allow at most 1 flipped path (float64) and 3 (float32).
FLIPS = {"float64": 1, "float32": 3}
RTOL = {"float64": 1e-9, "float32": 2e-5}


def _job(name, dtype, n_paths, antithetic=False, n_steps=None):
    return make_job(
        PRODUCTS[name], MODEL, n_paths=n_paths, n_steps=n_steps, seed=77, dtype=dtype, antithetic=antithetic, stream=4
    )


def _close(job, a, b, name):
    va, _ = combine(job, *a)
    vb, _ = combine(job, *b)
    if name == "digital":
        unit = job.product.payout * job.disc / job.n_samples
        assert abs(va - vb) <= FLIPS[job.dtype.name] * unit + 1e-12, (va, vb)
    else:
        assert va == pytest.approx(vb, rel=RTOL[job.dtype.name]), (va, vb)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(PRODUCTS))
@pytest.mark.parametrize("antithetic", [False, True])
def test_cpu_matches_reference(name, dtype, antithetic):
    job = _job(name, dtype, 20_000, antithetic)
    ref = reference.tile_sums(job, 0, job.n_tiles)
    got = cpu.tile_sums(job, 0, job.n_tiles)
    _close(job, got, ref, name)
    if dtype == "float64" and name != "digital":
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_gpu_simulator_matches_reference_at_two_launch_shapes(name, dtype):
    job = _job(name, dtype, 150, antithetic=(name == "put"))  # 2-3 tiles, last one partial
    ref = reference.tile_sums(job, 0, job.n_tiles)
    one = gpu.tile_sums(job, 0, job.n_tiles, launch=(1, 32))
    two = gpu.tile_sums(job, 0, job.n_tiles, launch=(3, 64))
    assert one[0].tobytes() == two[0].tobytes() and one[1].tobytes() == two[1].tobytes()
    _close(job, one, ref, name)
    # the simulator runs the per-path CPU kernel's compiled body (the one-step form): same bytes (the cpu
    # backend's vector-drawing kernel differs from it in the last bits of the normals: tests/test_vmath.py)
    sums = np.zeros(job.n_tiles, dtype=job.dtype)
    sqs = np.zeros(job.n_tiles, dtype=job.dtype)
    tiles_cpu(kernel_sample(job.model, job.product, job.dtype, blocks=False))(
        np.int64(0), np.int64(job.n_samples), sums, sqs, *job.kernel_args()
    )
    assert one[0].tobytes() == sums.tobytes()


#: Pairs whose block form (the GPU's: 4 // slots steps per Philox block, unrolled, then a tail) differs in
#: shape: 1 slot with a 3-step tail, 1 step (the tail alone), a fixing countdown across blocks, 2 slots with
#: a 1-step tail and antithetics, the product's own slot, 4 slots (Merton + the bridge extreme), float32.
BLOCK_CASES = [("barrier_continuous_up_out", 7, "float64"), ("gbm_european_call", 1, "float64"),
               ("gbm_asian_arithmetic", 12, "float64"), ("heston_euler_barrier", 15, "float64"),
               ("lookback_continuous_fixed_put", 5, "float64"), ("merton_lookback", 3, "float64"),
               ("lookback_fixed_discrete_seasoned", 6, "float32")]  # fmt: skip


@pytest.mark.parametrize(("name", "n_steps", "dtype"), BLOCK_CASES)
def test_block_form_gives_the_one_step_forms_bytes(name, n_steps, dtype):
    # The GPU compiles the block form (the simulator runs the one-step form): compiled here for the CPU, the
    # two forms give the same bytes sample by sample.
    from riskgpu.testing import CASES

    product, model, _, antithetic = CASES[name]
    job = make_job(product, model, n_paths=24, n_steps=n_steps, seed=3, dtype=dtype, antithetic=antithetic, stream=1)
    block = kernel_sample(model, product, job.dtype, blocks=True)
    step = kernel_sample(model, product, job.dtype, blocks=False)
    args = job.kernel_args()[:-1]  # the sample's arguments: no shift
    for idx in range(job.n_samples):
        a, b = block(np.int64(idx), *args), step(np.int64(idx), *args)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (idx, a, b)


def test_gpu_launch_shape_must_be_whole_tiles():
    job = _job("european", "float64", 64)
    with pytest.raises(ValueError, match="block must be a multiple of 32"):
        gpu.tile_sums(job, 0, job.n_tiles, launch=(1, 48))


def test_price_on_gpu_backend_under_the_simulator():
    res = rg.price(PRODUCTS["asian_arith"], MODEL, n_paths=96, seed=1, backend="gpu")
    ref = rg.price(PRODUCTS["asian_arith"], MODEL, n_paths=96, seed=1, backend="reference")
    assert res.backend == "gpu"
    assert res.value == pytest.approx(ref.value, rel=1e-9)
    assert res.stderr == pytest.approx(ref.stderr, rel=1e-7)


BASKET = rg.GBM(
    spot=[100.0, 50.0, 20.0],
    vol=[0.2, 0.35, 0.5],
    rate=0.02,
    div=[0.0, 0.01, 0.03],
    corr=[[1.0, 0.6, -0.2], [0.6, 1.0, 0.1], [-0.2, 0.1, 1.0]],
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model", [MODEL, BASKET], ids=["one_asset", "three_assets"])
def test_simulate_same_paths_on_every_backend(model, dtype):
    kw = {"maturity": 1.0, "n_steps": 5, "n_paths": 40, "seed": 8, "dtype": dtype}
    ref = rg.simulate(model, backend="reference", **kw)
    assert ref.shape == (40, 6, model.n_assets) and ref.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ref[:, 0, :], np.broadcast_to(model.spots.astype(dtype), (40, model.n_assets)))
    rtol = RTOL[dtype] if dtype == "float64" else 5e-6
    np.testing.assert_allclose(rg.simulate(model, backend="cpu", **kw), ref, rtol=rtol)
    from riskgpu.backends import gpu as g

    np.testing.assert_allclose(
        g.simulate(model, dt=0.2, n_steps=5, n_paths=40, key=(8, 0), stream=0, dtype=np.dtype(dtype), launch=(2, 32)),
        ref,
        rtol=rtol,
    )


def test_simulated_returns_have_the_model_moments():
    n = 200_000
    paths = rg.simulate(BASKET, maturity=0.5, n_steps=2, n_paths=n, seed=3, backend="cpu")
    r = np.log(paths[:, 2, :] / paths[:, 1, :])  # one step of 0.25y
    vols, dt = BASKET.vols, 0.25
    k = k_sigma(12)
    mean = (BASKET.rate - BASKET.divs - 0.5 * vols**2) * dt
    np.testing.assert_array_less(np.abs(r.mean(0) - mean), k * vols * np.sqrt(dt / n))
    np.testing.assert_array_less(np.abs(r.std(0) / (vols * np.sqrt(dt)) - 1), k * np.sqrt(0.5 / n))
    c = np.corrcoef(r.T)
    target = np.asarray(BASKET.corr)
    np.testing.assert_array_less(np.abs(c - target), k * (1 - target**2) / np.sqrt(n) + 1e-12)
    disc_spot = paths[:, 2, :].mean(0) * np.exp(-(BASKET.rate - BASKET.divs) * 0.5)
    se = paths[:, 2, :].std(0) / np.sqrt(n) * np.exp(-(BASKET.rate - BASKET.divs) * 0.5)
    np.testing.assert_array_less(np.abs(disc_spot - BASKET.spots), k * se)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_real_gpu_matches_reference(name, dtype):
    job = _job(name, dtype, 20_000, antithetic=True)
    ref = reference.tile_sums(job, 0, job.n_tiles)
    one = gpu.tile_sums(job, 0, job.n_tiles)
    two = gpu.tile_sums(job, 0, job.n_tiles, launch=(7, 256))
    assert one[0].tobytes() == two[0].tobytes()
    _close(job, one, ref, name)


def test_simulated_paths_export_through_dlpack():
    paths = rg.simulate(MODEL, maturity=1.0, n_steps=3, n_paths=8, seed=1, backend="cpu")
    view = np.from_dlpack(paths)
    assert view.shape == (8, 4, 1) and np.shares_memory(view, paths)
