"""Staff sign-in and sign-out: argon2 passwords, throttling kept in the database, sessions.

Every sign-in attempt does the same work, whether the name is unknown, the account is
inactive, the attempt is throttled, or the password is wrong: the throttle rows are written,
one argon2 verification is run (against a throwaway hash when there is no account), and
one audit entry is added. Throttling (`bot.console.throttle`) counts failures per account
name, per client address and per trusted browser. The session id includes the account's
`session_nonce`; signing out or a password change replaces it, which ends every session of
that user. Idle and absolute session limits are enforced in `bot.console.sessions`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from bot.audit import record as audit_record
from bot.console import throttle
from bot.console.forms import LoginForm
from bot.console.passwords import DUMMY_HASH, password_hasher, verify
from bot.console.staff import create_user
from bot.console.web import ADMINS, ANALYSTS, AUDITORS, CASEWORK, bp, services
from bot.models import StaffUser, utcnow
from bot.websecurity import client_address

__all__ = ["Staff", "authenticate", "create_user", "load_staff", "password_hasher"]

# A browser where an account signed in carries this signed cookie; that account's
# attempts from it are throttled on its own failures only (see bot.console.throttle).
DEVICE_COOKIE = "reportbot_device"
DEVICE_LIFE_SECONDS = 180 * 24 * 3600


@dataclass(frozen=True, eq=False)
class Staff(UserMixin):
    """The signed-in member of staff, detached from any database session."""

    id: int
    username: str
    display_name: str
    role: str
    nonce: str
    must_change_password: bool = False

    def get_id(self) -> str:
        """Return the session id: the account id and its current session nonce."""
        return f"{self.id}:{self.nonce}"


def staff_of(user: StaffUser) -> Staff:
    """Return the detached `Staff` for an account row."""
    return Staff(user.id, user.username, user.display_name, user.role, user.session_nonce,
                 bool(user.must_change_password))


@dataclass(frozen=True)
class Device:
    """A trusted browser: the account that signed in on it, and its random id."""

    username: str
    id: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    staff: Staff | None
    retry_at: datetime | None = None


def throttle_keys(services, username: str, address: str,
                  device: Device | None) -> list[throttle.Key]:
    """Return what an attempt by `username` from `address` (and `device`) is counted on."""
    vault = services.vault
    keys = [throttle.Key("account", vault.index("login-account", username)),
            throttle.Key("address", vault.index("login-address", address))]
    if device is not None and device.username == username:
        keys.append(throttle.Key("device", vault.index("login-device", device.id)))
    return keys


def authenticate(services, username: str, password: str, address: str,
                 device: Device | None = None) -> SignIn:
    """Check a sign-in attempt, throttling per account, address and browser; audited."""
    hasher = password_hasher(services.settings)
    # Made (once per process) before knowing whether the name exists, so its cost falls on
    # whichever attempt comes first, known name or not.
    dummy = DUMMY_HASH.get(hasher)
    name = username.strip().lower()[:80]
    keys = throttle_keys(services, name, address, device)
    trusted = [k for k in keys if k.kind == "device"]
    # A trusted browser answers for itself only; anything else faces the account's and the
    # address's delays.
    guards = trusted or keys
    now = utcnow()
    with services.db.write() as db:
        rows = throttle.load(db, keys, now)
        retry_at = throttle.blocked_until(rows, guards, now)
        user = db.scalar(select(StaffUser).where(StaffUser.username == name))
        # Exactly one verification on every path, so the time taken tells nothing.
        matches = verify(hasher, user.password_hash if user is not None else dummy, password)
        usable = user is not None and user.active and not (
            user.temp_password_expires_at is not None and user.temp_password_expires_at <= now)
        actor = user.username if user is not None else "anonymous"
        if retry_at is not None:
            throttle.settle(db, rows, now)
            audit_record(db, actor, "login_refused", reason="throttled")
            return SignIn(None, retry_at)
        if not (usable and matches):
            throttle.settle(db, rows, now, failed=keys)
            audit_record(db, actor, "login_failed",
                         reason="password" if usable else "unknown_inactive_or_expired")
            return SignIn(None)
        # The right password clears what it was judged on: a trusted browser its own count,
        # any other client the account's. A stranger's count on the account outlives the
        # owner signing in from their own browser, or each sign-in would buy them more tries.
        throttle.settle(db, rows, now, cleared=trusted or keys[:1])
        audit_record(db, actor, "login")
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.last_login_at = now
        return SignIn(staff_of(user))


def load_staff(user_id: str) -> Staff | None:
    """Return the active member of staff whose session id is `user_id`, or None."""
    ident, _, nonce = user_id.partition(":")
    if not ident.isdigit() or not nonce:
        return None
    with services().db.read() as db:
        user = db.get(StaffUser, int(ident))
        if user is None or not user.active:
            return None
        if not hmac.compare_digest(user.session_nonce, nonce):
            return None
        return staff_of(user)


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
    if staff.role in ADMINS:
        return url_for("console.accounts")
    if staff.role in AUDITORS:
        return url_for("console.audit_log")
    return url_for("console.login")


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="reportbot-console-device")


def _device_from_cookie() -> Device | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        username, ident = _devices().loads(raw, max_age=DEVICE_LIFE_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    return Device(str(username), str(ident))


def _remember_device(response, username: str, device: Device | None) -> None:
    ident = device.id if device is not None and device.username == username \
        else secrets.token_urlsafe(16)
    response.set_cookie(DEVICE_COOKIE, _devices().dumps([username, ident]),
                        max_age=DEVICE_LIFE_SECONDS, path="/console", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Strict")


def start_session(staff: Staff) -> None:
    """Sign `staff` in on a fresh session, noting when (for the idle and absolute limits)."""
    # A fresh session on sign-in: nothing from before survives (no fixation).
    session.clear()
    login_user(staff)
    session["signed_in_at"] = session["last_seen"] = time.time()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a member of staff in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        device = _device_from_cookie()
        result = authenticate(services(), form.username.data or "", form.password.data or "",
                              client_address(), device)
        if result.staff is not None:
            start_session(result.staff)
            target = url_for("console.change_password") \
                if result.staff.must_change_password else home_for(result.staff)
            response = redirect(target)
            _remember_device(response, result.staff.username, device)
            return response
        if result.retry_at is not None:
            wait = max(1, int((result.retry_at - utcnow()).total_seconds()) + 1)
            flash(f"Too many attempts that did not work. Please wait {_wait_words(wait)} "
                  "and try again.", "error")
            response = current_app.make_response(
                (render_template("console/login.html", form=form), 429))
            response.headers["Retry-After"] = str(wait)
            return response
        flash("That user name and password did not work.", "error")
        return render_template("console/login.html", form=form), 401
    return render_template("console/login.html", form=form)


def _wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@bp.post("/logout")
def logout():
    """Sign out, ending every session of this account."""
    if current_user.is_authenticated:
        s = services()
        with s.db.write() as db:
            user = db.get(StaffUser, current_user.id)
            if user is not None:
                user.session_nonce = secrets.token_hex(16)
            audit_record(db, current_user.username, "logout")
        logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("console.login"))
