"""Stress tests (riskgpu.risk.stress) against closed forms, the reference backend and their own invariants.

Oracles: ``quantity * S * shock`` for spot positions; Black-Scholes (``riskgpu.analytic.bs_price``) at the
shocked spot, vol, rate and ``T - days / 365`` for Europeans; the reference backend (and the gpu simulator)
for the whole MIXED book of test_var.
"""

import datetime as dt
import math

import numpy as np
import pytest
from test_var import ASOF, DIVS, EUROPEANS, LINEAR, MIXED, RATE, SPOTS, VOLS, book, market

from riskgpu.analytic import bs_price
from riskgpu.risk.stress import StressResult, StressScenario, stress

SC = StressScenario


def _years(maturity):
    return maturity if isinstance(maturity, float) else (dt.date.fromisoformat(maturity) - ASOF).days / 365.0


def _bs(r, *, spot_shock=0.0, vol_shock=0.0, rate_shift=0.0, days=0):
    n = r["underlying"]
    return float(
        bs_price(
            kind=r["kind"],
            spot=SPOTS[n] * (1.0 + spot_shock),
            strike=r["strike"],
            maturity=max(_years(r["maturity"]) - days / 365.0, 0.0),
            vol=VOLS[n] + vol_shock,
            rate=RATE + rate_shift,
            div=DIVS[n],
        )
    )


SCENARIOS = [
    SC(name="crash", spot={"*": -0.3, "BBB": -0.45}, vol={"*": 0.15, "AAA": 0.25}, rate=-0.01),
    SC(name="rally", spot=0.25, vol=-0.05, rate=0.005, days=5),  # AAA 125: the up-and-out barrier is hit
    SC(name="month", days=30),
    SC(name="rates", rate=0.02),
    SC(name="mixed", spot={"AAA": 0.1, "CCC": -0.15}, vol={"BBB": 0.1}, days=91),
    SC(name="nothing"),
]


# ---------------------------------------------------------------- closed forms
def test_spot_positions_pnl_is_quantity_spot_shock():
    shocks = {"AAA": -0.25, "BBB": 0.5, "CCC": -0.125}  # dyadic: every product below is exact
    res = stress(book(LINEAR), market(), [SC(name="s", spot=shocks)], backend="cpu")
    by_id = dict(zip(res.position_ids, res.pnl_by_position[0], strict=True))
    for r in LINEAR:
        assert by_id[r["position_id"]] == r["quantity"] * SPOTS[r["underlying"]] * shocks[r["underlying"]]
    generic = stress(book(LINEAR), market(), [SC(name="g", spot=-0.137, vol=0.3, rate=0.02, days=7)], backend="cpu")
    for p, r in enumerate(sorted(LINEAR, key=lambda r: r["position_id"])):
        want = r["quantity"] * SPOTS[r["underlying"]] * -0.137
        assert generic.pnl_by_position[0, p] == pytest.approx(want, rel=1e-14, abs=0)


# id "gpu" would put the test under the real-device skip of conftest; this one runs on the simulator
@pytest.mark.parametrize("backend", ["reference", "cpu", "gpu"], ids=["reference", "cpu", "cuda-sim"])
def test_european_pnl_is_black_scholes(backend):
    sc = SC(name="x", spot={"AAA": -0.1, "BBB": 0.05, "CCC": -0.2}, vol={"AAA": 0.05, "*": -0.02}, rate=0.01, days=30)
    res = stress(book(EUROPEANS), market(), [sc, SC(name="today")], backend=backend)
    assert res.position_ids == ("E1", "E2", "E3")
    for p, r in enumerate(EUROPEANS):
        n = r["underlying"]
        today = _bs(r)
        shocked = _bs(r, spot_shock=sc.shock_for("spot", n), vol_shock=sc.shock_for("vol", n), rate_shift=0.01, days=30)
        assert res.base_values[p] == pytest.approx(r["quantity"] * today, rel=0, abs=1e-10)
        assert res.pnl_by_position[0, p] == pytest.approx(r["quantity"] * (shocked - today), rel=0, abs=1e-10)
    assert np.all(res.pnl_by_position[1] == 0.0)  # no shock: today's row itself


def test_wildcard_applies_to_all_and_a_name_overrides_it():
    recs = [*LINEAR, *EUROPEANS]
    wild = SC(name="w", spot={"*": -0.1, "BBB": 0.2}, vol={"*": 0.03, "CCC": -0.04})
    spelled = SC(name="w", spot={"AAA": -0.1, "BBB": 0.2, "CCC": -0.1}, vol={"AAA": 0.03, "BBB": 0.03, "CCC": -0.04})
    a = stress(book(recs), market(), [wild], backend="cpu")
    b = stress(book(recs), market(), [spelled], backend="cpu")
    assert a.pnl_by_position.tobytes() == b.pnl_by_position.tobytes()
    by_id = dict(zip(a.position_ids, a.pnl_by_position[0], strict=True))
    assert by_id["S1"] == pytest.approx(100.0 * 100.0 * -0.1, rel=1e-14)
    assert by_id["S2"] == pytest.approx(-250.0 * 50.0 * 0.2, rel=1e-14)
    assert by_id["S3"] == pytest.approx(40.0 * 200.0 * -0.1, rel=1e-14)
    e3 = EUROPEANS[2]
    want = e3["quantity"] * (_bs(e3, spot_shock=-0.1, vol_shock=-0.04) - _bs(e3))
    assert by_id["E3"] == pytest.approx(want, rel=0, abs=1e-10)
    # one float is the wildcard
    f = stress(book(recs), market(), [SC(name="f", spot=-0.1, vol=0.03)], backend="cpu")
    g = stress(book(recs), market(), [SC(name="f", spot={"*": -0.1}, vol={"*": 0.03})], backend="cpu")
    assert f.pnl_by_position.tobytes() == g.pnl_by_position.tobytes()


@pytest.mark.parametrize("days", [1, 10, 91])
def test_time_shift_alone_is_the_theta(days):
    recs = [*LINEAR, *EUROPEANS]
    res = stress(book(recs), market(), [SC(name="t", days=days)], backend="cpu")
    by_id = dict(zip(res.position_ids, res.pnl_by_position[0], strict=True))
    for r in LINEAR:
        assert by_id[r["position_id"]] == 0.0
    for r in EUROPEANS:
        want = r["quantity"] * (_bs(r, days=days) - _bs(r))
        assert by_id[r["position_id"]] == pytest.approx(want, rel=0, abs=1e-10)
        assert by_id[r["position_id"]] != 0.0


def test_expired_by_the_time_shift_is_intrinsic():
    rec = {"position_id": "E", "instrument": "european", "underlying": "AAA", "quantity": 3.0, "strike": 90.0,
           "maturity": 0.1, "kind": "call"}  # fmt: skip
    res = stress(book([rec]), market(), [SC(name="late", spot=0.1, days=60)], backend="cpu")
    assert res.pnl[0] == pytest.approx(3.0 * (110.0 - 90.0 - _bs(rec)), rel=0, abs=1e-10)


# ---------------------------------------------------------------- backends, order, totals
def test_backends_agree_on_the_mixed_book():
    ref = stress(book(MIXED), market(), SCENARIOS, backend="reference", tree_steps=100)
    for backend in ("cpu", "gpu"):
        got = stress(book(MIXED), market(), SCENARIOS, backend=backend, tree_steps=100)
        assert got.position_ids == ref.position_ids
        np.testing.assert_allclose(got.base_values, ref.base_values, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.pnl_by_position, ref.pnl_by_position, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.pnl, ref.pnl, rtol=0, atol=1e-10)
        assert np.all(got.pnl_by_position[-1] == 0.0)  # "nothing"
    b1 = ref.position_ids.index("B1")
    assert ref.pnl_by_position[1, b1] == pytest.approx(15.0 * 1.0 - ref.base_values[b1], abs=1e-12)  # rebate only
    assert np.all(ref.pnl_by_position[-1] == 0.0)


def test_row_order_changes_nothing():
    a = stress(book(MIXED), market(), SCENARIOS, backend="cpu", tree_steps=50)
    b = stress(book(MIXED[::-1]), market(), SCENARIOS, backend="cpu", tree_steps=50)
    assert a.position_ids == b.position_ids == tuple(sorted(r["position_id"] for r in MIXED))
    for field in ("base_values", "pnl_by_position", "pnl"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes()


def test_totals_are_exactly_rounded_sums_and_frames():
    res = stress(book(MIXED), market(), SCENARIOS, backend="cpu", tree_steps=50)
    assert isinstance(res, StressResult)
    assert res.scenario_names == tuple(s.name for s in SCENARIOS)
    assert res.pnl_by_position.shape == (len(SCENARIOS), len(MIXED))
    for s in range(len(SCENARIOS)):
        assert res.pnl[s] == math.fsum(res.pnl_by_position[s].tolist())
    long = res.frame()
    assert long.columns == ["scenario", "position_id", "book", "underlying", "pnl"]
    assert long.height == len(SCENARIOS) * len(MIXED)
    row = long.row(len(MIXED) + res.position_ids.index("K1"), named=True)
    assert row["scenario"] == "rally"
    assert row["underlying"] == "AAA|BBB|CCC"
    assert row["pnl"] == res.pnl_by_position[1, res.position_ids.index("K1")]
    assert long.group_by("scenario", maintain_order=True).agg(long["pnl"].sum())["scenario"].to_list() == list(
        res.scenario_names
    )
    tot = res.totals()
    assert tot.columns == ["scenario", "pnl"]
    assert tot["pnl"].to_numpy().tobytes() == res.pnl.tobytes()


def test_names_in_the_market_but_not_in_the_book_are_ignored():
    one = [r for r in LINEAR if r["underlying"] == "AAA"]
    a = stress(book(one), market(), [SC(name="x", spot={"AAA": -0.25, "CCC": 0.5}, vol={"BBB": -0.3})], backend="cpu")
    assert a.pnl[0] == 100.0 * 100.0 * -0.25


def test_scenario_from_dict_and_read_only_shocks():
    d = {"name": "cfg", "spot": {"AAA": -0.2, "*": -0.1}, "vol": 0.05, "rate": 0.01, "days": 3}
    sc = StressScenario.from_dict(d)
    assert sc == SC(name="cfg", spot={"AAA": -0.2, "*": -0.1}, vol=0.05, rate=0.01, days=3)
    d["spot"]["AAA"] = 5.0
    assert sc.spot["AAA"] == -0.2
    with pytest.raises(TypeError):
        sc.spot["AAA"] = 0.0
    assert sc.shock_for("spot", "AAA") == -0.2 and sc.shock_for("spot", "BBB") == -0.1
    assert sc.elapsed == 3 / 365
    assert StressScenario.from_dict({"name": "n"}) == SC(name="n")


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"name": ""}, "name"),
        ({"name": "a", "spot": -1.0}, r"'a'.*spot=-1\.0"),
        ({"name": "a", "spot": -1.5}, r"spot=-1\.5"),
        ({"name": "a", "spot": {"AAA": -1.0}}, r"spot\['AAA'\]=-1\.0"),
        ({"name": "a", "spot": {"AAA": math.nan}}, r"spot\['AAA'\].*nan"),
        ({"name": "a", "vol": "up"}, r"vol.*'up'"),
        ({"name": "a", "rate": math.inf}, r"rate.*inf"),
        ({"name": "a", "days": -1}, r"days.*-1"),
        ({"name": "a", "days": 1.5}, r"days.*1\.5"),
        ({"name": "a", "days": True}, r"days.*True"),
    ],
)
def test_bad_scenarios(kw, match):
    with pytest.raises(ValueError, match=match):
        SC(**kw)


def test_from_dict_errors():
    with pytest.raises(ValueError, match=r"'spots'.*\(scenario 'x'\)|\(scenario 'x'\).*'spots'"):
        StressScenario.from_dict({"name": "x", "spots": -0.1})
    with pytest.raises(ValueError, match="missing key 'name'"):
        StressScenario.from_dict({"spot": -0.1})
    with pytest.raises(TypeError):
        StressScenario.from_dict([("name", "x")])


def test_bad_stress_calls():
    port, mkt = book(MIXED), market()
    with pytest.raises(ValueError, match=r"'neg'.*'BBB'.*-0\.05"):
        stress(port, mkt, [SC(name="neg", vol={"BBB": -0.4})], backend="cpu")
    with pytest.raises(ValueError, match=r"'neg'.*'AAA'"):
        stress(port, mkt, [SC(name="neg", vol=-0.21)], backend="cpu")
    with pytest.raises(ValueError, match=r"'typo'.*spot\['ZZZ'\]"):
        stress(port, mkt, [SC(name="typo", spot={"ZZZ": 0.1})], backend="cpu")
    with pytest.raises(ValueError, match=r"'typo'.*vol\['aaa'\]"):
        stress(port, mkt, [SC(name="typo", vol={"aaa": 0.1})], backend="cpu")
    with pytest.raises(ValueError, match=r"duplicate scenario name 'a'"):
        stress(port, mkt, [SC(name="a"), SC(name="b"), SC(name="a", days=1)], backend="cpu")
    with pytest.raises(ValueError, match="empty"):
        stress(port, mkt, [], backend="cpu")
    with pytest.raises(TypeError, match="sequence"):
        stress(port, mkt, SC(name="a"), backend="cpu")
    with pytest.raises(TypeError, match=r"scenarios\[0\]"):
        stress(port, mkt, [{"name": "a"}], backend="cpu")
    with pytest.raises(ValueError, match=r"tree_steps.*0"):
        stress(port, mkt, [SC(name="a")], backend="cpu", tree_steps=0)
    with pytest.raises(ValueError, match=r"backend.*'fast'"):
        stress(port, mkt, [SC(name="a")], backend="fast")
