"""Closed forms and approximations: the oracles of the Monte Carlo engine."""

from riskgpu.analytic.asian import geometric_asian_price
from riskgpu.analytic.barrier import BGK_BETA, barrier_price, bgk_barrier, discrete_barrier_price
from riskgpu.analytic.binomial import binomial_price
from riskgpu.analytic.black_scholes import bs_greeks, bs_price, digital_price
from riskgpu.analytic.heston import heston_price
from riskgpu.analytic.lookback import lookback_price
from riskgpu.analytic.merton import merton_price
from riskgpu.analytic.moments import (
    asian_moments,
    asian_price_mm,
    basket_moments,
    basket_price_mm,
    geometric_basket_price,
)

__all__ = [
    "BGK_BETA",
    "asian_moments",
    "asian_price_mm",
    "barrier_price",
    "basket_moments",
    "basket_price_mm",
    "bgk_barrier",
    "binomial_price",
    "bs_greeks",
    "bs_price",
    "digital_price",
    "discrete_barrier_price",
    "geometric_asian_price",
    "geometric_basket_price",
    "heston_price",
    "lookback_price",
    "merton_price",
]
