"""Memory checks before large allocations: a request that cannot fit is a clear error, not an out-of-memory
kill. Only the methods that keep paths (``simulate``, the Longstaff-Schwartz pilot) allocate in proportion to
the request (on the gpu backend in device memory, checked against the device's free memory too); the fused
kernels keep 16 bytes per 32-path tile and the reference backend works in fixed batches
(``benchmarks/scaling.py`` measures both)."""

from __future__ import annotations

import os

#: The share of the available memory one request may take.
FRACTION = 0.9


class InsufficientMemoryError(MemoryError):
    """A request needs more memory than the machine has available; the message says how much and what to
    change."""


def available_bytes() -> int | None:
    """Memory available to a new allocation without swapping: Linux's ``MemAvailable``, else the free
    physical pages, else None (unknown: no check)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def device_available_bytes() -> int | None:
    """Memory a new allocation can take on the current CUDA device: the driver's free bytes plus the free
    blocks CuPy's pool holds; None without CuPy or a device (no check)."""
    try:
        import cupy

        free, _total = cupy.cuda.runtime.memGetInfo()
        return int(free) + int(cupy.get_default_memory_pool().free_bytes())
    except Exception:  # no CuPy, no driver, no device: nothing to check against
        return None


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"


def ensure_fits(owner: str, nbytes: int, what: str, hint: str, *, device: bool = False) -> None:
    """Raise ``InsufficientMemoryError`` when ``nbytes`` exceed ``FRACTION`` of the available memory (of the
    current CUDA device's with ``device=True``).

    ``owner``: the function and argument to change (``"simulate"``); ``what``: the request in words;
    ``hint``: what to do instead."""
    avail = device_available_bytes() if device else available_bytes()
    if avail is None or nbytes <= FRACTION * avail:
        return
    where = "GPU memory" if device else "memory"
    raise InsufficientMemoryError(
        f"{owner}: {what} needs about {_size(nbytes)}, more than {FRACTION:.0%} of the {_size(avail)} of {where} "
        f"available; {hint}"
    )
