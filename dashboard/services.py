"""The dashboard's only door to the library and the report renderer: plain, typed functions.

Everything from :mod:`evaluation` and :mod:`reporting` is reached through here.

Callbacks stay a few lines and call these; every number shown comes from :mod:`evaluation`
(validation, estimation, appraisal). Results are cached on disk by their inputs (the data set
token and the options), shared by every worker process.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copyreg
import functools
import math
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from dashboard.security import UploadRejected, check_xlsx_archive, expansion_limit
from dashboard.store import KINDS, DatasetRef, TableKind, UserStore, open_cache, parse_token

__all__ = [
    "BOUNDS_WINDOW",
    "ESTIMATOR_LABELS",
    "INFERENCE_LABELS",
    "REPORT_FILES",
    "SCENARIOS",
    "AnalysisSettings",
    "EffectsView",
    "Frames",
    "UploadOutcome",
    "VfmInputs",
    "annual_report",
    "appraise_what_if",
    "assumptions",
    "bundled_dataset",
    "cached_pipeline_result",
    "check_upload",
    "effects_view",
    "load_frames",
    "metric_names",
    "pipeline_result",
    "report_folder",
    "report_pdf",
    "report_years",
    "scenario_effects",
    "vfm_defaults",
]

ESTIMATOR_LABELS: dict[str, str] = {
    "cs": "Callaway-Sant'Anna",
    "imputation": "Imputation (Borusyak-Jaravel-Spiess)",
    "twfe": "Two-way fixed effects (diagnostic)",
    "event_study": "Event study (dynamic TWFE)",
}
INFERENCE_LABELS: dict[str, str] = {
    "": "Recommended for the design",
    "multiplier": "Multiplier bootstrap",
    "cr1": "Cluster-robust (CR1)",
    "cr3": "Cluster jackknife (CR3)",
    "wild": "Wild cluster bootstrap",
    "ri": "Randomization inference",
}
SCENARIOS = ("low", "central", "high")
#: event times either side of go-live used by the sensitivity bounds
BOUNDS_WINDOW = 12
Scenario = Literal["low", "central", "high"]


# ----------------------------------------------------------------------------------------------
# Data sets
# ----------------------------------------------------------------------------------------------


def bundled_dataset(store: UserStore) -> DatasetRef:
    """Store the bundled sample files (once) and return them as a data set."""
    from evaluation.pipeline import PipelineInputs

    inp = PipelineInputs.bundled()
    return DatasetRef(
        store.put_file(inp.panel), store.put_file(inp.register), store.put_file(inp.ledger)
    )


@dataclass(frozen=True)
class Frames:
    """The typed, validated tables of a data set."""

    panel: pd.DataFrame
    register: pd.DataFrame
    ledger: pd.DataFrame
    paths: tuple[Path, Path, Path]


@functools.lru_cache(maxsize=8)
def _frames(root: str, token: str) -> Frames:
    from evaluation.ingest import load_ledger, load_panel, load_register

    store = UserStore(Path(root))
    paths = tuple(store.path(f) for f in parse_token(token))
    return Frames(load_panel(paths[0]), load_register(paths[1]), load_ledger(paths[2]), paths)  # type: ignore[arg-type]


def load_frames(store: UserStore, token: str) -> Frames:
    """Return the typed tables of the data set ``token`` (cached per process)."""
    return _frames(str(store.root), token)


def metric_names(frames: Frames) -> list[str]:
    """Return the panel's metric columns, in the data contract's order."""
    from evaluation.schema import load_metrics

    known = load_metrics()
    return [c for c in frames.panel.columns if c in known]


@dataclass(frozen=True)
class UploadOutcome:
    """What became of an upload: accepted or not, and the full validation report."""

    ok: bool
    kind: str
    name: str
    message: str
    problems: pd.DataFrame = field(repr=False)


def _problems(report: Any) -> pd.DataFrame:
    frame: pd.DataFrame = report.to_frame()
    return frame


def _rejected(kind: str, name: str, message: str, problems: pd.DataFrame | None = None) -> Any:
    cols = ["severity", "file", "row", "column", "value", "expected", "message"]
    if problems is None:
        problems = pd.DataFrame(
            [{"severity": "error", "file": name, "message": message}], columns=cols
        )
    return UploadOutcome(False, kind, name, message, problems)


def check_upload(
    store: UserStore,
    user: str,
    kind: TableKind,
    filename: str,
    contents: str,
    current: DatasetRef,
    *,
    max_bytes: int,
) -> UploadOutcome:
    """Validate an uploaded table and, only if it passes, make it ``user``'s table of ``kind``.

    ``contents`` is the ``data:...;base64,...`` string of ``dcc.Upload``. The file is checked
    with the library's loaders (and, for a panel or register, against the other table of the
    current data set). A file with any error changes nothing.
    """
    from evaluation.errors import DataError
    from evaluation.ingest import check_table
    from evaluation.validation import validate_pilots

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = Path(str(filename or "upload")).name[:200]
    ext = Path(name).suffix.lower()
    if ext not in (".csv", ".xlsx", ".parquet"):
        return _rejected(kind, name, f"{name}: unsupported file type; use .csv, .xlsx or .parquet")
    try:
        data = base64.b64decode(str(contents).split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        return _rejected(kind, name, f"{name}: the upload is not valid base64 data")
    if len(data) > max_bytes:
        return _rejected(
            kind, name, f"{name} is {len(data) / 1e6:.1f} MB, over {max_bytes / 1e6:.1f} MB"
        )
    if ext == ".xlsx":
        try:
            check_xlsx_archive(data, max_uncompressed=expansion_limit(max_bytes), name=name)
        except UploadRejected as exc:
            return _rejected(kind, name, str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{ext}"
        path.write_bytes(data)
        try:
            checked = check_table(path, kind=kind, max_bytes=max_bytes)
        except DataError as exc:
            frame = pd.DataFrame([vars(p) for p in exc.problems]) if exc.problems else None
            if frame is not None:
                frame["file"] = name
            return _rejected(kind, name, f"{name} cannot be read: {exc.args[0]}", frame)
    problems = _problems(checked.report).assign(file=name)
    if checked.report.ok and kind in ("panel", "register"):
        frames = load_frames(store, current.token)
        panel = checked.frame if kind == "panel" else frames.panel
        register = checked.frame if kind == "register" else frames.register
        cross = validate_pilots(panel, register, source=name if kind == "register" else "register")
        problems = pd.concat([problems, _problems(cross)], ignore_index=True)
        ok = cross.ok
    else:
        ok = checked.report.ok
    n_err = int((problems["severity"] == "error").sum()) if len(problems) else 0
    if not ok:
        return UploadOutcome(
            False,
            kind,
            name,
            f"{name} was not loaded: {n_err} error(s). Nothing already loaded has changed.",
            problems,
        )
    ref = store.put_bytes(data, ext, name)
    store.set_table(user, kind, ref)
    n = checked.report.n_rows
    return UploadOutcome(
        True,
        kind,
        name,
        f"{name} loaded as your {kind}: {n} rows, {len(problems)} note(s) or warning(s). "
        "Every page now uses it.",
        problems,
    )


# ----------------------------------------------------------------------------------------------
# The main analysis (the pipeline), cached by data set and settings
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisSettings:
    """How the main analysis runs (as ``pathfinder run``)."""

    method: str = "cs"
    inference: str | None = None
    reps: int = 999
    draws: int | None = None
    seed: int = 20260401


def _mappingproxy(d: dict[Any, Any]) -> types.MappingProxyType[Any, Any]:
    return types.MappingProxyType(d)


def _pickle_mappingproxy(m: types.MappingProxyType[Any, Any]) -> tuple[Any, tuple[Any, ...]]:
    return _mappingproxy, (dict(m),)


@contextlib.contextmanager
def _cache(store: UserStore) -> Iterator[Any]:
    # results hold read-only mappings (DidResult.info); pickle them as their contents
    copyreg.pickle(types.MappingProxyType, _pickle_mappingproxy)
    yield open_cache(store.root / "results")


def cached_pipeline_result(store: UserStore, token: str, settings: AnalysisSettings) -> Any:
    """Return the main job's cached result for a data set, or ``None`` if not yet run."""
    with _cache(store) as cache:
        return cache.get(("pipeline", token, settings))


def assumptions() -> pd.DataFrame:
    """Return the bundled parameter set's assumptions log (every value with its source)."""
    from evaluation.appraisal import load_params

    return load_params().assumptions()


def pipeline_result(store: UserStore, token: str, settings: AnalysisSettings) -> Any:
    """Run (or fetch from the cache) the main job on a data set: effects and appraisal."""
    from evaluation.pipeline import PipelineInputs, run_pipeline

    key = ("pipeline", token, settings)
    with _cache(store) as cache:
        hit = cache.get(key)
        if hit is not None:
            return hit
    p, r, led = (store.path(f) for f in parse_token(token))
    result = run_pipeline(
        PipelineInputs(
            panel=p,
            register=r,
            ledger=led,
            method=settings.method,
            inference=settings.inference,
            reps=settings.reps,
            draws=settings.draws,
            seed=settings.seed,
        )
    )
    with _cache(store) as cache:
        cache.set(key, result)
    return result


# ----------------------------------------------------------------------------------------------
# Effects
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectsView:
    """Everything the Effects page shows for one metric and set of options."""

    metric: str
    method: str
    control: str
    inference: str
    overall: dict[str, float]
    event_result: Any
    estimators: pd.DataFrame
    pretrend: dict[str, float] | None
    bounds: pd.DataFrame
    warnings: tuple[str, ...]
    n_treated: int
    n_units: int


def _frame_with_cohorts(frames: Frames) -> pd.DataFrame:
    from evaluation.panel import attach_cohorts

    return attach_cohorts(frames.panel, frames.register)


def _fit(
    frame: pd.DataFrame,
    metric: str,
    method: str,
    control: str,
    inference: str | None,
    reps: int,
    seed: int,
    **options: Any,
) -> Any:
    from evaluation.estimate import estimate

    if method == "cs":
        options.setdefault("allow_unbalanced", True)
    kwargs: dict[str, Any] = {"control": control} if method in ("cs", "imputation") else {}
    return estimate(
        frame,
        metric,
        method=method,
        inference=inference,
        reps=reps,
        rng=np.random.default_rng(seed),
        **kwargs,
        **options,
    )


def _row(label: str, res: Any) -> dict[str, Any]:
    o = res.overall
    return {
        "estimator": label,
        "estimate": o.estimate,
        "se": o.se,
        "ci_low": o.ci_low,
        "ci_high": o.ci_high,
        "p_value": o.p_value,
        "inference": o.inference,
    }


def effects_view(
    store: UserStore,
    token: str,
    metric: str,
    *,
    method: str = "cs",
    control: str = "never",
    inference: str | None = None,
    reps: int = 199,
    seed: int = 20260401,
    bounds: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> EffectsView:
    """Estimate ``metric``'s effect with the chosen options and the views around it.

    Also the other estimators, the event study, the pre-trend test and (with ``bounds``)
    relative-magnitude sensitivity bounds.

    The bounds (Rambachan-Roth, conditional test) use the Callaway-Sant'Anna event study within
    :data:`BOUNDS_WINDOW` periods of go-live; they take minutes. Results are cached on disk.
    """
    key = ("effects", token, metric, method, control, inference, reps, seed, bounds)
    with _cache(store) as cache:
        hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    from evaluation.errors import PathfinderError
    from evaluation.sensitivity import honest_bounds

    frames = load_frames(store, token)
    if metric not in metric_names(frames):
        raise ValueError(f"metric must be one of {', '.join(metric_names(frames))}")
    frame = _frame_with_cohorts(frames)
    others = [m for m in ("cs", "imputation", "twfe") if m != method]
    steps = 3 + len(others)
    note = progress or (lambda i, n, s: None)
    note(0, steps, f"estimating with {ESTIMATOR_LABELS.get(method, method)}")
    main = _fit(frame, metric, method, control, inference, reps, seed)
    note(1, steps, "event study")
    if method == "cs":
        es_res = _fit(frame, metric, "cs", control, inference, reps, seed, base_period="universal")
    else:
        es_res = _fit(frame, metric, "event_study", "never", None, reps, seed)
    pretrend = None
    info = dict(es_res.info)
    if "pretrend_p" in info:
        pretrend = {
            "statistic": float(info["pretrend_wald"]),
            "df": float(info["pretrend_df"]),
            "p_value": float(info["pretrend_p"]),
        }
    elif isinstance(info.get("pretrend"), Mapping) and "p_value" in info["pretrend"]:
        pt = info["pretrend"]
        pretrend = {
            "statistic": float(pt.get("statistic", math.nan)),
            "df": float(pt.get("df", math.nan)),
            "p_value": float(pt["p_value"]),
        }
    note(2, steps, "sensitivity bounds" if bounds else "event study done")
    bounds_table = pd.DataFrame()
    if bounds:
        try:
            window = _fit(
                frame,
                metric,
                "cs",
                control,
                inference,
                reps,
                seed,
                base_period="universal",
                min_e=-BOUNDS_WINDOW,
                max_e=BOUNDS_WINDOW,
            )
            bounds_table = honest_bounds(
                window,
                mbar=(0.0, 0.5, 1.0),
                method="Conditional",
                rng=np.random.default_rng(seed),
            )
        except PathfinderError as exc:
            bounds_table = pd.DataFrame({"note": [f"not computable: {exc}"]})
    rows = [_row(ESTIMATOR_LABELS.get(method, method) + " (chosen)", main)]
    for i, m in enumerate(others):
        note(3 + i, steps, f"comparing with {ESTIMATOR_LABELS[m]}")
        try:
            rows.append(
                _row(ESTIMATOR_LABELS[m], _fit(frame, metric, m, "never", None, reps, seed))
            )
        except PathfinderError as exc:
            rows.append({"estimator": ESTIMATOR_LABELS[m], "inference": f"not estimable: {exc}"})
    o = main.overall
    view = EffectsView(
        metric=metric,
        method=method,
        control=control,
        inference=o.inference,
        overall={
            "estimate": o.estimate,
            "se": o.se,
            "ci_low": o.ci_low,
            "ci_high": o.ci_high,
            "p_value": o.p_value,
        },
        event_result=es_res,
        estimators=pd.DataFrame(rows),
        pretrend=pretrend,
        bounds=bounds_table,
        warnings=tuple(main.warnings),
        n_treated=int(main.n_treated_units),
        n_units=int(main.n_units),
    )
    note(steps, steps, "done")
    with _cache(store) as cache:
        cache.set(key, view)
    return view


# ----------------------------------------------------------------------------------------------
# Value for money: what-if appraisal
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VfmInputs:
    """The what-if inputs of the value-for-money page (defaults from the parameter set)."""

    discount_rate: float
    ob_pilot: str
    ob_rollout: str
    exam_price: float
    hour_cost: float
    hour_share: float
    period_years: int
    scenario: str = "central"
    rollout_forces: str = "all"
    rollout_start: str = "after-ledger"

    #: parameter key of each input
    KEYS = {  # noqa: RUF012 - class constant
        "discount_rate": "discounting.rate",
        "ob_pilot": "optimism_bias.pilot_forecast",
        "ob_rollout": "optimism_bias.rollout",
        "exam_price": "unit_values.outsourced_exam",
        "hour_cost": "unit_values.officer_hour_sergeant_and_below",
        "hour_share": "unit_values.hour_release_share",
        "period_years": "settings.appraisal_period_years",
        "rollout_forces": "rollout.forces",
        "rollout_start": "rollout.start_year",
    }


def vfm_defaults() -> VfmInputs:
    """Return the what-if inputs at the bundled parameter set's values."""
    from evaluation.appraisal import load_params

    p = load_params()
    return VfmInputs(
        discount_rate=float(p.discount_bands[0].rate),
        ob_pilot=p.ob_pilot_stage,
        ob_rollout=p.ob_rollout_stage,
        exam_price=float(p.unit_values["outsourced_exam"].value),
        hour_cost=float(p.unit_values["officer_hour_sergeant_and_below"].value),
        hour_share=float(p.unit_values["hour_release_share"].value),
        period_years=int(p.period_years),
        rollout_forces=p.rollout_forces,
        rollout_start=p.rollout_start_year,
    )


def _params(inputs: VfmInputs) -> Any:
    from evaluation.appraisal import load_params

    p = load_params()
    for name, key in VfmInputs.KEYS.items():
        p = p.updated(key, getattr(inputs, name))
    return p


def scenario_effects(effects: pd.DataFrame, params: Any, scenario: str) -> pd.DataFrame:
    """Shift each effect that drives an enabled benefit line by the scenario's z standard errors.

    ``"low"`` moves every such estimate ``z = params.scenario_effect_z`` standard errors towards
    less benefit, ``"high"`` towards more; ``"central"`` returns the estimates unchanged.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    out = effects.copy()
    if scenario == "central":
        return out
    direction = 1.0 if scenario == "high" else -1.0
    z = float(params.scenario_effect_z)
    signs = {b.metric: b.sign for b in params.enabled_benefits}
    for i, row in out.iterrows():
        sign = signs.get(row["metric"])
        if sign is not None:
            out.at[i, "estimate"] = row["estimate"] + direction * z * row["se"] * sign
    return out


def appraise_what_if(
    store: UserStore,
    token: str,
    settings: AnalysisSettings,
    inputs: VfmInputs,
    *,
    uncertainty: bool = False,
    draws: int | None = None,
) -> Any:
    """Appraise the data set's estimated effects under the what-if inputs.

    With ``uncertainty=False`` only the central appraisal and the rollout projection are run
    (fast, for interactive use); with ``True`` also sensitivity, scenarios and the Monte Carlo.
    """
    from evaluation.appraisal import appraise

    key = ("appraise", token, settings, inputs, uncertainty, draws)
    if uncertainty:
        with _cache(store) as cache:
            hit = cache.get(key)
        if hit is not None:
            return hit
    result = pipeline_result(store, token, settings)
    frames = load_frames(store, token)
    params = _params(inputs)
    effects = scenario_effects(
        result.effects[["metric", "estimate", "se", "unit", "per"]], params, inputs.scenario
    )
    go_live = dict(zip(frames.register["force"], frames.register["go_live"], strict=True))
    out = appraise(
        frames.ledger,
        effects,
        params,
        go_live=go_live,
        seed=settings.seed,
        draws=draws,
        uncertainty=uncertainty,
        monte_carlo=uncertainty,
        source=frames.paths[2].name,
    )
    if uncertainty:
        with _cache(store) as cache:
            cache.set(key, out)
    return out


# ----------------------------------------------------------------------------------------------
# Annual reports: the same model, templates and workbook as ``pathfinder report``
# ----------------------------------------------------------------------------------------------

REPORT_FILES = ("report.html", "report.pdf", "workbook.xlsx")


def report_years(store: UserStore, token: str) -> list[str]:
    """Return the financial years a report can be made for on this data set."""
    from evaluation.annual import report_years as years

    frames = load_frames(store, token)
    return list(years(frames.panel, frames.register))


def report_folder(store: UserStore, token: str, settings: AnalysisSettings, year: str) -> Path:
    """Return the folder of a data set's report for ``year`` (named by a digest of the inputs)."""
    import hashlib

    if year not in report_years(store, token):
        raise ValueError(f"no report can be made for {year!r}")
    key = hashlib.sha256(repr((token, year, settings)).encode()).hexdigest()[:32]
    return store.root / "reports" / key


def annual_report(
    store: UserStore,
    token: str,
    settings: AnalysisSettings,
    year: str,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write (once) the year's report HTML and workbook as ``pathfinder report`` does.

    The report is built from the data as at the year's end, with last year's report as the
    comparison, by :func:`evaluation.annual.build_annual_report`, rendered by
    :func:`reporting.render.render_html` and :func:`evaluation.annual.workbook.write_workbook`.
    Returns the folder; the PDF is made on first download (:func:`report_pdf`).
    """
    import os
    import shutil

    from evaluation.annual import build_annual_report, cut_inputs, write_cut
    from evaluation.annual.workbook import write_workbook
    from evaluation.pipeline import PipelineInputs, run_pipeline
    from evaluation.provenance import file_sha256
    from reporting.render import chart_svgs, render_html

    folder = report_folder(store, token, settings, year)
    if (folder / "report.html").exists():
        return folder
    note = progress or (lambda i, n, s: None)
    frames = load_frames(store, token)
    years = report_years(store, token)
    todo = years[max(years.index(year) - 1, 0) : years.index(year) + 1]
    sources = {
        k: {"file": p.name, "sha256": file_sha256(p)}
        for k, p in zip(KINDS, frames.paths, strict=True)
    }
    staging = Path(tempfile.mkdtemp(dir=store.root, prefix="report-"))
    previous = None
    steps = len(todo) + 2
    report = None
    for i, y in enumerate(todo):
        note(i, steps, f"analysing the data as at the end of {y}")
        cut = cut_inputs(frames.panel, frames.register, frames.ledger, y)
        paths = write_cut(cut, staging / f"inputs-{y}")
        result = run_pipeline(
            PipelineInputs(
                panel=paths["panel"],
                register=paths["register"],
                ledger=paths["ledger"],
                method=settings.method,
                inference=settings.inference,
                reps=settings.reps,
                seed=settings.seed,
                draws=settings.draws,
            )
        )
        report = build_annual_report(result, y, previous, cut=cut, sources=sources)
        previous = report
    assert report is not None
    note(len(todo), steps, "drawing the charts and writing the report")
    html = render_html(report, svgs=chart_svgs(report.charts()))
    (staging / "report.html").write_text(html, encoding="utf-8")
    note(len(todo) + 1, steps, "writing the workbook")
    try:
        write_workbook(report, staging / "workbook.xlsx")
    except Exception as exc:  # a library fault must not hide the report itself
        (staging / "workbook-error.txt").write_text(
            f"{type(exc).__name__}: {exc}", encoding="utf-8"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # another worker finished first
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.replace(staging, folder)
    note(steps, steps, "done")
    return folder


def report_pdf(folder: Path) -> Path:
    """Return the report's PDF, rendering it from its HTML on first use (WeasyPrint)."""
    from reporting.render import render_pdf

    pdf = folder / "report.pdf"
    if not pdf.exists():
        render_pdf((folder / "report.html").read_text(encoding="utf-8"), pdf)
    return pdf
