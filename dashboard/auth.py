"""Who may use the dashboard: credentials from the environment or a file of salted hashes.

Sources, in order:

1. ``PATHFINDER_USERS_FILE``: a text file of ``username:hash`` lines, the hashes made by
   :func:`hash_password` (Werkzeug's salted scrypt); blank lines and ``#`` comments ignored.
2. ``PATHFINDER_USER`` and ``PATHFINDER_PASSWORD``: one user (the password is hashed in memory).
3. Neither: :func:`generated_credentials` makes a random password for user ``analyst``, which
   ``pathfinder dashboard`` prints once.

Every request, including static assets and callbacks, must carry HTTP Basic credentials that
match (:func:`install_basic_auth`); comparison is by hash, never plain text, so timing reveals
nothing about the password. For single sign-on, put the app behind an authenticating reverse
proxy (see the README).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import flask
from werkzeug.security import check_password_hash, generate_password_hash

__all__ = [
    "DEFAULT_USER",
    "Credentials",
    "CredentialsError",
    "current_user",
    "generated_credentials",
    "hash_password",
    "install_basic_auth",
    "load_credentials",
    "read_users_file",
]

DEFAULT_USER = "analyst"
_REALM = "Pathfinder dashboard"
# a hash to compare against for unknown users, so they take as long as known ones
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class CredentialsError(ValueError):
    """The credentials configuration is unusable (bad users file, half-set variables)."""


@dataclass(frozen=True)
class Credentials:
    """Users and their salted password hashes, and where they came from."""

    users: Mapping[str, str]
    source: str
    generated_password: str | None = None
    # keyed digests of pairs already verified, so each request does not pay for scrypt
    _verified: set[bytes] = field(default_factory=set, repr=False, compare=False)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False, compare=False)

    def verify(self, username: str, password: str) -> bool:
        """Return whether ``password`` is that of ``username``."""
        token = hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        if token in self._verified:
            return True
        stored = self.users.get(username)
        ok = check_password_hash(stored or _DUMMY_HASH, password)
        if stored is not None and ok:
            if len(self._verified) > 1024:
                self._verified.clear()
            self._verified.add(token)
            return True
        return False


def hash_password(password: str) -> str:
    """Return a salted hash of ``password`` for a users file (Werkzeug scrypt)."""
    if not password:
        raise CredentialsError("a password may not be empty")
    return generate_password_hash(password)


def read_users_file(path: Path) -> dict[str, str]:
    """Read ``username:hash`` lines; raise :class:`CredentialsError` naming line and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(f"cannot read users file {path}: {exc.strerror or exc}") from exc
    users: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        name, hashed = name.strip(), hashed.strip()
        if not sep or not name or not hashed:
            raise CredentialsError(f"{path.name}, line {n}: expected 'username:hash'")
        if "$" not in hashed:
            raise CredentialsError(
                f"{path.name}, line {n}: the password of {name!r} is not a salted hash "
                "(make one with `pathfinder dashboard --hash-password`)"
            )
        if name in users:
            raise CredentialsError(f"{path.name}, line {n}: user {name!r} appears twice")
        users[name] = hashed
    if not users:
        raise CredentialsError(f"users file {path} lists no users")
    return users


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Return the configured credentials, or ``None`` when none are configured."""
    env = os.environ if env is None else env
    users_file = env.get("PATHFINDER_USERS_FILE", "").strip()
    if users_file:
        path = Path(users_file)
        return Credentials(read_users_file(path), source=f"users file {path.name}")
    user = env.get("PATHFINDER_USER", "").strip()
    password = env.get("PATHFINDER_PASSWORD", "")
    if user or password:
        if not (user and password):
            raise CredentialsError("set both PATHFINDER_USER and PATHFINDER_PASSWORD, or neither")
        return Credentials({user: hash_password(password)}, source="PATHFINDER_USER/PASSWORD")
    return None


def generated_credentials(user: str = DEFAULT_USER) -> Credentials:
    """Return credentials for ``user`` with a fresh random password (shown to the operator)."""
    password = secrets.token_urlsafe(18)
    return Credentials(
        {user: hash_password(password)}, source="generated", generated_password=password
    )


def current_user() -> str:
    """Return the authenticated user of the current request (after :func:`install_basic_auth`)."""
    user = flask.g.get("pathfinder_user")
    if not user:
        raise PermissionError("no authenticated user in this request")
    return str(user)


def install_basic_auth(server: flask.Flask, credentials: Credentials) -> None:
    """Refuse every request without valid HTTP Basic credentials (assets and callbacks too)."""

    @server.before_request
    def _require_login() -> flask.Response | None:
        auth = flask.request.authorization
        if (
            auth is not None
            and auth.type == "basic"
            and auth.username
            and credentials.verify(auth.username, auth.password or "")
        ):
            flask.g.pathfinder_user = auth.username
            return None
        response = flask.Response(
            "Sign in to use the Pathfinder dashboard.\n",
            status=401,
            mimetype="text/plain",
        )
        response.headers["WWW-Authenticate"] = f'Basic realm="{_REALM}", charset="UTF-8"'
        return response
