"""Admin pages: staff accounts and roles, invitations, role grants waiting for a second admin,
and the audit log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from engage.accounts import services
from engage.accounts.decorators import require
from engage.accounts.forms import EmptyForm
from engage.accounts.models import User
from engage.core import audit
from engage.core.models import AuditEvent
from engage.core.permissions import ROLE_LABELS, STAFF_ROLES, Permission, Role
from engage.errors import DomainError, NotFound
from engage.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50

STAFF_ROLE_CHOICES = [(str(r), ROLE_LABELS[r]) for r in Role if r in STAFF_ROLES]
ALL_ROLE_CHOICES = [(str(r), ROLE_LABELS[r]) for r in Role]


class InviteForm(FlaskForm):
    display_name = StringField("Name", validators=[
        DataRequired(message="Enter the person's name"),
        Length(max=80, message="Use 80 characters or fewer.")])
    email = EmailField("Email address (optional)", validators=[
        Optional(), Email(message="Enter an email address like name@example.org, or leave it "
                                  "empty and share the link yourself.")])
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES)


class RolesForm(FlaskForm):
    roles = SelectMultipleField(
        "Roles",
        choices=ALL_ROLE_CHOICES,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    disabled = BooleanField("Account disabled (signs the person out everywhere)")


@bp.get("/")
@require(Permission.MANAGE_STAFF)
def index():
    staff = db.session.scalars(select(User).options(selectinload(User.roles))
                               .order_by(User.username_key)).all()
    staff = [u for u in staff if u.is_staff]
    member_count = db.session.scalar(select(func.count()).select_from(User)) - len(staff)
    return render_template("admin/index.html", staff=staff, member_count=member_count,
                           waiting=len(services.pending_grants()))


@bp.route("/staff/invite", methods=["GET", "POST"])
@require(Permission.MANAGE_STAFF)
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        result = services.invite_staff(current_user, role=Role(form.role.data),
                                       display_name=form.display_name.data,
                                       email=form.email.data)
        link = url_for("accounts.join_staff", token=result.token, _external=True)
        return render_template("admin/invited.html", invitation=result.invitation, link=link)
    return render_template("admin/invite.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require(Permission.MANAGE_STAFF)
def user_detail(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    form = RolesForm(data=None if request.method == "POST" else {
        "roles": sorted(user.role_set), "disabled": user.is_disabled})
    if form.validate_on_submit():
        try:
            waiting = services.set_roles(current_user, user, {Role(r) for r in form.roles.data})
            if form.disabled.data != user.is_disabled:
                services.set_disabled(current_user, user, form.disabled.data)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(f"Saved changes for {user.display_name}.", "success")
            if waiting:
                flash(_("Giving the role %(roles)s waits for another admin to approve it. The "
                        "other admins have been told.",
                        roles=", ".join(ROLE_LABELS[Role(r.role)] for r in waiting)), "info")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form,
                           waiting=services.pending_grants_for(user))


@bp.get("/approvals")
@require(Permission.MANAGE_STAFF)
def approvals():
    return render_template("admin/approvals.html", requests=services.pending_grants(),
                           may_approve=lambda r: services.may_approve(current_user, r),
                           form=EmptyForm())


@bp.post("/approvals/<int:request_id>/approve")
@require(Permission.MANAGE_STAFF)
def approve(request_id: int):
    if EmptyForm().validate_on_submit():
        request_row = services.approve_grant(current_user, request_id)
        flash(_("Approved: %(name)s has the role %(role)s.", name=request_row.target_name,
                role=ROLE_LABELS[Role(request_row.role)]), "success")
    return redirect(url_for("admin.approvals"))


@bp.post("/approvals/<int:request_id>/decline")
@require(Permission.MANAGE_STAFF)
def decline(request_id: int):
    if EmptyForm().validate_on_submit():
        request_row = services.decline_grant(current_user, request_id)
        flash(_("Taken back.") if request_row.outcome == "cancelled" else _("Declined."),
              "success")
    return redirect(url_for("admin.approvals"))


@bp.get("/audit")
@require(Permission.VIEW_AUDIT_LOG)
def audit_log():
    before = request.args.get("before", type=int)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    if before:
        query = query.where(AuditEvent.id < before)
    rows = db.session.scalars(query).all()
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    return render_template("admin/audit.html", events=rows, actors=actors, has_more=has_more,
                           next_before=rows[-1].id if rows else None, form=EmptyForm(),
                           anonymous_counts=audit.anonymous_counts())
