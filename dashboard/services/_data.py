"""Data sets: the bundled data, uploads checked by the library's loaders, typed tables."""

from __future__ import annotations

import base64
import binascii
import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.security import UploadRejected, check_xlsx_archive, expansion_limit
from dashboard.store import KINDS, DatasetRef, TableKind, UserStore, parse_token


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
