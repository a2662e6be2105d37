"""Payments pages: preferences, claims, receipts, "my payments", approvals and the policy."""

from __future__ import annotations

import io
import secrets
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from engage.accounts.decorators import require
from engage.accounts.models import User
from engage.core import clock
from engage.core.csv import write_csv
from engage.core.money import format_pence
from engage.core.permissions import Permission
from engage.core.security import csp
from engage.core.storage import FileMissing
from engage.errors import DomainError, NotFound
from engage.extensions import csrf, db
from engage.panels.models import Panel
from engage.panels.programmes import all_programmes
from engage.payments import (
    advances,
    bank,
    gateway,
    ledger,
    payroll,
    policy,
    receipts,
    reports,
    services,
)
from engage.payments import payouts as payout_service
from engage.payments.calculation import tax_year_label, tax_year_start
from engage.payments.forms import (
    BulkApproveForm,
    ExpenseClaimForm,
    ExpenseForm,
    FinanceRejectForm,
    FinanceReturnForm,
    LateOverrideForm,
    LeadApproveForm,
    LeadRejectForm,
    LeadReturnForm,
    NoteForm,
    OtherPaymentForm,
    PayrollExportForm,
    PolicyVersionForm,
    PreferencesForm,
    ReasonForm,
    SchemeForm,
    SubmitClaimForm,
    SupportForm,
    WithdrawForm,
    pounds,
)
from engage.payments.models import (
    BENEFITS_NOTICE_VERSION,
    Capacity,
    Claim,
    ClaimState,
    LedgerEntry,
    LedgerEntryType,
    PaymentChoice,
    PaymentRoute,
    PaymentScheme,
    PayoutBatch,
    PolicyVersion,
)

bp = Blueprint("payments", __name__, url_prefix="/payments")


def _fail(error: DomainError) -> None:
    if isinstance(error, NotFound):
        abort(404)
    if error.status_code == 403:
        abort(403)
    flash(error.message, "error")


# ---------------------------------------------------------------------------------------------
# Member: my payments, preferences, statement
# ---------------------------------------------------------------------------------------------


@bp.get("/")
@require(Permission.USE_ACCOUNT)
def index():
    claims = services.claims_of(current_user)
    return render_template("payments/index.html", claims=claims,
                           preferences=services.preferences_of(current_user),
                           bank_offered=bank.offered(),
                           this_year=tax_year_start(clock.today_london()))


@bp.route("/preferences", methods=["GET", "POST"])
@require(Permission.USE_ACCOUNT)
def preferences():
    pref = services.preferences_of(current_user)
    form = PreferencesForm(data=None if request.method == "POST" else {
        "choice": pref.choice, "cap": pounds(pref.cap_pence), "route": pref.route,
        "capacity": pref.capacity, "payroll_number": pref.payroll_number or "",
        "legal_name": pref.legal_name or "", "access_needs_taxi": pref.access_needs_taxi})
    _offer_bank_transfer_only_when_set_up(form)
    if form.validate_on_submit():
        try:
            services.update_preferences(
                current_user, choice=form.choice.data, cap_pence=form.cap.pence,
                route=form.route.data, capacity=form.capacity.data,
                payroll_number=form.payroll_number.data, legal_name=form.legal_name.data,
                access_needs_taxi=form.access_needs_taxi.data)
        except DomainError as error:
            form.form_errors.append(error.message)
            return render_template("payments/preferences.html", form=form, pref=pref), 400
        flash(_("Your payment preferences are saved. You can change them at any time."),
              "success")
        return redirect(url_for("payments.index"))
    if request.method == "GET":
        # The benefits and tax notice is on this page, shown before anyone accepts payments.
        services.record_notice_seen(current_user)
    return render_template("payments/preferences.html", form=form, pref=pref)


def _offer_bank_transfer_only_when_set_up(form: PreferencesForm) -> None:
    if not bank.offered():
        form.route.choices = [(value, label) for value, label in form.route.choices
                              if value != PaymentRoute.STRIPE]


@bp.get("/statement")
@require(Permission.USE_ACCOUNT)
def statement():
    year = request.args.get("year", type=int) or tax_year_start(clock.today_london())
    data = reports.statement(current_user.id, year)
    return render_template("payments/statement.html", data=data, year=year,
                           label=tax_year_label(date(year, 4, 6)))


@bp.get("/statement.csv")
@require(Permission.USE_ACCOUNT)
def statement_csv():
    year = request.args.get("year", type=int) or tax_year_start(clock.today_london())
    data = reports.statement(current_user.id, year)
    body = write_csv(reports.STATEMENT_HEADER, reports.statement_rows(data))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="payments-{year}-{year + 1}.csv"'})


# ---------------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------------


@bp.route("/claims/new", methods=["GET", "POST"])
@require(Permission.USE_ACCOUNT)
def new_claim():
    form = ExpenseClaimForm()
    panels = services.panels_for_expense_claims(current_user)
    form.panel_id.choices = [(0, _("Choose a panel"))] + [(p.id, p.name) for p in panels]
    status = 200
    if form.validate_on_submit():
        try:
            claim = services.create_expense_claim(
                current_user, title=form.title.data,
                activity_date=form.activity_date.data, panel_id=form.panel_id.data)
        except DomainError as error:
            form.form_errors.append(error.message)
            status = 400
        else:
            flash(_("Your expense claim is started. Add each expense below, then send it."),
                  "success")
            return redirect(url_for("payments.claim", claim_id=claim.id))
    elif request.method == "POST":
        status = 400
    return render_template("payments/new_claim.html", form=form, panels=panels), status


def _expense_form(claim: Claim) -> ExpenseForm:
    form = ExpenseForm()
    version = claim.policy_version
    form.category.choices = [("", _("Choose a type"))] + [
        (r.category, r.label) for r in (version.expense_rules if version else [])]
    if request.method == "GET":
        form.expense_date.data = claim.activity_date
    return form


ACTION_FORMS = {
    "finance_approve": NoteForm,
    "lead_approve": LeadApproveForm, "lead_return": LeadReturnForm,
    "lead_reject": LeadRejectForm, "late_override": LateOverrideForm,
    "finance_reject": FinanceRejectForm, "finance_return": FinanceReturnForm,
    "withdraw": WithdrawForm,
}


def _submit_form(claim: Claim) -> SubmitClaimForm:
    pref = services.preferences_of(current_user)
    return SubmitClaimForm(formdata=None, data={
        "decline_this_time": claim.declined_for_activity,
        "capacity": services.capacity_of(claim, pref)})


def _render_claim(claim: Claim, expense_form=None, submit_form=None, action=None,
                  status=200, other_form=None):
    """The claim page. `action` is (name, form) of an action form sent with a problem, shown
    with its error and what was typed."""
    result = services.work_out(claim) if claim.is_editable else None
    own = claim.user_id == current_user.id
    forms = {name: form_class(formdata=None) for name, form_class in ACTION_FORMS.items()}
    if action is not None:
        forms[action[0]] = action[1]
    finance = services.is_finance(current_user) and not own
    return render_template(
        "payments/claim.html", claim=claim, result=result, own=own,
        expense_form=expense_form or _expense_form(claim),
        submit_form=submit_form or _submit_form(claim), forms=forms,
        support=services.support_for(claim), deadline=services.deadline_of(claim),
        past_deadline=services.is_past_deadline(claim),
        expense_window=services.expense_window(claim) if own and claim.is_editable else None,
        is_lead=services.is_lead_for(current_user, claim) and not own,
        is_finance=finance, can_withdraw=finance and claim.state in
        services.WITHDRAWABLE_STATES,
        claimant=db.session.get(User, claim.user_id) if claim.user_id and not own else None,
        rules={r.category: r for r in (claim.policy_version.expense_rules
                                        if claim.policy_version else [])},
        ledger_entries=ledger.entries(claim.id) if finance else [],
        payout=payout_service.payout_of(claim),
        can_pay_by_bank=payout_service.can_pay_by_bank(),
        other_form=other_form or OtherPaymentForm(formdata=None),
    ), status


@bp.get("/claims/<int:claim_id>")
@login_required
def claim(claim_id: int):
    try:
        found = services.visible_claim(current_user, claim_id)
    except NotFound:
        abort(404)
    return _render_claim(found)


@bp.post("/claims/<int:claim_id>/expenses")
@require(Permission.USE_ACCOUNT)
def add_expense(claim_id: int):
    try:
        found = services.own_claim(current_user, claim_id)
    except NotFound:
        abort(404)
    form = _expense_form(found)
    if not form.validate_on_submit():
        return _render_claim(found, expense_form=form, status=400)
    upload = form.receipt.data
    receipt_file = None
    if upload and getattr(upload, "filename", ""):
        receipt_file = (upload.filename, upload.read(receipts.MAX_RECEIPT_BYTES + 1))
    try:
        services.add_expense(
            current_user, found, category=form.category.data,
            expense_date=form.expense_date.data, amount_pence=form.amount.pence,
            miles=form.miles.data, description=form.description.data,
            preapproved=form.preapproved.data, receipt_file=receipt_file)
    except DomainError as error:
        if isinstance(error, NotFound):
            abort(404)
        form.form_errors.append(error.message)
        return _render_claim(services.own_claim(current_user, claim_id), expense_form=form,
                             status=400)
    flash(_("Expense added. Check the new total below."), "success")
    return redirect(url_for("payments.claim", claim_id=claim_id) + "#calculation")


@bp.post("/claims/<int:claim_id>/expenses/<int:expense_id>/remove")
@require(Permission.USE_ACCOUNT)
def remove_expense(claim_id: int, expense_id: int):
    try:
        found = services.own_claim(current_user, claim_id)
        services.remove_expense(current_user, found, expense_id)
    except DomainError as error:
        _fail(error)
        return redirect(url_for("payments.claim", claim_id=claim_id))
    flash(_("Expense removed."), "success")
    return redirect(url_for("payments.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/submit")
@require(Permission.USE_ACCOUNT)
def submit_claim(claim_id: int):
    try:
        found = services.own_claim(current_user, claim_id)
    except NotFound:
        abort(404)
    form = SubmitClaimForm()
    if not form.validate_on_submit():
        return _render_claim(found, submit_form=form, status=400)
    try:
        services.submit_claim(current_user, found,
                              declined_for_activity=form.decline_this_time.data,
                              capacity=form.capacity.data)
    except DomainError as error:
        if isinstance(error, NotFound):
            abort(404)
        form.form_errors.append(error.message)
        return _render_claim(services.own_claim(current_user, claim_id), submit_form=form,
                             status=400)
    flash(_("Your claim has been sent. We will let you know when it moves on."), "success")
    return redirect(url_for("payments.claim", claim_id=claim_id))


@bp.get("/receipts/<int:receipt_id>")
@login_required
def receipt(receipt_id: int):
    try:
        found = services.receipt_for(current_user, receipt_id)
    except NotFound:
        abort(404)
    try:
        data = receipts.read(found.stored_name)
    except FileMissing:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=found.content_type, as_attachment=True,
                     download_name=f"receipt-{found.id}.{found.extension}")


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------


@bp.get("/lead")
@require(Permission.APPROVE_CLAIMS_AS_LEAD)
def lead_queue():
    return render_template("payments/lead_queue.html",
                           claims=services.lead_queue(current_user))


def _claim_action(claim_id: int, name: str, action, success: str):
    """Load the claim (404 if hidden), validate the action's form, call the service, redirect;
    a problem shows the claim page again with the message and what was typed."""
    found = db.session.get(Claim, claim_id)
    if found is None or not services.can_see_claim(current_user, found):
        abort(404)
    form = ACTION_FORMS[name]()
    if not form.validate_on_submit():
        return _render_claim(found, action=(name, form), status=400)
    try:
        action(found, form)
    except DomainError as error:
        if error.status_code == 403:
            abort(403)
        if isinstance(error, NotFound):
            abort(404)
        form.form_errors.append(error.message)
        return _render_claim(db.session.get(Claim, claim_id), action=(name, form),
                             status=400)
    flash(success, "success")
    return redirect(url_for("payments.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/lead-approve")
@require(Permission.APPROVE_CLAIMS_AS_LEAD)
def lead_approve(claim_id: int):
    return _claim_action(claim_id, "lead_approve", lambda c, f: services.lead_approve(
        current_user, c, f.reason.data), _("Claim approved. It is now with finance."))


@bp.post("/claims/<int:claim_id>/lead-return")
@require(Permission.APPROVE_CLAIMS_AS_LEAD)
def lead_return(claim_id: int):
    return _claim_action(claim_id, "lead_return", lambda c, f: services.lead_return(
        current_user, c, f.reason.data), _("Claim returned to the member with your reason."))


@bp.post("/claims/<int:claim_id>/lead-reject")
@require(Permission.APPROVE_CLAIMS_AS_LEAD)
def lead_reject(claim_id: int):
    return _claim_action(claim_id, "lead_reject", lambda c, f: services.lead_reject(
        current_user, c, f.reason.data), _("Claim not approved. The member has been told why."))


@bp.post("/claims/<int:claim_id>/finance-approve")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def finance_approve(claim_id: int):
    return _claim_action(claim_id, "finance_approve", lambda c, f: services.finance_approve(
        current_user, c), _("Claim approved for payment."))


@bp.post("/claims/<int:claim_id>/finance-reject")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def finance_reject(claim_id: int):
    return _claim_action(claim_id, "finance_reject", lambda c, f: services.finance_reject(
        current_user, c, f.reason.data), _("Claim not approved. The member has been told why."))


@bp.post("/claims/<int:claim_id>/finance-return")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def finance_return(claim_id: int):
    return _claim_action(claim_id, "finance_return", lambda c, f: services.finance_return(
        current_user, c, f.reason.data), _("Claim returned to the member with your reason."))


@bp.post("/claims/<int:claim_id>/withdraw-approval")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def withdraw_approval(claim_id: int):
    return _claim_action(claim_id, "withdraw", lambda c, f: services.withdraw_approval(
        current_user, c, f.withdraw_reason.data, f.to.data),
        _("Approval withdrawn. The claim will not be paid as it was."))


@bp.post("/claims/<int:claim_id>/late-override")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def late_override(claim_id: int):
    return _claim_action(claim_id, "late_override", lambda c, f: services.override_late(
        current_user, c, f.reason.data), _("Late claim accepted. You can now approve it."))


def _date_arg(name: str, problems: list[str], label: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        if not text.isascii():
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        problems.append(_("Enter the %(what)s as a date, like 2027-03-14.", what=label))
        return None


def _queue_filters(programmes) -> tuple[services.QueueFilters, list[str]]:
    """The queue's filters from the address; anything not understood is left out, with a
    message for dates typed wrongly."""
    problems: list[str] = []
    state = request.args.get("state") or None
    if state and state not in set(ClaimState):
        state = None
    route = request.args.get("route") or None
    if route and route not in set(PaymentRoute):
        route = None
    programme = request.args.get("programme") or None
    if programme != services.NO_PROGRAMME and not (
            programme and programme.isdigit() and int(programme) in {p.id for p in programmes}):
        programme = None
    activity = (request.args.get("activity") or "").strip()[:220] or None
    if activity and ":" not in activity:
        activity = None
    filters = services.QueueFilters(
        state=state, route=route, panel_id=request.args.get("panel", type=int),
        older_than_days=request.args.get("age", type=int), programme=programme,
        activity=activity, search=(request.args.get("q") or "").strip()[:120],
        date_from=_date_arg("from", problems, _("first activity date")),
        date_to=_date_arg("to", problems, _("last activity date")))
    return filters, problems


@bp.get("/finance")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def finance_queue():
    programmes = all_programmes()
    filters, problems = _queue_filters(programmes)
    page = services.queue_page(filters, request.args.get("page", 1, type=int))
    panels = db.session.scalars(select(Panel).order_by(Panel.name)).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "payments/finance_queue.html", page=page, claims=page.claims, form=BulkApproveForm(),
        states=list(ClaimState), panels=panels, programmes=programmes,
        activities=services.queue_activities(), no_programme=services.NO_PROGRAMME,
        filters=filters, problems=problems, args=args,
        overdue={c.id for c in page.claims if services.is_overdue(c)},
        flags=reports.open_flags(), balance=ledger.balance(),
        support_waiting=advances.waiting_count(),
        stuck_payouts=len(payout_service.stuck_payouts()))


@bp.post("/finance/bulk-approve")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def bulk_approve():
    form = BulkApproveForm()
    form.claim_ids.choices = [(int(v), v) for v in request.form.getlist("claim_ids")
                              if v.isdigit()]
    if not form.validate_on_submit() or not form.claim_ids.data:
        flash(_("Tick at least one claim to approve."), "error")
        return redirect(url_for("payments.finance_queue"))
    approved, problems = services.bulk_finance_approve(current_user, form.claim_ids.data)
    flash(ngettext("%(num)s claim approved for payment.",
                   "%(num)s claims approved for payment.", len(approved)), "success")
    for problem in problems:
        flash(problem, "error")
    return redirect(url_for("payments.finance_queue"))


# ---------------------------------------------------------------------------------------------
# Policy (admin)
# ---------------------------------------------------------------------------------------------


@bp.route("/policy", methods=["GET", "POST"])
@require(Permission.MANAGE_PAYMENT_POLICY)
def policy_index():
    form = SchemeForm()
    if form.validate_on_submit():
        try:
            scheme = policy.add_scheme(current_user, form.code.data, form.name.data,
                                       form.description.data or "")
        except DomainError as error:
            _fail(error)
        else:
            flash(_("Scheme added. Now add its first version."), "success")
            return redirect(url_for("payments.new_version", scheme_id=scheme.id))
    schemes = db.session.scalars(select(PaymentScheme).order_by(PaymentScheme.is_default.desc(),
                                                                PaymentScheme.name)).all()
    return render_template("payments/policy_index.html", schemes=schemes, form=form,
                           used={v.id for s in schemes for v in s.versions
                                 if policy.is_used(v)})


@bp.get("/policy/versions/<int:version_id>")
@require(Permission.MANAGE_PAYMENT_POLICY)
def policy_version(version_id: int):
    version = db.session.get(PolicyVersion, version_id)
    if version is None:
        abort(404)
    return render_template("payments/policy_version.html", version=version,
                           used=policy.is_used(version))


@bp.route("/policy/schemes/<int:scheme_id>/versions/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PAYMENT_POLICY)
def new_version(scheme_id: int):
    scheme = db.session.get(PaymentScheme, scheme_id)
    if scheme is None:
        abort(404)
    latest = scheme.versions[-1] if scheme.versions else None
    rules = {r.category: r for r in (latest.expense_rules if latest else [])}
    car = rules.get("car")
    bands = car.mileage_bands if car and car.mileage_bands else [[0, 45], [10000, 25]]
    defaults = {
        "label": "", "effective_from": None,
        "paid_levels": latest.paid_levels if latest else [4],
        "payment_mode": latest.payment_mode if latest else "day_rate",
        "half_day": pounds(latest.half_day_pence if latest else 7500),
        "full_day": pounds(latest.full_day_pence if latest else 15000),
        "hourly": pounds(latest.hourly_pence if latest else 0),
        "threshold_minutes": latest.threshold_minutes if latest else 240,
        "threshold_is_half_day": latest.threshold_is_half_day if latest else True,
        "claim_deadline_months": latest.claim_deadline_months if latest else 3,
        "target_payment_days": latest.target_payment_days if latest else 30,
        "cost_code": latest.cost_code if latest else "",
        "car_first_rate": bands[0][1], "car_band_miles": bands[1][0] if len(bands) > 1 else 10000,
        "car_after_rate": bands[1][1] if len(bands) > 1 else bands[0][1],
        "meals_cap": pounds(rules["meals"].cap_pence) if "meals" in rules else "",
        "accommodation_cap": pounds(rules["accommodation"].cap_pence)
        if "accommodation" in rules else "",
        "notes": "",
    }
    form = PolicyVersionForm(data=None if request.method == "POST" else defaults)
    if form.validate_on_submit():
        figures = policy.VersionFigures(
            label=form.label.data, effective_from=form.effective_from.data,
            paid_levels=form.paid_levels.data or [], payment_mode=form.payment_mode.data,
            half_day_pence=form.half_day.pence or 0, full_day_pence=form.full_day.pence or 0,
            threshold_minutes=form.threshold_minutes.data,
            threshold_is_half_day=form.threshold_is_half_day.data,
            hourly_pence=form.hourly.pence or 0,
            claim_deadline_months=form.claim_deadline_months.data,
            target_payment_days=form.target_payment_days.data,
            cost_code=form.cost_code.data or "", notes=form.notes.data or "",
            rules={
                "car": (None, False, False, [[0, form.car_first_rate.data],
                                             [form.car_band_miles.data,
                                              form.car_after_rate.data]]),
                "meals": (form.meals_cap.pence, True, False, []),
                "accommodation": (form.accommodation_cap.pence, True, True, []),
            },
        )
        try:
            version = policy.add_version(current_user, scheme, figures, latest)
        except DomainError as error:
            _fail(error)
        else:
            flash(_("New version added. Claims for activities from %(day)s will use it.",
                    day=version.effective_from.strftime("%-d %B %Y")), "success")
            return redirect(url_for("payments.policy_version", version_id=version.id))
    return render_template("payments/policy_new_version.html", form=form, scheme=scheme,
                           latest=latest)


@bp.app_template_filter("pence")
def pence_filter(value) -> str:
    return format_pence(int(value or 0))


@bp.app_context_processor
def payment_helpers() -> dict:
    return {"claim_state_label": lambda s: ClaimState(s).label,
            "route_label": lambda r: PaymentRoute(r).label,
            "capacity_label": lambda c: Capacity(c).label,
            "ledger_type_label": lambda t: LedgerEntryType(t).label,
            "category_label": policy.category_label,
            "notice_version": BENEFITS_NOTICE_VERSION, "PaymentChoice": PaymentChoice}


# ---------------------------------------------------------------------------------------------
# Bank account (Stripe Connect onboarding)
# ---------------------------------------------------------------------------------------------


@bp.route("/bank", methods=["GET", "POST"])
@require(Permission.USE_ACCOUNT)
def connect_bank():
    if request.method == "POST":
        NoteForm().validate_on_submit() or abort(400)
        try:
            url = bank.start_connection(
                current_user, return_url=url_for("payments.bank_return", _external=True),
                refresh_url=url_for("payments.connect_bank", _external=True))
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("payments.connect_bank"))
        return redirect(url)
    return _bank_page()


def _bank_page() -> Response:
    """The page's forms lead on to Stripe's own pages: its CSP allows exactly that origin."""
    response = Response(render_template(
        "payments/bank.html", pref=services.preferences_of(current_user), form=NoteForm(),
        offered=bank.offered()))
    if bank.offered():
        response.headers["Content-Security-Policy"] = csp(
            form_action=(gateway.connect_origin(),))
    return response


@bp.post("/bank/details")
@require(Permission.USE_ACCOUNT)
def bank_details():
    NoteForm().validate_on_submit() or abort(400)
    try:
        url = bank.details_url(current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("payments.connect_bank"))
    return redirect(url)


@bp.get("/bank/return")
@require(Permission.USE_ACCOUNT)
def bank_return():
    if bank.finish_connection(current_user):
        flash(_("Your bank account is connected. We can now pay you by bank transfer."),
              "success")
    else:
        flash(_("Your bank account is not connected yet. You can carry on where you left "
                "off at any time."), "info")
    return redirect(url_for("payments.index"))


# ---------------------------------------------------------------------------------------------
# Payouts, payroll, webhooks (finance)
# ---------------------------------------------------------------------------------------------


@bp.get("/finance/payouts")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def payouts():
    ready = services.finance_queue(state=ClaimState.APPROVED)
    failed = services.finance_queue(state=ClaimState.PAYMENT_FAILED)
    batches = db.session.scalars(select(PayoutBatch).order_by(PayoutBatch.id.desc())
                                 .limit(20)).all()
    unsent_hours, bank_days = payout_service.stuck_limits()
    return render_template("payments/payouts.html", ready=ready, failed=failed,
                           batches=batches, form=NoteForm(),
                           stripe_balance=_stripe_balance(),
                           can_pay_by_bank=payout_service.can_pay_by_bank(),
                           stuck=payout_service.stuck_payouts(),
                           unsent_hours=unsent_hours, bank_days=bank_days)


def _stripe_balance() -> int | None:
    if not gateway.is_configured():
        return None
    try:
        return gateway.available_balance_pence()
    except (gateway.GatewayError, gateway.GatewayUnavailable):
        return None


@bp.post("/finance/pay")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def pay_claims():
    if not NoteForm().validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("claim_ids") + request.args.getlist(
        "claim_ids") if str(v).isdigit()]
    if not ids:
        flash(_("Tick at least one claim to pay."), "error")
        return redirect(url_for("payments.payouts"))
    try:
        batch, problems = payout_service.start_batch(current_user, ids)
    except DomainError as error:
        _fail(error)
        back = request.form.get("back") or request.args.get("back")
        if back == "claim" and len(ids) == 1:
            return redirect(url_for("payments.claim", claim_id=ids[0]))
        return redirect(url_for("payments.payouts"))
    for problem in problems:
        flash(problem, "error")
    return redirect(url_for("payments.batch", batch_id=batch.id))


@bp.get("/finance/batches/<int:batch_id>")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def batch(batch_id: int):
    found = db.session.get(PayoutBatch, batch_id)
    if found is None:
        abort(404)
    progress = payout_service.batch_progress(found)
    sending = payout_service.can_pay_by_bank()
    response = Response(render_template("payments/batch.html", batch=found, progress=progress,
                                         sending=sending, form=NoteForm()))
    if sending and not progress["finished"]:
        response.headers["Refresh"] = "3"  # no JavaScript needed; a link refreshes too
    return response


@bp.post("/claims/<int:claim_id>/manual-payment")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def record_manual(claim_id: int):
    found = db.session.get(Claim, claim_id)
    if found is None:
        abort(404)
    form = OtherPaymentForm()
    if not form.validate_on_submit():
        return _render_claim(found, other_form=form, status=400)
    try:
        payout_service.record_manual_payment(current_user, found, form.reference.data,
                                             form.method.data)
    except DomainError as error:
        if error.status_code == 403:
            abort(403)
        form.form_errors.append(error.message)
        return _render_claim(found, other_form=form, status=400)
    flash(_("Payment recorded."), "success")
    return redirect(url_for("payments.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/cancel-payout")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def cancel_payout(claim_id: int):
    found = db.session.get(Claim, claim_id)
    if found is None:
        abort(404)
    NoteForm().validate_on_submit() or abort(400)
    try:
        flash(payout_service.cancel_payout(current_user, found), "success")
    except DomainError as error:
        _fail(error)
    if request.form.get("back") == "payouts":
        return redirect(url_for("payments.payouts"))
    return redirect(url_for("payments.claim", claim_id=claim_id))


@bp.route("/finance/payroll", methods=["GET", "POST"])
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def payroll_exports():
    """Claims waiting for payroll, making an export with its pay date, and past exports."""
    form = PayrollExportForm()
    status = 200
    if request.method == "GET":
        form.pay_date.data = clock.today_london()
    elif form.validate_on_submit():
        try:
            export, problems = payroll.create_payroll_export(current_user,
                                                             form.pay_date.data)
        except DomainError as error:
            form.form_errors.append(error.message)
            status = 400
        else:
            flash(ngettext("Payroll export %(n)s made with %(num)s claim. Download it below, "
                           "and confirm it when payroll has paid.",
                           "Payroll export %(n)s made with %(num)s claims. Download it below, "
                           "and confirm it when payroll has paid.", export.claim_count,
                           n=export.id), "success")
            for problem in problems:
                flash(problem, "error")
            return redirect(url_for("payments.payroll_export", export_id=export.id))
    else:
        status = 400
    return render_template("payments/payroll.html", form=form,
                           waiting=payroll.waiting_for_payroll(),
                           exports=payroll.recent_exports(), header=payroll.PAYROLL_HEADER
                           ), status


@bp.get("/finance/payroll-exports/<int:export_id>")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def payroll_export(export_id: int):
    try:
        export = payroll.get_export(export_id)
    except NotFound:
        abort(404)
    return _render_export(export)


def _render_export(export, problems=(), failed=None, reasons=None, status=200):
    return render_template("payments/payroll_export.html", export=export,
                           claims=payroll.claims_in(export), form=NoteForm(),
                           problems=problems, failed=failed or set(), reasons=reasons or {},
                           names=_names_of(c.user_id for c, _lines in payroll.claims_in(export))
                           ), status


def _names_of(user_ids) -> dict[int, str]:
    ids = [i for i in user_ids if i]
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(
        User.id.in_(ids)))}


@bp.get("/finance/payroll-exports/<int:export_id>.csv")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def download_payroll_export(export_id: int):
    try:
        export = payroll.get_export(export_id)
    except NotFound:
        abort(404)
    return Response(export.content, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="payroll-export-{export.id}.csv"'})


@bp.post("/finance/payroll-exports/<int:export_id>/confirm")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def confirm_payroll_export(export_id: int):
    try:
        export = payroll.get_export(export_id)
    except NotFound:
        abort(404)
    if not NoteForm().validate_on_submit():
        abort(400)
    in_export = {c.id for c, _lines in payroll.claims_in(export)}
    failed = {int(v) for v in request.form.getlist("failed") if v.isdigit()} & in_export
    reasons = {claim_id: request.form.get(f"failed-reason-{claim_id}", "")
               for claim_id in in_export}
    try:
        paid, not_paid = payroll.confirm_payroll_paid(
            current_user, export, {claim_id: reasons[claim_id] for claim_id in failed})
    except DomainError as error:
        return _render_export(payroll.get_export(export_id), [error.message], failed, reasons,
                              status=400)
    flash(ngettext("%(num)s claim marked as paid by payroll.",
                   "%(num)s claims marked as paid by payroll.", paid), "success")
    if not_paid:
        flash(ngettext("%(num)s claim payroll did not pay is back with finance.",
                       "%(num)s claims payroll did not pay are back with finance.", not_paid),
              "info")
    return redirect(url_for("payments.payroll_export", export_id=export_id))


@bp.post("/finance/flags/<int:flag_id>/resolve")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def resolve_flag(flag_id: int):
    if not NoteForm().validate_on_submit():
        abort(400)
    try:
        payout_service.resolve_flag(current_user, flag_id)
    except NotFound:
        abort(404)
    flash(_("Marked as resolved. It is no longer listed as a difference to check."), "success")
    return redirect(url_for("payments.finance_queue"))


@bp.post("/finance/ledger/<int:entry_id>/reverse")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def reverse_entry(entry_id: int):

    form = ReasonForm()
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        abort(404)
    back = (url_for("payments.claim", claim_id=entry.claim_id) if entry.claim_id
            else url_for("payments.finance_queue"))
    if not form.validate_on_submit():
        flash(_("Give a reason for the correction."), "error")
        return redirect(back)
    try:
        services.correct_ledger(current_user, entry_id, form.reason.data)
    except DomainError as error:
        _fail(error)
        return redirect(back)
    flash(_("Correction recorded as a reversing entry."), "success")
    return redirect(back)


def _spend_csv(rows, categories, group: str, filename: str) -> Response:
    body = write_csv([group, "quarter", *[policy.category_label(c) for c in categories],
                      "total"],
                     [[r.panel, r.quarter, *[reports.pounds_text(r.by_category.get(c, 0))
                                             for c in categories],
                       reports.pounds_text(r.total_pence)] for r in rows])
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/finance/report")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def report():
    year = request.args.get("year", type=int) or tax_year_start(clock.today_london())
    rows, categories, grand = reports.spend_by_panel_and_quarter()
    if request.args.get("format") == "csv":
        return _spend_csv(rows, categories, "panel", "spend-by-panel-and-quarter.csv")
    by_programme, programme_categories, programme_grand = (
        reports.spend_by_programme_and_quarter())
    if request.args.get("format") == "programme-csv":
        return _spend_csv(by_programme, programme_categories, "programme",
                          "spend-by-programme-and-quarter.csv")
    people = reports.per_person_totals(year)
    if request.args.get("format") == "people-csv":
        body = write_csv(["name", "tax_year", "involvement", "expenses", "declined"],
                         [[p["name"], tax_year_label(date(year, 4, 6)),
                           reports.pounds_text(p["involvement"]),
                           reports.pounds_text(p["expenses"]),
                           reports.pounds_text(p["declined"])] for p in people])
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="payments-per-person-{year}.csv"'})
    return render_template("payments/report.html", rows=rows, categories=categories,
                           grand=grand, people=people, year=year,
                           by_programme=by_programme,
                           programme_categories=programme_categories,
                           programme_grand=programme_grand,
                           label=tax_year_label(date(year, 4, 6)),
                           ledger_payable=reports.ledger_payable_total())


# ---------------------------------------------------------------------------------------------
# Advances and tickets booked for people (finance)
# ---------------------------------------------------------------------------------------------


@bp.get("/finance/advances")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def advances_overview():
    return render_template("payments/advances.html", rows=advances.overview())


def _support_form(event) -> SupportForm:
    form = SupportForm()
    form.person.choices = [(row.booking.user_id, row.booking.user.display_name)
                           for row in advances.people_for_event(event)]
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(24)
        form.paid_on.data = clock.today_london()
        chosen = request.args.get("person", type=int)
        if chosen in {value for value, _label in form.person.choices}:
            form.person.data = chosen
    return form


@bp.route("/finance/advances/events/<int:event_id>", methods=["GET", "POST"])
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def event_support(event_id: int):
    event = advances.get_event(event_id)
    form = _support_form(event)
    status = 200
    if form.validate_on_submit():
        try:
            advances.record_support(
                current_user, event, user_id=form.person.data, kind=form.kind.data,
                amount_pence=form.amount.pence, paid_on=form.paid_on.data,
                token=form.token.data or "", route=form.route.data or None,
                reference=form.reference.data or "", description=form.description.data or "")
        except DomainError as error:
            if isinstance(error, NotFound):
                abort(404)
            form.form_errors.append(error.message)
            status = 400
        else:
            flash(_("Recorded. The person has been told, and it will show on their claim for "
                    "this event."), "success")
            return redirect(url_for("payments.event_support", event_id=event.id))
    elif request.method == "POST":
        status = 400
    return render_template("payments/event_support.html", event=event, form=form,
                           people=advances.people_for_event(event)), status


@bp.post("/finance/advances/events/<int:event_id>/records/<int:record_id>/withdraw")
@require(Permission.APPROVE_CLAIMS_AS_FINANCE)
def withdraw_support(event_id: int, record_id: int):
    event = advances.get_event(event_id)
    back = url_for("payments.event_support", event_id=event.id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why it is being withdrawn, like 'Recorded twice'."), "error")
        return redirect(back)
    try:
        advances.withdraw_support(current_user, event, record_id, form.reason.data)
    except DomainError as error:
        _fail(error)
        return redirect(back)
    flash(_("Withdrawn. The person has been told, and their claim is worked out again."),
          "success")
    return redirect(back)


@bp.post("/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Stripe calls this. The signature is checked on the raw body; each event applies once."""
    payload = request.get_data(cache=False, as_text=False)
    try:
        event = gateway.verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except ValueError:
        return Response("bad signature", status=400, mimetype="text/plain")
    try:
        outcome = payout_service.apply_webhook(event)
    except (gateway.GatewayUnavailable, gateway.NotConfigured):
        abort(503)  # nothing is kept; Stripe sends the event again later
    return Response(outcome, status=200, mimetype="text/plain")
