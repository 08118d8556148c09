"""Group-time average treatment effects ATT(g,t) with unit-level influence functions.

The private engine of :mod:`evaluation.estimators.callaway_santanna`. It follows the R ``did``
package (``compute.att_gt`` with ``panel = TRUE``) and, for the 2x2 estimators, the R ``DRDID``
package (``drdid_panel``, ``reg_did_panel``, ``std_ipw_did_panel``):

* a *cell* is one (group, period) pair: the group's units are compared with the comparison
  units on the outcome change between the cell's base period and its period;
* the base period is the group's last period before treatment (less anticipation) for
  post-treatment cells; for pre-treatment cells it is the previous period (``"varying"``) or
  also the last pre-treatment period (``"universal"``, where the reference cell is 0);
* comparison units are the never treated, or (``"notyet"``) those not yet treated by the later
  of the two periods plus the anticipation window (excluding the group itself);
* the influence function of a cell is the 2x2 estimator's, scaled by ``n / n_cell`` and zero
  for units outside the cell, so that ``sqrt(sum psi^2) / n`` is the analytic standard error.

The unconditional estimator (no covariates) is a difference of four means; it is computed for
all cells at once on the units-by-periods matrix (no loop over units or cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.errors import EstimationError

__all__: list[str] = []  # private module: see callaway_santanna.py

_TRIM_LEVEL = 0.995  # DRDID's default trimming of control propensity scores
_OVERLAP_LEVEL = 0.999  # R did (compute.att_gt): a preliminary score this high voids a cell


@dataclass(frozen=True)
class Cells:
    """The (group, period) cells of a fit, as parallel arrays of length K."""

    group: np.ndarray  # cohort code of the cell's group
    time: np.ndarray  # period code of the cell
    cur: np.ndarray  # column index of the cell's period
    base: np.ndarray  # column index of the base period
    threshold: np.ndarray  # not-yet-treated threshold period code (inf for never-treated)
    reference: np.ndarray  # universal base period reference cell (ATT fixed at 0)

    @property
    def post(self) -> np.ndarray:
        """Whether each cell is post-treatment (``group <= time``)."""
        return self.group <= self.time

    def __len__(self) -> int:
        return len(self.group)


def build_cells(
    times: np.ndarray,
    groups: np.ndarray,
    *,
    control: str,
    anticipation: int,
    base_period: str,
) -> tuple[Cells, list[float]]:
    """Lay out the cells as R ``did`` does; return them and the groups dropped for no pre-period."""
    rows: list[tuple[float, float, int, int, float, bool]] = []
    dropped: list[float] = []
    n_t = len(times)
    for g in groups:
        pre = np.flatnonzero(times + anticipation < g)
        if len(pre) == 0:
            dropped.append(float(g))
            continue
        pret = int(pre[-1])
        if base_period == "varying":
            for t_i in range(n_t - 1):
                cur = t_i + 1
                base = pret if g <= times[cur] else t_i
                rows.append((g, times[cur], cur, base, times[max(cur, base)], False))
        else:
            for cur in range(n_t):
                rows.append((g, times[cur], cur, pret, times[max(cur, pret)], cur == pret))
    if not rows:
        none = np.empty(0)
        empty_cells = Cells(
            none,
            none,
            none.astype(np.int64),
            none.astype(np.int64),
            none,
            reference=np.empty(0, dtype=bool),
        )
        return empty_cells, dropped
    g_col, t_col, cur_col, base_col, thr_col, ref_col = zip(*rows, strict=True)
    threshold = np.asarray(thr_col, dtype=float)
    if control == "never":
        threshold = np.full(len(rows), np.inf)
    return (
        Cells(
            group=np.asarray(g_col, dtype=float),
            time=np.asarray(t_col, dtype=float),
            cur=np.asarray(cur_col, dtype=np.int64),
            base=np.asarray(base_col, dtype=np.int64),
            threshold=threshold,
            reference=np.asarray(ref_col, dtype=bool),
        ),
        dropped,
    )


def cell_masks(
    cohort: np.ndarray, cells: Cells, anticipation: int
) -> tuple[np.ndarray, np.ndarray]:
    """Treated-group and comparison-unit masks, each units x cells (boolean)."""
    treated = cohort[:, None] == cells.group[None, :]
    never = ~np.isfinite(cohort)
    not_yet = (cohort[:, None] > cells.threshold[None, :] + anticipation) & ~treated
    comparison = never[:, None] | (np.isfinite(cells.threshold)[None, :] & not_yet)
    return treated, comparison


def att_unconditional(
    Y: np.ndarray, cohort: np.ndarray, cells: Cells, anticipation: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ATT(g,t) and influence functions of all cells at once (difference of four means).

    Parameters
    ----------
    Y
        Outcome, units x periods (NaN where a unit-period is absent).
    cohort
        Cohort code per unit (``inf`` never treated).
    cells
        The cells from :func:`build_cells`.
    anticipation
        Anticipation periods.

    Returns
    -------
    att, influence, n_cell
        Shapes (K,), (n, K), (K,): ``influence`` is zero outside each cell and scaled so that
        ``sqrt((influence**2).sum(0)) / n`` is the analytic standard error.
    """
    n = Y.shape[0]
    treated, comparison = cell_masks(cohort, cells, anticipation)
    dy = Y[:, cells.cur] - Y[:, cells.base]
    observed = np.isfinite(dy)
    if not observed.all():  # unbalanced: each cell uses units seen in both of its periods
        treated &= observed
        comparison &= observed
        dy = np.where(observed, dy, 0.0)
    n_g = treated.sum(axis=0)
    n_c = comparison.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_g = np.where(treated, dy, 0.0).sum(axis=0) / n_g
        mu_c = np.where(comparison, dy, 0.0).sum(axis=0) / n_c
        att = mu_g - mu_c
        psi = n * (
            np.where(treated, dy - mu_g, 0.0) / n_g - np.where(comparison, dy - mu_c, 0.0) / n_c
        )
    bad = (n_g == 0) | (n_c == 0)
    att[bad] = np.nan
    psi[:, bad] = np.nan
    att[cells.reference] = 0.0
    psi[:, cells.reference] = 0.0
    return att, psi, n_g + n_c


# ---------------------------------------------------------------------------- with covariates
def _logit(X: np.ndarray, d: np.ndarray, context: str) -> np.ndarray:
    """Fitted probabilities of a logit of ``d`` on ``X`` (maximum likelihood, Newton steps)."""
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        eta = np.clip(X @ beta, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1.0 - p)
        grad = X.T @ (d - p)
        hess = X.T @ (w[:, None] * X)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as err:
            raise EstimationError(
                f"{context}: the propensity-score design is singular (collinear covariates or "
                "no variation); remove or rescale covariates"
            ) from err
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1.0 + np.max(np.abs(beta))):
            break
    eta = np.clip(X @ beta, -35.0, 35.0)
    return 1.0 / (1.0 + np.exp(-eta))


def overlap_violated(X: np.ndarray, d: np.ndarray) -> bool:
    """Whether R ``did``'s overlap check fails for one cell (``ipw`` and ``dr`` only).

    R ``did`` (``compute.att_gt``) fits a preliminary unweighted logit of the group indicator on
    the cell's covariates (with intercept) and sets ATT(g,t) to missing, with the warning
    "overlap condition violated", when the largest fitted propensity score is at least 0.999.
    Under complete separation the maximum-likelihood estimate does not exist and the fitted
    scores tend to 1: that is a violation too.
    """
    beta = np.zeros(X.shape[1])
    p = np.full(len(d), 0.5)
    for _ in range(100):
        eta = np.clip(X @ beta, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-eta))
        if p.max() >= _OVERLAP_LEVEL and _separated(X, d, beta):
            return True
        hess = X.T @ ((p * (1.0 - p))[:, None] * X)
        try:
            step = np.linalg.solve(hess, X.T @ (d - p))
        except np.linalg.LinAlgError:
            return bool(p.max() >= _OVERLAP_LEVEL)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1.0 + np.max(np.abs(beta))):
            break
    eta = np.clip(X @ beta, -35.0, 35.0)
    return bool((1.0 / (1.0 + np.exp(-eta))).max() >= _OVERLAP_LEVEL)


def _separated(X: np.ndarray, d: np.ndarray, beta: np.ndarray) -> bool:
    """Whether ``beta`` separates the groups completely (every score on its own side of 0.5)."""
    eta = X @ beta
    return bool(np.all(eta[d == 1] > 0) and np.all(eta[d == 0] < 0))


def _inverse(matrix: np.ndarray, context: str, what: str) -> np.ndarray:
    if not np.all(np.isfinite(matrix)) or np.linalg.cond(matrix) > 1e12:
        raise EstimationError(
            f"{context}: the {what} design is singular or ill-conditioned (collinear covariates, "
            "or a covariate without variation in the cell); remove or rescale covariates"
        )
    return np.linalg.inv(matrix)


def att_2x2(
    dy: np.ndarray, d: np.ndarray, X: np.ndarray, estimation: str, context: str
) -> tuple[float, np.ndarray]:
    """One panel 2x2 ATT and its influence function (R ``DRDID``, unit weights).

    Parameters
    ----------
    dy
        Outcome change (period minus base period) per unit of the cell.
    d
        1 for the group's units, 0 for comparison units.
    X
        Covariates with a leading intercept column.
    estimation
        ``"reg"`` (``reg_did_panel``), ``"ipw"`` (``std_ipw_did_panel``, normalised weights) or
        ``"dr"`` (``drdid_panel``, doubly robust with a logit propensity score and a linear
        outcome regression for the comparison units, trimmed at 0.995 as ``DRDID``).
    context
        Text naming the cell, for error messages.
    """
    n = len(d)
    ctrl = d == 0
    if estimation in ("reg", "dr"):
        Xc = X[ctrl]
        xtx = _inverse(Xc.T @ Xc / n, context, "outcome regression")
        coef = np.linalg.solve(Xc.T @ Xc, Xc.T @ dy[ctrl])
        out_delta = X @ coef
        resid = np.where(ctrl, dy - out_delta, 0.0)
        lin_ols = (resid[:, None] * X) @ xtx  # asymptotic linear representation of the OLS
    if estimation == "reg":
        w_treat = d
        eta_t = np.mean(w_treat * dy) / np.mean(w_treat)
        eta_c = np.mean(w_treat * out_delta) / np.mean(w_treat)
        inf_treat = (w_treat * dy - w_treat * eta_t) / np.mean(w_treat)
        inf_c1 = w_treat * out_delta - w_treat * eta_c
        m1 = np.mean(w_treat[:, None] * X, axis=0)
        inf_control = (inf_c1 + lin_ols @ m1) / np.mean(w_treat)
        return float(eta_t - eta_c), inf_treat - inf_control

    ps = np.minimum(_logit(X, d, context), 1.0 - 1e-6)
    keep = np.where(ctrl, ps < _TRIM_LEVEL, ps < 1.01).astype(float)
    w_treat = keep * d
    w_cont = keep * ps * (1.0 - d) / (1.0 - ps)
    if np.mean(w_cont) <= 0:
        raise EstimationError(f"{context}: no comparison units left after propensity trimming")
    hess_ps = _inverse(X.T @ ((ps * (1.0 - ps))[:, None] * X), context, "propensity-score") * n
    lin_ps = ((d - ps)[:, None] * X) @ hess_ps
    if estimation == "ipw":
        eta_t = np.mean(w_treat * dy) / np.mean(w_treat)
        eta_c = np.mean(w_cont * dy) / np.mean(w_cont)
        inf_treat = (w_treat * dy - w_treat * eta_t) / np.mean(w_treat)
        inf_c1 = w_cont * dy - w_cont * eta_c
        m2 = np.mean((w_cont * (dy - eta_c))[:, None] * X, axis=0)
        inf_control = (inf_c1 + lin_ps @ m2) / np.mean(w_cont)
        return float(eta_t - eta_c), inf_treat - inf_control
    # doubly robust (drdid_panel)
    r = dy - out_delta
    eta_t = np.mean(w_treat * r) / np.mean(w_treat)
    eta_c = np.mean(w_cont * r) / np.mean(w_cont)
    inf_t1 = w_treat * r - w_treat * eta_t
    m1 = np.mean(w_treat[:, None] * X, axis=0)
    inf_treat = (inf_t1 - lin_ols @ m1) / np.mean(w_treat)
    inf_c1 = w_cont * r - w_cont * eta_c
    m2 = np.mean((w_cont * (r - eta_c))[:, None] * X, axis=0)
    m3 = np.mean(w_cont[:, None] * X, axis=0)
    inf_control = (inf_c1 + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_cont)
    return float(eta_t - eta_c), inf_treat - inf_control


def att_covariates(
    Y: np.ndarray,
    X: np.ndarray,
    cohort: np.ndarray,
    cells: Cells,
    anticipation: int,
    estimation: str,
    labels: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """ATT(g,t) with covariates, cell by cell (outputs of :func:`att_unconditional`, and more).

    ``X`` is units x periods x covariates; each cell uses the covariates of the earlier of its
    two periods (as R ``did``, whose panel reshaping keeps the first period's row). With
    ``"ipw"`` and ``"dr"`` a cell that fails R ``did``'s overlap check
    (:func:`overlap_violated`) is left missing (ATT and influence function NaN, as R); the
    fourth output lists the labels of those cells.
    """
    n, _ = Y.shape
    treated, comparison = cell_masks(cohort, cells, anticipation)
    K = len(cells)
    att = np.full(K, np.nan)
    psi = np.zeros((n, K))
    n_cell = np.zeros(K, dtype=np.int64)
    no_overlap: list[str] = []
    for k in range(K):
        if cells.reference[k]:
            att[k] = 0.0
            continue
        cur, base = cells.cur[k], cells.base[k]
        dy = Y[:, cur] - Y[:, base]
        xk = X[:, min(cur, base), :]
        use = (treated[:, k] | comparison[:, k]) & np.isfinite(dy) & np.isfinite(xk).all(axis=1)
        d = treated[use, k].astype(float)
        n_cell[k] = int(use.sum())
        if d.sum() == 0 or (1 - d).sum() == 0:
            psi[:, k] = np.nan
            continue
        design = np.column_stack([np.ones(int(use.sum())), xk[use]])
        if estimation in ("ipw", "dr") and overlap_violated(design, d):
            psi[:, k] = np.nan
            no_overlap.append(labels[k])
            continue
        est, inf = att_2x2(dy[use], d, design, estimation, labels[k])
        att[k] = est
        psi[use, k] = (n / n_cell[k]) * inf
    return att, psi, n_cell, no_overlap
