"""Staff accounts and sign-in: argon2 hashes, throttling kept in the database, sessions.

A failed sign-in is counted on the account row, so the limit holds across every worker.
After `MAX_FAILURES` failures in a row the account is locked for `LOCKOUT`; an unknown user
name costs the same hash computation as a known one. The session id includes the
account's `session_nonce`; signing out changes it, which ends every session of that user.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import flash, redirect, render_template, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console import audit
from bot.console.forms import LoginForm
from bot.console.web import ANALYSTS, AUDITORS, CASEWORK, bp, services
from bot.models import STAFF_ROLES, StaffUser, utcnow

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, eq=False)
class Staff(UserMixin):
    """The signed-in member of staff, detached from any database session."""

    id: int
    username: str
    display_name: str
    role: str
    nonce: str

    def get_id(self) -> str:
        """Return the session id: the account id and its current session nonce."""
        return f"{self.id}:{self.nonce}"


def _staff(user: StaffUser) -> Staff:
    return Staff(user.id, user.username, user.display_name, user.role, user.session_nonce)


def password_hasher(settings) -> PasswordHasher:
    """Return the argon2 hasher, with cost parameters from REPORTBOT_ARGON2_* if set."""
    params = {name: getattr(settings, f"argon2_{name}")
              for name in ("time_cost", "memory_cost", "parallelism")
              if getattr(settings, f"argon2_{name}") is not None}
    return PasswordHasher(**params)


def create_user(session: Session, services, username: str, role: str, password: str,
                display_name: str | None = None) -> StaffUser:
    """Add a staff account; the password is stored only as an argon2 hash."""
    username = username.strip().lower()
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if not username or len(username) > 80 or not username.replace(".", "").replace(
            "-", "").replace("_", "").isalnum():
        raise ValueError("user name: letters, digits, '.', '-' and '_' only, at most 80")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise ValueError(f"user {username!r} already exists")
    user = StaffUser(username=username, display_name=(display_name or username).strip(),
                     role=role, password_hash=password_hasher(services.settings).hash(password),
                     active=True, failed_logins=0, session_nonce=secrets.token_hex(16))
    session.add(user)
    session.flush()
    return user


def authenticate(services, username: str, password: str) -> Staff | None:
    """Check a sign-in attempt, counting failures and honouring a lockout."""
    hasher = password_hasher(services.settings)
    now = utcnow()
    with services.db.write() as session:
        user = session.scalar(select(StaffUser).where(
            StaffUser.username == username.strip().lower()).with_for_update())
        if user is None or not user.active:
            # Spend the same time as a real check so a name's existence does not show.
            _verify(hasher, _DUMMY_HASH.get(hasher), password)
            audit.record(session, "anonymous", "login_failed", reason="unknown_or_inactive")
            return None
        if user.locked_until is not None and user.locked_until > now:
            audit.record(session, user.username, "login_refused", reason="locked")
            return None
        if not _verify(hasher, user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
                audit.record(session, user.username, "account_locked")
            audit.record(session, user.username, "login_failed", reason="password")
            return None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        audit.record(session, user.username, "login")
        return _staff(user)


class _DummyHashes:
    """One throwaway hash per hasher profile, computed on first use."""

    def __init__(self) -> None:
        self._hashes: dict[tuple, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in self._hashes:
            self._hashes[key] = hasher.hash(secrets.token_hex(16))
        return self._hashes[key]


# A cache of throwaway values, not state: any worker computes the same kind of value.
_DUMMY_HASH = _DummyHashes()


def _verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def load_staff(user_id: str) -> Staff | None:
    """Return the active member of staff whose session id is `user_id`, or None."""
    ident, _, nonce = user_id.partition(":")
    if not ident.isdigit() or not nonce:
        return None
    with services().db.read() as session:
        user = session.get(StaffUser, int(ident))
        if user is None or not user.active:
            return None
        if not hmac.compare_digest(user.session_nonce, nonce):
            return None
        return _staff(user)


def init_login(app) -> None:
    """Bind Flask-Login to the app with strong session protection."""
    manager = LoginManager()
    manager.session_protection = "strong"
    manager.login_view = "console.login"
    manager.login_message = "Please sign in to use the console."
    manager.user_loader(load_staff)
    manager.init_app(app)


def home_for(staff) -> str:
    """Return where a member of staff lands after signing in."""
    if staff.role in CASEWORK:
        return url_for("console.queue")
    if staff.role in ANALYSTS:
        return url_for("console.reports")
    if staff.role in AUDITORS:
        return url_for("console.audit_log")
    return url_for("console.login")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a member of staff in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        staff = authenticate(services(), form.username.data or "", form.password.data or "")
        if staff is not None:
            # A fresh session on sign-in: nothing from before survives (no fixation).
            session.clear()
            login_user(staff)
            return redirect(home_for(staff))
        flash("That user name and password did not work, or the account is locked for a "
              "while after too many attempts.", "error")
        return render_template("console/login.html", form=form), 401
    return render_template("console/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out, ending every session of this account."""
    if current_user.is_authenticated:
        s = services()
        with s.db.write() as db_session:
            user = db_session.get(StaffUser, current_user.id)
            if user is not None:
                user.session_nonce = secrets.token_hex(16)
            audit.record(db_session, current_user.username, "logout")
        logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("console.login"))
