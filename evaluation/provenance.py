"""Provenance for reproducible, auditable outputs (Aqua Book spirit).

Every output records the SHA-256 of its inputs, the parameters, the seed and the toolkit version,
so the same inputs and seed can be shown to give the same figures.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "manifest"]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def manifest(
    inputs: Mapping[str, str | Path],
    *,
    parameters: Mapping[str, Any] | None = None,
    seed: int | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """Return a provenance record: inputs with hashes, parameters, seed, versions.

    Input paths are recorded by file name only (no machine paths).
    """
    from evaluation import __version__

    return {
        "toolkit": "pathfinder",
        "version": __version__,
        "python": platform.python_version(),
        "created": (created or datetime.now(UTC)).isoformat(timespec="seconds"),
        "seed": seed,
        "inputs": {
            name: {"file": Path(p).name, "sha256": file_sha256(p)} for name, p in inputs.items()
        },
        "parameters": dict(parameters or {}),
    }
