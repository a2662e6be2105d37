"""Panel pages: list, panel page, set-up, applications, membership choices, attribution."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.core.permissions import Permission
from engage.errors import DomainError, NotFound
from engage.panels import programmes, services
from engage.panels.agreement import INVOLVEMENT_AGREEMENT_POINTS, INVOLVEMENT_AGREEMENT_VERSION
from engage.panels.forms import (
    ApplyForm,
    AttributionForm,
    DecisionForm,
    EmptyForm,
    PanelForm,
    PanelMessageForm,
    default_accept_message,
    default_decline_message,
)
from engage.panels.models import MembershipState, Panel, PanelStaffRole

bp = Blueprint("panels", __name__, url_prefix="/panels")


def _user():
    return current_user if current_user.is_authenticated else None


def _managed_panel(panel_id: int) -> Panel:
    """A panel the current member of staff runs; any other panel is 'not found' to them."""
    panel = services.get_panel(panel_id, _user())
    if not services.can_manage_panel(current_user, panel):
        raise NotFound()
    return panel


def _fill_staff_choices(form: PanelForm, panel: Panel | None = None) -> None:
    form.facilitators.choices = [(u.id, u.display_name) for u in services.staff_choices()]
    form.leads.choices = [(u.id, u.display_name) for u in services.lead_choices()]
    if not programmes.can_manage_programmes(current_user):
        del form.programme  # the panel keeps its programme
        return
    choices = [("", _("No programme"))]
    choices += [(str(p.id), p.name) for p in programmes.active_programmes()]
    if panel is not None and panel.programme is not None and not panel.programme.is_active:
        choices.append((str(panel.programme.id), _("%(name)s (no longer active)",
                                                   name=panel.programme.name)))
    form.programme.choices = choices


def _programme_details(form: PanelForm) -> dict:
    if "programme" not in form:
        return {}
    value = form.programme.data or ""
    return {"set_programme": True, "programme_id": int(value) if value.isdigit() else None}


def _details(form: PanelForm) -> services.PanelDetails:
    return services.PanelDetails(
        name=form.name.data or "",
        purpose=form.purpose.data or "",
        who_for=form.who_for.data or "",
        terms_of_reference=form.terms_of_reference.data or "",
        group_agreement=form.group_agreement.data or "",
        involvement_level=int(form.involvement_level.data),
        visibility=form.visibility.data,
        open_for_applications=bool(form.open_for_applications.data),
        size_limit=form.size_limit.data,
        facilitator_ids=tuple(form.facilitators.data or ()),
        lead_ids=tuple(form.leads.data or ()),
        **_programme_details(form),
    )


# --- list and panel page --------


@bp.get("/")
def index():
    user = _user()
    panels = services.visible_panels(user)
    memberships = {m.panel_id: m for m in services.memberships_of(user)}
    return render_template(
        "panels/index.html", panels=panels, memberships=memberships,
        can_create=services.can_create_panels(user),
        can_manage_programmes=programmes.can_manage_programmes(user),
        managed_ids={p.id for p in services.managed_panels(user)},
    )


@bp.get("/<int:panel_id>")
def detail(panel_id: int):
    user = _user()
    panel = services.get_panel(panel_id, user)
    membership = panel.membership_of(user)
    inside = services.can_see_panel_inside(user, panel)
    can_manage = services.can_manage_panel(user, panel)
    return render_template(
        "panels/detail.html",
        panel=panel,
        membership=membership,
        inside=inside,
        can_manage=can_manage,
        members=services.members_for_listing(panel) if inside else [],
        messages=services.panel_messages(panel) if inside else [],
        sections=services.panel_sections(panel, user) if inside else [],
        waiting=len(services.applications(panel, [MembershipState.APPLIED])) if can_manage
        else 0,
        leads=panel.staff_with_role(PanelStaffRole.LIVED_EXPERIENCE_LEAD),
        facilitators=panel.staff_with_role(PanelStaffRole.FACILITATOR),
        can_apply=(user is not None and panel.open_for_applications
                   and not panel.is_facilitator(user) and
                   (membership is None or membership.state in (MembershipState.LEFT,
                                                               MembershipState.DECLINED))),
        form=EmptyForm(),
    )


# --- setting up panels --------


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PANELS)
def create():
    form = PanelForm()
    _fill_staff_choices(form)
    if request.method == "GET":
        form.facilitators.data = [current_user.id]
    if form.validate_on_submit():
        try:
            panel = services.create_panel(current_user, _details(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The panel is set up."), "success")
            return redirect(url_for("panels.detail", panel_id=panel.id))
    return render_template("panels/form.html", form=form, panel=None)


@bp.route("/<int:panel_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PANELS)
def edit(panel_id: int):
    panel = _managed_panel(panel_id)
    form = PanelForm(obj=panel if request.method == "GET" else None)
    _fill_staff_choices(form, panel)
    if request.method == "GET":
        form.involvement_level.data = str(panel.involvement_level)
        if "programme" in form:
            form.programme.data = str(panel.programme_id or "")
        form.facilitators.data = [s.user_id for s in panel.staff
                                  if s.role == PanelStaffRole.FACILITATOR]
        form.leads.data = [s.user_id for s in panel.staff
                           if s.role == PanelStaffRole.LIVED_EXPERIENCE_LEAD]
    if form.validate_on_submit():
        try:
            services.update_panel(current_user, panel, _details(form))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Your changes to the panel are saved."), "success")
            return redirect(url_for("panels.detail", panel_id=panel.id))
    return render_template("panels/form.html", form=form, panel=panel)


# --- applying --------


@bp.route("/<int:panel_id>/apply", methods=["GET", "POST"])
@login_required
def apply(panel_id: int):
    panel = services.get_panel(panel_id, current_user)
    membership = panel.membership_of(current_user)
    if request.method == "GET":
        if membership is not None and membership.state not in (MembershipState.LEFT,
                                                                MembershipState.DECLINED):
            flash(_("You have already applied to this panel, or you are a member."), "info")
            return redirect(url_for("panels.detail", panel_id=panel.id))
        if not panel.open_for_applications:
            flash(_("This panel is not taking applications at the moment."), "info")
            return redirect(url_for("panels.detail", panel_id=panel.id))
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            services.apply_to_panel(current_user, panel,
                                    why_joining=form.why_joining.data or "",
                                    access_needs=form.access_needs.data or "",
                                    accepted_agreement=bool(form.accept_agreement.data))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Thank you. Your application has been sent. We will let you know the "
                    "answer here, and by email only if you have told us that email is safe."),
                  "success")
            return redirect(url_for("panels.detail", panel_id=panel.id))
    return render_template("panels/apply.html", panel=panel, form=form,
                           agreement_points=INVOLVEMENT_AGREEMENT_POINTS,
                           agreement_version=INVOLVEMENT_AGREEMENT_VERSION,
                           notices=services.role_notices(current_user, panel.involvement_level,
                                                         f"panel {panel.id}"))


@bp.get("/<int:panel_id>/applications")
@require(Permission.MANAGE_PANELS)
def applications(panel_id: int):
    panel = _managed_panel(panel_id)
    waiting = services.applications(panel, [MembershipState.APPLIED])
    members = services.members_for_listing(panel)
    past = services.applications(panel, [MembershipState.LEFT, MembershipState.DECLINED])
    return render_template("panels/applications.html", panel=panel, waiting=waiting,
                           members=members, past=past,
                           can_read=services.can_read_support_needs(current_user, panel))


def _decision_forms(panel: Panel, posted: str | None = None, form=None):
    accept = DecisionForm(prefix="accept", formdata=None,
                          data={"message": default_accept_message(panel.name)})
    decline = DecisionForm(prefix="decline", formdata=None,
                           data={"message": default_decline_message(panel.name)})
    if posted == "accept":
        accept = form
    elif posted == "decline":
        decline = form
    return accept, decline


@bp.get("/<int:panel_id>/applications/<int:membership_id>")
@require(Permission.MANAGE_PANELS)
def application(panel_id: int, membership_id: int):
    panel = _managed_panel(panel_id)
    membership = services.get_application(current_user, panel, membership_id)
    accept, decline = _decision_forms(panel)
    return render_template("panels/application.html", panel=panel, membership=membership,
                           accept_form=accept, decline_form=decline,
                           can_read=services.can_read_support_needs(current_user, panel))


@bp.post("/<int:panel_id>/applications/<int:membership_id>/<any(accept, decline):decision>")
@require(Permission.MANAGE_PANELS)
def decide(panel_id: int, membership_id: int, decision: str):
    panel = _managed_panel(panel_id)
    membership = services.get_application(current_user, panel, membership_id)
    form = DecisionForm(prefix=decision)
    if form.validate_on_submit():
        try:
            if decision == "accept":
                services.accept_application(current_user, membership, form.message.data)
            else:
                services.decline_application(current_user, membership, form.message.data)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s has been told.", name=membership.user.display_name), "success")
            return redirect(url_for("panels.applications", panel_id=panel.id))
    accept, decline = _decision_forms(panel, decision, form)
    return render_template("panels/application.html", panel=panel, membership=membership,
                           accept_form=accept, decline_form=decline,
                           can_read=services.can_read_support_needs(current_user, panel)), 400


# --- a member's own choices ----------------------------------------------------------------------


def _own_choice(panel_id: int, action, done_message: str):
    # CSRF is checked for every POST before the view runs (Flask-WTF's CSRFProtect).
    panel = services.get_panel(panel_id, current_user)
    action(current_user, panel)
    flash(done_message, "success")
    return redirect(url_for("panels.detail", panel_id=panel.id))


@bp.post("/<int:panel_id>/break")
@login_required
def take_break(panel_id: int):
    return _own_choice(panel_id, services.take_break, _(
        "You are taking a break. You will not get messages from this panel until you come "
        "back, and you keep your place. Come back whenever you are ready."))


@bp.post("/<int:panel_id>/come-back")
@login_required
def come_back(panel_id: int):
    return _own_choice(panel_id, services.come_back, _("Welcome back."))


@bp.route("/<int:panel_id>/leave", methods=["GET", "POST"])
@login_required
def leave(panel_id: int):
    if request.method == "POST":
        return _own_choice(panel_id, services.leave_panel, _(
            "You have left the panel. Thank you for everything you gave. You are welcome back "
            "at any time."))
    panel = services.get_panel(panel_id, current_user)
    membership = services.own_membership(current_user, panel)
    return render_template("panels/leave.html", panel=panel, membership=membership,
                           form=EmptyForm())


# --- messaging the panel --------


@bp.route("/<int:panel_id>/message", methods=["GET", "POST"])
@require(Permission.MANAGE_PANELS)
def message(panel_id: int):
    panel = _managed_panel(panel_id)
    form = PanelMessageForm()
    recipients = services.active_members(panel)
    if form.validate_on_submit():
        try:
            services.message_panel(current_user, panel, form.subject.data, form.body.data)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(ngettext("Your message was sent to %(num)s member.",
                           "Your message was sent to %(num)s members.", len(recipients)), "success")
            return redirect(url_for("panels.detail", panel_id=panel.id))
    return render_template("panels/message.html", panel=panel, form=form,
                           recipient_count=len(recipients))


# --- attribution --------


@bp.route("/attribution", methods=["GET", "POST"])
@login_required
def attribution():
    pref = services.attribution_of(current_user)
    form = AttributionForm(data=None if request.method == "POST" else {
        "choice": pref.choice, "pseudonym": pref.pseudonym or ""})
    if form.validate_on_submit():
        try:
            services.set_attribution(current_user, form.choice.data, form.pseudonym.data or "")
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Saved. This applies to anything we quote from now on."), "success")
            return redirect(url_for("panels.attribution"))
    return render_template("panels/attribution.html", form=form, pref=pref)
