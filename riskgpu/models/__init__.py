"""Models: frozen parameters and an exact or discretised step (DESIGN.md section 4)."""

from riskgpu.models.gbm import GBM

__all__ = ["GBM"]
