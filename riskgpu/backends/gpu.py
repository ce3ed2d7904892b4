"""The gpu backend: numba.cuda fused kernels on CuPy arrays (or the numba CUDA simulator).

``numba.cuda`` and CuPy are imported lazily, here only. Array logic is written against ``xp``:
CuPy on a real device, numpy under the simulator (``NUMBA_ENABLE_CUDASIM=1``), where the kernels run
on the CPU in Python: tiny sizes, for testing indexing and logic.
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import ModuleType

import numpy as np

from riskgpu.backends.job import PricingJob
from riskgpu.kernels import TILE, kernel_sample

#: Default threads per block (a multiple of TILE).
BLOCK = 128
#: Upper bound on blocks per launch; the kernels grid-stride beyond it.
MAX_GRID = 65535
#: ``rng="cupy"``: most bytes of normals one chunk holds on the device (less when a quarter of the free
#: device memory is less).
BULK_BYTES = 1 << 30


def simulated() -> bool:
    """True when numba's CUDA simulator is on."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


@lru_cache(maxsize=1)
def status() -> tuple[bool, str]:
    """``(usable, detail)`` of the gpu backend; never raises."""
    if simulated():
        return True, "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1): tests only, auto never picks it"
    try:
        from numba import cuda
    except Exception as exc:  # pragma: no cover - depends on the install
        return False, f"numba.cuda cannot be imported: {exc}"
    try:
        if not cuda.is_available():
            return False, "no CUDA driver or device found (numba.cuda.is_available() is False)"
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:  # pragma: no cover - needs a broken driver
        return False, f"CUDA device not usable: {exc}"
    try:
        import cupy  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the install
        return False, f"CuPy is not importable ({exc}); install riskgpu[gpu-cu12] or riskgpu[gpu-cu13]"
    return True, f"CUDA device {name}"  # pragma: no cover - needs a GPU


def xp() -> ModuleType:
    """The array module of this backend: CuPy on a device, numpy under the simulator."""
    if simulated():
        return np
    import cupy  # pragma: no cover - needs a GPU

    return cupy  # pragma: no cover


def _launch(kernel, grid: int, block: int):  # noqa: ANN001, ANN202
    if simulated():
        return kernel[grid, block]
    import cupy  # pragma: no cover - needs a GPU
    from numba import cuda  # pragma: no cover

    ptr = cupy.cuda.get_current_stream().ptr  # pragma: no cover
    stream = cuda.default_stream() if ptr == 0 else cuda.external_stream(ptr)  # pragma: no cover
    return kernel[grid, block, stream]  # pragma: no cover


def _shape(n_threads: int, launch: tuple[int, int] | None) -> tuple[int, int]:
    grid, block = launch if launch is not None else (min(MAX_GRID, max(1, math.ceil(n_threads / BLOCK))), BLOCK)
    from riskgpu.kernels.cuda import MAX_BLOCK

    if block % TILE or not 0 < block <= MAX_BLOCK or grid < 1:
        raise ValueError(
            f"launch (grid, block) = ({grid}, {block}): block must be a multiple of {TILE} up to {MAX_BLOCK}"
        )
    return grid, block


def tile_sums(
    job: PricingJob, first_tile: int, n_tiles: int, *, launch: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile ``(sum, sum of squares)`` from the CUDA kernel, copied to the host.

    ``launch=(grid, block)`` overrides the launch shape (tests run two); results do not depend on it.
    """
    from riskgpu.kernels.cuda import tiles_kernel

    m = xp()
    sums = m.zeros(n_tiles, dtype=job.dtype)
    sqs = m.zeros(n_tiles, dtype=job.dtype)
    if n_tiles:
        # The device runs the block form (one Philox block feeds 4 // slots unrolled steps). The simulator runs
        # the one-step form, the per-path CPU kernel's compiled function: bitwise the same numbers
        # (tests/test_backends.py), where compiling the unrolled form for the CPU once per pair and dtype
        # doubled the test suite's time.
        sample = kernel_sample(job.model, job.product, job.dtype, blocks=not simulated())
        grid, block = _shape(n_tiles * TILE, launch)
        _launch(tiles_kernel(sample, job.dtype), grid, block)(
            np.int64(first_tile), np.int64(job.n_samples), sums, sqs, *job.kernel_args()
        )
    if m is np:
        return sums, sqs
    return m.asnumpy(sums), m.asnumpy(sqs)  # pragma: no cover - needs a GPU


def normal_generator(seed: int, stream: int) -> object:
    """``rng="cupy"``: the array module's default generator seeded from ``(seed, stream)`` (through numpy's
    ``SeedSequence``): CuPy's (cuRAND XORWOW) on a device, numpy's under the simulator."""
    return xp().random.default_rng([seed, stream])


def bulk_tile_sums(
    job: PricingJob,
    first_tile: int,
    n_tiles: int,
    *,
    generator: object,
    launch: tuple[int, int] | None = None,
    chunk_bytes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``tile_sums`` with ``rng="cupy"``: the normals drawn by ``generator`` into device memory, in chunks of
    whole tiles of at most ``chunk_bytes`` (default ``BULK_BYTES``, capped at a quarter of the free device
    memory), then fed to the same steppers (``riskgpu.kernels.bulk``).

    The samples take the generator's normals in chunk order, dimension-major within a chunk, so the result
    depends on the chunk size and on the generator's state, not only on the tiles (unlike Philox).
    """
    from riskgpu._memory import device_available_bytes, ensure_fits
    from riskgpu.kernels.bulk import array_sample_function
    from riskgpu.kernels.cuda import tiles_array_kernel

    m = xp()
    sums = m.zeros(n_tiles, dtype=job.dtype)
    sqs = m.zeros(n_tiles, dtype=job.dtype)
    n_dims = job.n_steps * (job.model.slots + job.product.slots)
    per_tile = TILE * n_dims * job.dtype.itemsize
    budget = BULK_BYTES if chunk_bytes is None else chunk_bytes
    avail = None if simulated() else device_available_bytes()
    if avail is not None:
        budget = min(budget, avail // 4)
        what = f"one tile of {TILE} samples x {n_dims} normals in {job.dtype.name}"
        ensure_fits("price(rng='cupy')", per_tile, what, "use rng='philox' (no stored normals)", device=True)
    chunk = max(1, budget // per_tile)
    sample = array_sample_function(job.model, job.product, job.dtype, python=simulated())
    kernel = tiles_array_kernel(sample, job.dtype)
    antithetic, _k0, _k1, _stream, *rest = job.kernel_args()
    for t in range(0, n_tiles, chunk):
        nt = min(chunk, n_tiles - t)
        n_here = min(nt * TILE, job.n_samples - (first_tile + t) * TILE)
        z = generator.standard_normal((n_dims, n_here), dtype=job.dtype)
        grid, block = _shape(nt * TILE, launch)
        _launch(kernel, grid, block)(np.int64(n_here), sums[t : t + nt], sqs[t : t + nt], antithetic, z, *rest)
    if m is np:
        return sums, sqs
    return m.asnumpy(sums), m.asnumpy(sqs)  # pragma: no cover - needs a GPU


def simulate(
    model: object,
    *,
    dt: float,
    n_steps: int,
    n_paths: int,
    key: tuple[int, int],
    stream: int,
    dtype: np.dtype,
    launch: tuple[int, int] | None = None,
) -> object:
    """All paths ``(n_paths, n_steps + 1, n_assets)`` as a device array (CuPy; numpy under the simulator)."""
    from riskgpu.backends.cpu import simulate_args
    from riskgpu.kernels.cuda import simulate_kernel

    m = xp()
    out = m.empty((n_paths, n_steps + 1, model.n_assets), dtype=dtype)
    args = tuple(m.asarray(a) for a in simulate_args(model, dt, dtype))
    grid, block = _shape(n_paths, launch)
    _launch(simulate_kernel(dtype), grid, block)(
        out, np.int64(0), np.uint32(key[0]), np.uint32(key[1]), np.uint32(stream), *args, np.int64(n_steps)
    )
    return out
