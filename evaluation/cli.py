"""The ``pathfinder`` command line.

Each subcommand lives in its own module under :mod:`evaluation.commands` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their command
runs, so ``pathfinder --help`` stays fast. Exit codes: 0 ok, 2 bad input (and usage errors),
130 interrupted, 1 internal error.

Packages that sit *above* the library (the report renderer, the dashboard) add their own
subcommands through the ``pathfinder.commands`` entry-point group: the entry point's name is the
command and its value a module with ``HELP`` (one line), ``add_arguments`` and ``run``. The
library therefore never imports them by name; layers point one way.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from evaluation import __version__
from evaluation.errors import DataError, UserError

__all__ = ["COMMANDS", "PLUGIN_GROUP", "all_commands", "build_parser", "main"]

#: name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("evaluation.commands.run", "run the main job on the bundled (or given) data"),
    "validate": ("evaluation.commands.validate", "validate input files against the data contract"),
    "summary": ("evaluation.commands.summary", "summarise a force panel and pilot register"),
    "ingest": ("evaluation.commands.ingest", "aggregate case-level device records to a panel"),
    "synth": ("evaluation.commands.synth", "generate the synthetic pilot data set"),
    "estimate": (
        "evaluation.commands.estimate",
        "estimate pilot effects (difference-in-differences)",
    ),
    "appraise": ("evaluation.commands.appraise", "Green Book appraisal of costs and benefits"),
    "design": (
        "evaluation.commands.design",
        "pilot design: MDE and power at the break-even effect (simulations on Dask)",
    ),
}

#: entry-point group through which higher layers (report, dashboard) add subcommands
PLUGIN_GROUP = "pathfinder.commands"


def _plugin_commands() -> dict[str, tuple[str, str]]:
    """Subcommands registered by installed packages above the library, name -> (module, help)."""
    found: dict[str, tuple[str, str]] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        if ep.name in COMMANDS:
            continue
        module_name = ep.value.split(":", 1)[0]
        found[ep.name] = (module_name, "")
    return found


def all_commands() -> dict[str, tuple[str, str]]:
    """Built-in and plugin subcommands, name -> (module, one-line help)."""
    return {**COMMANDS, **_plugin_commands()}


EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors exit with code 2 and no traceback (argparse's own)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; with ``command``, import and attach that subcommand's arguments."""
    parser = _Parser(
        prog="pathfinder",
        description="Pathfinder: do police digital teams pay for themselves?",
    )
    parser.add_argument("--version", action="version", version=f"pathfinder {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in all_commands().items():
        module = None
        if name == command or not help_text:
            # plugin command modules keep heavy imports inside run(), so this stays cheap
            module = importlib.import_module(module_name)
            help_text = help_text or str(getattr(module, "HELP", ""))
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == command and module is not None:
            module.add_arguments(sp)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    known = all_commands()
    for token in argv:
        if token in known:
            return token
        if not token.startswith("-"):
            return None
    return None


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def _quiet_stdout() -> None:
    """Point stdout at /dev/null after a broken pipe, so exiting does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a fd
        pass


def _os_error_message(exc: OSError) -> str:
    """``cannot read panel.csv: Permission denied`` for a file-system error."""
    name = Path(str(exc.filename)).name if exc.filename else None
    reason = exc.strerror or type(exc).__name__
    hint = ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = " (the disk is full)"
    elif exc.errno == errno.EROFS:
        hint = " (a read-only file system)"
    return f"{name}: {reason}{hint}" if name else f"{reason}{hint}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pathfinder`` console script; returns the exit code.

    0 success; 2 a user mistake (bad input, bad option, a file that cannot be read or written),
    with a message naming file, row, column and value where they exist; 130 interrupted
    (Ctrl-C); 1 only for an internal error (with ``--debug``, its traceback).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command: str | None = None
    debug = "--debug" in argv
    try:
        command = _command_in(argv)
        parser = build_parser(command)
        args = parser.parse_args(argv)  # usage errors: argparse's own SystemExit(2)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        module = importlib.import_module(all_commands()[args.command][0])
        code = int(module.run(args))
        sys.stdout.flush()
        return code
    except DataError as exc:
        print(f"pathfinder {command}: invalid input\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UserError as exc:
        print(f"pathfinder {command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\npathfinder: interrupted; no output was changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        _quiet_stdout()
        return EXIT_OK
    except MemoryError:
        print(
            f"pathfinder {command}: out of memory; use fewer draws or replications, or a "
            "smaller file",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file that cannot be read or written: permissions, disk full
        if debug:
            raise
        print(f"pathfinder {command}: cannot use {_os_error_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # internal error: short message, traceback only with --debug
        if debug:
            raise
        print(
            f"pathfinder {command}: internal error: {type(exc).__name__}: {exc}\n"
            "(run again with --debug for the traceback; please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
