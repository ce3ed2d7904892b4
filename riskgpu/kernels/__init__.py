"""Kernel factory: one fused per-path body, compiled as a CPU ``prange`` kernel and a CUDA kernel."""

from riskgpu.kernels.factory import (
    TILE,
    basket_sample_function,
    kernel_sample,
    path_filler,
    sample_function,
    steps_per_loop,
    tiles_cpu,
)

__all__ = [
    "TILE",
    "basket_sample_function",
    "kernel_sample",
    "path_filler",
    "sample_function",
    "steps_per_loop",
    "tiles_cpu",
]
