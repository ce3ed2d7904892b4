"""Portfolio input: CSV/Parquet/records, validation messages, round trips, products for every instrument."""

from __future__ import annotations

import datetime as dt
import pickle
import re

import polars as pl
import pytest

import riskgpu as rg
from riskgpu.risk.market import Market
from riskgpu.risk.portfolio import INSTRUMENTS, Portfolio, PortfolioError, Position

ASOF = dt.date(2025, 1, 31)

GOOD_CSV = """\
position_id,instrument,underlying,quantity,book,strike,maturity,kind,weights
p1,european,AAA,10,eq,100,1.5,call,
p2,basket,AAA|BBB,-2,eq,95,2026-01-31,put,0.6|0.4
p3,spot,BBB,100,cash,,,,
"""

ALL = [
    {"position_id": "s", "instrument": "spot", "underlying": "AAA", "quantity": 100},
    {"position_id": "f", "instrument": "forward", "underlying": "AAA", "quantity": 1, "strike": 90, "maturity": 0.5},
    {"position_id": "e", "instrument": "european", "underlying": "AAA", "quantity": 1, "strike": 100,
     "maturity": "2026-01-31", "kind": "call"},
    {"position_id": "d", "instrument": "digital", "underlying": "BBB", "quantity": 2, "strike": 50, "maturity": 1.0,
     "kind": "put", "payout": 10.0},
    {"position_id": "a", "instrument": "asian", "underlying": "AAA", "quantity": -1, "strike": 100, "maturity": 1.0,
     "kind": "call", "n_fixings": 12, "average": "geometric", "past_average": 98.0, "past_fixings": 3,
     "barrier": 70.0, "direction": "down", "knocked": False},
    {"position_id": "b", "instrument": "barrier", "underlying": "AAA", "quantity": 3, "strike": 100, "maturity": 1.0,
     "kind": "call", "barrier": 130.0, "direction": "up", "knock": "out", "rebate": 1.0, "monitoring": "discrete",
     "n_fixings": 52, "knocked": "false"},
    {"position_id": "l", "instrument": "lookback", "underlying": "AAA", "quantity": 1, "maturity": 1.0, "kind": "put",
     "running_max": 120.0, "running_min": 80.0},
    {"position_id": "k", "instrument": "basket", "underlying": ["AAA", "BBB", "CCC"], "quantity": 1, "strike": 100,
     "maturity": 1.0, "kind": "call", "weights": (0.5, 0.3, 0.2), "average": "arithmetic"},
    {"position_id": "m", "instrument": "american", "underlying": "BBB", "quantity": 1, "strike": 50,
     "maturity": "2026-01-31", "kind": "put", "n_exercise": 4, "degree": 2, "basis": "hermite"},
    {"position_id": "n", "instrument": "american", "underlying": "BBB", "quantity": 1, "strike": 50, "maturity": 1.0,
     "kind": "put", "exercise_dates": "0.25|0.5|0.75|1.0"},
]  # fmt: skip


@pytest.fixture(scope="module")
def market() -> Market:
    spots = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}
    return Market(asof=ASOF, spots=spots, vols=dict.fromkeys(spots, 0.2), rate=0.02)


def _eur(**kw: object) -> dict[str, object]:
    rec = {"position_id": "x1", "instrument": "european", "underlying": "AAA", "quantity": 1, "strike": 100,
           "maturity": 1.0, "kind": "call"}  # fmt: skip
    rec.update(kw)
    return rec


def _write(tmp_path, text: str, name: str = "book.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ reading
def test_read_csv(tmp_path, market):
    pf = Portfolio.read(_write(tmp_path, GOOD_CSV))
    assert pf.ids == ("p1", "p2", "p3") and len(pf) == 3 and pf.books == ("eq", "cash")
    p2 = pf.positions[1]
    assert p2.underlyings == ("AAA", "BBB") and p2.quantity == -2.0 and p2.terms["weights"] == (0.6, 0.4)
    assert p2.terms["maturity"] == dt.date(2026, 1, 31) and p2.row == 2
    e, b, s = pf.products(market)
    assert e == rg.European(strike=100.0, maturity=1.5, kind="call")
    assert b == rg.Basket(strike=95.0, maturity=365 / 365, kind="put", weights=(0.6, 0.4))
    assert s == rg.Spot()
    assert [p.position_id for p in pf] == list(pf.ids)


def test_csv_and_parquet_reads_equal(tmp_path):
    pf = Portfolio.from_records(ALL)
    pf.to_frame().write_csv(tmp_path / "all.csv")
    pf.to_frame().write_parquet(tmp_path / "all.parquet")
    a, b = Portfolio.read(tmp_path / "all.csv"), Portfolio.read(tmp_path / "all.parquet")
    assert a.positions == b.positions == pf.positions
    assert a.source.endswith("all.csv") and b.source.endswith("all.parquet")


def test_frame_round_trip():
    pf = Portfolio.from_records(ALL)
    again = Portfolio.from_frame(pf.to_frame())
    assert again.positions == pf.positions
    assert again.to_frame().equals(pf.to_frame())


def test_parquet_typed_columns(tmp_path, market):
    df = pl.DataFrame({"position_id": [7, 8], "instrument": ["european", "barrier"], "underlying": ["AAA", "AAA"],
                       "quantity": [1.0, 2.0], "strike": [100.0, 100.0], "maturity": [dt.date(2026, 1, 31)] * 2,
                       "kind": ["call", "put"], "barrier": [None, 80.0], "direction": [None, "down"],
                       "knock": [None, "in"], "knocked": [None, True]})  # fmt: skip
    df.write_parquet(tmp_path / "t.parquet")
    pf = Portfolio.read(tmp_path / "t.parquet")
    assert pf.ids == ("7", "8")
    _, bar = pf.products(market)
    assert bar.knocked is True and bar.maturity == 1.0


def test_iso_maturity_act365(market):
    pf = Portfolio.from_records([_eur(maturity="2025-04-01"), _eur(position_id="x2", maturity=dt.date(2028, 2, 29))])
    t1, t2 = (p.maturity for p in pf.products(market))
    assert t1 == 60 / 365 and t2 == (dt.date(2028, 2, 29) - ASOF).days / 365
    assert pf.positions[0].product("2025-04-01").maturity == 0.0


def test_products_every_instrument(market):
    pf = Portfolio.from_records(ALL)
    products = pf.products(market)
    assert {p.instrument for p in pf} == set(INSTRUMENTS)
    by_id = dict(zip(pf.ids, products, strict=True))
    assert by_id["f"] == rg.Forward(strike=90.0, maturity=0.5)
    assert by_id["d"] == rg.Digital(strike=50.0, maturity=1.0, kind="put", payout=10.0)
    assert by_id["a"] == rg.Asian(strike=100.0, maturity=1.0, kind="call", n_fixings=12, average="geometric",
                                  past_average=98.0, past_fixings=3, barrier=70.0, direction="down")  # fmt: skip
    assert by_id["b"] == rg.Barrier(strike=100.0, maturity=1.0, kind="call", barrier=130.0, direction="up", knock="out",
                                    rebate=1.0, monitoring="discrete", n_fixings=52)  # fmt: skip
    assert by_id["l"] == rg.Lookback(maturity=1.0, kind="put", running_max=120.0, running_min=80.0)
    assert by_id["k"].weights == (0.5, 0.3, 0.2) and by_id["k"].n_assets == 3
    assert by_id["m"] == rg.American(strike=50.0, maturity=1.0, kind="put", n_exercise=4, degree=2, basis="hermite")
    assert by_id["n"].exercise_dates == (0.25, 0.5, 0.75, 1.0)
    pf.check(market)


def test_scaled_subset_ids():
    pf = Portfolio.from_records(ALL)
    half = pf.scaled(0.5)
    assert [p.quantity for p in half] == [0.5 * p.quantity for p in pf]
    sub = pf.subset(["k", "s"])
    assert sub.ids == ("s", "k")
    assert pf.subset("e").ids == ("e",)
    with pytest.raises(PortfolioError, match=r"unknown position_id.*'zz'"):
        pf.subset(["zz"])
    with pytest.raises(PortfolioError, match="factor nan"):
        pf.scaled(float("nan"))


def test_pickle_and_hash():
    pf = Portfolio.from_records(ALL, source="mem")
    again = pickle.loads(pickle.dumps(pf))
    assert again.positions == pf.positions and again.source == "mem" and again.positions[3].row == 4
    assert len({hash(p) for p in pf}) == len(pf)


def test_position_direct_and_readonly_terms():
    p = Position(position_id=5, instrument="european", underlyings=("AAA",), quantity=2, terms={"strike": 1,
                 "maturity": 1, "kind": "put"})  # fmt: skip
    assert p.position_id == "5" and p.terms["strike"] == 1.0
    with pytest.raises(TypeError):
        p.terms["strike"] = 2.0  # type: ignore[index]


# ------------------------------------------------------------------------------------- malformed records
BAD_RECORDS = [
    (_eur(strike=-1), "field strike = -1: must be >= 0"),
    (_eur(strike=float("nan")), "field strike = nan: must be finite"),
    (_eur(strike="abc"), "field strike = 'abc': is not a number"),
    (_eur(maturity=-0.5), "field maturity = -0.5: must be >= 0"),
    (_eur(maturity="2025-02-30"), "field maturity = '2025-02-30': is not a valid date"),
    (_eur(kind="Call"), "field kind = 'Call': must be one of 'call', 'put'"),
    (_eur(kind=None), "field kind = None: is required for a european"),
    (_eur(barrier=90.0), "field barrier = 90.0: a european does not take 'barrier'"),
    (_eur(strikee=100.0), "field strikee = 100.0: unknown field"),
    (_eur(quantity=float("inf")), "field quantity = inf: must be finite"),
    (_eur(quantity=None), "field quantity = None: is required"),
    (_eur(instrument="europeen"), "field instrument = 'europeen': unknown instrument"),
    (_eur(underlying="AAA|BBB"), "field underlying = 'AAA\\|BBB': a european takes one underlying"),
    (_eur(position_id=""), "field position_id = '': must be a non-empty string"),
    (_eur(instrument="spot", strike=None, maturity=None, kind=None, book=""), "field book = '': must be a non-empty"),
    (_eur(instrument="spot", kind=None, strike=None), "field maturity = 1.0: a spot does not take 'maturity'"),
    (_eur(instrument="basket", underlying="AAA|BBB", weights="0.5"), "field weights = '0.5': has 1 weights for 2"),
    (_eur(instrument="basket", underlying="AAA|AAA", weights="0.5|0.5"),
     "field underlying = 'AAA\\|AAA': names an underlying twice"),
    (_eur(instrument="basket"), "field weights = None: is required for a basket"),
    (_eur(instrument="barrier", barrier=0.0, direction="up", knock="out"), "field barrier = 0.0: must be > 0"),
    (_eur(instrument="barrier", barrier=90.0, direction="down", knock="out", knocked="yes"),
     "field knocked = 'yes': must be true or false"),
    (_eur(instrument="barrier", barrier=90.0, direction="down", knock="off"), "field knock = 'off'"),
    (_eur(instrument="barrier", barrier=90.0, direction="down"), "field knock = None: is required for a barrier"),
    (_eur(instrument="asian", n_fixings="12.5"), "field n_fixings = '12.5': is not an integer"),
    (_eur(instrument="asian", past_average=99.0), "field past_average = 99.0: Asian.past_average=99.0 is given"),
    (_eur(instrument="american", n_exercise=4, exercise_dates=[0.5, 1.0]),
     ": American: give exercise_dates or n_exercise"),
    (_eur(instrument="american", exercise_dates="0.5|0.9"),
     "field exercise_dates = \\(0.5, 0.9\\): American.exercise_dates must end at maturity"),
    (_eur(instrument="american", degree=9), "field degree = 9: American.degree must be an integer in \\[1, 8\\]"),
    (_eur(instrument="lookback", running_max=80.0, running_min=90.0), "field running_min = 90.0: Lookback.running_min"),
    (_eur(instrument="lookback", monitoring="discrete"), "field n_fixings = None: Lookback.n_fixings is required"),
    (_eur(quantity=True), "field quantity = True: is not a number"),
]  # fmt: skip


@pytest.mark.parametrize(("record", "message"), BAD_RECORDS, ids=[m[:40] for _, m in BAD_RECORDS])
def test_bad_record(record, message):
    good = _eur(position_id="ok")
    pid = f", position_id '{record['position_id']}'" if record["position_id"] else ""
    sep = "" if message[0] == ":" else ", "
    with pytest.raises(PortfolioError, match=rf"^mem, row 2{pid}{sep}{message}"):
        Portfolio.from_records([good, record], source="mem")


def test_bad_record_not_mapping():
    with pytest.raises(PortfolioError, match="row 1: a record must be a mapping, got list"):
        Portfolio.from_records([["x"]])


def test_duplicate_ids_name_both_rows(tmp_path):
    path = _write(tmp_path, GOOD_CSV + "p1,spot,AAA,1,,,,,\n")
    with pytest.raises(PortfolioError, match=rf"{re.escape(str(path))}, row 4, position_id 'p1'.*rows 1 and 4"):
        Portfolio.read(path)


# ---------------------------------------------------------------------------------------- malformed files
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD_CSV.replace("kind,weights", "kind,wieghts"), "unknown column 'wieghts'"),
        (GOOD_CSV.replace("quantity,", "qty,"), "unknown column 'qty'"),
        ("position_id,instrument,underlying\n", "missing required column\\(s\\) quantity"),
        ("position_id,instrument,underlying,quantity\n", "the portfolio is empty"),
        (
            GOOD_CSV.replace("p1,european,AAA,10", "p1,european,AAA,ten"),
            "row 1, position_id 'p1', field quantity = 'ten'",
        ),
        (GOOD_CSV.replace("p2,basket,AAA|BBB", "p2,basket,AAA|"), "row 2, position_id 'p2', field underlying"),
        (
            GOOD_CSV.replace(",95,2026-01-31", ",95,31/01/2026"),
            "row 2, position_id 'p2', field maturity = '31/01/2026'",
        ),
        (GOOD_CSV.replace("0.6|0.4", "0.6|x"), "row 2, position_id 'p2', field weights = '0.6\\|x': is not a number"),
        (GOOD_CSV.replace("p3,spot,BBB,100,cash,,", "p3,spot,BBB,100,cash,5,"), "row 3, .*field strike = '5'"),
        (GOOD_CSV.replace("p1,european,AAA,10,eq,100,1.5,call", "p1,european,AAA,10,eq,100,1.5,"), "field kind = None"),
    ],
)
def test_bad_csv_names_file(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(PortfolioError, match=re.escape(str(path)) + ".*" + message):
        Portfolio.read(path)


def test_bad_files(tmp_path):
    with pytest.raises(PortfolioError, match=r"book\.xlsx: not a CSV or Parquet file"):
        Portfolio.read(_write(tmp_path, "x", "book.xlsx"))
    with pytest.raises(PortfolioError, match=r"nope\.csv: no such file"):
        Portfolio.read(tmp_path / "nope.csv")
    with pytest.raises(PortfolioError, match=r"junk\.parquet: cannot read"):
        Portfolio.read(_write(tmp_path, "not parquet", "junk.parquet"))
    with pytest.raises(PortfolioError, match="expected a polars DataFrame"):
        Portfolio.from_frame([1, 2])


# ------------------------------------------------------------------------------------- against the market
def test_unknown_underlying(market):
    pf = Portfolio.from_records([_eur(underlying="ZZZ")], source="b.csv")
    with pytest.raises(
        PortfolioError, match=r"b.csv, row 1, position_id 'x1', field underlying = 'ZZZ': unknown under"
    ):
        pf.products(market)
    basket = Portfolio.from_records([_eur(instrument="basket", underlying=["AAA", "QQQ"], weights=[1, 1])])
    with pytest.raises(PortfolioError, match="field underlying = 'QQQ'"):
        basket.check(market)


def test_expired_maturity(market):
    pf = Portfolio.from_records([_eur(maturity="2025-01-30")], source="b.csv")
    with pytest.raises(
        PortfolioError, match=r"b.csv, row 1, position_id 'x1', field maturity = '2025-01-30': is before"
    ):
        pf.products(market)
    with pytest.raises(PortfolioError, match=r"field maturity = datetime.date\(2025, 1, 30\): is a date"):
        pf.positions[0].product(None)


def test_expired_exercise_date(market):
    rec = _eur(instrument="american", maturity="2026-01-31", exercise_dates="2025-01-01|2026-01-31")
    with pytest.raises(PortfolioError, match=r"field exercise_dates = '2025-01-01': is before the as-of"):
        Portfolio.from_records([rec]).products(market)


def test_lookback_extremes_against_spot(market):
    pf = Portfolio.from_records([_eur(instrument="lookback", strike=None, running_max=90.0)])
    with pytest.raises(PortfolioError, match=r"field running_max = 90.0: is below the market spot 100.0"):
        pf.products(market)
