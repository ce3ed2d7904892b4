"""CUDA kernels built from the same per-path functions as the CPU kernels.

Imported only by the gpu backend (and the PTX inspection tool): it imports ``numba.cuda``.

Launch-shape independence: the block size must be a multiple of ``TILE`` (checked by the launcher);
each thread computes one sample, writes it to shared memory, and the first thread of each tile sums
its ``TILE`` values sequentially, exactly as the CPU kernel does. Grid-stride loops are block-uniform
(every thread of a block runs the same iterations), so ``syncthreads`` is safe at any grid size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import cuda, float32, from_dtype

from riskgpu.kernels.factory import TILE, path_filler
from riskgpu.rng.philox import TWO_PI, cos_sin_2pi

#: Largest block size the kernels accept (the shared-memory tile buffers are this long).
MAX_BLOCK = 1024

_CACHE: dict[tuple, Callable] = {}


def _register_cuda_cos_sin() -> None:
    if getattr(cos_sin_2pi, "_riskgpu_cuda", False):
        return
    from numba.cuda import libdevice
    from numba.cuda.extending import overload

    @overload(cos_sin_2pi, target="cuda", inline="always")
    def _cos_sin_2pi_cuda(u):
        if u == float32:
            two_pi = float32(TWO_PI)

            def impl32(u):  # pragma: no cover - compiled
                # float32 kernels are the fast-math speed mode: the SFU's sin/cos (MUFU), absolute error
                # below 2**-20.5 on [-100 pi, 100 pi] (PTX sin.approx), so 2 pi u in (0, 2 pi) is in range
                a = two_pi * u
                return libdevice.fast_cosf(a), libdevice.fast_sinf(a)

            return impl32

        def impl64(u):  # pragma: no cover - compiled
            a = u + u
            return libdevice.cospi(a), libdevice.sinpi(a)

        return impl64

    cos_sin_2pi._riskgpu_cuda = True


_register_cuda_cos_sin()


def _device(fn: Callable) -> Callable:
    # Under the simulator, device code runs as Python; a compiled CPU function cannot take the
    # simulator's fake device arrays, so functions that take arrays run from their Python source.
    from numba import config

    return fn.py_func if config.ENABLE_CUDASIM else fn


def fast_device(fn: Callable) -> Callable:
    """``fn`` (an ``@njit`` per-path function) as a CUDA device function compiled with fast math.

    The float32 kernels' speed mode: ``exp``/``log``/``sin``/``cos`` become the SFU's approximations
    (``__expf``, ``__logf``, ...), division and square root their approximate forms and multiply-adds
    contract. Under the simulator, ``fn`` itself (the simulator computes in Python floats anyway).
    """
    from numba import config

    if config.ENABLE_CUDASIM:
        return fn
    return cuda.jit(device=True, fastmath=True)(fn.py_func)


@cuda.jit(device=True)
def _tile_sums(buf_s, buf_q, first):  # pragma: no cover - compiled
    """Sequential sums of ``buf[first : first + TILE]``: compiled without fast math, so the additions
    stay in index order (the CPU kernel's order) inside a fast-math kernel."""
    s = buf_s[first]
    q = buf_q[first]
    for lane in range(1, TILE):
        s += buf_s[first + lane]
        q += buf_q[first + lane]
    return s, q


@cuda.jit(device=True)
def _store_tile(buf_s, buf_q, tid, k, n_lanes, y, sums, sqs):  # pragma: no cover - compiled
    """Thread ``tid`` puts its centred sample ``y`` (lane ``k`` of the launch) in shared memory; the first
    thread of each tile writes the tile's sequential sums. Called by every thread of the block (it syncs)."""
    buf_s[tid] = y
    buf_q[tid] = y * y
    cuda.syncthreads()
    if tid % TILE == 0 and k < n_lanes:
        s, q = _tile_sums(buf_s, buf_q, tid)
        sums[k // TILE] = s
        sqs[k // TILE] = q
    cuda.syncthreads()


def _typed(sample: Callable, dtype: np.dtype) -> tuple[object, bool, Callable]:
    """``(numba dtype, fast math?, sample as the kernel calls it)`` for a tiles kernel in ``dtype``: float32
    kernels are the fast-math mode (``fast_device``)."""
    fast = np.dtype(dtype) == np.float32
    return from_dtype(np.dtype(dtype)), fast, fast_device(sample) if fast else sample


def tiles_kernel(sample: Callable, dtype: np.dtype) -> Callable:
    """CUDA twin of ``tiles_cpu``: same arguments, same per-tile sequential sums.

    float32 is the fast-math speed mode: ``sample`` runs as a fast-math device function
    (``fast_device``) in a kernel compiled with fast math (``ftz``, approximate square root and division
    for the whole module), the tile sums in order (``_tile_sums``). float64 runs as written.
    """
    key = ("tiles", id(sample), np.dtype(dtype).name)
    if key in _CACHE:
        return _CACHE[key]
    nb_dtype, fast, sample = _typed(sample, dtype)

    @cuda.jit(fastmath=fast)
    def kernel(
        first_tile, n_samples, sums, sqs, antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift
    ):  # pragma: no cover
        buf_s = cuda.shared.array(MAX_BLOCK, nb_dtype)
        buf_q = cuda.shared.array(MAX_BLOCK, nb_dtype)
        tid = cuda.threadIdx.x
        n_lanes = sums.shape[0] * TILE
        stride = cuda.gridDim.x * cuda.blockDim.x
        for base in range(cuda.blockIdx.x * cuda.blockDim.x, n_lanes, stride):
            k = base + tid
            y = shift - shift
            idx = first_tile * TILE + k
            if k < n_lanes and idx < n_samples:
                y = sample(idx, antithetic, k0, k1, stream, mp, pp, n_steps, disc) - shift
            _store_tile(buf_s, buf_q, tid, k, n_lanes, y, sums, sqs)

    _CACHE[key] = kernel
    return kernel


def tiles_array_kernel(sample: Callable, dtype: np.dtype) -> Callable:
    """``rng="cupy"``: ``tiles_kernel`` for an ``array_sample_function`` (normals read from ``z``).

    ``kernel(n_samples, sums, sqs, antithetic, z, mp, pp, n_steps, disc, shift)``: lane ``k`` prices
    column ``k`` of ``z`` (``(n_dims, >= n_samples)``), tile ``t`` sums lanes ``32 t ..``; the caller
    offsets ``z`` and ``sums`` to the chunk. float32: fast math, as ``tiles_kernel``.
    """
    key = ("tiles_array", id(sample), np.dtype(dtype).name)
    if key in _CACHE:
        return _CACHE[key]
    nb_dtype, fast, sample = _typed(sample, dtype)

    @cuda.jit(fastmath=fast)
    def kernel(n_samples, sums, sqs, antithetic, z, mp, pp, n_steps, disc, shift):  # pragma: no cover
        buf_s = cuda.shared.array(MAX_BLOCK, nb_dtype)
        buf_q = cuda.shared.array(MAX_BLOCK, nb_dtype)
        tid = cuda.threadIdx.x
        n_lanes = sums.shape[0] * TILE
        stride = cuda.gridDim.x * cuda.blockDim.x
        for base in range(cuda.blockIdx.x * cuda.blockDim.x, n_lanes, stride):
            k = base + tid
            y = shift - shift
            if k < n_lanes and k < n_samples:
                y = sample(k, antithetic, z, mp, pp, n_steps, disc) - shift
            _store_tile(buf_s, buf_q, tid, k, n_lanes, y, sums, sqs)

    _CACHE[key] = kernel
    return kernel


def simulate_kernel(dtype: np.dtype) -> Callable:
    """CUDA twin of ``simulate_cpu``: one thread per path, the same ``fill_path`` body."""
    key = ("simulate", np.dtype(dtype).name)
    if key in _CACHE:
        return _CACHE[key]
    fill_path = _device(path_filler(dtype)[0])

    @cuda.jit
    def kernel(out, first_path, k0, k1, stream, spot, drift, vsq, chol, n_steps):  # pragma: no cover
        p = cuda.grid(1)
        stride = cuda.gridsize(1)
        while p < out.shape[0]:
            fill_path(out[p], first_path + p, k0, k1, stream, spot, drift, vsq, chol, n_steps)
            p += stride

    _CACHE[key] = kernel
    return kernel
