"""Philox4x32-10 (Random123): one definition for numba CPU and CUDA, and a numpy twin.

Contract (DESIGN.md section 3)
------------------------------
key     = (seed & 0xFFFFFFFF, seed >> 32)
counter = (j, path_lo, path_hi, stream)
One call yields four normals, dimensions ``4j .. 4j+3`` of that path, by two Box-Muller pairs:
``(u0, u1) -> (r cos(2 pi u1), r sin(2 pi u1))`` with ``r = sqrt(-2 log u0)``, and the same for
``(u2, u3)``. Uniforms never reach 0 or 1 in exact arithmetic:
float64 ``(x + 0.5) * 2**-32``; float32 ``((x >> 8) + 0.5) * 2**-24`` evaluated in float32 (the top
value rounds to 1.0 there, where Box-Muller gives r = 0; ``-2 log u`` is clamped at 0).

The ``@njit`` functions below are the single definition: numba CPU kernels call them directly and
the CUDA kernels call them as device functions. Tested against the Random123 known-answer vector
(counter = 0, key = 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8) on every backend.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float32, float64, njit, uint32, uint64
from numba.extending import overload

M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9
W1 = 0xBB67AE85
MASK32 = 0xFFFFFFFF

TWO_PI = 2.0 * math.pi
_F64_SCALE = 2.0**-32
_F32_SCALE = float(np.float32(2.0**-24))
# u = x * scale + scale / 2 is (x + 0.5) * scale with one rounding (the scale is a power of two), so it is
# the same number computed either way, and a GPU compiles it to one fused multiply-add
_F64_HALF = 2.0**-33
_F32_HALF = 2.0**-25


@njit(inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):  # pragma: no cover - compiled
    """Philox4x32-10 block: four uint32 counter words and two key words -> four uint32 words."""
    c0 = uint32(c0)
    c1 = uint32(c1)
    c2 = uint32(c2)
    c3 = uint32(c3)
    k0 = uint32(k0)
    k1 = uint32(k1)
    for _ in range(10):
        p0 = uint64(M0) * uint64(c0)
        p1 = uint64(M1) * uint64(c2)
        hi0 = uint32(p0 >> uint64(32))
        lo0 = uint32(p0 & uint64(MASK32))
        hi1 = uint32(p1 >> uint64(32))
        lo1 = uint32(p1 & uint64(MASK32))
        c0, c1, c2, c3 = uint32(hi1 ^ c1 ^ k0), lo1, uint32(hi0 ^ c3 ^ k1), lo0
        k0 = uint32(uint64(k0) + uint64(W0))
        k1 = uint32(uint64(k1) + uint64(W1))
    return c0, c1, c2, c3


def cos_sin_2pi(u):
    """``(cos(2 pi u), sin(2 pi u))`` in the precision of ``u``.

    On the CPU (and in Python) this is ``cos``/``sin`` of ``2 pi u``. The gpu backend registers a CUDA
    overload: float64 uses libdevice's ``cospi``/``sinpi`` of ``2u``, whose argument reduction is exact
    (no Payne-Hanek slow path); float32, the fast-math speed mode, the SFU's ``sin.approx``/``cos.approx``
    of ``2 pi u`` (absolute error below ``2**-20.5``).
    """
    a = 2.0 * math.pi * u
    return math.cos(a), math.sin(a)


@overload(cos_sin_2pi, target="cpu", inline="always")
def _cos_sin_2pi_cpu(u):
    tp = np.float32(TWO_PI) if u == float32 else TWO_PI

    def impl(u):  # pragma: no cover - compiled
        a = tp * u
        return math.cos(a), math.sin(a)

    return impl


@njit(inline="always")
def normals4_f64(j, path_lo, path_hi, stream, k0, k1):  # pragma: no cover - compiled
    """Four float64 standard normals for dimensions 4j..4j+3 of one path."""
    x0, x1, x2, x3 = philox4x32(j, path_lo, path_hi, stream, k0, k1)
    u0 = float64(x0) * _F64_SCALE + _F64_HALF
    u1 = float64(x1) * _F64_SCALE + _F64_HALF
    u2 = float64(x2) * _F64_SCALE + _F64_HALF
    u3 = float64(x3) * _F64_SCALE + _F64_HALF
    r0 = math.sqrt(max(-2.0 * math.log(u0), 0.0))
    r1 = math.sqrt(max(-2.0 * math.log(u2), 0.0))
    c0, s0 = cos_sin_2pi(u1)
    c1, s1 = cos_sin_2pi(u3)
    return r0 * c0, r0 * s0, r1 * c1, r1 * s1


@njit(inline="always")
def normals4_f32(j, path_lo, path_hi, stream, k0, k1):  # pragma: no cover - compiled
    """Four float32 standard normals for dimensions 4j..4j+3 of one path (float32 arithmetic only)."""
    x0, x1, x2, x3 = philox4x32(j, path_lo, path_hi, stream, k0, k1)
    half = float32(_F32_HALF)
    scale = float32(_F32_SCALE)
    zero = float32(0.0)
    m2 = float32(-2.0)
    u0 = float32(x0 >> uint32(8)) * scale + half
    u1 = float32(x1 >> uint32(8)) * scale + half
    u2 = float32(x2 >> uint32(8)) * scale + half
    u3 = float32(x3 >> uint32(8)) * scale + half
    r0 = math.sqrt(max(m2 * math.log(u0), zero))
    r1 = math.sqrt(max(m2 * math.log(u2), zero))
    c0, s0 = cos_sin_2pi(u1)
    c1, s1 = cos_sin_2pi(u3)
    return r0 * c0, r0 * s0, r1 * c1, r1 * s1


def seed_key(seed: int) -> tuple[int, int]:
    """Split a 64-bit seed into the Philox key words ``(lo, hi)``; errors outside [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return seed & MASK32, seed >> 32


def check_stream(stream: int) -> int:
    """Validate a stream id (a uint32); returns it as int."""
    if isinstance(stream, bool) or not isinstance(stream, (int, np.integer)) or not 0 <= int(stream) <= MASK32:
        raise ValueError(f"stream must be an integer in [0, 2**32), got {stream!r}")
    return int(stream)


# ---------------------------------------------------------------- numpy twin (vectorised)
def philox4x32_np(
    c0: np.ndarray | int, c1: np.ndarray | int, c2: np.ndarray | int, c3: np.ndarray | int, k0: int, k1: int
) -> tuple[np.ndarray, ...]:
    """Vectorised numpy Philox4x32-10 over broadcast uint32 counter arrays.

    Products are formed in uint64 (a uint32*uint32 product in uint32 would lose the high word).
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in np.broadcast_arrays(c0, c1, c2, c3))
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    m = np.uint64(MASK32)
    s = np.uint64(32)
    for _ in range(10):
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        c0, c1, c2, c3 = (p1 >> s) ^ c1 ^ k0, p1 & m, (p0 >> s) ^ c3 ^ k1, p0 & m
        k0 = (k0 + np.uint64(W0)) & m
        k1 = (k1 + np.uint64(W1)) & m
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


def uniforms_np(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Map uint32 words to uniforms in (0, 1) exactly as the kernels do."""
    if np.dtype(dtype) == np.float64:
        return x.astype(np.float64) * _F64_SCALE + _F64_HALF
    return (x >> np.uint32(8)).astype(np.float32) * np.float32(_F32_SCALE) + np.float32(_F32_HALF)


def normals_np(
    n_dims: int, paths: np.ndarray, *, key: tuple[int, int], stream: int, dtype: str | np.dtype = "float64"
) -> np.ndarray:
    """Standard normals of shape ``(len(paths), n_dims)`` for the given global path indices.

    Parameters
    ----------
    n_dims : number of dimensions per path (``n_steps * slots_per_step``).
    paths : uint64 array of global path indices (the counter's path words).
    key : ``seed_key(seed)``.
    stream : the counter's stream word.
    """
    dt = np.dtype(dtype)
    paths = np.asarray(paths, dtype=np.uint64)
    n_blocks = (n_dims + 3) // 4
    j = np.arange(n_blocks, dtype=np.uint64)[None, :]
    plo = (paths & np.uint64(MASK32))[:, None]
    phi = (paths >> np.uint64(32))[:, None]
    x0, x1, x2, x3 = philox4x32_np(j, plo, phi, np.uint64(stream), key[0], key[1])
    u0, u1, u2, u3 = (uniforms_np(x, dt) for x in (x0, x1, x2, x3))
    two = dt.type(-2.0)
    tp = dt.type(TWO_PI)
    r0 = np.sqrt(np.maximum(two * np.log(u0), dt.type(0.0)))
    r1 = np.sqrt(np.maximum(two * np.log(u2), dt.type(0.0)))
    a0 = tp * u1
    a1 = tp * u3
    z = np.stack([r0 * np.cos(a0), r0 * np.sin(a0), r1 * np.cos(a1), r1 * np.sin(a1)], axis=-1)
    return z.reshape(len(paths), n_blocks * 4)[:, :n_dims].astype(dt, copy=False)
