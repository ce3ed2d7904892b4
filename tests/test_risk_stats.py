"""Loss statistics, scenario generation and the delta-gamma cumulants, against independent oracles."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from riskgpu.risk import scenarios as sc
from riskgpu.risk.parametric import cumulants
from riskgpu.risk.stats import (
    cf_var_es,
    check_confidence,
    cornish_fisher,
    empirical_var_es,
    es_interval,
    normal_var_es,
    rank,
    var_interval,
)


@pytest.mark.parametrize(("a", "n", "k"), [(0.99, 1000, 990), (0.975, 40, 39), (0.95, 20, 19), (0.99, 50, 50)])
def test_rank_is_exact_decimal_ceiling(a, n, k):
    assert rank(a, n) == k


def test_rank_at_least_one():
    assert rank(0.001, 10) == 1


@pytest.mark.parametrize("bad", [0.0, 1.0, 99, -0.5, "0.99", True, None])
def test_confidence_errors_name_the_argument(bad):
    with pytest.raises(ValueError, match=r"var\.confidence"):
        check_confidence("var.confidence", bad)


def test_empirical_var_es_order_statistic():
    rng = np.random.default_rng(5)
    losses = rng.standard_normal(1000)
    var, es = empirical_var_es(losses, 0.99)
    ordered = sorted(losses.tolist())
    assert var == ordered[989]
    assert es == pytest.approx(sum(ordered[989:]) / 11, rel=1e-15)


def test_es_includes_ties_and_is_at_least_var():
    losses = np.array([1.0, 2.0, 3.0, 3.0, 3.0])
    var, es = empirical_var_es(losses, 0.5)  # k = 3 -> the third smallest, 3.0; the ties are all in the tail
    assert var == 3.0 and es == 3.0
    var, es = empirical_var_es(np.array([5.0, 1.0, 2.0, 4.0]), 0.5)
    assert (var, es) == (2.0, (2.0 + 4.0 + 5.0) / 3)


def _coverage(interval, truth, n, reps, a):
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(reps):
        lo, hi = interval(rng.standard_normal(n), a)
        hits += lo <= truth <= hi
    return hits / reps


def test_var_interval_covers_the_true_quantile():
    a, reps = 0.99, 300
    cover = _coverage(var_interval, st.norm.ppf(a), 2000, reps, a)
    # binomial order-statistic interval: coverage >= 95% (conservative); 3 sd of the coverage estimate
    assert cover >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / reps)


def test_es_interval_covers_the_true_es():
    a, reps = 0.975, 300
    truth = st.norm.pdf(st.norm.ppf(a)) / (1 - a)
    cover = _coverage(es_interval, truth, 4000, reps, a)
    assert abs(cover - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / reps) + 0.02  # asymptotic: allow a small bias


def test_normal_var_es_closed_form():
    var, es = normal_var_es(0.5, 2.0, 0.99)
    assert var == pytest.approx(2.0 * st.norm.ppf(0.99) - 0.5, rel=1e-14)
    assert es == pytest.approx(2.0 * st.norm.pdf(st.norm.ppf(0.99)) / 0.01 - 0.5, rel=1e-13)


def test_cf_without_higher_cumulants_is_normal():
    assert cf_var_es((0.1, 4.0, 0.0, 0.0), 0.99) == pytest.approx(normal_var_es(0.1, 2.0, 0.99), rel=1e-15)


def test_cf_es_quadrature_against_adaptive_integral():
    ks = (0.2, 2.0, -0.9, 1.1)
    sd, skew, kurt = math.sqrt(2.0), -0.9 / 2.0**1.5, 1.1 / 4.0
    a = 0.975
    var, es = cf_var_es(ks, a)
    assert var == pytest.approx(-(0.2 + sd * cornish_fisher(st.norm.ppf(1 - a), skew, kurt)), rel=1e-14)

    def q(u):
        return 0.2 + sd * cornish_fisher(st.norm.ppf(u), skew, kurt)

    exact = -integrate.quad(q, 0.0, 1 - a, limit=200, epsabs=1e-13)[0] / (1 - a)
    assert es == pytest.approx(exact, rel=1e-9)


def _gauss_hermite_cumulants(theta, w, a, c, nodes=8):
    """Exact moments of theta + w'r + r'Ar/2, r ~ N(0, c), by tensor Gauss-Hermite (exact for degree 8)."""
    x, wt = np.polynomial.hermite_e.hermegauss(nodes)
    wt = wt / wt.sum()
    chol = np.linalg.cholesky(c)
    k = len(w)
    m = np.zeros(5)
    for idx in itertools.product(range(nodes), repeat=k):
        z = x[list(idx)]
        r = chol @ z
        q = theta + w @ r + 0.5 * r @ a @ r
        m += np.prod(wt[list(idx)]) * q ** np.arange(5)
    mean = m[1]
    c2 = m[2] - mean**2
    c3 = m[3] - 3 * mean * m[2] + 2 * mean**3
    c4 = m[4] - 4 * mean * m[3] + 6 * mean**2 * m[2] - 3 * mean**4
    return mean, c2, c3, c4 - 3 * c2**2


def test_delta_gamma_cumulants_against_quadrature():
    c = np.array([[0.04, 0.012, 0.0], [0.012, 0.09, -0.02], [0.0, -0.02, 0.0625]])
    w = np.array([1.5, -0.7, 2.0])
    a = np.array([[3.0, 0.5, 0.0], [0.5, -2.0, 0.3], [0.0, 0.3, 1.0]])
    exact = _gauss_hermite_cumulants(0.01, w, a, c)
    assert cumulants(0.01, w, a, c) == pytest.approx(exact, rel=1e-10, abs=1e-14)


# ---------------------------------------------------------------- scenarios
def test_log_returns_windows_against_a_loop():
    closes = np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, (30, 2)), axis=0))
    got = sc.log_returns(closes, horizon_days=5, overlapping=True, lookback_days=None)
    want = [np.log(closes[t] / closes[t - 5]) for t in range(5, 30)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = sc.log_returns(closes, horizon_days=5, overlapping=False, lookback_days=None)
    want = [np.log(closes[t] / closes[t - 5]) for t in (9, 14, 19, 24, 29)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = sc.log_returns(closes, horizon_days=1, overlapping=True, lookback_days=10)
    np.testing.assert_allclose(got, np.diff(np.log(closes[-11:]), axis=0), rtol=1e-12)


def test_log_returns_errors():
    closes = np.ones((10, 1))
    with pytest.raises(ValueError, match="lookback_days=20 needs 21 closes"):
        sc.log_returns(closes, horizon_days=1, overlapping=True, lookback_days=20)
    with pytest.raises(ValueError, match="horizon_days=10 needs at least 11 closes"):
        sc.log_returns(closes, horizon_days=10, overlapping=True, lookback_days=None)


def test_sample_and_ewma_covariance():
    closes = np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, (60, 3)), axis=0))
    r = np.diff(np.log(closes), axis=0)
    got = sc.covariance(source="sample", vols=None, corr=None, closes=closes)
    np.testing.assert_allclose(got, np.cov(r.T) * 252, rtol=1e-12)
    lam = 0.9
    want = np.zeros((3, 3))
    norm = 0.0
    for j, row in enumerate(r[::-1]):  # newest first, weight (1 - lam) lam^j
        want += (1 - lam) * lam**j * np.outer(row, row)
        norm += (1 - lam) * lam**j
    got = sc.covariance(source="ewma", vols=None, corr=None, closes=closes, ewma_decay=lam)
    np.testing.assert_allclose(got, want / norm * 252, rtol=1e-12)
    with pytest.raises(ValueError, match="ewma_decay must be in"):
        sc.covariance(source="ewma", vols=None, corr=None, closes=closes, ewma_decay=1.0)
    with pytest.raises(ValueError, match="needs price history"):
        sc.covariance(source="sample", vols=None, corr=None, closes=None)
    with pytest.raises(ValueError, match="covariance must be one of"):
        sc.covariance(source="samples", vols=None, corr=None)


COV = np.array([[0.04, 0.018], [0.018, 0.09]])


@pytest.mark.parametrize("returns", ["lognormal", "normal", "student_t"])
def test_mc_moves_moments(returns):
    n, h = 40_000, 10
    dof = 5.0 if returns == "student_t" else None
    m = sc.monte_carlo_moves(COV, n_scenarios=n, horizon_days=h, returns=returns, dof=dof, seed=3)
    assert m.shape == (n, 2)
    if returns != "student_t":  # no drift: E[S_h / S_0] = 1 within 4.5 standard errors (4 comparisons)
        se = m.std(axis=0, ddof=1) / math.sqrt(n)
        assert np.all(np.abs(m.mean(axis=0) - 1.0) <= 4.5 * se)
    x = m - 1.0 if returns == "normal" else np.log(m) + 0.5 * np.diag(COV) * h / 252
    cov = np.cov(x.T)
    target = COV * h / 252
    # sample variance stderr: var * sqrt((kurtosis - 1) / n) with kurtosis 3 (normal) or 9 (t5)
    kurt = 9.0 if returns == "student_t" else 3.0
    for i in range(2):
        assert abs(cov[i, i] - target[i, i]) <= 4.5 * target[i, i] * math.sqrt((kurt - 1) / n)
    if returns == "student_t":
        assert st.kurtosis(x[:, 0]) > 1.0  # heavy tails (t5 excess kurtosis 6)


def test_student_t_moves_stay_positive_and_normal_refuses_negative_spots():
    m = sc.monte_carlo_moves(COV, n_scenarios=20_000, horizon_days=10, returns="student_t", dof=2.5, seed=1)
    assert np.all(m > 0)
    with pytest.raises(ValueError, match=r"returns=.normal. moves underlying \d to a spot <= 0 in scenario \d+"):
        sc.monte_carlo_moves(COV * 25, n_scenarios=20_000, horizon_days=252, returns="normal", dof=None, seed=1)


def test_mc_moves_prefix_and_determinism():
    a = sc.monte_carlo_moves(COV, n_scenarios=1000, horizon_days=1, returns="lognormal", dof=None, seed=9)
    b = sc.monte_carlo_moves(COV, n_scenarios=100, horizon_days=1, returns="lognormal", dof=None, seed=9)
    assert a[:100].tobytes() == b.tobytes()
    c = sc.monte_carlo_moves(COV, n_scenarios=100, horizon_days=1, returns="lognormal", dof=None, seed=10)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"returns": "student_t", "dof": None}, "needs dof"),
        ({"returns": "student_t", "dof": 2.0}, "dof must be > 2"),
        ({"returns": "normal", "dof": 4.0}, "only for returns='student_t'"),
        ({"returns": "log-normal", "dof": None}, "returns must be one of"),
    ],
)
def test_mc_moves_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        sc.monte_carlo_moves(COV, n_scenarios=10, horizon_days=1, seed=1, **kw)
