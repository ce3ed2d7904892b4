"""The GPU without a GPU: every fused kernel compiled for sm_90 and read statically.

    python benchmarks/gpu_static.py [--cc 9.0] [--json] [--out benchmarks/results/gpu_static.json] [--jobs 2]

Per kernel and dtype (the kernels of ``riskgpu.kernels.ptx``: the fused pricing kernels of every
model/product family, the stored-path simulator and the VaR grid), from numba-cuda's PTX, ``ptxas -v``
and ``cuobjdump -sass`` (all PyPI wheels, the ``test`` extra):

- registers, spill bytes (stores + loads), stack frame, shared memory, and the theoretical occupancy at
  the gpu backend's block size (``H100`` limits below: 64K registers, 2048 threads, 32 blocks and 228 KB
  of shared memory per SM, registers allocated 256 a warp, 1 KB of shared memory reserved a block);
- the hot loop (``riskgpu.kernels.ptx.hot_loop``: the loop that draws the random numbers) in SASS
  instructions per path-step, and how many of them are MUFU (the special-function unit: exp, log,
  sqrt, sin, cos), integer multiplies (Philox) and float64; float64 instructions in the whole kernel;
- an ESTIMATE of the throughput ceiling those counts imply on an H100 SXM (132 SMs at 1.98 GHz): per SM
  and clock, 128 instructions issued (4 schedulers x 32 threads), 16 MUFU, 64 integer multiplies and
  64 float64 operations; the ceiling is the smallest of the four rates divided by the per-path-step counts. It assumes
  enough warps to hide latency and no memory stalls (the fused kernels keep no per-path memory
  traffic) and counts every instruction of the loop body, branches not taken included: a bound
  from the code, not a measurement.

The issue-9 target is the float32 GBM arithmetic-Asian kernel (``tiles_asian``, the NVIDIA workload's
kernel: its barrier and 365 fixings are runtime parameters of the same code) at <= 40 SASS instructions
per path-step with 0 spills and 0 float64 instructions; ``benchmarks/NOTES.md`` keeps its history.
``--json`` prints the rows as JSON instead of the table. The run is written to ``--out`` either way.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from riskgpu.batch.outputs import versions
from riskgpu.kernels.ptx import nvidia_tool, report

#: The packages whose versions decide the code (recorded with the results).
COMPILERS = ("numba", "numba-cuda", "llvmlite", "nvidia-cuda-nvcc", "nvidia-cuda-cuobjdump", "nvidia-cuda-nvdisasm")

#: H100 SXM5 (the figures the ceiling estimate uses).
H100 = {
    "name": "H100 SXM5",
    "sms": 132,
    "clock_hz": 1.98e9,
    "issue_per_sm_clock": 128,
    "mufu_per_sm_clock": 16,
    "int_mul_per_sm_clock": 64,
    "f64_per_sm_clock": 64,
    "registers_per_sm": 65536,
    "register_unit": 256,
    "threads_per_sm": 2048,
    "blocks_per_sm": 32,
    "smem_per_sm": 228 * 1024,
    "smem_reserved_per_block": 1024,
}
#: The gpu backend's default block size (``riskgpu.backends.gpu.BLOCK``).
BLOCK = 128
#: The issue-9 target for the float32 Asian kernel, SASS instructions per path-step.
TARGET_SASS_PER_STEP = 40
TARGET_KERNEL = ("tiles_asian", "float32")


def occupancy(registers: int, smem: int, block: int = BLOCK, gpu: dict = H100) -> float:
    """Theoretical occupancy (resident warps / maximum warps) of a kernel on one SM."""
    warps = block // 32
    per_warp = math.ceil(registers * 32 / gpu["register_unit"]) * gpu["register_unit"]
    by_regs = (gpu["registers_per_sm"] // per_warp) // warps if per_warp else gpu["blocks_per_sm"]
    by_threads = gpu["threads_per_sm"] // block
    by_smem = gpu["smem_per_sm"] // (smem + gpu["smem_reserved_per_block"])
    blocks = min(by_regs, by_threads, by_smem, gpu["blocks_per_sm"])
    return blocks * warps / (gpu["threads_per_sm"] // 32)


def ceiling(per_step: float, mufu: float, int_mul: float, f64: float, gpu: dict = H100) -> tuple[float, str]:
    """Estimated path-steps per second and the limit that sets it: ``issue``, ``mufu``, ``int_mul`` or ``f64``."""
    rate = gpu["sms"] * gpu["clock_hz"]
    limits = {
        "issue": rate * gpu["issue_per_sm_clock"] / per_step,
        "mufu": rate * gpu["mufu_per_sm_clock"] / mufu if mufu else math.inf,
        "int_mul": rate * gpu["int_mul_per_sm_clock"] / int_mul if int_mul else math.inf,
        "f64": rate * gpu["f64_per_sm_clock"] / f64 if f64 else math.inf,
    }
    bound = min(limits, key=limits.get)
    return limits[bound], bound


def row_of(raw: dict) -> dict:
    """One output row from a ``riskgpu.kernels.ptx.report`` row (with ``--sass`` figures)."""
    loop = raw.get("hot_loop", {})
    smem = raw["smem_bytes"]
    row = {
        "name": f"{raw['kernel']}[{raw['dtype']}]",
        "kernel": raw["kernel"],
        "dtype": raw["dtype"],
        "arch": raw["arch"],
        "registers": raw["registers"],
        "spill_bytes": raw["spill_stores"] + raw["spill_loads"],
        "stack_frame": raw["stack_frame"],
        "smem_bytes": smem,
        "occupancy": round(occupancy(raw["registers"], smem), 3),
        "sass_instructions": raw["sass_instructions"],
        "f64_instructions": raw["sass_f64_instructions"],
        "hot_loop_instructions": loop.get("instructions"),
        "steps_per_iteration": loop.get("steps_per_iteration"),
        "sass_per_path_step": loop.get("per_path_step"),
        "mufu_per_path_step": None,
        "int_mul_per_path_step": None,
        "f64_per_path_step": None,
        "ceiling_path_steps_per_s": None,
        "ceiling_bound": None,
    }
    steps = loop.get("steps_per_iteration")
    if steps:
        row["mufu_per_path_step"] = round(loop["mufu"] / steps, 2)
        row["int_mul_per_path_step"] = round(loop["int_mul"] / steps, 2)
        row["f64_per_path_step"] = round(loop["f64"] / steps, 2)
        est, bound = ceiling(*(loop[k] / steps for k in ("instructions", "mufu", "int_mul", "f64")))
        row["ceiling_path_steps_per_s"] = float(f"{est:.3g}")
        row["ceiling_bound"] = bound
    # a loop advancing at most one step an iteration reads its normals through branches, each holding a whole
    # Philox block and transform (3-slot models, baskets): its static count includes draws not made every
    # step, so its figures overstate the work (a pessimistic estimate)
    row["overstated"] = bool(steps) and steps <= 1
    return row


def _shard(args: tuple[tuple[int, int], int, int]) -> list[dict]:
    cc, i, n = args
    return report(cc, sass=True, shard=(i, n))


def collect(cc: tuple[int, int], jobs: int) -> list[dict]:
    """Compile every kernel (``jobs`` processes) and return the rows, sorted by kernel and dtype."""
    if jobs <= 1:
        raw = report(cc, sass=True)
    else:
        with ProcessPoolExecutor(jobs) as pool:
            raw = [r for part in pool.map(_shard, [(cc, i, jobs) for i in range(jobs)]) for r in part]
    return sorted((row_of(r) for r in raw), key=lambda r: (r["kernel"], r["dtype"]))


def table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table."""
    head = (
        f"{'kernel':<28} {'regs':>4} {'spill':>5} {'occ':>5} {'SASS/step':>9} {'MUFU':>5} {'IMUL':>5} "
        f"{'f64':>5} {'ceiling est.':>12} {'bound':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:

        def cell(v: object, spec: str) -> str:
            return format("-", spec[:2]) if v is None else format(v, spec)

        lines.append(
            f"{r['name']:<28} {r['registers']:>4} {r['spill_bytes']:>5} {r['occupancy']:>5.0%} "
            f"{cell(r['sass_per_path_step'], '>9.2f')} {cell(r['mufu_per_path_step'], '>5.2f')} "
            f"{cell(r['int_mul_per_path_step'], '>5.2f')} {r['f64_instructions']:>5} "
            f"{cell(r['ceiling_path_steps_per_s'], '>12.3g')} {cell(r['ceiling_bound'], '>7')}"
            + (" *" if r["overstated"] else "")
        )
    if any(r["overstated"] for r in rows):
        lines.append("* the hot loop holds several Philox blocks behind branches: the counts overstate the work")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Compile, print the table (or ``--json``), write ``--out``; exit 1 if the Asian target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0, the H100)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_static.json")
    parser.add_argument("--jobs", type=int, default=2, help="compiler processes (default 2)")
    args = parser.parse_args(argv)
    try:
        cc = tuple(int(x) for x in args.cc.split("."))
        if len(cc) != 2:
            raise ValueError
    except ValueError:
        parser.error(f"--cc must look like 9.0, got {args.cc!r}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    from numba import config

    if config.ENABLE_CUDASIM:
        print("NUMBA_ENABLE_CUDASIM is set: the static view needs the real CUDA compiler; unset it", file=sys.stderr)
        return 2
    missing = [t for t in ("ptxas", "cuobjdump", "nvdisasm") if nvidia_tool(t) is None]
    if missing:
        print(f"missing CUDA tools {missing}: pip install 'riskgpu[test]'", file=sys.stderr)
        return 2
    rows = collect(cc, args.jobs)
    target = next(r for r in rows if (r["kernel"], r["dtype"]) == TARGET_KERNEL)
    met = (
        target["sass_per_path_step"] <= TARGET_SASS_PER_STEP
        and target["spill_bytes"] == 0
        and target["f64_instructions"] == 0
    )
    result = {
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/gpu_static.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "arch": f"sm_{cc[0]}{cc[1]}",
        "block": BLOCK,
        "estimate_model": H100,
        "target": {
            "kernel": "{}[{}]".format(*TARGET_KERNEL),
            "sass_per_path_step_max": TARGET_SASS_PER_STEP,
            "met": met,
        },
        "host": platform.node(),
        "versions": versions(COMPILERS),
        "kernels": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(table(rows))
        print(
            f"\ntarget {result['target']['kernel']}: {target['sass_per_path_step']} SASS/path-step "
            f"(<= {TARGET_SASS_PER_STEP}), {target['spill_bytes']} spill bytes, {target['f64_instructions']} "
            f"float64: {'met' if met else 'MISSED'}. Ceilings are estimates for an {H100['name']}, not "
            f"measurements. Written to {args.out}"
        )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
