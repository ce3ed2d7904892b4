"""Kernel factory: one fused per-path body, compiled as a CPU ``prange`` kernel and a CUDA kernel."""

from riskgpu.kernels.factory import TILE, path_filler, sample_function, tiles_cpu

__all__ = ["TILE", "path_filler", "sample_function", "tiles_cpu"]
