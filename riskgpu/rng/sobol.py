"""Scrambled Sobol points, the inverse normal CDF and the Brownian bridge (``price(..., qmc=True)``).

Construction
------------
Direction numbers are scipy's (Joe and Kuo), read through scipy's public API: in scipy's Gray-code
order the unscrambled integer point number ``2**(k + 1) - 1`` is direction number ``k``, because
``gray(2**(k + 1) - 1) = 2**k``. Point ``i`` is the XOR of the direction numbers over the set bits of
``gray(i) = i ^ (i >> 1)``; consecutive points differ by one direction number (number ``ctz(i)``),
so a batch is one XOR scan.

Scrambling (Matousek's linear matrix scramble plus a digital shift): per dimension a random
lower-triangular binary matrix with unit diagonal (digit 1 = the most significant bit) multiplies
every direction number, then a random ``bits``-bit shift is XORed onto every point. Both are
non-singular digit-wise maps of the leading digits, so every elementary interval keeps its point
count: the (t, m, s)-net property of each block of ``2**m`` points survives. Their bits come from
riskgpu's Philox4x32-10 (key ``seed_key(seed)``, counter ``(row, dimension, randomisation,
STREAM_QMC)``): different randomisations are independent scramblings.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.special import ndtri

from riskgpu._checks import positive_int
from riskgpu.rng.philox import philox4x32_np, seed_key

#: Stream id of the QMC scrambles (the Philox counter's fourth word).
STREAM_QMC = 3
#: Largest Sobol dimension scipy's direction numbers cover (``scipy.stats.qmc.Sobol.MAXDIM``; scipy.stats
#: is imported only when direction numbers are first needed).
MAX_DIM = 21201
#: Bits per coordinate are limited so that ``x / 2**bits`` is exact in float64 (scipy's output).
MAX_BITS = 52
#: Columns always derived at least (cheap): later requests for more points rarely re-derive.
_MIN_COLUMNS = 16


def _check_bits(bits: object) -> int:
    bits = positive_int("sobol", "bits", bits)
    if bits > MAX_BITS:
        raise ValueError(f"sobol.bits must be an integer in [1, {MAX_BITS}], got {bits!r}")
    return bits


def _check_dim(dim: object) -> int:
    dim = positive_int("sobol", "dim", dim)
    if dim > MAX_DIM:
        raise ValueError(f"sobol.dim must be an integer in [1, {MAX_DIM}] (scipy's direction numbers), got {dim!r}")
    return dim


@functools.lru_cache(maxsize=32)
def _scipy_columns(dim: int, bits: int, columns: int) -> np.ndarray:
    """Direction numbers ``0 .. columns - 1`` of every dimension read off scipy's unscrambled points."""
    from scipy.stats import qmc as _scipy_qmc

    engine = _scipy_qmc.Sobol(dim, scramble=False, bits=bits)
    out = np.empty((dim, columns), dtype=np.uint64)
    position = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single points are not a power of two: scipy warns
        for k in range(columns):
            index = (1 << (k + 1)) - 1
            engine.fast_forward(index - position)
            point = engine.random(1)[0]
            position = index + 1
            out[:, k] = np.asarray(np.ldexp(point, bits), dtype=np.uint64)
    out.setflags(write=False)
    return out


def direction_numbers(dim: int, *, bits: int = 30, columns: int | None = None) -> np.ndarray:
    """scipy's Sobol direction numbers as integers, uint64 ``(dim, columns)``.

    Column ``k`` is direction number ``k`` (``bits``-bit integers, the first digit the top bit); points
    ``i < 2**columns`` use none beyond column ``columns - 1``. ``columns`` defaults to
    ``bits`` (all of them). Deriving column ``k`` steps scipy's engine to point ``2**(k + 1) - 1``,
    which costs ``O(2**k * dim)``: ask for the columns the points need (``sobol_points`` does).
    Tested: the unscrambled points built from them equal ``scipy.stats.qmc.Sobol(scramble=False)``'s.
    """
    dim = _check_dim(dim)
    bits = _check_bits(bits)
    columns = bits if columns is None else positive_int("direction_numbers", "columns", columns)
    if columns > bits:
        raise ValueError(f"direction_numbers.columns must be <= bits={bits}, got {columns!r}")
    return _scipy_columns(dim, bits, max(columns, min(bits, _MIN_COLUMNS)))[:, :columns]


def _random_words(key: tuple[int, int], rows: int, dim: int, randomisation: int) -> np.ndarray:
    """uint64 ``(dim, rows)`` random words: Philox counter ``(row, dimension, randomisation, STREAM_QMC)``."""
    row = np.arange(rows, dtype=np.uint64)[None, :]
    d = np.arange(dim, dtype=np.uint64)[:, None]
    x0, x1, _, _ = philox4x32_np(row, d, randomisation, STREAM_QMC, key[0], key[1])
    return (x1 << np.uint64(32)) | x0


@functools.lru_cache(maxsize=64)
def _scramble(key: tuple[int, int], dim: int, bits: int, randomisation: int) -> tuple[np.ndarray, np.ndarray]:
    """The linear scramble's rows ``(dim, bits)`` as bit masks and the digital shift ``(dim,)``.

    Row ``r`` (output digit ``r + 1``, bit ``bits - 1 - r``) keeps the random bits of the more
    significant digits and sets its own: lower triangular with unit diagonal.
    """
    words = _random_words(key, bits + 1, dim, randomisation)
    top = np.uint64((1 << bits) - 1)
    own = (np.uint64(1) << (np.uint64(bits - 1) - np.arange(bits, dtype=np.uint64)))[None, :]
    above = ~((own << np.uint64(1)) - np.uint64(1)) & top  # digits more significant than row r's own
    rows = (words[:, :bits] & above) | own
    shift = words[:, bits] & top
    rows.setflags(write=False)
    shift.setflags(write=False)
    return rows, shift


def _apply_rows(rows: np.ndarray, v: np.ndarray, bits: int) -> np.ndarray:
    """Binary matrix times bit vectors: ``rows`` ``(dim, bits)`` masks, ``v`` ``(dim, c)`` -> ``(dim, c)``."""
    out = np.zeros_like(v)
    for r in range(bits):
        parity = np.bitwise_count(rows[:, r : r + 1] & v).astype(np.uint64) & np.uint64(1)
        out |= parity << np.uint64(bits - 1 - r)
    return out


def _check_range(first: object, count: object, bits: int) -> tuple[int, int]:
    first = positive_int("sobol_points", "first", first, min_value=0)
    count = positive_int("sobol_points", "count", count, min_value=0)
    if first + count > 1 << bits:
        raise ValueError(f"sobol_points: first + count = {first + count} exceeds 2**bits = {1 << bits}")
    return first, count


def sobol_points(
    first: int, count: int, dim: int, *, seed: int, randomisation: int, scramble: bool = True, bits: int = 30
) -> np.ndarray:
    """Points ``first .. first + count - 1`` of a (scrambled) Sobol sequence as integers, uint64 ``(count, dim)``.

    Coordinate ``x`` stands for ``x / 2**bits``. ``scramble=False`` gives scipy's unscrambled points
    (``seed`` and ``randomisation`` unused); otherwise the linear matrix scramble and digital shift of
    ``(seed, randomisation)``. Any split into ``first``/``count`` calls gives the same points. Tested:
    unscrambled == scipy exactly; scrambled blocks of ``2**m`` points stratify every 1-D projection and
    the first two dimensions form a (0, m, 2)-net.
    """
    bits = _check_bits(bits)
    dim = _check_dim(dim)
    first, count = _check_range(first, count, bits)
    if not isinstance(scramble, bool):
        raise ValueError(f"sobol_points.scramble must be True or False, got {scramble!r}")
    randomisation = positive_int("sobol_points", "randomisation", randomisation, min_value=0)
    if randomisation > 0xFFFFFFFF:
        raise ValueError(f"sobol_points.randomisation must be < 2**32, got {randomisation!r}")
    key = seed_key(seed)
    columns = max(1, (first + count - 1).bit_length())
    v = direction_numbers(dim, bits=bits, columns=columns)
    if scramble:
        rows, shift = _scramble(key, dim, bits, randomisation)
        v = _apply_rows(rows, v, bits)
    else:
        shift = np.zeros(dim, dtype=np.uint64)
    if count == 0:
        return np.zeros((0, dim), dtype=np.uint64)
    vt = np.ascontiguousarray(v.T)  # (columns, dim)
    gray = first ^ (first >> 1)
    start = shift.copy()
    for k in range(columns):
        if gray >> k & 1:
            start ^= vt[k]
    steps = np.empty((count, dim), dtype=np.uint64)
    steps[0] = start
    if count > 1:
        i = np.arange(first + 1, first + count, dtype=np.uint64)
        ctz = np.bitwise_count((i & (~i + np.uint64(1))) - np.uint64(1)).astype(np.intp)  # trailing zeros
        steps[1:] = vt[ctz]
    return np.bitwise_xor.accumulate(steps, axis=0, out=steps)


def sobol_normals(
    first: int, count: int, dim: int, *, seed: int, randomisation: int, dtype: object = np.float64, bits: int = 30
) -> np.ndarray:
    """Standard normals ``ndtri((x + 0.5) / 2**bits)`` of scrambled Sobol points, ``(count, dim)`` in ``dtype``.

    The uniforms never reach 0 or 1; computed in float64, then cast. Tested finite and, through
    ``qmc_price``, against Black-Scholes.
    """
    x = sobol_points(first, count, dim, seed=seed, randomisation=randomisation, bits=bits)
    u = (x.astype(np.float64) + 0.5) * 2.0**-bits
    return ndtri(u).astype(dtype, copy=False)


def bridge_order(n_steps: int) -> list[tuple[int, int, int]]:
    """Construction order of the bridge on grid points ``0 .. n_steps``: ``(point, left, right)`` per column.

    Column 0 sets the end point (``left = right = 0``); then breadth-first index bisection: each known
    gap ``(l, r)`` with ``r - l >= 2`` gets its point ``(l + r) // 2``, gaps in the order they appeared
    (for ``n_steps = 2**k``: ``T``, ``T/2``, ``T/4``, ``3T/4``, ...). Every point is set exactly once.
    """
    n_steps = positive_int("brownian_bridge", "n_steps", n_steps)
    order = [(n_steps, 0, 0)]
    gaps = [(0, n_steps)]
    head = 0
    while head < len(gaps):
        left, right = gaps[head]
        head += 1
        if right - left < 2:
            continue
        mid = (left + right) // 2
        order.append((mid, left, right))
        gaps += [(left, mid), (mid, right)]
    return order


def brownian_bridge(z: np.ndarray, n_steps: int) -> np.ndarray:
    """Standard normals ``(n, n_steps)`` in bridge order -> standard-normal increments ``(n, n_steps)``.

    Column ``j`` of ``z`` drives point ``bridge_order(n_steps)[j]`` (column 0: ``W(T)``), so the leading
    Sobol dimensions carry the path's large-scale shape. Output column ``i`` is
    ``(W(t_{i+1}) - W(t_i)) / sqrt(dt)`` on the uniform grid: the model steps consume it like iid
    normals. The map is linear and orthogonal (tested: its matrix ``B`` has ``B @ B.T == I``), so iid
    normals give iid normals. Computed in float64, returned in ``z``'s float dtype.
    """
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] != n_steps:
        raise ValueError(f"brownian_bridge: z must have shape (n, n_steps={n_steps}), got {z.shape}")
    zz = z.astype(np.float64, copy=False)
    w = np.zeros((z.shape[0], n_steps + 1), dtype=np.float64)  # W on the unit-step grid: Var W(i) = i
    for j, (point, left, right) in enumerate(bridge_order(n_steps)):
        if j == 0:
            w[:, point] = np.sqrt(n_steps) * zz[:, 0]
            continue
        a, b = point - left, right - point
        mean = (b * w[:, left] + a * w[:, right]) / (a + b)
        w[:, point] = mean + np.sqrt(a * b / (a + b)) * zz[:, j]
    out = np.diff(w, axis=1)
    return out.astype(z.dtype if z.dtype.kind == "f" else np.float64, copy=False)
