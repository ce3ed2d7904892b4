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
