"""``riskgpu run`` on malformed configs and input files: every bad input is refused before anything is computed
or written, with exit code 2, a message naming the file and the key path (``risk[0].confidence``) or the row,
field and value, and no run folder (nothing under ``--out``, no ``.<name>.tmp-*`` folder).

Each case starts from a copy of the demo inputs (``data/demo``) in ``tmp_path`` and a small valid config (one
historical VaR run, 1,000 paths, no backtest), breaks one thing and runs ``riskgpu.cli.main`` in-process; a few
go through the real command in a subprocess and through ``riskgpu validate``. Options that are wrong only together
or against the history (``CROSS``) are found by the runner's probe of each VaR run on one cheap position.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskgpu.cli import main
from riskgpu.config import Cluster, Engine, Inputs, Outputs, Pricing, RunConfig, Stress, VaRRun

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
ASOF = "2026-11-20"  # the demo market's as-of date
CONFIG_NAME = "nightly.toml"  # default run folder: nightly_<asof>
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")  # riskgpu.config.Outputs.name


# --------------------------------------------------------------------------------- a tiny TOML writer
def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def toml_dumps(doc: dict) -> str:
    """Top-level scalars, then ``[section]`` tables and ``[[section]]`` arrays of tables (nested dicts inline)."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not (isinstance(v, dict) or _table_array(v))]
    for key, value in doc.items():
        tables = [value] if isinstance(value, dict) else value if _table_array(value) else []
        for table in tables:
            lines += ["", f"[{key}]" if isinstance(value, dict) else f"[[{key}]]"]
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def test_the_toml_writer_round_trips():
    import tomllib

    doc = {
        "on_error": 'a "b" \\ c\td',
        "inputs": {"asof": dt.date(2026, 11, 20), "x": [1, 2.5, "s"]},
        "stress": [{"name": "s", "spot": {"*": -0.1, "A B": 0.2}}, {"name": "t", "rate": 1e-5}],
        "odd": [],
    }
    assert tomllib.loads(toml_dumps(doc)) == doc


# ------------------------------------------------------------------------------------------- the cases
@dataclass
class Case:
    """One bad input: a copy of the demo data and a config (a dict, written as TOML) under ``root``."""

    root: Path
    config: dict = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    text_edits: list[Callable[[str], str]] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)
    raw: bytes | None = None  # the config file's bytes, when it is not TOML at all
    data: Path | None = None  # the demo copy, when not ``root / "demo"``

    @property
    def demo(self) -> Path:
        return self.data or self.root / "demo"

    @property
    def portfolio(self) -> Path:
        return self.demo / "portfolio.csv"

    @property
    def market(self) -> Path:
        return self.demo / "market"

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def fill(self, text: str) -> str:
        """``<cfg>``, ``<portfolio>``, ``<market>``, ``<demo>``, ``<out>`` replaced by this case's paths."""
        for tag, path in (("<cfg>", self.config_path), ("<portfolio>", self.portfolio), ("<market>", self.market),
                          ("<demo>", self.demo), ("<out>", self.out)):  # fmt: skip
            text = text.replace(tag, str(path))
        return text

    def write_config(self) -> Path:
        if self.raw is not None:
            self.config_path.write_bytes(self.raw)
            return self.config_path
        text = toml_dumps(self.config)
        for edit in self.text_edits:
            text = edit(text)
        self.config_path.write_text(text)
        return self.config_path


def new_case(root: Path) -> Case:
    """The demo data copied under ``root`` and a small valid config naming it with absolute paths."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO, root / "demo")
    case = Case(root)
    case.config = {
        "on_error": "fail",
        "inputs": {"portfolio": str(case.portfolio), "market": str(case.market), "asof": dt.date(2026, 11, 20)},
        "engine": {"backend": "cpu", "seed": 7, "n_paths": 1000},
        "risk": [{"name": "hist_99", "method": "historical", "confidence": 0.99}],
        "outputs": {"folder": str(case.runs)},
    }
    return case


def nothing_written(case: Case) -> None:
    """No run folder: ``--out`` and ``outputs.folder`` absent or empty, no temporary or retired folder anywhere."""
    for folder in (case.out, case.runs):
        assert not folder.exists() or not any(folder.iterdir()), sorted(folder.iterdir())
    leftovers = [p for p in case.root.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, leftovers


def refused(case: Case, capsys: pytest.CaptureFixture, command: str = "run") -> str:
    """Run (or validate) the case in-process; assert exit 2 and one ``riskgpu: error:`` line; return that line."""
    path = case.write_config()
    argv = [command, str(path), "--out", str(case.out), *case.args] if command == "run" else [command, str(path)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "riskgpu: failed" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("riskgpu: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def check_message(case: Case, message: str, fragments: list[str]) -> None:
    for fragment in [*fragments, *case.expect]:
        assert case.fill(fragment) in message, f"{case.fill(fragment)!r} not in {message!r}"


# mutators: each takes the case and breaks one thing
Mutator = Callable[[Case], None]


def _locate(doc: dict, path: str) -> tuple[dict | list, str | int]:
    """The container and the key of ``path`` (``risk[0].confidence``); missing tables are created."""
    parts: list[str | int] = []
    for token in path.split("."):
        name, *indices = re.split(r"[\[\]]+", token.rstrip("]"))
        parts += [name, *map(int, indices)]
    node: object = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part not in node:
            node[part] = {}
        node = node[part]
    return node, parts[-1]


def put(path: str, value: object) -> Mutator:
    """Set the config's ``path`` (``risk[0].confidence``; one past a list's end appends); tags in a string
    value (``<demo>``) become the case's paths."""

    def mutate(case: Case) -> None:
        node, key = _locate(case.config, path)
        filled = case.fill(value) if isinstance(value, str) else value
        if isinstance(node, list) and key == len(node):
            node.append(filled)
        else:
            node[key] = filled

    return mutate


def drop(path: str) -> Mutator:
    def mutate(case: Case) -> None:
        node, key = _locate(case.config, path)
        del node[key]

    return mutate


def replace_text(old: str, new: str, *, name_line: bool = False) -> Mutator:
    """Edit the written TOML text (for what the writer cannot produce); ``name_line`` expects the line number."""

    def mutate(case: Case) -> None:
        def edit(text: str) -> str:
            assert old in text, (old, text)
            text = text.replace(old, new, 1)
            if name_line:
                case.expect.append(f"line {text[: text.index(new)].count(chr(10)) + 1}")
            return text

        case.text_edits.append(edit)

    return mutate


def raw_config(data: bytes) -> Mutator:
    def mutate(case: Case) -> None:
        case.raw = data

    return mutate


def cli(*args: str) -> Mutator:
    def mutate(case: Case) -> None:
        case.args.extend(args)

    return mutate


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])


def cell(row: int, column: str, value: str) -> Mutator:
    """Portfolio data row ``row`` (1-based), ``column`` set to ``value`` (the raw CSV cell)."""

    def mutate(case: Case) -> None:
        header, rows = read_rows(case.portfolio)
        rows[row - 1][header.index(column)] = value
        write_rows(case.portfolio, header, rows)

    return mutate


def table(relative: str, edit: Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]) -> Mutator:
    """A CSV under the demo copy (``portfolio.csv``, ``market/history.csv``) rewritten by ``edit(header, rows)``."""

    def mutate(case: Case) -> None:
        path = case.demo / relative
        write_rows(path, *edit(*read_rows(path)))

    return mutate


def drop_column(name: str) -> Callable:
    def edit(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        i = header.index(name)
        return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]

    return edit


def file_bytes(relative: str, data: bytes) -> Mutator:
    def mutate(case: Case) -> None:
        (case.demo / relative).write_bytes(data)

    return mutate


def file_text(relative: str, edit: Callable[[str], str]) -> Mutator:
    def mutate(case: Case) -> None:
        path = case.demo / relative
        path.write_text(edit(path.read_text()))

    return mutate


def remove(relative: str) -> Mutator:
    def mutate(case: Case) -> None:
        path = case.demo / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return mutate


def steps(*mutators: Mutator) -> Mutator:
    def mutate(case: Case) -> None:
        for m in mutators:
            m(case)

    return mutate


def _subst(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def portfolio_dir(case: Case) -> None:
    case.portfolio.unlink()
    case.portfolio.mkdir()


def market_without_alpha(case: Case) -> None:
    """ALPHA taken out of the whole market folder: the first position holding it is the error."""
    for name in ("underlyings.csv", "correlation.csv", "history.csv"):
        header, rows = read_rows(case.market / name)
        keep = [i for i, h in enumerate(header) if h != "ALPHA"]
        rows = [[r[i] for i in keep] for r in rows if r[header.index("underlying")] != "ALPHA"]
        write_rows(case.market / name, [header[i] for i in keep], rows)
    header, rows = read_rows(case.portfolio)
    col = header.index("underlying")
    row = next(i for i, r in enumerate(rows, start=1) if "ALPHA" in r[col].split("|"))
    case.expect += [f"row {row},", "field underlying = 'ALPHA'", "unknown underlying"]


def history_close(row: int, value: str) -> Mutator:
    def mutate(case: Case) -> None:
        header, rows = read_rows(case.market / "history.csv")
        rows[row - 1][header.index("close")] = value
        write_rows(case.market / "history.csv", header, rows)
        date, name = rows[row - 1][header.index("date")], rows[row - 1][header.index("underlying")]
        case.expect += [f"row {row}, date {date}, underlying {name!r}, field close = {value!r}"]

    return mutate


def non_psd_correlation(case: Case) -> None:
    """ALPHA~BRAVO -0.95, ALPHA~CHARLIE +0.95, BRAVO~CHARLIE +0.95: symmetric, unit diagonal, not PSD."""
    header, rows = read_rows(case.market / "correlation.csv")
    idx = {r[0]: i for i, r in enumerate(rows)}
    for a, b, rho in (("ALPHA", "BRAVO", "-0.95"), ("ALPHA", "CHARLIE", "0.95"), ("BRAVO", "CHARLIE", "0.95")):
        rows[idx[a]][header.index(b)] = rows[idx[b]][header.index(a)] = rho
    write_rows(case.market / "correlation.csv", header, rows)


def small_book(case: Case) -> None:
    """The first two positions only (a spot and a forward), so that a run that does compute is quick."""
    table("portfolio.csv", lambda h, rows: (h, rows[:2]))(case)


STRESS = {"name": "crash", "spot": -0.1}
HEADER_ONLY = b"position_id,instrument,underlying,quantity\n"

CONFIG_CASES = {
    "not-toml": (replace_text("[inputs]", "[inputs", name_line=True), ["<cfg>: not valid TOML"]),
    "config-invalid-utf8": (raw_config(b"\xff\xfe[inputs]\n\x80\x81"), ["<cfg>: cannot read the config"]),
    "unknown-top-level-key": (put("colour", "red"), ["<cfg>: colour = 'red': Extra inputs are not permitted"]),
    "unknown-engine-key": (put("engine.paths", 3), ["<cfg>: engine.paths = 3: Extra inputs are not permitted"]),
    "unknown-risk-key": (put("risk[0].confidance", 0.99), ["<cfg>: risk[0].confidance = 0.99: Extra inputs"]),
    "missing-inputs": (drop("inputs"), ["<cfg>: inputs missing"]),
    "missing-outputs": (drop("outputs"), ["<cfg>: outputs missing"]),
    "missing-risk-method": (drop("risk[0].method"), ["<cfg>: risk[0].method missing"]),
    "seed-string": (put("engine.seed", "x"), ["<cfg>: engine.seed = 'x': Input should be a valid integer"]),
    "seed-negative": (put("engine.seed", -1), ["<cfg>: engine.seed = -1: Input should be greater than or equal to 0"]),
    "seed-2**64": (put("engine.seed", 2**64), [f"<cfg>: engine.seed = {2**64}: Input should be less than"]),
    "n_paths-float": (put("engine.n_paths", 1.5), ["<cfg>: engine.n_paths = 1.5: Input should be a valid integer"]),
    "n_paths-1": (put("engine.n_paths", 1), ["<cfg>: engine.n_paths = 1: Input should be greater than or equal to 2"]),
    "antithetic-string": (put("engine.antithetic", "yes"), ["<cfg>: engine.antithetic = 'yes'"]),
    "backend-cuda": (put("engine.backend", "cuda"), ["<cfg>: engine.backend = 'cuda': Input should be 'auto'"]),
    "confidence-1.5": (
        put("risk[0].confidence", 1.5),
        ["<cfg>: risk[0].confidence = 1.5: Input should be less than 1"],
    ),
    "es_confidence-bool": (put("risk[0].es_confidence", True), ["<cfg>: risk[0].es_confidence = True"]),
    "horizon-0": (put("risk[0].horizon_days", 0), ["<cfg>: risk[0].horizon_days = 0"]),
    "method-hist": (put("risk[0].method", "hist"), ["<cfg>: risk[0].method = 'hist': Input should be 'historical'"]),
    "inner_paths-not-multiple-of-64": (put("risk[0].inner_paths", 100), ["<cfg>: risk[0].inner_paths = 100"]),
    "stressed-one-date": (put("risk[0].stressed", [dt.date(2024, 3, 1)]), ["<cfg>: risk[0].stressed[1] missing"]),
    "greeks-vanna": (put("pricing.greeks", ["delta", "vanna"]), ["<cfg>: pricing.greeks[1] = 'vanna'"]),
    "on_error-maybe": (put("on_error", "maybe"), ["<cfg>: on_error = 'maybe': Input should be 'fail' or 'skip'"]),
    "repair-yes": (put("inputs.repair", "yes"), ["<cfg>: inputs.repair = 'yes'"]),
    "asof-string-month-13": (put("inputs.asof", "2026-13-01"), ["<cfg>: inputs.asof = '2026-13-01'"]),
    "asof-toml-month-13": (
        replace_text(f"asof = {ASOF}", "asof = 2026-13-01", name_line=True),
        ["<cfg>: not valid TOML", "column 12"],
    ),
    "asof-not-the-market's": (
        put("inputs.asof", dt.date(2026, 11, 21)),
        ["<cfg>: inputs.asof = 2026-11-21 but the market in <market> is as of 2026-11-20"],
    ),
    "--asof-not-the-market's": (
        steps(drop("inputs.asof"), cli("--asof", "2026-11-19")),
        ["<cfg>: --asof = 2026-11-19 but the market in <market> is as of 2026-11-20"],
    ),
    "missing-portfolio-file": (remove("portfolio.csv"), ["<cfg>: inputs.portfolio = '<portfolio>': no such file"]),
    "portfolio-is-a-folder": (portfolio_dir, ["<cfg>: inputs.portfolio = '<portfolio>'"]),
    "portfolio-not-csv": (
        steps(put("inputs.portfolio", "<demo>/book.txt"), lambda c: shutil.copy(c.portfolio, c.demo / "book.txt")),
        ["<demo>/book.txt: not a CSV or Parquet file"],
    ),
    "missing-market-folder": (remove("market"), ["<cfg>: inputs.market = '<market>': no such folder"]),
    "unset-env-var": (
        put("inputs.market", "${NOPE_ENV}/market"),
        ["<cfg>: inputs.market = '${NOPE_ENV}/market': environment variable ${NOPE_ENV} is not set"],
    ),
    "${ASOF}-without-asof": (
        steps(drop("inputs.asof"), put("inputs.market", "<demo>/${ASOF}")),
        ["<cfg>: inputs.market = '<demo>/${ASOF}': ${ASOF} needs inputs.asof or --asof"],
    ),
    "duplicate-risk-names": (
        put("risk[1]", {"name": "hist_99", "method": "parametric"}),
        ["<cfg>: risk", "risk[1].name = 'hist_99' repeats risk[0].name"],
    ),
    "n_scenarios-on-historical": (
        put("risk[0].n_scenarios", 5000),
        ["<cfg>: risk[0] ('hist_99'): method 'historical' does not take n_scenarios"],
    ),
    "revaluation-on-parametric": (
        put("risk[0]", {"name": "p", "method": "parametric", "revaluation": "full"}),
        ["<cfg>: risk[0] ('p'): method 'parametric' does not take revaluation"],
    ),
    "stress-unknown-underlying": (
        put("stress", [{"name": "crash", "spot": {"ZULU": -0.1}}]),
        ["<cfg>: stress[0].spot ('crash'): unknown underlying(s) ['ZULU']"],
    ),
    "stress-negative-vol": (
        put("stress", [{"name": "crash", "vol": {"GOLF": -0.5}}]),
        ["<cfg>: stress[0].vol ('crash'): the vol of GOLF would be -0.2155 < 0"],
    ),
    "stress-days-negative": (put("stress", [{**STRESS, "days": -1}]), ["<cfg>: stress[0].days = -1"]),
    "stress-spot-string": (put("stress", [{**STRESS, "spot": "x"}]), ["<cfg>: stress[0].spot = 'x'"]),
    "outputs-name-slash": (put("outputs.name", "a/b"), ["<cfg>: outputs.name = 'a/b': String should match pattern"]),
    "outputs-name-dot": (put("outputs.name", ".hidden"), ["<cfg>: outputs.name = '.hidden'"]),
    "outputs-formats-xlsx": (put("outputs.formats", ["xlsx"]), ["<cfg>: outputs.formats[0] = 'xlsx'"]),
    "outputs-folder-int": (put("outputs.folder", 3), ["<cfg>: outputs.folder = 3"]),
    "cluster-address-and-local": (
        put("cluster", {"address": "tcp://127.0.0.1:8786", "local": 2}),
        ["<cfg>: cluster.address = 'tcp://127.0.0.1:8786' and cluster.local = 2: give one"],
    ),
    "cluster-address-no-protocol": (
        put("cluster.address", "127.0.0.1:8786"),
        ["<cfg>: cluster.address = '127.0.0.1:8786': String should match pattern"],
    ),
    "cluster-address-unset-env": (
        put("cluster.address", "${NOPE_SCHEDULER}"),
        ["<cfg>: cluster.address = '${NOPE_SCHEDULER}': environment variable ${NOPE_SCHEDULER} is not set"],
    ),
    "cluster-local-0": (put("cluster.local", 0), ["<cfg>: cluster.local = 0: Input should be greater than"]),
    "cluster-local-string": (put("cluster.local", "2"), ["<cfg>: cluster.local = '2': Input should be a valid"]),
    "cluster-positions_per_task-0": (put("cluster.positions_per_task", 0), ["<cfg>: cluster.positions_per_task = 0"]),
    "cluster-days_per_task-float": (put("cluster.days_per_task", 2.5), ["<cfg>: cluster.days_per_task = 2.5"]),
    "cluster-timeout-0": (put("cluster.connect_timeout_s", 0), ["<cfg>: cluster.connect_timeout_s = 0"]),
    "cluster-unknown-key": (put("cluster.workers", 2), ["<cfg>: cluster.workers = 2: Extra inputs are not permitted"]),
    "cli-workers-0": (cli("--workers", "0"), ["<cfg>: --workers: Input should be greater than or equal to 1 (got 0)"]),
    "cli-scheduler-bad": (cli("--scheduler", "localhost"), ["<cfg>: --scheduler: String should match pattern"]),
}

PORTFOLIO_CASES = {
    "missing-column-quantity": (
        table("portfolio.csv", drop_column("quantity")),
        ["<portfolio>: missing required column(s) quantity"],
    ),
    "missing-column-under-skip": (
        steps(put("on_error", "skip"), table("portfolio.csv", drop_column("underlying"))),
        ["<portfolio>: missing required column(s) underlying"],
    ),
    "unknown-column": (
        table("portfolio.csv", lambda h, rows: ([*h, "colour"], [[*r, "red"] for r in rows])),
        ["<portfolio>, field colour: unknown column 'colour'"],
    ),
    "duplicate-position_id": (
        cell(5, "position_id", "P0001"),
        ["<portfolio>, row 5, position_id 'P0001', field position_id = 'P0001'", "duplicate position_id: rows 1 and 5"],
    ),
    "quantity-nan": (cell(3, "quantity", "nan"), ["<portfolio>, row 3, position_id 'P0003', field quantity = 'nan'"]),
    "quantity-empty": (cell(3, "quantity", ""), ["<portfolio>, row 3, position_id 'P0003', field quantity = None"]),
    "strike-not-a-number": (
        cell(3, "strike", "abc"),
        ["<portfolio>, row 3, position_id 'P0003', field strike = 'abc'"],
    ),
    "maturity-bad-date": (
        cell(3, "maturity", "2027-02-30"),
        ["<portfolio>, row 3, position_id 'P0003', field maturity = '2027-02-30'"],
    ),
    "maturity-expired": (
        cell(4, "maturity", "2025-01-01"),
        ["<portfolio>, row 4, position_id 'P0004', field maturity = '2025-01-01'", "expired"],
    ),
    "unknown-underlying": (
        cell(3, "underlying", "ZULU"),
        ["<portfolio>, row 3, position_id 'P0003', field underlying = 'ZULU'", "unknown underlying"],
    ),
    "unknown-instrument": (
        cell(3, "instrument", "swaption"),
        ["<portfolio>, row 3, position_id 'P0003', field instrument = 'swaption'"],
    ),
    "kind-cal": (cell(3, "kind", "cal"), ["<portfolio>, row 3, position_id 'P0003', field kind = 'cal'"]),
    "header-only": (file_bytes("portfolio.csv", HEADER_ONLY), ["<portfolio>: the portfolio is empty"]),
    "binary-garbage": (
        file_bytes("portfolio.csv", b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x81garbage\x00\xc3\x28\n"),
        ["<portfolio>: cannot read the file"],
    ),
    "every-row-skipped": (
        steps(put("on_error", "skip"), small_book, cell(1, "underlying", "ZULU"), cell(2, "underlying", "ZULU")),
        ["<portfolio>: every position was skipped (2); the first: row 1"],
    ),
}

MARKET_CASES = {
    "missing-market.toml": (remove("market/market.toml"), ["<market>/market.toml: missing"]),
    "missing-underlyings.csv": (remove("market/underlyings.csv"), ["<market>/underlyings.csv: missing"]),
    "underlying-row-removed": (
        file_text("market/underlyings.csv", lambda t: re.sub(r"(?m)^ALPHA,.*\n", "", t)),
        ["<market>/correlation.csv", "ALPHA"],
    ),
    "held-underlying-not-in-market": (market_without_alpha, ["<portfolio>"]),
    "negative-vol": (
        file_text("market/underlyings.csv", _subst("ALPHA,88.0,0.4401", "ALPHA,88.0,-0.4401")),
        ["<market>/underlyings.csv, row 1 (ALPHA), field vol = '-0.4401': must be >= 0"],
    ),
    "zero-spot": (
        file_text("market/underlyings.csv", _subst("BRAVO,263.17", "BRAVO,0")),
        ["<market>/underlyings.csv, row 2 (BRAVO), field spot = '0': must be > 0"],
    ),
    "repeated-underlying": (
        file_text("market/underlyings.csv", lambda t: t + "ALPHA,1.0,0.1,0.0\n"),
        ["<market>/underlyings.csv, row 11, field underlying = 'ALPHA': repeats row 1"],
    ),
    "non-psd-correlation": (non_psd_correlation, ["<market>/correlation.csv", "not positive semi-definite"]),
    "history-nan": (history_close(4, "nan"), ["<market>/history.csv"]),
    "history-unknown-underlying": (
        file_text("market/history.csv", lambda t: t + "2024-01-02,ZULU,3.0\n"),
        ["<market>/history.csv", "field underlying = 'ZULU'"],
    ),
    "market.toml-bad-date-string": (
        file_text("market/market.toml", _subst(ASOF, '"2026-11-31"')),
        ["<market>/market.toml: asof = '2026-11-31': is not a valid date"],
    ),
    "market.toml-bad-toml-date": (
        file_text("market/market.toml", _subst(ASOF, "2026-11-31")),
        ["<market>/market.toml: not valid TOML"],
    ),
    "market.toml-unknown-key": (
        file_text("market/market.toml", lambda t: t + 'currency = "EUR"\n'),
        ["<market>/market.toml: unknown key 'currency'"],
    ),
    "market.toml-rate-string": (
        file_text("market/market.toml", _subst("rate = 0.03", 'rate = "3%"')),
        ["<market>/market.toml: rate = '3%': must be a number"],
    ),
}


def _params(cases: dict) -> list:
    return [pytest.param(m, frags, id=name) for name, (m, frags) in cases.items()]


@pytest.fixture(autouse=True)
def _no_nope_env(monkeypatch):
    monkeypatch.delenv("NOPE_ENV", raising=False)


def test_the_base_case_is_valid(tmp_path, capsys):
    """The unbroken case validates (so each case below fails for its own reason)."""
    case = new_case(tmp_path)
    assert main(["validate", str(case.write_config())]) == 0, capsys.readouterr().err
    nothing_written(case)


@pytest.mark.parametrize(("mutate", "fragments"), _params(CONFIG_CASES))
def test_bad_config_is_refused(tmp_path, capsys, mutate, fragments):
    case = new_case(tmp_path)
    mutate(case)
    check_message(case, refused(case, capsys), fragments)
    nothing_written(case)


@pytest.mark.parametrize(("mutate", "fragments"), _params(PORTFOLIO_CASES))
def test_bad_portfolio_is_refused(tmp_path, capsys, mutate, fragments):
    case = new_case(tmp_path)
    mutate(case)
    check_message(case, refused(case, capsys), fragments)
    nothing_written(case)


@pytest.mark.parametrize(("mutate", "fragments"), _params(MARKET_CASES))
def test_bad_market_is_refused(tmp_path, capsys, mutate, fragments):
    case = new_case(tmp_path)
    mutate(case)
    check_message(case, refused(case, capsys), fragments)
    nothing_written(case)


def test_missing_config_file(tmp_path, capsys):
    case = new_case(tmp_path)
    code = main(["run", str(case.config_path), "--out", str(case.out)])
    assert code == 2
    assert f"riskgpu: error: {case.config_path}: no such config file" in capsys.readouterr().err
    nothing_written(case)


VALIDATED = ["seed-negative", "stress-unknown-underlying", "duplicate-position_id", "non-psd-correlation"]


@pytest.mark.parametrize("name", VALIDATED)
def test_validate_gives_the_same_message(tmp_path, capsys, name):
    mutate, fragments = {**CONFIG_CASES, **PORTFOLIO_CASES, **MARKET_CASES}[name]
    case = new_case(tmp_path)
    mutate(case)
    by_run = refused(case, capsys, "run")
    by_validate = refused(case, capsys, "validate")
    assert by_validate == by_run
    check_message(case, by_validate, fragments)
    nothing_written(case)


# ------------------------------------------------------------------------------------ the command line
@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_out_of_range_seed_flag(tmp_path, capsys, seed):
    case = new_case(tmp_path)
    cli("--seed", seed)(case)
    message = refused(case, capsys)
    check_message(case, message, ["<cfg>: --seed", f"got {seed}"])
    nothing_written(case)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--asof", "2026-02-30"), ("--asof", "20261120"), ("--seed", "x"), ("--backend", "cuda"), ("--log-level", "loud")],
)
def test_malformed_flag_is_a_usage_error(tmp_path, capsys, flag, value):
    case = new_case(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(case.write_config()), "--out", str(case.out), flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and value in err, err
    nothing_written(case)


@pytest.mark.parametrize("use_out", [True, False], ids=["--out", "outputs.folder"])
@pytest.mark.parametrize(("name", "folder"), [(None, "nightly_2026-11-20"), ("nightly-${ASOF}", "nightly-2026-11-20")])
def test_existing_run_folder_without_overwrite(tmp_path, capsys, use_out, name, folder):
    case = new_case(tmp_path)
    if name is not None:
        case.config["outputs"]["name"] = name
    parent = case.out if use_out else case.runs
    old = parent / folder
    old.mkdir(parents=True)
    (old / "_SUCCESS").write_text("")
    (old / "summary.json").write_text('{"run": "yesterday"}\n')
    before = {p.relative_to(parent): (p.read_bytes(), p.stat().st_mtime_ns) for p in parent.rglob("*") if p.is_file()}
    argv = ["run", str(case.write_config()), *(["--out", str(case.out)] if use_out else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"riskgpu: error: {old} exists" in err and "--overwrite" in err, err
    after = {p.relative_to(parent): (p.read_bytes(), p.stat().st_mtime_ns) for p in parent.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in parent.iterdir()) == [folder]  # no temporary folder, no `latest` link


# ------------------------------------------------------------------------ through the real riskgpu command
def command(argv: list[str], cwd: Path, *, script: str | None = None) -> subprocess.CompletedProcess:
    prefix = [script] if script else [sys.executable, "-m", "riskgpu.cli"]
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    env.pop("NOPE_ENV", None)
    return subprocess.run([*prefix, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


SUBPROCESS = [
    pytest.param("n_paths-1", "run", [], None, id="python-m-run-config"),
    pytest.param("kind-cal", "run", [], None, id="python-m-run-portfolio"),
    pytest.param(None, "run", ["--asof", "2026-02-30"], None, id="python-m-run-bad-asof-flag"),
    pytest.param("missing-market.toml", "run", [], "script", id="riskgpu-run-market"),
    pytest.param("unset-env-var", "validate", [], "script", id="riskgpu-validate-config"),
]


@pytest.mark.parametrize(("name", "verb", "extra", "how"), SUBPROCESS)
def test_the_real_command_exits_2(tmp_path, name, verb, extra, how):
    script = None
    if how == "script":
        script = shutil.which("riskgpu")
        if script is None:
            pytest.skip("the riskgpu console script is not installed")
    case = new_case(tmp_path / "case")
    fragments = ["argument --asof", "2026-02-30"]
    if name is not None:
        mutate, fragments = {**CONFIG_CASES, **PORTFOLIO_CASES, **MARKET_CASES}[name]
        mutate(case)
    argv = [verb, str(case.write_config()), *(["--out", str(case.out)] if verb == "run" else []), *extra]
    proc = command(argv, tmp_path, script=script)
    assert proc.returncode == 2, proc.stderr
    if name is not None:
        assert proc.stderr.startswith("riskgpu: error: "), proc.stderr
    check_message(case, proc.stderr, fragments)
    assert "Traceback" not in proc.stderr
    nothing_written(case)


# --------------------------------------------------------------------------------------------- Hypothesis
_ASCII = st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="$")
_text = st.text(_ASCII, max_size=12)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_floats = st.floats(allow_nan=True, allow_infinity=True)
_not_bool = st.one_of(_ints, _floats, _text)


def _not_in(*choices: str) -> st.SearchStrategy:
    return st.one_of(_text.filter(lambda s: s not in choices), _ints, st.booleans())


#: a leaf of the base config (or an optional key) and values its type or range refuses
BAD_LEAVES = {
    "on_error": _not_in("fail", "skip"),
    "inputs.asof": st.one_of(_text, _ints, _floats, st.booleans()),  # a date: a TOML date only
    "inputs.repair": _not_in("none", "nearest"),
    "engine.backend": _not_in("auto", "reference", "cpu", "gpu"),
    "engine.dtype": _not_in("float64", "float32"),
    "engine.seed": st.one_of(st.integers(max_value=-1, min_value=-(2**63)), _floats, _text, st.booleans()),
    "engine.n_paths": st.one_of(st.integers(max_value=1, min_value=-(2**63)), _floats, _text, st.booleans()),
    "engine.antithetic": _not_bool,
    "engine.control_variate": _not_bool,
    "pricing.greeks": st.lists(_text.filter(lambda s: s not in ("delta", "gamma", "vega", "rho", "theta")), min_size=1),
    "risk[0].name": st.one_of(st.just(""), _ints, _floats, st.booleans()),
    "risk[0].method": _not_in("historical", "parametric", "monte_carlo"),
    "risk[0].confidence": st.one_of(_floats.filter(lambda x: not 0.0 < x < 1.0), _ints, _text, st.booleans()),
    "risk[0].es_confidence": st.one_of(_floats.filter(lambda x: not 0.0 < x < 1.0), _text, st.booleans()),
    "risk[0].horizon_days": st.one_of(st.integers(max_value=0, min_value=-(2**63)), _floats, _text),
    "risk[0].lookback_days": st.one_of(st.integers(max_value=0, min_value=-(2**63)), _floats, _text),
    "stress[0].days": st.one_of(st.integers(max_value=-1, min_value=-(2**63)), _floats, _text),
    "stress[0].rate": st.one_of(_text, st.booleans()),
    "stress[0].spot": st.one_of(_text, st.booleans()),
    "outputs.folder": st.one_of(_ints, _floats, st.booleans()),
    "outputs.name": st.one_of(
        _text.filter(lambda s: not NAME_PATTERN.match(s)), st.just("a" * 201), _ints, st.booleans()
    ),
    "outputs.formats": st.lists(_text.filter(lambda s: s not in ("parquet", "csv")), min_size=1),
    "outputs.overwrite": _not_bool,
    "cluster.local": st.one_of(st.integers(max_value=0, min_value=-(2**63)), _floats, _text, st.booleans()),
    "cluster.address": st.one_of(_text.filter(lambda s: "://" not in s), _ints, st.booleans()),
    "cluster.positions_per_task": st.one_of(st.integers(max_value=0, min_value=-(2**63)), _floats, _text),
}
#: where an unknown key may go, with the keys known there
LEVELS = {
    "": RunConfig,
    "inputs.": Inputs,
    "engine.": Engine,
    "pricing.": Pricing,
    "risk[0].": VaRRun,
    "stress[0].": Stress,
    "outputs.": Outputs,
    "cluster.": Cluster,
}
_unknown_key = st.tuples(st.sampled_from(sorted(LEVELS)), st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True))


def hypothesis_case(tmp_path: Path) -> Case:
    """A fresh folder per example (config, --out); the demo data copied once per test and only read."""
    shared = tmp_path / "shared"
    if not shared.exists():
        new_case(shared)
    case = Case(Path(tempfile.mkdtemp(dir=tmp_path)), data=shared / "demo")
    case.config = {
        "on_error": "fail",
        "inputs": {"portfolio": str(case.portfolio), "market": str(case.market), "asof": dt.date(2026, 11, 20)},
        "engine": {"backend": "cpu", "seed": 7, "n_paths": 1000},
        "pricing": {"greeks": ["delta"]},
        "risk": [{"name": "hist_99", "method": "historical", "confidence": 0.99}],
        "stress": [dict(STRESS)],
        "outputs": {"folder": str(case.runs)},
    }
    return case


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_malformed_config_is_refused(tmp_path, capsys, data):
    case = hypothesis_case(tmp_path)
    if data.draw(st.booleans(), label="unknown key"):
        level, key = data.draw(_unknown_key.filter(lambda lk: lk[1] not in LEVELS[lk[0]].model_fields), label="key")
        value = data.draw(st.one_of(_ints, _text, st.booleans(), st.floats(allow_nan=False)), label="value")
        where = level + key
        expected = [f"<cfg>: {where} = ", "Extra inputs are not permitted"]
    else:
        where = data.draw(st.sampled_from(sorted(BAD_LEAVES)), label="leaf")
        value = data.draw(BAD_LEAVES[where], label="value")
        expected = [f"<cfg>: {where}"]
    put(where, value)(case)
    check_message(case, refused(case, capsys), expected)
    nothing_written(case)


#: a letter no spelling of a float holds (Python's float() takes e, nan, inf, infinity): the cell is not a number
_NOT_NUMERIC = st.sampled_from("bcdghjklmopqrsuvwxzBCDGHJKLMOPQRSUVWXZ")
_ASCII_ALL = st.characters(min_codepoint=32, max_codepoint=126)
_bad_cell = st.builds(
    lambda a, c, b: a + c + b, st.text(_ASCII_ALL, max_size=5), _NOT_NUMERIC, st.text(_ASCII_ALL, max_size=5)
)
_NUMERIC_COLUMNS = ["quantity", "strike", "maturity", "payout", "n_fixings", "past_average", "barrier", "rebate",
                    "running_max", "running_min", "n_exercise"]  # fmt: skip
_DEMO_HEADER, _DEMO_ROWS = read_rows(DEMO / "portfolio.csv")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.integers(min_value=1, max_value=len(_DEMO_ROWS)),
    column=st.sampled_from(_NUMERIC_COLUMNS),
    value=_bad_cell,
)
def test_any_malformed_portfolio_cell_names_row_and_field(tmp_path, capsys, row, column, value):
    case = new_case(Path(tempfile.mkdtemp(dir=tmp_path)))
    rows = [list(r) for r in _DEMO_ROWS]
    rows[row - 1][_DEMO_HEADER.index(column)] = value
    write_rows(case.portfolio, _DEMO_HEADER, rows)
    pid = rows[row - 1][_DEMO_HEADER.index("position_id")]
    message = refused(case, capsys)
    check_message(case, message, [f"<portfolio>, row {row}, position_id {pid!r}, field {column} = {value!r}"])
    nothing_written(case)


# ------------------------------------------- wrong together or against the history: refused before computing
CROSS = {
    "stressed-start-after-end": (
        put("risk[0].stressed", [dt.date(2024, 9, 30), dt.date(2024, 3, 1)]),
        ["<cfg>: risk[0].stressed", "2024-09-30"],
        "a [[risk]] stressed window with start after end",
    ),
    "stressed-window-outside-history": (
        put("risk[0].stressed", [dt.date(2010, 1, 1), dt.date(2010, 3, 1)]),
        ["<cfg>: risk[0].stressed", "2010-01-01"],
        "a stressed window with no history dates",
    ),
    "lookback-longer-than-history": (
        put("risk[0].lookback_days", 100_000),
        ["<cfg>: risk[0].lookback_days", "100000"],
        "lookback_days beyond the market history",
    ),
    "dof-with-normal-returns": (
        put("risk[0]", {"name": "mc", "method": "monte_carlo", "n_scenarios": 100, "returns": "normal", "dof": 5.0}),
        ["<cfg>: risk[0]", "dof"],
        "dof with returns='normal'",
    ),
    "ewma_decay-without-ewma": (
        put("risk[0]", {"name": "p", "method": "parametric", "ewma_decay": 0.9}),
        ["<cfg>: risk[0]", "ewma_decay"],
        "ewma_decay without covariance='ewma'",
    ),
    "backtest-start-after-end": (
        put("backtest", {"start": dt.date(2026, 6, 1), "end": dt.date(2026, 1, 1)}),
        ["<cfg>: backtest", "2026-06-01"],
        "[backtest] start after end",
    ),
    "outputs-name-latest": (
        put("outputs.name", "latest"),
        ["<cfg>: outputs.name", "'latest'"],
        "outputs.name = 'latest' (the link's name)",
    ),
    "--out-is-a-file": (
        lambda c: (c.root.mkdir(exist_ok=True), c.out.write_text("not a folder\n")),
        ["<out>"],
        "--out naming an existing file",
    ),
}


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [pytest.param(m, f, id=name) for name, (m, f, _why) in CROSS.items()],
)
def test_input_errors_found_before_computing(tmp_path, capsys, mutate, fragments):
    """These inputs are wrong before anything is computed; the runner says so with exit 2 (run and validate)
    and writes nothing. A two-position book keeps the run short should it compute."""
    case = new_case(tmp_path)
    small_book(case)
    mutate(case)
    out_is_file = case.out.is_file()
    check_message(case, refused(case, capsys), fragments)
    if out_is_file:
        assert case.out.read_text() == "not a folder\n"
        case.out.unlink()
    nothing_written(case)
    if not out_is_file:
        check_message(case, refused(case, capsys, "validate"), fragments)
