"""The on-disk kernel cache (``riskgpu.kernels.cache``): a second process loads what the first compiled, with
the same bytes; a source change or another key never reuses an entry; it can be turned off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba import njit

from riskgpu.kernels import cache

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json
import riskgpu as rg
from riskgpu.kernels import factory, lanes, simd
r = rg.price(rg.European(strike=95.0, maturity=0.5, kind="put"), rg.GBM(spot=100.0, vol=0.3, rate=0.02),
             n_paths=200, seed=4, backend="cpu", antithetic=True)
hits = misses = 0
for k in [*factory._CPU_CACHE.values(), *simd._CACHE.values(), *lanes._CACHE.values()]:
    hits += sum(k.stats.cache_hits.values())
    misses += sum(k.stats.cache_misses.values())
print(json.dumps({"value": r.value.hex(), "stderr": r.stderr.hex(), "hits": hits, "misses": misses}))
"""


def _run(tmp_path: Path, **env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "RISKGPU_KERNEL_CACHE")}
    full |= {"NUMBA_CACHE_DIR": str(tmp_path / "nbc"), "PYTHONPATH": str(ROOT)} | env
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=full, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_kernel_with_the_same_bytes(tmp_path):
    first = _run(tmp_path)
    second = _run(tmp_path)
    assert (first["hits"], first["misses"]) == (0, 1)
    assert (second["hits"], second["misses"]) == (1, 0)
    assert (second["value"], second["stderr"]) == (first["value"], first["stderr"])
    assert list((tmp_path / "nbc").rglob("*.nbi"))  # the index lives where numba was told


def test_the_cache_can_be_turned_off(tmp_path):
    _run(tmp_path, RISKGPU_KERNEL_CACHE="0")
    again = _run(tmp_path, RISKGPU_KERNEL_CACHE="0")
    assert again["hits"] == 0 and not list((tmp_path / "nbc").rglob("*.nbi"))


@pytest.mark.parametrize(("value", "on"), [("1", True), ("0", False), ("off", False), ("False", False), ("", True)])
def test_switch(monkeypatch, value, on):
    monkeypatch.setenv("RISKGPU_KERNEL_CACHE", value)
    assert cache.enabled() is on


def test_source_hash_changes_with_any_source_file(tmp_path, monkeypatch):
    (tmp_path / "kernels").mkdir()
    src = tmp_path / "kernels" / "a.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(cache, "_ROOT", tmp_path)
    cache.source_hash.cache_clear()
    try:
        before = cache.source_hash()
        src.write_text("x = 2\n")
        cache.source_hash.cache_clear()
        assert cache.source_hash() != before
        src.write_text("x = 1\n")
        cache.source_hash.cache_clear()
        assert cache.source_hash() == before
    finally:
        monkeypatch.undo()
        cache.source_hash.cache_clear()


def test_each_key_has_its_own_index_stamped_with_the_source(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))

    def body(x):  # pragma: no cover - compiled
        return x + 1

    a = cache._KeyedCache(njit(body).py_func, repr(("tiles_cpu", "gbm", 1)))
    b = cache._KeyedCache(njit(body).py_func, repr(("tiles_cpu", "gbm", 2)))
    assert a._cache_file._index_name != b._cache_file._index_name
    assert a._cache_file._source_stamp == cache.source_hash()


def test_no_writable_cache_location_compiles_in_memory(monkeypatch):
    # numba raises RuntimeError when no cache location is writable; the kernel then just is not cached
    def refuse(py_func, key):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setenv("RISKGPU_KERNEL_CACHE", "1")
    monkeypatch.setattr(cache, "_KeyedCache", refuse)

    @njit
    def f(x):  # pragma: no cover - compiled
        return x * 2

    before = f._cache
    assert cache.cached(f, ("k",)) is f and f._cache is before and f(3) == 6
