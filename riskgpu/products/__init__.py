"""Products: frozen terms + a stored-path payoff and a streaming accumulator (DESIGN.md section 4)."""

from riskgpu.products.american import American
from riskgpu.products.asian import Asian
from riskgpu.products.barrier import Barrier
from riskgpu.products.basket import Basket
from riskgpu.products.linear import Forward, Spot
from riskgpu.products.lookback import Lookback
from riskgpu.products.vanilla import Digital, European

__all__ = ["American", "Asian", "Barrier", "Basket", "Digital", "European", "Forward", "Lookback", "Spot"]
