r"""Write output files and folders atomically, and never over an input.

An interrupted command (Ctrl-C, a full disk, a crash) must leave either the previous complete
set of outputs or the new complete set, never a mix that looks complete. Every command that
writes outputs uses these helpers:

* :func:`atomic_output_dir` for a folder of outputs (``run``, a report): the files are written
  into a temporary sibling folder, and only when the block ends without an error is that folder
  moved into place (the old set is moved aside first and then deleted). Write the manifest
  last, so a folder with a manifest is always complete.
* :func:`atomic_output_file` for a single file (``ingest --out panel.parquet``): written to a
  temporary sibling and renamed over the target.
* :func:`check_output_dir` / :func:`check_output_file` run the same checks up front, so a
  command can refuse a bad ``--out`` *before* it computes anything.

Refused, with :class:`~evaluation.errors.ConfigError` (exit code 2): an output that is one of
the inputs, or a folder holding an input; a path that is a symbolic link (nothing is written
through a link); a file where a folder is expected and the reverse; a folder whose parent does
not exist or cannot be written; an existing folder that is not a previous Pathfinder output set
(it would be replaced as a whole, so only empty folders or folders with a Pathfinder
``manifest.json`` are replaced).

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_output_dir(root / "latest") as tmp:
...     _ = (tmp / "effects.csv").write_text("metric,estimate\\n")
...     _ = (tmp / "manifest.json").write_text('{"toolkit": "pathfinder"}')
>>> sorted(p.name for p in (root / "latest").iterdir())
['effects.csv', 'manifest.json']
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from evaluation.errors import ConfigError

__all__ = [
    "MANIFEST",
    "atomic_output_dir",
    "atomic_output_file",
    "check_output_dir",
    "check_output_file",
]

#: The file a complete output set ends with (written last).
MANIFEST = "manifest.json"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _within(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:  # pragma: no cover - resolve() does not raise on Linux
        return False


def _check_parent(final: Path, what: str, *, create: bool) -> None:
    """Refuse a parent folder that is missing (unless ``create``) or cannot be written."""
    parent = final.parent
    if not parent.exists():
        if not create:
            raise ConfigError(f"{what} {final}: the folder {parent} does not exist")
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} {final}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {final}: the folder {parent} cannot be written (permissions)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_pathfinder_set(folder: Path) -> bool:
    manifest = folder / MANIFEST
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("toolkit") == "pathfinder"


def check_output_dir(final: str | Path, *, inputs: Sequence[str | Path] = ()) -> Path:
    """Check that ``final`` can receive a set of outputs; return it as a :class:`Path`.

    Raises
    ------
    ConfigError
        See the module docstring for what is refused.
    """
    final = Path(final)
    what = "output folder"
    if final.is_symlink():
        raise ConfigError(f"{what} {final} is a symbolic link; give the real folder")
    if final.exists() and not final.is_dir():
        raise ConfigError(f"{what} {final} is a file, not a folder")
    for item in inputs:
        p = Path(item)
        if _same(p, final) or _within(p, final):
            raise ConfigError(
                f"{what} {final} holds the input {p.name}: outputs never replace inputs; "
                "choose another folder"
            )
    _check_parent(final, what, create=True)
    if final.exists():
        if not os.access(final, os.W_OK | os.X_OK):
            raise ConfigError(f"{what} {final} cannot be written (permissions)")
        if any(final.iterdir()) and not _is_pathfinder_set(final):
            raise ConfigError(
                f"{what} {final} already holds files that are not a Pathfinder output set "
                f"(no {MANIFEST} from pathfinder); the folder is replaced as a whole, so give "
                "a new or empty folder"
            )
    return final


def check_output_file(
    final: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
    suffixes: Sequence[str] | None = None,
    create_parents: bool = False,
) -> Path:
    """Check that a single output file can be written at ``final``; return it.

    Raises
    ------
    ConfigError
        An unsupported extension (when ``suffixes`` is given), a folder or a symbolic link at
        ``final``, an input at ``final``, or a parent folder that is read-only or missing
        (missing folders are allowed with ``create_parents``: they are made when writing).
    """
    final = Path(final)
    what = "output file"
    if suffixes is not None and final.suffix.lower() not in suffixes:
        raise ConfigError(f"{what} {final} must end in {' or '.join(suffixes)}")
    if final.is_symlink():
        raise ConfigError(f"{what} {final} is a symbolic link; give the real file")
    if final.is_dir():
        raise ConfigError(f"{what} {final} is a folder, not a file")
    for item in inputs:
        if _same(Path(item), final):
            raise ConfigError(f"{what} {final} is an input: outputs never replace inputs")
    _check_parent(final, what, create=create_parents)
    if final.exists() and not os.access(final, os.W_OK):
        raise ConfigError(f"{what} {final} cannot be written (read-only)")
    return final


@contextmanager
def atomic_output_dir(final: str | Path, *, inputs: Sequence[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder; move it to ``final`` when the block ends without an error.

    Parameters
    ----------
    final
        The output folder. An existing Pathfinder output set there is replaced as a whole.
    inputs
        Input files: refused as (or inside) the output.

    Yields
    ------
    Path
        An empty temporary folder beside ``final``: write every output into it, the manifest
        last. On any exception (Ctrl-C included) it is deleted and ``final`` is left as it was.
    """
    final = check_output_dir(final, inputs=inputs)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # as a plain mkdir would (mkdtemp makes it private)
    try:
        yield tmp
        check_output_dir(final, inputs=inputs)  # nothing changed under us meanwhile
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_output_file(
    final: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
    suffixes: Sequence[str] | None = None,
    create_parents: bool = False,
) -> Iterator[Path]:
    """Yield a temporary file path beside ``final``; rename it over ``final`` on success.

    On any exception the temporary file is removed and ``final`` is left as it was. See
    :func:`check_output_file` for what is refused.
    """
    final = check_output_file(
        final, inputs=inputs, suffixes=suffixes, create_parents=create_parents
    )
    if create_parents:
        final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.partial-", suffix=final.suffix,
                                dir=final.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        check_output_file(final, inputs=inputs, suffixes=suffixes)  # nothing changed meanwhile
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
