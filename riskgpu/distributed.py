"""Pricing on a Dask cluster: the tiles of a pricing job as tasks, combined by tile index.

DESIGN.md section 4: a counter-based stream and fixed tiles of paths make each tile's sums a function of the
job and the tile index alone, so any split of the tiles into tasks, on any worker, gives the same bytes as one
process. ``rg.price(..., client=client)`` sends ``tiles_per_task`` whole tiles per task (default: about four
tasks per worker) and concatenates the results in tile order, never in completion order. A task lost with
its worker is re-run by the scheduler elsewhere with the same result. Dask is imported by the caller's client;
this module imports nothing from it. Tested on a ``distributed.LocalCluster`` against in-process pricing,
bitwise, for several task sizes.
"""

from __future__ import annotations

import math

import numpy as np


def _tiles(backend: str, job: object, first_tile: int, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """One task: ``(sums, sums of squares)`` of tiles ``first_tile .. first_tile + n_tiles - 1``."""
    from riskgpu.backends import module

    return module(backend).tile_sums(job, first_tile, n_tiles)


def default_tiles_per_task(client: object, n_tiles: int) -> int:
    """About four tasks per worker of ``client`` (at least one tile each)."""
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return max(1, math.ceil(n_tiles / (4 * workers)))


def tile_sums(client: object, backend: str, job: object, *, tiles_per_task: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile sums of ``job`` (every tile) computed as Dask tasks of ``tiles_per_task`` tiles each.

    Returns the same arrays as ``backend``'s ``tile_sums(job, 0, job.n_tiles)``, bitwise (the tasks'
    results are gathered in tile order).
    """
    if not isinstance(tiles_per_task, int) or isinstance(tiles_per_task, bool) or tiles_per_task < 1:
        raise ValueError(f"price.tiles_per_task must be a positive integer, got {tiles_per_task!r}")
    starts = range(0, job.n_tiles, tiles_per_task)
    futures = [
        client.submit(_tiles, backend, job, a, min(tiles_per_task, job.n_tiles - a), pure=True, retries=1)
        for a in starts
    ]
    parts = client.gather(futures)
    dtype = job.dtype
    if not parts:
        return np.zeros(0, dtype=dtype), np.zeros(0, dtype=dtype)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
