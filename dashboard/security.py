"""Security of the dashboard's web layer: headers, content security policy, CSRF, uploads.

* :func:`install_security` adds the headers (Flask-Talisman: a strict content security policy
  whose scripts are the app's own files plus the hashes of Dash's inline scripts, no framing by
  other sites, no sniffing, no referrer), CSRF protection of every POST (Flask-WTF; the token
  travels in a ``_csrf_token`` cookie that the Dash renderer returns as ``X-CSRFToken``) and the
  upload size limit enforced by the server (``MAX_CONTENT_LENGTH``: 413 above it).
* :func:`check_xlsx_archive` refuses an .xlsx that is not a workbook or would expand too much
  (zip bomb) before anything parses it.
* :func:`safe_csv` writes downloads with text made inert in a spreadsheet (no formula
  injection), by the library's one rule (:mod:`evaluation.safety`).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Iterable

import flask
import pandas as pd

__all__ = [
    "MAX_RATIO",
    "UploadRejected",
    "check_xlsx_archive",
    "content_security_policy",
    "install_security",
    "neutralise_formulas",
    "request_limit",
    "safe_csv",
]

#: largest compression ratio of one member of an .xlsx archive
MAX_RATIO = 100.0
#: an .xlsx may expand to at most this many times the upload limit
_EXPANSION_FACTOR = 20


class UploadRejected(ValueError):
    """An uploaded file refused before parsing (the message says why, in plain words)."""


def request_limit(max_upload_bytes: int) -> int:
    """Return the largest request body accepted for uploads of ``max_upload_bytes``.

    ``dcc.Upload`` sends the file base64-encoded inside the callback's JSON (4/3 of its size),
    plus the rest of the callback payload.
    """
    return math.ceil(max_upload_bytes * 4 / 3) + 64 * 1024


def content_security_policy(script_hashes: Iterable[str]) -> dict[str, list[str] | str]:
    """Return the content security policy: everything from the app itself, nothing else.

    Plotly sets inline styles, hence ``'unsafe-inline'`` for styles only; scripts are the app's
    files plus the hashes of Dash's own inline scripts.
    """
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-src": "'self'",
        "frame-ancestors": "'self'",
    }


def install_security(
    server: flask.Flask,
    *,
    script_hashes: Iterable[str],
    max_upload_bytes: int,
    https: bool = False,
) -> None:
    """Add security headers, CSP, CSRF protection and the upload limit to ``server``."""
    from flask_talisman import Talisman
    from flask_wtf.csrf import CSRFProtect, generate_csrf

    server.config["MAX_CONTENT_LENGTH"] = request_limit(max_upload_bytes)
    server.config["WTF_CSRF_TIME_LIMIT"] = None  # valid for the session
    server.config["WTF_CSRF_SSL_STRICT"] = https
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    server.config["SESSION_COOKIE_SECURE"] = https
    CSRFProtect(server)

    @server.after_request
    def _csrf_cookie(response: flask.Response) -> flask.Response:
        if getattr(flask.g, "pathfinder_user", None):
            response.set_cookie(
                "_csrf_token",
                generate_csrf(),
                samesite="Strict",
                secure=https,
                httponly=False,  # the Dash renderer reads it to send X-CSRFToken
            )
        static = flask.request.path.startswith(("/assets/", "/_dash-component-suites/"))
        # data never stays in caches; the app's own static files may (privately)
        response.headers["Cache-Control"] = "private, max-age=3600" if static else "no-store"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response

    Talisman(
        server,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        frame_options="SAMEORIGIN",
        content_security_policy=content_security_policy(script_hashes),
        referrer_policy="no-referrer",
        permissions_policy={
            "geolocation": "()",
            "camera": "()",
            "microphone": "()",
            "payment": "()",
        },
    )


def check_xlsx_archive(data: bytes, *, max_uncompressed: int, name: str = "file") -> None:
    """Refuse an .xlsx that is not a workbook archive or would expand too much (a zip bomb).

    Only the archive's directory is read: nothing is decompressed.

    Raises
    ------
    UploadRejected
        Naming the file and the reason.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRejected(
            f"{name} is not a valid .xlsx workbook (not a zip archive: {exc}); "
            "save it as .xlsx or .csv"
        ) from exc
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise UploadRejected(f"{name} is a zip archive but not an Excel workbook")
    total = sum(i.file_size for i in infos)
    if total > max_uncompressed:
        raise UploadRejected(
            f"{name} would expand to {total / 1e6:.0f} MB, over the limit of "
            f"{max_uncompressed / 1e6:.0f} MB (a zip bomb?); not opened"
        )
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size / max(info.compress_size, 1) > MAX_RATIO:
            raise UploadRejected(
                f"{name}: part {info.filename} is compressed more than {MAX_RATIO:.0f}:1 "
                "(a zip bomb?); not opened"
            )


def expansion_limit(max_upload_bytes: int) -> int:
    """Return the largest uncompressed size accepted for an .xlsx upload."""
    return _EXPANSION_FACTOR * max_upload_bytes


def neutralise_formulas(value: object) -> object:
    """Return ``value`` made inert in a spreadsheet (the library's rule, one for every output).

    Examples
    --------
    >>> neutralise_formulas("=HYPERLINK(1)"), neutralise_formulas("-5"), neutralise_formulas(2.0)
    ("'=HYPERLINK(1)", "'-5", 2.0)
    """
    from evaluation.safety import neutralise_cell  # the one rule for every output

    return neutralise_cell(value)


def safe_csv(frame: pd.DataFrame, *, float_format: str | None = None) -> str:
    """Return ``frame`` as CSV text with every text cell and header neutralised."""
    from evaluation.safety import neutralise_frame

    text: str = neutralise_frame(frame).to_csv(index=False, float_format=float_format)
    return text
