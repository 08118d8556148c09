"""What the machine offers a heavy computation: the memory it may use.

:func:`default_memory_limit` is the memory budget of the case-level aggregation
(:func:`evaluation.cases.aggregate_cases`) when none is given: a share of the memory available
now (``MemAvailable`` of ``/proc/meminfo``, lowered to a container's cgroup limit), so the
aggregation stays within what the machine can give it whatever the size of the input. DuckDB
spills to disk beyond the budget.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "MEMORY_CEILING",
    "MEMORY_FLOOR",
    "MEMORY_SHARE",
    "available_memory",
    "default_memory_limit",
]

#: Share of the available memory given to an aggregation by default.
MEMORY_SHARE = 0.25
#: Bounds of the default budget, in bytes: at least 256 MiB (below that DuckDB spills even on
#: small inputs), at most 1 GiB (the aggregation streams; more memory does not make it faster).
MEMORY_FLOOR = 256 * 2**20
MEMORY_CEILING = 2**30


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024  # kB
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Memory left under a cgroup v2 limit (``memory.max - memory.current``), if any."""
    try:
        limit = (root / "memory.max").read_text(encoding="ascii").strip()
        current = (root / "memory.current").read_text(encoding="ascii").strip()
    except OSError:
        return None
    if not limit.isdigit() or not current.isdigit():
        return None  # "max": no limit
    return max(int(limit) - int(current), 0)


def available_memory() -> int | None:
    """Return the bytes of memory available to this process now, or None if unknown.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux), lowered to the headroom under a cgroup v2
    memory limit; elsewhere half the physical memory (``os.sysconf``).
    """
    found = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    if found:
        return min(found)
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size // 2 if pages > 0 and size > 0 else None


def default_memory_limit(available: int | None = None) -> str:
    """Return the default DuckDB memory limit, e.g. ``"1024MiB"``.

    ``MEMORY_SHARE`` of ``available`` (default: :func:`available_memory`), kept between
    ``MEMORY_FLOOR`` and ``MEMORY_CEILING``; the floor when the available memory is unknown.

    Examples
    --------
    >>> default_memory_limit(available=2 * 2**30)
    '512MiB'
    >>> default_memory_limit(available=64 * 2**30), default_memory_limit(available=2**20)
    ('1024MiB', '256MiB')
    """
    free = available_memory() if available is None else available
    budget = MEMORY_FLOOR if free is None else int(free * MEMORY_SHARE)
    budget = min(max(budget, MEMORY_FLOOR), MEMORY_CEILING)
    return f"{budget // 2**20}MiB"
