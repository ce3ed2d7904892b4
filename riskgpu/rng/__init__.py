"""Counter-based random numbers: Philox4x32-10 for every backend (DESIGN.md section 3)."""

from riskgpu.rng.philox import (
    check_stream,
    normals4_f32,
    normals4_f64,
    normals_np,
    philox4x32,
    philox4x32_np,
    seed_key,
)

#: Stream ids separating uses of the same seed (the counter's fourth word).
STREAM_PRICING = 0
STREAM_SCENARIOS = 1
STREAM_INNER = 2

__all__ = [
    "STREAM_INNER",
    "STREAM_PRICING",
    "STREAM_SCENARIOS",
    "check_stream",
    "normals4_f32",
    "normals4_f64",
    "normals_np",
    "philox4x32",
    "philox4x32_np",
    "seed_key",
]
