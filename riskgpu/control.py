"""Control variates for ``rg.price(..., control_variate=True)`` (issue 4, first slice).

The control is priced on the same paths as the product (same seed, stream, counters and normal layout)
and has a known mean ``mu``. With per-tile sums ``Y_t`` and ``C_t`` over ``n_t`` samples, the estimate is
``mean(Y) - beta (mean(C) - mu)`` with ``beta = cov / var`` of the whole tiles' means, and the standard
error is the standard deviation of the whole tiles' residual means ``Y_t/n_t - beta C_t/n_t`` over
``sqrt(#whole tiles)`` (tiles are independent; estimating beta costs one degree of freedom, negligible
at the tile counts used).

Controls:

* arithmetic Asian (not seasoned, no barrier) on a GBM: the geometric Asian with the same terms, whose
  closed form is ``geometric_asian_price``;
* arithmetic basket with non-negative weights ``w`` (sum ``W``): the geometric basket option with weights
  ``w / W`` and strike ``K / W`` on the same paths, priced exactly by ``geometric_basket_price``;
* everything else: the discounted terminal spot, mean ``S0 e^{-qT}`` (exact for GBM, Merton and Heston
  Euler; Heston QE carries no martingale correction, so its drift error moves into the estimate).

The control runs as a second pass over the same paths (a fused single pass is a performance item).
Products that draw their own normals (continuous lookbacks) are refused: the control's paths would differ.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from riskgpu.analytic import geometric_asian_price
from riskgpu.analytic.moments import geometric_basket_price
from riskgpu.kernels import TILE


def control_for(product: object, model: object) -> tuple[object, float, str]:
    """``(control product, its discounted mean, label)`` for ``product`` under ``model``."""
    from riskgpu.models import GBM
    from riskgpu.products import Asian, Basket, European

    if product.slots:
        raise ValueError(
            f"control_variate=True is not available for {type(product).__name__} with its own random draws "
            "(continuous monitoring): the control would not see the same paths"
        )
    t = product.maturity
    if isinstance(product, Basket):
        total = sum(product.weights)
        if min(product.weights) < 0 or total <= 0 or product.average == "geometric":
            raise ValueError(
                "control_variate=True needs an arithmetic Basket with non-negative weights (a spread's value "
                f"can be < 0), got average={product.average!r}, weights={product.weights!r}"
            )
        weights = tuple(w / total for w in product.weights)
        control = dataclasses.replace(product, weights=weights, strike=product.strike / total, average="geometric")
        mean = geometric_basket_price(
            kind=product.kind,
            spots=model.spots,
            weights=weights,
            vols=model.vols,
            corr=model.cholesky @ model.cholesky.T,
            rate=model.rate,
            divs=model.divs,
            strike=control.strike,
            maturity=t,
        )
        return control, float(mean), "geometric basket"
    plain_asian = (
        isinstance(product, Asian)
        and product.average == "arithmetic"
        and product.past_fixings == 0
        and product.barrier is None
        and isinstance(model, GBM)
    )
    if plain_asian:
        control = dataclasses.replace(product, average="geometric")
        mean = geometric_asian_price(
            kind=product.kind,
            spot=model.spot,
            strike=product.strike,
            maturity=t,
            vol=model.vol,
            rate=model.rate,
            div=model.div,
            n_fixings=product.n_fixings,
        )
        return control, float(mean), "geometric Asian"
    div = float(np.atleast_1d(getattr(model, "divs", getattr(model, "div", 0.0)))[0])
    mean = float(model.spots[0]) * math.exp(-div * t)
    return European(strike=0.0, maturity=t, kind="call"), mean, "discounted terminal spot"


def estimate(
    job: object, sums: np.ndarray, control_job: object, control_sums: np.ndarray, mean: float
) -> tuple[float, float, float]:
    """``(value, stderr, beta)`` from the product's and the control's per-tile sums on the same paths
    (tiles ``0 .. len(sums) - 1``: the whole job, or the batches so far under a tolerance)."""
    counts = job.tile_counts()[: len(sums)]
    y = job.payoff_sums(sums)
    c = control_job.payoff_sums(control_sums)
    n = counts.sum()
    y_bar = math.fsum(y.tolist()) / n
    c_bar = math.fsum(c.tolist()) / n
    full = counts == TILE
    if full.sum() < 3:
        raise ValueError(
            f"control_variate=True needs at least 3 whole tiles ({3 * TILE} samples), got {int(counts.sum())}"
        )
    ym, cm = y[full] / TILE, c[full] / TILE
    var_c = float(np.var(cm, ddof=1))
    beta = float(np.cov(ym, cm, ddof=1)[0, 1] / var_c) if var_c > 0 else 0.0
    value = y_bar - beta * (c_bar - mean)
    resid = ym - beta * cm
    return value, float(np.std(resid, ddof=1) / math.sqrt(full.sum())), beta
