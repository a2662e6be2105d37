"""Payments use cases: preferences, claims, expenses, receipts and approvals.

Every state change is a conditional UPDATE (`WHERE state IN (...)`) checked by its row count,
so two people pressing the same button at once move a claim only once. Each move is recorded
(ClaimEvent: who, when, why), audited, and the member is told discreetly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, can, permissions_for
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.panels.models import Panel
from engage.payments import ledger, receipts
from engage.payments.activities import Activity, Attendee
from engage.payments.calculation import (
    ActivityFacts,
    AdvanceFacts,
    ExpenseFacts,
    PersonFacts,
    Result,
    TicketFacts,
    calculate,
    tax_year_bounds,
    tax_year_label,
    tax_year_start,
)
from engage.payments.links import link
from engage.payments.models import (
    BENEFITS_NOTICE_VERSION,
    EDITABLE_STATES,
    ActivitySupport,
    BenefitsNoticeView,
    Capacity,
    Claim,
    ClaimEvent,
    ClaimKind,
    ClaimState,
    Expense,
    ExpenseKind,
    PaymentChoice,
    PaymentPreference,
    PaymentRoute,
    Receipt,
    SupportKind,
)
from engage.payments.policy import facts_of, version_in_force

# Claims that count towards a person's tax-year totals (cap and mileage bands).
COUNTING_STATES = (ClaimState.SUBMITTED, ClaimState.LEAD_APPROVED, ClaimState.APPROVED,
                   ClaimState.PAYING, ClaimState.TRANSFERRED, ClaimState.EXPORTED,
                   ClaimState.PAID, ClaimState.PAYMENT_FAILED)

# ---------------------------------------------------------------------------------------------
# Preferences and the benefits notice
# ---------------------------------------------------------------------------------------------


def preferences_of(user) -> PaymentPreference:
    """The person's preferences (defaults when they never set any; not saved until changed)."""
    pref = db.session.scalar(select(PaymentPreference).where(PaymentPreference.user_id == user.id))
    if pref is None:
        pref = PaymentPreference(user_id=user.id, choice=PaymentChoice.ACCEPT,
                                 route=PaymentRoute.STRIPE, capacity=Capacity.SELF,
                                 stripe_onboarded=False, access_needs_taxi=False)
    return pref


def has_seen_notice(user) -> bool:
    return db.session.scalar(select(BenefitsNoticeView.id).where(
        BenefitsNoticeView.user_id == user.id,
        BenefitsNoticeView.notice_version == BENEFITS_NOTICE_VERSION)) is not None


def record_notice_seen(user) -> None:
    """Recorded each time the notice is shown before someone accepts a paid role."""
    db.session.add(BenefitsNoticeView(user_id=user.id, notice_version=BENEFITS_NOTICE_VERSION))
    audit.record("payments.benefits_notice_seen", actor_id=user.id, subject_type="user",
                 subject_id=user.id, notice_version=BENEFITS_NOTICE_VERSION)


@atomic
def update_preferences(user, *, choice: str, cap_pence: int | None, route: str, capacity: str,
                       payroll_number: str | None, access_needs_taxi: bool) -> PaymentPreference:
    if choice not in set(PaymentChoice) or route not in set(PaymentRoute) or (
        capacity not in set(Capacity)
    ):
        raise ValidationFailed("Choose one of the options shown.")
    if choice == PaymentChoice.CAP and (cap_pence is None or cap_pence < 0):
        raise ValidationFailed("Enter the most you want to be paid in a tax year, like 500.")
    if route == PaymentRoute.PAYROLL and not (payroll_number or "").strip():
        raise ValidationFailed("Enter your payroll number so payroll can pay you, or choose "
                               "another way to be paid.")
    pref = preferences_of(user)
    pref.choice = choice
    pref.cap_pence = cap_pence if choice == PaymentChoice.CAP else None
    pref.route = route
    pref.capacity = capacity
    pref.payroll_number = (payroll_number or "").strip() or None
    pref.access_needs_taxi = access_needs_taxi
    db.session.add(pref)
    db.session.flush()
    audit.record("payments.preferences_changed", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return pref


# ---------------------------------------------------------------------------------------------
# Creating claims
# ---------------------------------------------------------------------------------------------


def create_draft_involvement_claims(activity: Activity, attendees: Iterable[Attendee],
                                    actor=None) -> list[Claim]:
    """One draft claim per attendee who took part, or, for a cancelled activity, per person
    listed (to claim expenses they could not get back, and the involvement payment when the
    lead marked the cancellation payable). Running it again for the same activity creates
    nothing new: a unique constraint holds one claim per person per activity."""
    created = []
    version = version_in_force(activity.activity_date)
    for attendee in attendees:
        if attendee.minutes_taken_part <= 0 and not activity.cancelled:
            continue
        existing = db.session.scalar(select(Claim).where(
            Claim.user_id == attendee.user_id, Claim.activity_kind == activity.kind,
            Claim.activity_ref_id == activity.ref_id))
        if existing is not None:
            continue
        claim = Claim(
            user_id=attendee.user_id, kind=ClaimKind.INVOLVEMENT, state=ClaimState.DRAFT,
            activity_kind=activity.kind, activity_ref_id=activity.ref_id,
            activity_title=activity.title, activity_date=activity.activity_date,
            involvement_level=activity.involvement_level, panel_id=activity.panel_id,
            lead_ids=list(activity.lead_ids), minutes_taken_part=attendee.minutes_taken_part,
            day_minutes=list(attendee.day_minutes), prep_minutes=activity.prep_minutes,
            prep_paid=activity.prep_paid,
            activity_cancelled=activity.cancelled,
            cancellation_payable=activity.cancellation_payable,
            declined_for_activity=attendee.declined,
            policy_version_id=version.id, explanation=[],
        )
        db.session.add(claim)
        db.session.flush()
        _record(claim, actor, None, ClaimState.DRAFT, "Created from the attendance register")
        recalculate(claim)
        user = db.session.get(User, attendee.user_id)
        if user is not None:
            notify(user, Message(
                "You can claim for an activity you took part in",
                f"You can now claim for '{activity.title}'. Check the amount, add any "
                "expenses and send it when you are ready.",
                link("payments.claim", claim_id=claim.id)),
                dedupe_key=f"payments-claim-created-{claim.id}")
        created.append(claim)
    return created


def lead_choices() -> list[User]:
    """Staff who can approve claims as a lead (for expense-only claims)."""
    people = db.session.scalars(select(User).options(selectinload(User.roles))
                                .where(User.is_disabled.is_(False))
                                .order_by(User.display_name)).all()
    return [p for p in people if p.is_staff and Permission.APPROVE_CLAIMS_AS_LEAD in
            _permissions(p)]


def _permissions(user):
    return permissions_for(user.role_set)


@atomic
def create_expense_claim(user, *, title: str, activity_date: date, lead_id: int,
                         panel_id: int | None = None) -> Claim:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Say what the expenses were for, like 'Training day in Leeds'.")
    if activity_date > clock.today_london():
        raise ValidationFailed("The date must be today or in the past.")
    if lead_id not in {p.id for p in lead_choices()}:
        raise ValidationFailed("Choose the member of staff who asked you to take part.")
    version = version_in_force(activity_date)
    claim = Claim(
        user_id=user.id, kind=ClaimKind.EXPENSES, state=ClaimState.DRAFT, activity_kind="other",
        activity_ref_id=None, activity_title=title[:200], activity_date=activity_date,
        involvement_level=1, panel_id=panel_id, lead_ids=[lead_id],
        policy_version_id=version.id, explanation=[],
    )
    db.session.add(claim)
    db.session.flush()
    _record(claim, user, None, ClaimState.DRAFT, None)
    recalculate(claim)
    return claim


# ---------------------------------------------------------------------------------------------
# Reading claims (object-level rules)
# ---------------------------------------------------------------------------------------------


def get_claim(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("That claim does not exist.")
    return claim


def is_lead_for(user, claim: Claim) -> bool:
    return bool(user and user.is_authenticated and user.id in (claim.lead_ids or [])
                and can(user, Permission.APPROVE_CLAIMS_AS_LEAD))


def is_finance(user) -> bool:
    return can(user, Permission.APPROVE_CLAIMS_AS_FINANCE)


def can_see_claim(user, claim: Claim) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return claim.user_id == user.id or is_lead_for(user, claim) or is_finance(user)


def visible_claim(user, claim_id: int) -> Claim:
    """The claim if this person may see it; otherwise NotFound (never reveal it exists)."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or not can_see_claim(user, claim):
        raise NotFound("That claim does not exist.")
    return claim


def own_claim(user, claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.user_id != user.id:
        raise NotFound("That claim does not exist.")
    return claim


def claims_of(user) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.user_id == user.id)
                                   .order_by(Claim.activity_date.desc(), Claim.id.desc())))


def lead_queue(user) -> list[Claim]:
    rows = db.session.scalars(select(Claim).where(Claim.state == ClaimState.SUBMITTED)
                              .order_by(Claim.submitted_at))
    return [c for c in rows if is_lead_for(user, c) and c.user_id != user.id]


# ---------------------------------------------------------------------------------------------
# Working out the amount
# ---------------------------------------------------------------------------------------------


def _tax_year_so_far(claim: Claim) -> tuple[int, dict[str, int]]:
    start, end = tax_year_bounds(tax_year_start(claim.activity_date))
    counted = select(Claim.id).where(
        Claim.user_id == claim.user_id, Claim.id != claim.id,
        Claim.state.in_(COUNTING_STATES),
        Claim.activity_date >= start, Claim.activity_date <= end)
    involvement = db.session.scalar(
        select(func.coalesce(func.sum(Claim.involvement_pence), 0)).where(Claim.id.in_(counted)))
    miles = dict(db.session.execute(
        select(Expense.category, func.sum(Expense.miles))
        .where(Expense.claim_id.in_(counted), Expense.miles.is_not(None))
        .group_by(Expense.category)).all())
    return int(involvement or 0), {k: int(v or 0) for k, v in miles.items()}


def person_facts(claim: Claim) -> PersonFacts:
    user = db.session.get(User, claim.user_id) if claim.user_id else None
    pref = preferences_of(user) if user else PaymentPreference(
        choice="accept", capacity="self", access_needs_taxi=False)
    involvement, miles = _tax_year_so_far(claim)
    return PersonFacts(
        choice=pref.choice, cap_pence=pref.cap_pence, capacity=pref.capacity,
        declined_for_activity=claim.declined_for_activity,
        access_needs_taxi=bool(pref.access_needs_taxi), involvement_so_far_pence=involvement,
        miles_so_far=miles, tax_year_label=tax_year_label(claim.activity_date),
    )


def support_for(claim: Claim) -> list[ActivitySupport]:
    """Advances and booked tickets recorded for this person and this claim's activity (not
    those withdrawn as recorded by mistake)."""
    if claim.user_id is None or claim.activity_ref_id is None:
        return []
    return list(db.session.scalars(select(ActivitySupport).where(
        ActivitySupport.user_id == claim.user_id,
        ActivitySupport.activity_kind == claim.activity_kind,
        ActivitySupport.activity_ref_id == claim.activity_ref_id,
        ActivitySupport.withdrawn_at.is_(None))
        .order_by(ActivitySupport.paid_on, ActivitySupport.id)))


def work_out(claim: Claim) -> Result:
    version = claim.policy_version or version_in_force(claim.activity_date)
    activity = ActivityFacts(
        title=claim.activity_title, kind_label=_kind_label(claim),
        involvement_level=claim.involvement_level, minutes_taken_part=claim.minutes_taken_part,
        day_minutes=tuple(claim.day_minutes or ()), prep_minutes=claim.prep_minutes,
        prep_paid=claim.prep_paid,
        cancelled=claim.activity_cancelled, cancellation_payable=claim.cancellation_payable,
        activity_date=claim.activity_date,
    )
    items = [ExpenseFacts(category=e.category, amount_pence=e.amount_pence, miles=e.miles,
                          has_receipt=e.receipt_id is not None, preapproved=e.preapproved)
             for e in claim.expenses]
    support = support_for(claim)
    advances = [AdvanceFacts(s.amount_pence, s.paid_on) for s in support
                if s.kind == SupportKind.ADVANCE]
    tickets = [TicketFacts(s.description, s.amount_pence) for s in support
               if s.kind == SupportKind.TICKET]
    return calculate(facts_of(version), activity, person_facts(claim), items,
                     include_involvement=claim.kind == ClaimKind.INVOLVEMENT,
                     advances=advances, tickets=tickets)


def _kind_label(claim: Claim) -> str:
    return "meeting" if claim.activity_kind == "event" else "activity"


def recalculate(claim: Claim) -> Result:
    """Work the claim out again with the version in force on the activity date."""
    version = version_in_force(claim.activity_date)
    claim.policy_version_id = version.id
    claim.policy_version = version
    result = work_out(claim)
    claim.involvement_pence = result.involvement_pence
    claim.declined_pence = result.declined_pence
    claim.expenses_pence = result.expenses_pence
    claim.advance_pence = result.advance_pence
    claim.explanation = list(result.lines)
    for expense, allowed in zip(claim.expenses, result.expenses, strict=True):
        expense.allowed_pence = allowed.pence
    db.session.flush()
    return result


def deadline_of(claim: Claim) -> date:
    version = claim.policy_version or version_in_force(claim.activity_date)
    return claim.activity_date + timedelta(days=version.claim_deadline_days)


def is_past_deadline(claim: Claim) -> bool:
    return clock.today_london() > deadline_of(claim)


# ---------------------------------------------------------------------------------------------
# Expenses and receipts
# ---------------------------------------------------------------------------------------------


def _editable_own(user, claim: Claim) -> None:
    if claim.user_id != user.id:
        raise NotFound("That claim does not exist.")
    if claim.state not in EDITABLE_STATES:
        raise InvalidState("This claim has been sent, so it can no longer be changed. If "
                           "something is wrong, ask the lead to return it to you.")


@atomic
def add_expense(user, claim: Claim, *, category: str, expense_date: date,
                amount_pence: int | None, miles: int | None, description: str,
                preapproved: bool, receipt_file: tuple[str, bytes] | None) -> Expense:
    _editable_own(user, claim)
    version = claim.policy_version or version_in_force(claim.activity_date)
    rule = next((r for r in version.expense_rules if r.category == category), None)
    if rule is None:
        raise ValidationFailed("Choose the type of expense.")
    if rule.kind == ExpenseKind.MILEAGE:
        if not miles or miles <= 0:
            raise ValidationFailed("Enter the number of miles, like 12.")
        amount_pence = None
    else:
        if amount_pence is None or amount_pence <= 0:
            raise ValidationFailed("Enter the amount you paid, like 6.50.")
        miles = None
    receipt = None
    if receipt_file is not None:
        filename, data = receipt_file
        kind = receipts.check(filename, data)
        stored = receipts.store(data, kind)
        receipt = Receipt(claim_id=claim.id, uploaded_by_id=user.id,
                          stored_name=stored.stored_name, content_type=kind.content_type,
                          extension=kind.extension, size_bytes=stored.size, sha256=stored.sha256)
        db.session.add(receipt)
        db.session.flush()
    expense = Expense(claim_id=claim.id, category=category, expense_date=expense_date,
                      amount_pence=amount_pence, miles=miles,
                      description=(description or "").strip()[:200], preapproved=preapproved,
                      receipt_id=receipt.id if receipt else None)
    db.session.add(expense)
    claim.expenses.append(expense)
    db.session.flush()
    recalculate(claim)
    audit.record("payments.expense_added", actor_id=user.id, subject_type="payment_claim",
                 subject_id=claim.id)
    return expense


@atomic
def remove_expense(user, claim: Claim, expense_id: int) -> None:
    _editable_own(user, claim)
    expense = next((e for e in claim.expenses if e.id == expense_id), None)
    if expense is None:
        raise NotFound("That expense is not on this claim.")
    claim.expenses.remove(expense)
    db.session.delete(expense)
    db.session.flush()
    recalculate(claim)


def receipt_for(user, receipt_id: int) -> Receipt:
    """Only the claimant, the claim's lead and finance may see a receipt; anyone else gets
    NotFound."""
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound("That receipt does not exist.")
    claim = db.session.get(Claim, receipt.claim_id)
    if claim is None or not (claim.user_id == user.id or is_finance(user)
                             or is_lead_for(user, claim)):
        raise NotFound("That receipt does not exist.")
    return receipt


# ---------------------------------------------------------------------------------------------
# Moving a claim
# ---------------------------------------------------------------------------------------------


def _record(claim: Claim, actor, from_state, to_state, reason) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, actor_id=actor.id if actor else None,
                              from_state=from_state, to_state=to_state, reason=reason))


MEMBER_MESSAGES = {
    ClaimState.LEAD_APPROVED: "The lead has checked your claim for '{title}'. It is now with "
                              "finance.",
    ClaimState.APPROVED: "Your claim for '{title}' has been approved and will be paid soon.",
    ClaimState.RETURNED: "Your claim for '{title}' has been returned to you with a note. "
                         "Please have a look.",
    ClaimState.REJECTED: "Your claim for '{title}' was not approved. The reason is on the "
                         "claim.",
    ClaimState.PAID: "Your claim for '{title}' has been paid.",
    ClaimState.EXPORTED: "Your claim for '{title}' has been sent to payroll.",
}


def tell_member(claim: Claim, state: str) -> None:
    text = MEMBER_MESSAGES.get(ClaimState(state))
    user = db.session.get(User, claim.user_id) if claim.user_id else None
    if text is None or user is None:
        return
    notify(user, Message("Update on your payment claim", text.format(title=claim.activity_title),
                         link("payments.claim", claim_id=claim.id)),
           dedupe_key=f"payments-claim-{claim.id}-{state}-{len(claim.history)}")


def move(claim: Claim, actor, from_states: Iterable[str], to_state: str, *,
         reason: str | None = None, action: str, **values) -> None:
    """Conditional state change: only one of two simultaneous moves wins."""
    from_states = tuple(from_states)
    previous = claim.state
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.state.in_(from_states))
        .values(state=to_state, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(claim)
        raise InvalidState("Someone else has already dealt with this claim: it is now "
                           f"'{claim.state_label}'. Nothing was changed.")
    db.session.refresh(claim)
    _record(claim, actor, previous, to_state, reason)
    audit.record(action, actor_id=actor.id if actor else None, subject_type="payment_claim",
                 subject_id=claim.id, from_state=previous, to_state=to_state)
    db.session.flush()
    tell_member(claim, to_state)


@atomic
def submit_claim(user, claim: Claim, *, declined_for_activity: bool = False) -> Result:
    _editable_own(user, claim)
    claim.declined_for_activity = declined_for_activity
    claim.route = preferences_of(user).route
    result = recalculate(claim)
    if result.problems:
        raise ValidationFailed(" ".join(result.problems))
    if claim.total_pence == 0 and claim.declined_pence == 0:
        raise ValidationFailed("There is nothing to claim yet: add an expense, or leave the "
                               "claim as it is.")
    late = is_past_deadline(claim)
    move(claim, user, EDITABLE_STATES, ClaimState.SUBMITTED, action="payments.claim_submitted",
         submitted_at=clock.now(), is_late=late)
    for lead_id in claim.lead_ids or []:
        lead = db.session.get(User, lead_id)
        if lead is not None and lead.id != user.id:
            notify(lead, Message("A payment claim is waiting for you",
                                 f"A claim for '{claim.activity_title}' needs checking.",
                                 link("payments.lead_queue")),
                   dedupe_key=f"payments-lead-{claim.id}-{len(claim.history)}")
    return result


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(f"Give a reason so the person knows why the claim was {what}.")
    return reason


@atomic
def lead_approve(actor, claim: Claim, note: str | None = None) -> None:
    if not is_lead_for(actor, claim):
        raise NotAllowed("Only the activity's lead can approve this claim.")
    if claim.user_id == actor.id:
        raise NotAllowed("You cannot approve your own claim.")
    move(claim, actor, [ClaimState.SUBMITTED], ClaimState.LEAD_APPROVED, reason=note or None,
         action="payments.claim_lead_approved", lead_approved_by_id=actor.id,
         lead_approved_at=clock.now())


@atomic
def lead_return(actor, claim: Claim, reason: str) -> None:
    if not is_lead_for(actor, claim):
        raise NotAllowed("Only the activity's lead can return this claim.")
    move(claim, actor, [ClaimState.SUBMITTED], ClaimState.RETURNED,
         reason=_reason(reason, "returned"), action="payments.claim_returned")


def _check_finance(actor, claim: Claim) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can do this.")
    if actor.id == claim.user_id:
        raise NotAllowed("You cannot approve your own claim.")
    if actor.id == claim.lead_approved_by_id:
        raise NotAllowed("You approved this claim as the lead, so a different finance "
                         "officer must approve it.")


def advances_taken_off(claim: Claim) -> int:
    """What the advances recorded now take off this claim (never more than its total)."""
    paid = sum(s.amount_pence for s in support_for(claim) if s.kind == SupportKind.ADVANCE)
    return min(paid, claim.total_pence)


@atomic
def finance_approve(actor, claim: Claim) -> None:
    _check_finance(actor, claim)
    if claim.is_late and not claim.late_override_reason:
        raise InvalidState("This claim was sent after the deadline. Record a late-claim "
                           "override with a reason first.")
    if advances_taken_off(claim) != claim.advance_pence:
        raise InvalidState("An advance was recorded for this activity after the claim was "
                           "sent. Return the claim to the member so it is worked out again.")
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.APPROVED,
         action="payments.claim_finance_approved", finance_approved_by_id=actor.id,
         finance_approved_at=clock.now())
    ledger.record_payable(claim, actor)
    if claim.advance_pence and claim.to_pay_pence == 0:
        # The advance already paid all of it: nothing more to send.
        move(claim, actor, [ClaimState.APPROVED], ClaimState.PAID,
             reason="Covered by the advance already paid", action="payments.claim_paid",
             paid_at=clock.now(), payment_reference="Covered by advance")


@atomic
def finance_reject(actor, claim: Claim, reason: str) -> None:
    _check_finance(actor, claim)
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.REJECTED,
         reason=_reason(reason, "not approved"), action="payments.claim_rejected")


@atomic
def finance_return(actor, claim: Claim, reason: str) -> None:
    _check_finance(actor, claim)
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.RETURNED,
         reason=_reason(reason, "returned"), action="payments.claim_returned")


def bulk_finance_approve(actor, claim_ids: Iterable[int]) -> tuple[list[Claim], list[str]]:
    """Approve each claim that can be approved; report the others with the reason."""
    approved, problems = [], []
    for claim_id in claim_ids:
        claim = db.session.get(Claim, claim_id)
        if claim is None:
            continue
        try:
            with db.session.begin_nested():
                finance_approve(actor, claim)
            approved.append(claim)
        except (InvalidState, NotAllowed) as error:
            problems.append(f"Claim {claim.id}: {error.message}")
    return approved, problems


@atomic
def override_late(actor, claim: Claim, reason: str) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can accept a late claim.")
    if not claim.is_late:
        raise InvalidState("This claim was sent in time: no override is needed.")
    reason = _reason(reason, "accepted late")
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.late_override_reason.is_(None))
        .values(late_override_reason=reason, late_override_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("A late-claim override is already recorded for this claim.")
    db.session.refresh(claim)
    _record(claim, actor, claim.state, claim.state, f"Late claim accepted: {reason}")
    audit.record("payments.late_override", actor_id=actor.id, subject_type="payment_claim",
                 subject_id=claim.id)


NO_PROGRAMME = "none"


def finance_queue(*, state: str | None = None, panel_id: int | None = None,
                  route: str | None = None, older_than_days: int | None = None,
                  programme: int | str | None = None) -> list[Claim]:
    """Claims for finance. `programme` is a programme id, or NO_PROGRAMME for claims with no
    panel or whose panel has no programme."""
    query = select(Claim).where(Claim.state.not_in([ClaimState.DRAFT]))
    if programme == NO_PROGRAMME:
        query = query.outerjoin(Panel, Panel.id == Claim.panel_id).where(
            Panel.programme_id.is_(None))
    elif programme:
        query = query.join(Panel, Panel.id == Claim.panel_id).where(
            Panel.programme_id == int(programme))
    if state:
        query = query.where(Claim.state == state)
    else:
        query = query.where(Claim.state.in_([ClaimState.LEAD_APPROVED, ClaimState.APPROVED,
                                             ClaimState.PAYMENT_FAILED, ClaimState.PAYING,
                                             ClaimState.TRANSFERRED, ClaimState.EXPORTED]))
    if panel_id:
        query = query.where(Claim.panel_id == panel_id)
    if route:
        query = query.where(Claim.route == route)
    if older_than_days:
        query = query.where(Claim.submitted_at <= clock.now() - timedelta(days=older_than_days))
    return list(db.session.scalars(query.order_by(Claim.submitted_at, Claim.id)))


def is_overdue(claim: Claim) -> bool:
    """Past the target payment time (from submission) and not yet paid."""
    if claim.submitted_at is None or claim.state in (ClaimState.PAID, ClaimState.REJECTED):
        return False
    version = claim.policy_version
    days = version.target_payment_days if version else 30
    return clock.now() - claim.submitted_at > timedelta(days=days)
