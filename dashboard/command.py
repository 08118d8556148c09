"""``pathfinder dashboard``: serve the analysts' dashboard (127.0.0.1:8050 by default).

Registered through the ``pathfinder.commands`` entry-point group; heavy imports happen in
:func:`run` only, so ``pathfinder --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

__all__ = ["HELP", "add_arguments", "run", "secret_key"]

HELP = "serve the analysts' dashboard in a browser (login required)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dashboard`` options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind [127.0.0.1]")
    parser.add_argument("--port", type=int, default=8050, help="port [8050]")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="server-side store of uploads and results "
        "[$PATHFINDER_DASHBOARD_DIR or ~/.cache/pathfinder-dashboard]",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=10.0, help="largest upload accepted, MB [10]"
    )
    parser.add_argument("--reps", type=int, default=999, help="bootstrap draws of the main run")
    parser.add_argument("--draws", type=int, help="Monte Carlo draws (default: parameter set's)")
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password on standard input, print its salted hash for a users file, exit",
    )


def secret_key(data_dir: Path) -> str:
    """Return ``PATHFINDER_SECRET_KEY``, or a key kept in ``data_dir`` (made once, mode 600)."""
    env = os.environ.get("PATHFINDER_SECRET_KEY", "").strip()
    if env:
        return env
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from dashboard.auth import (
        CredentialsError,
        generated_credentials,
        hash_password,
        load_credentials,
    )
    from evaluation.errors import UserError

    if args.hash_password:
        password = sys.stdin.readline().rstrip("\n")
        try:
            print(hash_password(password))
        except CredentialsError as exc:
            raise UserError(str(exc)) from exc
        return 0
    if not 0 < args.port < 65536:
        raise UserError(f"--port must be from 1 to 65535, got {args.port}")
    if args.max_upload_mb <= 0:
        raise UserError("--max-upload-mb must be positive")
    try:
        credentials = load_credentials()
    except CredentialsError as exc:
        raise UserError(str(exc)) from exc

    import threading

    from dashboard.app import DashboardConfig, create_app, default_data_dir
    from dashboard.services import AnalysisSettings, bundled_dataset, pipeline_result
    from dashboard.store import UserStore

    data_dir = args.data_dir or default_data_dir()
    login = ""
    if credentials is None:
        credentials = generated_credentials()
        user = next(iter(credentials.users))
        login = (
            f"  user: {user}\n  password: {credentials.generated_password}\n"
            "  (generated for this run only; set PATHFINDER_USER and PATHFINDER_PASSWORD, or "
            "PATHFINDER_USERS_FILE, to choose)"
        )
    else:
        login = f"  sign in with the credentials from {credentials.source}"
    settings = AnalysisSettings(reps=args.reps, draws=args.draws)
    config = DashboardConfig(
        credentials=credentials,
        data_dir=data_dir,
        secret_key=secret_key(data_dir),
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        analysis=settings,
        mc_draws=args.draws,
    )
    app = create_app(config)
    store = UserStore(data_dir)

    def _warm() -> None:  # compute the bundled analysis while the first user signs in
        try:
            pipeline_result(store, bundled_dataset(store).token, settings)
        except Exception as exc:  # pragma: no cover - reported, the page will retry
            print(f"pathfinder dashboard: warm-up failed: {exc}", file=sys.stderr)

    threading.Thread(target=_warm, daemon=True).start()
    where = f"http://{args.host}:{args.port}"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"pathfinder dashboard: WARNING: listening on {args.host}, reachable from other "
            "machines; put it behind HTTPS and single sign-on (see README)",
            file=sys.stderr,
        )
    print(f"Pathfinder dashboard serving on {where}\n{login}\n(press Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, debug=False, threaded=True)
    return 0
