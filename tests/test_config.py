"""Run-config validation (riskgpu.config): a valid demo config loads; every malformed one names the file,
the key path and the value."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskgpu.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
BASE = f"""on_error = "fail"

[inputs]
portfolio = "{ROOT}/data/demo/portfolio.csv"
market = "{ROOT}/data/demo/market"
asof = 2026-11-20

[engine]
seed = 42
n_paths = 20000

[pricing]
greeks = ["delta", "vega"]

[[risk]]
name = "hist99"
method = "historical"
stressed = [2024-03-01, 2024-09-30]

[[risk]]
name = "mc99"
method = "monte_carlo"
es_confidence = 0.975
n_scenarios = 10000

[[stress]]
name = "crash"
spot = {{"*" = -0.2, GOLF = -0.35}}
vol = 0.1

[backtest]
window_days = 250
start = 2025-01-01

[outputs]
folder = "runs"
"""


def write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_base_config_loads_with_paths_resolved(tmp_path):
    c = load_config(write(tmp_path, BASE))
    assert c.outputs.folder == tmp_path / "runs"
    assert [r.name for r in c.risk] == ["hist99", "mc99"] and c.risk[1].es_confidence == 0.975
    assert c.stress[0].spot == {"*": -0.2, "GOLF": -0.35} and c.backtest.window_days == 250
    assert c.engine.backend == "auto" and c.pricing.greeks == ("delta", "vega")


def test_relative_paths_and_env_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKGPU_DATA", str(ROOT / "data"))
    text = BASE.replace(f'"{ROOT}/data/demo/portfolio.csv"', '"${RISKGPU_DATA}/demo/portfolio.csv"')
    sub = tmp_path / "configs"
    sub.mkdir()
    (sub / "m").symlink_to(ROOT / "data" / "demo" / "market")
    text = text.replace(f'"{ROOT}/data/demo/market"', '"m"')
    c = load_config(write(sub, text))
    assert c.inputs.portfolio == ROOT / "data" / "demo" / "portfolio.csv"
    assert c.inputs.market == sub / "m"


BAD = [
    # (replace this, with that, message fragment)
    ('on_error = "fail"', 'on_error = "ignore"', "on_error = 'ignore'"),
    ('on_error = "fail"', 'on_eror = "fail"', "on_eror"),
    ("[engine]\n", "[engine]\nthreads = 4\n", "engine.threads"),
    ("seed = 42", "seed = -1", "engine.seed = -1"),
    ("seed = 42", 'seed = "42"', "engine.seed = '42'"),
    ("seed = 42", "seed = 4.2", "engine.seed = 4.2"),
    ("n_paths = 20000", "n_paths = 1", "engine.n_paths = 1"),
    ("[engine]\n", '[engine]\nbackend = "cuda"\n', "engine.backend = 'cuda'"),
    ("[engine]\n", '[engine]\ndtype = "float16"\n', "engine.dtype = 'float16'"),
    ("[engine]\n", '[engine]\nantithetic = "yes"\n', "engine.antithetic = 'yes'"),
    ('greeks = ["delta", "vega"]', 'greeks = ["delta", "vanna"]', "pricing.greeks[1] = 'vanna'"),
    ('method = "historical"', 'method = "hist"', "risk[0].method = 'hist'"),
    ('name = "hist99"', 'name = ""', "risk[0].name = ''"),
    ('name = "mc99"', 'name = "hist99"', "risk[1].name = 'hist99' repeats risk[0].name"),
    ("es_confidence = 0.975", "es_confidence = 97.5", "risk[1].es_confidence = 97.5"),
    ("es_confidence = 0.975", "es_confidence = 1.0", "risk[1].es_confidence = 1.0"),
    ("n_scenarios = 10000", "n_scenarios = 1", "risk[1].n_scenarios = 1"),
    ("n_scenarios = 10000", "n_scenarios = 10000\ninner_paths = 100", "risk[1].inner_paths = 100"),
    ("n_scenarios = 10000", "n_scenarios = 10000\ndof = 2.0", "risk[1].dof = 2.0"),
    ("n_scenarios = 10000", "n_scenarios = 10000\nhorizon_days = 0", "risk[1].horizon_days = 0"),
    ("n_scenarios = 10000", "n_scenarios = 10000\nconfidance = 0.99", "risk[1].confidance"),
    ("stressed = [2024-03-01, 2024-09-30]", "stressed = [2024-03-01]", "risk[0].stressed"),
    ("stressed = [2024-03-01, 2024-09-30]", 'stressed = ["2024-13-01", "2024-09-30"]', "risk[0].stressed[0]"),
    ("vol = 0.1", 'vol = "high"', "stress[0].vol = 'high'"),
    ('name = "crash"', 'name = "crash"\ndays = -1', "stress[0].days = -1"),
    ('name = "crash"', 'name = "crash"\nshock = 0.1', "stress[0].shock"),
    ("window_days = 250", "window_days = 1", "backtest.window_days = 1"),
    ("start = 2025-01-01", 'start = "yesterday"', "backtest.start = 'yesterday'"),
    ('folder = "runs"', 'folder = "runs"\nformats = ["xlsx"]', "outputs.formats[0] = 'xlsx'"),
    ('folder = "runs"', "folder = 3", "outputs.folder = 3"),
    ('[outputs]\nfolder = "runs"\n', "", "outputs missing"),
    ("asof = 2026-11-20", 'asof = "20/11/2026"', "inputs.asof = '20/11/2026'"),
    ("asof = 2026-11-20", 'asof = 2026-11-20\nrepair = "fix"', "inputs.repair = 'fix'"),
    ("portfolio.csv", "portfolio.xlsx", "inputs.portfolio"),
    ("data/demo/market", "data/demo/nomarket", "inputs.market"),
    ("[backtest]", "[backtest", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "fragment"), BAD, ids=[b[2][:40] for b in BAD])
def test_malformed_configs_name_the_key_and_value(tmp_path, old, new, fragment):
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert fragment in str(err.value), str(err.value)


def test_missing_file_and_unset_environment_variable(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    monkeypatch.delenv("RISKGPU_NOT_SET", raising=False)
    path = write(tmp_path, BASE.replace('folder = "runs"', 'folder = "${RISKGPU_NOT_SET}/runs"'))
    with pytest.raises(ConfigError, match=r"outputs\.folder.*RISKGPU_NOT_SET\} is not set"):
        load_config(path)


@given(
    st.sampled_from(["engine", "pricing", "backtest", "outputs", "inputs"]),
    st.from_regex(r"[a-z]{3,10}", fullmatch=True),
)
def test_any_unknown_key_is_an_error_naming_it(tmp_path_factory, section, key):
    known = {
        "engine": {"backend", "dtype", "seed", "n_paths", "antithetic", "control_variate"},
        "pricing": {"greeks"},
        "backtest": {"method", "window_days", "start", "end", "confidence"},
        "outputs": {"folder", "formats", "overwrite"},
        "inputs": {"portfolio", "market", "asof", "repair"},
    }
    if key in known[section]:
        return
    path = write(tmp_path_factory.mktemp("cfg"), BASE.replace(f"[{section}]\n", f"[{section}]\n{key} = 1\n", 1))
    with pytest.raises(ConfigError, match=rf"{section}\.{key} = 1: Extra inputs are not permitted"):
        load_config(path)


# ---------------------------------------------------------------- riskgpu validate (in-process, the CLI's entry point)
def test_validate_the_shipped_demo_config(capsys):
    from riskgpu.cli import main

    assert main(["validate", str(ROOT / "configs" / "demo.toml")]) == 0
    assert "300 positions on 10 underlyings" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("asof = 2026-11-20", "asof = 2026-11-19", "inputs.asof = 2026-11-19 but the market"),
        ('method = "historical"', 'method = "historical"\nn_scenarios = 5', "does not take n_scenarios"),
        ('spot = {"*" = -0.2, GOLF = -0.35}', "spot = {GOLFF = -0.35}", "unknown underlying(s) ['GOLFF']"),
        ("vol = 0.1", "vol = -0.9", "stress[0].vol ('crash'): the vol of"),
    ],
)
def test_validate_exits_2_naming_the_problem(tmp_path, capsys, old, new, fragment):
    from riskgpu.cli import main

    path = write(tmp_path, BASE.replace(old, new, 1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert (fragment in err and str(path) in err) or fragment in err


def test_validate_names_a_bad_portfolio_row(tmp_path, capsys):
    from riskgpu.cli import main

    lines = (ROOT / "data" / "demo" / "portfolio.csv").read_text().splitlines()
    lines[5] = lines[5].replace("P0005", "P0004")
    (tmp_path / "portfolio.csv").write_text("\n".join(lines) + "\n")
    path = write(tmp_path, BASE.replace(f"{ROOT}/data/demo/portfolio.csv", str(tmp_path / "portfolio.csv")))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "portfolio.csv" in err and "row 5" in err and "duplicate position_id" in err
