"""Server-side, per-user working data: which panel, register and ledger each user works on.

Uploaded files that passed validation are kept once, named by the SHA-256 of their bytes, under
``<data_dir>/tables``; each user's choice is a small record in a file-system store
(:mod:`diskcache`, shared by every worker process) keyed by the authenticated user name. Nothing
per user lives in module globals. A data set is identified by a *token* naming the three files'
digests: background jobs and result caches are keyed by it, so equal inputs share results.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "KINDS",
    "DatasetRef",
    "TableKind",
    "TableRef",
    "UserStore",
    "open_cache",
    "parse_token",
]

TableKind = Literal["panel", "register", "ledger"]
KINDS: tuple[TableKind, ...] = ("panel", "register", "ledger")
_EXTENSIONS = (".csv", ".xlsx", ".parquet")
_FILE_RE = re.compile(r"^[0-9a-f]{64}\.(csv|xlsx|parquet)$")


@dataclass(frozen=True)
class TableRef:
    """One stored input file: its digest, extension and the name the user gave it."""

    digest: str
    ext: str
    name: str

    @property
    def file(self) -> str:
        """File name in the table store (``<sha256><ext>``)."""
        return f"{self.digest}{self.ext}"


@dataclass(frozen=True)
class DatasetRef:
    """The three tables a user works on."""

    panel: TableRef
    register: TableRef
    ledger: TableRef

    @property
    def token(self) -> str:
        """A string naming the three files (safe to send to the browser and back)."""
        return ",".join(t.file for t in (self.panel, self.register, self.ledger))

    def table(self, kind: TableKind) -> TableRef:
        """Return the table of ``kind``."""
        return {"panel": self.panel, "register": self.register, "ledger": self.ledger}[kind]


def parse_token(token: str) -> tuple[str, str, str]:
    """Return the three file names of a data set token, refusing anything else.

    Raises
    ------
    ValueError
        If the token is not three ``<sha256>.<ext>`` names (no paths can be smuggled in).
    """
    parts = tuple(str(token).split(","))
    if len(parts) != 3 or not all(_FILE_RE.match(p) for p in parts):
        raise ValueError("not a data set token")
    return parts[0], parts[1], parts[2]


_HANDLES: dict[tuple[int, str], Any] = {}
_HANDLES_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    """Give a forked process its own lock and no inherited handles.

    Background jobs are forked from a threaded server: if another request thread held the lock at
    that moment, the child would inherit it held and wait for it forever.
    """
    global _HANDLES_LOCK
    _HANDLES_LOCK = threading.Lock()
    _HANDLES.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def open_cache(directory: Path) -> Any:
    """Return this process's handle on the file-system cache in ``directory``.

    One handle per process and directory (diskcache handles are thread-safe; a handle is not
    carried across a fork): opening a cache for every request contends for its database.
    """
    import diskcache

    key = (os.getpid(), str(directory))
    with _HANDLES_LOCK:
        handle = _HANDLES.get(key)
        if handle is None:
            handle = diskcache.Cache(str(directory), size_limit=2**30, timeout=120)
            _HANDLES[key] = handle
    return handle


class UserStore:
    """Files and per-user records under ``root`` (safe across processes)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tables = self.root / "tables"
        self.tables.mkdir(parents=True, exist_ok=True)
        self._records_dir = self.root / "users"

    def _records(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext(open_cache(self._records_dir))

    def put_bytes(self, data: bytes, ext: str, name: str) -> TableRef:
        """Store file bytes under their digest (once) and return the reference."""
        ext = ext.lower()
        if ext not in _EXTENSIONS:
            raise ValueError(f"extension must be one of {', '.join(_EXTENSIONS)}, got {ext!r}")
        digest = hashlib.sha256(data).hexdigest()
        target = self.tables / f"{digest}{ext}"
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=self.tables, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return TableRef(digest, ext, name)

    def put_file(self, path: Path) -> TableRef:
        """Store a file from disk (the bundled data) and return the reference."""
        ref = self.put_bytes(path.read_bytes(), path.suffix, path.name)
        return ref

    def path(self, file: str) -> Path:
        """Return the path of a stored file named ``<sha256><ext>``."""
        if not _FILE_RE.match(file):
            raise ValueError("not a stored table name")
        return self.tables / file

    def dataset(self, user: str, default: DatasetRef) -> DatasetRef:
        """Return the user's working data set (``default`` for tables never uploaded)."""
        with self._records() as db:
            record = db.get(("user", user), {})
        tables = {k: TableRef(**record[k]) if k in record else default.table(k) for k in KINDS}
        return DatasetRef(tables["panel"], tables["register"], tables["ledger"])

    def set_table(self, user: str, kind: TableKind, ref: TableRef) -> None:
        """Make ``ref`` the user's table of ``kind``."""
        with self._records() as db, db.transact():
            record = dict(db.get(("user", user), {}))
            record[kind] = {"digest": ref.digest, "ext": ref.ext, "name": ref.name}
            db.set(("user", user), record)

    def reset(self, user: str) -> None:
        """Forget the user's uploads (back to the bundled data)."""
        with self._records() as db:
            db.delete(("user", user))

    def clear(self) -> None:
        """Remove every stored file and record (tests)."""
        shutil.rmtree(self.root, ignore_errors=True)
