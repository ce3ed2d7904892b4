"""The benchmark scripts run end to end at tiny sizes: ``benchmarks/gpu_suite.py --tiny`` under numba's CUDA
simulator and ``benchmarks/throughput.py`` on a few thousand paths, each in a subprocess, checked through
the JSON they write."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
#: Correctness cases of the tiny suite run: one per model family (Heston QE, GBM with the NVIDIA-style
#: knock-out Asian, plain GBM, a correlated basket with antithetics); their kernels are the ones the
#: throughput step then reuses. Every case runs under the simulator in tests/test_exotic_backends.py.
SUITE_CASES = "heston_qe_european,asian_down_out,gbm_european_call,basket_spread_put"


def _run(script, *args, simulator=True, timeout=300):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1" if simulator else "0")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(BENCH / script), *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_gpu_suite_tiny_under_the_simulator(tmp_path):
    out = tmp_path / "gpu_suite.json"
    proc = _run("gpu_suite.py", "--tiny", "--cases", SUITE_CASES, "--out", out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SIMULATED" in proc.stdout
    res = json.loads(out.read_text())
    assert res["simulated"] is True and res["tiny"] is True and res["meta"]["simulated"] is True
    assert res["correctness_passed"] is True
    suite = _load("gpu_suite")
    rows = res["correctness"]
    assert {(r["case"], r["dtype"]) for r in rows} == {
        (c, d) for c in SUITE_CASES.split(",") for d in ("float64", "float32")
    } | {(c, "float64") for c in suite.EXTRA} | {("var_grid_all_families", "float64")}
    for r in rows:
        extra = r["case"] in suite.EXTRA
        assert r["passed"] and r["error"] is None and (extra or r["identical_bytes"]), r
        assert r["diff"] <= r["allowance"]
    reval = {r["backend"]: r for r in res["revaluation"]}
    assert set(reval) == {"gpu", "cpu"} and reval["gpu"]["simulated"] is True
    for r in reval.values():
        assert r["cells_per_s"] == pytest.approx(r["scenarios"] * r["positions"] / r["best_s"])
    timed = res["throughput"]
    expected = {(w.name, d) for w in suite.WORKLOADS for d in w.dtypes}
    for backend, rng in (("gpu", "philox"), ("gpu", "cupy"), ("cpu", "philox")):
        got = {(r["workload"], r["dtype"]) for r in timed if r["backend"] == backend and r["rng"] == rng}
        assert got == expected, (backend, rng)
    for r in timed:
        assert r["simulated"] is True
        assert r["best_s"] > 0 and r["path_steps_per_s"] > 0 and len(r["runs_s"]) == res["sizes"]["repeat"]
        assert math.isfinite(r["value"]) and r["stderr"] > 0
    # same seed and paths on both backends: the simulator's price is the cpu kernel's
    by_key = {(r["workload"], r["dtype"], r["backend"]): r for r in timed if r["rng"] == "philox"}
    for w, d in expected:
        g, c = by_key[w, d, "gpu"], by_key[w, d, "cpu"]
        assert g["paths"] == c["paths"]
        assert g["value"] == pytest.approx(c["value"], rel=1e-4), (w, d)
        assert g["speedup_vs_cpu"] > 0
    for r in timed:  # the device's register/local/shared-memory figures: none in the simulator
        assert r.get("kernel") is None
    for r in timed:
        if r["rng"] == "cupy":  # other normals: the same option within a few standard errors
            g = by_key[r["workload"], r["dtype"], "gpu"]
            assert abs(r["value"] - g["value"]) <= 5 * math.hypot(r["stderr"], g["stderr"]), r
            assert r["vs_philox"] > 0


def test_gpu_suite_kernel_resources_reads_the_compiled_kernels(monkeypatch):
    # on a device the dispatchers report per-signature figures; here fakes stand in for them
    import riskgpu.kernels.cuda as kcuda

    suite = _load("gpu_suite")
    static = _load("gpu_static")

    class Fake:
        def __init__(self, regs):
            self.regs = regs

        def get_regs_per_thread(self):
            return {"sig": self.regs}

        def get_shared_mem_per_block(self):
            return {"sig": 8192}

        def get_local_mem_per_thread(self):
            return {"sig": 0}

    def broken(sample, dtype):
        raise RuntimeError("no device")

    monkeypatch.setattr(suite.gpu, "simulated", lambda: False)
    monkeypatch.setattr(kcuda, "tiles_kernel", lambda sample, dtype: Fake(32))
    monkeypatch.setattr(kcuda, "tiles_array_kernel", broken)
    w = suite.WORKLOADS[0]
    res = suite.kernel_resources(w, "float32", 4)
    assert res["philox"] == {"registers": 32, "local_bytes_per_thread": 0, "shared_bytes_per_block": 8192,
                             "occupancy": round(static.occupancy(32, 8192, block=128), 3)}  # fmt: skip
    assert res["cupy"] == {"error": "RuntimeError: no device"}


def test_gpu_suite_refuses_the_simulator_without_tiny(tmp_path):
    proc = _run("gpu_suite.py", "--out", tmp_path / "x.json", timeout=120)
    assert proc.returncode == 2
    assert "NUMBA_ENABLE_CUDASIM" in proc.stderr and "--tiny" in proc.stderr
    assert not (tmp_path / "x.json").exists()


def test_gpu_suite_without_a_gpu_exits_2_with_the_reason(tmp_path):
    out = tmp_path / "x.json"
    args = ("--only", "check", "--cases", "gbm_european_call", "--check-paths", 64, "--out", out)
    proc = _run("gpu_suite.py", *args, simulator=False, timeout=300)
    if proc.returncode == 2:
        assert "the gpu backend is not available" in proc.stderr, proc.stderr
        assert not out.exists()
    else:  # a machine with a CUDA device: the one-row check ran for real
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert json.loads(out.read_text())["simulated"] is False


def test_throughput_tiny(tmp_path):
    out = tmp_path / "throughput.json"
    args = ("--paths", 2048, "--ql-paths", 512, "--repeat", 1, "--dtype", "float64", "--out", out)
    proc = _run("throughput.py", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    meta = res["meta"]
    for key in ("date", "cpu_model", "numba", "numpy", "threads", "columns"):
        assert key in meta
    assert meta["threads"]["cpu (numba.get_num_threads)"] >= 1
    assert meta["columns"]["gpu"]["available"] is False  # the simulator is never timed
    tp = _load("throughput")
    rows = res["rows"]
    assert all(r["column"] != "gpu" for r in rows)
    has_ql = meta["columns"]["quantlib"]["available"]
    for name in tp.PROBLEMS:
        cells = {r["column"]: r for r in rows if r["problem"] == name}
        assert set(cells) == {"numpy", "reference", "cpu", "quantlib"}
        assert cells["quantlib"]["status"] == ("ok" if has_ql else "n/a")
        ok = [r for r in cells.values() if r["status"] == "ok"]
        for r in ok:
            assert r["dtype"] == "float64" and r["steps"] == tp.PROBLEMS[name].steps
            assert r["paths"] == (512 if r["column"] == "quantlib" else 2048)
            assert r["best_s"] > 0 and r["path_steps_per_s"] == pytest.approx(r["paths"] * r["steps"] / r["best_s"])
            assert r["ratio_to_numpy"] > 0 and r["agree"] is True, r
            assert r["ratio_to_numpy_f32"] is None  # float32 not run
        assert cells["cpu"]["compile_s"] > 0 and cells["numpy"]["compile_s"] is None
        # riskgpu's backends price the same paths; every pair of columns agrees within a few stderr
        assert cells["cpu"]["value"] == pytest.approx(cells["reference"]["value"], rel=1e-9)
        for a in ok:
            for b in ok:
                assert abs(a["value"] - b["value"]) <= tp.AGREE_Z * math.hypot(a["stderr"], b["stderr"]), (a, b)


def test_variance_reduction_tiny(tmp_path):
    out = tmp_path / "vr.json"
    proc = _run(
        "variance_reduction.py", "--paths", 4096, "--repeat", 1, "--conv-max", 13, "--out", out, simulator=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    rows = res["rows"]
    assert {(r["problem"], r["method"]) for r in rows} == {
        (p, m)
        for p in ("european", "asian_12", "basket_3")
        for m in ("plain", "antithetic", "control", "antithetic+control", "qmc")
    }
    asian = {r["method"]: r for r in rows if r["problem"] == "asian_12"}
    assert asian["control"]["vr_equal_paths"] > 10 and asian["control"]["control"] == "geometric Asian"
    for r in rows:
        if r["method"] == "qmc":
            assert r["randomisations"] == 16 and r["paths"] == 4096 and r["vr_equal_paths"] > 10, r
    conv = res["convergence"]
    assert conv["paths"] == [1 << k for k in range(10, 14)]
    assert abs(conv["slope_plain"] + 0.5) < 0.15 and conv["slope_qmc"] < -0.75, conv


def test_greeks_methods_benchmark_runs_and_agrees(tmp_path):
    """Tiny run: every estimator's Greeks agree with bump within their combined standard errors."""
    report = _load("greeks_methods").main(["--paths", "8192", "--out", str(tmp_path / "g.json")])
    assert json.loads((tmp_path / "g.json").read_text())["rows"] == json.loads(json.dumps(report["rows"]))
    bump = {r["problem"]: r["greeks"] for r in report["rows"] if r["method"] == "bump"}
    for row in report["rows"]:
        for g, e in row["greeks"].items():
            b = bump[row["problem"]][g]
            assert abs(e["value"] - b["value"]) <= 6 * math.hypot(e["stderr"], b["stderr"]) + 1e-3 * abs(b["value"])


def test_revaluation_benchmark_tiny(tmp_path):
    out = tmp_path / "reval.json"
    args = ("--scenarios", 20, "--positions", 12, "--repeat", 1, "--backends", "cpu,reference", "--out", out)
    proc = _run("revaluation.py", *args, simulator=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    impls = {(r["book"], r["impl"]) for r in rows}
    assert impls == {
        ("european", "numpy (vectorised scipy BS)"),
        ("european", "riskgpu cpu"),
        ("european", "riskgpu reference"),
        ("demo", "riskgpu cpu"),
        ("demo", "riskgpu reference"),
    }
    for r in rows:
        assert r["cells_per_s"] == pytest.approx(r["scenarios"] * r["positions"] / r["best_s"])
        if "max_rel_diff_vs_numpy" in r:
            assert r["max_rel_diff_vs_numpy"] < 1e-9


def test_revaluation_accuracy_tiny(tmp_path):
    out = tmp_path / "acc.json"
    cases = "asian_arith_12,basket_3_call,bermudan_put_4"
    proc = _run("revaluation_accuracy.py", "--paths", 4096, "--cases", cases, "--out", out, simulator=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == cases.split(",")
    for r in rows:
        assert r["stderr"] > 0 and r["diff"] == pytest.approx(r["closed_form"] - r["monte_carlo"])
        # the approximations are within 1% of the price or a few stderr at 4096 paths
        assert abs(r["diff"]) <= 5 * r["stderr"] + 0.01 * abs(r["monte_carlo"]), r


def test_dask_scaling_tiny(tmp_path):
    out = tmp_path / "dask_scaling.json"
    args = ("--workers", "1,2", "--repeat", 1, "--tasks", 20, "--paths", 20_000, "--only", "overhead,price")
    proc = _run("dask_scaling.py", *args, "--out", out, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    rows = {(r["part"], r["workers"]): r for r in res["rows"]}
    assert set(rows) == {("price", 0), ("price", 1), ("price", 2)}
    assert all(r["bitwise"] is True and r["best_s"] > 0 for r in rows.values())  # the split changes no bit
    assert rows[("price", 1)]["speedup_vs_fewest_workers"] == 1.0
    for n in ("1", "2"):
        o = res["overhead"][n]
        assert o["noop_tasks"] == 20 and o["per_task_ms"] > 0
    assert "per no-op task" in proc.stdout


def test_scaling_tiny(tmp_path):
    out = tmp_path / "scaling.json"
    proc = _run("scaling.py", "--paths", "2048,8192", "--problems", "european_1step", "--out", out, simulator=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert [(r["problem"], r["paths"]) for r in res["rows"]] == [("european_1step", 2048), ("european_1step", 8192)]
    assert all(r["elapsed_s"] > 0 and r["peak_rss_mb"] >= r["warm_rss_mb"] > 0 for r in res["rows"])
    fit = res["fits"]["european_1step"]
    assert math.isfinite(fit["time_exponent"]) and math.isfinite(fit["peak_rss_growth"])
    assert "time ~ (paths x steps)^" in proc.stdout
