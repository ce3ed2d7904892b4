"""Counter-based random numbers: Philox4x32-10 for every backend (DESIGN.md section 3), and scrambled
Sobol points for QMC (``riskgpu.rng.sobol``)."""

from riskgpu.rng.philox import (
    check_stream,
    normals4_f32,
    normals4_f64,
    normals_np,
    philox4x32,
    philox4x32_np,
    seed_key,
)
from riskgpu.rng.sobol import (
    STREAM_QMC,
    bridge_order,
    brownian_bridge,
    direction_numbers,
    sobol_normals,
    sobol_points,
)

#: Stream ids separating uses of the same seed (the counter's fourth word); STREAM_QMC = 3 draws the
#: Sobol scrambles.
STREAM_PRICING = 0
STREAM_SCENARIOS = 1
STREAM_INNER = 2

__all__ = [
    "STREAM_INNER",
    "STREAM_PRICING",
    "STREAM_QMC",
    "STREAM_SCENARIOS",
    "bridge_order",
    "brownian_bridge",
    "check_stream",
    "direction_numbers",
    "normals4_f32",
    "normals4_f64",
    "normals_np",
    "philox4x32",
    "philox4x32_np",
    "seed_key",
    "sobol_normals",
    "sobol_points",
]
