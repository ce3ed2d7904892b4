"""CPU kernels that step a tile's paths side by side: the paths are the inner, vectorised loop.

``riskgpu.kernels.simd`` draws normals in vector loops but then runs each path's steps one path at a
time, so the per-step ``exp`` of an Asian's fixing is a scalar C library call, and it is half the time.
Here the paths of ``GROUP`` consecutive tiles (``LANES`` paths) are the lanes of every loop: a chunk of
``CHUNK`` Philox blocks is drawn for all lanes (``Z[4 b + k, lane]``), then each step updates every lane's
model state (the model's own step function, the state kept as ``S[k, sign, lane]``), barrier flag and
running sum in one loop of straight-line code (``vmath.vexp`` in place of the C library's ``exp``) that
LLVM turns into 512-bit AVX-512 code (``vmath.wide_vectors``; AVX2 without it). The antithetic pair's second
path reads the same normals with the sign flipped, in the same pass. Each tile's sums are then taken over
its own 32 lanes in index order, so grouping changes no bit of any tile's sums; it spreads the fixed cost of
a pass (the loops' set-up, the drawing call) over 256 paths instead of 32, which is most of the time of a
1-step path.

For the models whose step is straight-line code (the one-asset GBM, Heston's full-truncation Euler) with
the products whose observation is written here for lanes (the European, the digital, the Asian:
arithmetic or geometric, seasoned, knock-out): the benchmark workloads and most of a nightly book. Every
other pair keeps ``simd.tiles_simd`` or ``factory.tiles_cpu``. Same counters, the same normals to within
a few ulp (the vectorised transform), the same arithmetic order per step, the same tile sums order:
results differ from the per-path kernel only in those last bits. Tested against the per-path kernel on
the same counters and against the reference backend.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import int64, njit, prange, uint32, uint64

from riskgpu.kernels.cache import cached
from riskgpu.kernels.factory import TILE
from riskgpu.kernels.simd import (
    _normals2,
    _normals4,
    _uniform,
    box_muller32,
    first_normal32,
    first_normal64,
    uniform32,
)
from riskgpu.kernels.vmath import vector_hint, vector_width, vexp, vexp32
from riskgpu.rng.philox import philox4x32

#: Tiles stepped side by side in one pass: their ``LANES`` paths are the vector loops' lanes.
GROUP = 8
LANES = GROUP * TILE
#: Philox blocks drawn per chunk for every lane: 16 normals x 256 lanes (32 KB of float64, in L1).
CHUNK = 4
#: Tiles one parallel task runs at most (a multiple of ``GROUP``; its scratch arrays are allocated once per
#: task, not per pass); fewer below ``MIN_TASKS`` tasks, so up to 64 threads have about 4 each. Any split
#: gives the same tile sums.
TASK_TILES = 64
MIN_TASKS = 256
_LOW = 0xFFFFFFFF
#: Product codes of the specialised kernels.
EUROPEAN, DIGITAL, ASIAN = 0, 1, 2

_FILL: dict[tuple[str, str], Callable] = {}
_CACHE: dict[tuple, Callable] = {}


def _lane_filler(dtype: np.dtype, width: str) -> Callable:
    """``fill(Z, W, first, j0, n_blk, used, k0, k1, stream)``, compiled once per dtype and vector width
    (not inlined: every kernel calls the same vector loops); ``W`` (4, LANES) uint32 scratch for the float32
    form."""
    name = (np.dtype(dtype).name, width)
    if name not in _FILL:
        hint = vector_hint(width)
        _FILL[name] = _fill32(hint) if np.dtype(dtype) == np.float32 else _fill64(hint)
    return _FILL[name]


def _fill64(hint: Callable) -> Callable:
    normals4 = _normals4(np.dtype(np.float64))
    normals2 = _normals2(np.dtype(np.float64))
    uniform = _uniform(np.dtype(np.float64))

    @njit(error_model="numpy")
    def fill(Z, W, first, j0, n_blk, used, k0, k1, stream):  # pragma: no cover - compiled
        """Blocks ``j0 .. j0 + n_blk - 1`` of samples ``first .. first + LANES - 1``: block ``j0 + b`` of
        lane ``l`` at ``Z[4 b : 4 b + 4, l]``. ``used`` 1 or 2: paths of that many normals, only ``Z[0]``
        or ``Z[0:2]`` (0: whole blocks). Philox and the float64 transform in one loop (split in two loops it
        measured 3.5x slower); the short forms have loops of their own, so the rest is not computed at all."""
        hint()
        if used == 1:
            j = uint32(j0)
            for lane in range(LANES):
                u = uint64(first + lane)
                x0, x1, _, _ = philox4x32(j, uint32(u & uint64(_LOW)), uint32(u >> uint64(32)), stream, k0, k1)
                Z[0, lane] = first_normal64(uniform(x0), uniform(x1))
            return
        if used == 2:
            j = uint32(j0)
            for lane in range(LANES):
                u = uint64(first + lane)
                Z[0, lane], Z[1, lane] = normals2(j, uint32(u & uint64(_LOW)), uint32(u >> uint64(32)), stream, k0, k1)
            return
        for b in range(n_blk):
            j = uint32(j0 + b)
            for lane in range(LANES):
                u = uint64(first + lane)
                z0, z1, z2, z3 = normals4(j, uint32(u & uint64(_LOW)), uint32(u >> uint64(32)), stream, k0, k1)
                Z[4 * b, lane] = z0
                Z[4 * b + 1, lane] = z1
                Z[4 * b + 2, lane] = z2
                Z[4 * b + 3, lane] = z3

    return fill


def _fill32(hint: Callable) -> Callable:
    @njit(error_model="numpy")
    def fill(Z, W, first, j0, n_blk, used, k0, k1, stream):  # pragma: no cover - compiled
        """``_fill64``'s blocks in float32: the Philox words of a block for all lanes into ``W`` first, then
        the float32 transform in a loop of its own (16 lanes to a 512-bit vector; in the Philox loop, where
        the counters' products are 64-bit, it measured 2x slower)."""
        hint()
        for b in range(n_blk):
            j = uint32(j0 + b)
            for lane in range(LANES):
                u = uint64(first + lane)
                W[0, lane], W[1, lane], W[2, lane], W[3, lane] = philox4x32(
                    j, uint32(u & uint64(_LOW)), uint32(u >> uint64(32)), stream, k0, k1
                )
            if used == 1:  # paths of 1 normal: one block, its first normal
                for lane in range(LANES):
                    Z[0, lane] = first_normal32(uniform32(W[0, lane]), uniform32(W[1, lane]))
                return
            for lane in range(LANES):
                Z[4 * b, lane], Z[4 * b + 1, lane] = box_muller32(uniform32(W[0, lane]), uniform32(W[1, lane]))
            if used == 2:  # paths of 2 normals: one block, its first pair
                return
            for lane in range(LANES):
                Z[4 * b + 2, lane], Z[4 * b + 3, lane] = box_muller32(uniform32(W[2, lane]), uniform32(W[3, lane]))

    return fill


#: Models the kernel steps (``kernel_id`` -> length of the state tuple): their step functions are
#: straight-line code (Heston's QE scheme calls ``erfc``/``log``/``exp`` of the C library: not here).
_STATE_LEN = {"gbm": 1, ("heston", "euler"): 2}


def lanes_product(model: object, product: object) -> int | None:
    """The product code ``tiles_lanes`` runs for this pair, or None when it does not take it. It takes the
    one-asset GBM and the Heston model's full-truncation Euler scheme, with the European, the digital and the
    Asian (arithmetic or geometric, seasoned, knock-out)."""
    from riskgpu.products.asian import Asian
    from riskgpu.products.vanilla import Digital, European

    if _STATE_LEN.get(getattr(model, "kernel_id", None)) is None or getattr(model, "n_assets", 1) != 1:
        return None
    for cls, code in ((European, EUROPEAN), (Digital, DIGITAL), (Asian, ASIAN)):
        if type(product) is cls:
            return code
    return None


def _state_io(n: int) -> tuple[Callable, Callable]:
    """``load(S, s, lane) -> state`` and ``store(S, s, lane, state)`` for a model state of ``n`` floats kept
    as ``S[k, s, lane]`` (sign ``s``; lanes contiguous)."""
    if n == 1:

        @njit(inline="always")
        def load(S, s, lane):  # pragma: no cover - compiled
            return (S[0, s, lane],)

        @njit(inline="always")
        def store(S, s, lane, st):  # pragma: no cover - compiled
            S[0, s, lane] = st[0]

    else:

        @njit(inline="always")
        def load(S, s, lane):  # pragma: no cover - compiled
            return (S[0, s, lane], S[1, s, lane])

        @njit(inline="always")
        def store(S, s, lane, st):  # pragma: no cover - compiled
            S[0, s, lane] = st[0]
            S[1, s, lane] = st[1]

    return load, store


def tiles_lanes(model: object, product: object, dtype: np.dtype) -> Callable:
    """The paths-inner CPU kernel of a pair ``lanes_product`` takes; ``factory.tiles_cpu``'s arguments.

    ``kernel(first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)``
    fills ``sums[t]``, ``sqs[t]`` (shape ``(n_tiles,)``) with the sums of ``y = sample - shift`` and ``y**2``
    over global tile ``first_tile + t``, lanes in index order. ``mp`` is the model's ``kernel_params``, ``pp``
    the product's. Tested against the per-path kernel on the same counters and the reference backend.
    """
    code = lanes_product(model, product)
    if code is None:
        raise ValueError(
            "tiles_lanes takes the one-asset GBM or Heston (Euler) with a European, digital or Asian, not "
            f"{type(model).__name__} ({getattr(model, 'kernel_id', None)}) with {type(product).__name__}"
        )
    key = (model.kernel_id, code, np.dtype(dtype).name, vector_width())
    if key in _CACHE:
        return _CACHE[key]
    hint = vector_hint(key[-1])  # the width is fixed here, with the key, not when numba compiles
    n_state = _STATE_LEN[model.kernel_id]
    load, store = _state_io(n_state)
    m_init, m_step = model.kernel_functions()
    ms = model.slots
    fill = _lane_filler(dtype, key[-1])
    nb_dtype = np.dtype(dtype)
    exp = vexp32 if nb_dtype == np.float32 else vexp
    one = nb_dtype.type(1.0)
    zero = nb_dtype.type(0.0)
    half = nb_dtype.type(0.5)
    asian = code == ASIAN

    # Inlined into ``task`` (one compiled function per kernel); arrays are indexed, never sliced: a view is
    # a reference count taken and dropped (atomic operations) in the step loop.
    @njit(error_model="numpy", inline="always")
    def group(
        t0, sums, sqs, n_samples, Z, W, S, T, A, P, base, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover - compiled
        """Tiles ``t0 .. t0 + GROUP - 1`` (those below ``len(sums)``) into ``sums``, ``sqs``; ``base`` the first
        lane's sample. ``S`` (n_state, 2, LANES) the model state of each sign's lanes (``S[0]`` the log-spot),
        ``T``, ``A`` (2, LANES) their running sums and alive flags, ``P`` (LANES,) the lanes' samples."""
        s0 = mp[0]
        n_signs = 2 if antithetic else 1
        alive0 = one
        every = 0
        geometric = False
        has_barrier = False
        uh = zero
        hlog = zero
        updown = one
        if asian:
            every = int64(pp[3])
            geometric = pp[4]
            hlog, updown = pp[5], pp[6]
            has_barrier = pp[8]
            uh = updown * hlog
            # dead today: already knocked, or the spot at or beyond the barrier (x = 0)
            if pp[9] or (has_barrier and updown * (zero - hlog) >= zero):
                alive0 = zero
        st0 = m_init(mp)
        for s in range(n_signs):
            for lane in range(LANES):
                store(S, s, lane, st0)
                T[s, lane] = zero
                A[s, lane] = alive0
        n_blocks = (n_steps * ms + 3) // 4
        used = n_steps * ms if n_steps * ms <= 2 else 0  # 1-2 normals a path: only those are drawn
        left = every
        i = 0
        c = 0
        while c < n_blocks:
            nb = min(CHUNK, n_blocks - c)
            fill(Z, W, base, int64(c), int64(nb), int64(used), k0, k1, stream)
            n_rows = min(4 * nb // ms, n_steps - i)  # whole steps: the slots per step divide 4
            for r in range(n_rows):
                fix = False
                if asian:
                    left -= 1
                    if left == 0:
                        fix = True
                        left = every
                ra = r * ms
                rb = ra + ms - 1  # the step's second normal (its first again for a 1-slot model)
                for s in range(n_signs):
                    sg = one if s == 0 else -one
                    if not (has_barrier or fix):  # the European's steps, and the Asian's between fixings
                        for lane in range(LANES):
                            st, _ = m_step(load(S, s, lane), sg * Z[ra, lane], sg * Z[rb, lane], zero, mp)
                            store(S, s, lane, st)
                        continue
                    for lane in range(LANES):
                        st, _ = m_step(load(S, s, lane), sg * Z[ra, lane], sg * Z[rb, lane], zero, mp)
                        store(S, s, lane, st)
                        x = st[0]
                        A[s, lane] = zero if (has_barrier and updown * x >= uh) else A[s, lane]
                        if fix:
                            T[s, lane] = T[s, lane] + (x if geometric else exp(x))
            i += n_rows
            c += nb
        for s in range(n_signs):
            for lane in range(LANES):
                x = S[0, s, lane]
                if asian:
                    strike, sign, n_total, past = pp[0], pp[1], pp[2], pp[7]
                    if geometric:
                        avg = s0 * exp((past + T[s, lane]) / n_total)
                    else:
                        avg = (past + s0 * T[s, lane]) / n_total
                    v = max(sign * (avg - strike), zero) * A[s, lane]
                elif code == DIGITAL:
                    strike, sign, payout = pp[0], pp[1], pp[2]
                    v = payout if sign * (s0 * exp(x) - strike) > zero else payout - payout
                else:
                    strike, sign = pp[0], pp[1]
                    v = max(sign * (s0 * exp(x) - strike), zero)
                v = v * disc
                P[lane] = v if s == 0 else (P[lane] + v) * half
        # each tile's own lanes, in index order; tasks are whole groups (their tile count a multiple of GROUP),
        # so only the job's last group is cut short, by the end of ``sums``
        for g in range(min(GROUP, sums.shape[0] - t0)):
            sm = shift - shift
            sq = shift - shift
            for lane in range(g * TILE, g * TILE + TILE):
                if base + lane < n_samples:
                    y = P[lane] - shift
                    sm += y
                    sq += y * y
            sums[t0 + g] = sm
            sqs[t0 + g] = sq

    @njit(error_model="numpy")
    def task(
        t_lo, t_hi, first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover - compiled
        """Tiles ``t_lo .. t_hi - 1`` of ``sums``, a group at a time, with scratch arrays of its own."""
        hint()
        Z = np.empty((4 * CHUNK, LANES), dtype=nb_dtype)
        W = np.empty((4, LANES), dtype=np.uint32)
        S = np.empty((n_state, 2, LANES), dtype=nb_dtype)
        T = np.empty((2, LANES), dtype=nb_dtype)
        A = np.empty((2, LANES), dtype=nb_dtype)
        P = np.empty(LANES, dtype=nb_dtype)
        for t0 in range(t_lo, t_hi, GROUP):
            base = (first_tile + t0) * TILE
            group(t0, sums, sqs, n_samples, Z, W, S, T, A, P, base,
                  antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)  # fmt: skip

    # the parallel loop only calls ``task``: numba's array analysis of a prange body fails on the inlined
    # Heston step's tuples, and the loop's own code stays small
    @njit(parallel=True, error_model="numpy")
    def kernel(
        first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover - compiled
        n_tiles = sums.shape[0]
        per = GROUP * max(1, min(TASK_TILES, n_tiles // MIN_TASKS) // GROUP)
        n_tasks = (n_tiles + per - 1) // per
        for j in prange(n_tasks):
            t_hi = min(n_tiles, (j + 1) * per)
            task(j * per, t_hi, first_tile, n_samples, sums, sqs,
                 antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)  # fmt: skip

    _CACHE[key] = cached(kernel, ("tiles_lanes", key))
    return kernel
