"""CPU kernels that draw their random numbers in vector loops, then run each path's steps from them.

The GPU kernel (``factory.sample_function``) draws a Philox block and runs its steps in one thread. On a
CPU that leaves the Philox rounds and the normal transform scalar, and they are most of the work. Here
each tile's normals are drawn first, for several paths and Philox blocks at once, in a loop of
straight-line integer and floating-point code (``riskgpu.kernels.vmath``: no C library calls) that LLVM
vectorises; then each path runs its steps from that buffer with the very ``Steppers`` the GPU kernel
uses. Same counters, same normals to within a few ulp of the C library's transform, same tile sums
order: the results differ from the per-path kernel only in the last bits of the normals.

Buffer: ``BUF_BLOCKS`` Philox blocks (4 normals each) per tile. A path of ``n_blocks <= BUF_BLOCKS``
blocks is drawn whole, ``min(TILE, BUF_BLOCKS // n_blocks)`` paths at a time; a longer path draws
``BUF_BLOCKS`` blocks at a time as its steps consume them (memory stays flat in the steps).
Used for single-asset pairs whose slots per step divide 4 on paths of at least ``MIN_BLOCKS`` blocks (29
normals or more); shorter paths, baskets and 3-slot models keep ``factory.tiles_cpu``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import float32, float64, int64, njit, prange, uint32, uint64

from riskgpu.kernels.cache import cached
from riskgpu.kernels.factory import TILE, steppers
from riskgpu.kernels.vmath import (
    vcos_2pi,
    vcos_2pi32,
    vcos_sin_2pi,
    vcos_sin_2pi32,
    vector_hint,
    vector_width,
    vlog,
    vlog32,
)
from riskgpu.rng.philox import _F32_HALF, _F32_SCALE, _F64_HALF, _F64_SCALE, philox4x32

#: Philox blocks buffered per tile (4 normals each: 8 KB of float64, in L1).
BUF_BLOCKS = 256
_LOW = 0xFFFFFFFF
# the drawing function's integer arguments are always int64 values, never literals (numba compiles one
# version per literal): one signature per dtype, one compile
ZERO = np.int64(0)
ONE = np.int64(1)

_CACHE: dict[tuple, Callable] = {}


def _uniform(dtype: np.dtype) -> Callable:
    f32 = np.dtype(dtype) == np.float32

    @njit(inline="always", error_model="numpy")
    def uniform(x):  # pragma: no cover - compiled
        """The contract's uniform of a Philox word, as a float64 (float32: exactly the float32 uniform)."""
        if f32:
            return float64(uniform32(x))
        return float64(x) * _F64_SCALE + _F64_HALF

    return uniform


@njit(inline="always", error_model="numpy")
def uniform32(x):  # pragma: no cover - compiled
    """The contract's float32 uniform of a Philox word."""
    return float32(x >> uint32(8)) * float32(_F32_SCALE) + float32(_F32_HALF)


@njit(inline="always", error_model="numpy")
def radius64(ua):  # pragma: no cover - compiled
    """Box-Muller's radius ``sqrt(-2 log ua)`` in float64 (``-2 log ua`` clamped at 0)."""
    return math.sqrt(max(-2.0 * vlog(ua), 0.0))


@njit(inline="always", error_model="numpy")
def box_muller64(ua, ub):  # pragma: no cover - compiled
    """One Box-Muller pair in float64: ``(r cos(2 pi ub), r sin(2 pi ub))``, ``r = radius64(ua)``."""
    r = radius64(ua)
    c, s = vcos_sin_2pi(ub)
    return r * c, r * s


@njit(inline="always", error_model="numpy")
def first_normal64(ua, ub):  # pragma: no cover - compiled
    """The pair's first normal alone, ``r cos(2 pi ub)`` (one polynomial instead of two and a select)."""
    return radius64(ua) * vcos_2pi(ub)


_M2_32 = np.float32(-2.0)
_ZERO32 = np.float32(0.0)


@njit(inline="always", error_model="numpy")
def radius32(ua):  # pragma: no cover - compiled
    """``radius64`` in float32 arithmetic."""
    return math.sqrt(max(_M2_32 * vlog32(ua), _ZERO32))


@njit(inline="always", error_model="numpy")
def box_muller32(ua, ub):  # pragma: no cover - compiled
    """The same pair in float32 arithmetic (float32 polynomials: twice the lanes of float64)."""
    r = radius32(ua)
    c, s = vcos_sin_2pi32(ub)
    return r * c, r * s


@njit(inline="always", error_model="numpy")
def first_normal32(ua, ub):  # pragma: no cover - compiled
    """``first_normal64`` in float32 arithmetic."""
    return radius32(ua) * vcos_2pi32(ub)


def _normals4(dtype: np.dtype) -> Callable:
    uniform = _uniform(dtype)

    @njit(inline="always", error_model="numpy")
    def normals4(j, lo, hi, stream, k0, k1):  # pragma: no cover - compiled
        """The contract's four normals of block ``j`` (DESIGN.md section 3), transform in float64 (float32:
        from the float32 uniforms exactly, rounded once at the end; in this loop, which also holds the
        Philox rounds, the float32 transform measured slower: 13 against 11.4 ns a block)."""
        x0, x1, x2, x3 = philox4x32(j, lo, hi, stream, k0, k1)
        z0, z1 = box_muller64(uniform(x0), uniform(x1))
        z2, z3 = box_muller64(uniform(x2), uniform(x3))
        return z0, z1, z2, z3

    return normals4


def _normals2(dtype: np.dtype) -> Callable:
    uniform = _uniform(dtype)

    @njit(inline="always", error_model="numpy")
    def normals2(j, lo, hi, stream, k0, k1):  # pragma: no cover - compiled
        """The first two of ``normals4``'s normals (half the transform, for paths of 1-2 normals)."""
        x0, x1, _, _ = philox4x32(j, lo, hi, stream, k0, k1)
        return box_muller64(uniform(x0), uniform(x1))

    return normals2


_FILL: dict[tuple[str, str], Callable] = {}


def _filler(dtype: np.dtype, width: str) -> Callable:
    # one compiled function per dtype, called (not inlined) by every kernel: the vectorised loops are
    # compiled once, not in each kernel and at each call site (that took 15 s a kernel); per vector width
    name = (np.dtype(dtype).name, width)
    if name in _FILL:
        return _FILL[name]
    normals4 = _normals4(dtype)
    cast = float32 if np.dtype(dtype) == np.float32 else float64
    hint = vector_hint(width)

    @njit(error_model="numpy")
    def fill(buf, first, n_lanes, j0, n_blk, k0, k1, stream):  # pragma: no cover - compiled
        """Blocks ``j0 .. j0 + n_blk - 1`` of samples ``first .. first + n_lanes - 1``: lane ``l``'s block
        ``j0 + b`` at ``buf[4 (l n_blk + b) : + 4]``. The inner loop (vectorised) runs over the blocks of
        a path, or over the paths when each has one block."""
        hint()
        if n_blk == 1:  # one block a path (a step or a few): the loop runs over the paths
            for lane in range(n_lanes):
                u = uint64(first + lane)
                z0, z1, z2, z3 = normals4(uint32(j0), uint32(u & uint64(_LOW)), uint32(u >> uint64(32)), stream, k0, k1)
                p = uint64(4 * lane)  # unsigned and affine: no negative-index fix-up, so the stores vectorise
                buf[p] = cast(z0)
                buf[p + 1] = cast(z1)
                buf[p + 2] = cast(z2)
                buf[p + 3] = cast(z3)
        else:  # the loop runs over the blocks of one path at a time
            for lane in range(n_lanes):
                u = uint64(first + lane)
                lo = uint32(u & uint64(_LOW))
                hi = uint32(u >> uint64(32))
                seg = buf[4 * lane * n_blk :]  # a view from this lane's first block: the stores are affine
                for b in range(n_blk):
                    z0, z1, z2, z3 = normals4(uint32(j0 + b), lo, hi, stream, k0, k1)
                    p = uint64(4 * b)
                    seg[p] = cast(z0)
                    seg[p + 1] = cast(z1)
                    seg[p + 2] = cast(z2)
                    seg[p + 3] = cast(z3)

    _FILL[name] = fill
    return fill


#: Philox blocks a path needs before the cpu backend uses the vector-drawing kernel: it compiles 2-3 s
#: slower than the per-path kernel, and pays that back only on paths long enough to vectorise over
#: (measured in benchmarks/NOTES.md).
MIN_BLOCKS = 8


def simd_supported(model: object, product: object, n_steps: int | None = None) -> bool:
    """Whether ``tiles_simd`` takes this pair: single asset, slots per step dividing 4; with ``n_steps``,
    also whether the cpu backend uses it: paths of at least ``MIN_BLOCKS`` Philox blocks."""
    if getattr(product, "multi_asset", False) or not 1 <= model.slots <= 3 or product.slots not in (0, 1):
        return False
    n_slots = model.slots + product.slots
    if 4 % n_slots:
        return False
    return n_steps is None or -(-n_steps * n_slots // 4) >= MIN_BLOCKS


def tiles_simd(model: object, product: object, dtype: np.dtype) -> Callable:
    """The vector-drawing CPU kernel of a pair ``simd_supported`` takes; ``factory.tiles_cpu``'s arguments.

    ``kernel(first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)``
    fills ``sums[t]``, ``sqs[t]`` with the sums of ``y = sample - shift`` and ``y**2`` over global tile
    ``first_tile + t``, lanes in index order. Tested against the reference backend and the per-path
    kernel on the same counters.
    """
    key = (model.kernel_id, type(product), model.slots, product.slots, np.dtype(dtype).name, vector_width())
    if key in _CACHE:
        return _CACHE[key]
    st = steppers(model, product)
    m_init, init, finish, block_steps, tail_steps = st.m_init, st.init, st.finish, st.block_steps, st.tail_steps
    per_block = 4 // st.n_slots
    fill = _filler(dtype, key[-1])  # the width fixed here, with the key, not when numba compiles
    nb_dtype = np.dtype(dtype)
    one = nb_dtype.type(1.0)
    half = nb_dtype.type(0.5)

    # not inlined at numba's IR level (LLVM still inlines it): parfor array analysis of the prange kernel
    # mistakes the models' state tuples for array shapes
    @njit(error_model="numpy")
    def path(buf, off, pre, idx, sign, k0, k1, stream, mp, pp, n_steps):  # pragma: no cover - compiled
        # blocks [0, pre) of this path are at buf[off:]; later ones are drawn here, BUF_BLOCKS at a time
        s0 = mp[0]
        state = m_init(mp)
        acc = init(state[0], pp)
        n = uint32(n_steps)
        n_full = n // uint32(per_block)
        n_blocks = (n + uint32(per_block - 1)) // uint32(per_block)
        j0 = uint32(0)
        have = uint32(pre)
        j = uint32(0)
        while j < n_blocks:
            if j - j0 >= have:
                j0 = j
                have = min(uint32(BUF_BLOCKS), n_blocks - j)
                fill(buf, idx, ONE, int64(j0), int64(have), k0, k1, stream)
                off = 0
            p = off + 4 * int64(j - j0)
            z0, z1, z2, z3 = buf[p], buf[p + 1], buf[p + 2], buf[p + 3]
            if j < n_full:
                state, acc = block_steps(state, acc, uint32(j * uint32(per_block)), z0, z1, z2, z3, sign, mp, pp)
            else:
                state, acc = tail_steps(state, acc, uint32(j * uint32(per_block)), n, z0, z1, z2, z3, sign, mp, pp)
            j = uint32(j + uint32(1))
        return finish(acc, state[0], s0, pp)

    @njit(error_model="numpy")
    def path2(buf, off_a, off_b, sign, mp, pp, n_steps):  # pragma: no cover - compiled
        # two paths in lockstep, every block of both in the buffer: their serial chains (a step's state feeds
        # the next) interleave, so one path's latency hides behind the other's work; same arithmetic per path
        s0 = mp[0]
        sa = m_init(mp)
        aa = init(sa[0], pp)
        sb = m_init(mp)
        ab = init(sb[0], pp)
        n = uint32(n_steps)
        n_full = n // uint32(per_block)
        j = uint32(0)
        while j < n_full:
            pa = off_a + 4 * int64(j)
            pb = off_b + 4 * int64(j)
            i = uint32(j * uint32(per_block))
            sa, aa = block_steps(sa, aa, i, buf[pa], buf[pa + 1], buf[pa + 2], buf[pa + 3], sign, mp, pp)
            sb, ab = block_steps(sb, ab, i, buf[pb], buf[pb + 1], buf[pb + 2], buf[pb + 3], sign, mp, pp)
            j = uint32(j + uint32(1))
        i = uint32(n_full * uint32(per_block))
        if i < n:
            pa = off_a + 4 * int64(n_full)
            pb = off_b + 4 * int64(n_full)
            sa, aa = tail_steps(sa, aa, i, n, buf[pa], buf[pa + 1], buf[pa + 2], buf[pa + 3], sign, mp, pp)
            sb, ab = tail_steps(sb, ab, i, n, buf[pb], buf[pb + 1], buf[pb + 2], buf[pb + 3], sign, mp, pp)
        return finish(aa, sa[0], s0, pp), finish(ab, sb[0], s0, pp)

    @njit(parallel=True, error_model="numpy")
    def kernel(
        first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover - compiled
        n_blocks = (n_steps + per_block - 1) // per_block
        pre = min(n_blocks, BUF_BLOCKS)
        lanes = max(1, min(TILE, BUF_BLOCKS // max(n_blocks, 1)))
        for t in prange(sums.shape[0]):
            buf = np.empty(4 * BUF_BLOCKS, dtype=nb_dtype)
            base = (first_tile + t) * TILE
            s = shift - shift
            q = shift - shift
            g = 0
            while g < TILE:
                n_lanes = min(lanes, TILE - g)
                fill(buf, base + g, n_lanes, ZERO, pre, k0, k1, stream)
                lane = 0
                while lane < n_lanes:
                    idx = base + g + lane
                    if idx >= n_samples:
                        break
                    if pre == n_blocks and lane + 1 < n_lanes and idx + 1 < n_samples:  # a pair in lockstep
                        off = 4 * lane * pre
                        va, vb = path2(buf, off, off + 4 * pre, one, mp, pp, n_steps)
                        va = va * disc
                        vb = vb * disc
                        if antithetic:
                            wa, wb = path2(buf, off, off + 4 * pre, -one, mp, pp, n_steps)
                            va = (va + wa * disc) * half
                            vb = (vb + wb * disc) * half
                        y = va - shift
                        s += y
                        q += y * y
                        y = vb - shift
                        s += y
                        q += y * y
                        lane += 2
                        continue
                    # one path alone (the tile's odd last lane, or a path longer than the buffer)
                    v = path(buf, 4 * lane * pre, pre, idx, one, k0, k1, stream, mp, pp, n_steps) * disc
                    if antithetic:
                        if pre < n_blocks:  # the path drew past its buffer: draw its first blocks again
                            fill(buf, idx, ONE, ZERO, pre, k0, k1, stream)
                            w = path(buf, 0, pre, idx, -one, k0, k1, stream, mp, pp, n_steps) * disc
                        else:
                            w = path(buf, 4 * lane * pre, pre, idx, -one, k0, k1, stream, mp, pp, n_steps) * disc
                        v = (v + w) * half
                    y = v - shift
                    s += y
                    q += y * y
                    lane += 1
                g += n_lanes
            sums[t] = s
            sqs[t] = q

    _CACHE[key] = cached(kernel, ("tiles_simd", key))
    return kernel
