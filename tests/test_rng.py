"""Philox4x32-10: known answers on every backend, uniforms, normals, streams."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda, njit

from riskgpu.rng import normals4_f32, normals4_f64, normals_np, philox4x32, philox4x32_np, seed_key
from riskgpu.rng.philox import uniforms_np

# Random123 known-answer vectors for philox4x32_10: (counter, key, expected)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@njit
def _philox_cpu(c, k):
    return philox4x32(c[0], c[1], c[2], c[3], k[0], k[1])


@cuda.jit
def _philox_kernel(c, k, out):
    i = cuda.grid(1)
    if i == 0:
        out[0], out[1], out[2], out[3] = philox4x32(c[0], c[1], c[2], c[3], k[0], k[1])


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_known_answers_numpy(counter, key, expected):
    got = philox4x32_np(*counter, *key)
    assert tuple(int(x) for x in got) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_known_answers_numba_cpu(counter, key, expected):
    got = _philox_cpu(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert tuple(int(x) for x in got) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_known_answers_cuda_simulator(counter, key, expected):
    out = np.zeros(4, np.uint32)
    _philox_kernel[1, 32](np.array(counter, np.uint32), np.array(key, np.uint32), out)
    assert tuple(int(x) for x in out) == expected


@pytest.mark.gpu
@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_known_answers_real_gpu(counter, key, expected):
    import cupy

    out = cupy.zeros(4, cupy.uint32)
    _philox_kernel[1, 32](cupy.asarray(counter, cupy.uint32), cupy.asarray(key, cupy.uint32), out)
    assert tuple(int(x) for x in out.get()) == expected


def test_seed_key_splits_64_bits():
    assert seed_key(0) == (0, 0)
    assert seed_key(2**64 - 1) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert seed_key((7 << 32) | 5) == (5, 7)
    for bad in (-1, 2**64, 1.5, "1", True, None):
        with pytest.raises(ValueError, match="seed"):
            seed_key(bad)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_uniforms_never_zero_and_below_one_except_float32_top(dtype):
    x = np.array([0, 1, 255, 256, 2**31, 2**32 - 257, 2**32 - 1], dtype=np.uint32)
    u = uniforms_np(x, np.dtype(dtype))
    assert u.dtype == np.dtype(dtype)
    assert np.all(u > 0)
    if dtype == "float64":
        assert np.all(u < 1) and u[0] == 2.0**-33
    else:
        # ((x >> 8) + 0.5) * 2**-24 rounds to 1.0 in float32 for the top value: Box-Muller gives r = 0 there
        assert u[0] == np.float32(2.0**-25) and np.all(u[:-2] < 1)


def test_uniforms_are_the_contract_formula_bit_for_bit():
    # the kernels compute (x + 0.5) * scale as x * scale + scale / 2 (one fused multiply-add on a GPU): the
    # same number, since the scale is a power of two; every float32 input (2**24 of them) and float64 samples
    m = np.arange(2**24, dtype=np.uint32)
    contract32 = (m.astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24)
    got32 = uniforms_np(m << np.uint32(8), np.dtype("float32"))
    assert np.array_equal(got32.view(np.uint32), contract32.view(np.uint32))
    x = np.concatenate([np.arange(0, 2**32, 4099, dtype=np.uint64), [2**32 - 1]]).astype(np.uint32)
    contract64 = (x.astype(np.float64) + 0.5) * 2.0**-32
    assert np.array_equal(uniforms_np(x, np.dtype("float64")), contract64)


def _make_normals_cpu(normals4):
    @njit
    def fill(out, k0, k1, stream):
        for p in range(out.shape[0]):
            for j in range(out.shape[1] // 4):
                z = normals4(np.uint32(j), np.uint32(p), np.uint32(0), stream, k0, k1)
                for lane in range(4):
                    out[p, 4 * j + lane] = z[lane]

    return fill


_FILL = {"float64": _make_normals_cpu(normals4_f64), "float32": _make_normals_cpu(normals4_f32)}


@pytest.mark.parametrize(("dtype", "atol"), [("float64", 1e-13), ("float32", 2e-5)])
def test_numpy_twin_matches_numba_normals(dtype, atol):
    key = seed_key(123456789012345)
    a = normals_np(40, np.arange(300), key=key, stream=3, dtype=dtype)
    b = np.empty((300, 40), dtype=dtype)
    _FILL[dtype](b, np.uint32(key[0]), np.uint32(key[1]), np.uint32(3))
    assert a.dtype == b.dtype == np.dtype(dtype)
    np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def test_normals_are_standard_normal_and_streams_independent():
    from scipy import stats

    key = seed_key(2024)
    z = normals_np(64, np.arange(20_000), key=key, stream=0).ravel()
    w = normals_np(64, np.arange(20_000), key=key, stream=1).ravel()
    n = z.size
    assert abs(z.mean()) < 4.5 / np.sqrt(n)
    assert abs(z.var() - 1) < 4.5 * np.sqrt(2 / n)
    assert abs(np.corrcoef(z, w)[0, 1]) < 4.5 / np.sqrt(n)
    assert stats.kstest(z[:200_000], "norm").pvalue > 1e-4
    # dimension 4j..4j+3 of one path are not the same numbers as the next path's
    assert abs(np.corrcoef(z.reshape(20_000, 64)[:-1, 0], z.reshape(20_000, 64)[1:, 0])[0, 1]) < 4.5 / np.sqrt(20_000)
