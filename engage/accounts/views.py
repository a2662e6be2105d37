"""Account pages: register, sign in (with two-factor), recover, preferences, own data."""

from __future__ import annotations

import json
import time

import segno
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from engage.accounts import services
from engage.accounts.forms import (
    ChangePasswordForm,
    CloseAccountForm,
    CodeForm,
    ContactForm,
    EmptyForm,
    ForgotForm,
    JoinStaffForm,
    NewPasswordForm,
    RecoverForm,
    RegisterForm,
    SignInForm,
)
from engage.accounts.models import User
from engage.core import clock, notify, page_shell
from engage.core.permissions import Permission, can
from engage.core.personal_data import closure_preview
from engage.core.ratelimit import account_key, address_key, allowance_left
from engage.core.security import safe_path
from engage.errors import DomainError
from engage.extensions import db, limiter

bp = Blueprint("accounts", __name__)

PENDING_2FA = "pending_two_factor"


def _failed_attempt(response: Response) -> bool:
    return response.status_code != 302


def _limit(name: str):
    return lambda: current_app.config[name]


def start_session(user: User) -> None:
    """A brand-new session for the signed-in person (the old one is thrown away)."""
    next_url = session.get("next")
    session.clear()
    login_user(user)
    now = time.time()
    # A new server-side session: signing out deletes it, so a copied cookie stops working.
    session["sid"] = services.open_session(user)
    session["login_at"] = now
    session["seen_at"] = now
    session["next"] = next_url
    services.record_sign_in(user)


def _after_sign_in():
    target = safe_path(session.pop("next", None))
    if current_user.needs_two_factor_setup:
        return redirect(url_for("accounts.two_factor_setup"))
    return redirect(target or url_for("accounts.account"))


# --- registration ----------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_limit("REGISTER_LIMIT_PER_CLIENT"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            account = services.register_member(
                username=form.username.data,
                display_name=form.display_name.data,
                password=form.password.data,
                email=form.email.data,
            )
        except DomainError as error:
            _attach_error(form, error.message)
        else:
            start_session(account.user)
            if account.recovery_codes:
                return render_template("accounts/recovery_codes.html",
                                       codes=account.recovery_codes, first_time=True)
            flash("Welcome. Your account is ready.", "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/register.html", form=form)


def _attach_error(form, message: str) -> None:
    """Put a service's message on the field it is about, so the person sees it in place."""
    lowered = message.lower()
    if "username" in lowered and hasattr(form, "username"):
        form.username.errors.append(message)
    elif hasattr(form, "password"):
        form.password.errors.append(message)
    else:
        form.form_errors.append(message)


# --- signing in and out ------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_failed_attempt)
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=account_key, methods=["POST"],
               deduct_when=_failed_attempt)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    if request.method == "GET" and request.args.get("next"):
        session["next"] = safe_path(request.args.get("next"))
    form = SignInForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is None:
            form.form_errors.append(
                "We could not sign you in with that username and password. Check them and "
                "try again."
            )
        elif user.has_two_factor:
            session[PENDING_2FA] = {"id": user.id, "at": time.time()}
            return redirect(url_for("accounts.two_factor"))
        else:
            start_session(user)
            return _after_sign_in()
    return render_template("accounts/sign_in.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_2FA)
    if not pending or time.time() - pending.get("at", 0) > 300:
        return None
    return db.session.get(User, pending["id"])


def _pending_key() -> str:
    pending = session.get(PENDING_2FA) or {}
    return f"2fa:{pending.get('id', '')}"


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_pending_key, methods=["POST"],
               deduct_when=_failed_attempt)
def two_factor():
    user = _pending_user()
    if user is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("accounts.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        if services.second_factor_ok(user, form.code.data):
            start_session(user)
            return _after_sign_in()
        form.code.errors.append(
            "That code did not work. Enter the newest 6-digit code from your authenticator "
            "app, or one of your recovery codes."
        )
    return render_template("accounts/two_factor.html", form=form)


@bp.post("/sign-out")
def sign_out():
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("core.home"))


# --- recovery ----------------------------------------------------------------------------------


@bp.route("/account/recover", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_failed_attempt)
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), key_func=account_key, methods=["POST"],
               deduct_when=_failed_attempt)
def recover():
    form = RecoverForm()
    if form.validate_on_submit():
        try:
            services.reset_password_with_recovery_code(
                form.username.data, form.code.data, form.password.data
            )
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash("Your new password is set. Please sign in with it.", "success")
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/recover.html", form=form)


@bp.route("/account/forgot", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_CLIENT"), methods=["POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        # Per address as well as per client, silently: the page is the same either way.
        if allowance_left(current_app.config["PASSWORD_RESET_LIMIT_PER_ADDRESS"],
                          "password-reset", address_key(form.email.data)):
            services.request_password_reset(form.email.data)
        return render_template("accounts/forgot_sent.html")
    return render_template("accounts/forgot.html", form=form)


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    services.user_for_reset_token(token)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            flash("Your new password is set. Please sign in with it.", "success")
            return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset.html", form=form)


# --- account -----------------------------------------------------------------------------------


@bp.get("/account")
@login_required
def account():
    # Kept (engage/core/page_shell.py): what differs between people is in `facts` or `fills`.
    user = current_user._get_current_object()
    facts = {"by_email": user.email_is_safe, "discreet": user.discreet_mode,
             "staff": user.is_staff, "two_factor": user.is_staff and user.has_two_factor,
             "may_close": can(user, Permission.CLOSE_OWN_ACCOUNT)}
    return page_shell.kept_page(
        "accounts/account.html", key=tuple(facts.values()), **facts,
        fills={"display_name": user.display_name, "username": user.username,
               "recovery_left": services.own_recovery_codes_left(user)},
    )


@bp.route("/account/contact", methods=["GET", "POST"])
@login_required
def contact():
    form = ContactForm(
        obj=None,
        data=None if request.method == "POST" else {
            "email": current_user.email,
            "email_is_safe": current_user.email_is_safe,
            "discreet_mode": "on" if current_user.discreet_mode else "off",
        },
    )
    if form.validate_on_submit():
        services.update_contact_preferences(
            current_user,
            email=form.email.data,
            email_is_safe=form.email_is_safe.data,
            discreet_mode=form.discreet_mode.data != "off",
        )
        flash(_contact_summary(current_user), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/contact.html", form=form)


def _contact_summary(user: User) -> str:
    if not user.email_is_safe:
        return "Saved. We will not email you; you will find messages on your notifications page."
    if user.discreet_mode:
        return ("Saved. Our emails will have a neutral subject and no content: you sign in to "
                "read them.")
    return "Saved. Our emails will include the message itself."


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data,
                                     form.password.data)
        except DomainError as error:
            field = form.current_password if "current" in error.message else form.password
            field.errors.append(error.message)
        else:
            start_session(current_user._get_current_object())
            flash("Your password has been changed. Other devices have been signed out.",
                  "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("accounts.account"))
    services.sign_out_everywhere(current_user)
    logout_user()
    session.clear()
    flash("You have been signed out on every device, including this one.", "success")
    return redirect(url_for("accounts.sign_in"))


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
@login_required
def recovery_codes():
    form = EmptyForm()
    if form.validate_on_submit():
        codes = services.issue_recovery_codes(current_user)
        return render_template("accounts/recovery_codes.html", codes=codes, first_time=False)
    return render_template("accounts/recovery_codes_new.html", form=form,
                           left=services.unused_recovery_code_count(current_user))


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    if current_user.has_two_factor:
        flash("Two-factor authentication is already set up.", "info")
        return redirect(url_for("accounts.account"))
    secret = services.start_two_factor(current_user)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = services.confirm_two_factor(current_user, form.code.data)
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            return render_template("accounts/recovery_codes.html", codes=codes,
                                   first_time=True, two_factor=True)
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        secret=secret,
        qr_svg=_qr_data_uri(services.provisioning_uri(current_user)),
    )


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


# --- own data ----------------------------------------------------------------------------------


@bp.route("/account/export", methods=["GET", "POST"])
@login_required
def export():
    form = EmptyForm()
    if form.validate_on_submit():
        data = services.export_own_data(current_user)
        body = json.dumps(data, indent=2, ensure_ascii=False)
        filename = f"engage-my-data-{clock.today_london().isoformat()}.json"
        return Response(
            body,
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return render_template("accounts/export.html", form=form)


@bp.route("/account/close", methods=["GET", "POST"])
@login_required
def close():
    if not can(current_user, Permission.CLOSE_OWN_ACCOUNT):
        flash("Staff accounts are closed by an admin, so nothing is lost from the records "
              "you look after. Please ask an admin.", "info")
        return redirect(url_for("accounts.account"))
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            services.close_account(current_user, form.password.data,
                                   keep_contributions=form.contributions.data == "keep")
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            logout_user()
            session.clear()
            return render_template("accounts/closed.html")

    return render_template("accounts/close.html", form=form,
                           preview=closure_preview(current_user))


# --- notifications -----------------------------------------------------------------------------


@bp.get("/notifications")
@login_required
def notifications():
    return render_template("accounts/notifications.html",
                           notifications=notify.notifications_of(current_user), form=EmptyForm())


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = notify.own_notification(current_user, notification_id)
    if EmptyForm().validate_on_submit():
        notify.mark_read(notification)
        flash("Message marked as read.", "success")
    return redirect(url_for("accounts.notifications"))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    if EmptyForm().validate_on_submit():
        notify.mark_all_read(current_user)
        flash("All messages marked as read.", "success")
    return redirect(url_for("accounts.notifications"))


# --- staff invitations -------------------------------------------------------------------------


@bp.route("/staff/join/<token>", methods=["GET", "POST"])
def join_staff(token: str):
    invitation = services.invitation_for_token(token)
    form = JoinStaffForm()
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, username=form.username.data,
                                              password=form.password.data)
        except DomainError as error:
            _attach_error(form, error.message)
        else:
            start_session(user)
            flash("Your account is ready. Next, set up two-factor authentication.", "success")
            return redirect(url_for("accounts.two_factor_setup"))
    return render_template("accounts/join_staff.html", form=form, invitation=invitation)
