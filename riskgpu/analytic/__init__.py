"""Closed forms and approximations: the oracles of the Monte Carlo engine."""

from riskgpu.analytic.asian import geometric_asian_price
from riskgpu.analytic.black_scholes import bs_greeks, bs_price, digital_price

__all__ = ["bs_greeks", "bs_price", "digital_price", "geometric_asian_price"]
