"""GPU suite, one command: the gpu backend checked against the reference, then its throughput.

    python benchmarks/gpu_suite.py [--out benchmarks/results/gpu_suite.json] [--repeat 5]
                                   [--paths 8192000] [--cpu-paths 512000] [--check-paths 16400]
                                   [--only check|throughput] [--cases a,b] [--no-cpu] [--tiny]

Step 1, correctness: for every (model, product) pair of ``riskgpu.testing.CASES`` (the cases of
``tests/test_exotic_backends.py``: exotic pairs plus European, digital and Asian options on GBM), in float64 and
float32, ``gpu.tile_sums`` against ``reference.tile_sums`` on the same job (same paths): the values
agree within ``RTOL * |ref| + FLIPS * CAP * spot * disc / n`` (the tests' rule: a relative tolerance plus
a few paths that may flip at a discontinuity), and two launch shapes give identical bytes.

Step 2, throughput of ``rg.price(..., backend="gpu")`` (random numbers generated in the kernel), and beside
it of ``rng="cupy"`` (CuPy's generator writes the normals to device memory, the kernels read them): NVIDIA's
Asian down-and-out benchmark (S0 120, K 110, B 100, vol 0.35, rate 0.1, T 1, 365 daily steps and
fixings, 8,192,000 paths, float32), then a European call in 1 step, an arithmetic Asian call with 252
fixings and a Heston (QE) European call in 100 steps, in float32 and float64. Each: a small warm-up call
(compilation, reported), a full-size untimed call, then the best and median of ``--repeat`` timed calls;
``rg.price`` returns after copying the tile sums to the host, so the clock covers the device work.
The cpu backend runs the same workloads on ``--cpu-paths`` paths for the ratio (per path-step).

Needs numpy, scipy, numba, numba-cuda and CuPy only (no QuantLib, polars, network). ``--tiny`` runs
tiny sizes so the whole suite also runs under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where
the timings are the simulator's and the JSON says ``"simulated": true``; without ``--tiny`` the simulator
is refused. Exit codes: 0 all correctness rows pass, 1 one failed, 2 no usable gpu backend (or the
simulator without ``--tiny``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gpu_var beside this file, however it is loaded

import gpu_var

import riskgpu as rg
from riskgpu.api import combine, make_job
from riskgpu.backends import cpu_model, gpu, reference
from riskgpu.testing import CASES, allowance

# --------------------------------------------------------------------------------------------------
# Step 1: correctness cases: riskgpu.testing.CASES, the same pairs and rule as tests/test_exotic_backends.py.
SEED, STREAM = 2026, 9
#: The second launch shape (grid, block): whole tiles, several blocks and a grid-stride loop.
ALT_LAUNCH = (2, 32)
DTYPES = ("float64", "float32")


def check_case(name: str, dtype: str, n_paths: int) -> dict:
    """One correctness row: gpu (default launch and ``ALT_LAUNCH``) against the reference, same job."""
    product, model, n_steps, antithetic = CASES[name]
    row = {"case": name, "dtype": dtype, "paths": n_paths, "steps": n_steps, "antithetic": antithetic}
    t0 = time.perf_counter()
    try:
        job = make_job(
            product,
            model,
            n_paths=n_paths,
            n_steps=n_steps,
            seed=SEED,
            dtype=dtype,
            antithetic=antithetic,
            stream=STREAM,
        )
        ref = reference.tile_sums(job, 0, job.n_tiles)
        one = gpu.tile_sums(job, 0, job.n_tiles)  # the default launch shape, as rg.price uses
        two = gpu.tile_sums(job, 0, job.n_tiles, launch=ALT_LAUNCH)
        same = one[0].tobytes() == two[0].tobytes() and one[1].tobytes() == two[1].tobytes()
        va, se = combine(job, *one)
        vb, _ = combine(job, *ref)
        tol = allowance(job, vb)
        diff = abs(va - vb)
        ok = bool(same and math.isfinite(va) and diff <= tol)
        row.update(reference=vb, gpu=va, stderr=se, diff=diff, allowance=tol, rel_diff=diff / abs(vb) if vb else None)
        row.update(identical_bytes=same, passed=ok, error=None)
    except Exception as exc:  # a row that cannot run fails; the suite goes on
        row.update(passed=False, identical_bytes=None, error=f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=4)
    row["seconds"] = time.perf_counter() - t0
    return row


_EXTRA_MODEL = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)


def _american(backend: str, n_paths: int) -> tuple[float, float]:
    put = rg.American(strike=100.0, maturity=1.0, n_exercise=8)
    res = rg.price(put, _EXTRA_MODEL, n_paths=n_paths, pilot_paths=n_paths, seed=SEED, backend=backend)
    return res.value, 1e-9 * abs(res.value) + 3 * put.strike / n_paths  # a few exercise decisions may flip


def _greek(product: object, model: object, method: str, greek: str, index: int | None = None) -> Callable:
    def run(backend: str, n_paths: int) -> tuple[float, float]:
        res = rg.greeks(product, model, which=(greek,), n_paths=n_paths, seed=SEED, backend=backend, method=method)
        value = res.values[greek] if index is None else res.values[greek][index]
        return value, 1e-9 * abs(value) + 1e-12

    return run


def _qmc(backend: str, n_paths: int) -> tuple[float, float]:
    n = 8 * 2 ** max(1, int(math.log2(max(n_paths // 8, 2))))
    res = rg.price(
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=4),
        _EXTRA_MODEL,
        n_paths=n,
        seed=SEED,
        qmc=True,
        randomisations=8,
        backend=backend,
    )
    return res.value, 1e-12 * abs(res.value)


def _cupy_rng(backend: str, n_paths: int) -> tuple[float, float]:
    # rng="cupy" prices the same option on other normals: the reference (Philox) and the gpu (CuPy's
    # generator) agree within 4 combined standard errors, not path by path
    asian = rg.Asian(strike=100.0, maturity=1.0, n_fixings=12, barrier=80.0, direction="down")
    rng = "cupy" if backend == "gpu" else "philox"
    res = rg.price(asian, _EXTRA_MODEL, n_paths=n_paths, n_steps=12, seed=SEED, backend=backend, rng=rng)
    return res.value, 4 * math.sqrt(2) * res.stderr


_BASKET_MODEL = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03, corr=[[1.0, 0.4], [0.4, 1.0]])
#: Issue-4 rows, float64: the gpu backend's Longstaff-Schwartz (CuPy regressions), pathwise and
#: likelihood-ratio Greeks (CuPy estimator arithmetic) and QMC against the reference backend, same seed.
EXTRA = {
    "american_put_lsm_8_dates": _american,
    "greeks_pathwise_basket_delta0": _greek(
        rg.Basket(strike=95.0, maturity=1.0, weights=[0.5, 0.5]), _BASKET_MODEL, "pathwise", "delta", 0
    ),
    "greeks_lr_digital_gamma": _greek(rg.Digital(strike=100.0, maturity=1.0), _EXTRA_MODEL, "lr", "gamma"),
    "qmc_asian_4": _qmc,
    "rng_cupy_asian_down_out_12": _cupy_rng,
}


def check_extra(name: str, n_paths: int) -> dict:
    """One issue-4 correctness row: ``EXTRA[name]`` on gpu against reference (its own allowance)."""
    row = {"case": name, "dtype": "float64", "paths": n_paths, "steps": None, "antithetic": False}
    t0 = time.perf_counter()
    try:
        vb, tol = EXTRA[name]("reference", n_paths)
        va, _ = EXTRA[name]("gpu", n_paths)
        diff = abs(va - vb)
        row.update(reference=vb, gpu=va, stderr=None, diff=diff, allowance=tol, rel_diff=diff / abs(vb) if vb else None)
        row.update(identical_bytes=None, passed=bool(math.isfinite(va) and diff <= tol), error=None)
    except Exception as exc:  # a row that cannot run fails; the suite goes on
        row.update(passed=False, identical_bytes=None, error=f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=4)
    row["seconds"] = time.perf_counter() - t0
    return row


# --------------------------------------------------------------------------------------------------
# Step 2: throughput workloads.


@dataclass(frozen=True)
class Workload:
    """A throughput workload: ``build(n_steps)`` gives the product; full and tiny step counts."""

    name: str
    build: Callable[[int], object]
    model: object
    steps: int
    tiny_steps: int
    dtypes: tuple[str, ...]


NVIDIA_MODEL = rg.GBM(spot=120.0, vol=0.35, rate=0.1)
VANILLA_MODEL = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)
HESTON_QE = rg.Heston(spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.3, rho=-0.7, rate=0.03, div=0.01, scheme="qe")
WORKLOADS = (
    Workload(
        "nvidia_asian_down_out",
        lambda n: rg.Asian(strike=110.0, maturity=1.0, n_fixings=n, barrier=100.0, direction="down"),
        NVIDIA_MODEL,
        365,
        8,
        ("float32",),
    ),
    Workload("european_1step", lambda n: rg.European(strike=100.0, maturity=1.0), VANILLA_MODEL, 1, 1, DTYPES),
    Workload("asian_252", lambda n: rg.Asian(strike=100.0, maturity=1.0, n_fixings=n), VANILLA_MODEL, 252, 6, DTYPES),
    Workload("heston_qe_100", lambda n: rg.European(strike=100.0, maturity=1.0), HESTON_QE, 100, 8, DTYPES),
)
#: Paths of the warm-up (compilation) call.
WARMUP_PATHS = 4096
TINY = {"paths": 128, "cpu_paths": 128, "check_paths": 100, "repeat": 2, "warmup": 64}
#: VaR grid sizes (scenarios x positions): correctness, gpu throughput, cpu throughput; and tiny ones.
VAR_SIZES = {"var_check": 64, "var_scenarios": 100_000, "var_cpu_scenarios": 20_000, "var_positions": 220}
VAR_TINY = {"var_check": 3, "var_scenarios": 4, "var_cpu_scenarios": 4, "var_positions": 22}


def time_backend(
    w: Workload, dtype: str, backend: str, *, n_paths: int, steps: int, repeat: int, warmup: int, rng: str = "philox"
) -> dict:
    """Warm-up (compile), one untimed full-size call, then ``repeat`` timed ``rg.price`` calls (``rng="cupy"``:
    CuPy's generator writes the normals to memory and the kernels read them)."""
    product = w.build(steps)

    def call(n: int) -> rg.PriceResult:
        return rg.price(product, w.model, n_paths=n, n_steps=steps, seed=SEED, backend=backend, dtype=dtype, rng=rng)

    t0 = time.perf_counter()
    call(min(warmup, n_paths))
    first = time.perf_counter() - t0
    if backend == "gpu":
        call(n_paths)  # memory pool growth and first-touch costs stay out of the timed runs
    runs = [call(n_paths) for _ in range(repeat)]
    times = [r.elapsed_s for r in runs]
    best = min(times)
    row = {
        "workload": w.name,
        "backend": backend,
        "rng": rng,
        "dtype": dtype,
        "paths": n_paths,
        "steps": steps,
        "compile_s": first,
        "runs_s": times,
        "best_s": best,
        "median_s": statistics.median(times),
        "paths_per_s": n_paths / best,
        "path_steps_per_s": n_paths * steps / best,
        "value": runs[-1].value,
        "stderr": runs[-1].stderr,
    }
    if backend == "gpu":
        # The kernel and the copy of the tile sums alone (no host-side combination), same job.
        job = make_job(
            product, w.model, n_paths=n_paths, n_steps=steps, seed=SEED, dtype=dtype, antithetic=False, stream=0
        )
        ks = []
        for _ in range(repeat):
            gen = gpu.normal_generator(SEED, 0) if rng == "cupy" else None
            t0 = time.perf_counter()
            if gen is None:
                gpu.tile_sums(job, 0, job.n_tiles)
            else:
                gpu.bulk_tile_sums(job, 0, job.n_tiles, generator=gen)
            ks.append(time.perf_counter() - t0)
        row["kernel_copy_best_s"] = min(ks)
    return row


def kernel_resources(w: Workload, dtype: str, steps: int) -> dict | None:
    """Registers, local memory per thread (spills and stack) and shared memory per block of the workload's
    compiled gpu kernels (``philox`` and ``rng="cupy"``) on the device, with the theoretical occupancy those
    give at the backend's block size (H100 limits, ``benchmarks/gpu_static.py``); None under the simulator.
    A kernel whose figures cannot be read gets an ``error`` entry instead (the suite goes on)."""
    if gpu.simulated():
        return None
    from gpu_static import occupancy

    from riskgpu.kernels import kernel_sample
    from riskgpu.kernels.bulk import array_sample_function
    from riskgpu.kernels.cuda import tiles_array_kernel, tiles_kernel

    product, dt = w.build(steps), np.dtype(dtype)
    kernels = {"philox": lambda: tiles_kernel(kernel_sample(w.model, product, dt), dt),
               "cupy": lambda: tiles_array_kernel(array_sample_function(w.model, product, dt), dt)}  # fmt: skip
    out: dict = {}
    for rng, build in kernels.items():
        try:
            kernel = build()  # the cached dispatcher the timed calls launched
            regs = max(kernel.get_regs_per_thread().values())
            smem = max(kernel.get_shared_mem_per_block().values())
            local = max(kernel.get_local_mem_per_thread().values())
            out[rng] = {"registers": regs, "local_bytes_per_thread": local, "shared_bytes_per_block": smem,
                        "occupancy": round(occupancy(regs, smem, block=gpu.BLOCK), 3)}  # fmt: skip
        except Exception as exc:  # a figure that cannot be read is reported, not fatal
            out[rng] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


# --------------------------------------------------------------------------------------------------
# Environment


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def device_info(simulated: bool) -> dict:
    """Device name, compute capability, driver and runtime versions (numba.cuda, CuPy, nvidia-smi)."""
    info: dict = {"simulated": simulated}
    if simulated:
        info["device"] = "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1): Python on the CPU, not a GPU"
        return info
    try:
        from numba import cuda

        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        info.update(device=name, compute_capability=".".join(map(str, dev.compute_capability)))
        info["numba_driver_version"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
        info["numba_runtime_version"] = ".".join(map(str, cuda.runtime.get_version()))
    except Exception as exc:
        info["numba_cuda_error"] = f"{type(exc).__name__}: {exc}"
    try:
        import cupy

        rt = cupy.cuda.runtime
        props = rt.getDeviceProperties(cupy.cuda.Device().id)
        info.update(
            cupy_driver_version=rt.driverGetVersion(),
            cupy_runtime_version=rt.runtimeGetVersion(),
            multiprocessors=props.get("multiProcessorCount"),
            total_memory_gib=round(props.get("totalGlobalMem", 0) / 2**30, 1),
        )
    except Exception as exc:
        info["cupy_error"] = f"{type(exc).__name__}: {exc}"
    smi = shutil.which("nvidia-smi")
    if smi:  # read-only query of the card's state as found
        q = "name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit"
        try:
            out = subprocess.run(
                [smi, f"--query-gpu={q}", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
            )
            info["nvidia_smi"] = {"query": q, "result": out.stdout.strip() or out.stderr.strip()}
        except Exception as exc:
            info["nvidia_smi"] = {"error": str(exc)}
    return info


def environment(simulated: bool) -> dict:
    """Host, library versions and the device."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_cuda": _version("numba-cuda"),
        "cupy": _version("cupy-cuda13x") or _version("cupy-cuda12x") or _version("cupy"),
        "riskgpu": rg.__version__,
        "gpu_backend": rg.backends()["gpu"].detail,
        **device_info(simulated),
    }


# --------------------------------------------------------------------------------------------------
# Output


def print_checks(rows: list[dict]) -> None:
    """The correctness rows as a table."""
    head = (
        f"{'case':<34} {'dtype':<8} {'paths':>6} {'reference':>12} {'gpu':>12} {'|diff|':>9} {'allowed':>9} "
        f"{'bytes':>6}  result"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        lead = f"{r['case']:<34} {r['dtype']:<8} {r['paths']:>6}"
        if r["error"]:
            print(f"{lead}  FAIL {r['error']}")
            continue
        print(
            f"{lead} {r['reference']:12.6f} {r['gpu']:12.6f} {r['diff']:9.2e} {r['allowance']:9.2e} "
            f"{'-' if r['identical_bytes'] is None else 'same' if r['identical_bytes'] else 'DIFF':>6}  "
            f"{'PASS' if r['passed'] else 'FAIL'}"
        )


def print_throughput(rows: list[dict]) -> None:
    """The timing rows as a table; ``vs cpu`` compares path-steps per second."""
    head = (
        f"{'workload':<22} {'backend':<10} {'dtype':<8} {'paths':>9} {'steps':>5} {'compile s':>9} {'best s':>9} "
        f"{'median s':>9} {'kernel s':>9} {'paths/s':>10} {'path-steps/s':>12} {'vs cpu':>8} {'value':>9} {'stderr':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        k = r.get("kernel_copy_best_s")
        ratio = r.get("speedup_vs_cpu")
        backend = r["backend"] + ("+cupy" if r.get("rng") == "cupy" else "")
        print(
            f"{r['workload']:<22} {backend:<10} {r['dtype']:<8} {r['paths']:>9} {r['steps']:>5} "
            f"{r['compile_s']:9.2f} {r['best_s']:9.4f} {r['median_s']:9.4f} {'-' if k is None else f'{k:9.4f}':>9} "
            f"{r['paths_per_s']:10.3e} {r['path_steps_per_s']:12.3e} "
            f"{'-' if ratio is None else f'{ratio:7.1f}x':>8} {r['value']:9.4f} {r['stderr']:8.4f}"
        )


def print_resources(rows: list[dict]) -> None:
    """The gpu kernels' resources (``kernel_resources``), one line per timed gpu row that has them."""
    rows = [r for r in rows if r.get("kernel")]
    if not rows:
        return
    print(f"{'kernel resources':<22} {'rng':<7} {'dtype':<8} {'regs':>5} {'local B':>8} {'smem B':>7} {'occupancy':>9}")
    for r in rows:
        k = r["kernel"]
        lead = f"{r['workload']:<22} {r['rng']:<7} {r['dtype']:<8}"
        if "error" in k:
            print(f"{lead} {k['error']}")
            continue
        print(f"{lead} {k['registers']:>5} {k['local_bytes_per_thread']:>8} {k['shared_bytes_per_block']:>7} "
              f"{k['occupancy']:>9.0%}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit code 0 (all correctness rows pass), 1 (one failed) or 2 (no usable gpu backend)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_suite.json")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per workload (best and median reported)")
    ap.add_argument("--paths", type=int, default=8_192_000, help="gpu paths per workload")
    ap.add_argument("--cpu-paths", type=int, default=512_000, help="cpu paths per workload (ratio per path-step)")
    ap.add_argument("--check-paths", type=int, default=16_400, help="paths per correctness row")
    ap.add_argument("--only", choices=("check", "throughput"), help="run one step only")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated correctness cases (default: all)")
    ap.add_argument("--no-cpu", action="store_true", help="skip the cpu backend's timings")
    ap.add_argument("--no-extra", action="store_true", help="skip the LSM, Greeks and QMC rows of step 1")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes: runs under NUMBA_ENABLE_CUDASIM=1")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")

    ok, _ = gpu.status()
    if not ok:
        print(f"gpu_suite: the gpu backend is not available: {rg.backends()['gpu'].detail}", file=sys.stderr)
        return 2
    simulated = gpu.simulated()
    if simulated and not args.tiny:
        print(
            "gpu_suite: NUMBA_ENABLE_CUDASIM=1 is set, so the gpu backend is numba's CUDA simulator (Python on the "
            "CPU): full-size runs would take days and time nothing real. Use --tiny for a logic check, or unset "
            "NUMBA_ENABLE_CUDASIM on a machine with a CUDA device.",
            file=sys.stderr,
        )
        return 2
    sizes = {"paths": args.paths, "cpu_paths": args.cpu_paths, "check_paths": args.check_paths}
    sizes |= {"repeat": args.repeat, "warmup": WARMUP_PATHS}
    sizes |= VAR_SIZES
    if args.tiny:
        sizes = dict(TINY) | VAR_TINY
    env = environment(simulated)
    result: dict = {"meta": env, "simulated": simulated, "tiny": args.tiny, "sizes": sizes, "cases": cases}
    result["correctness"] = []
    result["throughput"] = []
    result["revaluation"] = []
    print(f"gpu_suite on {env.get('device', '?')} ({'SIMULATED, tiny' if simulated else 'real device'})", flush=True)

    def save() -> None:
        ok_rows = all(r["passed"] for r in result["correctness"])
        result["correctness_passed"] = ok_rows
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))

    if args.only != "throughput":
        print(f"step 1: correctness, gpu vs reference, {sizes['check_paths']} paths per row", flush=True)
        for name in cases:
            for dtype in DTYPES:
                row = check_case(name, dtype, sizes["check_paths"])
                result["correctness"].append(row)
                verdict = "PASS" if row["passed"] else f"FAIL {row.get('error') or ''}"
                print(f"  {name} {dtype}: {verdict} ({row['seconds']:.2f} s)", flush=True)
        if not args.no_extra:
            for name in EXTRA:
                row = check_extra(name, sizes["check_paths"])
                result["correctness"].append(row)
                verdict = "PASS" if row["passed"] else f"FAIL {row.get('error') or ''}"
                print(f"  {name}: {verdict} ({row['seconds']:.2f} s)", flush=True)
            row = gpu_var.check(sizes["var_check"])
            result["correctness"].append(row)
            verdict = "PASS" if row["passed"] else f"FAIL {row.get('error') or ''}"
            print(f"  {row['case']}: {verdict} ({row['seconds']:.2f} s)", flush=True)
        save()

    if args.only != "check":
        print(f"step 2: throughput, {sizes['paths']} gpu paths, {sizes['cpu_paths']} cpu paths", flush=True)
        for w in WORKLOADS:
            steps = w.tiny_steps if args.tiny else w.steps
            for dtype in w.dtypes:
                g, b = (
                    time_backend(w, dtype, "gpu", n_paths=sizes["paths"], steps=steps, repeat=sizes["repeat"],
                                 warmup=sizes["warmup"], rng=rng) | {"simulated": simulated}
                    for rng in ("philox", "cupy")
                )  # fmt: skip
                b["vs_philox"] = b["path_steps_per_s"] / g["path_steps_per_s"]
                res = kernel_resources(w, dtype, steps)
                g["kernel"], b["kernel"] = (None, None) if res is None else (res["philox"], res["cupy"])
                result["throughput"] += [g, b]
                if not args.no_cpu:
                    c = time_backend(
                        w,
                        dtype,
                        "cpu",
                        n_paths=sizes["cpu_paths"],
                        steps=steps,
                        repeat=sizes["repeat"],
                        warmup=sizes["warmup"],
                    )
                    c["simulated"] = simulated
                    g["speedup_vs_cpu"] = g["path_steps_per_s"] / c["path_steps_per_s"]
                    result["throughput"].append(c)
                print(f"  {w.name} {dtype}: gpu best {g['best_s']:.4f} s, rng=cupy {b['best_s']:.4f} s", flush=True)
                save()
        var_runs = [("gpu", sizes["var_scenarios"])] + ([] if args.no_cpu else [("cpu", sizes["var_cpu_scenarios"])])
        for backend, n_scen in var_runs:
            r = gpu_var.throughput(backend, n_scen=n_scen, n_pos=sizes["var_positions"], repeat=sizes["repeat"])
            r["simulated"] = simulated and backend == "gpu"
            result["revaluation"].append(r)
            print(f"  VaR grid {backend}: {r['cells_per_s']:.3e} cells/s", flush=True)
            save()

    save()
    print()
    if result["correctness"]:
        print_checks(result["correctness"])
        print()
    if result["revaluation"]:
        gpu_var.print_rows(result["revaluation"])
        print()
    if result["throughput"]:
        print_throughput(result["throughput"])
        print_resources(result["throughput"])
        print(
            f"best/median of {sizes['repeat']} rg.price calls after a warm-up; kernel s = gpu.tile_sums alone "
            f"(kernel + copy of the tile sums); vs cpu = path-steps/s over the cpu backend's "
            f"({env['numba_threads']} threads, {env['cpu_model']})"
        )
        if simulated:
            print("SIMULATED: the gpu timings above are numba's CUDA simulator on the CPU, not a GPU")
    failed = [r for r in result["correctness"] if not r["passed"]]
    print(f"correctness: {len(result['correctness']) - len(failed)}/{len(result['correctness'])} rows pass")
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
