"""``rng="cupy"``: the kernels fed from an array of normals (``riskgpu.kernels.bulk``), under the CUDA
simulator (numpy's generator stands in for CuPy's there) and, marked ``gpu``, on a device.

Oracles: fed the Philox normals in the array layout, the array kernel gives the Philox kernel's tile sums
(every single-asset case, several chunks, two launch shapes); fed a generator's own normals, prices agree
with closed forms within k standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import k_sigma, real_gpu

import riskgpu as rg
from riskgpu.analytic import bs_price
from riskgpu.api import combine, make_job
from riskgpu.backends import gpu
from riskgpu.rng import normals_np
from riskgpu.testing import CASES, allowance

#: One case per way a step reads its normals: 1 slot, 2 (Heston), 3 (Merton, antithetic), the product's own
#: slot (continuous lookback), a barrier with a discontinuity; the simulator is slow, so not every case.
SINGLE = ["gbm_digital", "asian_down_out", "heston_qe_asian", "merton_lookback", "lookback_continuous_fixed_put"]
GBM = rg.GBM(spot=100.0, vol=0.25, rate=0.03, div=0.01)
CALL = rg.European(strike=105.0, maturity=1.0)


class PhiloxColumns:
    """A stand-in generator whose ``standard_normal((n_dims, n))`` returns the Philox normals of the next
    ``n`` samples, dimension-major: the array kernel must then price exactly what the Philox kernel does."""

    def __init__(self, job: object) -> None:
        self.job = job
        self.next = 0
        self.shapes: list[tuple[int, int]] = []

    def standard_normal(self, shape: tuple[int, int], *, dtype: np.dtype) -> np.ndarray:
        n_dims, n = shape
        self.shapes.append(shape)
        paths = np.arange(self.next, self.next + n, dtype=np.uint64)
        self.next += n
        z = normals_np(n_dims, paths, key=self.job.key, stream=self.job.stream, dtype=dtype)
        return np.ascontiguousarray(z.T)


def _job(name: str, dtype: str = "float64", n_paths: int = 84):
    product, model, n_steps, antithetic = CASES[name]
    return make_job(
        product, model, n_paths=n_paths, n_steps=n_steps, seed=11, dtype=dtype, antithetic=antithetic, stream=2
    )


@pytest.mark.parametrize("name", SINGLE)
def test_array_kernel_on_philox_normals_matches_the_philox_kernel(name):
    job = _job(name)  # 84 paths: 2 tiles (antithetic: 42 pairs), the last partial
    per_tile = 32 * job.n_steps * (job.model.slots + job.product.slots) * job.dtype.itemsize
    gen = PhiloxColumns(job)
    got = gpu.bulk_tile_sums(job, 0, job.n_tiles, generator=gen, chunk_bytes=per_tile, launch=(1, 32))
    assert len(gen.shapes) == job.n_tiles  # one tile a chunk: the chunks' columns join up
    assert gen.next == job.n_samples
    ref = gpu.tile_sums(job, 0, job.n_tiles)
    a, _ = combine(job, *got)
    b, _ = combine(job, *ref)
    assert abs(a - b) <= allowance(job, b), (a, b)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_array_kernel_is_launch_shape_and_chunk_independent_on_the_same_normals(dtype):
    job = _job("heston_euler_barrier", dtype, n_paths=140)  # antithetic, 2 slots, 15 steps
    one = gpu.bulk_tile_sums(job, 0, job.n_tiles, generator=PhiloxColumns(job), launch=(1, 64))
    two = gpu.bulk_tile_sums(job, 0, job.n_tiles, generator=PhiloxColumns(job), launch=(2, 32), chunk_bytes=1)
    assert one[0].tobytes() == two[0].tobytes() and one[1].tobytes() == two[1].tobytes()
    ref = gpu.tile_sums(job, 0, job.n_tiles)
    np.testing.assert_allclose(one[0], ref[0], rtol=1e-4 if dtype == "float32" else 1e-9, atol=1e-6)


def test_offset_tiles_take_the_next_columns():
    job = _job("gbm_asian_arithmetic", n_paths=200)  # 7 tiles
    gen = PhiloxColumns(job)
    head = gpu.bulk_tile_sums(job, 0, 3, generator=gen)
    tail = gpu.bulk_tile_sums(job, 3, job.n_tiles - 3, generator=gen)
    whole = gpu.tile_sums(job, 0, job.n_tiles)
    np.testing.assert_allclose(np.concatenate([head[0], tail[0]]), whole[0], rtol=1e-9, atol=1e-9)
    assert gen.shapes[-1] == (4, 200 - 96)  # the last chunk covers the partial tile only


def _bs(product: object, model: object) -> float:
    return float(bs_price(kind=product.kind, spot=100.0, strike=product.strike, maturity=product.maturity,
                          vol=0.25, rate=0.03, div=0.01))  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_price_with_the_array_generator_against_black_scholes(dtype):
    r = rg.price(CALL, GBM, n_paths=1024, seed=5, backend="gpu", dtype=dtype, rng="cupy")
    exact = _bs(CALL, GBM)
    assert abs(r.value - exact) <= k_sigma(2) * r.stderr, (r.value, exact, r.stderr)
    again = rg.price(CALL, GBM, n_paths=1024, seed=5, backend="gpu", dtype=dtype, rng="cupy")
    assert again.value == r.value  # a seeded generator: reproducible
    other = rg.price(CALL, GBM, n_paths=1024, seed=5, stream=1, backend="gpu", dtype=dtype, rng="cupy")
    assert other.value != r.value  # the stream seeds the generator too


def test_price_with_the_array_generator_until_a_tolerance():
    r = rg.price(CALL, GBM, n_paths=640, seed=3, backend="gpu", rng="cupy", antithetic=True, tolerance=0.25)
    exact = _bs(CALL, GBM)
    assert r.stopped == "tolerance" and r.stderr <= 0.25
    assert abs(r.value - exact) <= k_sigma(1) * r.stderr


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rng": "cupyy"}, "rng must be one of 'philox', 'cupy', got 'cupyy'"),
        ({"rng": "cupy", "backend": "cpu"}, r"rng='cupy'\) needs the gpu backend .* resolved to 'cpu'"),
        ({"rng": "cupy", "backend": "reference"}, "needs the gpu backend"),
        ({"rng": "cupy", "backend": "gpu", "qmc": True}, r"does not take qmc=True"),
        ({"rng": "cupy", "backend": "gpu", "control_variate": True}, r"does not take control_variate=True"),
    ],
)
def test_rng_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rg.price(CALL, GBM, n_paths=64, seed=1, **kwargs)


@pytest.mark.parametrize("product", [rg.American(strike=100.0, maturity=1.0, n_exercise=4),
                                     rg.Basket(strike=100.0, maturity=1.0, weights=[0.5, 0.5])])  # fmt: skip
def test_rng_cupy_refuses_products_it_cannot_feed(product):
    model = rg.GBM(spot=[100.0, 100.0], vol=[0.2, 0.2], rate=0.01) if getattr(product, "multi_asset", False) else GBM
    with pytest.raises(ValueError, match="single-asset European-style products, not"):
        rg.price(product, model, n_paths=64, seed=1, backend="gpu", rng="cupy")


@pytest.mark.gpu
def test_cupy_generator_on_a_device_against_black_scholes():
    if not real_gpu():
        pytest.skip("needs a real CUDA device (set RISKGPU_REAL_GPU=1 on a GPU machine)")
    for dtype in ("float64", "float32"):
        r = rg.price(CALL, GBM, n_paths=1_000_000, seed=9, backend="gpu", dtype=dtype, rng="cupy")
        assert abs(r.value - _bs(CALL, GBM)) <= k_sigma(2) * r.stderr + (5e-5 * r.value if dtype == "float32" else 0)
