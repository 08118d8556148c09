"""A small, thread-safe memo for the appraisal's repeated table building.

Sensitivity, switching values, scenarios and the dashboard's what-if recompute the appraisal
many times with one input changed. Most inputs (unit values, effects, the discount rate) leave
the undiscounted cost lines unchanged, so those are memoised by a digest of everything they are
built from: the ledger's contents and the parameter sections they can read. Entries are
returned as copies, so a caller can never change a memoised table.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import pandas as pd

__all__ = ["frame_digest", "memoised", "sections_digest"]

_SIZE = 256
_ENTRIES: OrderedDict[Hashable, pd.DataFrame] = OrderedDict()
_LOCK = threading.Lock()


def frame_digest(frame: pd.DataFrame) -> str:
    """Return a digest of a frame's values, index, column names and dtypes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def sections_digest(raw: Mapping[str, Any], exclude: frozenset[str]) -> str:
    """Return a digest of a parameter document without the ``exclude`` sections."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, Mapping):
            return {str(k): plain(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [plain(v) for v in obj]
        return obj

    kept = {k: plain(v) for k, v in raw.items() if k not in exclude}
    text = json.dumps(kept, sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def memoised(key: Hashable, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Return a copy of the frame memoised under ``key``, building it on first use."""
    with _LOCK:
        hit = _ENTRIES.get(key)
        if hit is not None:
            _ENTRIES.move_to_end(key)
            return hit.copy()
    made = build()
    with _LOCK:
        _ENTRIES[key] = made.copy()
        while len(_ENTRIES) > _SIZE:
            _ENTRIES.popitem(last=False)
    return made


def clear() -> None:
    """Forget every memoised table."""
    with _LOCK:
        _ENTRIES.clear()
