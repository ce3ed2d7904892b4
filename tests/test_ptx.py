"""Every CUDA kernel compiles for sm_90 (H100) without a GPU; float32 kernels hold no float64
instruction; no kernel spills registers or uses a stack frame unless listed with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from riskgpu.kernels.ptx import LOCAL_MEMORY_ALLOWED, nvidia_tool


@pytest.fixture(scope="module")
def report():
    if nvidia_tool("ptxas") is None:
        pytest.skip("ptxas not installed (pip install 'riskgpu[test]' brings nvidia-cuda-nvcc)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}  # the real compiler, not the simulator
    shards = 2  # two compiler processes in parallel (CI has 2 cores)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "riskgpu.kernels.ptx", "--cc", "9.0", "--sass", "--shard", f"{i}/{shards}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(shards)
    ]
    rows = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-4000:]
        rows += json.loads(out)
    return rows


def test_every_kernel_compiles_for_sm90(report):
    names = {(r["kernel"], r["dtype"]) for r in report}
    kernels = ["european", "digital", "asian", "barrier", "lookback", "heston_qe", "heston_euler", "merton", "basket3"]
    expected = {(k, d) for k in [f"tiles_{k}" for k in kernels] + ["simulate"] for d in ("float32", "float64")}
    assert names == expected | {("var_grid", "float64")}
    assert all(r["arch"] == "sm_90" and r["registers"] > 0 and r["sass_instructions"] > 0 for r in report)


def test_float32_kernels_have_no_float64_instructions(report):
    for r in report:
        if r["dtype"] == "float32":
            assert r["f64_ptx_instructions"] == 0, r["kernel"]
            assert r["sass_f64_instructions"] == 0, r["kernel"]
        else:
            assert r["f64_ptx_instructions"] > 0  # the detector sees float64 code where it exists


def test_no_spills_or_stack_frames(report):
    for r in report:
        if r["kernel"] in LOCAL_MEMORY_ALLOWED:
            continue
        assert (r["spill_stores"], r["spill_loads"], r["stack_frame"]) == (0, 0, 0), (r["kernel"], r["ptxas_log"])
