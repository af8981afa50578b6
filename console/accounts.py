"""Console accounts: users, argon2 passwords, API tokens, sessions, login throttling.

- Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when
  the parameters change); at least MIN_PASSWORD_CHARS characters.
- API tokens are `lpk_` + 32 random bytes; only their SHA-256 is stored, so the
  token is shown once, when made.
- Sessions are rows of `console_sessions` keyed by the SHA-256 of the random cookie
  value (several console replicas share them); each has its own CSRF token. A
  session ends after `idle_timeout` without a request or `session_lifetime` after
  login.
- Login failures lock the account after `max_failed_logins` in a row (for `lockout`),
  and one client address (kept only as a keyed hash) is throttled after
  `client_failures` failures within `client_window`. Unknown names, wrong passwords,
  locked and disabled accounts all get the same answer, with the same argon2 work.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.privacy import attest_sender
from bot.store.models import ApiToken, ConsoleSession, ConsoleUser, LoginFailure, utcnow
from bot.store.types import CONSOLE_ROLES
from console import audit
from console.config import ConsoleSettings
from console.scope import PENGAWAS, Reviewer, valid_region_codes
from console.store import ConsoleStore

logger = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
TOKEN_PREFIX = "lpk_"  # noqa: S105 - a prefix, not a secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
#: A session's last_seen is written at most this often (fewer writes per page).
SEEN_RESOLUTION = timedelta(seconds=30)


class AccountError(ValueError):
    """Bad input for an account operation; `code` says what (e.g. "name_taken")."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login: a session (id for the cookie, CSRF token) or a refusal.

    `refused` is one of "invalid" (any wrong name/password, locked or disabled
    account: the same answer to the client) or "throttled" (too many failures from
    this address).
    """

    reviewer: Reviewer | None = None
    session_id: str | None = None
    csrf_token: str | None = None
    refused: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    """A valid session: who, and the CSRF token its forms must carry."""

    reviewer: Reviewer
    csrf_token: str


@dataclass(frozen=True)
class UserInfo:
    """An account as the admin page lists it (never the hash)."""

    id: int
    name: str
    role: str
    regions: tuple[str, ...]
    failed_logins: int
    locked_until: datetime | None
    disabled: bool
    created_at: datetime


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that costs the same time."""
    return _hasher.hash("not a password of anyone " + secrets.token_hex(8))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def client_hash(address: str) -> str:
    """A keyed, non-reversible label of a client address for throttling."""
    return attest_sender("console-login", address or "-")


def check_name(name: str) -> str:
    """A login name: 2-64 letters, digits, dot, dash, underscore."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise AccountError("bad_name")
    return name


def check_password(password: str) -> str:
    """A password long enough (and not absurdly long)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AccountError("password_too_short", str(MIN_PASSWORD_CHARS))
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError("password_too_long")
    return password


def _reviewer(row: ConsoleUser) -> Reviewer:
    return Reviewer(row.id, row.name, row.role, tuple(row.region_codes.split()))


class Accounts:
    """Account, token and session operations on the console's database."""

    def __init__(self, store: ConsoleStore, settings: ConsoleSettings | None = None) -> None:
        self.store = store
        self.settings = settings or ConsoleSettings()

    # --- users -----------------------------------------------------------------

    def create_user(self, name: str, role: str, regions: list[str], password: str,
                    actor: str = "lapor-admin") -> Reviewer:
        """A new account. A pengawas needs at least one region; others take none."""
        name = check_name(name)
        if role not in CONSOLE_ROLES:
            raise AccountError("bad_role")
        try:
            codes = valid_region_codes(regions)
        except ValueError as exc:
            raise AccountError("bad_region", str(exc)) from exc
        if role == PENGAWAS and not codes:
            raise AccountError("region_required")
        if role != PENGAWAS and codes:
            raise AccountError("region_not_for_role")
        password_hash = _hasher.hash(check_password(password))
        with self.store.write() as session:
            taken = session.scalar(select(ConsoleUser.id).where(
                func.lower(ConsoleUser.name) == name.lower()))
            if taken is not None:
                raise AccountError("name_taken")
            row = ConsoleUser(name=name, role=role, region_codes=" ".join(codes),
                              password_hash=password_hash, failed_logins=0, created_at=utcnow())
            session.add(row)
            session.flush()
            audit.record(session, actor, "user.create", f"user:{name}", role=role,
                         regions=list(codes))
            reviewer = _reviewer(row)
        logger.info("Console account created (role %s)", role)
        return reviewer

    def list_users(self) -> list[UserInfo]:
        """Every account, by name."""
        with self.store.read() as session:
            rows = session.scalars(select(ConsoleUser).order_by(ConsoleUser.name)).all()
            return [UserInfo(r.id, r.name, r.role, tuple(r.region_codes.split()),
                             r.failed_logins, r.locked_until, r.disabled_at is not None,
                             r.created_at) for r in rows]

    def _user(self, session: Session, name: str) -> ConsoleUser:
        row = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name)
                             .with_for_update())
        if row is None:
            raise AccountError("unknown_user")
        return row

    def set_disabled(self, name: str, disabled: bool, actor: str) -> None:
        """Disable (ending its sessions, revoking nothing else) or enable an account."""
        with self.store.write() as session:
            row = self._user(session, name)
            row.disabled_at = utcnow() if disabled else None
            if disabled:
                session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == row.id))
            audit.record(session, actor, "user.disable" if disabled else "user.enable",
                         f"user:{name}")

    def unlock(self, name: str, actor: str) -> None:
        """Clear a lockout and the failure counter."""
        with self.store.write() as session:
            row = self._user(session, name)
            row.failed_logins = 0
            row.locked_until = None
            audit.record(session, actor, "user.unlock", f"user:{name}")

    def set_password(self, name: str, password: str, actor: str) -> None:
        """A new password; every session of the account ends."""
        password_hash = _hasher.hash(check_password(password))
        with self.store.write() as session:
            row = self._user(session, name)
            row.password_hash = password_hash
            row.failed_logins = 0
            row.locked_until = None
            session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == row.id))
            audit.record(session, actor, "user.password", f"user:{name}")

    def set_regions(self, name: str, regions: list[str], actor: str) -> None:
        """Change a pengawas's regions."""
        try:
            codes = valid_region_codes(regions)
        except ValueError as exc:
            raise AccountError("bad_region", str(exc)) from exc
        with self.store.write() as session:
            row = self._user(session, name)
            if row.role != PENGAWAS:
                raise AccountError("region_not_for_role")
            if not codes:
                raise AccountError("region_required")
            row.region_codes = " ".join(codes)
            audit.record(session, actor, "user.regions", f"user:{name}", regions=list(codes))

    # --- API tokens ------------------------------------------------------------

    def create_token(self, name: str, actor: str = "lapor-admin") -> str:
        """A new API token for the account (returned once; only its hash is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as session:
            row = self._user(session, check_name(name))
            if row.disabled_at is not None:
                raise AccountError("disabled")
            session.add(ApiToken(user_id=row.id, token_sha256=_sha256(token),
                                 created_at=utcnow()))
            audit.record(session, actor, "token.create", f"user:{row.name}")
        return token

    def reviewer_for_token(self, token: str) -> Reviewer | None:
        """The enabled account owning a valid, unrevoked token; None otherwise.

        Read-only unless the token's last use must be recorded (at most every
        SEEN_RESOLUTION), so API reads do not queue for SQLite's write lock.
        """
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _sha256(token)
        with self.store.read() as session:
            found = session.execute(
                select(ApiToken.id, ApiToken.last_used_at, ConsoleUser)
                .join(ConsoleUser, ConsoleUser.id == ApiToken.user_id)
                .where(ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None),
                       ConsoleUser.disabled_at.is_(None))
            ).first()
        if found is None:
            return None
        token_id, last_used, user = found
        now = utcnow()
        if last_used is None or now - last_used > SEEN_RESOLUTION:
            with self.store.write() as session:
                session.execute(update(ApiToken).where(ApiToken.id == token_id)
                                .values(last_used_at=now))
        return _reviewer(user)

    # --- login and sessions ----------------------------------------------------

    def login(self, name: str, password: str, client: str) -> LoginResult:
        """Check a password; on success start a session (see the module docstring).

        The argon2 work happens between two short transactions, never while holding
        the database's write lock.
        """
        settings = self.settings
        client_key = client_hash(client)
        wellformed = (bool(_NAME.match(name or "")) and isinstance(password, str)
                      and len(password) <= MAX_PASSWORD_CHARS)
        with self.store.read() as session:
            recent = int(session.scalar(select(func.count(LoginFailure.id)).where(
                LoginFailure.client_hash == client_key,
                LoginFailure.at >= utcnow() - settings.client_window)) or 0)
            stored = session.scalar(select(ConsoleUser.password_hash)
                                    .where(ConsoleUser.name == name)) if wellformed else None
        if recent >= settings.client_failures:
            logger.warning("Console login throttled for a client address")
            return LoginResult(refused="throttled")
        ok = self._verify(stored, password)
        rehash = _hasher.hash(password) if ok and stored and _hasher.check_needs_rehash(
            stored) else None
        now = utcnow()
        with self.store.write() as session:
            row = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name)
                                 .with_for_update()) if wellformed else None
            if row is not None and row.password_hash != stored:
                ok = False  # the password changed meanwhile: check against the new one
            usable = (row is not None and row.disabled_at is None
                      and (row.locked_until is None or row.locked_until <= now))
            if ok and usable and row is not None:
                row.failed_logins = 0
                row.locked_until = None
                if rehash:
                    row.password_hash = rehash
                session_id = secrets.token_urlsafe(32)
                csrf = secrets.token_urlsafe(32)
                session.add(ConsoleSession(id_sha256=_sha256(session_id), user_id=row.id,
                                           csrf_token=csrf, created_at=now, last_seen_at=now))
                audit.record(session, row.name, "login", f"user:{row.name}")
                return LoginResult(_reviewer(row), session_id, csrf)
            session.execute(delete(LoginFailure).where(
                LoginFailure.at < now - settings.client_window))
            session.add(LoginFailure(client_hash=client_key, at=now))
            if row is not None and usable:
                row.failed_logins += 1
                if row.failed_logins >= settings.max_failed_logins:
                    row.locked_until = now + settings.lockout
                    row.failed_logins = 0
                    audit.record(session, "sistem", "user.locked", f"user:{row.name}")
                    logger.warning("A console account was locked after failed logins")
            return LoginResult(refused="invalid")

    @staticmethod
    def _verify(stored_hash: str | None, password: str) -> bool:
        try:
            return _hasher.verify(stored_hash or _dummy_hash(),
                                  password if isinstance(password, str) else "")
        except (VerificationError, InvalidHashError):
            return False

    def session(self, session_id: str | None) -> SessionInfo | None:
        """The live session for a cookie value (touching its last-seen time), or None.

        Sessions past the idle timeout or the lifetime, and sessions of disabled
        accounts, are deleted and give None. Read-only unless the session must be
        deleted or its last-seen time moved on (at most every SEEN_RESOLUTION).
        """
        if not session_id or len(session_id) > 100:
            return None
        now = utcnow()
        digest = _sha256(session_id)
        with self.store.read() as session:
            found = session.execute(
                select(ConsoleSession.last_seen_at, ConsoleSession.created_at,
                       ConsoleSession.csrf_token, ConsoleUser)
                .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
                .where(ConsoleSession.id_sha256 == digest)
            ).first()
        if found is None:
            return None
        last_seen, created, csrf, user = found
        expired = (now - last_seen > self.settings.idle_timeout
                   or now - created > self.settings.session_lifetime
                   or user.disabled_at is not None)
        if expired or now - last_seen > SEEN_RESOLUTION:
            with self.store.write() as session:
                if expired:
                    session.execute(delete(ConsoleSession)
                                    .where(ConsoleSession.id_sha256 == digest))
                else:
                    session.execute(update(ConsoleSession)
                                    .where(ConsoleSession.id_sha256 == digest)
                                    .values(last_seen_at=now))
        return None if expired else SessionInfo(_reviewer(user), csrf)

    def logout(self, session_id: str | None, actor: str | None = None) -> None:
        """End a session (nothing happens for an unknown one)."""
        if not session_id:
            return
        with self.store.write() as session:
            gone = session.execute(delete(ConsoleSession).where(
                ConsoleSession.id_sha256 == _sha256(session_id))).rowcount
            if gone and actor:
                audit.record(session, actor, "logout", f"user:{actor}")

    def expire_sessions(self) -> int:
        """Delete sessions past the idle timeout; returns how many."""
        cutoff = utcnow() - self.settings.idle_timeout
        with self.store.write() as session:
            return int(session.execute(delete(ConsoleSession).where(
                ConsoleSession.last_seen_at < cutoff)).rowcount or 0)

    @staticmethod
    def same_token(expected: str, given: str | None) -> bool:
        """Constant-time comparison of CSRF tokens."""
        return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


