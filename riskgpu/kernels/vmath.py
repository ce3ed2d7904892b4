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
import os
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


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once, all float64 or all float32 (LLVM's ``llvm.fma``: one instruction on every
    x86-64 CPU with FMA3, and in vector loops; exact everywhere, a C library call on a CPU without it)."""
    if not (a == b == c and a in _WIDTHS):
        return None
    d = _WIDTHS[a][2]

    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return a(a, a, a), codegen


#: ``RISKGPU_VECTOR_WIDTH``'s values: ``512`` (the default) or ``auto``.
VECTOR_WIDTHS = ("512", "auto")


def vector_width() -> str:
    """``RISKGPU_VECTOR_WIDTH``: ``"512"`` (default: riskgpu's vector loops use 512-bit registers where the CPU
    has AVX-512) or ``"auto"`` (LLVM's own choice for the CPU, 256 bits on recent Intel Xeons). Anything else
    is an error naming the variable and the value."""
    raw = os.environ.get("RISKGPU_VECTOR_WIDTH", "512")
    value = raw.strip().lower()
    if value not in VECTOR_WIDTHS:
        raise ValueError(f"RISKGPU_VECTOR_WIDTH={raw!r}: expected one of {', '.join(VECTOR_WIDTHS)}")
    return value


@intrinsic
def wide_vectors(typingctx):
    """Marks the function being compiled ``"prefer-vector-width"="512"`` (LLVM's per-function form of clang's
    ``-mprefer-vector-width=512``): its loops then vectorise to 512-bit registers on an AVX-512 CPU, where
    LLVM's tuning for recent Xeons stops at 256. Per function, unlike numba's process-wide
    ``NUMBA_CPU_FEATURES``, so a user's other numba code is untouched; without AVX-512 it changes nothing.
    Call it first in a function that is compiled on its own (not ``inline="always"``); kernels take it or
    ``no_hint`` from ``vector_hint`` when they are built, so the width is fixed with the kernel's cache key."""

    def codegen(context, builder, sig, args):
        # llvmlite validates attribute names against a fixed list that has no key="value" attributes; the
        # set it keeps is printed as is, so the string attribute goes in through set.add
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except TypeError:  # a future llvmlite with another container: no hint, same results
            pass
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def no_hint(typingctx):
    """``wide_vectors``' stand-in for ``RISKGPU_VECTOR_WIDTH=auto``: emits nothing."""

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(), codegen


def vector_hint(width: str) -> object:
    """The hint a kernel built for ``width`` (``vector_width()``'s value, read once when the kernel is built and
    put in its cache key) calls first: ``wide_vectors`` for ``"512"``, ``no_hint`` for ``"auto"``."""
    if width not in VECTOR_WIDTHS:
        raise ValueError(f"vector width {width!r}: expected one of {', '.join(VECTOR_WIDTHS)}")
    return wide_vectors if width == "512" else no_hint


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
#: sin on [-pi/2, pi/2] for ``vcos_2pi``: Taylor terms up to a^23 (the first left out is below 2**-60).
_SINW = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(12))
#: Beyond these, exp is inf or 0 (709.78 is a little below the overflow point, 709.7827: documented, unused).
EXP_MAX = 709.78
EXP_MIN = -745.2

# highest power first, for ``horner``
_EXP_DESC, _LOG_DESC, _SIN_DESC, _COS_DESC, _SINW_DESC = (tuple(reversed(c)) for c in (_EXP, _LOG, _SIN, _COS, _SINW))


@njit(inline="always", error_model="numpy")
def horner(x, coeffs):  # pragma: no cover - compiled
    """``coeffs[0] x**(n-1) + ... + coeffs[n-1]`` (highest power first) as a chain of fused multiply-adds;
    ``coeffs`` a tuple of constants of ``x``'s type (the loop is unrolled, the constants folded)."""
    p = coeffs[0]
    for c in coeffs[1:]:
        p = fma(p, x, c)
    return p


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
    p = horner(r, _EXP_DESC)
    k = int64(n)
    h = k >> 1  # 2**n as 2**h * 2**(n - h): both factors are normal numbers for every n in range
    y = (p * bits_float((h + 1023) << 52)) * bits_float((k - h + 1023) << 52)
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
    bits = float_bits(float64(u))
    e = (bits >> 52) - 1023
    m = bits_float((bits & 0xFFFFFFFFFFFFF) | (1023 << 52))
    if m > SQRT2:
        m = m * 0.5
        e = e + 1
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = horner(s2, _LOG_DESC)
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
    s = horner(a2, _SIN_DESC)
    s = s * a
    c = horner(a2, _COS_DESC)
    # the quarter turn k = q mod 4: (c, s), (-s, c), (-c, -s), (s, -c), as bit operations (no branches)
    k = int64(q) & 3
    odd = -(k & 1)  # all ones for k = 1, 3: swap
    cb = float_bits(c)
    sb = float_bits(s)
    first = (cb & ~odd) | (sb & odd)
    second = (sb & ~odd) | (cb & odd)
    cos_v = bits_float(first ^ ((((k + 1) >> 1) & 1) << 63))  # negated for k = 1, 2
    sin_v = bits_float(second ^ (((k >> 1) & 1) << 63))  # negated for k = 2, 3
    return cos_v, sin_v


@njit(inline="always", error_model="numpy")
def vcos_2pi(u):  # pragma: no cover - compiled
    """``cos(2 pi u)`` alone for a float64 ``u`` in ``[0, 1]`` (the RNG's uniforms): one polynomial where
    ``vcos_sin_2pi`` takes two and a quarter-turn select. ``cos(2 pi t) = sin(2 pi (1/4 - |t|))``, ``t = u -
    round(u)``; both steps exact for the RNG's uniforms (multiples of 2**-33), then the Taylor series of sin
    on ``[-pi/2, pi/2]``. Within 1e-15 of ``numpy``'s ``cos(2 pi u)``."""
    u = float64(u)
    w = 0.25 - abs(u - math.floor(u + 0.5))
    a = TWO_PI * w
    return a * horner(a * a, _SINW_DESC)


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
#: sin up to a^9, cos up to a^10 on [-pi/4, pi/4]; sin up to a^15 on [-pi/2, pi/2] for ``vcos_2pi32``.
S32 = tuple(F32(v) for v in _SIN[:5])
C32 = tuple(F32(v) for v in _COS[:6])
SW32 = tuple(F32(v) for v in _SINW[:8])
_E32_DESC, _L32_DESC, _S32_DESC, _C32_DESC, _SW32_DESC = (tuple(reversed(c)) for c in (E32, L32, S32, C32, SW32))
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
    p = horner(r, _E32_DESC)
    k = int32(n)
    h = int32(k >> 1)  # 2**n as 2**h * 2**(n - h): both normal for every n in range
    y = (p * bits_float(int32((h + 127) << 23))) * bits_float(int32((k - h + 127) << 23))
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
    bits = float_bits(float32(u))
    e = int32((bits >> 23) - 127)
    m = bits_float(int32((bits & 0x7FFFFF) | (127 << 23)))
    if m > SQRT2_32:
        m = m * _HALF32
        e = int32(e + 1)
    s = (m - _ONE32) / (m + _ONE32)
    s2 = s * s
    p = horner(s2, _L32_DESC)
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
    s = horner(a2, _S32_DESC)
    s = s * a
    c = horner(a2, _C32_DESC)
    k = int32(q) & 3
    odd = int32(-(k & 1))
    cb = float_bits(c)
    sb = float_bits(s)
    first = int32((cb & ~odd) | (sb & odd))
    second = int32((sb & ~odd) | (cb & odd))
    cos_v = bits_float(int32(first ^ int32((((k + 1) >> 1) & 1) << 31)))
    sin_v = bits_float(int32(second ^ int32(((k >> 1) & 1) << 31)))
    return cos_v, sin_v


@njit(inline="always", error_model="numpy")
def vcos_2pi32(u):  # pragma: no cover - compiled
    """``vcos_2pi`` in float32 arithmetic (float32 polynomial). The reduction is exact for the float32 uniforms
    except within 2**-25 of ``u = 1/2``, where ``u + 1/2`` rounds to 1 and the result is -1 (off by under 2e-14).
    Within 1.5e-7 of ``cos(2 pi u)`` over the float32 uniforms."""
    u = float32(u)
    w = _QUARTER32 - abs(u - np.floor(u + _HALF32))
    a = TWO_PI32 * w
    return a * horner(a * a, _SW32_DESC)
