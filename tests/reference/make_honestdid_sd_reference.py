"""Make the HonestDiD smoothness (Delta^SD) FLCI reference numbers in ``honestdid_sd.json``.

Runs the Python port ``honestdid`` 0.1.1 (PyPI; a port of the R package HonestDiD's
``createSensitivityResults`` with ``method = "FLCI"``, i.e. ``findOptimalFLCI``) on the same
constructed event studies as ``make_honestdid_reference.py``. The port imports torch, which is
only used as a float64 array library in the FLCI code; installing torch is not needed: this
script puts a minimal numpy stand-in for the handful of torch calls it makes (``tensor``,
``zeros``, ``eye``, ``cat``, ``arange`` and a few array methods) on the import path. Run it in
a throwaway virtual environment, e.g.

    python -m venv /tmp/hd-venv
    /tmp/hd-venv/bin/pip install honestdid==0.1.1 --no-deps
    /tmp/hd-venv/bin/pip install cvxpy ecos numpy==2.2.6 pandas scipy
    /tmp/hd-venv/bin/python tests/reference/make_honestdid_sd_reference.py

The cases are written out in full in the JSON file, so the tests do not depend on this script.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_honestdid_reference import CASES  # noqa: E402

M_GRID = [0.0, 0.01, 0.05]

TORCH_SHIM = """
import numpy as np
float64 = np.float64
float = np.float64
class Tensor(np.ndarray):
    def unsqueeze(self, dim):
        return np.expand_dims(self, dim).view(Tensor)
    def numpy(self):
        return np.asarray(self)
    def double(self):
        return self.astype(np.float64).view(Tensor)
    def dim(self):
        return self.ndim
    def numel(self):
        return self.size
    def squeeze(self, dim=None):
        return np.squeeze(np.asarray(self), axis=dim).view(Tensor)
def _t(a):
    return np.asarray(a, dtype=np.float64).view(Tensor)
def set_default_dtype(d):
    return None
def tensor(x, dtype=None):
    return _t(np.array(x, dtype=np.float64))
def zeros(*size, dtype=None):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return _t(np.zeros(size))
def eye(n, dtype=None):
    return _t(np.eye(n))
def cat(tensors, dim=0):
    return _t(np.concatenate([np.asarray(t) for t in tensors], axis=dim))
def arange(*args, dtype=None):
    return _t(np.arange(*args, dtype=np.float64))
"""


def main() -> None:
    shim = Path(tempfile.mkdtemp()) / "torch"
    shim.mkdir()
    (shim / "__init__.py").write_text(TORCH_SHIM)
    sys.path.insert(0, str(shim.parent))
    import honestdid as hd

    out: dict[str, object] = {
        "source": "honestdid 0.1.1 (PyPI), find_optimal_flci (= createSensitivityResults "
        "method='FLCI'), alpha=0.05, numPoints=100, seed=0; numpy stand-in for torch",
        "python": sys.version.split()[0],
        "m_grid": M_GRID,
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
            "flci": {},
        }
        for lname, l_vec in case["l_vecs"].items():
            rows = []
            for m in M_GRID:
                r = hd.find_optimal_flci(
                    beta,
                    sigma,
                    M=m,
                    numPrePeriods=n_pre,
                    numPostPeriods=n_post,
                    l_vec=np.asarray(l_vec, dtype=float),
                )
                rows.append(
                    {
                        "M": m,
                        "lb": float(r["FLCI"][0]),
                        "ub": float(r["FLCI"][1]),
                        "half_length": float(r["optimalHalfLength"]),
                        "optimal_vec": [float(v) for v in r["optimalVec"]],
                    }
                )
            entry["flci"][lname] = {"l_vec": list(l_vec), "rows": rows}  # type: ignore[index]
        out["cases"][name] = entry  # type: ignore[index]
    path = HERE / "honestdid_sd.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
