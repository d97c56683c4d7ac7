"""The staff accounts page (admins): accounts, roles, deactivation, password resets, API tokens.

A temporary password or a new API token is shown once, in the response to the POST that
made it, and never stored anywhere else in clear (nor in the session cookie, which the
browser can read). Every change is audited by `bot.console.staff`.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.audit import record
from bot.console import forms, staff
from bot.console.web import ADMINS, bp, roles_required, services
from bot.models import StaffUser


def _page(new_account=None, new_token=None, status: int = 200):
    s = services()
    with s.db.write() as db:
        accounts = staff.list_accounts(db)
        tokens = staff.list_tokens(db)
        record(db, current_user.username, "accounts_viewed")
    role_forms = {u.username: forms.RoleForm(prefix=f"role-{u.id}", role=u.role)
                  for u in accounts}
    return render_template(
        "console/accounts.html", accounts=accounts, tokens=tokens, role_forms=role_forms,
        confirm=forms.ConfirmForm(), timezone=s.org.timezone,
        new_account=new_account or forms.NewAccountForm(prefix="new"),
        new_token=new_token or forms.NewTokenForm(prefix="token")), status


def _shown_once(title: str, subject: str, secret: str, note: str):
    return render_template("console/secret.html", title=title, subject=subject,
                           secret=secret, note=note)


def _errors(form) -> str:
    return "; ".join(f"{form[name].label.text}: {' '.join(msgs)}"
                     for name, msgs in form.errors.items() if name in form)


@bp.get("/accounts")
@roles_required(*ADMINS)
def accounts():
    """List staff accounts and API tokens, with the forms that change them."""
    return _page()


@bp.post("/accounts")
@roles_required(*ADMINS)
def create_account():
    """Create an account with a temporary password, shown once."""
    form = forms.NewAccountForm(prefix="new")
    if not form.validate_on_submit():
        flash(f"Not created. {_errors(form)}", "error")
        return _page(new_account=form, status=400)
    s = services()
    try:
        with s.db.write() as db:
            user, password = staff.create_account(db, s, current_user.username,
                                                  form.username.data, form.role.data,
                                                  form.display_name.data or None)
    except staff.AccountRefused as exc:
        flash(f"Not created. {exc}", "error")
        return _page(new_account=form, status=400)
    return _shown_once("Account created", user.username, password,
                       "Give this temporary password to them in person or by phone. It "
                       "works once, for 72 hours; they must choose their own at sign-in.")


def _change(username: str, change, done: str):
    """Run `change(db)` for the account `username` and go back to the list."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with services().db.write() as db:
            change(db)
    except staff.AccountRefused as exc:
        flash(f"Not changed. {exc}", "error")
    else:
        flash(done.format(username=username), "info")
    return redirect(url_for("console.accounts"), 303)


@bp.post("/accounts/<username>/role")
@roles_required(*ADMINS)
def change_role(username: str):
    """Change an account's role."""
    with services().db.read() as db:
        user_id = db.scalar(select(StaffUser.id).where(StaffUser.username == username))
    if user_id is None:
        abort(404)
    form = forms.RoleForm(prefix=f"role-{user_id}")
    if not form.validate_on_submit():
        flash(f"Not changed. {_errors(form)}", "error")
        return redirect(url_for("console.accounts"), 303)
    return _change(username, lambda db: staff.set_role(db, current_user.username, username,
                                                       form.role.data),
                   "The role of {username} is now " + form.role.data.replace("_", " ") + ".")


@bp.post("/accounts/<username>/deactivate")
@roles_required(*ADMINS)
def deactivate_account(username: str):
    """Deactivate an account: its sessions end and it can no longer sign in."""
    return _change(username, lambda db: staff.set_active(db, current_user.username,
                                                         username, False),
                   "{username} is deactivated and signed out everywhere.")


@bp.post("/accounts/<username>/activate")
@roles_required(*ADMINS)
def activate_account(username: str):
    """Reactivate an account."""
    return _change(username, lambda db: staff.set_active(db, current_user.username,
                                                         username, True),
                   "{username} can sign in again.")


@bp.post("/accounts/<username>/reset-password")
@roles_required(*ADMINS)
def reset_password(username: str):
    """Give an account a temporary password, shown once; its sessions end."""
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    s = services()
    try:
        with s.db.write() as db:
            user, password = staff.reset_password(db, s, current_user.username, username)
    except staff.AccountRefused as exc:
        flash(f"Not reset. {exc}", "error")
        return redirect(url_for("console.accounts"), 303)
    return _shown_once("Password reset", user.username, password,
                       "They have been signed out everywhere. Give this temporary password "
                       "to them in person or by phone. It works for 72 hours; they must "
                       "choose their own at sign-in.")


@bp.post("/api-tokens")
@roles_required(*ADMINS)
def create_token():
    """Create an API token with the chosen scopes, shown once."""
    form = forms.NewTokenForm(prefix="token")
    if not form.validate_on_submit():
        flash(f"Not created. {_errors(form)}", "error")
        return _page(new_token=form, status=400)
    try:
        with services().db.write() as db:
            row, token = staff.create_token(db, current_user.username, form.name.data,
                                            form.scopes.data)
    except staff.AccountRefused as exc:
        flash(f"Not created. {exc}", "error")
        return _page(new_token=form, status=400)
    return _shown_once("API token created", f"{row.name} ({row.scopes})", token,
                       "Put it straight into the system that will use it. Send it as "
                       "'Authorization: Bearer <token>'.")


@bp.post("/api-tokens/<int:token_id>/revoke")
@roles_required(*ADMINS)
def revoke_token(token_id: int):
    """Revoke an API token."""
    return _change(str(token_id), lambda db: staff.revoke_token(db, current_user.username,
                                                               token_id),
                   "API token {username} is revoked.")
