"""A pricing job: everything a backend needs, resolved once on the host (no state kept between calls)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from riskgpu.backends import to_host
from riskgpu.kernels import TILE


def centred_estimate(s: float, q: float, n: float, shift: float) -> tuple[float, float]:
    """``(mean, stderr)`` of ``n`` samples from the sums ``s`` and ``q`` of ``x - shift`` and ``(x - shift)**2``
    (centring keeps ``q - s * mean`` from cancelling badly); stderr 0 for one sample."""
    mean = s / n
    var = max(q - s * mean, 0.0) / (n - 1) if n > 1 else 0.0
    return shift + mean, math.sqrt(var / n)


def tile_counts(n_samples: int) -> np.ndarray:
    """Samples in each of the ``ceil(n_samples / TILE)`` tiles, float64 (the last tile may be partial)."""
    n_tiles = math.ceil(n_samples / TILE)
    return np.minimum(TILE, n_samples - TILE * np.arange(n_tiles)).astype(np.float64)


def tile_totals(values: object, xp: ModuleType = np) -> np.ndarray:
    """Sums of consecutive ``TILE``-sample runs of per-sample ``values`` ``(n,)`` (the last run zero-padded),
    float64 ``(ceil(n / TILE),)`` on the host; ``values`` may be a CuPy array (``xp``)."""
    n = values.shape[0]
    n_tiles = math.ceil(n / TILE)
    pad = n_tiles * TILE - n
    v = xp.concatenate([values, xp.zeros(pad, dtype=values.dtype)]) if pad else values
    return np.asarray(to_host(v.reshape(n_tiles, TILE).sum(axis=1)), dtype=np.float64)


@dataclass(frozen=True)
class PricingJob:
    """Resolved inputs of one pricing: model, product, grid, RNG words, kernel parameters, dtype.

    ``n_samples`` counts samples (paths, or antithetic pairs); the tiles of ``TILE`` samples are
    numbered from 0 by global sample index.
    """

    model: object
    product: object
    n_samples: int
    n_steps: int
    antithetic: bool
    key: tuple[int, int]
    stream: int
    dtype: np.dtype
    mp: tuple
    pp: tuple
    disc: float
    shift: float

    @property
    def n_tiles(self) -> int:
        """Number of tiles covering ``n_samples``."""
        return math.ceil(self.n_samples / TILE)

    def tile_counts(self) -> np.ndarray:
        """Samples in each tile, float64 ``(n_tiles,)`` (the last tile may be partial)."""
        return tile_counts(self.n_samples)

    def payoff_sums(self, sums: np.ndarray) -> np.ndarray:
        """Per-tile sums of the discounted payoff itself (the kernels' sums are centred by ``shift``), for
        tiles ``0 .. len(sums) - 1``."""
        return np.asarray(sums, dtype=np.float64) + self.shift * self.tile_counts()[: len(sums)]

    @property
    def dt(self) -> float:
        """Step length in years."""
        return self.product.maturity / self.n_steps

    def kernel_args(self) -> tuple:
        """``(antithetic, k0, k1, stream, mp, pp, n_steps, disc, shift)`` typed for the kernels."""
        d = self.dtype.type
        return (
            bool(self.antithetic),
            np.uint32(self.key[0]),
            np.uint32(self.key[1]),
            np.uint32(self.stream),
            self.mp,
            self.pp,
            np.int64(self.n_steps),
            d(self.disc),
            d(self.shift),
        )
