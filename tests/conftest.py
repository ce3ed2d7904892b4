"""Test configuration.

The whole suite runs with numba's CUDA simulator on (``NUMBA_ENABLE_CUDASIM=1``, set before numba is
imported) so the gpu backend's kernels run on the CPU at tiny sizes. Set ``RISKGPU_REAL_GPU=1`` on a
machine with a GPU to run the ``gpu``-marked tests on the device instead. The PTX checks compile for
sm_90 in a separate process without the simulator.
"""

from __future__ import annotations

import math
import os

if os.environ.get("RISKGPU_REAL_GPU") != "1":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import pytest
from hypothesis import HealthCheck, settings
from scipy.special import ndtri

settings.register_profile(
    "riskgpu", derandomize=True, deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("riskgpu")


def k_sigma(n_comparisons: int, alpha: float = 1e-3) -> float:
    """Two-sided z bound so that ``n_comparisons`` independent k-sigma checks fail together with
    probability ``alpha`` at most (Bonferroni)."""
    return float(ndtri(1.0 - alpha / (2.0 * n_comparisons)))


def real_gpu() -> bool:
    """True when the gpu backend runs on a real device (not the simulator)."""
    from riskgpu.backends import gpu

    ok, _ = gpu.status()
    return ok and not gpu.simulated()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if real_gpu():
        return
    skip = pytest.mark.skip(reason="needs a real CUDA device (set RISKGPU_REAL_GPU=1 on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ql():
    """QuantLib, the external oracle (the ``test`` extra installs it)."""
    return pytest.importorskip("QuantLib")


assert math.isclose(k_sigma(1, 0.05), 1.959963984540054)
