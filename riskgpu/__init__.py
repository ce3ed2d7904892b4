"""riskgpu: a GPU-accelerated Monte Carlo risk engine for equity option books.

Public API (keyword-only arguments; the market is passed at call time as the model)::

    import riskgpu as rg
    model = rg.GBM(spot=100.0, vol=0.2, rate=0.03)
    rg.price(rg.European(strike=100.0, maturity=1.0), model, n_paths=1_000_000, seed=7)
"""

from riskgpu._memory import InsufficientMemoryError
from riskgpu.analytic import bs_greeks, bs_price, digital_price, geometric_asian_price
from riskgpu.api import PriceResult, price, simulate
from riskgpu.backends import BackendInfo, BackendUnavailableError, backends
from riskgpu.greeks import GreeksResult, greeks
from riskgpu.models import GBM, Heston, Merton
from riskgpu.products import American, Asian, Barrier, Basket, Digital, European, Forward, Lookback, Spot
from riskgpu.risk.backtest import BacktestResult, backtest
from riskgpu.risk.incremental import IncrementalVaR, incremental_var
from riskgpu.risk.market import Market
from riskgpu.risk.portfolio import Portfolio, Position
from riskgpu.risk.rolling import RollingBacktest, rolling_backtest
from riskgpu.risk.streams import position_stream
from riskgpu.risk.stress import StressResult, StressScenario, stress
from riskgpu.risk.valuation import price_portfolio
from riskgpu.risk.var import VaRResult, var

__version__ = "0.1.0"

__all__ = [
    "GBM",
    "American",
    "Asian",
    "BackendInfo",
    "BackendUnavailableError",
    "BacktestResult",
    "Barrier",
    "Basket",
    "Digital",
    "European",
    "Forward",
    "GreeksResult",
    "Heston",
    "IncrementalVaR",
    "InsufficientMemoryError",
    "Lookback",
    "Market",
    "Merton",
    "Portfolio",
    "Position",
    "PriceResult",
    "RollingBacktest",
    "Spot",
    "StressResult",
    "StressScenario",
    "VaRResult",
    "__version__",
    "backends",
    "backtest",
    "bs_greeks",
    "bs_price",
    "digital_price",
    "geometric_asian_price",
    "greeks",
    "incremental_var",
    "position_stream",
    "price",
    "price_portfolio",
    "rolling_backtest",
    "simulate",
    "stress",
    "var",
]
