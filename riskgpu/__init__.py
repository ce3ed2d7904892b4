"""riskgpu: a GPU-accelerated Monte Carlo risk engine for equity option books.

Public API (keyword-only arguments; the market is passed at call time as the model)::

    import riskgpu as rg
    model = rg.GBM(spot=100.0, vol=0.2, rate=0.03)
    rg.price(rg.European(strike=100.0, maturity=1.0), model, n_paths=1_000_000, seed=7)
"""

from riskgpu.analytic import bs_greeks, bs_price, digital_price, geometric_asian_price
from riskgpu.api import PriceResult, price, simulate
from riskgpu.backends import BackendInfo, BackendUnavailableError, backends
from riskgpu.greeks import GreeksResult, greeks
from riskgpu.models import GBM, Heston, Merton
from riskgpu.products import American, Asian, Barrier, Basket, Digital, European, Forward, Lookback, Spot
from riskgpu.risk.market import Market
from riskgpu.risk.portfolio import Portfolio, Position
from riskgpu.risk.streams import position_stream
from riskgpu.risk.valuation import price_portfolio
from riskgpu.risk.var import VaRResult, var

__version__ = "0.1.0"

__all__ = [
    "GBM",
    "American",
    "Asian",
    "BackendInfo",
    "BackendUnavailableError",
    "Barrier",
    "Basket",
    "Digital",
    "European",
    "Forward",
    "GreeksResult",
    "Heston",
    "Lookback",
    "Market",
    "Merton",
    "Portfolio",
    "Position",
    "PriceResult",
    "Spot",
    "VaRResult",
    "__version__",
    "backends",
    "bs_greeks",
    "bs_price",
    "digital_price",
    "geometric_asian_price",
    "greeks",
    "position_stream",
    "price",
    "price_portfolio",
    "simulate",
    "var",
]
