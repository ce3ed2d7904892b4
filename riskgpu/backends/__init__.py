"""Backends: ``reference`` (numpy), ``cpu`` (numba parallel), ``gpu`` (numba.cuda + CuPy), ``auto``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

NAMES = ("reference", "cpu", "gpu")


def to_host(a: object) -> object:
    """``a`` as a host array: CuPy arrays are copied back (``.get()``), anything else is returned as is."""
    return a.get() if hasattr(a, "get") else a


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here; the message says why."""


@dataclass(frozen=True)
class BackendInfo:
    """Whether a backend works here and, if not, why."""

    name: str
    available: bool
    detail: str


def backends() -> dict[str, BackendInfo]:
    """Every backend with its availability and a one-line reason; ``auto`` says what it picks."""
    import numba

    from riskgpu.backends import gpu

    ok, why = gpu.status()
    out = {
        "reference": BackendInfo("reference", True, "numpy (stored paths)"),
        "cpu": BackendInfo(
            "cpu",
            True,
            f"numba {numba.__version__} parallel, {numba.config.NUMBA_NUM_THREADS} threads ({os.cpu_count()} CPUs)",
        ),
        "gpu": BackendInfo("gpu", ok, why),
    }
    out["auto"] = BackendInfo("auto", True, f"-> {resolve('auto')}")
    return out


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the machine type; run manifests and
    benchmark reports record it (fastmath and SIMD can change bytes between CPUs)."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def resolve(name: str) -> str:
    """Concrete backend for ``name``: ``auto`` is gpu on a real CUDA device, else cpu.

    Raises ValueError for an unknown name, BackendUnavailableError for gpu when it cannot run.
    """
    from riskgpu.backends import gpu

    if name == "auto":
        ok, _ = gpu.status()
        return "gpu" if ok and not gpu.simulated() else "cpu"
    if name not in NAMES:
        raise ValueError(f"backend must be one of 'auto', 'reference', 'cpu', 'gpu', got {name!r}")
    if name == "gpu":
        ok, why = gpu.status()
        if not ok:
            raise BackendUnavailableError(f"backend 'gpu' is not available: {why}")
    return name


def module(name: str) -> ModuleType:
    """The backend module (``tile_sums`` and ``simulate``) for a resolved name."""
    from riskgpu.backends import cpu, gpu, reference

    return {"reference": reference, "cpu": cpu, "gpu": gpu}[name]


def array_module(name: str) -> ModuleType:
    """The array module a resolved backend's arrays live in: CuPy for gpu on a device (numpy under the
    simulator), numpy for reference and cpu."""
    if name == "gpu":
        from riskgpu.backends import gpu

        return gpu.xp()
    import numpy

    return numpy


__all__ = [
    "NAMES",
    "BackendInfo",
    "BackendUnavailableError",
    "array_module",
    "backends",
    "module",
    "resolve",
    "to_host",
]
