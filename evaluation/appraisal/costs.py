"""Cost lines: check the ledger, deflate to real prices, project, refresh, residual value.

The ledger (outturn) is checked for what the appraisal needs, every problem reported at once.
Each ledger row is converted to price-base-year prices with the GDP deflator, aggregated to
force x financial year x category x kind, and then:

* recurrent costs after the last outturn year are projected at each force's last-year real level
  (``basis = "forecast"``), while the team is funded (to the end of the appraisal period);
  staff costs grow with real wages (``real_growth.wages``) from the last outturn year;
* capital in the refresh categories is bought again every asset life (``basis = "refresh"``) in
  years after the outturn;
* optimism bias uplifts forecast and refresh costs (see :mod:`.optimism`);
* capital whose life runs past the period's end leaves a straight-line residual value, shown as a
  negative cost in the final year (``basis = "residual"``).

Every intermediate stays in the table: ``nominal_gbp``, ``deflator_factor``, ``base_real_gbp``,
``ob_rate``, ``ob_uplift_gbp``, ``adjusted_gbp``, ``discount_factor``, ``pv_gbp``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from evaluation.appraisal._memo import frame_digest, memoised
from evaluation.appraisal._years import fy_label, fy_start
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.optimism import apply_optimism_bias, ob_rates
from evaluation.appraisal.params import ParameterSet
from evaluation.appraisal.prices import parse_price_basis
from evaluation.errors import AppraisalError, DataError, Problem
from evaluation.periods import detect_frequency, format_period, period_of_date
from evaluation.schema import COST_CATEGORIES, COST_KINDS, resolve_force

__all__ = [
    "COST_LINE_COLUMNS",
    "REFRESH_CATEGORIES",
    "WAGE_CATEGORIES",
    "aggregate_outturn",
    "build_cost_lines",
    "check_ledger",
    "last_outturn_date",
    "observed_refresh_ratios",
]

#: Capital categories bought again at the end of their asset life (default of
#: ``assets.refresh_categories``).
REFRESH_CATEGORIES: tuple[str, ...] = ("equipment", "licences")

#: Cost categories whose projected recurrent cost grows with real wages (``real_growth.wages``).
WAGE_CATEGORIES: tuple[str, ...] = ("staff",)

COST_LINE_COLUMNS: tuple[str, ...] = (
    "force",
    "financial_year",
    "t",
    "category",
    "kind",
    "basis",
    "price_basis",
    "nominal_gbp",
    "deflator_factor",
    "base_real_gbp",
    "ob_rate",
    "ob_uplift_gbp",
    "adjusted_gbp",
    "discount_factor",
    "pv_gbp",
    "sunk",
    "asset_year",
)
_REQUIRED = ("force", "category", "kind", "amount_gbp", "price_basis")


def check_ledger(
    ledger: pd.DataFrame, params: ParameterSet, *, source: str = "ledger"
) -> pd.DataFrame:
    """Check a cost ledger for the appraisal and return it normalised.

    Returns a frame with ``row`` (spreadsheet row), ``force`` (canonical name),
    ``financial_year``, ``category``, ``kind``, ``amount_gbp``, ``price_basis``,
    ``price_year`` (the financial year whose prices the amount is in) and ``date`` (a timestamp
    when the ledger has dates, else ``None``).

    Raises
    ------
    DataError
        Listing every problem (negative or missing amounts, unknown categories, kinds or forces,
        bad price bases, price years outside the deflator series), each naming its row.
    """
    try:
        digest = frame_digest(ledger)
    except (TypeError, ValueError):  # cells pandas cannot hash: check them without the memo
        return _check_ledger(ledger, params, source=source)
    key = ("checked", digest, params.digest_without(*_SECTIONS_NOT_READ), source)
    return memoised(key, lambda: _check_ledger(ledger, params, source=source))


def _check_ledger(ledger: pd.DataFrame, params: ParameterSet, *, source: str) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in ledger.columns]
    if "date" not in ledger.columns and "financial_year" not in ledger.columns:
        missing.append("date or financial_year")
    if missing:
        raise DataError(
            f"{source}: the cost ledger is missing required columns",
            [Problem(f"missing column '{c}'", file=source, column=c) for c in missing],
        )
    problems: list[Problem] = []
    out: list[dict[str, object]] = []
    deflator = params.deflator
    span = f"{min(deflator)} to {max(deflator)}" if deflator else "empty"
    has_date = "date" in ledger.columns
    has_fy = "financial_year" in ledger.columns
    records: list[dict[str, object]] = ledger.to_dict("records")  # type: ignore[assignment]
    for i, rec in enumerate(records):
        row = i + 2

        def bad(
            msg: str, column: str, value: object, expected: str | None = None, row: int = row
        ) -> None:
            problems.append(
                Problem(
                    msg, file=source, row=row, column=column, value=str(value), expected=expected
                )
            )

        force = resolve_force(rec["force"])
        if force is None:
            bad("unknown force", "force", rec["force"], "one of the 43 forces of England and Wales")
        category = rec["category"]
        if category not in COST_CATEGORIES:
            bad("unknown cost category", "category", category, ", ".join(COST_CATEGORIES))
        kind = rec["kind"]
        if kind not in COST_KINDS:
            bad("unknown cost kind", "kind", kind, ", ".join(COST_KINDS))
        amount = _num(rec["amount_gbp"])
        if amount is None:
            bad(
                "amount is missing or not a number",
                "amount_gbp",
                rec["amount_gbp"],
                "a number >= 0",
            )
        elif amount < 0:
            bad(
                "negative cost",
                "amount_gbp",
                rec["amount_gbp"],
                "a number >= 0 (record savings as benefits, not negative costs)",
            )
        fy: str | Problem | None = _fy_of(rec, has_date, has_fy)
        if isinstance(fy, Problem):
            problems.append(
                Problem(
                    fy.message,
                    file=source,
                    row=row,
                    column=fy.column,
                    value=fy.value,
                    expected=fy.expected,
                )
            )
            fy = None
        try:
            real_year = parse_price_basis(rec["price_basis"])
        except ValueError:
            bad(
                "invalid price basis",
                "price_basis",
                rec["price_basis"],
                "'nominal' or 'real YYYY-YY'",
            )
            real_year = None
            price_year = None
        else:
            price_year = real_year if real_year is not None else fy
        if price_year is not None and deflator and price_year not in deflator:
            bad(
                f"price year {price_year} is outside the deflator series ({span})",
                "price_basis" if real_year else ("financial_year" if has_fy else "date"),
                price_year,
            )
        out.append(
            {
                "row": row,
                "force": force,
                "financial_year": fy,
                "category": category,
                "kind": kind,
                "amount_gbp": amount,
                "price_basis": "nominal" if real_year is None else f"real {real_year}",
                "price_year": price_year,
                "date": _date_of(rec) if has_date else None,
            }
        )
    if not out:
        problems.append(Problem("the cost ledger has no rows", file=source))
    if problems:
        raise DataError(f"{source}: the cost ledger cannot be appraised", problems)
    frame = pd.DataFrame(out)
    for col in ("force", "financial_year", "category", "kind", "price_basis", "price_year"):
        frame[col] = frame[col].astype(object)
    frame["amount_gbp"] = frame["amount_gbp"].astype(float)
    return frame


def _num(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)) or x is pd.NaT


def _date_of(rec: dict[str, object]) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(rec["date"])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(ts) else ts


def last_outturn_date(ledger: pd.DataFrame) -> pd.Timestamp | None:
    """Return the latest dated row of a checked ledger (``None`` if no row has a date)."""
    if "date" not in ledger.columns:
        return None
    dates = ledger["date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.Series([d for d in dates if isinstance(d, pd.Timestamp)], dtype=object)
    latest = dates.max() if len(dates) else None
    return None if latest is None or pd.isna(latest) else pd.Timestamp(latest)


def _fy_of(rec: dict[str, object], has_date: bool, has_fy: bool) -> str | Problem:
    fy_from_date = None
    if has_date and not _missing(rec["date"]):
        value = rec["date"]
        try:
            if isinstance(value, str):
                parsed = datetime.strptime(value.strip(), "%Y-%m-%d").date()
            elif isinstance(value, datetime | date | pd.Timestamp):
                parsed = value
            else:
                raise ValueError
            fy_from_date = format_period(period_of_date(parsed, "fy"))
        except ValueError:
            return Problem("invalid date", column="date", value=str(value), expected="YYYY-MM-DD")
    fy = None
    if has_fy and not _missing(rec["financial_year"]):
        value = rec["financial_year"]
        if isinstance(value, pd.Period):
            value = format_period(value)
        if detect_frequency(value) != "fy":
            return Problem(
                "invalid financial year",
                column="financial_year",
                value=str(value),
                expected="YYYY-YY, e.g. 2022-23",
            )
        fy = str(value).strip().replace("/", "-")
    if fy is not None and fy_from_date is not None and fy != fy_from_date:
        return Problem(
            f"date falls in financial year {fy_from_date}, not {fy}",
            column="financial_year",
            value=fy,
            expected=fy_from_date,
        )
    result = fy or fy_from_date
    if result is None:
        return Problem(
            "no date or financial year",
            column="date" if has_date else "financial_year",
            value="",
            expected="YYYY-MM-DD or YYYY-YY",
        )
    return result


def aggregate_outturn(ledger: pd.DataFrame, params: ParameterSet, *, basis: str) -> pd.DataFrame:
    """Deflate checked ledger rows and sum them by force, year, category, kind and price basis.

    The result depends only on the ledger, the deflator and the price base year: repeated
    appraisals (sensitivity, switching values) pass it to :func:`build_cost_lines` once made.
    """
    key = (
        "outturn",
        frame_digest(ledger),
        params.price_base_year,
        tuple(sorted(params.deflator.items())),
        basis,
    )
    return memoised(key, lambda: _aggregate_outturn(ledger, params, basis=basis))


def _aggregate_outturn(ledger: pd.DataFrame, params: ParameterSet, *, basis: str) -> pd.DataFrame:
    pb = params.price_base_year
    index = params.deflator
    factor = ledger["price_year"].map(lambda y: index[pb] / index[y]).astype(float)
    frame = ledger.assign(
        deflator_factor=factor,
        base_real_gbp=ledger["amount_gbp"] * factor,
        nominal_gbp=np.where(ledger["price_basis"] == "nominal", ledger["amount_gbp"], np.nan),
    )
    keys = ["force", "financial_year", "category", "kind", "price_basis"]
    g = frame.groupby(keys, sort=True, dropna=False)
    outturn = g["base_real_gbp"].sum().to_frame()
    outturn["nominal_gbp"] = g["nominal_gbp"].sum(min_count=1)
    outturn["deflator_factor"] = g["deflator_factor"].mean()
    outturn = outturn.reset_index()
    outturn["basis"] = basis
    return outturn


def build_cost_lines(
    ledger: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    outturn_end: str,
    base_year: str,
    decision_year: str,
    ob_stage: str,
    ledger_basis: str = "outturn",
    outturn: pd.DataFrame | None = None,
    refresh_ratio: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Turn a checked ledger into appraisal cost lines (see the module docstring).

    Parameters
    ----------
    ledger
        The output of :func:`check_ledger`.
    params
        The parameter set (deflator, optimism bias, asset lives).
    years
        The appraisal years, consecutive financial-year labels.
    outturn_end
        Last financial year of the ledger: recurrent costs are projected and capital refreshed
        only after it.
    base_year
        Discount base year (year 0).
    decision_year
        First year of the go-forward view: earlier lines are flagged ``sunk``.
    ob_stage
        ``"lower"``, ``"upper"`` or ``"none"``: the optimism-bias bound for forecasts.
    ledger_basis
        ``"outturn"`` for actual spend, ``"forecast"`` when the ledger itself is a projection
        (national rollout), so that optimism bias applies to it.
    outturn
        The ledger already aggregated by :func:`aggregate_outturn` with the same parameters'
        deflator and price base year (saves time in repeated appraisals).
    refresh_ratio
        Observed refresh cost as a share of the purchase it replaced, by category, for asset
        chains without an actual refresh (default: :func:`observed_refresh_ratios` of this
        ledger; the national rollout passes the pilots' ratios).
    """
    first, last = years[0], years[-1]
    outside = ledger[(ledger["financial_year"] < first) | (ledger["financial_year"] > last)]
    if len(outside):
        r = outside.iloc[0]
        raise AppraisalError(
            f"ledger row {r['row']} ({r['financial_year']}) is outside the appraisal period "
            f"{first} to {last} ({len(outside)} row(s) in all): change settings.first_year or "
            "settings.appraisal_period_years"
        )
    key = (
        "cost-lines",
        frame_digest(ledger),
        params.digest_without(*_SECTIONS_NOT_READ),
        tuple(years),
        outturn_end,
        ob_stage,
        ledger_basis,
        None if outturn is None else frame_digest(outturn),
        None if refresh_ratio is None else tuple(sorted(refresh_ratio.items())),
    )
    lines = memoised(
        key,
        lambda: _undiscounted_lines(
            ledger,
            params,
            years=years,
            outturn_end=outturn_end,
            ob_stage=ob_stage,
            ledger_basis=ledger_basis,
            outturn=outturn,
            refresh_ratio=refresh_ratio,
        ),
    )

    t = lines["financial_year"].map(fy_start).to_numpy(dtype=np.int64) - fy_start(base_year)
    lines["t"] = t
    lines["discount_factor"] = discount_factors(t, params.discount_bands)
    lines["pv_gbp"] = lines["adjusted_gbp"] * lines["discount_factor"]
    # residual value belongs to the asset: a sunk asset's residual is sunk too
    lines["sunk"] = lines["asset_year"] < decision_year
    return lines[list(COST_LINE_COLUMNS)]


#: parameter sections the undiscounted cost lines never read (discounting is applied after)
_SECTIONS_NOT_READ = (
    "meta",
    "discounting",
    "unit_values",
    "benefits",
    "vfm",
    "options",
    "uncertainty",
    "confidence",
)


def _undiscounted_lines(
    ledger: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    outturn_end: str,
    ob_stage: str,
    ledger_basis: str,
    outturn: pd.DataFrame | None,
    refresh_ratio: Mapping[str, float] | None,
) -> pd.DataFrame:
    """Outturn, projections, refreshes, optimism bias and residual values, before discounting."""
    last = years[-1]
    s_last, s_out = fy_start(last), fy_start(outturn_end)
    pb = params.price_base_year
    if outturn is None:
        outturn = aggregate_outturn(ledger, params, basis=ledger_basis)
    parts = [outturn]

    # recurrent projection at each force's last-outturn-year real level (staff costs growing
    # with real wages)
    wage = params.wage_growth_rate
    if s_out < s_last:
        last_rec = outturn[
            (outturn["financial_year"] == outturn_end) & (outturn["kind"] == "recurrent")
        ]
        level: dict[tuple[str, str], float] = (
            last_rec.groupby(["force", "category"], sort=True)["base_real_gbp"].sum().to_dict()  # type: ignore[assignment]
        )
        rows = [
            {
                "force": f,
                "financial_year": fy_label(y),
                "category": c,
                "kind": "recurrent",
                "price_basis": f"real {pb}",
                "nominal_gbp": np.nan,
                "base_real_gbp": v * (1.0 + (wage if c in WAGE_CATEGORIES else 0.0)) ** (y - s_out),
                "deflator_factor": 1.0,
                "basis": "forecast",
            }
            for (f, c), v in level.items()
            for y in range(s_out + 1, s_last + 1)
        ]
        if rows:
            parts.append(pd.DataFrame(rows))

    # capital refresh after the outturn: each asset chain (force x refresh category) continues
    # from its latest purchase, actual refreshes included, priced at the observed refresh cost
    capital = outturn[outturn["kind"] == "capital"]
    cats = params.refresh_categories
    observed = (
        observed_refresh_ratios(outturn, cats) if refresh_ratio is None else dict(refresh_ratio)
    )
    ratios = {**params.renewal_share, **observed}
    if params.refresh:
        rows = []
        for (force, category), price, latest in _asset_chains(capital, ratios, cats):
            life = params.asset_life[category]
            y = fy_start(latest) + life
            while y <= s_last:
                if y > s_out:
                    rows.append(
                        {
                            "force": force,
                            "financial_year": fy_label(y),
                            "category": category,
                            "kind": "capital",
                            "price_basis": f"real {pb}",
                            "nominal_gbp": np.nan,
                            "base_real_gbp": price,
                            "deflator_factor": 1.0,
                            "basis": "refresh",
                        }
                    )
                y += life
        if rows:
            parts.append(pd.DataFrame(rows))

    lines = pd.concat(parts, ignore_index=True)
    lines["asset_year"] = lines["financial_year"]
    lines = apply_optimism_bias(
        lines, ob_rates(params, ob_stage), apply_to_outturn=params.ob_apply_to_outturn
    )

    # straight-line residual value of the capital in service at the end of the period: an asset
    # of a refresh category replaced by a later purchase (actual or projected) leaves none
    if params.raw.get("assets", {}).get("residual_value", "straight-line") == "straight-line":
        cap = lines[lines["kind"] == "capital"]
        in_service = _in_service(cap, cats)
        cap = cap[in_service]
        lives = cap["category"].map(lambda c: params.asset_life[c]).to_numpy(dtype=float)
        used = s_last - cap["financial_year"].map(fy_start).to_numpy(dtype=float) + 1
        share = np.clip((lives - used) / lives, 0.0, None)
        keep = share > 0
        if keep.any():
            res = cap[keep].copy()
            sh = share[keep]
            res["financial_year"] = last
            res["basis"] = "residual"
            res["nominal_gbp"] = np.nan
            res["price_basis"] = f"real {pb}"
            res["deflator_factor"] = 1.0
            res["ob_rate"] = res["ob_rate"].to_numpy()
            res["base_real_gbp"] = -res["base_real_gbp"].to_numpy() * sh
            res["ob_uplift_gbp"] = -res["ob_uplift_gbp"].to_numpy() * sh
            res["adjusted_gbp"] = -res["adjusted_gbp"].to_numpy() * sh
            lines = pd.concat([lines, res], ignore_index=True)

    # in reading order (the order does not depend on the discounting applied afterwards)
    order = {"outturn": 0, "forecast": 1, "refresh": 2, "residual": 3}
    lines = lines.assign(_o=lines["basis"].map(order)).sort_values(
        ["financial_year", "force", "_o", "category", "kind"], kind="stable"
    )
    return lines.drop(columns="_o").reset_index(drop=True)


def _purchases(
    capital: pd.DataFrame, categories: Sequence[str]
) -> Iterator[tuple[tuple[str, str], list[str], np.ndarray]]:
    """Yield ((force, category), purchase years, real spend) for refresh-category capital."""
    cap = capital[capital["category"].isin(list(categories))]
    if cap.empty:
        return
    spend = cap.groupby(["force", "category", "financial_year"], sort=True)["base_real_gbp"].sum()
    spend = spend[spend > 0]
    current: tuple[str, str] | None = None
    years: list[str] = []
    values: list[float] = []
    index: list[tuple[object, object, object]] = list(spend.index)
    for (force, category, year), value in zip(index, spend.to_numpy(dtype=float), strict=True):
        key = (str(force), str(category))
        if key != current:
            if current is not None:
                yield current, years, np.asarray(values, dtype=float)
            current, years, values = key, [], []
        years.append(str(year))
        values.append(float(value))
    if current is not None:
        yield current, years, np.asarray(values, dtype=float)


def observed_refresh_ratios(
    outturn: pd.DataFrame, categories: Sequence[str] = REFRESH_CATEGORIES
) -> dict[str, float]:
    """Return the ledger's observed refresh cost as a share of the purchase it replaced.

    In a refresh category (equipment, licences) a force's capital purchases in successive
    financial years form one asset chain: the first is the set-up, each later one an actual
    refresh replacing the one before. The ratio pools every actual refresh of the category over
    the purchases they replaced (sum over sum, so large forces weigh by their spend). Categories
    without an actual refresh in the ledger get no entry (a projected refresh then costs the
    latest purchase times ``assets.renewal_share`` of the category, 1 if not given).

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"force": ["A", "A", "B"], "financial_year": ["2022-23", "2025-26",
    ...     "2023-24"], "category": "equipment", "kind": "capital",
    ...     "base_real_gbp": [400.0, 300.0, 200.0]})
    >>> observed_refresh_ratios(out)
    {'equipment': 0.75}
    """
    capital = outturn[outturn["kind"] == "capital"]
    num: dict[str, float] = {}
    den: dict[str, float] = {}
    for (_, category), _years, values in _purchases(capital, categories):
        if len(values) >= 2:
            num[category] = num.get(category, 0.0) + float(values[1:].sum())
            den[category] = den.get(category, 0.0) + float(values[:-1].sum())
    return {c: num[c] / den[c] for c in sorted(num) if den[c] > 0}


def _asset_chains(
    capital: pd.DataFrame, ratios: Mapping[str, float], categories: Sequence[str]
) -> Iterator[tuple[tuple[str, str], float, str]]:
    """Yield ((force, category), price of the next refresh, year of the latest purchase).

    The next refresh replaces the latest purchase. Its price is that purchase when it was
    itself an actual refresh (the observed refresh cost), else the set-up cost times the
    category's observed refresh ratio (else its renewal share; 1 when neither is known).
    """
    for key, years, values in _purchases(capital, categories):
        latest_year, latest = years[-1], float(values[-1])
        price = latest if len(values) >= 2 else latest * ratios.get(key[1], 1.0)
        yield key, price, latest_year


def _in_service(capital_lines: pd.DataFrame, categories: Sequence[str]) -> np.ndarray:
    """Flag capital lines still in service at the end of the period.

    In a refresh category only the latest purchase of each force's asset chain is in service
    (earlier ones were replaced); capital of other categories (fit-out, accreditation,
    training) is never replaced, so every purchase stays in service until its life ends.
    """
    refresh = capital_lines["category"].isin(list(categories)).to_numpy()
    latest = capital_lines.groupby(["force", "category"])["financial_year"].transform("max")
    is_latest = (capital_lines["financial_year"] == latest).to_numpy()
    return ~refresh | is_latest
