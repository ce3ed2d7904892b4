"""The exactly rounded sum of a float64 array, fast: ``math.fsum``'s result without a Python float an element.

The host combines a pricing's tile partials with an exactly rounded sum, so the result does not depend on
how the tiles were batched (DESIGN.md section 4). ``math.fsum`` costs about 45 ns an element (its partials
loop, and a Python float for each): 3 ms for the two partial arrays of a million paths, a quarter of a
one-step European's run. Here a compiled loop adds every element exactly into a fixed-point accumulator
(32-bit limbs in int64 words, bit 0 worth the smallest subnormal, 2**-1074), a few ns an element; the
limbs then make one Python integer ``N`` and the sum is ``N / 2**1074`` (Python's integer division is
correctly rounded, half to even, subnormals included). The same float as ``math.fsum`` wherever it returns
one; non-finite elements or a sum beyond the float range go to ``math.fsum`` itself, for its result or its
error. Tested against ``math.fsum`` and ``fractions.Fraction``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from riskgpu.kernels.cache import cached
from riskgpu.kernels.vmath import float_bits

#: Limbs: bit positions 0 .. 2097 of a finite float64's significand times 2**1074, plus room for carries.
N_LIMBS = 72
#: Elements added between carry propagations (each adds under 2**34 to a limb; int64 holds 2**63).
_SPAN = 1 << 26
_MASK = 0xFFFFFFFF


@njit(error_model="numpy")
def _accumulate(x, acc, span):  # pragma: no cover - compiled
    """Add the finite ``x`` exactly into the limbs ``acc`` (int64, ``N_LIMBS``), carrying every ``span``
    elements; False at a non-finite one."""
    for start in range(0, x.size, span):
        for k in range(start, min(x.size, start + span)):
            v = x[k]
            if not math.isfinite(v):
                return False
            if v == 0.0:
                continue
            bits = float_bits(v)
            e = (bits >> 52) & 0x7FF
            m = bits & 0xFFFFFFFFFFFFF
            if e == 0:  # subnormal: no hidden bit, the same weight as e = 1
                e = 1
            else:
                m |= 1 << 52
            p = e - 1  # the weight of m's bit 0 is 2**(p - 1074)
            i = p >> 5
            s = p & 31
            a = (m & _MASK) << s  # < 2**63
            b = (m >> 32) << s  # < 2**52
            c0 = a & _MASK
            c1 = (a >> 32) + (b & _MASK)
            c2 = b >> 32
            if v < 0.0:
                acc[i] -= c0
                acc[i + 1] -= c1
                acc[i + 2] -= c2
            else:
                acc[i] += c0
                acc[i + 1] += c1
                acc[i + 2] += c2
        for j in range(N_LIMBS - 1):  # carries up: every limb but the top back in [0, 2**32)
            carry = acc[j] >> 32
            acc[j] -= carry << 32
            acc[j + 1] += carry
    return True


_compiled = cached(_accumulate, ("exactsum", N_LIMBS))


def fsum(values: np.ndarray, *, span: int = _SPAN) -> float:
    """The exactly rounded sum of ``values`` (cast to a float64 1-d array): ``math.fsum``'s float.

    ``span``: elements added between carry propagations (at most ``2**26``; smaller only to test them).
    """
    if not 1 <= span <= _SPAN:
        raise ValueError(f"span must be in [1, {_SPAN}], got {span!r}")
    x = np.ascontiguousarray(values, dtype=np.float64).ravel()
    acc = np.zeros(N_LIMBS, dtype=np.int64)
    if not _compiled(x, acc, np.int64(span)):
        return math.fsum(x)
    n = 0
    for j in range(N_LIMBS - 1, -1, -1):
        n = (n << 32) + int(acc[j])
    try:
        return n / (1 << 1074)
    except OverflowError:  # beyond the float range: math.fsum's own error
        return math.fsum(x)
