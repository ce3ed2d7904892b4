"""Writing a run's JSON documents, and what the manifest records about the inputs and the machine (the
tables go through ``riskgpu.io.tables.write_formats``). Same documents in, same bytes out."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from riskgpu.backends import cpu_model

PACKAGES = ("riskgpu", "numpy", "numba", "numba-cuda", "scipy", "polars", "pydantic", "matplotlib", "tqdm",
            "cupy-cuda12x", "cupy-cuda13x")  # fmt: skip


def plain(value: object) -> object:
    """``value`` made JSON-ready: numpy scalars and arrays to Python, tuples to lists, NaN/inf to None, paths
    and dates to strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def write_json(path: Path, doc: object) -> None:
    """``doc`` (made ``plain``) as indented JSON with a final newline."""
    path.write_text(json.dumps(plain(doc), indent=1, allow_nan=False) + "\n", encoding="utf-8")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files(portfolio: Path, market: Path) -> dict[str, dict]:
    """``{path: {"sha256", "bytes"}}`` for the portfolio and every file of the market folder."""
    files = [portfolio, *sorted(p for p in market.iterdir() if p.is_file())]
    return {str(p): {"sha256": sha256(p), "bytes": p.stat().st_size} for p in files}


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Python's and ``packages``' versions (None: not installed); by default the run's dependencies."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def device(backend: str) -> dict:
    """The machine the run computed on: the CPU, numba's threads, and the CUDA device for the GPU backend."""
    import os

    import numba

    out = {"backend": backend, "cpu": cpu_model(), "logical_cpus": os.cpu_count(),
           "numba_threads": numba.config.NUMBA_NUM_THREADS, "platform": platform.platform()}  # fmt: skip
    if backend == "gpu":
        try:
            from numba import cuda

            dev = cuda.get_current_device()
            name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
            out["gpu"] = {"name": name, "compute_capability": list(dev.compute_capability)}
        except Exception as exc:  # the simulator or a broken driver: say so rather than fail the run
            out["gpu"] = {"name": None, "error": f"{type(exc).__name__}: {exc}"}
    return out
