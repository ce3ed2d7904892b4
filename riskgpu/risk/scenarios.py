"""Market scenarios at the VaR horizon: historical windows, Monte Carlo draws and the covariances behind them.

Every function returns relative spot moves ``S_h / S_0`` ``(n_scen, n_und)``. Monte Carlo draws come
from Philox on ``STREAM_SCENARIOS`` (scenario ``i`` is the counter's path index ``i``, so any prefix of
the scenarios is the same on every backend and for any scenario count). Trading days: 252 a year.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st
from scipy.special import ndtr

from riskgpu._checks import choice, finite, positive_int
from riskgpu.models.gbm import psd_cholesky
from riskgpu.rng import STREAM_SCENARIOS, normals_np, seed_key

DAYS_PER_YEAR = 252
RETURNS = ("lognormal", "normal", "student_t")
COVARIANCES = ("market", "sample", "ewma")


def log_returns(closes: np.ndarray, *, horizon_days: int, overlapping: bool, lookback_days: int | None) -> np.ndarray:
    """``horizon_days`` log returns ``(n_windows, k)`` from daily closes ``(n_dates, k)`` (oldest first).

    Only the most recent ``lookback_days`` daily returns are used (all by default). Overlapping windows end
    on every date; non-overlapping ones step back from the newest date by ``horizon_days``.
    """
    logs = np.log(np.asarray(closes, dtype=np.float64))
    if lookback_days is not None:
        if lookback_days > logs.shape[0] - 1:
            raise ValueError(
                f"lookback_days={lookback_days} needs {lookback_days + 1} closes, the history has {logs.shape[0]}"
            )
        logs = logs[-(lookback_days + 1) :]
    n = logs.shape[0] - 1
    if n < horizon_days:
        raise ValueError(f"horizon_days={horizon_days} needs at least {horizon_days + 1} closes, got {n + 1}")
    ends = np.arange(horizon_days, n + 1) if overlapping else np.arange(n, horizon_days - 1, -horizon_days)[::-1]
    return logs[ends] - logs[ends - horizon_days]


def covariance(
    *,
    source: str,
    vols: np.ndarray,
    corr: np.ndarray,
    closes: np.ndarray | None = None,
    lookback_days: int | None = None,
    ewma_decay: float = 0.94,
) -> np.ndarray:
    """Annualised covariance ``(k, k)`` of daily log returns.

    ``source="market"``: ``corr * vols vols'``. ``"sample"``: the sample covariance of the daily log
    returns (mean removed) times 252. ``"ewma"``: RiskMetrics ``sum_j (1 - l) l^j r_{t-j} r_{t-j}'``
    (zero mean) with the weights normalised to sum to one over the window (the newest weighs
    ``(1 - l) / (1 - l^n)``), times 252.
    """
    source = choice("var", "covariance", source, COVARIANCES)
    if source == "market":
        vols = np.asarray(vols, dtype=np.float64)
        return np.asarray(corr, dtype=np.float64) * np.outer(vols, vols)
    if closes is None:
        raise ValueError(f"covariance={source!r} needs price history in the market (Market(history=...))")
    r = log_returns(closes, horizon_days=1, overlapping=True, lookback_days=lookback_days)
    if r.shape[0] < 2:
        raise ValueError(f"covariance={source!r} needs at least 2 daily returns, got {r.shape[0]}")
    if source == "sample":
        return np.atleast_2d(np.cov(r, rowvar=False, ddof=1)) * DAYS_PER_YEAR
    decay = finite("var", "ewma_decay", ewma_decay, min_value=0.0, strict=True)
    if not decay < 1.0:
        raise ValueError(f"var.ewma_decay must be in (0, 1), got {ewma_decay!r}")
    w = decay ** np.arange(r.shape[0])[::-1]
    w /= w.sum()
    return (r * w[:, None]).T @ r * DAYS_PER_YEAR


def monte_carlo_moves(
    cov: np.ndarray,
    *,
    n_scenarios: int,
    horizon_days: int,
    returns: str,
    dof: float | None,
    seed: int,
    first: int = 0,
) -> np.ndarray:
    """Relative moves ``S_h / S_0`` ``(n_scenarios, k)`` with covariance ``cov * h / 252`` of the returns.

    ``returns="lognormal"``: ``exp(x - var/2)``, x normal (so ``E[S_h] = S_0``); ``"normal"``: ``1 + x``
    (arithmetic; a move to a spot <= 0 is an error naming the scenario: use lognormal returns or a shorter
    horizon); ``"student_t"``: ``exp(x - var/2)`` with x multivariate Student-t of ``dof > 2`` degrees of
    freedom scaled to the same covariance (log returns, so spots stay positive; ``E[S_h]`` is not finite
    under t log returns and the ``-var/2`` term is the lognormal model's). Scenario ``i`` draws Philox
    normals at path index ``first + i`` of ``STREAM_SCENARIOS``; the t mixing variable is the chi-square
    quantile of the normal CDF of one more normal.
    """
    returns = choice("var", "returns", returns, RETURNS)
    n = positive_int("var", "n_scenarios", n_scenarios, min_value=2)
    if returns == "student_t":
        if dof is None:
            raise ValueError("var: returns='student_t' needs dof= (degrees of freedom > 2)")
        dof = finite("var", "dof", dof, min_value=2.0, strict=True)
    elif dof is not None:
        raise ValueError(f"var: dof={dof!r} is only for returns='student_t' (returns={returns!r})")
    k = cov.shape[0]
    h = horizon_days / DAYS_PER_YEAR
    chol = psd_cholesky(np.asarray(cov, dtype=np.float64) * h)
    z = normals_np(k + 1, np.arange(first, first + n, dtype=np.uint64), key=seed_key(seed), stream=STREAM_SCENARIOS)
    x = z[:, :k] @ chol.T
    if returns == "student_t":
        w = _st.chi2.ppf(ndtr(z[:, k]), dof)
        x *= np.sqrt((dof - 2.0) / w)[:, None]
    if returns != "normal":
        return np.exp(x - 0.5 * np.diag(cov) * h)
    moves = 1.0 + x
    bad = np.argwhere(moves <= 0.0)
    if bad.size:
        i, j = bad[0]
        raise ValueError(
            f"var: returns='normal' moves underlying {j} to a spot <= 0 in scenario {first + i} (move 1 + x = "
            f"{moves[i, j]:.4g}, horizon_days={horizon_days}); use returns='lognormal' or a shorter horizon"
        )
    return moves


def annualised(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(vols, corr)`` of an annualised covariance (a zero-variance factor gets unit correlation only with
    itself)."""
    vols = np.sqrt(np.maximum(np.diag(cov), 0.0))
    scale = np.where(vols > 0, vols, 1.0)
    corr = cov / np.outer(scale, scale)
    np.fill_diagonal(corr, 1.0)
    return vols, np.clip(corr, -1.0, 1.0)


def check_horizon(horizon_days: object) -> int:
    """Horizon in trading days, a positive integer."""
    return positive_int("var", "horizon_days", horizon_days)


def horizon_years(horizon_days: int) -> float:
    """``horizon_days / 252``."""
    return horizon_days / DAYS_PER_YEAR
