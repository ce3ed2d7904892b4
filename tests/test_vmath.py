"""The vectorisable math of the CPU kernels (riskgpu.kernels.vmath) against numpy, and the vector-drawing
CPU kernel (riskgpu.kernels.simd) against the per-path fused kernel on the same counters."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import riskgpu as rg
from riskgpu.api import make_job
from riskgpu.backends import cpu
from riskgpu.kernels import kernel_sample, tiles_cpu
from riskgpu.kernels.simd import BUF_BLOCKS, MIN_BLOCKS, simd_supported, tiles_simd
from riskgpu.kernels.vmath import (
    EXP32_MAX,
    EXP32_MIN,
    EXP_MAX,
    EXP_MIN,
    vcos_2pi,
    vcos_2pi32,
    vcos_sin_2pi,
    vcos_sin_2pi32,
    vector_hint,
    vector_width,
    vexp,
    vexp32,
    vlog,
    vlog32,
)

EPS = np.finfo(np.float64).eps


def _elementwise(f):
    """``f`` applied to each element of an array in a compiled loop (the way the kernels call it)."""

    @njit(error_model="numpy")
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = f(x[i])
        return out

    return apply


def _pairwise(f):
    """``f``'s two results for each element, as two arrays."""

    @njit(error_model="numpy")
    def apply(u):
        c = np.empty_like(u)
        s = np.empty_like(u)
        for i in range(u.size):
            c[i], s[i] = f(u[i])
        return c, s

    return apply


_exp, _log, _cos_sin = _elementwise(vexp), _elementwise(vlog), _pairwise(vcos_sin_2pi)
_exp32, _log32, _cos_sin32 = _elementwise(vexp32), _elementwise(vlog32), _pairwise(vcos_sin_2pi32)
_cos, _cos32 = _elementwise(vcos_2pi), _elementwise(vcos_2pi32)


def _ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_exp_within_2_ulp_of_numpy_and_its_limits():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-700, 700, 200_000), rng.uniform(-1, 1, 200_000), [0.0, 1e-300, -1e-300, 709.7]])
    assert _ulps(_exp(x), np.exp(x)).max() <= 2
    assert _exp(np.array([0.0]))[0] == 1.0
    sub = np.array([-740.0, -720.0, -709.0])  # subnormal and smallest normal results
    np.testing.assert_allclose(_exp(sub), np.exp(sub), rtol=1e-12, atol=np.exp(-740.0) * 1e-3)
    edge = _exp(np.array([EXP_MAX + 1e-3, 1e4, np.inf, EXP_MIN - 1e-3, -1e4, -np.inf, np.nan]))
    assert np.all(edge[:3] == np.inf) and np.all(edge[3:6] == 0.0) and np.isnan(edge[6])


def test_log_within_3_ulp_of_numpy_over_the_uniforms_and_beyond():
    rng = np.random.default_rng(2)
    k = np.arange(1, 100_000, dtype=np.float64)
    u = np.concatenate([rng.uniform(0, 1, 200_000), (k + 0.5) * 2.0**-32, 1 - (k + 0.5) * 2.0**-32, [1.0, 2.0, 1e300]])
    got, want = _log(u), np.log(u)
    nz = want != 0
    assert _ulps(got[nz], want[nz]).max() <= 3
    assert got[-3] == 0.0  # log(1) is exactly 0: the float32 uniform that rounds to 1 gives r = 0


def test_cos_sin_2pi_within_4e_15_of_numpy_and_exact_at_quarter_turns():
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.uniform(0, 1, 200_000), (np.arange(2**16) * 65536 + 0.5) * 2.0**-32, [-3.3, 12.7]])
    c, s = _cos_sin(u)
    # numpy rounds 2 pi u first (up to 2 pi * 2**-53 |u| off), this reduces u exactly
    np.testing.assert_allclose(c, np.cos(2 * np.pi * u), rtol=0, atol=4e-15)
    np.testing.assert_allclose(s, np.sin(2 * np.pi * u), rtol=0, atol=4e-15)
    c, s = _cos_sin(np.array([0.0, 0.25, 0.5, 0.75]))
    assert c.tolist() == [1.0, 0.0, -1.0, 0.0] and s.tolist() == [0.0, 1.0, 0.0, -1.0]


def test_cos_2pi_alone_within_1e_15_of_numpy_over_the_uniforms_and_exact_at_quarter_turns():
    # the contract's float64 uniforms (x + 0.5) 2**-32, random and a sweep, and both ends
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.integers(0, 2**32, 300_000), np.arange(0, 2**32, 2**14 + 1), [0, 2**32 - 1]])
    u = (x.astype(np.float64) + 0.5) * 2.0**-32
    np.testing.assert_allclose(_cos(u), np.cos(2 * np.pi * u), rtol=0, atol=1e-15)
    np.testing.assert_allclose(_cos(u), _cos_sin(u)[0], rtol=0, atol=1e-15)
    assert _cos(np.array([0.0, 0.25, 0.5, 0.75, 1.0])).tolist() == [1.0, 0.0, -1.0, 0.0, 1.0]
    u32 = ((np.arange(0, 2**24, 61, dtype=np.float64) + 0.5) * 2.0**-24).astype(np.float32)
    got = _cos32(u32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.cos(2 * np.pi * u32.astype(np.float64)), rtol=0, atol=1.5e-7)
    assert _cos32(np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32)).tolist() == [1.0, 0.0, -1.0, 0.0, 1.0]


def _ulps32(got, want64):
    # distance from the exact (float64) value in float32 ulps of the correctly rounded result
    return np.abs(got.astype(np.float64) - want64) / np.spacing(np.abs(want64.astype(np.float32))).astype(np.float64)


def test_float32_exp_within_1_ulp_and_its_limits():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-87, 88.7, 200_000), rng.uniform(-1, 1, 200_000)]).astype(np.float32)
    got = _exp32(x)
    assert got.dtype == np.float32
    assert _ulps32(got, np.exp(x.astype(np.float64))).max() <= 1
    sub = np.array([-90.0, -100.0], dtype=np.float32)  # subnormal results
    np.testing.assert_allclose(_exp32(sub), np.exp(sub.astype(np.float64)), rtol=1e-3, atol=2.0**-149)
    edge = _exp32(np.array([EXP32_MAX + 0.01, np.inf, EXP32_MIN - 0.01, -np.inf, np.nan, 0.0], dtype=np.float32))
    assert edge[:2].tolist() == [np.inf] * 2 and edge[2:4].tolist() == [0.0, 0.0] and np.isnan(edge[4])
    assert edge[5] == 1.0


def test_float32_log_and_cos_sin_over_the_float32_uniforms():
    k = np.arange(0, 2**24, 61, dtype=np.float64)
    u = ((k + 0.5) * 2.0**-24).astype(np.float32)  # the contract's float32 uniforms
    u64 = u.astype(np.float64)
    got = _log32(u)
    assert got.dtype == np.float32
    # 2 ulps of the result, or 1e-7 absolute near u = 1 where log u is tiny
    assert np.all(np.abs(got - np.log(u64)) <= np.maximum(2 * np.spacing(np.abs(np.log(u64)).astype(np.float32)), 1e-7))
    assert _log32(np.array([1.0], dtype=np.float32))[0] == 0.0
    c, s = _cos_sin32(u)
    np.testing.assert_allclose(c, np.cos(2 * np.pi * u64), rtol=0, atol=1.5e-7)
    np.testing.assert_allclose(s, np.sin(2 * np.pi * u64), rtol=0, atol=1.5e-7)
    c, s = _cos_sin32(np.array([0.0, 0.25, 0.5, 0.75], dtype=np.float32))
    assert c.tolist() == [1.0, 0.0, -1.0, 0.0] and s.tolist() == [0.0, 1.0, 0.0, -1.0]


GBM = rg.GBM(spot=100.0, vol=0.25, rate=0.03, div=0.01)
HESTON = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03, scheme="euler")
#: name -> (product, model, n_steps, antithetic): past one buffer of blocks (the path draws the rest itself),
#: with antithetics (the second sign draws its first blocks again), a two-slot model with a tail step, one step
#: (the loop over paths, pairs of paths in lockstep). The cpu backend takes this kernel from MIN_BLOCKS blocks up.
LONG = {
    "asian_long_antithetic": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=1027), GBM, 4 * BUF_BLOCKS + 3, True),
    "heston_long_tail": (rg.European(strike=95.0, maturity=1.0), HESTON, 2 * BUF_BLOCKS + 1, False),
    "european_one_step": (rg.European(strike=100.0, maturity=1.0), GBM, 1, False),
}


@pytest.mark.parametrize(
    ("name", "dtype"),
    [("asian_long_antithetic", "float64"), ("heston_long_tail", "float32"), ("european_one_step", "float64")],
)
def test_simd_kernel_matches_the_per_path_kernel(name, dtype):
    # the same counters and steps; only the normal transform differs (vmath against the C library): float64
    # tile sums agree to 1e-12 relative, float32 ones to the tests' float32 rule (riskgpu.testing.RTOL)
    product, model, n_steps, antithetic = LONG[name]
    assert simd_supported(model, product)
    job = make_job(product, model, n_paths=200, n_steps=n_steps, seed=11, dtype=dtype, antithetic=antithetic, stream=1)
    n_tiles = -(-job.n_samples // 32)
    got = np.zeros(n_tiles, dtype=dtype)
    got_sq = np.zeros(n_tiles, dtype=dtype)
    tiles_simd(model, product, job.dtype)(np.int64(0), np.int64(job.n_samples), got, got_sq, *job.kernel_args())
    want = np.zeros(n_tiles, dtype=dtype)
    want_sq = np.zeros(n_tiles, dtype=dtype)
    tiles_cpu(kernel_sample(model, product, job.dtype, blocks=False))(
        np.int64(0), np.int64(job.n_samples), want, want_sq, *job.kernel_args()
    )
    rtol = 1e-12 if dtype == "float64" else 5e-5
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(got_sq, want_sq, rtol=rtol, atol=rtol * np.abs(want_sq).max())


def test_cpu_backend_uses_the_simd_kernel_on_paths_of_8_philox_blocks_or_more():
    gbm, heston = LONG["asian_long_antithetic"][1], LONG["heston_long_tail"][1]
    euro = LONG["european_one_step"][0]
    assert MIN_BLOCKS == 8
    assert simd_supported(gbm, euro, 29) and not simd_supported(gbm, euro, 28)  # 8 blocks of 4 normals, 7
    assert simd_supported(heston, euro, 15) and not simd_supported(heston, euro, 14)  # 2 normals a step
    # (the GBM's and Heston Euler's European, digital and Asian run on the paths-inner kernel instead:
    # tests/test_lanes.py; Heston's QE scheme and the GBM's barrier stay here)
    f64 = np.dtype("float64")
    qe = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rate=0.03, scheme="qe")
    assert cpu.tile_kernel(qe, euro, f64, 100) is tiles_simd(qe, euro, f64)
    assert cpu.tile_kernel(qe, euro, f64, 14) is tiles_cpu(kernel_sample(qe, euro, f64, blocks=False))
    barrier = rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, direction="up")
    assert cpu.tile_kernel(gbm, barrier, f64, 252) is tiles_simd(gbm, barrier, f64)


def test_simd_kernel_batches_are_whole_tiles():
    # any split of the tiles gives the same bytes (the deterministic-sum contract)
    product, model, n_steps, _ = LONG["asian_long_antithetic"]
    job = make_job(product, model, n_paths=640, n_steps=n_steps, seed=5, dtype="float64", antithetic=True, stream=0)
    whole, _ = cpu.tile_sums(job, 0, 10)
    parts = np.concatenate([cpu.tile_sums(job, 0, 3)[0], cpu.tile_sums(job, 3, 7)[0]])
    assert whole.tobytes() == parts.tobytes()


def _hint_probe(hint):
    @njit
    def f(a):
        hint()
        return a + 1.0

    f(1.0)
    return next(iter(f.inspect_llvm().values()))


def test_vector_hint_marks_the_function_for_512_bit_vectors_or_nothing(monkeypatch):
    # the attribute LLVM's x86 back end reads per function (clang's -mprefer-vector-width=512)
    assert '"prefer-vector-width"="512"' in _hint_probe(vector_hint("512"))
    assert "prefer-vector-width" not in _hint_probe(vector_hint("auto"))
    with pytest.raises(ValueError, match="vector width '256'"):
        vector_hint("256")
    monkeypatch.delenv("RISKGPU_VECTOR_WIDTH", raising=False)
    assert vector_width() == "512"
    monkeypatch.setenv("RISKGPU_VECTOR_WIDTH", " Auto ")
    assert vector_width() == "auto"
    monkeypatch.setenv("RISKGPU_VECTOR_WIDTH", "256")
    with pytest.raises(ValueError, match=r"RISKGPU_VECTOR_WIDTH='256': expected one of 512, auto"):
        vector_width()
