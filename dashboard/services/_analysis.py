"""The main analysis (the pipeline), cached on disk by data set and settings."""

from __future__ import annotations

import contextlib
import copyreg
import threading
import types
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.store import UserStore, open_cache, parse_token


@dataclass(frozen=True)
class AnalysisSettings:
    """How the main analysis runs (as ``pathfinder run``)."""

    method: str = "cs"
    inference: str | None = None
    reps: int = 999
    draws: int | None = None
    seed: int = 20260401

    def pipeline_options(self) -> dict[str, Any]:
        """Return the settings as :class:`~evaluation.pipeline.PipelineInputs` fields."""
        return {
            "method": self.method,
            "inference": self.inference,
            "reps": self.reps,
            "seed": self.seed,
            "draws": self.draws,
        }


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


_RECENT: OrderedDict[tuple[str, str, AnalysisSettings], Any] = OrderedDict()
_RECENT_SIZE = 4
_RECENT_LOCK = threading.Lock()


def pipeline_result(store: UserStore, token: str, settings: AnalysisSettings) -> Any:
    """Run (or fetch from the cache) the main job on a data set: effects and appraisal.

    The few results used last are also kept in this process, unpickled: a token names its
    tables by their contents, so a result can never go stale, and the what-if, which reads the
    effects on every change of an input, does not unpickle the whole result each time.
    """
    from evaluation.pipeline import PipelineInputs, run_pipeline

    recent = (str(store.root), token, settings)
    with _RECENT_LOCK:
        if recent in _RECENT:
            _RECENT.move_to_end(recent)
            return _RECENT[recent]
    key = ("pipeline", token, settings)
    with _cache(store) as cache:
        hit = cache.get(key)
    if hit is not None:
        _remember(recent, hit)
        return hit
    p, r, led = (store.path(f) for f in parse_token(token))
    result = run_pipeline(
        PipelineInputs(panel=p, register=r, ledger=led, **settings.pipeline_options())
    )
    with _cache(store) as cache:
        cache.set(key, result)
    _remember(recent, result)
    return result


def _remember(key: tuple[str, str, AnalysisSettings], result: Any) -> None:
    with _RECENT_LOCK:
        _RECENT[key] = result
        _RECENT.move_to_end(key)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
