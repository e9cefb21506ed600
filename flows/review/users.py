"""Users of the reviewers' web app: reviewers and leads, Argon2 password hashes, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from claimwatch.review.queue import append_audit, validate_name
from claimwatch.review.store import ReviewError, ReviewStore, users

ROLES = ("reviewer", "lead")
MIN_PASSWORD = 12
# this many failed logins in a row lock the account for LOCK_MINUTES
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15

_hasher = PasswordHash((Argon2Hasher(),))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ReviewError(f"a password has at least {MIN_PASSWORD} characters")


def add_user(store: ReviewStore, name: str, role: str, password: str, *, actor: str = "admin") -> dict:
    """Create a user (name validated like every actor, role reviewer|lead); audited."""
    name = validate_name(name, "user name")
    if role not in ROLES:
        raise ReviewError(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    now = datetime.now(UTC)
    with store.write() as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
            raise ReviewError(f"user {name} exists already")
        conn.execute(
            users.insert().values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                failed_logins=0,
                locked_until=None,
                created_at=now,
            )
        )
        append_audit(conn, validate_name(actor), "user_add", None, {"user": name, "role": role}, now=now)
    return get_user(store, name)


def set_password(store: ReviewStore, name: str, password: str, *, actor: str = "admin") -> None:
    """Replace a user's password and unlock the account; audited."""
    _check_password(password)
    with store.write() as conn:
        updated = conn.execute(
            users.update()
            .where(users.c.name == name)
            .values(password_hash=_hasher.hash(password), failed_logins=0, locked_until=None)
        ).rowcount
        if updated != 1:
            raise ReviewError(f"no user {name}")
        append_audit(conn, validate_name(actor), "user_password", None, {"user": name})


def get_user(store: ReviewStore, name: str) -> dict | None:
    """A user's name, role, failed logins, lock and creation time (never the hash)."""
    with store.read() as conn:
        row = (
            conn.execute(
                sa.select(*[c for c in users.c if c.name != "password_hash"]).where(users.c.name == name)
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def list_users(store: ReviewStore) -> list[dict]:
    """Every user (without hashes), by name."""
    with store.read() as conn:
        query = sa.select(*[c for c in users.c if c.name != "password_hash"]).order_by(users.c.name)
        return [dict(r) for r in conn.execute(query).mappings()]


def verify_user(store: ReviewStore, name: str, password: str, *, now: datetime | None = None) -> dict | None:
    """Check a login; return the user (name, role...) or None. Audited either way.

    A locked account answers None even with the right password; MAX_FAILED_LOGINS failures in a
    row lock it for LOCK_MINUTES; a success resets the count. An unknown name costs a hash too,
    so timing does not tell which names exist."""
    now = now or datetime.now(UTC)
    with store.write() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            _hasher.verify(password, _dummy_hash())
            return None
        actor = row["name"]
        if row["locked_until"] is not None and row["locked_until"] > now:
            append_audit(conn, actor, "login_refused", None, {"reason": "locked"}, now=now)
            return None
        valid, new_hash = _hasher.verify_and_update(password, row["password_hash"])
        if not valid:
            failed = row["failed_logins"] + 1
            lock = now + timedelta(minutes=LOCK_MINUTES) if failed >= MAX_FAILED_LOGINS else None
            conn.execute(
                users.update()
                .where(users.c.name == actor)
                .values(failed_logins=0 if lock else failed, locked_until=lock)
            )
            details = {"failed_logins": failed}
            if lock:
                details["locked_until"] = lock.isoformat()
            append_audit(conn, actor, "login_failed", None, details, now=now)
            return None
        values = {"failed_logins": 0, "locked_until": None}
        if new_hash:
            values["password_hash"] = new_hash
        conn.execute(users.update().where(users.c.name == actor).values(**values))
        append_audit(conn, actor, "login", None, {}, now=now)
    return get_user(store, actor)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("claimwatch-no-such-user")
