"""The change-password page: every member of staff, and anyone holding a temporary one."""

from __future__ import annotations

from flask import flash, redirect, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from bot.console import throttle
from bot.console.auth import home_for, staff_of, start_session
from bot.console.forms import ChangePasswordForm
from bot.console.passwords import WeakPassword, password_hasher, verify
from bot.console.staff import change_password as set_new_password
from bot.console.web import bp, services
from bot.models import StaffUser, utcnow


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Let the signed-in member of staff choose a new password."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        if form.is_submitted():
            flash("Not changed. " + "; ".join(
                f"{form[name].label.text}: {' '.join(msgs)}"
                for name, msgs in form.errors.items() if name in form), "error")
        return render_template("console/password.html", form=form,
                               forced=current_user.must_change_password), \
            400 if form.is_submitted() else 200
    s = services()
    key = throttle.Key("account", s.vault.index("login-account", current_user.username))
    now = utcnow()
    problem = None
    with s.db.write() as db:
        # The current password is asked for, so a borrowed session cannot take the account
        # over; guesses at it count against the account like sign-in failures do.
        rows = throttle.load(db, [key], now)
        user = db.scalar(select(StaffUser).where(StaffUser.id == current_user.id)
                         .with_for_update())
        if throttle.blocked_until(rows, [key], now) is not None:
            throttle.settle(db, rows, now)
            problem = "Too many attempts that did not work. Please wait a few minutes."
        elif not verify(password_hasher(s.settings), user.password_hash,
                        form.current.data or ""):
            throttle.settle(db, rows, now, failed=[key])
            problem = "Your current password was not right."
        else:
            try:
                set_new_password(db, s, user, form.new.data or "")
            except WeakPassword as exc:
                problem = str(exc)
                throttle.settle(db, rows, now)
            else:
                throttle.settle(db, rows, now, cleared=[key])
                staff = staff_of(user)
    if problem is not None:
        flash(problem, "error")
        return render_template("console/password.html", form=form,
                               forced=current_user.must_change_password), 400
    # The nonce changed, which ended every other session; carry on in a fresh one here.
    start_session(staff)
    flash("Your password has been changed.", "info")
    return redirect(home_for(staff))
