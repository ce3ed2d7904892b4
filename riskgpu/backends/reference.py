"""The reference backend: numpy, stored paths, clear code. Every other backend is checked against it."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from riskgpu.backends.job import PricingJob
from riskgpu.kernels import TILE
from riskgpu.rng import normals_np

#: Stored-path elements per batch (paths x points): bounds the reference backend's memory.
BATCH_ELEMENTS = 1 << 22


def path_data(
    model: object,
    *,
    dt: float,
    n_steps: int,
    paths: np.ndarray,
    key: tuple[int, int],
    stream: int,
    dtype: np.dtype,
    sign: float = 1.0,
    normals: np.ndarray | None = None,
    extra_slots: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Stored paths for the global path indices ``paths``: ``(spots, var, w)``.

    Step ``s`` reads normals ``s * S + slot``, ``S = model.slots + extra_slots`` (DESIGN.md section 3):
    the model's slots drive ``model.paths_np``, which returns spots ``(n, n_steps + 1, n_assets)`` and
    the steps' log variances ``(n, n_steps, n_assets)``; the product's extra slot (0 or 1) comes back
    as ``w`` ``(n, n_steps)`` (None without one). ``normals`` ``(n, n_steps * S)`` replace the Philox
    draws (zeros give the drift-only path); ``sign=-1`` gives the antithetic path.
    """
    n_slots = model.slots + extra_slots
    if normals is None:
        normals = normals_np(n_steps * n_slots, paths, key=key, stream=stream, dtype=dtype)
    z = normals.reshape(len(paths), n_steps, n_slots) * dtype.type(sign)
    spots, var = model.paths_np(z[:, :, : model.slots], dt=dt, dtype=dtype)
    return spots, var, (z[:, :, model.slots] if extra_slots else None)


def simulate_paths(
    model: object,
    *,
    dt: float,
    n_steps: int,
    paths: np.ndarray,
    key: tuple[int, int],
    stream: int,
    dtype: np.dtype,
    sign: float = 1.0,
    normals: np.ndarray | None = None,
) -> np.ndarray:
    """Spot paths ``(len(paths), n_steps + 1, n_assets)`` for the global path indices ``paths``.

    Same arithmetic order as the kernels (see the model's ``paths_np``). ``normals`` of shape
    ``(len(paths), n_steps * model.slots)`` replace the Philox draws.
    """
    return path_data(
        model, dt=dt, n_steps=n_steps, paths=paths, key=key, stream=stream, dtype=dtype, sign=sign, normals=normals
    )[0]


def payoffs(product: object, model: object, data: tuple, times: np.ndarray, xp: ModuleType = np) -> np.ndarray:
    """Undiscounted payoffs of stored ``path_data`` (single-asset products see asset 0).

    Products get today's spot in float64 (``spot=``), as the kernels do: levels such as
    ``log(barrier / spot)`` must not be taken from a float32-rounded path point.
    """
    spots, var, w = data
    if getattr(product, "multi_asset", False):
        return product.payoff_paths(spots, times, xp, var=var, w=w, rate=model.rate)
    return product.payoff_paths(
        spots[:, :, 0], times, xp, var=var[:, :, 0], w=w, rate=model.rate, spot=float(model.spots[0])
    )


def discounted_payoffs(job: PricingJob, samples: np.ndarray) -> np.ndarray:
    """Discounted payoff per sample (antithetic pairs averaged), in the job's dtype."""
    times = np.linspace(0.0, job.product.maturity, job.n_steps + 1)
    d = job.dtype.type

    def one(sign: float) -> np.ndarray:
        data = path_data(
            job.model,
            dt=job.dt,
            n_steps=job.n_steps,
            paths=samples,
            key=job.key,
            stream=job.stream,
            dtype=job.dtype,
            sign=sign,
            extra_slots=job.product.slots,
        )
        return payoffs(job.product, job.model, data, times) * d(job.disc)

    v = one(1.0)
    if job.antithetic:
        v = (v + one(-1.0)) * d(0.5)
    return v


def tile_sums(job: PricingJob, first_tile: int, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile ``(sum, sum of squares)`` of ``payoff - shift`` for tiles ``first_tile ..``, sequential per tile."""
    sums = np.zeros(n_tiles, dtype=job.dtype)
    sqs = np.zeros(n_tiles, dtype=job.dtype)
    per_sample = (job.n_steps + 1) * job.model.n_assets * (2 if job.antithetic else 1)
    tiles_per_batch = max(1, BATCH_ELEMENTS // (per_sample * TILE))
    shift = job.dtype.type(job.shift)
    for t0 in range(0, n_tiles, tiles_per_batch):
        nt = min(tiles_per_batch, n_tiles - t0)
        start = (first_tile + t0) * TILE
        stop = min(start + nt * TILE, job.n_samples)
        y = np.zeros(nt * TILE, dtype=job.dtype)
        if stop > start:
            y[: stop - start] = discounted_payoffs(job, np.arange(start, stop, dtype=np.uint64)) - shift
        y = y.reshape(nt, TILE)
        s = np.zeros(nt, dtype=job.dtype)
        q = np.zeros(nt, dtype=job.dtype)
        for lane in range(TILE):  # sequential within a tile, as the kernels sum
            live = np.arange(nt) * TILE + lane + start < job.n_samples
            s = np.where(live, s + y[:, lane], s)
            q = np.where(live, q + y[:, lane] * y[:, lane], q)
        sums[t0 : t0 + nt] = s
        sqs[t0 : t0 + nt] = q
    return sums, sqs


def simulate(
    model: object, *, dt: float, n_steps: int, n_paths: int, key: tuple[int, int], stream: int, dtype: np.dtype
) -> np.ndarray:
    """All paths ``(n_paths, n_steps + 1, n_assets)`` as a numpy array."""
    return simulate_paths(
        model, dt=dt, n_steps=n_steps, paths=np.arange(n_paths, dtype=np.uint64), key=key, stream=stream, dtype=dtype
    )
