"""Nearest correlation matrix (Higham 2002): the published example, invariants, optimality against clipping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskgpu.risk.correlation import check_correlation_named, nearest_correlation


def _assert_correlation(x: np.ndarray) -> None:
    assert np.array_equal(x, x.T)
    assert np.all(np.diag(x) == 1.0)
    assert np.all(np.abs(x) <= 1.0)
    assert np.linalg.eigvalsh(x)[0] >= -1e-12


def _clip_rescale(a: np.ndarray) -> np.ndarray:
    """The simple alternative: clip the eigenvalues at 0, then rescale to a unit diagonal."""
    w, v = np.linalg.eigh(a)
    x = (v * np.maximum(w, 0.0)) @ v.T
    d = np.sqrt(np.diag(x))
    return x / np.outer(d, d)


def test_higham_published_example():
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x = nearest_correlation(a)
    expected = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    np.testing.assert_array_equal(np.round(x, 4), expected)
    _assert_correlation(x)


def test_psd_input_unchanged():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((5, 8))
    cov = g @ g.T
    d = np.sqrt(np.diag(cov))
    c = cov / np.outer(d, d)
    c = 0.5 * (c + c.T)
    np.fill_diagonal(c, 1.0)
    np.testing.assert_allclose(nearest_correlation(c), c, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(nearest_correlation(np.eye(4)), np.eye(4))
    singular = np.ones((3, 3))  # PSD with eigenvalues 0, 0, 3
    np.testing.assert_allclose(nearest_correlation(singular), singular, atol=1e-12, rtol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="square"):
        nearest_correlation(np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        nearest_correlation(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="max_iter"):
        nearest_correlation(np.eye(2), max_iter=0)


def test_max_iter_still_valid():
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    _assert_correlation(nearest_correlation(a, max_iter=2))


@st.composite
def broken_correlations(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(2, 7))
    upper = draw(arrays(np.float64, (n, n), elements=st.floats(-1.0, 1.0, allow_nan=False, width=64)))
    a = np.triu(upper, 1)
    a = a + a.T
    np.fill_diagonal(a, 1.0)
    return a


@settings(max_examples=200)
@given(broken_correlations())
def test_random_matrices_nearest(a):
    x = nearest_correlation(a)
    _assert_correlation(x)
    if np.linalg.eigvalsh(a)[0] >= 0.0:
        np.testing.assert_allclose(x, a, atol=1e-12, rtol=0)
    else:
        assert np.linalg.norm(x - a) <= np.linalg.norm(_clip_rescale(a) - a) + 1e-9


@given(broken_correlations())
def test_check_named_repairs_or_passes(a):
    names = [f"N{i}" for i in range(a.shape[0])]
    bad = np.linalg.eigvalsh(a)[0] < -1e-10
    if bad:
        with pytest.raises(ValueError, match=r"not positive semi-definite.*repair='nearest'"):
            check_correlation_named(a, names)
    fixed, report = check_correlation_named(a, names, repair="nearest")
    _assert_correlation(fixed)
    assert (report is not None) == bad
    if bad:
        assert report["max_abs_change"] == pytest.approx(np.abs(fixed - a).max())
        assert set(report["pair"]) <= set(names)
