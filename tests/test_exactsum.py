"""riskgpu.exactsum.fsum against its oracles: math.fsum (the same float) and an exact rational sum."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from riskgpu.exactsum import fsum

FINITE = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True, width=64)


def _exact(x: np.ndarray) -> float | None:
    total = sum((Fraction(float(v)) for v in x), Fraction(0))
    try:
        return float(total)
    except OverflowError:
        return None


@settings(max_examples=300, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(0, 60), elements=FINITE))
def test_the_exactly_rounded_sum_of_any_finite_array(x):
    want = _exact(x)
    if want is None:  # beyond the float range: math.fsum's own error
        with pytest.raises(OverflowError):
            fsum(x)
        return
    assert fsum(x) == want
    try:
        assert fsum(x) == math.fsum(x)
    except OverflowError:  # math.fsum overflowed on the way to a representable sum; this does not
        pass


@settings(max_examples=100, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6)),
    tiny=st.floats(2.0**-1074, 2.0**-900),
)
def test_cancellation_and_half_way_cases(x, tiny):
    # x and -x cancel exactly; what is left decides the rounding
    y = np.concatenate([x, -x, [1.0, tiny, 2.0**-53]])
    assert fsum(y) == math.fsum(y) == _exact(y)


def test_non_finite_elements_and_empty_arrays_are_math_fsums():
    assert fsum(np.array([np.inf, 1.0])) == math.inf
    assert math.isnan(fsum(np.array([1.0, np.nan])))
    with pytest.raises(ValueError, match="-inf \\+ inf"):
        fsum(np.array([np.inf, -np.inf]))
    assert fsum(np.array([])) == 0.0
    assert fsum(np.array([1e308, 1e308, -1e308])) == 1e308  # exact where math.fsum overflows on the way


@settings(max_examples=100, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(0, 50), elements=FINITE.filter(lambda v: abs(v) < 1e300)),
    span=st.integers(1, 7),
)
def test_carries_between_spans_change_nothing(x, span):
    # the limbs carry every `span` elements (2**26 in use): any span gives the same exactly rounded sum
    assert fsum(x, span=span) == fsum(x) == _exact(x)


def test_span_is_checked():
    with pytest.raises(ValueError, match="span must be in"):
        fsum(np.ones(3), span=0)
