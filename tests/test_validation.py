"""Bad input is a ValueError naming the field and the value; limits are allowed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskgpu as rg

MODEL = rg.GBM(spot=100.0, vol=0.2, rate=0.03)


@pytest.mark.parametrize("cls", [rg.European, rg.Digital, rg.Asian])
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("strike", -1.0, r"\.strike must be >= 0, got -1\.0"),
        ("strike", math.nan, r"\.strike must be finite, got nan"),
        ("strike", math.inf, r"\.strike must be finite, got inf"),
        ("strike", "100", r"\.strike must be a real number, got '100'"),
        ("maturity", -0.5, r"\.maturity must be >= 0, got -0\.5"),
        ("maturity", math.nan, r"\.maturity must be finite"),
        ("kind", "cal", r"\.kind must be one of 'call', 'put', got 'cal'"),
        ("kind", "CALL", r"\.kind must be one of"),
    ],
)
def test_product_terms_errors_name_field_and_value(cls, field, value, message):
    terms = {"strike": 100.0, "maturity": 1.0, "kind": "call", field: value}
    with pytest.raises(ValueError, match=cls.__name__ + message):
        cls(**terms)


def test_product_specific_errors():
    with pytest.raises(ValueError, match=r"Digital\.payout must be >= 0, got -1"):
        rg.Digital(strike=1.0, maturity=1.0, payout=-1)
    with pytest.raises(ValueError, match=r"Asian\.n_fixings must be an integer >= 1, got 0"):
        rg.Asian(strike=1.0, maturity=1.0, n_fixings=0)
    with pytest.raises(ValueError, match=r"Asian\.n_fixings must be an integer >= 1, got 2\.5"):
        rg.Asian(strike=1.0, maturity=1.0, n_fixings=2.5)
    with pytest.raises(ValueError, match=r"Asian\.average must be one of 'arithmetic', 'geometric', got 'geo'"):
        rg.Asian(strike=1.0, maturity=1.0, average="geo")
    with pytest.raises(TypeError):
        rg.European(100.0, 1.0)  # keyword-only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spot": 0.0}, r"GBM\.spot must be > 0, got 0\.0"),
        ({"spot": -5}, r"GBM\.spot must be > 0"),
        ({"vol": -0.1}, r"GBM\.vol must be >= 0, got -0\.1"),
        ({"vol": math.nan}, r"GBM\.vol must be finite"),
        ({"rate": math.inf}, r"GBM\.rate must be finite"),
        ({"spot": [100, 90], "vol": [0.2, 0.3, 0.4]}, r"GBM\.vol has 3 entries but the model has 2 assets"),
        ({"spot": [100, -90], "vol": 0.2}, r"GBM\.spot\[1\] must be > 0, got -90"),
    ],
)
def test_gbm_errors(kwargs, message):
    args = {"spot": 100.0, "vol": 0.2, "rate": 0.03, **kwargs}
    with pytest.raises(ValueError, match=message):
        rg.GBM(**args)


@pytest.mark.parametrize(
    ("corr", "message"),
    [
        ([[1, 0.5], [0.4, 1]], r"not symmetric: corr\[0, 1\] = 0\.5 but corr\[1, 0\] = 0\.4"),
        ([[1, 0.5], [0.5, 0.9]], r"GBM\.corr\[1, 1\] must be 1 \(unit diagonal\), got 0\.9"),
        ([[1, 1.5], [1.5, 1]], r"GBM\.corr\[0, 1\] must lie in \[-1, 1\], got 1\.5"),
        ([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], r"not positive semi-definite: smallest eigenvalue -0\.8"),
        ([[1, 0.2], [0.2, 1], [0, 0]], r"shape \(2, 2\) for 2 assets, got shape \(3, 2\)"),
        ([[1, np.nan], [np.nan, 1]], r"GBM\.corr\[0, 1\] must be finite"),
    ],
)
def test_correlation_errors_name_entry_or_eigenvalue(corr, message):
    with pytest.raises(ValueError, match=message):
        rg.GBM(spot=[100, 90, 80][: len(corr[0])], vol=0.2, rate=0.0, corr=corr)


def test_semidefinite_correlation_is_accepted_and_factored():
    m = rg.GBM(spot=[100, 100, 100], vol=0.2, rate=0.0, corr=[[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    low = m.cholesky
    np.testing.assert_allclose(low @ low.T, np.asarray(m.corr), atol=1e-12)
    assert np.all(np.triu(low, 1) == 0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"n_paths": 1}, ValueError, r"price\.n_paths must be an integer >= 2, got 1"),
        ({"n_paths": 1000.0}, ValueError, r"price\.n_paths must be an integer"),
        ({"n_paths": 1001, "antithetic": True}, ValueError, r"antithetic=True needs an even n_paths"),
        ({"antithetic": 1}, ValueError, r"antithetic must be True or False"),
        ({"n_steps": 0}, ValueError, r"price\.n_steps must be an integer >= 1, got 0"),
        ({"dtype": "float16"}, ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
        ({"backend": "gpuu"}, ValueError, r"backend must be one of .* got 'gpuu'"),
        ({"seed": -1}, ValueError, r"seed must be an integer in \[0, 2\*\*64\)"),
        ({"stream": 2**32}, ValueError, r"stream must be an integer in \[0, 2\*\*32\)"),
    ],
)
def test_price_argument_errors(kwargs, exc, message):
    args = {"n_paths": 1000, "seed": 1, "backend": "reference", **kwargs}
    with pytest.raises(exc, match=message):
        rg.price(rg.European(strike=100.0, maturity=1.0), MODEL, **args)


def test_asian_steps_must_be_a_multiple_of_fixings():
    with pytest.raises(ValueError, match=r"n_steps must be a multiple of Asian\.n_fixings=4, got 6"):
        rg.price(rg.Asian(strike=100.0, maturity=1.0, n_fixings=4), MODEL, n_paths=64, n_steps=6, seed=1)


def test_single_asset_product_on_basket_model_is_an_error():
    m = rg.GBM(spot=[100, 90], vol=0.2, rate=0.0)
    with pytest.raises(ValueError, match=r"European needs a 1-asset model; the GBM has 2 assets"):
        rg.price(rg.European(strike=100.0, maturity=1.0), m, n_paths=64, seed=1)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="product must be a riskgpu product"):
        rg.price("european", MODEL, n_paths=64, seed=1)
    with pytest.raises(TypeError, match="model must be a riskgpu model"):
        rg.simulate({"spot": 1}, maturity=1.0, n_steps=1, n_paths=2, seed=1)


def test_gpu_backend_is_never_picked_by_auto_under_the_simulator():
    from riskgpu.backends import gpu, resolve

    assert gpu.simulated()
    assert resolve("auto") == "cpu"
    assert rg.backends()["auto"].detail == "-> cpu"
