"""Compile every CUDA kernel for a target GPU without one, and read what ``ptxas`` says about it.

``python -m riskgpu.kernels.ptx [--cc 9.0] [--sass]`` prints a JSON list with, per kernel and dtype:
registers, spill bytes, stack frame bytes, float64 instructions found in the PTX and (``--sass``)
SASS instruction counts. The tests run it in a separate process (not under the CUDA simulator) and
fail on a float64 instruction in a float32 kernel or on register spills, except for kernels listed
in ``LOCAL_MEMORY_ALLOWED`` with their reason. Needs ``numba-cuda[cu13]`` and ``nvidia-cuda-nvcc``
(the ``test`` extra); ``--sass`` also ``nvidia-cuda-cuobjdump`` and ``nvidia-cuda-nvdisasm``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Kernels allowed to use local memory (spills or stack), with the reason.
LOCAL_MEMORY_ALLOWED: dict[str, str] = {
    "var_grid": "the VaR revaluation grid: a per-thread CRR tree workspace (cuda.local.array of MAX_TREE + 1 "
    "float64 values and as many exercise flags) for American and Bermudan positions",
}

_SASS_F64 = {"DADD", "DMUL", "DFMA", "DSETP", "DSET", "DMNMX", "DMMA"}
_F64 = re.compile(r"^\s*(?:@%p\d+\s+)?[a-z]+(?:\.[a-z0-9]+)*\.f64\b", re.MULTILINE)


def nvidia_tool(name: str) -> str | None:
    """Path of a CUDA command-line tool: from the ``nvidia-*`` wheels first, then ``PATH``."""
    with contextlib.suppress(ImportError):
        import nvidia

        for root in nvidia.__path__:
            for cand in sorted(Path(root).glob(f"*/bin/{name}")):
                if os.access(cand, os.X_OK):
                    return str(cand)
    return shutil.which(name)


@contextlib.contextmanager
def _target_cc(cc: tuple[int, int]) -> Iterator[None]:
    # numba-cuda compiles device functions for the *current* device's compute capability, which
    # needs a driver. With no GPU, pretend the current device is the target: the code compiled is
    # the same as on that device. Restored on exit.
    import numba.cuda.dispatcher as disp

    class _Target:
        compute_capability = cc

    saved = disp.get_current_device
    disp.get_current_device = lambda: _Target()
    try:
        yield
    finally:
        disp.get_current_device = saved


def _examples() -> list[tuple[str, object, np.dtype]]:
    import riskgpu as rg

    gbm = rg.GBM(spot=100.0, vol=0.2, rate=0.03)
    heston = {"spot": 100.0, "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7, "rate": 0.03}
    euro = rg.European(strike=100.0, maturity=1.0)
    pairs = {
        "european": (euro, gbm),
        "digital": (rg.Digital(strike=100.0, maturity=1.0), gbm),
        "asian": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=4), gbm),
        "barrier": (rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, rebate=1.0), gbm),
        "lookback": (rg.Lookback(maturity=1.0), gbm),
        "heston_qe": (euro, rg.Heston(**heston)),
        "heston_euler": (euro, rg.Heston(**heston, scheme="euler")),
        "merton": (euro, rg.Merton(spot=100.0, vol=0.2, rate=0.03, lam=0.5, jump_mean=-0.1, jump_std=0.1)),
        "basket3": (
            rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4]),
            rg.GBM(spot=[100.0] * 3, vol=[0.2] * 3, rate=0.03, corr=[[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]]),
        ),
    }
    return [(name, pair, np.dtype(d)) for name, pair in pairs.items() for d in ("float32", "float64")]


def compile_all(cc: tuple[int, int] = (9, 0), *, shard: tuple[int, int] = (0, 1)) -> list[dict]:
    """PTX of every kernel as ``{"kernel", "dtype", "ptx"}`` dicts, compiled for ``cc``; ``shard=(i, n)``:
    only the kernels at positions ``i, i + n, ...`` of the list (``n`` processes compile it in parallel)."""
    from numba import cuda, typeof

    from riskgpu.api import make_job
    from riskgpu.backends.cpu import simulate_args
    from riskgpu.kernels import kernel_sample, steps_per_loop
    from riskgpu.kernels.cuda import simulate_kernel, tiles_kernel

    def tiles(name: str, product: object, model: object, dtype: np.dtype) -> dict:
        fast = dtype == np.float32  # the float32 kernels are compiled with fast math (riskgpu.kernels.cuda)
        job = make_job(product, model, n_paths=64, n_steps=None, seed=1, dtype=dtype, antithetic=False, stream=0)
        kernel = tiles_kernel(kernel_sample(model, product, dtype), dtype)
        buf = np.zeros(2, dtype=dtype)
        args = (np.int64(0), np.int64(1), buf, buf, *job.kernel_args())
        ptx, _ = cuda.compile_ptx(kernel.py_func, tuple(typeof(a) for a in args), cc=cc, fastmath=fast)
        steps = steps_per_loop(model, product)
        return {"kernel": f"tiles_{name}", "dtype": dtype.name, "ptx": ptx, "steps_per_loop": steps}

    def bulk(dtype: np.dtype) -> dict:
        # rng="cupy": the Asian fed from an array of normals (riskgpu.kernels.bulk)
        import riskgpu as rg
        from riskgpu.kernels.bulk import array_sample_function
        from riskgpu.kernels.cuda import tiles_array_kernel

        product, model = rg.Asian(strike=100.0, maturity=1.0, n_fixings=4), rg.GBM(spot=100.0, vol=0.2, rate=0.03)
        job = make_job(product, model, n_paths=64, n_steps=None, seed=1, dtype=dtype, antithetic=False, stream=0)
        kernel = tiles_array_kernel(array_sample_function(model, product, dtype), dtype)
        buf = np.zeros(2, dtype=dtype)
        antithetic, _k0, _k1, _stream, *rest = job.kernel_args()
        args = (np.int64(1), buf, buf, antithetic, np.zeros((4, 2), dtype=dtype), *rest)
        ptx, _ = cuda.compile_ptx(kernel.py_func, tuple(typeof(a) for a in args), cc=cc, fastmath=dtype == np.float32)
        # no Philox in it, so no hot loop by the Philox rule: registers, spills and occupancy only
        return {"kernel": "bulk_asian", "dtype": dtype.name, "ptx": ptx}

    def simulate(dtype: np.dtype) -> dict:
        model = __import__("riskgpu").GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.03, corr=[[1, 0.3], [0.3, 1]])
        arr = np.zeros((2, 3, 2), dtype=dtype)
        args = (arr, np.int64(0), np.uint32(1), np.uint32(0), np.uint32(0), *simulate_args(model, 0.1, dtype),
                np.int64(2))  # fmt: skip
        ptx, _ = cuda.compile_ptx(simulate_kernel(dtype).py_func, tuple(typeof(a) for a in args), cc=cc)
        return {"kernel": "simulate", "dtype": dtype.name, "ptx": ptx}

    jobs = [lambda e=e: tiles(e[0], *e[1], e[2]) for e in _examples()]
    jobs += [lambda d=d: simulate(np.dtype(d)) for d in ("float32", "float64")]
    jobs += [lambda d=d: bulk(np.dtype(d)) for d in ("float32", "float64")]
    jobs.append(lambda: {"kernel": "var_grid", "dtype": "float64", "ptx": _var_grid_ptx(cc)})
    i, n = shard
    with _target_cc(cc):
        return [job() for job in jobs[i::n]]


def _var_grid_ptx(cc: tuple[int, int]) -> str:
    """PTX of the VaR revaluation grid's CUDA kernel (``riskgpu.risk.closed_grid.cuda_kernel``)."""
    from numba import cuda, typeof

    from riskgpu.risk.closed_grid import cuda_kernel

    f2, f1, i2, i1 = np.zeros((2, 2)), np.zeros(2), np.zeros((2, 2), np.int64), np.zeros(2, np.int64)
    args = (f2, i1, f2, i2, f2, f1, f2, f2, f1, f1, f2, f1, np.int64(8))
    ptx, _ = cuda.compile_ptx(cuda_kernel().py_func, tuple(typeof(a) for a in args), cc=cc)
    return ptx


def _ptxas(ptx: str, arch: str, workdir: Path, stem: str, sass: bool) -> dict:
    ptxas = nvidia_tool("ptxas")
    if ptxas is None:
        raise RuntimeError("ptxas not found: pip install nvidia-cuda-nvcc (the 'test' extra)")
    src = workdir / f"{stem}.ptx"
    cubin = workdir / f"{stem}.cubin"
    src.write_text(ptx)
    res = subprocess.run(
        [ptxas, "-v", f"-arch={arch}", str(src), "-o", str(cubin)], capture_output=True, text=True, check=True
    )
    log = res.stdout + res.stderr

    def grab(pattern: str) -> int:
        m = re.search(pattern, log)
        return int(m.group(1)) if m else 0

    info = {
        "registers": grab(r"Used (\d+) registers"),
        "spill_stores": grab(r"(\d+) bytes spill stores"),
        "spill_loads": grab(r"(\d+) bytes spill loads"),
        "stack_frame": grab(r"(\d+) bytes stack frame"),
        "smem_bytes": grab(r"(\d+) bytes smem"),
        "ptxas_log": log.strip(),
    }
    if sass:
        cuobjdump = nvidia_tool("cuobjdump")
        if cuobjdump is None:
            raise RuntimeError("cuobjdump not found: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm")
        env = {**os.environ, "PATH": f"{Path(cuobjdump).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        text = subprocess.run(
            [cuobjdump, "-sass", str(cubin)], capture_output=True, text=True, check=True, env=env
        ).stdout
        code = sass_code(text)
        info["sass_instructions"] = len(code)
        info["sass_f64_instructions"] = sum(_is_f64(op) for _, op, _ in code)
        info["hot_loop"] = _counts(hot_loop(code))
    return info


_SASS_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+((?:@!?U?P\w+\s+)?([A-Z][A-Z0-9]*(?:\.[A-Z0-9_]+)*)[^;]*);")
_BRANCH_TARGET = re.compile(r"\bBRA\b[^;]*?0x([0-9a-f]+)")
#: A Philox4x32-10 block is 20 32x32->64-bit multiplies; a loop with this many of them draws numbers.
PHILOX_WIDE_MULS = 10
_WIDE_MUL = ("IMAD.WIDE.U32", "UIMAD.WIDE.U32")
#: IMAD forms that are moves, adds or shifts, not multiplies.
_IMAD_NOT_MUL = {"MOV", "IADD", "SHL", "X"}


def sass_code(text: str) -> list[tuple[int, str, str]]:
    """``(address, opcode, instruction)`` of every instruction in ``cuobjdump -sass`` output, in order.

    One kernel per cubin here (device functions are inlined or called within it); addresses are the
    kernel's byte offsets, so a branch's target can be compared with its own address.
    """
    return [(int(a, 16), op, ins.strip()) for a, ins, op in _SASS_LINE.findall(text)]


def _is_f64(op: str) -> bool:
    parts = op.split(".")
    return parts[0] in _SASS_F64 or "F64" in parts[1:]


def _is_int_mul(op: str) -> bool:
    parts = op.split(".")
    return parts[0] in ("IMAD", "IMUL") and not _IMAD_NOT_MUL & set(parts[1:])


def hot_loop(code: list[tuple[int, str, str]]) -> list[str]:
    """Opcodes of the hot loop: the loop that draws the random numbers.

    Loops are backward branches' address ranges. A loop draws when it holds a Philox block (at least
    ``PHILOX_WIDE_MULS`` 32x32->64-bit multiplies); the hot loop is the largest drawing loop that holds
    no other drawing loop (compilers version a loop, e.g. by a runtime flag: the largest version is
    counted). Inner loops that draw nothing (a Poisson count) are part of it. Without such a loop, the
    largest innermost loop; empty when the code has no loop.
    """
    loops = []
    for addr, op, ins in code:
        m = _BRANCH_TARGET.search(ins) if op.startswith("BRA") else None
        if m and int(m.group(1), 16) <= addr:
            loops.append((int(m.group(1), 16), addr))
    bodies = {lh: [op for addr, op, _ in code if lh[0] <= addr <= lh[1]] for lh in loops}

    def inside(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a != b and b[0] <= a[0] and a[1] <= b[1]

    drawing = [lh for lh in loops if sum(op.startswith(_WIDE_MUL) for op in bodies[lh]) >= PHILOX_WIDE_MULS]
    pool = drawing or loops
    inner = [a for a in pool if not any(inside(b, a) for b in pool)]
    return max((bodies[lh] for lh in inner), key=len, default=[])


def _counts(ops: list[str]) -> dict:
    return {
        "instructions": len(ops),
        "mufu": sum(op.startswith("MUFU") for op in ops),
        "int_mul": sum(_is_int_mul(op) for op in ops),
        "f64": sum(_is_f64(op) for op in ops),
    }


def report(cc: tuple[int, int] = (9, 0), *, sass: bool = False, shard: tuple[int, int] = (0, 1)) -> list[dict]:
    """Compile every kernel for ``cc`` (or the ``shard`` of them, see ``compile_all``) and return ptxas'
    figures per kernel (see the module docstring)."""
    arch = f"sm_{cc[0]}{cc[1]}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in compile_all(cc, shard=shard):
            stem = f"{item['kernel']}_{item['dtype']}"
            f64 = _F64.findall(item["ptx"])
            row = {"kernel": item["kernel"], "dtype": item["dtype"], "arch": arch, "f64_ptx_instructions": len(f64)}
            row.update(_ptxas(item["ptx"], arch, Path(tmp), stem, sass))
            if sass and "steps_per_loop" in item:
                loop = row["hot_loop"]
                loop["steps_per_iteration"] = item["steps_per_loop"]
                loop["per_path_step"] = round(loop["instructions"] / item["steps_per_loop"], 2)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the report as JSON."""
    parser = argparse.ArgumentParser(prog="python -m riskgpu.kernels.ptx", description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0", help="compute capability, e.g. 9.0 for H100 (default)")
    parser.add_argument("--sass", action="store_true", help="also disassemble and count SASS instructions")
    parser.add_argument("--shard", default="0/1", help="I/N: only every N-th kernel from the I-th (parallel runs)")
    args = parser.parse_args(argv)
    major, minor = (int(x) for x in args.cc.split("."))
    m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        parser.error(f"--shard must be I/N with 0 <= I < N, got {args.shard!r}")
    shard = (int(m.group(1)), int(m.group(2)))
    json.dump(report((major, minor), sass=args.sass, shard=shard), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
