"""Randomised quasi-Monte Carlo pricing: scrambled Sobol, inverse normal CDF, Brownian bridge.

``price(..., qmc=True)`` lands here. The ``n_paths`` points are ``randomisations`` independent
scramblings (``riskgpu.rng.sobol``) of the first ``2**m`` Sobol points each; each scrambling gives an
unbiased estimate, their mean is the price and their spread its standard error.

Sobol dimension layout: the bridge's column ``rank`` of factor ``f`` (``rank`` 0 sets ``W(T)``) is
dimension ``rank * n_factors + f``, so the leading (best distributed) dimensions carry every factor's
terminal value and coarse shape. Each factor's bridge turns its columns into standard-normal
increments per step, fed to the model's step at normal index ``step * n_assets + asset`` exactly like
Philox normals (the model correlates them by its Cholesky factor).

The Sobol points are generated on the host and the paths run through the numpy reference
(``path_data`` + ``payoffs``) on every backend; a device Sobol kernel is a later performance item.
"""

from __future__ import annotations

import math

import numpy as np

from riskgpu._checks import positive_int
from riskgpu.backends import NAMES
from riskgpu.backends.job import PricingJob
from riskgpu.backends.reference import BATCH_ELEMENTS, path_data, payoffs
from riskgpu.rng.sobol import MAX_DIM, brownian_bridge, sobol_normals

#: Bits per Sobol coordinate (scipy's default): at most ``2**BITS`` points per randomisation.
BITS = 30


def check_job(job: PricingJob, randomisations: int) -> int:
    """Points per randomisation ``n_samples // randomisations`` (a power of two), or ValueError naming the
    field that QMC does not support."""
    model, product = job.model, job.product
    if getattr(model, "kernel_id", None) != "gbm":
        raise ValueError(f"qmc=True supports GBM models only, got model={type(model).__name__}")
    if product.slots != 0:
        raise ValueError(
            f"qmc=True needs a product without its own normals (slots == 0); {type(product).__name__} has "
            f"slots={product.slots} (continuous monitoring draws a bridge extreme per step)"
        )
    if job.antithetic:
        raise ValueError("qmc=True cannot be combined with antithetic=True")
    if job.stream != 0:
        raise ValueError(f"qmc=True draws its scrambles from stream STREAM_QMC=3: stream must be 0, got {job.stream}")
    randomisations = positive_int("qmc_price", "randomisations", randomisations, min_value=2)
    per, rest = divmod(job.n_samples, randomisations)
    if rest or per < 1 or per & (per - 1) or per > 1 << BITS:
        raise ValueError(
            f"qmc=True needs n_paths = randomisations * 2**m (m <= {BITS}): n_paths={job.n_samples} with "
            f"randomisations={randomisations} gives {job.n_samples / randomisations:g} points per randomisation"
        )
    dim = job.n_steps * model.n_assets
    if dim > MAX_DIM:
        raise ValueError(
            f"qmc=True needs n_steps * n_assets <= {MAX_DIM} Sobol dimensions, got n_steps={job.n_steps} "
            f"with {model.n_assets} assets"
        )
    return per


def qmc_normals(job: PricingJob, first: int, count: int, randomisation: int) -> np.ndarray:
    """Bridged Sobol normals ``(count, n_steps * n_assets)`` of points ``first ..`` (normal index
    ``step * n_assets + asset``), in the job's dtype: what ``path_data(normals=...)`` takes."""
    n_f, n_steps = job.model.n_assets, job.n_steps
    seed = job.key[0] | job.key[1] << 32
    z = sobol_normals(first, count, n_steps * n_f, seed=seed, randomisation=randomisation, dtype=np.float64, bits=BITS)
    by_factor = z.reshape(count, n_steps, n_f).transpose(0, 2, 1).reshape(count * n_f, n_steps)  # rank-major
    inc = brownian_bridge(by_factor, n_steps).reshape(count, n_f, n_steps).transpose(0, 2, 1)
    return np.ascontiguousarray(inc.reshape(count, n_steps * n_f), dtype=job.dtype)


def qmc_price(job: PricingJob, *, randomisations: int, backend: str) -> tuple[float, float, int]:
    """Randomised QMC price of ``job``: ``(value, stderr, randomisations)``.

    Parameters
    ----------
    job : from ``riskgpu.api.make_job``; a GBM model (one or several assets), a product with
        ``slots == 0``, ``antithetic=False``, stream 0, ``n_samples = randomisations * 2**m``.
    randomisations : independent scramblings (>= 2); randomisation ``r`` uses points ``0 .. 2**m - 1``.
    backend : a concrete backend name (``"reference"``, ``"cpu"``, ``"gpu"``); all three run the same
        host Sobol generator and numpy reference paths, in batches of at most ``BATCH_ELEMENTS`` path points.

    Returns
    -------
    The mean of the ``randomisations`` discounted-payoff means, the standard error
    ``sd(means, ddof=1) / sqrt(randomisations)``, and ``randomisations``. Tested against Black-Scholes
    (European), plain Monte Carlo (arithmetic Asian, basket) within k standard errors.
    """
    if backend not in NAMES:
        raise ValueError(f"qmc_price.backend must be one of {', '.join(map(repr, NAMES))}, got {backend!r}")
    per = check_job(job, randomisations)
    times = np.linspace(0.0, job.product.maturity, job.n_steps + 1)
    batch = max(1, BATCH_ELEMENTS // ((job.n_steps + 1) * job.model.n_assets))
    disc = job.dtype.type(job.disc)
    means = []
    for r in range(randomisations):
        sums = []
        for first in range(0, per, batch):
            count = min(batch, per - first)
            data = path_data(
                job.model,
                dt=job.dt,
                n_steps=job.n_steps,
                paths=np.arange(first, first + count, dtype=np.uint64),
                key=job.key,
                stream=job.stream,
                dtype=job.dtype,
                normals=qmc_normals(job, first, count, r),
            )
            values = payoffs(job.product, job.model, data, times) * disc
            sums.append(float(np.sum(values, dtype=np.float64)))
        means.append(math.fsum(sums) / per)
    m = np.asarray(means)
    return float(m.mean()), float(m.std(ddof=1) / math.sqrt(randomisations)), randomisations
