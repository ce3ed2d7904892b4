"""The reference backend: numpy, stored paths, clear code. Every other backend is checked against it."""

from __future__ import annotations

import numpy as np

from riskgpu.backends.job import PricingJob
from riskgpu.kernels import TILE
from riskgpu.rng import normals_np

#: Stored-path elements per batch (paths x points): bounds the reference backend's memory.
BATCH_ELEMENTS = 1 << 22


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

    Same arithmetic order as the kernels: normals, correlated by the Cholesky factor, then
    ``x <- (x + drift dt) + vol sqrt(dt) z`` step by step for ``x = log(S / spot)``, ``S = spot exp(x)``.
    ``normals`` of shape ``(len(paths), n_steps * n_assets)`` replace the Philox draws (zeros give the
    drift-only path).
    """
    n_assets = model.n_assets
    d = dtype.type
    if normals is None:
        normals = normals_np(n_steps * n_assets, paths, key=key, stream=stream, dtype=dtype)
    z = normals.reshape(len(paths), n_steps, n_assets) * d(sign)
    if n_assets > 1:
        z = z @ model.cholesky.T.astype(dtype)
    drift, vsq = (c.astype(dtype) for c in model.step_coefficients(dt))
    out = np.empty((len(paths), n_steps + 1, n_assets), dtype=dtype)
    spot = model.spots.astype(dtype)
    out[:, 0, :] = spot
    x = np.zeros((len(paths), n_assets), dtype=dtype)  # log(S / spot)
    for s in range(n_steps):
        x = x + drift + vsq * z[:, s, :]
        out[:, s + 1, :] = spot * np.exp(x)
    return out


def discounted_payoffs(job: PricingJob, samples: np.ndarray) -> np.ndarray:
    """Discounted payoff per sample (antithetic pairs averaged), in the job's dtype."""
    times = np.linspace(0.0, job.product.maturity, job.n_steps + 1)
    d = job.dtype.type

    def one(sign: float) -> np.ndarray:
        paths = simulate_paths(
            job.model,
            dt=job.dt,
            n_steps=job.n_steps,
            paths=samples,
            key=job.key,
            stream=job.stream,
            dtype=job.dtype,
            sign=sign,
        )
        return job.product.payoff_paths(paths[:, :, 0], times, np) * d(job.disc)

    v = one(1.0)
    if job.antithetic:
        v = (v + one(-1.0)) * d(0.5)
    return v


def tile_sums(job: PricingJob, first_tile: int, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile ``(sum, sum of squares)`` of ``payoff - shift`` for tiles ``first_tile ..``, sequential per tile."""
    sums = np.zeros(n_tiles, dtype=job.dtype)
    sqs = np.zeros(n_tiles, dtype=job.dtype)
    per_sample = (job.n_steps + 1) * (2 if job.antithetic else 1)
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
