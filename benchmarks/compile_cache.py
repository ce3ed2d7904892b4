"""Compile time with and without the on-disk kernel cache (``riskgpu.kernels.cache``), each in a fresh process.

    python benchmarks/compile_cache.py [--problems asian_252,european_1step,heston_100] [--dtypes float64,float32]
                                       [--out benchmarks/results/compile_cache.json]

Per (problem, dtype) of ``benchmarks/throughput.py``, three fresh Python processes each time the first
``rg.price`` call (64 paths, cpu backend; numba's compilation or the cache load, plus the tiny run):
``cold`` with the cache off (``RISKGPU_KERNEL_CACHE=0``), ``first`` with the cache on in an empty
``NUMBA_CACHE_DIR`` (compiles and writes the entry), ``cached`` with the same directory (loads it). The
three prices must be the same bytes. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, {bench!r})
import throughput
t0 = time.perf_counter()
import riskgpu as rg
import_s = time.perf_counter() - t0
p = throughput.PROBLEMS[{problem!r}]
t0 = time.perf_counter()
res = rg.price(p.product, p.model, n_paths=64, n_steps=p.steps, seed=7, backend="cpu", dtype={dtype!r})
print(json.dumps(dict(first_call_s=time.perf_counter() - t0, import_s=import_s, value=res.value.hex())))
"""


def first_call(problem: str, dtype: str, env: dict) -> dict:
    """The first ``rg.price`` call of a fresh process under ``env``."""
    code = CHILD.format(bench=str(ROOT / "benchmarks"), problem=problem, dtype=dtype)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(f"{problem} {dtype} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(problem: str, dtype: str) -> dict:
    """Cold, first-with-cache and cached first calls of one (problem, dtype)."""
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "RISKGPU_KERNEL_CACHE")}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT), base.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = first_call(problem, dtype, base | {"RISKGPU_KERNEL_CACHE": "0", "NUMBA_CACHE_DIR": cache_dir})
        first = first_call(problem, dtype, base | {"NUMBA_CACHE_DIR": cache_dir})
        cached = first_call(problem, dtype, base | {"NUMBA_CACHE_DIR": cache_dir})
    if not cold["value"] == first["value"] == cached["value"]:
        raise RuntimeError(f"{problem} {dtype}: prices differ across the cache: {cold}, {first}, {cached}")
    return {"problem": problem, "dtype": dtype, "cold_s": cold["first_call_s"], "first_s": first["first_call_s"],
            "cached_s": cached["first_call_s"], "import_s": cached["import_s"], "value": cached["value"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the cells, print the table, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="asian_252,european_1step,heston_100")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compile_cache.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import throughput

    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    unknown = [p for p in problems if p not in throughput.PROBLEMS]
    if unknown:
        ap.error(f"unknown problem(s) {unknown}; known: {', '.join(throughput.PROBLEMS)}")
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    rows = [measure(p, d) for p in problems for d in dtypes]
    print(f"{'problem':<16} {'dtype':<8} {'cold s':>8} {'first s':>8} {'cached s':>9} {'speed-up':>9}")
    for r in rows:
        print(f"{r['problem']:<16} {r['dtype']:<8} {r['cold_s']:8.2f} {r['first_s']:8.2f} {r['cached_s']:9.2f} "
              f"{r['cold_s'] / r['cached_s']:8.1f}x")  # fmt: skip
    print("first rg.price call of a fresh process (64 paths, cpu): cold = cache off; first = compile + write the "
          "entry; cached = load it. Same price bytes in all three.")  # fmt: skip
    import numba

    meta = {"script": "benchmarks/compile_cache.py", "argv": sys.argv[1:] if argv is None else argv,
            "python": platform.python_version(), "numba": numba.__version__}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
