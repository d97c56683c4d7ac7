"""Staff accounts and API tokens, as the admin page and the CLI change them; all audited.

Every function takes the caller's session and the acting user's name (`"cli"` from the
command line), and records what it did in the audit log in the same transaction. None of
them lets the last active admin be removed, demoted or deactivated: someone must always be
able to manage accounts without editing the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.audit import record
from bot.console import throttle
from bot.console.passwords import (
    TEMP_LIFE,
    WeakPassword,
    check_strength,
    password_hasher,
    temporary_password,
    verify,
)
from bot.models import STAFF_ROLES, ApiToken, StaffUser, utcnow
from bot.store import issue_api_token

__all__ = ["AccountRefused", "WeakPassword", "create_user", "create_account", "set_role",
           "set_active", "reset_password", "change_password", "create_token",
           "revoke_token"]


class AccountRefused(ValueError):
    """An account change is not allowed; the message says why, for the admin."""


def _check_username(username: str) -> str:
    username = username.strip().lower()
    if not username or len(username) > 80 or not username.replace(".", "").replace(
            "-", "").replace("_", "").isalnum() or not username.isascii():
        raise AccountRefused("User name: letters, digits, '.', '-' and '_' only, at most 80.")
    return username


def _user(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(
        StaffUser.username == username.strip().lower()).with_for_update())
    if user is None:
        raise AccountRefused(f"There is no account {username!r}.")
    return user


def _strength_inputs(services, username: str, display_name: str) -> list[str]:
    return [username, display_name, services.org.name, "reportbot"]


def create_user(session: Session, services, username: str, role: str, password: str,
                display_name: str | None = None, *,
                must_change_password: bool = False) -> StaffUser:
    """Add a staff account with `password` (checked for strength); only its hash is kept."""
    username = _check_username(username)
    display_name = (display_name or username).strip()[:120]
    if role not in STAFF_ROLES:
        raise AccountRefused(f"Role must be one of {', '.join(STAFF_ROLES)}.")
    if not must_change_password:
        check_strength(password, _strength_inputs(services, username, display_name))
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise AccountRefused(f"User {username!r} already exists.")
    user = StaffUser(username=username, display_name=display_name, role=role,
                     password_hash=password_hasher(services.settings).hash(password),
                     active=True, session_nonce=secrets.token_hex(16),
                     must_change_password=must_change_password,
                     temp_password_expires_at=utcnow() + TEMP_LIFE
                     if must_change_password else None)
    session.add(user)
    session.flush()
    return user


def create_account(session: Session, services, actor: str, username: str, role: str,
                   display_name: str | None = None) -> tuple[StaffUser, str]:
    """Add an account with a temporary password (returned, to be shown once)."""
    password = temporary_password()
    user = create_user(session, services, username, role, password, display_name,
                       must_change_password=True)
    record(session, actor, "user_created", username=user.username, role=role)
    return user, password


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count(StaffUser.id)).where(
        StaffUser.role == "admin", StaffUser.active.is_(True))) or 0


def _keep_an_admin(session: Session, user: StaffUser) -> None:
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise AccountRefused("This is the only active admin account: make another admin "
                             "first.")


def set_role(session: Session, actor: str, username: str, role: str) -> StaffUser:
    """Change an account's role; it applies from that user's next request."""
    if role not in STAFF_ROLES:
        raise AccountRefused(f"Role must be one of {', '.join(STAFF_ROLES)}.")
    user = _user(session, username)
    if user.role == role:
        return user
    if role != "admin":
        _keep_an_admin(session, user)
    previous, user.role = user.role, role
    record(session, actor, "role_changed", username=user.username, role=role,
           previous=previous)
    return user


def set_active(session: Session, actor: str, username: str, active: bool) -> StaffUser:
    """Deactivate an account (ending its sessions at once) or reactivate it."""
    user = _user(session, username)
    if user.active == active:
        return user
    if not active:
        if user.username == actor:
            raise AccountRefused("You cannot deactivate your own account.")
        _keep_an_admin(session, user)
    user.active = active
    user.session_nonce = secrets.token_hex(16)
    record(session, actor, "user_activated" if active else "user_deactivated",
           username=user.username)
    return user


def reset_password(session: Session, services, actor: str, username: str) -> tuple[
        StaffUser, str]:
    """Give an account a temporary password, shown once; its sessions end at once."""
    # Throttle rows first, then the account row: the order sign-in takes them in.
    throttle.clear(session, [throttle.Key("account",
                                          services.vault.index("login-account",
                                                               username.strip().lower()))])
    user = _user(session, username)
    password = temporary_password()
    user.password_hash = password_hasher(services.settings).hash(password)
    user.must_change_password = True
    user.temp_password_expires_at = utcnow() + TEMP_LIFE
    user.session_nonce = secrets.token_hex(16)
    record(session, actor, "password_reset", username=user.username)
    return user, password


def change_password(session: Session, services, user: StaffUser, new_password: str) -> None:
    """Set the user's own new password, ending their other sessions."""
    check_strength(new_password, _strength_inputs(services, user.username, user.display_name))
    hasher = password_hasher(services.settings)
    if verify(hasher, user.password_hash, new_password):
        raise WeakPassword("Choose a password different from the current one.")
    user.password_hash = hasher.hash(new_password)
    user.must_change_password = False
    user.temp_password_expires_at = None
    user.session_nonce = secrets.token_hex(16)
    record(session, user.username, "password_changed")


# ---- API tokens ------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenRow:
    """An API token as listed: never the token itself, which only its holder has."""

    id: int
    name: str
    scopes: tuple[str, ...]
    created_by: str | None
    created_at: object
    last_used_at: object
    revoked_at: object


def list_tokens(session: Session) -> list[TokenRow]:
    """Return every API token, newest first."""
    return [TokenRow(t.id, t.name, tuple(t.scopes.split()), t.created_by, t.created_at,
                     t.last_used_at, t.revoked_at)
            for t in session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]


def create_token(session: Session, actor: str, name: str, scopes) -> tuple[ApiToken, str]:
    """Create an API token with `scopes`; returns the row and the token, shown once."""
    name = name.strip()
    if not name or len(name) > 120:
        raise AccountRefused("Name the token after who or what will use it (at most 120 "
                             "characters).")
    try:
        row, token = issue_api_token(session, name, scopes, created_by=actor)
    except ValueError as exc:
        raise AccountRefused(str(exc)) from None
    record(session, actor, "api_token_created", token_id=row.id, name=name,
           scopes=row.scopes)
    return row, token


def revoke_token(session: Session, actor: str, token_id: int) -> ApiToken:
    """Revoke an API token: it stops working at once."""
    row = session.get(ApiToken, token_id, with_for_update=True)
    if row is None:
        raise AccountRefused("There is no such API token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, actor, "api_token_revoked", token_id=row.id, name=row.name)
    return row


def list_accounts(session: Session) -> list[StaffUser]:
    """Return every staff account, active ones first, by name."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.active.desc(),
                                                           StaffUser.username)))
