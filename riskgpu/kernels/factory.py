"""The kernel factory: (model, product, dtype) -> one fused per-path function, compiled for every target.

The per-path body (draw, step, observe, finish) is written once, here, as ``@njit`` code: the step and
observe pieces (``steppers``) and the per-sample function around them (``sample_function``). The CUDA
backend calls the sample function from a ``cuda.jit`` kernel (``riskgpu.kernels.cuda``); the CPU backend
steps a tile's paths side by side with the model's step function (``riskgpu.kernels.lanes``) for the
pairs written for it, runs the same steppers from normals drawn in vector loops (``riskgpu.kernels.simd``)
where the pair allows, else the sample function inside a ``prange`` over tiles (``tiles_cpu``). Nothing
here touches files, portfolios or a GPU.

Deterministic sums (DESIGN.md section 4): samples are grouped in tiles of ``TILE`` consecutive global
sample indices; each tile's sum and sum of squares are accumulated sequentially in the kernel's dtype,
and the host combines the tile partials in float64. A sample is one path, or one antithetic pair
(path ``2m`` draws the normals of counter ``m``, path ``2m + 1`` their negatives), so pairs never
straddle tiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit, prange, uint32, uint64

from riskgpu.kernels.cache import cached
from riskgpu.rng import normals4_f32, normals4_f64

#: Samples per tile: the unit of deterministic summation and of batching.
TILE = 32
_LOW = 0xFFFFFFFF


def _normals(dtype: np.dtype) -> Callable:
    return normals4_f32 if dtype == np.float32 else normals4_f64


_SAMPLE_CACHE: dict[tuple, Callable] = {}


def _sample(path_payoff: Callable, dtype: np.dtype, *, one_copy: bool = False) -> Callable:
    """``sample(idx, antithetic, ...)``: the discounted payoff of path ``idx``, or of the antithetic pair.

    ``one_copy=True`` (the CPU's per-path form): the pair's second path runs in a loop over the sign, so the
    path body is compiled once, not twice; on a GPU the loop-carried sign costs registers (Heston QE
    float32: 32 -> 46), so the GPU form calls the body twice with constant signs. Same arithmetic."""
    one = np.dtype(dtype).type(1.0)
    half = np.dtype(dtype).type(0.5)

    # Not inlined at numba's IR level (LLVM still inlines it): parfor array analysis, which runs on the
    # prange kernel's IR, mistakes the models' state tuples for array shapes.
    if one_copy:

        @njit
        def sample(idx, antithetic, k0, k1, stream, mp, pp, n_steps, disc):  # pragma: no cover - compiled
            u = uint64(idx)
            lo = uint32(u & uint64(_LOW))
            hi = uint32(u >> uint64(32))
            v = one - one
            sign = one
            for k in range(2 if antithetic else 1):
                p = path_payoff(lo, hi, sign, k0, k1, stream, mp, pp, n_steps) * disc
                v = p if k == 0 else (v + p) * half
                sign = -sign
            return v

        return sample

    @njit
    def sample(idx, antithetic, k0, k1, stream, mp, pp, n_steps, disc):  # pragma: no cover - compiled
        u = uint64(idx)
        lo = uint32(u & uint64(_LOW))
        hi = uint32(u >> uint64(32))
        v = path_payoff(lo, hi, one, k0, k1, stream, mp, pp, n_steps) * disc
        if antithetic:
            w = path_payoff(lo, hi, -one, k0, k1, stream, mp, pp, n_steps) * disc
            v = (v + w) * half
        return v

    return sample


def _reader(normals4: Callable) -> Callable:
    @njit(inline="always")
    def read(d, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1):  # pragma: no cover - compiled
        """Normal number ``d`` of the path; ``cur`` and ``z0..z3`` cache the last Philox block drawn."""
        j = d >> 2
        if j != cur:
            z0, z1, z2, z3 = normals4(uint32(j), lo, hi, stream, k0, k1)
            cur = j
        lane = d & 3
        z = z0 if lane == 0 else (z1 if lane == 1 else (z2 if lane == 2 else z3))
        return z, cur, z0, z1, z2, z3

    return read


class Steppers(NamedTuple):
    """The compiled pieces of one (model, product) pair's path, shared by the GPU and CPU kernels."""

    m_init: Callable
    init: Callable
    finish: Callable
    one_step: Callable
    block_steps: Callable
    tail_steps: Callable
    model_slots: int
    n_slots: int
    has_w: bool


_STEPPERS: dict[tuple, Steppers] = {}


def steppers(model: object, product: object) -> Steppers:
    """``Steppers`` of a single-asset ``model`` and ``product`` (type-generic ``@njit`` functions).

    ``one_step(state, acc, i, a, b, c, w, sign, mp, pp)``: step ``i`` on the model's normals ``a, b, c``
    and the product's ``w``. When the slots per step divide 4, ``block_steps(state, acc, i, z0, z1, z2,
    z3, sign, mp, pp)`` runs the ``4 // n_slots`` steps one Philox block feeds (unrolled) and
    ``tail_steps(state, acc, i, n, z0, z1, z2, z3, sign, mp, pp)`` the steps ``i .. n - 1`` left over
    (fewer than a block's worth) from the block's first normals.
    """
    key = (model.kernel_id, type(product), model.slots, product.slots)
    if key in _STEPPERS:
        return _STEPPERS[key]
    if not 1 <= model.slots <= 3 or product.slots not in (0, 1):
        raise ValueError(f"fused kernels take 1-3 model slots and 0-1 product slots: {model.slots}, {product.slots}")
    init, observe, finish = product.accumulator
    m_init, m_step = model.kernel_functions()
    ms = model.slots
    n_slots = model.slots + product.slots

    @njit(inline="always")
    def one_step(state, acc, i, a, b, c, w, sign, mp, pp):  # pragma: no cover - compiled
        x_prev = state[0]
        state, var = m_step(state, sign * a, sign * b, sign * c, mp)
        return state, observe(acc, i, x_prev, state[0], var, sign * w, pp)

    @njit(inline="always")
    def block_steps(state, acc, i, z0, z1, z2, z3, sign, mp, pp):  # pragma: no cover - compiled
        zero = z0 - z0
        if n_slots == 1:
            state, acc = one_step(state, acc, i, z0, zero, zero, zero, sign, mp, pp)
            state, acc = one_step(state, acc, uint32(i + uint32(1)), z1, zero, zero, zero, sign, mp, pp)
            state, acc = one_step(state, acc, uint32(i + uint32(2)), z2, zero, zero, zero, sign, mp, pp)
            state, acc = one_step(state, acc, uint32(i + uint32(3)), z3, zero, zero, zero, sign, mp, pp)
        elif n_slots == 2:
            if ms == 2:
                state, acc = one_step(state, acc, i, z0, z1, zero, zero, sign, mp, pp)
                state, acc = one_step(state, acc, uint32(i + uint32(1)), z2, z3, zero, zero, sign, mp, pp)
            else:
                state, acc = one_step(state, acc, i, z0, zero, zero, z1, sign, mp, pp)
                state, acc = one_step(state, acc, uint32(i + uint32(1)), z2, zero, zero, z3, sign, mp, pp)
        else:  # 4 slots: three model normals and the product's
            state, acc = one_step(state, acc, i, z0, z1, z2, z3, sign, mp, pp)
        return state, acc

    @njit(inline="always")
    def tail_steps(state, acc, i, n, z0, z1, z2, z3, sign, mp, pp):  # pragma: no cover - compiled
        # one copy of the step in a loop (not unrolled): the tail runs once a path, and each copy of the step
        # costs compile time on every target
        zero = z0 - z0
        if n_slots == 1:
            t = uint32(0)
            while uint32(i + t) < n:
                a = z0 if t == uint32(0) else (z1 if t == uint32(1) else z2)
                state, acc = one_step(state, acc, uint32(i + t), a, zero, zero, zero, sign, mp, pp)
                t = uint32(t + uint32(1))
        elif ms == 2:
            state, acc = one_step(state, acc, i, z0, z1, zero, zero, sign, mp, pp)
        else:
            state, acc = one_step(state, acc, i, z0, zero, zero, z1, sign, mp, pp)
        return state, acc

    _STEPPERS[key] = Steppers(m_init, init, finish, one_step, block_steps, tail_steps, ms, n_slots, product.slots == 1)
    return _STEPPERS[key]


def sample_function(model: object, product: object, dtype: np.dtype, *, blocks: bool = True) -> Callable:
    """The fused per-sample function for a single-asset ``model`` and ``product``, in ``dtype``.

    Signature of the returned ``@njit`` function::

        sample(idx, antithetic, k0, k1, stream, mp, pp, n_steps, disc) -> discounted payoff

    ``idx`` is the global sample index (the counter's path words), ``mp`` the model's and ``pp`` the
    product's kernel parameter tuples. Step ``i`` reads normals ``i * S + slot`` (DESIGN.md section 3),
    ``S = model.slots + product.slots``: the model's slots first (up to 3), then the product's (0 or 1).
    Compiled once per ``(model.kernel_id, product type, slots, dtype, blocks)``. Tested against the reference
    backend on the same normals.

    ``blocks=True`` (the GPU's form, where the slots per step divide 4): one Philox block feeds ``4 // S``
    steps unrolled. ``blocks=False`` (the CPU's per-path kernel): one step per iteration, normals read
    through the block cache; the same numbers in the same order, with a quarter of the code to compile
    (the unrolled form made a CPU kernel compile about 3x slower for no measured gain there).
    """
    key = (model.kernel_id, type(product), model.slots, product.slots, np.dtype(dtype).name, blocks)
    if key in _SAMPLE_CACHE:
        return _SAMPLE_CACHE[key]
    st = steppers(model, product)
    m_init, init, finish, one_step = st.m_init, st.init, st.finish, st.one_step
    block_steps, tail_steps = st.block_steps, st.tail_steps
    normals4 = _normals(np.dtype(dtype))
    read = _reader(normals4)
    ms, n_slots, has_w = st.model_slots, st.n_slots, st.has_w

    if blocks and 4 % n_slots == 0:
        per_block = 4 // n_slots

        @njit(inline="always")
        def path_payoff(lo, hi, sign, k0, k1, stream, mp, pp, n_steps):  # pragma: no cover - compiled
            # One Philox block feeds per_block whole steps: the hot loop draws, then runs them unrolled,
            # with uint32 counters; the last n_steps % per_block steps read the next block's first normals.
            s0 = mp[0]
            state = m_init(mp)
            acc = init(state[0], pp)
            n = uint32(n_steps)
            n_full = uint32(n // uint32(per_block))
            j = uint32(0)
            while j < n_full:
                z0, z1, z2, z3 = normals4(j, lo, hi, stream, k0, k1)
                state, acc = block_steps(state, acc, uint32(j * uint32(per_block)), z0, z1, z2, z3, sign, mp, pp)
                j = uint32(j + uint32(1))
            i = uint32(n_full * uint32(per_block))
            if i < n:
                z0, z1, z2, z3 = normals4(n_full, lo, hi, stream, k0, k1)
                state, acc = tail_steps(state, acc, i, n, z0, z1, z2, z3, sign, mp, pp)
            return finish(acc, state[0], s0, pp)

    else:

        @njit(inline="always")
        def path_payoff(lo, hi, sign, k0, k1, stream, mp, pp, n_steps):  # pragma: no cover - compiled
            # One step an iteration (3 slots, or the CPU's form): each normal read through the block cache.
            s0 = mp[0]
            zero = s0 - s0
            state = m_init(mp)
            acc = init(state[0], pp)
            cur = -1
            z0 = z1 = z2 = z3 = zero
            d = 0
            for i in range(n_steps):
                a, cur, z0, z1, z2, z3 = read(d, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1)
                b = c = w = zero
                if ms > 1:
                    b, cur, z0, z1, z2, z3 = read(d + 1, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1)
                if ms > 2:
                    c, cur, z0, z1, z2, z3 = read(d + 2, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1)
                if has_w:
                    w, cur, z0, z1, z2, z3 = read(d + ms, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1)
                d += n_slots
                state, acc = one_step(state, acc, uint32(i), a, b, c, w, sign, mp, pp)
            return finish(acc, state[0], s0, pp)

    _SAMPLE_CACHE[key] = _sample(path_payoff, dtype, one_copy=not blocks)
    return _SAMPLE_CACHE[key]


_CPU_CACHE: dict[int, Callable] = {}


def tiles_cpu(sample: Callable) -> Callable:
    """The CPU kernel for ``sample``: ``prange`` over tiles, each summed sequentially.

    ``kernel(first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)``
    fills ``sums[t]`` and ``sqs[t]`` (shape ``(n_tiles,)``, the kernel's dtype) with the sum of
    ``y = sample - shift`` and of ``y**2`` over global tile ``first_tile + t``.
    """
    if id(sample) in _CPU_CACHE:
        return _CPU_CACHE[id(sample)]
    built_from = next((k for k, v in _SAMPLE_CACHE.items() if v is sample), None)

    @njit(parallel=True, error_model="numpy")
    def kernel(
        first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover
        for t in prange(sums.shape[0]):
            base = (first_tile + t) * TILE
            s = shift - shift
            q = shift - shift
            for lane in range(TILE):
                idx = base + lane
                if idx < n_samples:
                    y = sample(idx, antithetic, k0, k1, stream, mp, pp, n_steps, disc) - shift
                    s += y
                    q += y * y
            sums[t] = s
            sqs[t] = q

    _CPU_CACHE[id(sample)] = kernel if built_from is None else cached(kernel, ("tiles_cpu", built_from))
    return kernel


_FILL_CACHE: dict[str, tuple[Callable, Callable]] = {}


def path_filler(dtype: np.dtype) -> tuple[Callable, Callable]:
    """``(fill_path, simulate_cpu)`` for ``dtype``: the stored-path body and its CPU kernel.

    ``fill_path(row, idx, k0, k1, stream, spot, drift, vsq, chol, n_steps)`` writes path ``idx``
    of spots into ``row`` (shape ``(n_steps + 1, n_assets)``) in place: normals for dimension
    ``d = step * n_assets + asset`` go in first, are correlated in place by the lower-triangular
    ``chol`` (from the last asset down), then integrated in log space: ``x = log(S / spot)`` from 0.
    ``simulate_cpu(out, first_path, ...)`` fills ``out[p]`` with path ``first_path + p`` in a ``prange``.
    Tested against the reference backend's paths.
    """
    name = np.dtype(dtype).name
    if name in _FILL_CACHE:
        return _FILL_CACHE[name]
    normals4 = _normals(np.dtype(dtype))

    @njit(inline="always")
    def fill_path(row, idx, k0, k1, stream, spot, drift, vsq, chol, n_steps):  # pragma: no cover
        n_assets = row.shape[1]
        n_dims = n_steps * n_assets
        u = uint64(idx)
        lo = uint32(u & uint64(_LOW))
        hi = uint32(u >> uint64(32))
        for j in range((n_dims + 3) // 4):
            z0, z1, z2, z3 = normals4(uint32(j), lo, hi, stream, k0, k1)
            for lane in range(4):
                d = 4 * j + lane
                if d < n_dims:
                    z = z0 if lane == 0 else (z1 if lane == 1 else (z2 if lane == 2 else z3))
                    row[1 + d // n_assets, d % n_assets] = z
        for a in range(n_assets):
            row[0, a] = spot[a]
        for s in range(1, n_steps + 1):
            for a in range(n_assets - 1, -1, -1):
                acc = chol[a, 0] * row[s, 0]
                for b in range(1, a + 1):
                    acc += chol[a, b] * row[s, b]
                row[s, a] = acc
        for a in range(n_assets):
            x = spot[a] - spot[a]
            for s in range(1, n_steps + 1):
                x = x + drift[a] + vsq[a] * row[s, a]
                row[s, a] = spot[a] * math.exp(x)

    @njit(parallel=True, error_model="numpy")
    def simulate_cpu(out, first_path, k0, k1, stream, spot, drift, vsq, chol, n_steps):  # pragma: no cover
        for p in prange(out.shape[0]):
            fill_path(out[p], first_path + p, k0, k1, stream, spot, drift, vsq, chol, n_steps)

    _FILL_CACHE[name] = (fill_path, cached(simulate_cpu, ("simulate_cpu", name)))
    return fill_path, simulate_cpu


def basket_sample_function(model: object, product: object, dtype: np.dtype) -> Callable:
    """The fused per-sample function of a terminal payoff on an ``n``-asset GBM basket, in ``dtype``.

    Same signature as ``sample_function``. Normal ``s * n + b`` drives asset ``b`` at step ``s``; asset
    ``a``'s correlated normal is ``sum_{b <= a} L[a, b] g_b`` (``L`` the Cholesky factor in ``mp``).
    No per-thread arrays: each asset's path is integrated in turn, re-reading the normals it needs
    (``n (n + 1) / 2`` reads per step), and the sum of ``product.basket_term(w_a, s0_a, x_a)`` over
    the assets (``w_a S_a(T)``, or ``w_a log S_a(T)`` for a geometric basket) goes to
    ``product.basket_finish(value, pp)``. ``mp`` and ``pp`` are flat tuples of floats indexed with the
    compile-time ``n``. Tested against the reference backend on the same normals.
    """
    n = model.n_assets
    key = ("basket", n, type(product), product.average, np.dtype(dtype).name)
    if key in _SAMPLE_CACHE:
        return _SAMPLE_CACHE[key]
    read = _reader(_normals(np.dtype(dtype)))
    finish = product.basket_finish
    term = product.basket_term

    @njit(inline="always")
    def path_payoff(lo, hi, sign, k0, k1, stream, mp, pp, n_steps):  # pragma: no cover - compiled
        zero = mp[0] - mp[0]
        basket = zero
        cur = -1
        z0 = z1 = z2 = z3 = zero
        for a in range(n):
            x = zero
            for s in range(n_steps):
                z = zero
                for b in range(a + 1):
                    g, cur, z0, z1, z2, z3 = read(s * n + b, cur, z0, z1, z2, z3, lo, hi, stream, k0, k1)
                    z += mp[3 * n + a * n + b] * (sign * g)
                x = x + mp[n + a] + mp[2 * n + a] * z
            basket += term(pp[2 + a], mp[a], x)
        return finish(basket, pp)

    _SAMPLE_CACHE[key] = _sample(path_payoff, dtype)
    return _SAMPLE_CACHE[key]


def steps_per_loop(model: object, product: object) -> float:
    """Path-steps one iteration of the fused kernel's innermost loop advances (for instruction counts).

    Single asset: ``4 // slots`` when the slots per step divide 4 (one Philox block feeds that many
    unrolled steps), else 1. Basket of ``n``: the innermost loop reads one normal and a path-step reads
    ``n (n + 1) / 2`` of them, so ``2 / (n (n + 1))``.
    """
    if getattr(product, "multi_asset", False):
        n = model.n_assets
        return 2.0 / (n * (n + 1))
    n_slots = model.slots + product.slots
    return float(4 // n_slots) if 4 % n_slots == 0 else 1.0


def kernel_sample(model: object, product: object, dtype: np.dtype, *, blocks: bool = True) -> Callable:
    """The fused sample function for a (model, product) pair: single-asset or basket (``blocks``: see
    ``sample_function``; the CUDA kernels take the default, the CPU's per-path kernel ``blocks=False``)."""
    if getattr(product, "multi_asset", False):
        return basket_sample_function(model, product, dtype)
    return sample_function(model, product, dtype, blocks=blocks)
