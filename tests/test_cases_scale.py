"""Case aggregation at scale: results unchanged by the streaming rewrite, memory, progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cases_data import cases_reference_frame

from evaluation import cases, machine
from evaluation.cases import aggregate_cases, aggregate_cases_pandas
from evaluation.errors import ConfigError, DataError
from evaluation.schema import resolve_force

REFERENCE = Path(__file__).resolve().parent / "reference" / "cases_panels.parquet"


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    frame = cases_reference_frame()
    folder = tmp_path_factory.mktemp("reference_cases")
    files = {"csv": folder / "cases.csv", "parquet": folder / "cases.parquet"}
    frame.to_csv(files["csv"], index=False)
    frame.to_parquet(files["parquet"], index=False)
    return files


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("freq", ["month", "quarter", "fy"])
def test_panel_unchanged_from_list_based_implementation(
    reference_files: dict[str, Path], fmt: str, freq: str
) -> None:
    stored = pd.read_parquet(REFERENCE)
    want = stored[stored["freq"] == freq].drop(columns="freq").reset_index(drop=True)
    got, _ = aggregate_cases(reference_files[fmt], freq=freq)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        got.drop(columns="outsourced_spend_gbp"),
        want.drop(columns="outsourced_spend_gbp"),
        check_exact=True,
    )
    np.testing.assert_allclose(
        got["outsourced_spend_gbp"], want["outsourced_spend_gbp"], rtol=1e-12, atol=0
    )
    baseline = aggregate_cases_pandas(reference_files[fmt], freq)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        baseline.drop(columns="outsourced_spend_gbp"),
        want.drop(columns="outsourced_spend_gbp"),
        check_exact=True,
    )
    np.testing.assert_allclose(
        baseline["outsourced_spend_gbp"], want["outsourced_spend_gbp"], rtol=1e-12, atol=0
    )


# ----------------------------------------------------------------------------- typed CSV reading
EDGE_DATES = [
    " 2022-04-01",
    "2022-4-1",
    "2022-04-01 ",
    "2022-04-01T00:00",
    "20220401",
    "2022-04-01 10:00",
    "2022/04/01",
    "+2022-04-01",
    "2022-02-30",
    "2022-04-01x",
    '"2022-04-01"',
    '""',
    '"  "',
    "\t2022-04-01",
    "-2022-04-01",
    "10000-01-01",
]
EDGE_COSTS = [" 1", "1 ", "1e3", "1_000", "0x10", "+5", ".5", "5.", '"1,5"', "inf", "nan",
              "-0", "1e400", "£1", "1.2.3", '"  "', '""', "Infinity", "0b1", "1d"]  # fmt: skip


def _outcome(path: Path) -> object:
    try:
        panel, report = aggregate_cases(path)
    except DataError as exc:
        return ("error", str(exc).splitlines()[0].split(": ", 1)[1], exc.problems)
    return ("panel", panel.to_dict("list"), report.rows, report.completed)


@pytest.mark.parametrize(
    ("column", "value"),
    [("received", v) for v in EDGE_DATES] + [("cost_gbp", v) for v in EDGE_COSTS],
)
def test_typed_csv_reader_reads_as_the_text_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str, value: str
) -> None:
    """The typed CSV reader never accepts what the text path rejects, nor reads it otherwise."""
    received = value if column == "received" else "2022-04-01"
    cost = value if column == "cost_gbp" else "10"
    path = tmp_path / "c.csv"
    path.write_text(
        "force,received,completed,outsourced,cost_gbp\n"
        "Met,2022-04-01,2022-04-03,no,5\n"
        f"Met,{received},2022-05-02,yes,{cost}\n",
        encoding="utf-8",
    )
    fast = _outcome(path)
    monkeypatch.setattr(cases, "_typed_csv_pass", lambda *args, **kwargs: None)
    text = _outcome(path)
    assert repr(fast) == repr(text)


def test_typed_csv_reader_used_for_a_clean_file(tmp_path: Path) -> None:
    frame = cases_reference_frame(n=2_000)
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    con = cases._connect(None, None, str(tmp_path))
    types = {c: "VARCHAR" for c in frame.columns}
    cols = {c: c for c in cases.REQUIRED_CASE_COLUMNS}
    stats = cases._typed_csv_pass(con, path, types, cols, cases._rules(None), "month", None)
    assert stats is not None and stats["n_rows"] == 2_000 and stats["n_bad"] == 0
    # a blank written as spaces is legal but refused by the typed reader: the text path reads it
    path.write_text("force,received,completed,outsourced,cost_gbp\nMet,2022-04-01,  ,,\n")
    assert cases._typed_csv_pass(con, path, types, cols, cases._rules(None), "month", None) is None
    panel, report = aggregate_cases(path)
    assert (report.rows, report.pending, panel["backlog"].tolist()) == (1, 1, [1])
    con.close()


# ----------------------------------------------------------------------------- memory
def test_memory_limit_defaults_to_a_share_of_available_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine, "available_memory", lambda: 2 * 2**30)
    con = cases._connect(None, None, str(tmp_path))
    set_to = con.execute("SELECT current_setting('memory_limit')").fetchone()
    con.close()
    assert set_to is not None and set_to[0] == "512.0 MiB"  # a quarter of 2 GiB
    con = cases._connect("300MB", 1, str(tmp_path))
    limit, temp = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert limit == "286.1 MiB" and temp == str(tmp_path)  # 300 MB given, in MiB


def test_available_memory_reads_meminfo_and_cgroup(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n")
    assert machine._meminfo_available(tmp_path / "meminfo") == 4_000_000 * 1024
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("100\n")
    assert machine._cgroup_headroom(tmp_path) is None
    (tmp_path / "memory.max").write_text("1000\n")
    assert machine._cgroup_headroom(tmp_path) == 900
    assert machine._meminfo_available(tmp_path / "missing") is None


def test_spill_dir_is_used_and_cleaned(tmp_path: Path) -> None:
    frame = cases_reference_frame(n=5_000)
    path = tmp_path / "c.parquet"
    frame.to_parquet(path, index=False)
    spill = tmp_path / "spill"
    spill.mkdir()
    a, _ = aggregate_cases(path, spill_dir=spill, memory_limit="64MB", threads=1)
    b, _ = aggregate_cases(path)
    pd.testing.assert_frame_equal(a, b)
    assert list(spill.iterdir()) == []  # the temporary subfolder is removed
    with pytest.raises(ConfigError, match="spill_dir"):
        aggregate_cases(path, spill_dir=tmp_path / "nowhere")


@pytest.mark.peers
def test_polars_peer_gives_the_same_panel(reference_files: dict[str, Path]) -> None:
    """The benchmark's polars peer: same counts; its quantile formula differs in the last bit."""
    pytest.importorskip("polars")
    from benchmarks.cases_polars import aggregate_cases_polars

    frame = cases_reference_frame(n=20_000)
    frame["force"] = frame["force"].map(resolve_force)  # the peer maps listed names only
    path = reference_files["csv"].with_name("canonical.csv")
    frame.to_csv(path, index=False)
    ours, _ = aggregate_cases(path, freq="quarter")
    theirs = aggregate_cases_polars(path, "quarter")
    quantiles = ["median_turnaround_days", "p90_turnaround_days"]
    exact = [c for c in ours.columns if c not in [*quantiles, "outsourced_spend_gbp"]]
    pd.testing.assert_frame_equal(ours[exact], theirs[exact], check_exact=True)
    for column in [*quantiles, "outsourced_spend_gbp"]:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=1e-9)


def test_force_key_collision_falls_back_to_text_keys(
    reference_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Histogram groups are keyed by a hash of the force text; a collision is detected."""
    want, _ = aggregate_cases(reference_files["parquet"], freq="quarter")
    keys: list[str] = []
    original = cases._grouping_pass

    def spy(*args: object) -> object:
        keys.append(str(args[-1]))
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cases, "_grouping_pass", spy)
    monkeypatch.setattr(cases, "_FORCE_KEY", "hash(force_text) % 2")  # every text collides
    got, _ = aggregate_cases(reference_files["parquet"], freq="quarter")
    assert keys == ["hash(force_text) % 2", "force_text"]
    pd.testing.assert_frame_equal(got, want)
