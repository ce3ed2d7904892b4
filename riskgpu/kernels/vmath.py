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

import numpy as np
from llvmlite import ir
from numba import float32, float64, int32, int64, njit, types
from numba.extending import intrinsic

_WIDTHS = {
    types.float64: (types.int64, ir.IntType(64), ir.DoubleType()),
    types.float32: (types.int32, ir.IntType(32), ir.FloatType()),
}


@intrinsic
def float_bits(typingctx, x):
    """The IEEE-754 bits of a float64 (float32) as an int64 (int32): a bitcast, free in vector code."""
    if x not in _WIDTHS:
        return None
    ity, llint, _ = _WIDTHS[x]

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], llint)

    return ity(x), codegen


@intrinsic
def bits_float(typingctx, n):
    """The float64 (float32) whose IEEE-754 bits are the int64 (int32) ``n``."""
    for fty, (ity, _, llfloat) in _WIDTHS.items():
        if n == ity:

            def codegen(context, builder, sig, args, llfloat=llfloat):
                return builder.bitcast(args[0], llfloat)

            return fty(n), codegen
    return None


# the names the functions below read, one per width
f64_bits = f32_bits = float_bits
bits_f64 = bits_f32 = bits_float


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once, all float64 or all float32 (LLVM's ``llvm.fma``: one instruction on every
    x86-64 CPU with FMA3, and in vector loops; exact everywhere, a C library call on a CPU without it)."""
    if a == b == c == types.float64:
        d, ty = ir.DoubleType(), types.float64
    elif a == b == c == types.float32:
        d, ty = ir.FloatType(), types.float32
    else:
        return None

    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return ty(ty, ty, ty), codegen


def _ln2_split(bits: int = 32) -> tuple[float, float]:
    # ln 2 = HI + LO with HI holding ``bits`` significant bits, so n * HI is exact for |n| < 2**(53 - bits)
    # (float64) or 2**(24 - bits) (float32, bits = 16: every float32 exponent)
    with localcontext() as ctx:
        ctx.prec = 50
        ln2 = Decimal(2).ln()
        hi = math.ldexp(math.floor(math.ldexp(float(ln2), bits - 1)), 1 - bits)
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


# float32 versions: the same reductions with float32 polynomials, 8 lanes to a 256-bit vector where float64
# has 4. Within a few float32 ulps of the correctly rounded value over the ranges documented (tested).
F32 = np.float32
LN2_HI32, LN2_LO32 = (F32(v) for v in _ln2_split(16))
LOG2E32 = F32(LOG2E)
TWO_PI32 = F32(TWO_PI)
SQRT2_32 = F32(SQRT2)
EXP32_MAX = F32(88.72)
EXP32_MIN = F32(-103.9)
#: exp: 1/k!, k = 0..7 (|r| <= ln2/2: the first term left out is below 2**-27 of exp(r)).
E32 = tuple(F32(v) for v in _EXP[:8])
#: log: 2/(2k+1), k = 0..4 (|s| <= 0.1716: the first term left out is below 2**-28 of log(m)).
L32 = tuple(F32(v) for v in _LOG[:5])
#: sin up to a^9, cos up to a^10 on [-pi/4, pi/4].
S32 = tuple(F32(v) for v in _SIN[:5])
C32 = tuple(F32(v) for v in _COS[:6])
_E32_0, _E32_1, _E32_2, _E32_3, _E32_4, _E32_5, _E32_6, _E32_7 = E32
_L32_0, _L32_1, _L32_2, _L32_3, _L32_4 = L32
_S32_0, _S32_1, _S32_2, _S32_3, _S32_4 = S32
_C32_0, _C32_1, _C32_2, _C32_3, _C32_4, _C32_5 = C32
_HALF32 = F32(0.5)
_QUARTER32 = F32(0.25)
_FOUR32 = F32(4.0)
_ONE32 = F32(1.0)


@njit(inline="always", error_model="numpy")
def vexp32(x):  # pragma: no cover - compiled
    """``exp(x)`` for a float32: ``2**n exp(r)``, degree-7 Taylor; ``inf`` above ``EXP32_MAX``, ``0``
    below ``EXP32_MIN`` (subnormal results in between)."""
    x = float32(x)
    xc = min(max(x, EXP32_MIN), EXP32_MAX)
    n = np.floor(xc * LOG2E32 + _HALF32)
    r = (xc - n * LN2_HI32) - n * LN2_LO32
    p = fma(_E32_7, r, _E32_6)
    p = fma(p, r, _E32_5)
    p = fma(p, r, _E32_4)
    p = fma(p, r, _E32_3)
    p = fma(p, r, _E32_2)
    p = fma(p, r, _E32_1)
    p = fma(p, r, _E32_0)
    k = int32(n)
    h = int32(k >> 1)  # 2**n as 2**h * 2**(n - h): both normal for every n in range
    y = (p * bits_f32(int32((h + 127) << 23))) * bits_f32(int32((k - h + 127) << 23))
    if x > EXP32_MAX:
        y = F32(np.inf)
    if x < EXP32_MIN:
        y = F32(0.0)
    if x != x:
        y = x
    return y


@njit(inline="always", error_model="numpy")
def vlog32(u):  # pragma: no cover - compiled
    """``log(u)`` for a normal positive float32 (the RNG's uniforms): ``e ln 2 + 2 atanh((m - 1) / (m + 1))``."""
    bits = f32_bits(float32(u))
    e = int32((bits >> 23) - 127)
    m = bits_f32(int32((bits & 0x7FFFFF) | (127 << 23)))
    if m > SQRT2_32:
        m = m * _HALF32
        e = int32(e + 1)
    s = (m - _ONE32) / (m + _ONE32)
    s2 = s * s
    p = fma(_L32_4, s2, _L32_3)
    p = fma(p, s2, _L32_2)
    p = fma(p, s2, _L32_1)
    p = fma(p, s2, _L32_0)
    fe = float32(e)
    return fe * LN2_HI32 + (s * p + fe * LN2_LO32)


@njit(inline="always", error_model="numpy")
def vcos_sin_2pi32(u):  # pragma: no cover - compiled
    """``(cos(2 pi u), sin(2 pi u))`` for a float32 ``u`` in ``[0, 1]`` (the RNG's uniforms): the exact
    quarter-turn reduction of ``vcos_sin_2pi``, float32 Taylor polynomials."""
    u = float32(u)
    t = u - np.floor(u + _HALF32)
    q = np.floor(_FOUR32 * t + _HALF32)
    a = TWO_PI32 * (t - _QUARTER32 * q)
    a2 = a * a
    s = fma(_S32_4, a2, _S32_3)
    s = fma(s, a2, _S32_2)
    s = fma(s, a2, _S32_1)
    s = fma(s, a2, _S32_0)
    s = s * a
    c = fma(_C32_5, a2, _C32_4)
    c = fma(c, a2, _C32_3)
    c = fma(c, a2, _C32_2)
    c = fma(c, a2, _C32_1)
    c = fma(c, a2, _C32_0)
    k = int32(q) & 3
    odd = int32(-(k & 1))
    cb = f32_bits(c)
    sb = f32_bits(s)
    first = int32((cb & ~odd) | (sb & odd))
    second = int32((sb & ~odd) | (cb & odd))
    cos_v = bits_f32(int32(first ^ int32((((k + 1) >> 1) & 1) << 31)))
    sin_v = bits_f32(int32(second ^ int32(((k >> 1) & 1) << 31)))
    return cos_v, sin_v
