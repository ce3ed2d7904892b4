"""The cpu backend: numba ``parallel=True`` fused kernels from the kernel factory."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from riskgpu.backends.job import PricingJob
from riskgpu.kernels import kernel_sample, path_filler, tiles_cpu
from riskgpu.kernels.lanes import lanes_product, tiles_lanes
from riskgpu.kernels.simd import simd_supported, tiles_simd


def tile_kernel(model: object, product: object, dtype: np.dtype, n_steps: int) -> Callable:
    """The CPU kernel of a pair for paths of ``n_steps``: the paths-inner one (``riskgpu.kernels.lanes``) for
    the one-asset GBM or Heston's Euler scheme with a European, digital or Asian (``lanes_product``); else the
    vector-drawing one (``riskgpu.kernels.simd``) where it applies (``simd_supported``: paths of 8 Philox
    blocks or more); else the per-path fused kernel (``riskgpu.kernels.tiles_cpu``). Same arguments, and tile
    sums that agree to the last bits of the vectorised math."""
    if lanes_product(model, product) is not None:
        return tiles_lanes(model, product, dtype)
    if simd_supported(model, product, n_steps):
        return tiles_simd(model, product, dtype)
    return tiles_cpu(kernel_sample(model, product, dtype, blocks=False))


def tile_sums(job: PricingJob, first_tile: int, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile ``(sum, sum of squares)`` of ``payoff - shift`` from the fused CPU kernel."""
    kernel = tile_kernel(job.model, job.product, job.dtype, job.n_steps)
    sums = np.zeros(n_tiles, dtype=job.dtype)
    sqs = np.zeros(n_tiles, dtype=job.dtype)
    if n_tiles:
        kernel(np.int64(first_tile), np.int64(job.n_samples), sums, sqs, *job.kernel_args())
    return sums, sqs


def simulate_args(model: object, dt: float, dtype: np.dtype) -> tuple:
    """``(spot, drift, vsq, chol)`` arrays in ``dtype`` for the path-filling kernels."""
    drift, vsq = model.step_coefficients(dt)
    arrays = (model.spots, drift, vsq, model.cholesky)
    return tuple(np.array(a, dtype=dtype, order="C") for a in arrays)


def simulate(
    model: object, *, dt: float, n_steps: int, n_paths: int, key: tuple[int, int], stream: int, dtype: np.dtype
) -> np.ndarray:
    """All paths ``(n_paths, n_steps + 1, n_assets)`` from the CPU kernel."""
    out = np.empty((n_paths, n_steps + 1, model.n_assets), dtype=dtype)
    _, kernel = path_filler(dtype)
    kernel(
        out,
        np.int64(0),
        np.uint32(key[0]),
        np.uint32(key[1]),
        np.uint32(stream),
        *simulate_args(model, dt, dtype),
        np.int64(n_steps),
    )
    return out
