"""numba's on-disk cache for the kernels the factory builds, so a nightly run does not recompile them.

The fused CPU kernels are closures made per (model, product, dtype): numba's own ``cache=True`` keys a closure
on a pickle of its cells, which holds other compiled functions whose identity is new in every process, so
it never hits. Here a kernel is keyed on what it was built from (the factory's key; numba adds the
signature and the CPU), and its index file is stamped with a hash of riskgpu's own source files and numba's
version: after a change to any kernel, model, product or RNG source, or another numba, the entry reads as
absent and is rebuilt, never stale machine code. Each key has its own index file, so processes compiling
different kernels at once (Dask workers, parallel test runs) never share one.

Where: numba's cache locations (``__pycache__`` beside ``riskgpu/kernels/`` when writable, else the user's
cache directory; ``NUMBA_CACHE_DIR`` overrides). ``RISKGPU_KERNEL_CACHE=0`` turns it off. Compile time is
still reported apart by the benchmarks; a cache hit makes it the load time (a fraction of a second).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile

_ROOT = Path(__file__).resolve().parent.parent


def enabled() -> bool:
    """False when ``RISKGPU_KERNEL_CACHE`` is ``0`` (or ``false``/``no``/``off``)."""
    return os.environ.get("RISKGPU_KERNEL_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 over riskgpu's ``.py`` files (paths and bytes, in sorted order) and numba's version."""
    h = hashlib.sha256(numba.__version__.encode())
    for path in sorted(_ROOT.rglob("*.py")):
        h.update(str(path.relative_to(_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class _KeyedCache(FunctionCache):
    """``FunctionCache`` keyed on ``key`` and ``source_hash()`` instead of the closure's cells, with an index
    file of its own."""

    def __init__(self, py_func: Callable, key: str) -> None:
        super().__init__(py_func)
        self._riskgpu_key = hashlib.sha256(key.encode()).hexdigest()
        # the index is stamped with the source hash instead of the defining file's mtime: after any change to
        # riskgpu's source the old index reads as empty and its data files are overwritten (no growth)
        self._cache_file = IndexDataCacheFile(
            cache_path=self._cache_path,
            filename_base=f"{self._impl.filename_base}-{self._riskgpu_key[:20]}",
            source_stamp=source_hash(),
        )

    def _index_key(self, sig: object, codegen: object) -> tuple:
        return (sig, codegen.magic_tuple(), self._riskgpu_key)


def cached(dispatcher: Callable, key: object) -> Callable:
    """``dispatcher`` (an ``@njit`` kernel) with the on-disk cache keyed on ``repr(key)``, which must name
    everything the kernel was built from besides riskgpu's source (model kind, product type, slots, dtype,
    form). Returned unchanged when the cache is off or numba has nowhere to write it."""
    if enabled():
        try:
            dispatcher._cache = _KeyedCache(dispatcher.py_func, repr(key))
        except RuntimeError:  # numba found no writable cache location: compile in memory, as before
            pass
    return dispatcher


def location() -> str | None:
    """The folder the CPU kernels are cached in (``riskgpu info`` prints it; delete it to clear the cache);
    None when the cache is off or numba has nowhere to write it."""
    if not enabled():
        return None
    from riskgpu.kernels import factory

    try:
        return _KeyedCache(factory.tiles_cpu, "location").cache_path
    except RuntimeError:
        return None
