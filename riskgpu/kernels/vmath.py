"""exp, log and (cos, sin)(2 pi u) written as straight-line float64 code the CPU compiler can vectorise.

numba's ``math.exp``/``log``/``cos``/``sin`` are calls into the C library, one value at a time: a loop
that calls them stays scalar (numba >= 0.62 has no SVML, see ``benchmarks/NOTES.md``). These versions
are polynomials, selects and bit operations only, so LLVM turns a loop over them into AVX2/AVX-512
code. Each is within a few units in the last place of the C library's result over the range it is
documented for (tested against numpy, which is the oracle, in ``tests/test_vmath.py``); none is used
by the CUDA kernels, which have the GPU's own functions.

Coefficients are derived here (Taylor and atanh series, ``ln 2`` split for exact products), not tabulated.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

from llvmlite import ir
from numba import float64, int64, njit, types
from numba.extending import intrinsic


@intrinsic
def f64_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a bitcast, free in vector code)."""
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_f64(typingctx, n):
    """The float64 whose IEEE-754 bits are the int64 ``n``."""
    if n != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma``: one instruction on every x86-64 CPU with FMA3, and in
    vector loops; exact everywhere, a C library call on a CPU without it)."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, sig, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


def _ln2_split() -> tuple[float, float]:
    # ln 2 = HI + LO with HI holding 32 significant bits, so n * HI is exact for |n| < 2**20
    with localcontext() as ctx:
        ctx.prec = 50
        ln2 = Decimal(2).ln()
        hi = math.ldexp(math.floor(math.ldexp(float(ln2), 31)), -31)
        lo = float(ln2 - Decimal(hi))
    return hi, lo


LN2_HI, LN2_LO = _ln2_split()
LOG2E = 1.0 / math.log(2.0)
SQRT2 = math.sqrt(2.0)
TWO_PI = 2.0 * math.pi
#: exp: Taylor coefficients 1/k!, k = 0..13 (|r| <= ln2/2: the first term left out is below 2**-55 of exp(r)).
_EXP = tuple(1.0 / math.factorial(k) for k in range(14))
#: log: log(m) = 2 atanh(s) = 2 (s + s^3/3 + ...), s = (m - 1) / (m + 1), |s| <= 0.1716; 11 terms.
_LOG = tuple(2.0 / (2 * k + 1) for k in range(11))
#: sin and cos on [-pi/4, pi/4]: Taylor terms up to a^17 and a^18.
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(9))
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(10))
#: Beyond these, exp is inf or 0 (709.78 is a little below the overflow point, 709.7827: documented, unused).
EXP_MAX = 709.78
EXP_MIN = -745.2

E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13 = _EXP
L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10 = _LOG
S0, S1, S2, S3, S4, S5, S6, S7, S8 = _SIN
C0, C1, C2, C3, C4, C5, C6, C7, C8, C9 = _COS


@njit(inline="always", error_model="numpy")
def vexp(x):  # pragma: no cover - compiled
    """``exp(x)`` for a float64: ``2**n exp(r)``, ``r = x - n ln 2`` (Cody-Waite), degree-13 Taylor.

    Within 2 ulp of ``numpy.exp`` where the result is a normal number; ``inf`` above ``EXP_MAX``, ``0``
    below ``EXP_MIN``.
    """
    x = float64(x)
    xc = min(max(x, EXP_MIN), EXP_MAX)
    n = math.floor(xc * LOG2E + 0.5)
    r = (xc - n * LN2_HI) - n * LN2_LO
    p = E13
    p = fma(p, r, E12)
    p = fma(p, r, E11)
    p = fma(p, r, E10)
    p = fma(p, r, E9)
    p = fma(p, r, E8)
    p = fma(p, r, E7)
    p = fma(p, r, E6)
    p = fma(p, r, E5)
    p = fma(p, r, E4)
    p = fma(p, r, E3)
    p = fma(p, r, E2)
    p = fma(p, r, E1)
    p = fma(p, r, E0)
    k = int64(n)
    h = k >> 1  # 2**n as 2**h * 2**(n - h): both factors are normal numbers for every n in range
    y = (p * bits_f64((h + 1023) << 52)) * bits_f64((k - h + 1023) << 52)
    if x > EXP_MAX:
        y = math.inf
    if x < EXP_MIN:
        y = 0.0
    if x != x:
        y = x
    return y


@njit(inline="always", error_model="numpy")
def vlog(u):  # pragma: no cover - compiled
    """``log(u)`` for a normal positive float64: ``e ln 2 + 2 atanh((m - 1) / (m + 1))``, ``m`` in
    ``[sqrt(1/2), sqrt(2))``. Within 2 ulp of ``numpy.log`` (zero, negative, subnormal, inf and nan
    inputs are outside its range)."""
    bits = f64_bits(float64(u))
    e = (bits >> 52) - 1023
    m = bits_f64((bits & 0xFFFFFFFFFFFFF) | (1023 << 52))
    if m > SQRT2:
        m = m * 0.5
        e = e + 1
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = L10
    p = fma(p, s2, L9)
    p = fma(p, s2, L8)
    p = fma(p, s2, L7)
    p = fma(p, s2, L6)
    p = fma(p, s2, L5)
    p = fma(p, s2, L4)
    p = fma(p, s2, L3)
    p = fma(p, s2, L2)
    p = fma(p, s2, L1)
    p = fma(p, s2, L0)
    fe = float64(e)
    return fe * LN2_HI + (s * p + fe * LN2_LO)


@njit(inline="always", error_model="numpy")
def vcos_sin_2pi(u):  # pragma: no cover - compiled
    """``(cos(2 pi u), sin(2 pi u))`` for a float64 ``u`` with ``|u| < 2**52`` (the RNG's are in (0, 1]).

    Exact reduction to ``r = u - k/4`` in ``[-1/8, 1/8]`` (``k`` an integer), Taylor series of
    ``a = 2 pi r`` in ``[-pi/4, pi/4]``, then the quarter turn ``k mod 4``. Within 1e-15 of ``numpy``'s
    ``cos``/``sin`` of ``2 pi u`` (which rounds ``2 pi u`` first).
    """
    u = float64(u)
    t = u - math.floor(u + 0.5)
    q = math.floor(4.0 * t + 0.5)
    a = TWO_PI * (t - 0.25 * q)
    a2 = a * a
    s = S8
    s = fma(s, a2, S7)
    s = fma(s, a2, S6)
    s = fma(s, a2, S5)
    s = fma(s, a2, S4)
    s = fma(s, a2, S3)
    s = fma(s, a2, S2)
    s = fma(s, a2, S1)
    s = fma(s, a2, S0)
    s = s * a
    c = C9
    c = fma(c, a2, C8)
    c = fma(c, a2, C7)
    c = fma(c, a2, C6)
    c = fma(c, a2, C5)
    c = fma(c, a2, C4)
    c = fma(c, a2, C3)
    c = fma(c, a2, C2)
    c = fma(c, a2, C1)
    c = fma(c, a2, C0)
    # the quarter turn k = q mod 4: (c, s), (-s, c), (-c, -s), (s, -c), as bit operations (no branches)
    k = int64(q) & 3
    odd = -(k & 1)  # all ones for k = 1, 3: swap
    cb = f64_bits(c)
    sb = f64_bits(s)
    first = (cb & ~odd) | (sb & odd)
    second = (sb & ~odd) | (cb & odd)
    cos_v = bits_f64(first ^ ((((k + 1) >> 1) & 1) << 63))  # negated for k = 1, 2
    sin_v = bits_f64(second ^ (((k >> 1) & 1) << 63))  # negated for k = 2, 3
    return cos_v, sin_v
