"""Cox-Ross-Rubinstein binomial tree for European, American and Bermudan options on one asset.

The oracle of the Longstaff-Schwartz pricer (``riskgpu.lsm``). The tree is QuantLib's CRR
(``BinomialVanillaEngine(process, "crr", n)``): log-spot jumps ``±σ sqrt(dt)``, up probability
``1/2 + (r - q - σ²/2) sqrt(dt) / (2σ)`` (the drift of log S matched per step), discount
``exp(-r dt)`` per step. The backward induction is vectorised over the nodes of each step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from riskgpu._checks import choice, finite, positive_int


def _exercise_mask(n_steps: int, maturity: float, american: bool, exercise_times: Sequence[float] | None) -> np.ndarray:
    """``(n_steps + 1,)`` bool: may the holder exercise at tree step ``i`` (time ``maturity * i / n_steps``)?"""
    mask = np.zeros(n_steps + 1, dtype=bool)
    mask[-1] = True
    if exercise_times is None:
        if american:
            mask[:] = True
        return mask
    if not american:
        raise ValueError(f"binomial_price: exercise_times={exercise_times!r} needs american=True (a Bermudan)")
    for i, t in enumerate(exercise_times):
        t = finite("binomial_price", f"exercise_times[{i}]", t, min_value=0.0)
        if t > maturity * (1.0 + 1e-12):
            raise ValueError(f"binomial_price.exercise_times[{i}] must be <= maturity={maturity!r}, got {t!r}")
        mask[min(n_steps, round(t / maturity * n_steps)) if maturity > 0 else 0] = True
    return mask


def binomial_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    n_steps: int = 2000,
    american: bool = True,
    exercise_times: Sequence[float] | None = None,
) -> float:
    """Price of a call or put on a CRR tree of ``n_steps`` steps.

    Parameters
    ----------
    kind : ``"call"`` or ``"put"``.
    american : exercise at every node, today included (``True``), or only at maturity (``False``).
    exercise_times : a Bermudan: exercise allowed only at these times in ``[0, maturity]`` (each snapped
        to the nearest tree step: choose ``n_steps`` a multiple of the date grid for exact dates) and at
        maturity. Needs ``american=True``.

    Returns
    -------
    float : the price today. Zero maturity gives the intrinsic value; zero volatility the deterministic
    limit (the best discounted exercise value along the forward). Tested against QuantLib's
    ``BinomialVanillaEngine(process, "crr", n_steps)`` (American puts) and, for ``american=False``,
    against Black-Scholes within the tree's O(1/n) error.
    """
    sign = 1.0 if choice("binomial_price", "kind", kind, ("call", "put")) == "call" else -1.0
    spot = finite("binomial_price", "spot", spot, min_value=0.0)
    strike = finite("binomial_price", "strike", strike, min_value=0.0)
    maturity = finite("binomial_price", "maturity", maturity, min_value=0.0)
    vol = finite("binomial_price", "vol", vol, min_value=0.0)
    rate = finite("binomial_price", "rate", rate)
    div = finite("binomial_price", "div", div)
    n_steps = positive_int("binomial_price", "n_steps", n_steps)
    if not isinstance(american, bool):
        raise ValueError(f"binomial_price.american must be True or False, got {american!r}")
    mask = _exercise_mask(n_steps, maturity, american, exercise_times)
    times = maturity * np.arange(n_steps + 1) / n_steps

    if maturity == 0.0 or vol == 0.0:
        fwd = spot * np.exp((rate - div) * times)
        values = np.exp(-rate * times) * np.maximum(sign * (fwd - strike), 0.0)
        return float(np.max(values[mask]))

    dt = maturity / n_steps
    dx = vol * math.sqrt(dt)
    pu = 0.5 + 0.5 * (rate - div - 0.5 * vol * vol) * dt / dx
    if not 0.0 <= pu <= 1.0:
        raise ValueError(f"binomial_price: up probability {pu:.6g} outside [0, 1]; use more n_steps (got {n_steps})")
    pu_disc, pd_disc = math.exp(-rate * dt) * pu, math.exp(-rate * dt) * (1.0 - pu)
    # node j of step i has log spot x0 + (2j - i) dx
    log_spot = math.log(spot) if spot > 0 else -np.inf
    j = np.arange(n_steps + 1)
    values = np.maximum(sign * (np.exp(log_spot + (2 * j - n_steps) * dx) - strike), 0.0)
    for i in range(n_steps - 1, -1, -1):
        values = pd_disc * values[:-1] + pu_disc * values[1:]
        if mask[i]:
            s = np.exp(log_spot + (2 * j[: i + 1] - i) * dx)
            np.maximum(values, sign * (s - strike), out=values)
    return float(values[0])
