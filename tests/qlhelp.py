"""QuantLib set-up shared by the oracle tests: flat curves, ACT/365, maturities as whole days."""

from __future__ import annotations

TODAY = (24, 11, 2026)


def market(ql, *, spot: float, vol: float, rate: float, div: float):
    today = ql.Date(*TODAY)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, div, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    return today, process


def option_type(ql, kind: str):
    return ql.Option.Call if kind == "call" else ql.Option.Put


def european(ql, *, kind, strike, days, spot, vol, rate, div, payout=None):
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    if payout is None:
        payoff = ql.PlainVanillaPayoff(option_type(ql, kind), strike)
    else:
        payoff = ql.CashOrNothingPayoff(option_type(ql, kind), strike, payout)
    opt = ql.VanillaOption(payoff, ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return opt


def asian(ql, *, kind, strike, days, n_fixings, spot, vol, rate, div, average, engine="analytic", samples=20000):
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    assert days % n_fixings == 0
    dates = [today + days * i // n_fixings for i in range(1, n_fixings + 1)]
    payoff = ql.PlainVanillaPayoff(option_type(ql, kind), strike)
    avg = ql.Average.Geometric if average == "geometric" else ql.Average.Arithmetic
    acc = 1.0 if average == "geometric" else 0.0
    opt = ql.DiscreteAveragingAsianOption(avg, acc, 0, dates, payoff, ql.EuropeanExercise(dates[-1]))
    if engine == "analytic":
        opt.setPricingEngine(ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(process))
    else:
        opt.setPricingEngine(
            ql.MCDiscreteArithmeticAPEngine(
                process, "pseudorandom", controlVariate=True, requiredSamples=samples, seed=42
            )
        )
    return opt


BARRIER_TYPES = {("down", "in"): "DownIn", ("down", "out"): "DownOut", ("up", "in"): "UpIn", ("up", "out"): "UpOut"}


def barrier(ql, *, kind, strike, barrier, days, spot, vol, rate, div, direction, knock, rebate=0.0):
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    barrier_type = getattr(ql.Barrier, BARRIER_TYPES[direction, knock])
    payoff = ql.PlainVanillaPayoff(option_type(ql, kind), strike)
    opt = ql.BarrierOption(barrier_type, barrier, rebate, payoff, ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.AnalyticBarrierEngine(process))
    return opt


def lookback(ql, *, kind, strike, minmax, days, spot, vol, rate, div):
    """Continuous lookback; ``strike=None`` is floating. ``minmax`` is the running extremum the payoff uses."""
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    exercise = ql.EuropeanExercise(today + days)
    if strike is None:
        opt = ql.ContinuousFloatingLookbackOption(minmax, ql.FloatingTypePayoff(option_type(ql, kind)), exercise)
        opt.setPricingEngine(ql.AnalyticContinuousFloatingLookbackEngine(process))
    else:
        opt = ql.ContinuousFixedLookbackOption(minmax, ql.PlainVanillaPayoff(option_type(ql, kind), strike), exercise)
        opt.setPricingEngine(ql.AnalyticContinuousFixedLookbackEngine(process))
    return opt


def heston(ql, *, kind, strike, days, spot, rate, div, v0, kappa, theta, xi, rho, rel_tol=1e-13):
    """European option with AnalyticHestonEngine (adaptive Gauss-Lobatto to ``rel_tol``)."""
    today, process = market(ql, spot=spot, vol=0.2, rate=rate, div=div)
    hp = ql.HestonProcess(
        process.riskFreeRate(), process.dividendYield(), ql.QuoteHandle(ql.SimpleQuote(spot)), v0, kappa, theta, xi, rho
    )
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(option_type(ql, kind), strike), ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(hp), rel_tol, 100000))
    return opt


def merton_via_bates(ql, *, kind, strike, days, spot, vol, rate, div, lam, jump_mean, jump_std, xi=1e-6):
    """Merton (1976) as a Bates model with ``v0 = theta = vol**2``, ``rho = 0`` and a negligible vol of
    variance ``xi`` (BatesModel rejects 0; QuantLib's JumpDiffusionEngine is not in the Python bindings)."""
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    bp = ql.BatesProcess(
        process.riskFreeRate(),
        process.dividendYield(),
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        vol * vol,
        1.0,
        vol * vol,
        xi,
        0.0,
        lam,
        jump_mean,
        jump_std,
    )
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(option_type(ql, kind), strike), ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.BatesEngine(ql.BatesModel(bp), 1e-12, 100000))
    return opt


def turnbull_wakeman_asian(ql, *, kind, strike, days, n_fixings, spot, vol, rate, div, past_sum=0.0, past_fixings=0):
    """Arithmetic Asian, fixings ``today + days i / n``, with TurnbullWakemanAsianEngine."""
    today, process = market(ql, spot=spot, vol=vol, rate=rate, div=div)
    assert days % n_fixings == 0
    dates = [today + days * i // n_fixings for i in range(1, n_fixings + 1)]
    payoff = ql.PlainVanillaPayoff(option_type(ql, kind), strike)
    opt = ql.DiscreteAveragingAsianOption(
        ql.Average.Arithmetic, past_sum, past_fixings, dates, payoff, ql.EuropeanExercise(dates[-1])
    )
    opt.setPricingEngine(ql.TurnbullWakemanAsianEngine(process))
    return opt
