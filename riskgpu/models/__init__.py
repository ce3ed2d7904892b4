"""Models: frozen parameters and an exact or discretised step (DESIGN.md section 4)."""

from riskgpu.models.gbm import GBM
from riskgpu.models.heston import Heston
from riskgpu.models.merton import Merton

__all__ = ["GBM", "Heston", "Merton"]
