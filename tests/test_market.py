"""Market input: constructor checks, correlation forms and repair, history alignment, the folder reader."""

from __future__ import annotations

import datetime as dt
import pickle
import re
import warnings

import numpy as np
import polars as pl
import pytest

import riskgpu as rg
from riskgpu.risk.market import CorrelationRepairWarning, Market, MarketError

SPOTS = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}
VOLS = {"AAA": 0.2, "BBB": 0.3, "CCC": 0.25}
BAD_CORR = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # eigenvalue -0.8


def _market(**kw: object) -> Market:
    args = {"asof": "2025-01-31", "spots": SPOTS, "vols": VOLS, "rate": 0.02}
    args.update(kw)
    return Market(**args)


def _history() -> pl.DataFrame:
    rows = [("2025-01-27", "AAA", 98.0), ("2025-01-28", "AAA", 99.0), ("2025-01-29", "AAA", 101.0),
            ("2025-01-31", "AAA", 100.0), ("2025-02-03", "AAA", 103.0),
            ("2025-01-29", "BBB", 51.0), ("2025-01-28", "BBB", 49.0), ("2025-01-27", "BBB", 48.0),
            ("2025-01-31", "BBB", 50.0), ("2025-01-28", "CCC", 20.0)]  # fmt: skip
    return pl.DataFrame(rows, schema=["date", "underlying", "close"], orient="row")


# ------------------------------------------------------------------------------------------------ basics
def test_vectors_and_model():
    m = _market(divs={"BBB": 0.01}, corr={("AAA", "BBB"): 0.5, ("CCC", "AAA"): -0.2})
    assert m.asof == dt.date(2025, 1, 31) and m.names == ("AAA", "BBB", "CCC") and m.rate == 0.02
    np.testing.assert_array_equal(m.spot_vector(["CCC", "AAA"]), [20.0, 100.0])
    np.testing.assert_array_equal(m.vol_vector("BBB"), [0.3])
    np.testing.assert_array_equal(m.div_vector(["AAA", "BBB"]), [0.0, 0.01])
    np.testing.assert_array_equal(m.corr_matrix(["CCC", "BBB", "AAA"]), [[1, 0, -0.2], [0, 1, 0.5], [-0.2, 0.5, 1]])
    assert m.corr_matrix().shape == (3, 3) and m.repair_report is None
    one = m.model(["BBB"])
    assert one == rg.GBM(spot=50.0, vol=0.3, rate=0.02, div=0.01)
    two = m.model(["BBB", "AAA"])
    assert two.n_assets == 2
    np.testing.assert_array_equal(two.spots, [50.0, 100.0])
    np.testing.assert_array_equal(two.divs, [0.01, 0.0])
    assert two.corr == ((1.0, 0.5), (0.5, 1.0))
    three = m.model(m.names)
    np.testing.assert_allclose(three.cholesky @ three.cholesky.T, m.corr_matrix(), atol=1e-15)


def test_corr_array_and_frame_forms_agree():
    c = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]])
    frame = pl.DataFrame({"underlying": ["CCC", "AAA", "BBB"], "AAA": [0.1, 1.0, 0.3], "BBB": [0.2, 0.3, 1.0],
                          "CCC": [1.0, 0.1, 0.2]})  # fmt: skip
    pairs = {("AAA", "BBB"): 0.3, ("AAA", "CCC"): 0.1, ("BBB", "CCC"): 0.2, ("AAA", "AAA"): 1.0}
    for corr in (c, frame, pairs):
        np.testing.assert_array_equal(_market(corr=corr).corr_matrix(), c)


def test_pickle():
    m = _market(history=_history(), divs={"AAA": 0.01})
    again = pickle.loads(pickle.dumps(m))
    assert again.spots == m.spots and again.divs["AAA"] == 0.01 and again.asof == m.asof
    np.testing.assert_array_equal(again.closes(["AAA"])[1], m.closes(["AAA"])[1])
    with pytest.raises(TypeError):
        again.spots["AAA"] = 1.0


def test_with_spots_and_vols_copy():
    m = _market(history=_history())
    up = m.with_spots({"AAA": 110.0})
    assert up.spot_vector(["AAA", "BBB"]).tolist() == [110.0, 50.0] and m.spots["AAA"] == 100.0
    hi = m.with_vols({"CCC": 0.5})
    assert hi.vol_vector("CCC")[0] == 0.5 and m.vol_vector("CCC")[0] == 0.25
    assert hi.closes(["AAA"])[1].shape == (4, 1)
    with pytest.raises(MarketError, match=r"spots\['AAA'\] = -1.0: must be > 0"):
        m.with_spots({"AAA": -1.0})
    with pytest.raises(MarketError, match="unknown underlying 'ZZZ'"):
        m.with_vols({"ZZZ": 0.1})


# ------------------------------------------------------------------------------------ constructor errors
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"asof": "31/01/2025"}, r"asof = '31/01/2025': is not a date"),
        ({"rate": float("nan")}, r"rate = nan: must be finite"),
        ({"spots": {"AAA": 0.0}}, r"spots\['AAA'\] = 0.0: must be > 0"),
        ({"spots": {}}, r"spots must be a non-empty mapping"),
        ({"vols": {"AAA": 0.2, "BBB": 0.3}}, r"vols: no value for underlying 'CCC'"),
        ({"vols": {**VOLS, "AAA": -0.1}}, r"vols\['AAA'\] = -0.1: must be >= 0"),
        ({"vols": {**VOLS, "DDD": 0.1}}, r"vols\['DDD'\]: 'DDD' is not an underlying of spots"),
        ({"divs": {"ZZZ": 0.01}}, r"divs\['ZZZ'\]: 'ZZZ' is not an underlying"),
        ({"divs": {"AAA": float("inf")}}, r"divs\['AAA'\] = inf: must be finite"),
        ({"repair": "clip"}, r"repair must be one of 'none', 'nearest', got 'clip'"),
        ({"corr": np.eye(2)}, r"shape \(3, 3\) for the 3 underlyings, got shape \(2, 2\)"),
        ({"corr": {("AAA", "BBB"): 1.5}}, r"corr\[AAA, BBB\] = 1.5: must lie in \[-1, 1\]"),
        ({"corr": {("AAA", "ZZZ"): 0.5}}, r"corr key \('AAA', 'ZZZ'\) must be a pair"),
        ({"corr": {("AAA", "BBB"): 0.5, ("BBB", "AAA"): 0.4}}, r"corr\[BBB, AAA\] = 0.4 but corr\[AAA, BBB\] = 0.5"),
        ({"corr": {("AAA", "AAA"): 0.9}}, r"corr\[AAA, AAA\] = 0.9: the diagonal must be 1"),
        ({"corr": np.where(np.eye(3) > 0, 1.0, [[0, 0.2, 0], [0.3, 0, 0], [0, 0, 0]])},
         r"corr\[AAA, BBB\] = 0.2 but corr\[BBB, AAA\] = 0.3: not symmetric"),
        ({"corr": np.where(np.eye(3) > 0, 1.0, np.nan)}, r"corr\[AAA, BBB\] = nan: must be finite"),
        ({"corr": BAD_CORR}, r"not positive semi-definite: smallest eigenvalue -0.8; pass repair='nearest'"),
    ],
)  # fmt: skip
def test_constructor_errors(kw, message):
    with pytest.raises(MarketError, match=message):
        _market(**kw)


def test_repair_nearest_warns_and_reports():
    with pytest.warns(CorrelationRepairWarning, match=r"smallest eigenvalue -0.8.*repair='nearest'"):
        m = _market(corr=BAD_CORR, repair="nearest")
    r = m.repair_report
    assert r["min_eigenvalue_before"] == pytest.approx(-0.8) and r["min_eigenvalue_after"] >= -1e-12
    c = m.corr_matrix()
    assert r["max_abs_change"] == pytest.approx(np.abs(c - BAD_CORR).max())
    a, b = r["pair"]
    i, j = m.names.index(a), m.names.index(b)
    assert r["pair_before"] == BAD_CORR[i, j] and r["pair_after"] == c[i, j]
    assert np.linalg.eigvalsh(c)[0] >= -1e-12 and np.all(np.diag(c) == 1.0)
    m.model(m.names)  # the GBM accepts the repaired matrix
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _market(corr=np.eye(3), repair="nearest").repair_report is None  # a valid one: no warning


# ---------------------------------------------------------------------------------------------- history
def test_closes_alignment():
    m = _market(history=_history())
    dates, closes = m.closes(["BBB", "AAA"])
    assert dates.dtype == np.dtype("datetime64[D]")
    assert dates.tolist() == [dt.date(2025, 1, d) for d in (27, 28, 29, 31)]  # 2025-02-03 is after asof
    np.testing.assert_array_equal(closes, [[48.0, 98.0], [49.0, 99.0], [51.0, 101.0], [50.0, 100.0]])
    d2, c2 = m.closes("AAA", end="2025-01-28")
    assert d2.tolist() == [dt.date(2025, 1, 27), dt.date(2025, 1, 28)] and c2.shape == (2, 1)


def test_closes_errors():
    m = _market(history=_history())
    with pytest.raises(MarketError, match=r"no close for underlying 'BBB' on 2025-02-03"):
        m.closes(["AAA", "BBB"], end="2025-02-05")
    with pytest.raises(MarketError, match=r"no close for underlying 'CCC' on 2025-01-27"):
        m.closes(["AAA", "CCC"])
    with pytest.raises(MarketError, match=r"no history of AAA on or before 2025-01-01"):
        m.closes(["AAA"], end="2025-01-01")
    with pytest.raises(MarketError, match=r"unknown underlying 'ZZZ'"):
        m.closes(["ZZZ"])
    with pytest.raises(MarketError, match="this market has no history"):
        _market().closes(["AAA"])
    partial = _market(history=_history().filter(pl.col("underlying") != "CCC"))
    with pytest.raises(MarketError, match="no history for underlying 'CCC'"):
        partial.closes(["CCC"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h.with_columns(pl.lit(1).alias("volume")), r"unknown column 'volume'"),
        (lambda h: h.drop("close"), r"missing column 'close'"),
        (lambda h: h.with_columns(close=pl.when(pl.int_range(pl.len()) == 3).then(-1.0).otherwise("close")),
         r"row 4, date 2025-01-31, underlying 'AAA', field close = -1.0: must be a finite number > 0"),
        (lambda h: h.with_columns(close=pl.when(pl.int_range(pl.len()) == 0).then(float("nan")).otherwise("close")),
         r"row 1, .*field close = nan"),
        (lambda h: h.with_columns(pl.col("close").cast(pl.String).replace("49.0", "4x")),
         r"row 7, .*field close = '4x'"),
        (lambda h: h.with_columns(pl.col("date").replace("2025-01-28", "2025-1-28")),
         r"row 2, field date = '2025-1-28'"),
        (lambda h: pl.concat([h, h.slice(5, 1)]),
         r"duplicate close for date 2025-01-29, underlying 'BBB' \(rows \[6, 11\]\)"),
        (lambda h: h.with_columns(pl.col("underlying").replace("CCC", "XYZ")), r"row 10, .*underlying = 'XYZ'"),
    ],
)  # fmt: skip
def test_history_errors(edit, message):
    with pytest.raises(MarketError, match="history: .*" + message):
        _market(history=edit(_history()))


def test_history_date_column_typed():
    h = _history().with_columns(pl.col("date").str.to_date())
    d, c = _market(history=h).closes(["AAA"])
    assert d.size == 4 and c[-1, 0] == 100.0


# ------------------------------------------------------------------------------------------ folder read
def _folder(tmp_path, *, toml="asof = 2025-01-31\nrate = 0.02\n", und=None, corr=None, hist=None):
    root = tmp_path / "mkt"
    root.mkdir(exist_ok=True)
    (root / "market.toml").write_text(toml)
    (root / "underlyings.csv").write_text(und or "underlying,spot,vol,div\nAAA,100,0.2,0.01\nBBB,50,0.3,\n")
    if corr is not None:
        (root / "correlation.csv").write_text(corr)
    if hist is not None:
        (root / hist[0]).write_text(hist[1]) if isinstance(hist[1], str) else hist[1].write_parquet(root / hist[0])
    return root


def test_read_folder(tmp_path):
    corr = "underlying,AAA,BBB\nBBB,0.4,1\nAAA,1,0.4\n"
    hist = "date,underlying,close\n2025-01-30,AAA,99\n2025-01-31,AAA,100\n2025-01-30,BBB,49\n2025-01-31,BBB,50\n"
    root = _folder(tmp_path, corr=corr, hist=("history.csv", hist))
    m = Market.read(root)
    assert m.asof == dt.date(2025, 1, 31) and m.rate == 0.02 and m.names == ("AAA", "BBB") and m.source == str(root)
    np.testing.assert_array_equal(m.div_vector(["AAA", "BBB"]), [0.01, 0.0])
    np.testing.assert_array_equal(m.corr_matrix(), [[1, 0.4], [0.4, 1]])
    _, closes = m.closes(["AAA", "BBB"])
    np.testing.assert_array_equal(closes, [[99, 49], [100, 50]])
    (root / "history.csv").unlink()
    _history().filter(pl.col("underlying") != "CCC").write_parquet(root / "history.parquet")
    assert Market.read(root).closes(["AAA", "BBB"])[1].shape == (4, 2)


def test_read_folder_repair(tmp_path):
    und = "underlying,spot,vol\nAAA,100,0.2\nBBB,50,0.3\nCCC,20,0.25\n"
    corr = "underlying,AAA,BBB,CCC\nAAA,1,0.9,-0.9\nBBB,0.9,1,0.9\nCCC,-0.9,0.9,1\n"
    root = _folder(tmp_path, und=und, corr=corr)
    with pytest.raises(MarketError, match=re.escape(str(root / "correlation.csv")) + ": .*not positive semi-def"):
        Market.read(root)
    with pytest.warns(CorrelationRepairWarning):
        assert Market.read(root, repair="nearest").repair_report["min_eigenvalue_before"] < -0.79


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        ({"toml": "asof = 2025-01-31\nrate = 0.02\nccy = 'USD'\n"}, "market.toml", "unknown key 'ccy'"),
        ({"toml": "asof = 2025-01-31\n"}, "market.toml", "missing key 'rate'"),
        ({"toml": "asof = 2025-01-31\nrate = '2%'\n"}, "market.toml", r"rate = '2%': must be a number"),
        ({"toml": "asof = 31-01-2025\nrate = 0.02\n"}, "market.toml", "not valid TOML"),
        ({"toml": "asof = '2025/01/31'\nrate = 0.02\n"}, "market.toml", r"asof = '2025/01/31': is not a date"),
        ({"und": "underlying,spot,vol,beta\nAAA,1,0.2,1\n"}, "underlyings.csv", "unknown column 'beta'"),
        ({"und": "underlying,spot\nAAA,1\n"}, "underlyings.csv", "missing column 'vol'"),
        ({"und": "underlying,spot,vol\n"}, "underlyings.csv", "no underlyings"),
        ({"und": "underlying,spot,vol\nAAA,1,0.2\nBBB,-5,0.2\n"}, "underlyings.csv",
         r"row 2 \(BBB\), field spot = '-5': must be > 0"),
        ({"und": "underlying,spot,vol\nAAA,1,0.2\nAAA,2,0.2\n"}, "underlyings.csv",
         r"row 2, field underlying = 'AAA': repeats row 1"),
        ({"und": "underlying,spot,vol\nAAA,1,high\n"}, "underlyings.csv", r"row 1 \(AAA\), field vol = 'high'"),
        ({"corr": "underlying,AAA,CCC\nAAA,1,0\nCCC,0,1\n"}, "correlation.csv",
         r"unknown \['CCC'\], missing \['BBB'\]"),
        ({"corr": "underlying,AAA,BBB\nAAA,1,0.3\nBBB,x,1\n"}, "correlation.csv", r"row 2 \(BBB\), field AAA = 'x'"),
        ({"corr": "underlying,AAA,BBB\nAAA,1,0.3\nBBB,0.2,1\n"}, "correlation.csv", r"corr\[AAA, BBB\] = 0.3 but"),
        ({"corr": "underlying,AAA,BBB\nAAA,1,0.3\n"}, "correlation.csv", "no row for BBB"),
        ({"hist": ("history.csv", "date,underlying,close\n2025-01-30,AAA,0\n")}, "history.csv",
         r"history: row 1, date 2025-01-30, underlying 'AAA', field close = '0'"),
    ],
)  # fmt: skip
def test_read_folder_errors(tmp_path, files, where, message):
    root = _folder(tmp_path, **files)
    with pytest.raises(MarketError, match=re.escape(str(root / where)) + ".*" + message):
        Market.read(root)


def test_read_missing_files(tmp_path):
    with pytest.raises(MarketError, match=re.escape(str(tmp_path / "none")) + ": no such market folder"):
        Market.read(tmp_path / "none")
    root = _folder(tmp_path)
    (root / "underlyings.csv").unlink()
    with pytest.raises(MarketError, match=re.escape(str(root / "underlyings.csv")) + ": missing"):
        Market.read(root)
    root = _folder(tmp_path, hist=("history.csv", "date,underlying,close\n"))
    (root / "history.parquet").write_text("x")
    with pytest.raises(MarketError, match=r"both history\.csv and history\.parquet"):
        Market.read(root)
