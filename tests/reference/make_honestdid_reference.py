"""Make the HonestDiD reference numbers in ``tests/reference/honestdid_rm.json``.

Runs the Python port ``honestdid`` 0.1.1 (PyPI; a line-by-line port of the R package
HonestDiD's ``createSensitivityResults_relativeMagnitudes`` and ``createSensitivityResults``)
on the constructed event studies below (numpy 2.2: the port converts 1 x 1 arrays
with ``float()``, which numpy 2.4 refuses). It needs torch and cvxpy, which are NOT project
dependencies: run it in a throwaway virtual environment, e.g.

    python -m venv /tmp/hd-venv
    /tmp/hd-venv/bin/pip install torch==2.13.0 honestdid==0.1.1 numpy==2.2.6 pandas==2.2.3
    /tmp/hd-venv/bin/python tests/reference/make_honestdid_reference.py

The cases are written out in full in the JSON file (betahat, sigma, n_pre, l_vec), so the
tests do not depend on this script.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def _sigma(k: int, scale: float, rho: float, seed: int) -> np.ndarray:
    """A fixed positive-definite covariance: AR(1)-style correlation plus a small random part."""
    rng = np.random.default_rng(seed)
    idx = np.arange(k)
    corr = rho ** np.abs(idx[:, None] - idx[None, :])
    b = rng.normal(size=(k, k)) * 0.1
    s = corr + b @ b.T
    d = np.sqrt(np.diag(s))
    return (scale**2) * s / np.outer(d, d)


CASES = {
    # no-nuisance path (one post period)
    "pre4_post1": {
        "betahat": [0.01, -0.02, 0.015, -0.01, 0.07],
        "sigma": _sigma(5, 0.015, 0.4, 3),
        "n_pre": 4,
        "l_vecs": {"first": [1.0]},
    },
    # nuisance-parameter path (two or three post periods)
    "pre2_post3": {
        "betahat": [-0.04, 0.02, 0.30, 0.45, 0.50],
        "sigma": _sigma(5, 0.10, 0.3, 2),
        "n_pre": 2,
        "l_vecs": {"average": [1 / 3, 1 / 3, 1 / 3]},
    },
    "pre3_post2": {
        "betahat": [0.012, -0.018, 0.009, 0.085, 0.120],
        "sigma": _sigma(5, 0.02, 0.5, 1),
        "n_pre": 3,
        "l_vecs": {"average": [0.5, 0.5], "first": [1.0, 0.0]},
    },
}
MBARS = [0.0, 0.5, 1.0, 2.0]
METHODS = {"C-LF": "C-LF", "Conditional": "Conditional"}


def main() -> None:
    import honestdid as hd  # only available in the throwaway environment

    path = Path(__file__).resolve().parent / "honestdid_rm.json"
    out: dict[str, object] = {
        "source": "honestdid 0.1.1 (PyPI), createSensitivityResults_relativeMagnitudes, "
        "defaults gridPoints=1000, alpha=0.05, seed=0",
        "python": sys.version.split()[0],
        "cases": {},
    }
    for name, case in CASES.items():
        beta = np.asarray(case["betahat"], dtype=float)
        sigma = np.asarray(case["sigma"], dtype=float)
        n_pre = int(case["n_pre"])
        n_post = beta.size - n_pre
        entry: dict[str, object] = {
            "betahat": beta.tolist(),
            "sigma": sigma.tolist(),
            "n_pre": n_pre,
            "results": [],
        }
        for lname, lv in case["l_vecs"].items():
            for method in METHODS:
                t0 = time.time()
                res = hd.createSensitivityResults_relativeMagnitudes(
                    betahat=beta,
                    sigma=sigma,
                    numPrePeriods=n_pre,
                    numPostPeriods=n_post,
                    l_vec=np.asarray(lv),
                    Mbarvec=MBARS,
                    method=method,
                )
                for row in res.itertuples():
                    entry["results"].append(  # type: ignore[attr-defined]
                        {
                            "l_vec": lname,
                            "l": list(lv),
                            "method": method,
                            "mbar": float(row.Mbar),
                            "lb": float(row.lb),
                            "ub": float(row.ub),
                        }
                    )
                print(name, lname, method, f"{time.time() - t0:.1f}s", flush=True)
                print(res, flush=True)
                out["cases"][name] = entry  # type: ignore[index]
                # written after every run: the slow cases can be left to finish later
                path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
